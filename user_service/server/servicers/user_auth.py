"""userservice.v1.UserAuth: protos in, plain values to a handler, protos out."""

from __future__ import annotations

from asyncio import to_thread
from dataclasses import dataclass
from typing import TypedDict

from user_service.domain.model import IssuedTokens
from user_service.domain.recovery import RecoveryHandler
from user_service.domain.registration import RegistrationHandler
from user_service.domain.sessions import SessionsHandler
from user_service.domain.users import UsersHandler
from user_service.server.interceptors.auth import caller
from user_service.server.servicers import Context
from user_service.server.servicers.fields import parse_id
from user_service.server.servicers.users_proto import roles_from, user_message
from userservice.v1 import user_auth_pb2 as pb
from userservice.v1 import user_auth_pb2_grpc

TOKEN_TYPE = "Bearer"  # noqa: S105  (the OAuth token type, not a secret)


class _Tokens(TypedDict):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


@dataclass(frozen=True)
class UserAuthHandlers:
    registration: RegistrationHandler
    sessions: SessionsHandler
    recovery: RecoveryHandler
    users: UsersHandler


class UserAuthServicer(user_auth_pb2_grpc.UserAuthServicer):
    def __init__(self, handlers: UserAuthHandlers) -> None:
        self._h = handlers

    async def Register(self, request: pb.RegisterRequest, context: Context) -> pb.RegisterResponse:
        user = await to_thread(
            self._h.registration.register, request.email, request.password, request.full_name
        )
        return pb.RegisterResponse(user=user_message(user))

    async def Login(self, request: pb.LoginRequest, context: Context) -> pb.LoginResponse:
        issued = await to_thread(self._h.sessions.login, request.email, request.password)
        return pb.LoginResponse(**_tokens(issued), user=user_message(issued.user))

    async def RefreshToken(
        self, request: pb.RefreshTokenRequest, context: Context
    ) -> pb.RefreshTokenResponse:
        issued = await to_thread(self._h.sessions.refresh, request.refresh_token)
        return pb.RefreshTokenResponse(**_tokens(issued))

    async def Logout(self, request: pb.LogoutRequest, context: Context) -> pb.LogoutResponse:
        await to_thread(self._h.sessions.logout, caller())
        return pb.LogoutResponse()

    async def GetMe(self, request: pb.GetMeRequest, context: Context) -> pb.GetMeResponse:
        return pb.GetMeResponse(user=user_message(await self._h.users.me(caller())))

    async def GetUser(self, request: pb.GetUserRequest, context: Context) -> pb.GetUserResponse:
        user_id = parse_id(request.user_id, "user_id", "INVALID_USER_ID")
        return pb.GetUserResponse(user=user_message(await self._h.users.get(caller(), user_id)))

    async def UpdateUser(self, request: pb.UpdateUserRequest, context: Context) -> pb.UpdateUserResponse:
        user = await to_thread(
            self._h.users.update,
            caller(),
            parse_id(request.user_id, "user_id", "INVALID_USER_ID"),
            list(request.update_mask.paths),
            request.full_name,
            request.email,
        )
        return pb.UpdateUserResponse(user=user_message(user))

    async def DeleteUser(self, request: pb.DeleteUserRequest, context: Context) -> pb.DeleteUserResponse:
        user_id = parse_id(request.user_id, "user_id", "INVALID_USER_ID")
        await to_thread(self._h.users.delete, caller(), user_id)
        return pb.DeleteUserResponse()

    async def ListUsers(self, request: pb.ListUsersRequest, context: Context) -> pb.ListUsersResponse:
        page = await to_thread(
            self._h.users.list, caller(), request.page_size, request.page_token, request.filter
        )
        return pb.ListUsersResponse(
            users=[user_message(user) for user in page.users], next_page_token=page.next_page_token
        )

    async def SetUserRoles(
        self, request: pb.SetUserRolesRequest, context: Context
    ) -> pb.SetUserRolesResponse:
        user = await to_thread(
            self._h.users.set_roles,
            caller(),
            parse_id(request.user_id, "user_id", "INVALID_USER_ID"),
            roles_from(request.roles),
        )
        return pb.SetUserRolesResponse(user=user_message(user))

    async def ChangePassword(
        self, request: pb.ChangePasswordRequest, context: Context
    ) -> pb.ChangePasswordResponse:
        await to_thread(
            self._h.recovery.change_password, caller(), request.current_password, request.new_password
        )
        return pb.ChangePasswordResponse()

    async def VerifyEmail(self, request: pb.VerifyEmailRequest, context: Context) -> pb.VerifyEmailResponse:
        user = await to_thread(self._h.registration.verify_email, request.token)
        return pb.VerifyEmailResponse(user=user_message(user))

    async def ResendVerificationEmail(
        self, request: pb.ResendVerificationEmailRequest, context: Context
    ) -> pb.ResendVerificationEmailResponse:
        await to_thread(self._h.registration.resend_verification, request.email)
        return pb.ResendVerificationEmailResponse()

    async def ForgotPassword(
        self, request: pb.ForgotPasswordRequest, context: Context
    ) -> pb.ForgotPasswordResponse:
        await to_thread(self._h.recovery.forgot_password, request.email)
        return pb.ForgotPasswordResponse()

    async def ResetPassword(
        self, request: pb.ResetPasswordRequest, context: Context
    ) -> pb.ResetPasswordResponse:
        await to_thread(self._h.recovery.reset_password, request.token, request.new_password)
        return pb.ResetPasswordResponse()


def _tokens(issued: IssuedTokens) -> _Tokens:
    return {
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "token_type": TOKEN_TYPE,
        "expires_in": issued.expires_in,
    }

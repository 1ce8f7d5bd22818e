"""Passwords: changing one (knowing it) and resetting a forgotten one (by email).

ChangePassword needs the current password (failures are rate limited like logins) and
ends the user's other sessions. ForgotPassword answers OK whether or not the address is
known, and queues a reset email; its token (a JWT of its own audience, valid
RESET_TOKEN_TTL) is bound to the password hash it was made for, so it works once (a reset
changes the hash), and to the address it was sent to, so it stops working when the email
changes. ResetPassword ends every session, and verifies the address, since the email
reached whoever holds that address.
"""

from __future__ import annotations

import hashlib
import uuid

from user_service.adapters.jwt_tokens import RESET_AUDIENCE, JwtCodec, TokenInvalid
from user_service.adapters.passwords import PasswordHasher
from user_service.adapters.session_cache import SessionCache
from user_service.caller import client_address
from user_service.domain.audit import FAILURE, AuditEvent
from user_service.domain.credentials import check_password, normalize_email
from user_service.domain.errors import FieldViolation, InvalidArgument, SessionEnded, Unauthenticated
from user_service.domain.model import EmailKind, Principal
from user_service.domain.rate_limits import RateLimits
from user_service.domain.validation import Violations, require
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions


def reset_fingerprint(password_hash: str, email: str) -> str:
    """What a reset token is bound to: changes whenever the password or the email does.
    (Were it the password alone, a token mailed to one address would still work after the
    account moved to another, and verify that one, which never received anything.)"""
    bound = b"user-service reset:" + password_hash.encode() + b"\0" + email.encode()
    return hashlib.sha256(bound).hexdigest()[:32]


class ResetTokens:
    def __init__(self, codec: JwtCodec, ttl_seconds: int) -> None:
        self._codec = codec
        self._ttl = ttl_seconds

    def issue(self, user_id: uuid.UUID, password_hash: str, email: str) -> str:
        """A token for the user whose password hash and email these are now."""
        fingerprint = reset_fingerprint(password_hash, email)
        claims = {"sub": str(user_id), "jti": uuid.uuid4().hex, "pwf": fingerprint}
        return self._codec.encode(claims, self._ttl, audience=RESET_AUDIENCE)

    def read(self, token: str) -> tuple[uuid.UUID, str] | None:
        """(user id, reset fingerprint), or None for anything but a good reset token."""
        try:
            claims = self._codec.decode(token, required=("pwf",), audience=RESET_AUDIENCE)
            return uuid.UUID(claims["sub"]), str(claims["pwf"])
        except (TokenInvalid, ValueError, TypeError, AttributeError):
            return None


class RecoveryHandler:
    def __init__(
        self,
        *,
        transactions: Transactions,
        passwords: PasswordHasher,
        reset_tokens: ResetTokens,
        limits: RateLimits,
        cache: SessionCache,
        token_ttl_seconds: int,
    ) -> None:
        self._transactions = transactions
        self._passwords = passwords
        self._reset_tokens = reset_tokens
        self._limits = limits
        self._cache = cache
        self._token_ttl = token_ttl_seconds

    def change_password(self, principal: Principal, current_password: str, new_password: str) -> None:
        require(current_password=current_password, new_password=new_password)
        with self._limits.password_attempt(str(principal.user_id), client_address()) as attempt:
            user = self._transactions.run(lambda uow: uow.users.credentials_of(principal.user_id))
            if user is None:
                raise SessionEnded()
            old_hash = user.password_hash or ""
            if not self._passwords.verify(current_password, old_hash):
                attempt.failed()
        if attempt.wrong:
            self._record(AuditEvent("user.password_change", FAILURE, principal.user_id, principal.user_id))
            raise Unauthenticated("INVALID_CREDENTIALS", "the current password is wrong")
        check_password(new_password, "new_password", known=[user.user.email, user.user.full_name])
        new_hash = self._passwords.hash(new_password)

        def change(uow: SqlUnitOfWork) -> list[uuid.UUID]:
            if not uow.users.replace_password_hash(principal.user_id, old_hash, new_hash):
                raise Unauthenticated("INVALID_CREDENTIALS", "the password changed meanwhile; try again")
            ended = uow.sessions.revoke_all(
                principal.user_id, "password changed", keep=uuid.UUID(principal.session_id)
            )
            uow.audit.add(
                AuditEvent(
                    "user.password_change",
                    actor_user_id=principal.user_id,
                    subject_user_id=principal.user_id,
                    details={"sessions_ended": len(ended)},
                )
            )
            uow.commit()
            return ended

        ended = self._transactions.run(change)
        self._cache.revoke([str(session_id) for session_id in ended], self._token_ttl)

    def forgot_password(self, email: str) -> None:
        """Queue a reset email if `email` is an active user's; OK either way."""
        email = normalize_email(email)
        self._limits.take_email_request(email, client_address())

        def queue(uow: SqlUnitOfWork) -> None:
            found = uow.users.credentials(email)
            # A row either way, so that a known address costs what an unknown one does (a
            # write and a commit): the time of the answer does not tell. The dispatcher
            # drops a row of no one's.
            to = found.user.id if found is not None and found.user.is_active else None
            uow.outbox.enqueue(to, EmailKind.PASSWORD_RESET)
            uow.commit()

        self._transactions.run(queue)

    def reset_password(self, token: str, new_password: str) -> None:
        require(token=token, new_password=new_password)
        address = client_address()
        self._limits.check_failures(address)
        found = Violations()
        claims = self._reset_tokens.read(token)
        if claims is None:
            found.add("token", "is unknown, used or expired", "INVALID_TOKEN")
        found.check(check_password, new_password, "new_password", default=None)
        if claims is None:
            self._limits.count_failure(address)
        found.raise_any()
        assert claims is not None
        user_id, fingerprint = claims
        new_hash = self._passwords.hash(new_password)

        def reset(uow: SqlUnitOfWork) -> list[uuid.UUID] | None:
            bound = uow.users.reset_binding(user_id)
            if bound is None or reset_fingerprint(*bound) != fingerprint:
                return None  # used already (the hash changed), the email changed, or the user is gone
            uow.users.change(user_id, password_hash=new_hash, email_verified=True)
            ended = uow.sessions.revoke_all(user_id, "password reset")
            uow.audit.add(
                AuditEvent(
                    "user.password_reset",
                    actor_user_id=user_id,
                    subject_user_id=user_id,
                    details={"sessions_ended": len(ended)},
                )
            )
            uow.commit()
            return ended

        ended = self._transactions.run(reset)
        if ended is None:
            self._limits.count_failure(address)
            raise InvalidArgument(FieldViolation("token", "is unknown, used or expired", "INVALID_TOKEN"))
        self._cache.revoke([str(session_id) for session_id in ended], self._token_ttl)

    def _record(self, event: AuditEvent) -> None:
        def record(uow: SqlUnitOfWork) -> None:
            uow.audit.add(event)
            uow.commit()

        self._transactions.run(record)

"""Users: reading, changing, listing and deleting them, and their roles.

Callers act on themselves, or on anyone as far as the permission table allows; a caller
who may not act on a user learns nothing about it (PERMISSION_DENIED before NOT_FOUND).
Deleting a user removes its personal data (its address in the audit trail too), ends its
sessions, closes its accounts and keeps its ledger; refused while it has money.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from user_service.adapters.passwords import PasswordHasher
from user_service.adapters.session_cache import SessionCache
from user_service.caller import client_address
from user_service.domain import page_tokens
from user_service.domain.audit import AuditEvent
from user_service.domain.credentials import check_new_user, clean_full_name, normalize_email
from user_service.domain.errors import (
    EmailAlreadyRegistered,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    SessionEnded,
)
from user_service.domain.model import EmailKind, Principal, Role, User, UserPage
from user_service.domain.permissions import Action, require
from user_service.domain.rate_limits import RateLimits
from user_service.domain.user_filter import parse_user_filter
from user_service.domain.validation import Violations
from user_service.storage.errors import UniqueViolation
from user_service.storage.loop_statements import LoopStatements
from user_service.storage.repositories.users import USER_BY_ID
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions

UPDATABLE = ("full_name", "email")


def add_user(
    uow: SqlUnitOfWork,
    *,
    email: str,
    full_name: str,
    password_hash: str,
    roles: Sequence[Role],
    verified: bool,
) -> User:
    """A new user and its balance account; EMAIL_ALREADY_REGISTERED when the email is taken."""
    if uow.users.email_taken(email):
        raise EmailAlreadyRegistered()
    try:
        user = uow.users.add(
            email=email, full_name=full_name, password_hash=password_hash, roles=roles, verified=verified
        )
    except UniqueViolation:  # registered by a concurrent call since the check above
        raise EmailAlreadyRegistered() from None
    uow.accounts.open(user.id)
    return user


def _not_found() -> NotFound:
    return NotFound("USER_NOT_FOUND", "there is no such user")


class UsersHandler:
    def __init__(
        self,
        transactions: Transactions,
        statements: LoopStatements,
        passwords: PasswordHasher,
        cache: SessionCache | None = None,
        token_ttl_seconds: int = 3600,
        *,
        limits: RateLimits | None = None,
    ) -> None:
        self._transactions = transactions
        self._statements = statements
        self._passwords = passwords
        self._cache = cache
        self._token_ttl = token_ttl_seconds
        self._limits = limits  # None: no limits (the create-user command)

    def create_user(
        self, email: str, password: str, roles: Sequence[Role], *, full_name: str = "", verified: bool
    ) -> User:
        """A new active user with its balance account, in one transaction (create-user)."""
        found = Violations()
        email, full_name = check_new_user(found, email, password, full_name)
        if not roles:
            found.add("roles", "must name at least one role", "INVALID_ROLE")
        found.raise_any()
        password_hash = self._passwords.hash(password)

        def create(uow: SqlUnitOfWork) -> User:
            user = add_user(
                uow,
                email=email,
                full_name=full_name,
                password_hash=password_hash,
                roles=roles,
                verified=verified,
            )
            uow.audit.add(
                AuditEvent("user.create", subject_user_id=user.id, details={"roles": ",".join(roles)})
            )
            uow.commit()
            return user

        return self._transactions.run(create)

    async def me(self, principal: Principal) -> User:
        user = await self._statements.one(USER_BY_ID, {"id": principal.user_id})
        if user is None:
            raise SessionEnded()
        return user

    async def get(self, principal: Principal, user_id: uuid.UUID) -> User:
        require(principal, Action.READ_USER, user_id)
        user = await self._statements.one(USER_BY_ID, {"id": user_id})
        if user is None:
            raise _not_found()
        return user

    def update(
        self, principal: Principal, user_id: uuid.UUID, paths: Sequence[str], full_name: str, email: str
    ) -> User:
        require(principal, Action.UPDATE_USER, user_id)
        found = Violations()
        if not paths or any(path not in UPDATABLE for path in paths):
            found.add("update_mask", f"must name some of {', '.join(UPDATABLE)}", "INVALID_UPDATE_MASK")
        if "full_name" in paths:
            full_name = found.check(clean_full_name, full_name, default=full_name)
        if "email" in paths:
            email = found.check(normalize_email, email, default=email)
        found.raise_any()
        if "email" in paths and self._limits is not None:
            # A new email gets a verification email: limited like Register's, per address
            # mailed and per client address, so that changing one's email cannot spray mail.
            self._limits.take_email_request(email, client_address())

        def change(uow: SqlUnitOfWork) -> User:
            user = uow.users.find(user_id, lock=True)
            if user is None:
                raise _not_found()
            values: dict[str, object] = {}
            if "full_name" in paths and full_name != user.full_name:
                values["full_name"] = full_name
            if "email" in paths and email != user.email:
                if uow.users.email_taken(email):
                    raise EmailAlreadyRegistered()
                values |= {"email": email, "email_verified": False}
            if not values:
                return user
            try:
                changed = uow.users.change(user_id, **values)
            except UniqueViolation:
                raise EmailAlreadyRegistered() from None
            if "email" in values:
                uow.outbox.enqueue(user_id, EmailKind.VERIFICATION)
            uow.audit.add(
                AuditEvent(
                    "user.update",
                    actor_user_id=principal.user_id,
                    subject_user_id=user_id,
                    details={"fields": ",".join(sorted(values))},
                )
            )
            uow.commit()
            return changed

        return self._transactions.run(change)

    def delete(self, principal: Principal, user_id: uuid.UUID) -> None:
        require(principal, Action.DELETE_USER, user_id)

        def delete(uow: SqlUnitOfWork) -> list[uuid.UUID]:
            if uow.users.find(user_id, lock=True) is None:
                raise _not_found()
            holdings = uow.accounts.lock_holdings(user_id)
            if holdings.held or holdings.active_holds:
                raise FailedPrecondition(
                    "FUNDS_HELD", "the user has money held for orders", {"held": str(holdings.held)}
                )
            if holdings.available:
                raise FailedPrecondition(
                    "BALANCE_NOT_ZERO", "the user still has money", {"available": str(holdings.available)}
                )
            uow.accounts.close_all(user_id)
            uow.users.scrub(user_id)
            ended = uow.sessions.revoke_all(user_id, "user deleted")
            uow.tokens.delete_for(user_id)
            uow.outbox.drop_for(user_id)
            uow.audit.erase_addresses(user_id)
            deletion = AuditEvent("user.delete", actor_user_id=principal.user_id, subject_user_id=user_id)
            if principal.user_id == user_id:  # the address is the deleted user's own
                deletion = replace(deletion, client_address=None)
            uow.audit.add(deletion)
            uow.commit()
            return ended

        ended = self._transactions.run(delete)
        if self._cache is not None:
            self._cache.revoke([str(session_id) for session_id in ended], self._token_ttl)

    def list(self, principal: Principal, page_size: int, page_token: str, filter_text: str) -> UserPage:
        require(principal, Action.LIST_USERS)
        found = Violations()
        size = found.check(page_tokens.page_size, page_size, default=0)
        query = found.check(parse_user_filter, filter_text, default=None)
        position = found.check(_position, page_token, f"users:{filter_text}", default=None)
        found.raise_any()
        assert query is not None
        users = self._transactions.run(lambda uow: uow.users.page(query, position, size + 1))
        next_token = ""
        if len(users) > size:
            users = users[:size]
            last = users[-1]
            next_token = page_tokens.encode(
                f"users:{filter_text}", [last.create_time.isoformat(), str(last.id)]
            )
        return UserPage(tuple(users), next_token)

    def set_roles(self, principal: Principal, user_id: uuid.UUID, roles: Sequence[Role]) -> User:
        require(principal, Action.SET_USER_ROLES)
        if not roles:
            raise InvalidArgument(FieldViolation("roles", "must name at least one role", "INVALID_ROLE"))
        if user_id == principal.user_id and Role.ADMIN not in roles:
            raise FailedPrecondition("CANNOT_REMOVE_OWN_ADMIN", "an admin cannot remove its own admin role")

        def change(uow: SqlUnitOfWork) -> tuple[User, list[uuid.UUID]]:
            user = uow.users.find(user_id, lock=True)
            if user is None:
                raise _not_found()
            new_roles = sorted({role.value for role in roles})
            changed = uow.users.change(user_id, roles=new_roles)
            uow.audit.add(
                AuditEvent(
                    "user.roles_change",
                    actor_user_id=principal.user_id,
                    subject_user_id=user_id,
                    details={"from": ",".join(user.roles), "to": ",".join(new_roles)},
                )
            )
            sessions = uow.sessions.live_ids(user_id)
            uow.commit()
            return changed, sessions

        user, sessions = self._transactions.run(change)
        if self._cache is not None:
            self._cache.forget(str(session_id) for session_id in sessions)
        return user


def _position(page_token: str, query: str) -> tuple[datetime, uuid.UUID] | None:
    """Where the page that gave `page_token` ended: (create_time, id) of its last user."""
    after = page_tokens.decode(page_token, query, (str, str))
    if after is None:
        return None
    try:
        return datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1]))
    except ValueError:
        raise page_tokens.invalid() from None

"""Sessions: Login opens one, RefreshToken rotates its refresh token, Logout ends it.

Login answers an unknown email, a wrong password and an inactive user alike, in the same
time (an unknown email is checked against a stand-in hash), and only tells an unverified
user so once the password was right. A refresh token works once: presenting a spent one
again means it was copied, and ends its whole session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from user_service import metrics
from user_service.adapters.passwords import PasswordHasher
from user_service.adapters.session_cache import SessionCache
from user_service.caller import client_address
from user_service.domain.audit import FAILURE, AuditEvent
from user_service.domain.authentication import AccessTokens
from user_service.domain.credentials import normalize_email
from user_service.domain.errors import FailedPrecondition, InvalidArgument, Unauthenticated, UserServiceError
from user_service.domain.model import Credentials, IssuedTokens, Principal, User
from user_service.domain.opaque_tokens import digest, new_token
from user_service.domain.rate_limits import RateLimits
from user_service.domain.validation import require
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions


@dataclass(frozen=True)
class SessionRules:
    refresh_token_ttl_seconds: int
    require_email_verification: bool


def _wrong_credentials() -> Unauthenticated:
    return Unauthenticated("INVALID_CREDENTIALS", "the email address or the password is wrong")


def _bad_refresh_token() -> Unauthenticated:
    return Unauthenticated("INVALID_REFRESH_TOKEN", "the refresh token is unknown, expired or revoked")


class SessionsHandler:
    def __init__(
        self,
        *,
        transactions: Transactions,
        passwords: PasswordHasher,
        access_tokens: AccessTokens,
        limits: RateLimits,
        cache: SessionCache,
        rules: SessionRules,
        stand_in_hash: str,
    ) -> None:
        self._transactions = transactions
        self._passwords = passwords
        self._access_tokens = access_tokens
        self._limits = limits
        self._cache = cache
        self._rules = rules
        self._stand_in_hash = stand_in_hash

    def login(self, email: str, password: str) -> IssuedTokens:
        """Login, counted by outcome (user_service_logins_total)."""
        try:
            issued = self._login(email, password)
        except UserServiceError as refused:
            metrics.logins.labels(refused.reason.lower()).inc()
            raise
        metrics.logins.labels("success").inc()
        return issued

    def _login(self, email: str, password: str) -> IssuedTokens:
        require(email=email, password=password)
        address = client_address()
        try:
            email = normalize_email(email)
            well_formed = True
        except InvalidArgument:
            email = email.strip().lower()  # no such user can exist: it fails like an unknown one
            well_formed = False
        with self._limits.password_attempt(email, address) as attempt:
            # A malformed address is not looked up: it may hold what the database refuses (NUL).
            found = self._transactions.run(lambda uow: uow.users.credentials(email)) if well_formed else None
            matches = self._passwords.verify(password, (found and found.password_hash) or self._stand_in_hash)
            if found is None or not matches or not found.user.is_active:
                attempt.failed()
        if found is None or attempt.wrong:
            self._audit_failure(found, "unknown email" if found is None else "wrong password or inactive")
            raise _wrong_credentials()
        user = found.user
        if self._rules.require_email_verification and not user.email_verified:
            self._audit_failure(found, "email not verified")
            raise FailedPrecondition("EMAIL_NOT_VERIFIED", "verify the email address first")
        refresh_token, refresh_digest = new_token()
        expire_time = datetime.now(UTC) + timedelta(seconds=self._rules.refresh_token_ttl_seconds)

        def open_session(uow: SqlUnitOfWork) -> uuid.UUID:
            session_id = uow.sessions.open(user.id, expire_time)
            uow.sessions.add_refresh_token(session_id, refresh_digest, expire_time)
            uow.audit.add(AuditEvent("user.login", actor_user_id=user.id, subject_user_id=user.id))
            uow.commit()
            return session_id

        session_id = self._transactions.run(open_session)
        return self._issue(user, session_id, refresh_token)

    def refresh(self, refresh_token: str) -> IssuedTokens:
        require(refresh_token=refresh_token)
        address = client_address()
        self._limits.check_failures(address)
        new_refresh_token, new_digest = new_token()

        def rotate(uow: SqlUnitOfWork) -> tuple[str, User | None, uuid.UUID | None]:
            record = uow.sessions.refresh_token(digest(refresh_token))
            if record is None or (not record.live and not record.spent):
                return "unknown", None, None
            if record.spent:
                uow.sessions.revoke(record.session_id, "refresh token reused")
                uow.audit.add(
                    AuditEvent(
                        "user.refresh_token_reused",
                        outcome=FAILURE,
                        subject_user_id=record.user_id,
                        details={"session_id": str(record.session_id)},
                    )
                )
                uow.commit()
                return "reused", None, record.session_id
            uow.sessions.spend_refresh_token(record.token_id)
            uow.sessions.add_refresh_token(record.session_id, new_digest, record.session_expire_time)
            user = uow.users.find(record.user_id)
            uow.commit()
            return "rotated", user, record.session_id

        outcome, user, session_id = self._transactions.run(rotate)
        if outcome == "reused" and session_id is not None:
            self._cache.revoke([str(session_id)], self._access_tokens.ttl_seconds)
            raise Unauthenticated(
                "REFRESH_TOKEN_REUSED", "this refresh token was used before: the session has ended"
            )
        if user is None or session_id is None:
            self._limits.count_failure(address)
            raise _bad_refresh_token()
        return self._issue(user, session_id, new_refresh_token)

    def logout(self, principal: Principal) -> None:
        session_id = uuid.UUID(principal.session_id)

        def end(uow: SqlUnitOfWork) -> None:
            uow.sessions.revoke(session_id, "logout")
            uow.audit.add(
                AuditEvent("user.logout", actor_user_id=principal.user_id, subject_user_id=principal.user_id)
            )
            uow.commit()

        self._transactions.run(end)
        self._cache.revoke([principal.session_id], self._access_tokens.ttl_seconds)

    def _issue(self, user: User, session_id: uuid.UUID, refresh_token: str) -> IssuedTokens:
        access_token = self._access_tokens.issue(user.id, user.roles, session_id)
        return IssuedTokens(access_token, refresh_token, self._access_tokens.ttl_seconds, user)

    def _audit_failure(self, found: Credentials | None, reason: str) -> None:
        subject = found.user.id if found is not None else None

        def record(uow: SqlUnitOfWork) -> None:
            uow.audit.add(
                AuditEvent("user.login", FAILURE, subject_user_id=subject, details={"reason": reason})
            )
            uow.commit()

        self._transactions.run(record)

"""Registration and email verification.

Register creates an unverified user with its balance account and queues the verification
email, in one transaction. The email's token is made when the email is sent (the outbox
keeps no token), lives VERIFICATION_TOKEN_TTL, works once, and verifies only the address
it was sent to. ResendVerificationEmail answers OK whether or not the address is known.
"""

from __future__ import annotations

from user_service.adapters.passwords import PasswordHasher
from user_service.caller import client_address
from user_service.domain.audit import AuditEvent
from user_service.domain.credentials import check_new_user, normalize_email
from user_service.domain.errors import FieldViolation, InvalidArgument
from user_service.domain.model import EmailKind, Role, User
from user_service.domain.opaque_tokens import digest
from user_service.domain.rate_limits import RateLimits
from user_service.domain.users import add_user
from user_service.domain.validation import Violations, require
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions


def _invalid_token() -> InvalidArgument:
    return InvalidArgument(FieldViolation("token", "is unknown, used or expired", "INVALID_TOKEN"))


class RegistrationHandler:
    def __init__(self, *, transactions: Transactions, passwords: PasswordHasher, limits: RateLimits) -> None:
        self._transactions = transactions
        self._passwords = passwords
        self._limits = limits

    def register(self, email: str, password: str, full_name: str) -> User:
        found = Violations()
        email, full_name = check_new_user(found, email, password, full_name)
        found.raise_any()
        self._limits.take_email_request(email, client_address())
        password_hash = self._passwords.hash(password)

        def create(uow: SqlUnitOfWork) -> User:
            user = add_user(
                uow,
                email=email,
                full_name=full_name,
                password_hash=password_hash,
                roles=[Role.USER],
                verified=False,
            )
            uow.outbox.enqueue(user.id, EmailKind.VERIFICATION)
            uow.audit.add(AuditEvent("user.register", actor_user_id=user.id, subject_user_id=user.id))
            uow.commit()
            return user

        return self._transactions.run(create)

    def verify_email(self, token: str) -> User:
        require(token=token)
        address = client_address()
        self._limits.check_failures(address)

        def verify(uow: SqlUnitOfWork) -> User | None:
            spent = uow.tokens.consume(digest(token), EmailKind.VERIFICATION)
            if spent is None or not uow.users.mark_verified(*spent):
                return None
            user_id = spent[0]
            uow.audit.add(AuditEvent("user.email_verified", actor_user_id=user_id, subject_user_id=user_id))
            uow.commit()
            return uow.users.find(user_id)

        user = self._transactions.run(verify)
        if user is None:
            self._limits.count_failure(address)
            raise _invalid_token()
        return user

    def resend_verification(self, email: str) -> None:
        """Queue a new verification email if `email` is an unverified user's; OK either way."""
        email = normalize_email(email)
        self._limits.take_email_request(email, client_address())

        def queue(uow: SqlUnitOfWork) -> None:
            found = uow.users.credentials(email)
            # A row either way, as ForgotPassword does (domain/recovery.py): the time of
            # the answer does not tell whether the address is known.
            to = None
            if found is not None and found.user.is_active and not found.user.email_verified:
                to = found.user.id
            uow.outbox.enqueue(to, EmailKind.VERIFICATION)
            uow.commit()

        self._transactions.run(queue)

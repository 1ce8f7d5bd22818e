"""Users: creating them (operators' create-user today; Register next)."""

from __future__ import annotations

from collections.abc import Sequence

from user_service.adapters.passwords import BcryptHasher
from user_service.domain.credentials import check_password, normalize_email
from user_service.domain.errors import EmailAlreadyRegistered, FieldViolation, InvalidArgument
from user_service.domain.model import Role, User
from user_service.storage.errors import UniqueViolation
from user_service.storage.models import UserRow
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions


class UsersHandler:
    def __init__(self, transactions: Transactions, hasher: BcryptHasher) -> None:
        self._transactions = transactions
        self._hasher = hasher

    def create_user(
        self, email: str, password: str, roles: Sequence[Role], *, full_name: str = "", verified: bool
    ) -> User:
        """A new active user with its balance account, in one transaction."""
        email = normalize_email(email)
        check_password(password)
        if not roles:
            raise InvalidArgument(FieldViolation("roles", "must name at least one role", "INVALID_ROLE"))
        password_hash = self._hasher.hash(password)

        def create(uow: SqlUnitOfWork) -> User:
            if uow.users.get_by_email(email) is not None:
                raise EmailAlreadyRegistered()
            try:
                row = uow.users.add(
                    UserRow(
                        email=email,
                        full_name=full_name.strip(),
                        password_hash=password_hash,
                        roles=sorted({role.value for role in roles}),
                        is_active=True,
                        email_verified=verified,
                    )
                )
            except UniqueViolation:  # registered by a concurrent call since the check above
                raise EmailAlreadyRegistered() from None
            uow.accounts.open(row.id)
            uow.commit()
            return to_user(row)

        return self._transactions.run(create)


def to_user(row: UserRow) -> User:
    return User(
        id=row.id,
        email=row.email or "",
        full_name=row.full_name,
        is_active=row.is_active,
        email_verified=row.email_verified,
        roles=tuple(Role(role) for role in row.roles),
        create_time=row.create_time,
        update_time=row.update_time,
    )

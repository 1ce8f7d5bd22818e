"""One database transaction: `with uow: ...; uow.commit()`; anything uncommitted rolls back."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from user_service.storage.repositories.accounts import AccountRepository
from user_service.storage.repositories.users import UserRepository


class SqlUnitOfWork:
    users: UserRepository
    accounts: AccountRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> Self:
        self._session = self._session_factory()
        self.users = UserRepository(self._session)
        self.accounts = AccountRepository(self._session)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._session.rollback()
        self._session.close()

    def commit(self) -> None:
        self._session.commit()

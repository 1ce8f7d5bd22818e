"""One database transaction: `with uow: ...; uow.commit()`; anything uncommitted rolls back.

Driver errors leave a unit of work as storage's domain errors (storage/errors.py).
`Transactions.run(work)` runs `work(uow)` in a fresh unit of work and runs it again when
that is safe and may help:

- once, when a pooled connection turns out dead before COMMIT (instead of pinging every
  connection before use, which would cost a round trip on every call);
- a few times, with jittered backoff, after a serialization failure, deadlock or lock
  timeout, as long as the call's deadline leaves time.

`work` must do nothing but database work through `uow`: it may run more than once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy import exc
from sqlalchemy.orm import Session, sessionmaker

from user_service import deadlines
from user_service.storage.driver_errors import checking_out, translate
from user_service.storage.errors import DatabaseTimeout, DatabaseUnavailable, TransactionConflict
from user_service.storage.repositories.accounts import AccountRepository
from user_service.storage.repositories.audit import AuditRepository
from user_service.storage.repositories.history import HistoryRepository
from user_service.storage.repositories.holds import HoldRepository
from user_service.storage.repositories.ledger import LedgerRepository
from user_service.storage.repositories.outbox import OutboxRepository
from user_service.storage.repositories.reconciliation import ReconciliationRepository
from user_service.storage.repositories.sessions import SessionRepository
from user_service.storage.repositories.stats import StatsRepository
from user_service.storage.repositories.tokens import SingleUseTokenRepository
from user_service.storage.repositories.users import UserRepository

T = TypeVar("T")

CONFLICT_RETRIES = 3
_BACKOFF_SECONDS = 0.01

log = logging.getLogger(__name__)


class SqlUnitOfWork:
    """`session` is for the repositories (and tests); handlers go through the repositories."""

    session: Session
    users: UserRepository
    accounts: AccountRepository
    audit: AuditRepository
    ledger: LedgerRepository
    history: HistoryRepository
    holds: HoldRepository
    reconciliation: ReconciliationRepository
    sessions: SessionRepository
    tokens: SingleUseTokenRepository
    outbox: OutboxRepository
    stats: StatsRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._committing = False

    def __enter__(self) -> Self:
        if deadlines.remaining() == 0:
            raise DatabaseTimeout()
        self.session = self._session_factory()
        self.users = UserRepository(self.session)
        self.accounts = AccountRepository(self.session)
        self.audit = AuditRepository(self.session)
        self.ledger = LedgerRepository(self.session)
        self.history = HistoryRepository(self.session)
        self.holds = HoldRepository(self.session)
        self.reconciliation = ReconciliationRepository(self.session)
        self.sessions = SessionRepository(self.session)
        self.tokens = SingleUseTokenRepository(self.session)
        self.stats = StatsRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self._connect()
        return self

    def _connect(self) -> None:
        """Take a pooled connection now, counting the wait (the pool gauges); a failure here
        leaves as storage's error, like any other."""
        try:
            with checking_out():
                self.session.connection()
        except BaseException:
            self.session.close()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.session.rollback()
        except exc.SQLAlchemyError:
            if error is None:
                raise
            # The connection broke; what broke it is the error worth raising.
        finally:
            self.session.close()
        if error is not None:
            translated = translate(error)
            if isinstance(translated, DatabaseUnavailable) and self._committing:
                translated.stale = False  # COMMIT may have happened: never run it again
            if translated is not None:
                raise translated from None

    def commit(self) -> None:
        self._committing = True
        self.session.commit()
        self._committing = False


class Transactions:
    """Makes units of work (`with transactions() as uow`) and runs work in them (`run`)."""

    def __init__(
        self, session_factory: sessionmaker[Session], conflict_retries: int = CONFLICT_RETRIES
    ) -> None:
        self._session_factory = session_factory
        self._conflict_retries = conflict_retries

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._session_factory)

    def run(self, work: Callable[[SqlUnitOfWork], T]) -> T:
        conflicts = 0
        reconnected = False
        while True:
            try:
                with self() as uow:
                    return work(uow)
            except DatabaseUnavailable as error:
                if not error.stale or reconnected:
                    raise
                reconnected = True
                log.info("a pooled database connection was dead; running the transaction again")
            except TransactionConflict as error:
                conflicts += 1
                pause = _BACKOFF_SECONDS * 2**conflicts * random.uniform(0.5, 1.5)  # noqa: S311
                left = deadlines.remaining()
                if conflicts > self._conflict_retries or (left is not None and left <= pause):
                    raise
                log.info(
                    "transaction conflict (%s): attempt %d of %d",
                    error.cause,
                    conflicts + 1,
                    self._conflict_retries + 1,
                )
                time.sleep(pause)

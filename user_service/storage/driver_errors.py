"""Driver errors turned into storage's domain errors (storage/errors.py), by SQLSTATE.

Anything not listed here (a CHECK violation, a syntax error) is a bug and stays as it is,
for the server to answer INTERNAL and log.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import psycopg2
from psycopg2 import errorcodes
from sqlalchemy import exc

from user_service import metrics
from user_service.domain.errors import UserServiceError
from user_service.storage.errors import (
    DatabaseBusy,
    DatabaseTimeout,
    DatabaseUnavailable,
    TransactionConflict,
    ValueOutOfRange,
)

_NO_ANSWER = (psycopg2.OperationalError, psycopg2.InterfaceError, exc.OperationalError, exc.InterfaceError)

_BY_SQLSTATE: dict[str, Callable[[], UserServiceError]] = {
    errorcodes.SERIALIZATION_FAILURE: lambda: TransactionConflict("serialization failure"),
    errorcodes.DEADLOCK_DETECTED: lambda: TransactionConflict("deadlock"),
    errorcodes.LOCK_NOT_AVAILABLE: lambda: TransactionConflict("lock timeout"),
    # statement_timeout, or the call's deadline turned into one
    errorcodes.QUERY_CANCELED: DatabaseTimeout,
    errorcodes.NUMERIC_VALUE_OUT_OF_RANGE: ValueOutOfRange,
    # The server is going away or refuses connections for now.
    errorcodes.ADMIN_SHUTDOWN: DatabaseUnavailable,
    errorcodes.CRASH_SHUTDOWN: DatabaseUnavailable,
    errorcodes.CANNOT_CONNECT_NOW: DatabaseUnavailable,
    errorcodes.TOO_MANY_CONNECTIONS: DatabaseUnavailable,
    errorcodes.READ_ONLY_SQL_TRANSACTION: DatabaseUnavailable,  # a replica, or a demoted primary
}


def translate(error: BaseException) -> UserServiceError | None:
    """The domain error `error` (SQLAlchemy's, or psycopg2's own) stands for, or None when
    it is a bug."""
    if isinstance(error, exc.TimeoutError):  # no connection free in the pool within pool_timeout
        return DatabaseBusy()
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return DatabaseUnavailable(stale=True)
        error = error.orig if error.orig is not None else error
    if not isinstance(error, psycopg2.Error | exc.DBAPIError):
        return None
    pgcode = getattr(error, "pgcode", None) or ""
    if not pgcode and isinstance(error, _NO_ANSWER):  # refused, reset, closed: no answer at all
        return DatabaseUnavailable()
    return from_sqlstate(pgcode)


def from_sqlstate(sqlstate: str) -> UserServiceError | None:
    """The domain error PostgreSQL's SQLSTATE stands for, whichever driver reported it, or
    None when it is a bug."""
    make = _BY_SQLSTATE.get(sqlstate)
    if make is None and sqlstate.startswith("08"):  # connection exceptions
        make = DatabaseUnavailable
    return make() if make is not None else None


@contextlib.contextmanager
def checking_out() -> Iterator[None]:
    """Around taking a pooled connection: counted as a wait (the pool gauge), and a failure
    (pool exhausted, database unreachable) leaves as storage's error."""
    metrics.pool_waiting.inc()
    try:
        yield
    except (exc.SQLAlchemyError, psycopg2.Error) as error:  # raw_connection() lets psycopg2's through
        translated = translate(error)
        if translated is None:
            raise
        raise translated from None
    finally:
        metrics.pool_waiting.dec()

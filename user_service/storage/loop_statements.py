"""The hot statements on the server's event loop: GetMe's, GetUser's and GetBalance's read
and a deposit's or withdrawal's write (or deposits', storage/deposit_batches.py), each one
round trip to PostgreSQL on asyncpg.

The same Statements as storage/statements.py runs on psycopg2, with the same rules: the
statement runs alone in autocommit (PostgreSQL commits it as it ends, so a row it locks is
held no longer than it runs); when the call's deadline is nearer than the connection's
statement timeout it runs in a transaction behind SET LOCAL statement and lock timeouts
(three more round trips, for short deadlines only); errors leave as storage's domain
errors (a unique violation as UniqueViolation, naming its constraint); a connection found
dead is replaced once (a deposit run again meets its own request_id); and a call past its
deadline does not start.

asyncpg prepares each statement once per connection and then sends only its parameters
(PostgreSQL's extended protocol), where psycopg2 sends the whole text every time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import asyncpg

from user_service import deadlines
from user_service.domain.errors import UserServiceError
from user_service.storage.driver_errors import from_sqlstate
from user_service.storage.errors import DatabaseTimeout, DatabaseUnavailable, UniqueViolation
from user_service.storage.loop_pool import LoopPool
from user_service.storage.session_limits import SessionLimits
from user_service.storage.statements import Statement

T = TypeVar("T")

# asyncpg's Connection.fetchrow or Connection.fetch.
Fetch = Callable[..., Awaitable[Any]]

SET_TIMEOUTS = "SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true)"


class LoopStatements:
    def __init__(self, pool: LoopPool, limits: SessionLimits) -> None:
        self._pool = pool
        self._limits = limits

    async def one(self, statement: Statement[T], params: Mapping[str, Any]) -> T | None:
        """The statement's first row as its value, or None when it returns none."""
        found = await self._sent(statement, params, asyncpg.Connection.fetchrow)
        return statement.row(tuple(found)) if found is not None else None

    async def all(self, statement: Statement[T], params: Mapping[str, Any]) -> list[T]:
        """The statement's rows as their values."""
        found = await self._sent(statement, params, asyncpg.Connection.fetch)
        return [statement.row(tuple(row)) for row in found]

    async def _sent(self, statement: Statement[Any], params: Mapping[str, Any], fetch: Fetch) -> Any:
        sql, names = statement.numbered
        args = [params[name] for name in names]
        for attempt in (1, 2):
            if deadlines.remaining() == 0:
                raise DatabaseTimeout()
            try:
                connection = await self._pool.acquire()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                raise _storage_error(error, dead=True) from None
            try:
                # The budget is what is left once a connection is ours: waiting for one
                # must not let a lock wait outlast the call.
                found = await self._fetch(connection, fetch, sql, args)
            except Exception as error:
                dead = connection.is_closed()
                self._pool.release(connection, broken=dead)
                if dead and attempt == 1:  # the connection died since its last use
                    continue
                raise _storage_error(error, dead=dead) from None
            except BaseException:  # cancelled mid-statement: the connection's state is unknown
                self._pool.release(connection, broken=True)
                raise
            self._pool.release(connection)
            return found
        raise DatabaseUnavailable()

    async def _fetch(self, connection: asyncpg.Connection, fetch: Fetch, sql: str, args: list[Any]) -> Any:
        timeouts = self._limits.within_deadline()
        if timeouts is None:
            return await fetch(connection, sql, *args)
        async with connection.transaction():
            await connection.execute(SET_TIMEOUTS, str(timeouts[0]), str(timeouts[1]))
            return await fetch(connection, sql, *args)

    async def close(self) -> None:
        await self._pool.close()


def _storage_error(error: Exception, *, dead: bool) -> Exception:
    """`error` as storage's domain error, or itself when it is a bug."""
    if isinstance(error, asyncpg.UniqueViolationError):
        return UniqueViolation(error.constraint_name or "unknown")
    translated = translate(error)
    if translated is not None:
        return translated
    return DatabaseUnavailable() if dead else error


def translate(error: BaseException) -> UserServiceError | None:
    """The domain error an asyncpg error (or a failure to connect) stands for, or None."""
    if isinstance(error, asyncpg.PostgresError):
        return from_sqlstate(error.sqlstate or "")
    if isinstance(error, OSError | TimeoutError):  # refused, reset, unreachable, no answer in time
        return DatabaseUnavailable()
    return None

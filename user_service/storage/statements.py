"""Single statements outside any explicit transaction: the hot reads (checking a token's
session, GetMe, GetUser, GetBalance) and the hot write (a deposit or withdrawal), each one
round trip to PostgreSQL. The server runs them on its event loop with asyncpg
(loop_statements.py); Statements here runs them on psycopg2, for code that blocks anyway
(the token check's database fallback, in a worker thread).

A unit of work costs a transaction (BEGIN and COMMIT or ROLLBACK, two more round trips)
and the ORM's bookkeeping. A statement that does all its work at once needs neither: one
statement is atomic and sees one snapshot. Here it runs on a pooled connection's own
cursor in autocommit mode, so that PostgreSQL commits it as it ends; a row it locks is
held no longer than the statement runs, never across a round trip to the client.

When the call's deadline is nearer than the connection's statement timeout, `SET LOCAL`
statement and lock timeouts go in the same round trip (a query of several statements runs
as one implicit transaction, which SET LOCAL lasts for). Errors leave as storage's domain
errors (a unique violation as UniqueViolation, naming its constraint), a pooled connection
found dead is replaced once, and a call past its deadline does not start.

Each statement is a Statement defined beside its repository, which runs the same SQL
inside transactions when it needs a lock or a consistent view with other writes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import psycopg2
from psycopg2 import errorcodes
from sqlalchemy import Engine

from user_service import deadlines
from user_service.storage.driver_errors import checking_out, translate
from user_service.storage.errors import DatabaseTimeout, DatabaseUnavailable, UniqueViolation

if TYPE_CHECKING:
    from user_service.storage.session_limits import SessionLimits

T = TypeVar("T")


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


@dataclass(frozen=True)
class Statement(Generic[T]):
    """SQL with %(name)s parameters, and what one of its rows becomes."""

    sql: str
    row: Callable[[tuple[Any, ...]], T]

    @functools.cached_property
    def numbered(self) -> tuple[str, tuple[str, ...]]:
        """The SQL with $1, $2, ... in place of the names (as asyncpg sends it: a name used
        twice is one parameter), and the names in the order of their numbers."""
        names: list[str] = []

        def number(found: re.Match[str]) -> str:
            name = found.group(1)
            if name is None:  # %% is a literal %
                return "%"
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        return _PLACEHOLDER.sub(number, self.sql), tuple(names)


class Statements:
    def __init__(self, engine: Engine, limits: SessionLimits) -> None:
        self._engine = engine
        self._limits = limits

    def one(self, statement: Statement[T], params: Mapping[str, Any]) -> T | None:
        """The statement's first row as its value, or None when it returns none."""
        for attempt in (1, 2):
            if deadlines.remaining() == 0:
                raise DatabaseTimeout()
            with checking_out():
                pooled = self._engine.raw_connection()
            driver: Any = pooled.driver_connection  # psycopg2's connection
            try:
                # The budget is what is left once a connection is ours: waiting for one
                # (up to the pool timeout) must not let a lock wait outlast the call.
                sql = self._within_deadline(statement.sql)
                driver.autocommit = True
                try:
                    with driver.cursor() as cursor:
                        cursor.execute(sql, params)
                        found = cursor.fetchone()
                finally:
                    if not driver.closed:  # never back to the pool in autocommit mode
                        driver.autocommit = False
                return statement.row(found) if found is not None else None
            except psycopg2.Error as error:
                dead = bool(driver.closed)
                if dead:
                    pooled.invalidate()
                    if attempt == 1:  # a pooled connection died since its last use
                        continue
                raise _storage_error(error) from None
            finally:
                pooled.close()  # back to the pool (or gone, when invalidated)
        raise DatabaseUnavailable()

    def _within_deadline(self, sql: str) -> str:
        """`sql`, behind SET LOCAL timeouts when the call's deadline is nearer than the
        connection's statement timeout."""
        timeouts = self._limits.within_deadline()
        if timeouts is None:
            return sql
        return f"SET LOCAL statement_timeout = {timeouts[0]}; SET LOCAL lock_timeout = {timeouts[1]}; {sql}"


def _storage_error(error: psycopg2.Error) -> BaseException:
    if error.pgcode == errorcodes.UNIQUE_VIOLATION:
        return UniqueViolation(getattr(error.diag, "constraint_name", None) or "unknown")
    translated = translate(error)
    return translated if translated is not None else error

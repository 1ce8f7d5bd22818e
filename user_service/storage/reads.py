"""Single-statement reads outside any transaction: the hot reads (checking a token's
session, GetMe, GetUser, GetBalance), each one round trip to PostgreSQL.

A unit of work costs a transaction (BEGIN and ROLLBACK, two more round trips) and the
ORM's bookkeeping; a read that is one indexed SELECT needs neither, since one statement
sees one snapshot. Here it runs on a pooled connection's own cursor in autocommit mode.
Errors leave as storage's domain errors, a pooled connection found dead is replaced once,
and a call past its deadline does not start; the statement runs under the connection's
statement_timeout (reads are single indexed lookups).

Each query is a ReadQuery defined beside its repository, which runs the same SQL inside
transactions when it needs a lock or a consistent view with writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg2
from sqlalchemy import Engine

from user_service import deadlines
from user_service.storage.driver_errors import checking_out, translate
from user_service.storage.errors import DatabaseTimeout, DatabaseUnavailable

T = TypeVar("T")


@dataclass(frozen=True)
class ReadQuery(Generic[T]):
    """SQL with %(name)s parameters, and what one of its rows becomes."""

    sql: str
    row: Callable[[tuple[Any, ...]], T]


class Reads:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def one(self, query: ReadQuery[T], params: Mapping[str, Any]) -> T | None:
        """The query's first row as its value, or None."""
        if deadlines.remaining() == 0:
            raise DatabaseTimeout()
        for attempt in (1, 2):
            pooled = self._checkout()
            driver = pooled.driver_connection
            try:
                driver.autocommit = True
                try:
                    with driver.cursor() as cursor:
                        cursor.execute(query.sql, params)
                        found = cursor.fetchone()
                finally:
                    if not driver.closed:  # never back to the pool in autocommit mode
                        driver.autocommit = False
                return query.row(found) if found is not None else None
            except psycopg2.Error as error:
                dead = bool(driver.closed)
                if dead:
                    pooled.invalidate()
                    if attempt == 1:  # a pooled connection died since its last use
                        continue
                translated = translate(error)
                if translated is None:
                    raise
                raise translated from None
            finally:
                pooled.close()  # back to the pool (or gone, when invalidated)
        raise DatabaseUnavailable()

    def _checkout(self) -> Any:
        with checking_out():
            return self._engine.raw_connection()

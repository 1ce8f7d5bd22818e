"""What the event loop's asyncpg connections send, for tests that count round trips."""

from __future__ import annotations

from typing import Any, ClassVar

import asyncpg


class LoopQueries:
    """Each statement an event-loop connection sends (asyncpg's query log: one per round
    trip; a transaction's BEGIN and COMMIT are statements of their own), its arguments, and
    the error it met (None when it ended well). A statement whose connection died under it
    is not logged: asyncpg drops a connection's loggers as the connection goes."""

    sent: ClassVar[list[str]] = []
    arguments: ClassVar[list[tuple[Any, ...]]] = []
    errors: ClassVar[list[BaseException | None]] = []

    @classmethod
    def watch(cls, connection: asyncpg.Connection) -> None:
        def log(logged: Any) -> None:
            cls.sent.append(" ".join(logged.query.split()))
            cls.arguments.append(tuple(logged.args))
            cls.errors.append(logged.exception)

        connection.add_query_logger(log)

    @classmethod
    def clear(cls) -> None:
        cls.sent.clear()
        cls.arguments.clear()
        cls.errors.clear()

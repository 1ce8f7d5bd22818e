"""What storage tells its callers, without SQLAlchemy or psycopg2 types.

UniqueViolation stays inside storage and the handlers that expect it (a taken email);
the others are domain errors, so that they reach the caller with the right status:

    DatabaseUnavailable  UNAVAILABLE         connection refused or lost
    DatabaseBusy         UNAVAILABLE         no pooled connection free in time (RetryInfo)
    DatabaseTimeout      DEADLINE_EXCEEDED   statement timeout or the call's deadline
    TransactionConflict  ABORTED             serialization failure, deadlock, lock timeout
    ValueOutOfRange      INVALID_ARGUMENT    a number beyond its column (bigint overflow)
"""

from __future__ import annotations

from user_service.domain.errors import (
    Aborted,
    DeadlineExceeded,
    FieldViolation,
    InvalidArgument,
    Unavailable,
)

BUSY_RETRY_AFTER_SECONDS = 1.0


class UniqueViolation(Exception):
    """A row would duplicate another's unique key; `constraint` names which."""

    def __init__(self, constraint: str) -> None:
        super().__init__(f"unique constraint {constraint} violated")
        self.constraint = constraint


class DatabaseUnavailable(Unavailable):
    """`stale`: a pooled connection turned out dead before the transaction reached COMMIT,
    so running the whole transaction again on a fresh connection is safe."""

    def __init__(self, *, stale: bool = False) -> None:
        super().__init__("DATABASE_UNAVAILABLE", "the database is unavailable; retry later")
        self.stale = stale


class DatabaseBusy(Unavailable):
    def __init__(self) -> None:
        super().__init__(
            "DATABASE_BUSY",
            "every database connection is busy; retry later",
            retry_after_seconds=BUSY_RETRY_AFTER_SECONDS,
        )


class DatabaseTimeout(DeadlineExceeded):
    def __init__(self) -> None:
        super().__init__("DATABASE_TIMEOUT", "the database did not answer in time")


class TransactionConflict(Aborted):
    """The transaction collided with another and was rolled back; running it again may succeed."""

    def __init__(self, cause: str) -> None:
        super().__init__("TRANSACTION_CONFLICT", f"the change collided with another ({cause}); retry")
        self.cause = cause


class ValueOutOfRange(InvalidArgument):
    def __init__(self, field: str = "amount") -> None:
        super().__init__(
            FieldViolation(field, "the result would be too large to store", "VALUE_OUT_OF_RANGE")
        )

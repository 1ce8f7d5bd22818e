"""The timeouts every database connection starts with, and the shorter ones a call's
gRPC deadline gives the statements run for it."""

from __future__ import annotations

from dataclasses import dataclass

from user_service import deadlines
from user_service.config import Settings
from user_service.storage.errors import DatabaseTimeout


@dataclass(frozen=True)
class SessionLimits:
    """Timeouts every connection starts with, in milliseconds (0: none)."""

    statement_timeout_ms: int = 5000
    lock_timeout_ms: int = 2000
    idle_in_transaction_timeout_ms: int = 10000

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionLimits:
        return cls(
            statement_timeout_ms=int(settings.database_statement_timeout_seconds * 1000),
            lock_timeout_ms=int(settings.database_lock_timeout_seconds * 1000),
            idle_in_transaction_timeout_ms=int(settings.database_idle_in_transaction_timeout_seconds * 1000),
        )

    def server_settings(self) -> dict[str, str]:
        """As PostgreSQL settings (libpq's `options`, asyncpg's `server_settings`)."""
        return {
            "statement_timeout": str(self.statement_timeout_ms),
            "lock_timeout": str(self.lock_timeout_ms),
            "idle_in_transaction_session_timeout": str(self.idle_in_transaction_timeout_ms),
        }

    def options(self) -> str:
        return " ".join(f"-c {name}={value}" for name, value in self.server_settings().items())

    def within_deadline(self) -> tuple[int, int] | None:
        """The (statement, lock) timeouts in ms for the current call, when its deadline is
        nearer than the connection's statement timeout; None when the connection's own
        timeouts end first. DatabaseTimeout once the deadline has passed."""
        left = deadlines.remaining()
        if left is None or (self.statement_timeout_ms and left * 1000 >= self.statement_timeout_ms):
            return None
        if left == 0:
            raise DatabaseTimeout()
        budget_ms = max(int(left * 1000), 1)
        return budget_ms, min(budget_ms, self.lock_timeout_ms or budget_ms)

"""The money check after a run on the hot account: its balance moved by exactly the sum of
the deposits that succeeded, and it gained exactly one ledger row for each.

A failed call whose outcome the caller cannot know (DEADLINE_EXCEEDED, UNAVAILABLE,
CANCELLED, UNKNOWN, INTERNAL) may have committed; the check then allows at most those
calls' amounts and rows more, and says so. Any other failure must have moved nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, text

UNKNOWN_OUTCOME = frozenset({"DEADLINE_EXCEEDED", "UNAVAILABLE", "CANCELLED", "UNKNOWN", "INTERNAL"})


@dataclass(frozen=True)
class Books:
    available: int
    ledger_rows: int


def read_books(owner_url: str, user_id: str) -> Books:
    engine = create_engine(owner_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT a.available,"
                    " (SELECT count(*) FROM ledger_transactions l WHERE l.account_id = a.id)"
                    " FROM accounts a WHERE a.user_id = CAST(:id AS uuid)"
                ),
                {"id": user_id},
            ).one()
    finally:
        engine.dispose()
    return Books(int(row[0]), int(row[1]))


@dataclass(frozen=True)
class HotCheck:
    before: Books
    after: Books
    ok_amount: int
    ok_calls: int
    failed_amount: dict[str, int]
    failed_calls: dict[str, int]

    @property
    def unknown_amount(self) -> int:
        return sum(amount for code, amount in self.failed_amount.items() if code in UNKNOWN_OUTCOME)

    @property
    def unknown_calls(self) -> int:
        return sum(calls for code, calls in self.failed_calls.items() if code in UNKNOWN_OUTCOME)

    def problem(self) -> str | None:
        """What is wrong with the books, or None when they add up."""
        moved = self.after.available - self.before.available
        rows = self.after.ledger_rows - self.before.ledger_rows
        if self.ok_amount <= moved <= self.ok_amount + self.unknown_amount and (
            self.ok_calls <= rows <= self.ok_calls + self.unknown_calls
        ):
            return None
        return (
            f"the hot account moved by {moved} in {rows} ledger rows, but {self.ok_calls} deposits"
            f" of {self.ok_amount} in all succeeded"
            + (
                f" ({self.unknown_calls} more, of {self.unknown_amount}, ended with an unknown outcome)"
                if self.unknown_calls
                else ""
            )
        )

    def describe(self) -> str:
        problem = self.problem()
        if problem:
            return f"MISMATCH: {problem}"
        moved = self.after.available - self.before.available
        unknown = (
            f" ({self.unknown_calls} calls of unknown outcome allowed for)" if self.unknown_calls else ""
        )
        return f"ok: moved {moved}, the sum of {self.ok_calls} successful deposits{unknown}"

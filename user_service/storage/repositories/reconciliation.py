"""The figures reconciliation compares, read in whole-table statements (each one a single
snapshot, so no figure comes from before a change and another from after it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import BigInteger, Integer, Text, Uuid, text
from sqlalchemy.orm import Session

# Every account, with what its ledger and its active holds say. Sums are numeric, so that
# even a corrupted balance cannot overflow the check. Only disagreeing accounts come back.
_ACCOUNTS = text(
    """
    WITH ledger AS (
        SELECT account_id, sum(amount) AS total, max(id) AS newest
        FROM ledger_transactions GROUP BY account_id
    ), active AS (
        SELECT account_id, sum(amount) AS total FROM holds WHERE status = 'active' GROUP BY account_id
    )
    SELECT a.id AS account_id, a.available, a.held,
           coalesce(ledger.total, 0)::text AS ledger_total,
           coalesce(active.total, 0)::text AS active_holds,
           newest.balance_after AS newest_balance_after
    FROM accounts a
    LEFT JOIN ledger ON ledger.account_id = a.id
    LEFT JOIN active ON active.account_id = a.id
    LEFT JOIN ledger_transactions newest ON newest.id = ledger.newest
    WHERE a.available < 0 OR a.held < 0
       OR a.available::numeric + a.held <> coalesce(ledger.total, 0)
       OR a.held <> coalesce(active.total, 0)
       OR newest.balance_after::numeric <> a.available::numeric + a.held
    ORDER BY a.id
    """
).columns(
    account_id=Uuid,
    available=BigInteger,
    held=BigInteger,
    ledger_total=Text,
    active_holds=Text,
    newest_balance_after=BigInteger,
)

# Every hold with its capture rows: a captured hold has exactly one, of -captured_amount,
# on its own account; any other hold has none. Only disagreeing holds come back.
_HOLDS = text(
    """
    SELECT h.id AS hold_id, h.account_id, h.status, h.captured_amount,
           count(l.id) AS capture_rows,
           coalesce(sum(l.amount), 0)::text AS captured_total,
           coalesce(bool_or(l.account_id <> h.account_id), false) AS elsewhere
    FROM holds h
    LEFT JOIN ledger_transactions l ON l.hold_id = h.id
    GROUP BY h.id
    HAVING (h.status = 'captured'
            AND (count(l.id) <> 1 OR coalesce(sum(l.amount), 0) <> -h.captured_amount
                 OR coalesce(bool_or(l.account_id <> h.account_id), false)))
        OR (h.status <> 'captured' AND count(l.id) > 0)
    ORDER BY h.id
    """
).columns(
    hold_id=Uuid,
    account_id=Uuid,
    status=Text,
    captured_amount=BigInteger,
    capture_rows=Integer,
    captured_total=Text,
)


@dataclass(frozen=True)
class AccountFigures:
    account_id: uuid.UUID
    available: int
    held: int
    ledger_total: int
    active_holds: int
    newest_balance_after: int | None


@dataclass(frozen=True)
class HoldFigures:
    hold_id: uuid.UUID
    account_id: uuid.UUID
    status: str
    captured_amount: int
    capture_rows: int
    captured_total: int
    elsewhere: bool


class ReconciliationRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def counts(self) -> tuple[int, int]:
        """How many accounts and holds there are."""
        row = self._session.execute(
            text("SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM holds) AS holds")
        ).one()
        return int(row.accounts), int(row.holds)

    def accounts_that_disagree(self) -> list[AccountFigures]:
        return [
            AccountFigures(
                row.account_id,
                row.available,
                row.held,
                int(row.ledger_total),
                int(row.active_holds),
                row.newest_balance_after,
            )
            for row in self._session.execute(_ACCOUNTS)
        ]

    def holds_that_disagree(self) -> list[HoldFigures]:
        return [
            HoldFigures(
                row.hold_id,
                row.account_id,
                row.status,
                row.captured_amount,
                row.capture_rows,
                int(row.captured_total),
                bool(row.elsewhere),
            )
            for row in self._session.execute(_HOLDS)
        ]

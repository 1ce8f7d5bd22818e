"""Holds: money moved from available to held for an order, and settled once (captured,
released, or expired) with its balance change, its ledger row (a capture) and its audit
row in one statement.

Lock order: the account (AccountRepository.lock_holder), then the hold (`lock`).
`settle` changes only a hold that is still active: what makes the sweeper and a caller
racing for the same hold settle it exactly once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import Interval, func, insert, literal, select, update
from sqlalchemy.orm import Session

from user_service.domain.audit import AuditEvent
from user_service.domain.money import Account, Balance, Held, Hold, HoldStatus, Transaction
from user_service.storage.repositories import money_rows
from user_service.storage.repositories.audit import audit_insert
from user_service.storage.repositories.hold_settlement import balance, balance_columns, settle_statement
from user_service.storage.repositories.money_rows import (
    ACCOUNTS,
    HOLDS,
    LockedAccount,
    Recorded,
    Request,
    duplicates_refused,
)


@dataclass(frozen=True)
class LockedHold:
    hold: Hold
    # Past its expire_time by the database's clock, whatever its status says.
    expired: bool


@dataclass(frozen=True)
class Settled:
    hold: Hold
    balance: Balance
    transaction: Transaction | None  # a capture's ledger row


class HoldRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def reserve(
        self,
        account: Account,
        amount: int,
        request: Request,
        *,
        reference: str,
        ttl: timedelta,
        audit: AuditEvent,
    ) -> Held | None:
        """Move `amount` from available to held under a new hold, in one statement. None
        when nothing was written: an unknown user, a closed account (a deleted user's), or
        available < amount."""
        changed = (
            update(ACCOUNTS)
            .where(
                ACCOUNTS.c.user_id == account.user_id,
                ACCOUNTS.c.currency == account.currency,
                ACCOUNTS.c.available >= amount,
                ACCOUNTS.c.close_time.is_(None),
            )
            .values(
                available=ACCOUNTS.c.available - amount, held=ACCOUNTS.c.held + amount, update_time=func.now()
            )
            .returning(*ACCOUNTS.c)
            .cte("changed")
        )
        made = (
            insert(HOLDS)
            .from_select(
                ["account_id", "request_id", "request_fingerprint", "amount", "reference", "expire_time"],
                select(
                    changed.c.id,
                    literal(request.id),
                    literal(request.fingerprint),
                    literal(amount),
                    literal(reference),
                    func.clock_timestamp() + literal(ttl, Interval),  # from when the lock was had
                ),
                include_defaults=False,
            )
            .returning(*HOLDS.c)
            .cte("made")
        )
        statement = (
            select(*made.c, *balance_columns(changed))
            .select_from(made.join(changed, changed.c.id == made.c.account_id))
            .add_cte(audit_insert(audit, made, hold_id=made.c.id).cte("audited"))
        )
        with duplicates_refused():
            row = self._session.connection().execute(statement).one_or_none()
        if row is None:
            return None
        return Held(money_rows.hold(row, account.user_id, account.currency), balance(row, account))

    def find(self, account: Account, request_id: str) -> Recorded[Hold] | None:
        """The hold an earlier ReserveFunds with this request_id made on this account."""
        row = (
            self._session.connection()
            .execute(
                select(HOLDS)
                .join(ACCOUNTS, ACCOUNTS.c.id == HOLDS.c.account_id)
                .where(
                    ACCOUNTS.c.user_id == account.user_id,
                    ACCOUNTS.c.currency == account.currency,
                    HOLDS.c.request_id == request_id,
                )
            )
            .one_or_none()
        )
        return (
            None if row is None else Recorded(row.request_fingerprint, money_rows.hold(row, *_owner(account)))
        )

    def lock(self, hold_id: uuid.UUID, holder: LockedAccount) -> LockedHold:
        """Lock a hold whose account this transaction has locked already."""
        row = (
            self._session.connection()
            .execute(
                # The clock now, with the locks held: now() is when the transaction
                # began, maybe before a wait on the account's lock that outlasted the hold.
                select(*HOLDS.c, (HOLDS.c.expire_time <= func.clock_timestamp()).label("expired"))
                .where(HOLDS.c.id == hold_id)
                .with_for_update()
            )
            .one()
        )
        return LockedHold(money_rows.hold(row, holder.user_id, holder.currency), row.expired)

    def settle(
        self,
        holder: LockedAccount,
        hold: Hold,
        status: HoldStatus,
        audit: AuditEvent,
        capture: tuple[int, Request] | None = None,
    ) -> Settled | None:
        """End an active hold: `capture` (amount, request) posts that much as one ledger row
        and returns the rest to available; otherwise all of it returns. None when the hold
        was no longer active."""
        captured = capture[0] if capture else 0
        statement = settle_statement(hold, status, audit, capture)
        with duplicates_refused():
            row = self._session.connection().execute(statement).one_or_none()
        if row is None:
            return None
        after = replace(hold, status=status, captured_amount=captured, update_time=row.hold_time)
        owner = Account(holder.user_id, holder.currency)
        posted = money_rows.transaction(row, *_owner(owner), None) if capture is not None else None
        return Settled(after, balance(row, owner), posted)

    def expired(self, limit: int) -> list[uuid.UUID]:
        """Active holds past their expire_time, oldest first (read without locks)."""
        statement = (
            select(HOLDS.c.id)
            .where(HOLDS.c.status == HoldStatus.ACTIVE.value, HOLDS.c.expire_time <= func.now())
            .order_by(HOLDS.c.expire_time)
            .limit(limit)
        )
        return list(self._session.connection().execute(statement).scalars())


def _owner(account: Account) -> tuple[uuid.UUID, str]:
    return account.user_id, account.currency

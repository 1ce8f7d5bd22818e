"""The money tables as SQLAlchemy Core sees them, and their rows turned into domain values.

The Balance paths use Core statements on these tables (no ORM objects, no identity map):
each call is a few statements, and the hot ones a single one.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from psycopg2 import errorcodes
from sqlalchemy.exc import IntegrityError

from user_service.domain.money import Account, Balance, Hold, HoldStatus, Transaction, TransactionType
from user_service.storage.errors import UniqueViolation
from user_service.storage.models import Base

T = TypeVar("T")

ACCOUNTS = Base.metadata.tables["accounts"]
LEDGER = Base.metadata.tables["ledger_transactions"]
HOLDS = Base.metadata.tables["holds"]
AUDIT_EVENTS = Base.metadata.tables["audit_events"]
# An account row's id and what `balance` reads of it.
BALANCE_COLUMNS = (
    ACCOUNTS.c.id,
    ACCOUNTS.c.user_id,
    ACCOUNTS.c.currency,
    ACCOUNTS.c.available,
    ACCOUNTS.c.held,
    ACCOUNTS.c.update_time,
)

# The unique indexes that make a request_id name one call per account.
LEDGER_REQUEST_INDEX = "uq_ledger_transactions_account_id_request_id"
HOLD_REQUEST_INDEX = "uq_holds_account_id_request_id"
REQUEST_INDEXES = (LEDGER_REQUEST_INDEX, HOLD_REQUEST_INDEX)


class DuplicateRequest(UniqueViolation):
    """Another call with this request_id committed first: roll back and read what it wrote."""


@dataclass(frozen=True)
class Request:
    """A money call's idempotency key and the fingerprint of its arguments."""

    id: str
    fingerprint: str


@dataclass(frozen=True)
class LockedAccount:
    """An account row this transaction holds the lock of; `live`: its user is not deleted."""

    id: uuid.UUID
    user_id: uuid.UUID
    currency: str
    available: int
    held: int
    update_time: datetime
    live: bool

    @property
    def account(self) -> Account:
        return Account(self.user_id, self.currency)

    @property
    def balance(self) -> Balance:
        return Balance(self.user_id, self.currency, self.available, self.held, self.update_time)


@dataclass(frozen=True)
class Recorded(Generic[T]):
    """What an earlier call with a request_id wrote, and that call's fingerprint."""

    fingerprint: str
    value: T


@contextlib.contextmanager
def duplicates_refused() -> Iterator[None]:
    """An IntegrityError from a request_id index becomes DuplicateRequest; others stay."""
    try:
        yield
    except IntegrityError as error:
        duplicate = duplicate_request(error)
        if duplicate is None:
            raise
        raise duplicate from None


def duplicate_request(error: IntegrityError) -> DuplicateRequest | None:
    """The IntegrityError as a DuplicateRequest, when a request_id index refused the row."""
    if getattr(error.orig, "pgcode", None) != errorcodes.UNIQUE_VIOLATION:
        return None
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    if constraint not in REQUEST_INDEXES:
        return None
    return DuplicateRequest(constraint)


def balance(row: Any) -> Balance:
    return Balance(row.user_id, row.currency, row.available, row.held, row.update_time)


def transaction(row: Any, user_id: uuid.UUID, currency: str, counterparty: uuid.UUID | None) -> Transaction:
    return Transaction(
        id=row.id,
        user_id=user_id,
        type=TransactionType(row.type),
        amount=row.amount,
        balance_after=row.balance_after,
        currency=currency,
        request_id=row.request_id,
        description=row.description,
        counterparty_user_id=counterparty,
        hold_id=row.hold_id,
        create_time=row.create_time,
        transfer_id=row.transfer_id,
    )


def hold(row: Any, user_id: uuid.UUID, currency: str) -> Hold:
    return Hold(
        id=row.id,
        user_id=user_id,
        currency=currency,
        amount=row.amount,
        captured_amount=row.captured_amount,
        status=HoldStatus(row.status),
        reference=row.reference,
        expire_time=row.expire_time,
        create_time=row.create_time,
        update_time=row.update_time,
    )

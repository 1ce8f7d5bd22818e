"""Money values: an account, its balance, ledger transactions, holds, and what the
Balance handlers return. Plain and immutable, free of storage and gRPC.

An account is (user, currency): every call that touches a balance names one, so that a
second currency needs no change in the ledger code (USD is the only one served today).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class Account:
    user_id: uuid.UUID
    currency: str = DEFAULT_CURRENCY


class TransactionType(StrEnum):
    """Stored by value; the sign of a ledger amount follows the type."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    HOLD_CAPTURE = "hold_capture"


class HoldStatus(StrEnum):
    ACTIVE = "active"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Balance:
    user_id: uuid.UUID
    currency: str
    available: int
    held: int
    update_time: datetime


@dataclass(frozen=True)
class Transaction:
    """One ledger row. `id` rises in the order an account's rows commit."""

    id: int
    user_id: uuid.UUID
    type: TransactionType
    amount: int
    balance_after: int
    currency: str
    request_id: str
    description: str
    counterparty_user_id: uuid.UUID | None
    hold_id: uuid.UUID | None
    create_time: datetime
    # Shared by the two legs of a transfer.
    transfer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Hold:
    id: uuid.UUID
    user_id: uuid.UUID
    currency: str
    amount: int
    captured_amount: int
    status: HoldStatus
    reference: str
    expire_time: datetime
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class Posted:
    """A deposit, withdrawal or capture: the ledger row and the balance after it (on a
    retry, the first call's row and the balance as it is now)."""

    transaction: Transaction
    balance: Balance


@dataclass(frozen=True)
class Transferred:
    from_transaction: Transaction
    to_transaction: Transaction
    from_balance: Balance


@dataclass(frozen=True)
class Held:
    """A hold and its account's balance (both as they are now on a retry)."""

    hold: Hold
    balance: Balance


@dataclass(frozen=True)
class Captured:
    transaction: Transaction
    balance: Balance
    hold: Hold


@dataclass(frozen=True)
class TransactionPage:
    transactions: tuple[Transaction, ...]
    next_page_token: str

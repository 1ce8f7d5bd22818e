"""Money: accounts, the append-only ledger, holds.

An account's available + held always equals the sum of its ledger amounts; held equals
what its active holds still reserve. CHECK constraints keep both balances non-negative
and every ledger row well formed; a trigger refuses UPDATE and DELETE on the ledger.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from user_service.storage.models.base import Base, created, one_of, sql_list, updated, uuid_pk

CREDIT_TYPES = ("deposit", "transfer_in")
DEBIT_TYPES = ("withdrawal", "transfer_out", "hold_capture")
TRANSFER_TYPES = ("transfer_in", "transfer_out")
TRANSACTION_TYPES = ("deposit", "withdrawal", "transfer_in", "transfer_out", "hold_capture")
HOLD_STATUSES = ("active", "captured", "released", "expired")
MAX_DESCRIPTION_LENGTH = 200


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("user_id", "currency"),
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("held >= 0", name="held_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso_4217"),
        CheckConstraint("close_time IS NULL OR (available = 0 AND held = 0)", name="closed_at_zero"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    currency: Mapped[str] = mapped_column(Text, server_default="USD")
    available: Mapped[int] = mapped_column(BigInteger, server_default="0")
    held: Mapped[int] = mapped_column(BigInteger, server_default="0")
    create_time: Mapped[datetime] = created()
    update_time: Mapped[datetime] = updated()
    # Set when the user is deleted: no money moves on a closed account.
    close_time: Mapped[datetime | None]


class LedgerTransactionRow(Base):
    """One change of one account. request_id is unique per account among the rows its own
    calls wrote (a transfer's credit carries the payer's request_id, so it is left out).

    `id` numbers an account's rows in commit order: a row is inserted while its
    transaction holds the account's row lock, so a later row of the same account cannot
    commit before it. Listing pages by id therefore never skips a late commit."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (
        CheckConstraint(one_of("type", TRANSACTION_TYPES), name="known_type"),
        CheckConstraint(
            f"(type IN ({sql_list(CREDIT_TYPES)}) AND amount > 0)"
            f" OR (type IN ({sql_list(DEBIT_TYPES)}) AND amount < 0)",
            name="amount_signed_by_type",
        ),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        CheckConstraint("length(request_id) BETWEEN 1 AND 64", name="request_id_length"),
        CheckConstraint(f"length(description) <= {MAX_DESCRIPTION_LENGTH}", name="description_length"),
        CheckConstraint(
            f"(type IN ({sql_list(TRANSFER_TYPES)})) = (counterparty_account_id IS NOT NULL)"
            f" AND (type IN ({sql_list(TRANSFER_TYPES)})) = (transfer_id IS NOT NULL)",
            name="transfers_name_both_sides",
        ),
        CheckConstraint("(type = 'hold_capture') = (hold_id IS NOT NULL)", name="captures_name_their_hold"),
        Index(
            "uq_ledger_transactions_account_id_request_id",
            "account_id",
            "request_id",
            unique=True,
            postgresql_where=text("type <> 'transfer_in'"),
        ),
        Index(None, "account_id", "id"),
        # A hold is captured once.
        Index(
            "uq_ledger_transactions_hold_id",
            "hold_id",
            unique=True,
            postgresql_where=text("type = 'hold_capture'"),
        ),
        # A transfer has one leg of each kind, found together by a retried Transfer.
        Index(
            "uq_ledger_transactions_transfer_id_type",
            "transfer_id",
            "type",
            unique=True,
            postgresql_where=text("transfer_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    type: Mapped[str] = mapped_column(Text)
    # Signed: credits positive, debits negative.
    amount: Mapped[int] = mapped_column(BigInteger)
    # The account's available + held right after this row.
    balance_after: Mapped[int] = mapped_column(BigInteger)
    request_id: Mapped[str] = mapped_column(Text)
    # SHA-256 of the call's arguments: the same request_id with other arguments is refused.
    request_fingerprint: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    counterparty_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    hold_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("holds.id"))
    create_time: Mapped[datetime] = created()
    # The two legs of one transfer share it.
    transfer_id: Mapped[uuid.UUID | None]


class HoldRow(Base):
    __tablename__ = "holds"
    __table_args__ = (
        UniqueConstraint("account_id", "request_id"),
        CheckConstraint(one_of("status", HOLD_STATUSES), name="known_status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("captured_amount BETWEEN 0 AND amount", name="captured_within_amount"),
        CheckConstraint("status = 'captured' OR captured_amount = 0", name="only_captured_holds_capture"),
        CheckConstraint("length(request_id) BETWEEN 1 AND 64", name="request_id_length"),
        CheckConstraint("expire_time > create_time", name="expire_after_create"),
        CheckConstraint(f"length(reference) <= {MAX_DESCRIPTION_LENGTH}", name="reference_length"),
        Index(None, "expire_time", postgresql_where=text("status = 'active'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    request_id: Mapped[str] = mapped_column(Text)
    request_fingerprint: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    captured_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    status: Mapped[str] = mapped_column(Text, server_default="active")
    reference: Mapped[str] = mapped_column(Text, server_default="")
    expire_time: Mapped[datetime]
    create_time: Mapped[datetime] = created()
    update_time: Mapped[datetime] = updated()

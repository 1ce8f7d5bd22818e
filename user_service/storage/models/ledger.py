"""Money: accounts, the append-only ledger, holds.

An account's available + held always equals the sum of its ledger amounts; held equals
what its active holds still reserve. CHECK constraints keep both balances non-negative,
and triggers (see the initial migration) refuse UPDATE and DELETE on the ledger.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from user_service.storage.models.base import Base, created, one_of, updated, uuid_pk

TRANSACTION_TYPES = ("deposit", "withdrawal", "transfer_in", "transfer_out", "hold_capture")
HOLD_STATUSES = ("active", "captured", "released", "expired")


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("user_id", "currency"),
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("held >= 0", name="held_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso_4217"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    currency: Mapped[str] = mapped_column(Text, server_default="USD")
    available: Mapped[int] = mapped_column(BigInteger, server_default="0")
    held: Mapped[int] = mapped_column(BigInteger, server_default="0")
    create_time: Mapped[datetime] = created()
    update_time: Mapped[datetime] = updated()


class LedgerTransactionRow(Base):
    """One change of one account. request_id is unique per account among the rows its own
    calls wrote (a transfer's credit carries the payer's request_id, so it is left out)."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (
        CheckConstraint(one_of("type", TRANSACTION_TYPES), name="known_type"),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        CheckConstraint("length(request_id) BETWEEN 1 AND 64", name="request_id_length"),
        Index(
            "uq_ledger_transactions_account_id_request_id",
            "account_id",
            "request_id",
            unique=True,
            postgresql_where=text("type <> 'transfer_in'"),
        ),
        Index(None, "account_id", "create_time", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
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


class HoldRow(Base):
    __tablename__ = "holds"
    __table_args__ = (
        UniqueConstraint("account_id", "request_id"),
        CheckConstraint(one_of("status", HOLD_STATUSES), name="known_status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("captured_amount BETWEEN 0 AND amount", name="captured_within_amount"),
        CheckConstraint("status = 'captured' OR captured_amount = 0", name="only_captured_holds_capture"),
        CheckConstraint("length(request_id) BETWEEN 1 AND 64", name="request_id_length"),
        Index(None, "expire_time", postgresql_where=text("status = 'active'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    request_id: Mapped[str] = mapped_column(Text)
    request_fingerprint: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    captured_amount: Mapped[int] = mapped_column(BigInteger, server_default="0")
    status: Mapped[str] = mapped_column(Text, server_default="active")
    reference: Mapped[str] = mapped_column(Text, server_default="")
    expire_time: Mapped[datetime]
    create_time: Mapped[datetime] = created()
    update_time: Mapped[datetime] = updated()

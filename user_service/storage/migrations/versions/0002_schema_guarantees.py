"""Schema guarantees: constraints the data must keep whatever the code does.

- users: an active user has an email and a password hash, at least one role, bounded
  email and name; indexes for listing users by creation order and by role.
- ledger: ids become a bigint identity (rows of one account are numbered in the order
  their transactions commit, since each holds the account's row lock), the two legs of a
  transfer share a transfer_id, amounts are signed by type, transfer legs name their
  counterparty, captures name their hold (once per hold), descriptions are bounded.
- holds: expire after they are created, bounded reference; the index on account_id alone
  goes (the unique (account_id, request_id) index serves it).
- email_outbox: no recipient, subject or body any more. A row says which email a user is
  owed; the dispatcher reads the address from the user and makes the link's token when it
  sends, so that no live token and no address sits in the outbox, and a deleted user's
  pending emails have nowhere to go.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREDIT_TYPES = "('deposit', 'transfer_in')"
DEBIT_TYPES = "('withdrawal', 'transfer_out', 'hold_capture')"
TRANSFER_TYPES = "('transfer_in', 'transfer_out')"


def upgrade() -> None:
    op.create_check_constraint(
        op.f("ck_users_active_users_have_credentials"),
        "users",
        "delete_time IS NOT NULL OR (email IS NOT NULL AND password_hash IS NOT NULL)",
    )
    op.create_check_constraint(op.f("ck_users_has_a_role"), "users", "cardinality(roles) > 0")
    op.create_check_constraint(op.f("ck_users_email_length"), "users", "length(email) <= 254")
    op.create_check_constraint(op.f("ck_users_full_name_length"), "users", "length(full_name) <= 200")
    op.create_index("ix_users_create_time_id", "users", ["create_time", "id"])
    op.create_index("ix_users_roles", "users", ["roles"], postgresql_using="gin")

    op.drop_index("ix_ledger_transactions_account_id_create_time_id", table_name="ledger_transactions")
    op.drop_constraint(op.f("pk_ledger_transactions"), "ledger_transactions", type_="primary")
    op.drop_column("ledger_transactions", "id")
    op.add_column(
        "ledger_transactions", sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False)
    )
    op.create_primary_key(op.f("pk_ledger_transactions"), "ledger_transactions", ["id"])
    op.create_index("ix_ledger_transactions_account_id_id", "ledger_transactions", ["account_id", "id"])
    op.add_column("ledger_transactions", sa.Column("transfer_id", sa.Uuid(), nullable=True))
    op.drop_constraint(op.f("ck_ledger_transactions_amount_not_zero"), "ledger_transactions", type_="check")
    op.create_check_constraint(
        op.f("ck_ledger_transactions_amount_signed_by_type"),
        "ledger_transactions",
        f"(type IN {CREDIT_TYPES} AND amount > 0) OR (type IN {DEBIT_TYPES} AND amount < 0)",
    )
    op.create_check_constraint(
        op.f("ck_ledger_transactions_transfers_name_both_sides"),
        "ledger_transactions",
        f"(type IN {TRANSFER_TYPES}) = (counterparty_account_id IS NOT NULL)"
        f" AND (type IN {TRANSFER_TYPES}) = (transfer_id IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_ledger_transactions_captures_name_their_hold"),
        "ledger_transactions",
        "(type = 'hold_capture') = (hold_id IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_ledger_transactions_description_length"), "ledger_transactions", "length(description) <= 200"
    )
    op.create_index(
        "uq_ledger_transactions_hold_id",
        "ledger_transactions",
        ["hold_id"],
        unique=True,
        postgresql_where=sa.text("type = 'hold_capture'"),
    )
    op.create_index(
        "uq_ledger_transactions_transfer_id_type",
        "ledger_transactions",
        ["transfer_id", "type"],
        unique=True,
        postgresql_where=sa.text("transfer_id IS NOT NULL"),
    )

    op.create_check_constraint(op.f("ck_holds_expire_after_create"), "holds", "expire_time > create_time")
    op.create_check_constraint(op.f("ck_holds_reference_length"), "holds", "length(reference) <= 200")
    op.drop_index("ix_holds_account_id", table_name="holds")

    op.drop_column("email_outbox", "recipient")
    op.drop_column("email_outbox", "subject")
    op.drop_column("email_outbox", "body")
    op.add_column("email_outbox", sa.Column("kind", sa.Text(), nullable=False))
    op.create_check_constraint(
        op.f("ck_email_outbox_known_kind"), "email_outbox", "kind IN ('email_verification', 'password_reset')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_email_outbox_known_kind"), "email_outbox", type_="check")
    op.drop_column("email_outbox", "kind")
    op.add_column("email_outbox", sa.Column("body", sa.Text(), nullable=False))
    op.add_column("email_outbox", sa.Column("subject", sa.Text(), nullable=False))
    op.add_column("email_outbox", sa.Column("recipient", sa.Text(), nullable=False))

    op.create_index("ix_holds_account_id", "holds", ["account_id"])
    op.drop_constraint(op.f("ck_holds_reference_length"), "holds", type_="check")
    op.drop_constraint(op.f("ck_holds_expire_after_create"), "holds", type_="check")

    op.drop_index("uq_ledger_transactions_transfer_id_type", table_name="ledger_transactions")
    op.drop_index("uq_ledger_transactions_hold_id", table_name="ledger_transactions")
    for name in (
        "description_length",
        "captures_name_their_hold",
        "transfers_name_both_sides",
        "amount_signed_by_type",
    ):
        op.drop_constraint(op.f(f"ck_ledger_transactions_{name}"), "ledger_transactions", type_="check")
    op.create_check_constraint(
        op.f("ck_ledger_transactions_amount_not_zero"), "ledger_transactions", "amount <> 0"
    )
    op.drop_column("ledger_transactions", "transfer_id")
    op.drop_index("ix_ledger_transactions_account_id_id", table_name="ledger_transactions")
    op.drop_constraint(op.f("pk_ledger_transactions"), "ledger_transactions", type_="primary")
    op.drop_column("ledger_transactions", "id")
    op.add_column(
        "ledger_transactions",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
    )
    op.create_primary_key(op.f("pk_ledger_transactions"), "ledger_transactions", ["id"])
    op.create_index(
        "ix_ledger_transactions_account_id_create_time_id",
        "ledger_transactions",
        ["account_id", "create_time", "id"],
    )

    op.drop_index("ix_users_roles", table_name="users")
    op.drop_index("ix_users_create_time_id", table_name="users")
    for name in ("full_name_length", "email_length", "has_a_role", "active_users_have_credentials"):
        op.drop_constraint(op.f(f"ck_users_{name}"), "users", type_="check")

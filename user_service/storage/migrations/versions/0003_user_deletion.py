"""What deleting a user needs.

- accounts.close_time: set when the account's user is deleted (only at zero: a CHECK).
  Money moves only on open accounts; the balance code checks close_time on the locked
  account row itself, so a deposit racing a deletion sees the row the deletion wrote.
- refuse_change() lets one change through on audit_events: erasing a client address (the
  deleted user's personal data). Every other UPDATE or DELETE stays refused, on both
  append-only tables. The service's role gets UPDATE on that one column (storage/grants.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSE_CHANGE_ALLOWING_ADDRESS_ERASURE = """
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_events' AND to_jsonb(NEW) ->> 'client_address' IS NULL
        AND to_jsonb(NEW) - 'client_address' = to_jsonb(OLD) - 'client_address' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$
"""

REFUSE_CHANGE = """
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$
"""


def upgrade() -> None:
    op.add_column("accounts", sa.Column("close_time", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_accounts_closed_at_zero"),
        "accounts",
        "close_time IS NULL OR (available = 0 AND held = 0)",
    )
    op.execute(REFUSE_CHANGE_ALLOWING_ADDRESS_ERASURE)


def downgrade() -> None:
    op.execute(REFUSE_CHANGE)
    op.drop_constraint(op.f("ck_accounts_closed_at_zero"), "accounts", type_="check")
    op.drop_column("accounts", "close_time")

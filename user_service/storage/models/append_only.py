"""Append-only tables: a trigger refuses UPDATE and DELETE on every row, but one change:
erasing the client address of an audit event (personal data of a deleted user).

Attached to the metadata's create events, so that `Base.metadata.create_all` builds the
same function and triggers the migrations do (a test compares the two catalogs).
TRUNCATE and disabling a trigger need the table's owner, which the service's own role is
not (storage/grants.py).
"""

from __future__ import annotations

from sqlalchemy import DDL, MetaData, event

APPEND_ONLY_TABLES = ("ledger_transactions", "audit_events")

REFUSE_CHANGE = """
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_events' AND to_jsonb(NEW) ->> 'client_address' IS NULL
        AND to_jsonb(NEW) - 'client_address' = to_jsonb(OLD) - 'client_address' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$
"""


def trigger_ddl(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )


def install(metadata: MetaData) -> None:
    event.listen(metadata, "before_create", _ddl(REFUSE_CHANGE))
    for table in APPEND_ONLY_TABLES:
        event.listen(metadata.tables[table], "after_create", _ddl(trigger_ddl(table)))


def _ddl(statement: str) -> DDL:
    """DDL that runs `statement` as written (DDL() would %-format it)."""
    return DDL(statement.replace("%", "%%"))  # type: ignore[no-untyped-call]  # DDL() is unannotated

"""Every committed row change in the tables that hold state, logged by triggers, so that a
test can tell cheaply (one indexed read) whether a call changed anything.

For a database of the test's own only: `install` adds a table and triggers as the owner;
a `Watcher` then tells what changed since it last looked.
The audit trail is left out on purpose: failed attempts are audited by design. A change
rolled back leaves no entry; a change committed leaves one per row, whatever its values.
"""

from __future__ import annotations

import psycopg2
from sqlalchemy import Engine, make_url, text

WATCHED = (
    "users",
    "accounts",
    "ledger_transactions",
    "holds",
    "sessions",
    "refresh_tokens",
    "single_use_tokens",
    "email_outbox",
)

_FUNCTION = """
CREATE FUNCTION test_log_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO test_changes (table_name, operation) VALUES (TG_TABLE_NAME, TG_OP);
    RETURN NULL;
END $$
"""


def install(owner: Engine) -> None:
    with owner.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE test_changes (id bigserial PRIMARY KEY,"
                " table_name text NOT NULL, operation text NOT NULL)"
            )
        )
        connection.execute(text(_FUNCTION))
        for table in WATCHED:
            connection.execute(
                text(
                    f"CREATE TRIGGER {table}_test_log AFTER INSERT OR UPDATE OR DELETE ON {table}"
                    " FOR EACH ROW EXECUTE FUNCTION test_log_change()"
                )
            )


class Watcher:
    """Reads the log on a connection of its own (psycopg2, autocommit: one round trip a read)."""

    def __init__(self, owner_url: str) -> None:
        dsn = make_url(owner_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection = psycopg2.connect(dsn)
        self._connection.autocommit = True
        self._mark = 0
        self.skip()

    def skip(self) -> None:
        """Forget the changes made so far (by the test itself)."""
        with self._connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM test_changes")
            row = cursor.fetchone()
        self._mark = int(row[0]) if row else 0

    def changes(self) -> list[tuple[str, str]]:
        """(table, operation) of each row change committed since the last call (or skip)."""
        with self._connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, table_name, operation FROM test_changes WHERE id > %s ORDER BY id", (self._mark,)
            )
            rows = cursor.fetchall()
        if rows:
            self._mark = int(rows[-1][0])
        return [(str(table), str(operation)) for _, table, operation in rows]

    def close(self) -> None:
        self._connection.close()

"""The SQL transaction a deposit sends, captured from the service's own code, as a pgbench
script.

One deposit is made through the service's BalancesHandler (its statements, unit of work,
repositories and engine settings), on one of pgbench's accounts, with values chosen to be
found again: a user id, an amount and a request id. Every statement psycopg2 sends is
recorded by a cursor of the capture's own, as the exact text it sends (cursor.mogrify:
psycopg2 puts parameters into the text itself and uses PostgreSQL's simple query
protocol), with the BEGIN psycopg2 sends before a transaction's first statement and the
COMMIT, and nothing around a statement sent alone in autocommit mode (pgbench then runs
it as its own transaction too). The recorded values then become pgbench variables.
Whatever the service's deposit becomes, the ceiling follows it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import psycopg2.extensions
from psycopg2.extensions import STATUS_READY
from sqlalchemy import event

from tools.bench.seed import PGBENCH_BASE, Seeded, numbered_user
from user_service.config import Settings
from user_service.domain.balances import BalancesHandler
from user_service.domain.model import Principal
from user_service.storage.database import open_database

_AMOUNT = 73_519_246  # within MAX_AMOUNT, and found nowhere else in the statement
ACCOUNT_VARIABLE = "00000000-0000-4000-8000-:uid"
REQUEST_ID_VARIABLE = "pgbench-:client_id-:rid"


def capture_deposit(service_url: str, seeded: Seeded) -> list[str]:
    """The statements of one deposit, in order, exactly as psycopg2 sends them."""
    settings = Settings(database_url=service_url, grpc_max_workers=1)
    account = numbered_user(PGBENCH_BASE + 1)
    sent: list[str] = []
    recording = [False]

    class Recorder(psycopg2.extensions.cursor):
        def execute(self, query: Any, vars: Any = None) -> Any:
            if recording[0]:
                opens = not self.connection.autocommit and self.connection.status == STATUS_READY
                sent.extend(["BEGIN"] if opens else [])
                sent.append(self.mogrify(query, vars).decode())
            return super().execute(query, vars)

    def connected(driver: Any, _record: Any) -> None:
        driver.cursor_factory = Recorder

    def committed(_connection: Any) -> None:
        if recording[0]:
            sent.append("COMMIT")

    with open_database(settings) as database:  # as the server opens it (server/app.py wires the same)
        event.listen(database.engine, "connect", connected)
        event.listen(database.engine, "commit", committed)
        handler = BalancesHandler(database.transactions, database.statements, settings.max_amount)
        payer = Principal(uuid.UUID(seeded.payer.user_id), frozenset(seeded.payer.roles), "bench", "capture")
        handler.get_balance(payer, account)  # connected before recording
        recording[0] = True
        request_id = uuid.uuid4().hex
        handler.deposit(payer, user_id=account, amount=_AMOUNT, request_id=request_id, description="bench")
    return [template(statement, account, request_id) for statement in sent]


def template(statement: str, account: str, request_id: str) -> str:
    """The recorded values replaced by pgbench's variables :uid, :amount, :client_id, :rid."""
    statement = statement.replace(account, ACCOUNT_VARIABLE).replace(request_id, REQUEST_ID_VARIABLE)
    return re.sub(rf"(?<![0-9]){_AMOUNT}(?![0-9])", ":amount", statement)


def pgbench_script(statements: list[str], *, hot: bool) -> str:
    """A pgbench script: on a random one of pgbench's 500 accounts, or always on its hot one."""
    first, last = PGBENCH_BASE + 1, PGBENCH_BASE + 500
    account = f"\\set uid {PGBENCH_BASE}" if hot else f"\\set uid random({first}, {last})"
    lines = [
        account,
        "\\set amount random(1, 1000)",
        "\\set rid random(1, 9223372036854775806)",
        *(f"{statement};" for statement in statements),
    ]
    return "\n".join(lines) + "\n"

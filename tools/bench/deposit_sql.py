"""The SQL a deposit sends, captured from the service's own code, as a pgbench script.

One deposit is made through the service's BalancesHandler on the event loop's statements
(storage/loop_statements.py on asyncpg, with the service's connection settings), on one of
pgbench's accounts, with values chosen to be found again: a user id, an amount and a
request id. asyncpg's query log records every statement the connection sends, with its
parameters: a statement sent alone (PostgreSQL runs it as a transaction of its own, and so
does pgbench), or BEGIN, the statements and COMMIT when the service opens a transaction.
asyncpg prepares a statement once per connection and then sends only its parameters
(PostgreSQL's extended protocol), so pgbench runs with `-M prepared` and each parameter
becomes a pgbench expression that gives the same value: the recorded user id, amount and
request id become pgbench's variables (:uid, :amount, :client_id and :rid, also inside a
text that contains them, such as the audit row's JSON), every other parameter a literal,
each cast to the type PostgreSQL gave the parameter. Whatever the service's deposit
becomes, the ceiling follows it.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from tools.bench.seed import PGBENCH_BASE, Seeded, numbered_user
from user_service.config import Settings
from user_service.domain.balances import BalancesHandler
from user_service.domain.model import Principal
from user_service.storage.database import loop_connector, open_database
from user_service.storage.deposit_batches import DepositBatches
from user_service.storage.loop_pool import LoopPool
from user_service.storage.loop_statements import LoopStatements
from user_service.storage.session_limits import SessionLimits

_AMOUNT = 73_519_246  # within MAX_AMOUNT, and found nowhere else in the statement
ACCOUNT_PREFIX = "00000000-0000-4000-8000-"
_PARAMETER = re.compile(r"\$(\d+)\b")


@dataclass(frozen=True)
class Sent:
    """One statement as the connection sent it: its text, its parameters and their types."""

    query: str
    args: tuple[Any, ...]
    types: tuple[str, ...]


def capture_deposit(service_url: str, seeded: Seeded) -> list[str]:
    """The statements of one deposit, in order, as pgbench statements."""
    account = numbered_user(PGBENCH_BASE + 1)
    request_id = uuid.uuid4().hex
    sent = asyncio.run(_capture(service_url, seeded, account, request_id))
    return [template(statement, account, request_id) for statement in sent]


async def _capture(service_url: str, seeded: Seeded, account: str, request_id: str) -> list[Sent]:
    settings = Settings(database_url=service_url, grpc_max_workers=1)
    limits = SessionLimits.from_settings(settings)
    connect = loop_connector(service_url, limits)  # as open_database connects the server's
    logged: list[Any] = []
    connections: list[asyncpg.Connection] = []
    recording = [False]

    async def connected() -> asyncpg.Connection:
        connection = await connect()
        connection.add_query_logger(lambda query: logged.append(query) if recording[0] else None)
        connections.append(connection)
        return connection

    statements = LoopStatements(LoopPool(connected, 1, settings.database_pool_timeout_seconds), limits)
    with open_database(settings) as database:  # the handler's transactions, as the server's
        # One deposit goes alone, as POST, on `statements`: the other pool is never used.
        deposits = DepositBatches(statements, statements, settings.deposit_batch_max)
        handler = BalancesHandler(database.transactions, statements, deposits, settings.max_amount)
        payer = Principal(uuid.UUID(seeded.payer.user_id), frozenset(seeded.payer.roles), "bench", "capture")
        await handler.get_balance(payer, account)  # connected before recording
        await _logged()
        recording[0] = True
        await handler.deposit(
            payer, user_id=account, amount=_AMOUNT, request_id=request_id, description="bench"
        )
        await _logged()
        recording[0] = False
        sent = []
        for query in logged:
            prepared = await connections[0].prepare(query.query) if query.args else None
            types = tuple(t.name for t in prepared.get_parameters()) if prepared is not None else ()
            sent.append(Sent(query.query, tuple(query.args), types))
        await statements.close()
    return sent


async def _logged() -> None:
    """Let asyncpg call its query loggers (it does so on the loop, after the query)."""
    await asyncio.sleep(0.05)


def template(sent: Sent, account: str, request_id: str) -> str:
    """The statement with each parameter as the pgbench expression that gives its value."""

    def expression(found: re.Match[str]) -> str:
        index = int(found.group(1)) - 1
        return f"({value(sent.args[index], account, request_id)})::{sent.types[index]}"

    return _PARAMETER.sub(expression, sent.query)


def value(arg: Any, account: str, request_id: str) -> str:
    """A parameter's value in pgbench's SQL: the recorded user id, amount and request id as
    variables (also inside a text), anything else as a literal."""
    if arg is None:
        return "NULL"
    if isinstance(arg, bool):
        return "true" if arg else "false"
    if isinstance(arg, int):
        return ":amount" if arg == _AMOUNT else str(arg)
    variables = {
        account: f"'{ACCOUNT_PREFIX}' || :uid",
        request_id: "'pgbench-' || :client_id || '-' || :rid",
        str(_AMOUNT): ":amount",
    }
    pieces = re.split(f"({'|'.join(re.escape(known) for known in variables)})", str(arg))
    parts = [variables[piece] if piece in variables else _literal(piece) for piece in pieces if piece]
    return " || ".join(parts) or "''"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pgbench_script(statements: list[str], *, hot: bool) -> str:
    """A pgbench script: on a random one of pgbench's 500 accounts, or always on its hot one."""
    first, last = PGBENCH_BASE + 1, PGBENCH_BASE + 500
    account = f"\\set uid {PGBENCH_BASE}" if hot else f"\\set uid random({first}, {last})"
    lines = [
        account,
        "\\set amount random(1, 1000)",
        "\\set rid random(1, 9223372036854775806)",
        *(f"{statement.rstrip(';')};" for statement in statements),
    ]
    return "\n".join(lines) + "\n"

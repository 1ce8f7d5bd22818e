"""make bench's machinery end to end, measuring nothing: a tiny run against the real
server, echo server, pgbench and bcrypt completes with no failed call, its books add up,
and everything it made is gone afterwards. (Speed itself is `make bench` only.)"""

from __future__ import annotations

from sqlalchemy import text

from tools.bench import report
from tools.bench.figures import select
from tools.bench.options import Options
from tools.bench.run import run
from user_service.storage.database import make_engine

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _exists(name: str) -> list[str]:
    engine = make_engine(ADMIN_URL, pool_size=1)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    text(
                        "SELECT datname FROM pg_database WHERE datname = :name"
                        " UNION ALL SELECT rolname FROM pg_roles WHERE rolname = :name"
                    ),
                    {"name": name},
                ).scalars()
            )
    finally:
        engine.dispose()


def test_a_tiny_run_completes_with_no_errors_and_its_books_add_up():
    options = Options(
        figures=select("getme,deposit-hot,login"),
        seconds=0.6,
        login_seconds=0.6,
        warmup=0.2,
        rounds=1,
        processes=(1,),
        concurrency=4,
        login_concurrency=2,
        channels=2,
        bcrypt_rounds=4,
        postgres_url=ADMIN_URL,
    )
    said: list[str] = []

    outcome = run(options, said.append)

    (block,) = outcome.blocks
    assert set(block.summaries) == {"echo", "getme", "pgbench-1", "deposit-hot", "bcrypt", "login"}
    for name, summary in block.summaries.items():
        assert summary.calls_per_second > 0, name
        assert summary.errors == {}, name
    for name in ("echo", "getme", "deposit-hot", "login"):
        assert block.summaries[name].rounds[0].details["connections"].startswith("2 "), name
    (check,) = block.hot_checks
    assert check.problem() is None
    assert check.after.available - check.before.available == check.ok_amount > 0
    assert outcome.reconcile.startswith("ok")
    assert outcome.money_problems == []
    # A deposit is one statement sent alone (its own transaction): pgbench runs the same.
    (deposit,) = outcome.deposit_sql
    assert deposit.startswith("WITH changed AS (")
    assert ":amount" in deposit
    assert "Deposit, 1 hot account" in report.table(block, options.figures)
    assert outcome.scratch.startswith("user_service_bench_")
    assert _exists(outcome.scratch) == []  # its database and role were dropped

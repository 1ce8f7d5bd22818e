"""The bench's own logic, without measuring anything: statistics, the figures' order,
its settings, the table, the hot-account check, and what it reads from pgbench and ss."""

from __future__ import annotations

import datetime
import uuid

import pytest

from tools.bench import report
from tools.bench.cli import readme_block
from tools.bench.deposit_sql import Sent, pgbench_script, template
from tools.bench.figures import BY_NAME, round_order, select
from tools.bench.hot_account import Books, HotCheck
from tools.bench.load_spec import LoadResult, LoadSpec
from tools.bench.loadgen import requests
from tools.bench.machine import busy_percent, parse_ss
from tools.bench.options import OptionsError, load_options
from tools.bench.pgbench import window
from tools.bench.run import Outcome
from tools.bench.stats import Measurement, Summary, median, percentile, ratio


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7
    assert percentile(list(reversed(values)), 0.5) == 50
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError, match="fraction"):
        percentile(values, 0)


def test_medians_skip_the_unknown():
    assert median([3.0, 1.0, 2.0]) == 2
    assert median([4.0, 1.0, None, 2.0, 3.0]) == 2.5
    assert median([None]) is None


def _measured(name: str, rate: float, p50: float | None = 1.0, **errors: int) -> Measurement:
    return Measurement(name, rate, p50, p50 and p50 * 3, dict(errors))


def test_a_summary_takes_medians_and_adds_up_errors():
    summary = Summary(
        "getme",
        (
            _measured("getme", 100, 2.0, UNAVAILABLE=1),
            _measured("getme", 300, 4.0),
            _measured("getme", 200, 3.0, UNAVAILABLE=2, DEADLINE_EXCEEDED=1),
        ),
    )
    assert summary.calls_per_second == 200
    assert summary.p50_ms == 3.0
    assert summary.p99_ms == 9.0
    assert summary.errors == {"DEADLINE_EXCEEDED": 1, "UNAVAILABLE": 3}


def test_ratio_of_a_ceiling_that_measured_nothing_is_unknown():
    assert ratio(50, 200) == 0.25
    assert ratio(50, 0) is None


def test_each_ceiling_comes_right_before_the_figures_it_bounds():
    assert round_order(select("")) == [
        "echo",
        "getme",
        "getbalance",
        "pgbench-500",
        "deposit",
        "pgbench-1",
        "deposit-hot",
        "bcrypt",
        "login",
    ]
    assert round_order(select("login,getme")) == ["echo", "getme", "bcrypt", "login"]
    with pytest.raises(ValueError, match="unknown figure nope"):
        select("getme,nope")


def test_only_makes_a_quick_run_unless_told_otherwise():
    full = load_options({})
    assert (full.rounds, len(full.figures), full.processes[0]) == (3, 5, 1)
    quick = load_options({"ONLY": "getme", "BENCH_SECONDS": "2"})
    assert (quick.rounds, quick.processes, quick.seconds, quick.login_seconds) == (1, (1,), 2.0, 4.0)
    assert load_options({"BENCH_LOGIN_SECONDS": "30"}).login_seconds == 30.0
    assert [f.name for f in quick.figures] == ["getme"]
    told = load_options({"ONLY": "getme", "BENCH_ROUNDS": "3", "BENCH_PROCESSES": "1,2,2"})
    assert (told.rounds, told.processes) == (3, (1, 2))
    alone = load_options({"BENCH_DEPOSIT_BATCH_MAX": "1"})
    assert (full.deposit_batch_max, alone.deposit_batch_max) == (32, 1)


@pytest.mark.parametrize(
    ("name", "value"),
    [("BENCH_SECONDS", "soon"), ("BENCH_ROUNDS", "0"), ("BENCH_PROCESSES", "0"), ("ONLY", "fast")],
)
def test_a_bad_setting_is_named(name, value):
    with pytest.raises(OptionsError, match=name if name != "ONLY" else "unknown figure"):
        load_options({name: value})


def _block() -> report.Block:
    block = report.Block(1)
    for name, rate in (("echo", 1000.0), ("getme", 700.0), ("getbalance", 500.0), ("bcrypt", 0.0)):
        block.summaries[name] = Summary(name, (_measured(name, rate),))
    block.summaries["login"] = Summary("login", (_measured("login", 9, None, RESOURCE_EXHAUSTED=4),))
    return block


def test_the_table_shows_each_figure_beside_its_ceiling_with_ratio_and_target():
    figures = select("getme,getbalance,login")
    lines = report.table(_block(), figures).splitlines()

    assert lines[0].startswith("| figure ")
    assert set(lines[1]) <= set("|-: ")
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    getme, getbalance, login = cells
    assert getme[:2] == ["GetMe", "700"]
    assert getme[6] == "1000"
    assert getme[8:] == ["0.70", "≥ 0.6", "met"]
    assert getbalance[8:] == ["0.50", "≥ 0.6", "**missed**"]
    assert login[1:5] == ["9.0", "-", "-", "RESOURCE_EXHAUSTED 4"]
    assert login[8:] == ["-", "≥ 0.9", "**missed**"]
    assert len({len(line) for line in lines}) == 1  # padded: reads as text too


def test_missed_targets_are_listed_by_processes():
    missed = report.missed([_block()], select("getme,getbalance"))
    assert missed == ["GRPC_PROCESSES=1: GetBalance at 0.50 of bare gRPC echo, target 0.6"]


def _hot(moved: int, rows: int, ok: int, calls: int, **failed: tuple[int, int]) -> HotCheck:
    return HotCheck(
        Books(1000, 10),
        Books(1000 + moved, 10 + rows),
        ok,
        calls,
        {code: amount for code, (amount, _) in failed.items()},
        {code: count for code, (_, count) in failed.items()},
    )


def test_the_hot_account_adds_up_to_its_successful_deposits():
    assert _hot(500, 3, 500, 3).problem() is None
    assert _hot(500, 3, 500, 3).describe().startswith("ok")


def test_the_hot_account_check_catches_money_lost_doubled_or_a_missing_row():
    assert "moved by 499" in (_hot(499, 3, 500, 3).problem() or "")
    assert _hot(1000, 6, 500, 3).problem() is not None
    assert _hot(500, 2, 500, 3).problem() is not None
    assert _hot(500, 3, 500, 3, FAILED_PRECONDITION=(70, 1)).problem() is None
    # A refusal moves nothing: if the money moved anyway, that is a mismatch.
    assert _hot(570, 4, 500, 3, FAILED_PRECONDITION=(70, 1)).describe().startswith("MISMATCH")


def test_calls_of_unknown_outcome_may_or_may_not_have_moved_money():
    for moved, rows in ((500, 3), (570, 4)):
        check = _hot(moved, rows, 500, 3, DEADLINE_EXCEEDED=(70, 1))
        assert check.problem() is None
        assert "unknown outcome" in check.describe()
    assert _hot(640, 5, 500, 3, DEADLINE_EXCEEDED=(70, 1)).problem() is not None


def test_pgbench_log_lines_are_cut_to_the_window():
    # client, transaction, latency µs, script, epoch s, µs; the first began at 100.000000.
    lines = [
        "0 0 500000 0 100 500000",  # ended at 100.5: warm-up
        "1 0 1000000 0 101 0",  # began at 100.0, ended at 101.0: in
        "0 1 2000 0 101 500000",  # in
        "1 1 failed 0 102 0",  # in, failed
        "0 2 3000 0 103 100000",  # after the window
        "garbage",
    ]
    found = window(lines, warmup=1.0, seconds=2.0)
    assert found.latencies_ms == [1000.0, 2.0]
    assert found.errors == {"failed": 1}


def test_ss_shows_the_clients_connections_and_which_server_process_holds_each():
    listing = "\n".join(
        [
            '0 0 127.0.0.1:40001 127.0.0.1:5000 users:(("python",pid=77,fd=9))',
            '0 0 127.0.0.1:40002 127.0.0.1:5000 users:(("python",pid=77,fd=10))',
            '0 0 127.0.0.1:40003 127.0.0.1:5000 users:(("python",pid=78,fd=10))',  # someone else's
            '0 0 [::ffff:127.0.0.1]:5000 [::ffff:127.0.0.1]:40001 users:(("python",pid=11,fd=20))',
            '0 0 [::ffff:127.0.0.1]:5000 [::ffff:127.0.0.1]:40002 users:(("python",pid=12,fd=20))',
            '0 0 [::ffff:127.0.0.1]:5000 [::ffff:127.0.0.1]:40003 users:(("python",pid=12,fd=21))',
            '0 0 127.0.0.1:5432 127.0.0.1:40004 users:(("postgres",pid=5,fd=9))',
        ]
    )
    seen = parse_ss(listing, 5000, 77)
    assert (seen.client, seen.by_server_pid) == (2, {11: 1, 12: 1})
    assert seen.describe() == "2 (per server process: 1/1)"


def test_machine_busy_is_in_percent_of_one_core(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert busy_percent((100, 1000), (150, 1100)) == 100.0


def test_the_deposits_values_become_pgbench_variables():
    account, request_id = "00000000-0000-4000-8000-100000000001", "c0ffee"
    sent = Sent(
        "UPDATE accounts SET available = available + $1 WHERE user_id = $2; SELECT $3, $4::jsonb, $5, $6, $1",
        (73519246, uuid.UUID(account), request_id, '{"amount": 73519246, "note": "it\'s"}', 735192460, None),
        ("int8", "uuid", "text", "jsonb", "int8", "uuid"),
    )
    assert template(sent, account, request_id) == (
        "UPDATE accounts SET available = available + (:amount)::int8"
        " WHERE user_id = ('00000000-0000-4000-8000-' || :uid)::uuid;"
        " SELECT ('pgbench-' || :client_id || '-' || :rid)::text,"
        " ('{\"amount\": ' || :amount || ', \"note\": \"it''s\"}')::jsonb::jsonb,"
        " (735192460)::int8, (NULL)::uuid, (:amount)::int8"
    )


def test_the_pgbench_script_spreads_over_500_accounts_or_stays_on_the_hot_one():
    statements = ["BEGIN", "UPDATE accounts ...", "COMMIT"]
    spread = pgbench_script(statements, hot=False).splitlines()
    assert spread[0] == "\\set uid random(100000000001, 100000000500)"
    assert spread[-3:] == ["BEGIN;", "UPDATE accounts ...;", "COMMIT;"]
    assert pgbench_script(statements, hot=True).splitlines()[0] == "\\set uid 100000000000"


def test_load_specs_and_results_travel_as_json():
    spec = LoadSpec(
        "127.0.0.1:1",
        "/a.B/C",
        4,
        2,
        0.5,
        1.0,
        10.0,
        metadata=(("authorization", "Bearer x"),),
        payload=b"\x00\xff",
        payloads=(b"\x01", b""),
        deposit_accounts=("a", "b"),
        server_pid=9,
    )
    assert LoadSpec.from_json(spec.to_json()) == spec
    result = LoadResult(10, 2.0, 1.0, 2.0, {"UNAVAILABLE": 1}, ok_amount=5, failed_calls={"UNAVAILABLE": 1})
    assert LoadResult.from_json(result.to_json()) == result
    assert result.calls_per_second == 5.0


def test_several_payloads_are_sent_in_turn():
    spec = LoadSpec("127.0.0.1:1", "/a.B/C", 4, 2, 0.5, 1.0, 10.0, payloads=(b"first", b"second"))
    make = requests(spec)
    assert [make() for _ in range(3)] == [(b"first", 0), (b"second", 0), (b"first", 0)]


def test_every_figure_has_a_target_from_issue_9():
    assert {name: figure.target for name, figure in BY_NAME.items()} == {
        "getme": 0.6,
        "getbalance": 0.6,
        "deposit": 0.5,
        "deposit-hot": 0.9,
        "login": 0.9,
    }


def test_bench_profile_names_a_py_spy_format():
    assert load_options({}).profile == ""
    assert load_options({"BENCH_PROFILE": "1"}).profile == "svg"
    assert load_options({"BENCH_PROFILE": "raw", "BENCH_PYSPY_ARGS": "--gil --rate 50"}).pyspy_args == (
        "--gil",
        "--rate",
        "50",
    )
    with pytest.raises(OptionsError, match="BENCH_PROFILE"):
        load_options({"BENCH_PROFILE": "pdf"})


def test_the_readme_block_says_when_how_and_how_busy_the_machine_was():
    block = _block()
    block.summaries["echo"] = Summary("echo", (Measurement("echo", 1000.0, 1.0, 2.0, {}, {}, 150.0),))
    block.summaries["getme"] = Summary("getme", (Measurement("getme", 700.0, 1.0, 2.0, {}, {}, 199.6),))
    options = load_options({"ONLY": "getme"})

    text = readme_block(options, Outcome(blocks=[block]), datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC))

    first, *rest = text.splitlines()
    assert first.startswith("2026-01-02, `make bench")
    assert "`BCRYPT_ROUNDS=12`" in first  # the service's default: Login as deployed
    assert "`DEPOSIT_BATCH_MAX=32`" in first
    assert "5 s (Login 10 s) measured" in first
    assert "150-200% busy" in first
    assert "**GRPC_PROCESSES=1**" in rest
    assert report.table(block, options.figures) in text


def test_the_details_give_each_rounds_figures_and_ratios():
    block = report.Block(1)
    block.summaries["echo"] = Summary("echo", (_measured("echo", 1000), _measured("echo", 2000)))
    block.summaries["getme"] = Summary("getme", (_measured("getme", 500), _measured("getme", 600)))

    lines = report.details(block, ["echo", "getme"]).splitlines()

    assert lines[0] == "- echo: 1000, 2000 calls/s by round"
    assert lines[1] == "- getme: 500, 600 calls/s by round (ratio 0.50, 0.30)"

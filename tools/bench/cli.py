"""python -m tools.bench (make bench): measure, print the table, exit 0 whatever the targets
(it is a measurement); exit 1 only if the books do not add up or the run could not be made."""

from __future__ import annotations

import datetime
import json
import os
import platform
import signal
import sys
from dataclasses import asdict
from types import FrameType

from tools.bench import report
from tools.bench.figures import round_order
from tools.bench.options import HELP, Options, OptionsError, cores, load_options
from tools.bench.run import Outcome, run

_SETTINGS = ("ONLY", "BENCH_")


def main(argv: list[str] | None = None) -> int:
    if set(argv if argv is not None else sys.argv[1:]) & {"-h", "--help"}:
        print(HELP)
        return 0
    try:
        options = load_options()
    except OptionsError as error:
        print(f"bench: {error}\n\n{HELP}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupted)
    started = datetime.datetime.now(datetime.UTC)
    print(header(options, started), flush=True)
    try:
        outcome = run(options, lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print("bench: interrupted; the scratch database and the servers are gone", file=sys.stderr)
        return 130
    print(results(options, outcome), flush=True)
    print(f"\n---- for the README (Performance, Measured) ----\n\n{readme_block(options, outcome, started)}")
    if options.json_path:
        with open(options.json_path, "w") as out:
            json.dump(as_json(options, outcome), out, indent=2)
    return 1 if outcome.money_problems else 0


def _interrupted(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def command_line() -> str:
    return " ".join(
        ["make bench", *(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith(_SETTINGS))]
    )


def settings(options: Options) -> str:
    return (
        f"`BCRYPT_ROUNDS={options.bcrypt_rounds}`, `GRPC_MAX_WORKERS={options.max_workers}`,"
        f" `DEPOSIT_BATCH_MAX={options.deposit_batch_max}`,"
        f" concurrency {options.concurrency} (Login {options.login_concurrency}) over"
        f" {options.channels} connections, {options.seconds:g} s (Login {options.login_seconds:g} s)"
        f" measured after {options.warmup:g} s"
        f" of warm-up, medians of {options.rounds} round{'s' if options.rounds != 1 else ''}"
    )


def readme_block(options: Options, outcome: Outcome, started: datetime.datetime) -> str:
    """What the README's Performance section shows: when, how, where, and the tables."""
    busy = [
        m.machine_busy
        for block in outcome.blocks
        for summary in block.summaries.values()
        for m in summary.rounds
        if m.machine_busy is not None
    ]
    load = f"; the machine was {min(busy):.0f}-{max(busy):.0f}% busy (of {100 * cores()}%)" if busy else ""
    parts = [
        f"{started:%Y-%m-%d}, `{command_line()}` ({settings(options)}), on {cores()} cores"
        f" ({cpu_model()}){load} during the measured windows, the load generator on the same machine.",
    ]
    for block in outcome.blocks:
        parts += ["", f"**GRPC_PROCESSES={block.processes}**", "", report.table(block, options.figures)]
    return "\n".join(parts)


def header(options: Options, started: datetime.datetime) -> str:
    return (
        f"{started:%Y-%m-%d %H:%M} UTC, `{command_line()}`\n"
        f"machine: {cores()} cores ({cpu_model()}), Linux {platform.release()}; the load generator,"
        " PostgreSQL and Redis on the same machine\n"
        f"{settings(options)}; each call's deadline {options.deadline:g} s\n"
    )


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def results(options: Options, outcome: Outcome) -> str:
    order = round_order(options.figures)
    parts = []
    for block in outcome.blocks:
        parts += [
            f"\n### GRPC_PROCESSES={block.processes}\n",
            report.table(block, options.figures),
            "",
            report.details(block, order),
        ]
    if any(figure.ceiling.startswith("pgbench") for figure in options.figures):
        parts.append("\npgbench's transaction (the deposit's SQL, captured from the service; -M prepared):\n")
        parts += [f"    {line}" for line in ";\n".join(outcome.deposit_sql).splitlines()]
    warned = [
        f"GRPC_PROCESSES={block.processes} {name} round {number}: {m.details['warning']}"
        for block in outcome.blocks
        for name, summary in block.summaries.items()
        for number, m in enumerate(summary.rounds, 1)
        if "warning" in m.details
    ]
    if warned:
        parts.append("\n" + "\n".join(f"!! {line}" for line in warned))
    parts.append(f"\nreconcile: {outcome.reconcile}")
    if outcome.log_dir:
        parts.append(f"servers' logs kept in {outcome.log_dir}")
    missed = report.missed(outcome.blocks, options.figures)
    parts.append(
        "\ntargets missed:\n" + "\n".join(f"  - {line}" for line in missed)
        if missed
        else "\nevery target met"
    )
    for problem in outcome.money_problems:
        parts.append(f"\n!! MONEY DOES NOT ADD UP: {problem}")
    return "\n".join(parts)


def as_json(options: Options, outcome: Outcome) -> dict[str, object]:
    return {
        "options": {**asdict(options), "figures": [figure.name for figure in options.figures]},
        "blocks": [
            {
                "processes": block.processes,
                "summaries": {
                    name: {
                        "calls_per_second": summary.calls_per_second,
                        "p50_ms": summary.p50_ms,
                        "p99_ms": summary.p99_ms,
                        "errors": summary.errors,
                        "rounds": [asdict(m) for m in summary.rounds],
                    }
                    for name, summary in block.summaries.items()
                },
                "ratios": {row.figure.name: row.ratio for row in report.rows(block, options.figures)},
                "hot_checks": [check.describe() for check in block.hot_checks],
            }
            for block in outcome.blocks
        ],
        "deposit_sql": outcome.deposit_sql,
        "reconcile": outcome.reconcile,
        "money_problems": outcome.money_problems,
    }

"""The run: a scratch database, seeded; then for each GRPC_PROCESSES value, the service and
the echo server started, and rounds of (ceiling, figures) measured one after the other.

Fairness: ours and the ceiling alternate within every round (the machine's noise hits both
alike), the table shows medians over rounds, the echo server has the service's thread
count, options and process count, and every gRPC figure and the echo ceiling go through
the same load generator with the same concurrency, channels and deadline.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tools.bench import figures as names
from tools.bench.bcrypt_ceiling import run_bcrypt
from tools.bench.calls import load_specs
from tools.bench.deposit_sql import capture_deposit, pgbench_script
from tools.bench.drive import PROFILE_SUFFIXES, PROFILES, drive, to_measurement
from tools.bench.figures import round_order
from tools.bench.hot_account import HotCheck, read_books
from tools.bench.load_spec import LoadResult, LoadSpec
from tools.bench.options import Options, cores
from tools.bench.pgbench import run_pgbench
from tools.bench.report import Block
from tools.bench.scratch import Scratch, scratch_database
from tools.bench.seed import Seeded, seed
from tools.bench.servers import (
    REPO,
    Served,
    clean_env,
    free_port,
    start_echo,
    start_service,
)
from tools.bench.stats import Measurement, Summary


@dataclass
class Outcome:
    blocks: list[Block] = field(default_factory=list)
    deposit_sql: list[str] = field(default_factory=list)
    reconcile: str = ""
    log_dir: str = ""
    scratch: str = ""  # the database's and the role's name

    @property
    def money_problems(self) -> list[str]:
        found = [check.describe() for block in self.blocks for check in block.hot_checks if check.problem()]
        if self.reconcile and not self.reconcile.startswith("ok"):
            found.append(f"reconcile: {self.reconcile}")
        return found


def run(options: Options, say: Callable[[str], None] = print) -> Outcome:
    outcome = Outcome()
    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="user-service-bench-"))
        if options.keep_logs:
            outcome.log_dir = str(work)
        else:
            stack.callback(shutil.rmtree, work, ignore_errors=True)
        say("making a scratch database, migrating and seeding it ...")
        scratch = stack.enter_context(scratch_database(options.postgres_url))
        outcome.scratch = scratch.name
        seeded = seed(scratch.owner_url, options.bcrypt_rounds)
        outcome.deposit_sql = capture_deposit(scratch.service_url, seeded)
        bench = Bench(
            options=options,
            work=work,
            scratch=scratch,
            seeded=seeded,
            deposit_sql=outcome.deposit_sql,
            say=say,
        )
        for processes in options.processes:
            outcome.blocks.append(
                bench.block(processes, hold=options.hold and processes == options.processes[-1])
            )
        outcome.reconcile = reconcile(scratch)
    return outcome


def reconcile(scratch: Scratch) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "user_service", "reconcile"],
        env=clean_env(DATABASE_URL=scratch.service_url, LOG_FORMAT="text"),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    last = (done.stdout.strip().splitlines() or ["(nothing printed)"])[-1]
    return f"ok, {last}" if done.returncode == 0 else f"exit {done.returncode}: {done.stdout}{done.stderr}"


class Bench:
    def __init__(
        self,
        *,
        options: Options,
        work: Path,
        scratch: Scratch,
        seeded: Seeded,
        deposit_sql: list[str],
        say: Callable[[str], None],
    ) -> None:
        self.options = options
        self.work = work
        self.scratch = scratch
        self.seeded = seeded
        self.scripts = {
            names.PGBENCH_500: pgbench_script(deposit_sql, hot=False),
            names.PGBENCH_1: pgbench_script(deposit_sql, hot=True),
        }
        self.say = say

    def block(self, processes: int, *, hold: bool) -> Block:
        options, block = self.options, Block(processes)
        order = round_order(options.figures)
        measured: dict[str, list[Measurement]] = {name: [] for name in order}
        with contextlib.ExitStack() as stack:
            service = stack.enter_context(self._service(processes))
            echo = stack.enter_context(
                start_echo(free_port(), options.max_workers, processes, self.work / f"echo-p{processes}.log")
            )
            specs = load_specs(options, self.seeded, service, echo)
            for number in range(1, options.rounds + 1):
                for name in order:
                    measurement = self._one(name, specs, block, profile=number == 1)
                    measured[name].append(measurement)
                    self.say(
                        f"GRPC_PROCESSES={processes} round {number}/{options.rounds}: {name:<11}"
                        f" {measurement.calls_per_second:9.1f} calls/s"
                        + (f"  errors {measurement.errors}" if measurement.errors else "")
                    )
            block.summaries = {name: Summary(name, tuple(rounds)) for name, rounds in measured.items()}
            if hold:
                self._hold(service, specs)
        return block

    def _one(self, name: str, specs: dict[str, LoadSpec], block: Block, *, profile: bool) -> Measurement:
        """Measure `name` once; profile it if asked (round 1); check the books if it is the hot account."""
        options = self.options
        hot = name == "deposit-hot"
        before = read_books(self.scratch.owner_url, self.seeded.hot_account) if hot else None
        profile_as = f"{name}-p{block.processes}" if options.profile and profile else ""
        measurement, result = self._measure(name, specs, profile_as=profile_as)
        if profile_as and result is not None:
            written = PROFILES / f"{profile_as}{PROFILE_SUFFIXES[options.profile]}"
            self.say(
                f"  profile: {written}"
                if written.exists()
                else "  profile: py-spy wrote nothing (installed? allowed to ptrace?)"
            )
        if before is not None and result is not None:
            after = read_books(self.scratch.owner_url, self.seeded.hot_account)
            check = HotCheck(
                before, after, result.ok_amount, result.ok_calls, result.failed_amount, result.failed_calls
            )
            block.hot_checks.append(check)
            if check.problem():
                self.say(f"  !! hot account: {check.describe()}")
        return measurement

    @contextlib.contextmanager
    def _service(self, processes: int) -> Iterator[Served]:
        options, port = self.options, free_port()
        env = clean_env(
            DATABASE_URL=self.scratch.service_url,
            REDIS_URL=options.redis_url,
            JWT_SECRET=self.seeded.jwt_secret,
            GRPC_PORT=str(port),
            GRPC_PROCESSES=str(processes),
            GRPC_MAX_WORKERS=str(options.max_workers),
            DEPOSIT_BATCH_MAX=str(options.deposit_batch_max),
            BCRYPT_ROUNDS=str(options.bcrypt_rounds),
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
            METRICS_PORT=str(free_port()),
            DATA_DIR=str(self.work / "data"),
        )
        with start_service(env, self.work / f"service-p{processes}.log") as service:
            yield service

    def _measure(
        self, name: str, specs: dict[str, LoadSpec], *, profile_as: str
    ) -> tuple[Measurement, LoadResult | None]:
        options = self.options
        if name in self.scripts:
            return run_pgbench(
                name,
                self.scripts[name],
                self.scratch,
                concurrency=options.concurrency,
                cores=cores(),
                warmup=options.warmup,
                seconds=options.seconds,
            ), None
        if name == names.BCRYPT:
            return run_bcrypt(
                name, options.bcrypt_rounds, warmup=options.warmup, seconds=options.login_seconds
            ), None
        spec = specs[name]
        result = drive(spec, profile_as=profile_as, profile_args=(options.profile, *options.pyspy_args))
        return to_measurement(name, result), result

    def _hold(self, service: Served, specs: dict[str, LoadSpec]) -> None:
        for name, spec in specs.items():
            (self.work / f"{name}.json").write_text(spec.to_json())
        python, py_spy = sys.executable, Path(sys.executable).parent / "py-spy"
        self.say(
            f"\nThe service is still running: pid {service.pid}, {service.target}, log {service.log_path}\n"
            f"  load it:     {python} -m tools.bench.loadgen < {self.work}/getme.json\n"
            "               (or another figure's .json; raise its seconds to load it longer)\n"
            f"  profile it:  {py_spy} record --pid {service.pid} --subprocesses --nonblocking -o getme.svg\n"
            f"               {py_spy} top --pid {service.pid}\n"
            "Press Enter to stop it and drop the database."
        )
        with contextlib.suppress(EOFError):
            input()

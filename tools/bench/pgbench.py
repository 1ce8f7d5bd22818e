"""pgbench running the deposit's SQL transaction, and what its per-transaction log says.

`-M prepared`: the service's deposit goes through asyncpg, which prepares each statement
once per connection and then sends only its parameters (the extended query protocol);
so does pgbench in this mode.
`-c` is the bench's concurrency (one connection each, as the service's pool has one per
worker), `-j` the cores, and the connections carry the same timeouts as the service's.
The warm-up is cut from the log as from the load generator's figures.
"""

from __future__ import annotations

import glob
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tools.bench.machine import MachineCpu
from tools.bench.scratch import Scratch
from tools.bench.stats import Measurement, percentile
from user_service.config import Settings
from user_service.storage.session_limits import SessionLimits


def pgbench_path() -> str:
    found = shutil.which("pgbench") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))), None
    )
    if found is None:
        raise RuntimeError("pgbench not found: apt-get install postgresql-client (or add it to PATH)")
    return found


def run_pgbench(
    name: str, script: str, scratch: Scratch, *, concurrency: int, cores: int, warmup: float, seconds: float
) -> Measurement:
    with tempfile.TemporaryDirectory(prefix="user-service-bench-pgbench-") as work:
        script_path = Path(work) / "deposit.sql"
        script_path.write_text(script)
        env = {
            **os.environ,
            **scratch.libpq(),
            "PGOPTIONS": SessionLimits.from_settings(Settings()).options(),
            "PGAPPNAME": "pgbench",
        }
        command = [
            pgbench_path(),
            "--no-vacuum",
            "--protocol=prepared",
            f"--client={concurrency}",
            f"--jobs={min(cores, concurrency)}",
            f"--time={math.ceil(warmup + seconds + 0.5)}",  # whole seconds, covering the window
            f"--file={script_path}",
            "--log",
            f"--log-prefix={Path(work) / 'log'}",
        ]
        machine = MachineCpu()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        machine.mark_at(warmup, seconds)
        output, _ = process.communicate(timeout=warmup + seconds + 120)
        if process.returncode not in (0, 2) or not glob.glob(f"{work}/log*"):
            raise RuntimeError(f"pgbench failed ({process.returncode}):\n{output}")
        lines = [line for path in glob.glob(f"{work}/log*") for line in Path(path).read_text().splitlines()]
    measured = window(lines, warmup, seconds)
    details = {"machine cpu": machine.describe()}
    if process.returncode == 2:
        details["pgbench"] = (
            "some clients aborted: "
            + " | ".join(line for line in output.splitlines() if "abort" in line or "ERROR" in line)[:300]
        )
    return Measurement(
        name,
        len(measured.latencies_ms) / seconds,
        percentile(measured.latencies_ms, 0.5),
        percentile(measured.latencies_ms, 0.99),
        measured.errors,
        details,
        machine.busy(),
    )


class Window:
    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.errors: dict[str, int] = {}


def window(lines: list[str], warmup: float, seconds: float) -> Window:
    """Transactions that ended in [start + warmup, start + warmup + seconds], start being
    when the first one began. A log line: client, transaction, latency in µs (or `failed`,
    `serialization`, `deadlock`), script, epoch seconds and µs when it ended, ..."""
    ended: list[tuple[float, str]] = []
    for line in lines:
        fields = line.split()
        if len(fields) < 6:
            continue
        ended.append((int(fields[4]) + int(fields[5]) / 1e6, fields[2]))
    found = Window()
    if not ended:
        return found
    start = min((at - int(latency) / 1e6 for at, latency in ended if latency.isdigit()), default=ended[0][0])
    begin, end = start + warmup, start + warmup + seconds
    for at, latency in ended:
        if not begin <= at <= end:
            continue
        if latency.isdigit():
            found.latencies_ms.append(int(latency) / 1000)
        else:
            found.errors[latency] = found.errors.get(latency, 0) + 1
    return found

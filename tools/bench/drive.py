"""The load generator as a process of its own, py-spy beside it when asked, and what the
generator's answer becomes in the table."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

from tools.bench.load_spec import LoadResult, LoadSpec
from tools.bench.machine import describe_busy
from tools.bench.options import PROFILE_FORMATS
from tools.bench.servers import REPO
from tools.bench.stats import Measurement

PROFILES = REPO / ".build" / "bench"
PROFILE_SUFFIXES = {"svg": ".svg", "speedscope": ".json", "raw": ".txt"}
# Past this share of one core, the load generator (one event loop) may be what limits a figure.
GENERATOR_BOUND = 0.85


def drive(spec: LoadSpec, *, profile_as: str = "", profile_args: tuple[str, ...] = ("svg",)) -> LoadResult:
    """Run the load generator in a process of its own (and py-spy on the server over the
    measured window, when `profile_as` names the flame graph)."""
    generator = subprocess.Popen(
        [sys.executable, "-m", "tools.bench.loadgen"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    profiler = (
        threading.Timer(spec.warmup, profile, (spec, profile_as, *profile_args)) if profile_as else None
    )
    try:
        if profiler is not None:
            profiler.start()
        output, errors = generator.communicate(
            spec.to_json(), timeout=spec.warmup + spec.seconds + spec.deadline + 60
        )
    finally:
        if generator.poll() is None:
            generator.kill()
            generator.wait()
        if profiler is not None:
            profiler.join()
    if generator.returncode != 0:
        raise RuntimeError(f"the load generator failed ({generator.returncode}):\n{errors}")
    return LoadResult.from_json(output)


def profile(spec: LoadSpec, name: str, kind: str, *more: str) -> None:
    """py-spy record on the server's processes for the measured window: PROFILES/<name>."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    PROFILES.mkdir(parents=True, exist_ok=True)
    output = PROFILES / f"{name}{PROFILE_SUFFIXES[kind]}"
    output.unlink(missing_ok=True)
    subprocess.run(
        [
            py_spy,
            "record",
            "--pid",
            str(spec.server_pid),
            "--subprocesses",
            "--nonblocking",
            "--duration",
            str(max(int(spec.seconds), 1)),
            "--format",
            PROFILE_FORMATS[kind],
            "--output",
            str(output),
            *more,
        ],
        capture_output=True,
        check=False,
        timeout=spec.seconds + 60,
    )


def to_measurement(name: str, result: LoadResult) -> Measurement:
    seconds = result.window_seconds or 1
    details = {
        "load generator cpu": f"{100 * result.loadgen_cpu / seconds:.0f}% of a core",
        "server cpu": f"{100 * result.server_cpu / seconds:.0f}%",
        "machine cpu": describe_busy(result.machine_busy_percent),
        "connections": result.connections,
    }
    if result.loadgen_cpu / seconds >= GENERATOR_BOUND:
        details["warning"] = "the load generator was busy most of a core: it may be the limit here"
    return Measurement(
        name,
        result.calls_per_second,
        result.p50_ms,
        result.p99_ms,
        dict(sorted(result.errors.items())),
        details,
        result.machine_busy_percent,
    )

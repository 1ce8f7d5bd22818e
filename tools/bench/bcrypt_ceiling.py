"""The Login ceiling: bcrypt.checkpw at the service's cost, in a process per core, as fast
as they go; checks that end within the measured window count."""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

import bcrypt

from tools.bench.machine import MachineCpu
from tools.bench.stats import Measurement, percentile


def run_bcrypt(name: str, rounds: int, *, warmup: float, seconds: float) -> Measurement:
    password = b"correct horse battery staple"
    hashed = bcrypt.hashpw(password, bcrypt.gensalt(rounds))
    processes = os.cpu_count() or 1
    start = time.time() + 0.5  # once every process has started
    machine = MachineCpu()
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        machine.mark_at(start - time.time() + warmup, seconds)
        futures = [
            pool.submit(_check_until, password, hashed, start, start + warmup, start + warmup + seconds)
            for _ in range(processes)
        ]
        latencies = [latency for future in futures for latency in future.result()]
    return Measurement(
        name,
        len(latencies) / seconds,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        {},
        {"processes": str(processes), "machine cpu": machine.describe()},
        machine.busy(),
    )


def _check_until(password: bytes, hashed: bytes, start: float, begin: float, end: float) -> list[float]:
    """Latencies (ms) of the checks that ended in [begin, end]."""
    time.sleep(max(start - time.time(), 0))
    latencies = []
    while (now := time.time()) < end:
        if not bcrypt.checkpw(password, hashed):
            raise AssertionError("bcrypt.checkpw refused the right password")
        ended = time.time()
        if begin <= ended <= end:
            latencies.append((ended - now) * 1000)
    return latencies

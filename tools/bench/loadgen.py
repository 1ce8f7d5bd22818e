"""The load generator, a process of its own: `python -m tools.bench.loadgen` reads a
LoadSpec (JSON) on stdin, calls the method for warmup + seconds, prints a LoadResult.

grpc.aio on one event loop: `concurrency` callers, each looping call after call, spread
over `channels` channels. Each channel has its own subchannel pool and an argument of its
own, so each is a TCP connection of its own (the result says how many `ss` saw). Requests
are sent as bytes and answers not parsed: the generator does as little as it can, and
says how much CPU it used (100% = one core: past ~90% it, not the server, may be the
limit; the echo ceiling goes through the same generator, which keeps the ratio fair).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import cast

import grpc

from tools.bench.load_spec import LoadResult, LoadSpec
from tools.bench.machine import busy_percent, connections, cpu_seconds, machine_ticks, process_tree
from tools.bench.stats import percentile
from userservice.v1 import balance_pb2

Request = Callable[[], tuple[bytes, int]]


def requests(spec: LoadSpec) -> Request:
    """What each call sends: (bytes, amount moved: 0 unless a deposit)."""
    if spec.payloads:
        turns = itertools.cycle(spec.payloads)
        return lambda: (next(turns), 0)
    if not spec.deposit_accounts:
        return lambda: (spec.payload, 0)
    accounts = spec.deposit_accounts

    def deposit() -> tuple[bytes, int]:
        amount = random.randint(1, 1000)  # noqa: S311 - load, not secrets
        request = balance_pb2.DepositRequest(
            user_id=random.choice(accounts),  # noqa: S311
            amount=amount,
            request_id=uuid.uuid4().hex,
            description="bench",
        )
        return request.SerializeToString(), amount

    return deposit


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.ok_amount = 0
        self.ok_calls = 0
        self.failed_amount: Counter[str] = Counter()
        self.failed_calls: Counter[str] = Counter()


async def run(spec: LoadSpec) -> LoadResult:
    channels = [
        grpc.aio.insecure_channel(
            spec.target, options=[("grpc.use_local_subchannel_pool", 1), ("bench.channel", index)]
        )
        for index in range(spec.channels)
    ]
    try:
        await asyncio.wait_for(asyncio.gather(*(c.channel_ready() for c in channels)), timeout=30)
        methods = [
            cast("grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]", channel.unary_unary(spec.method))
            for channel in channels
        ]
        tally, make = Tally(), requests(spec)
        start = time.perf_counter()
        begin, end = start + spec.warmup, start + spec.warmup + spec.seconds

        async def caller(index: int) -> None:
            method = methods[index % len(methods)]
            while time.perf_counter() < end:
                payload, amount = make()
                sent = time.perf_counter()
                try:
                    await method(payload, metadata=spec.metadata, timeout=spec.deadline)
                    code = ""
                except grpc.aio.AioRpcError as error:
                    code = error.code().name
                ended = time.perf_counter()
                if code:
                    tally.failed_amount[code] += amount
                    tally.failed_calls[code] += 1
                else:
                    tally.ok_amount += amount
                    tally.ok_calls += 1
                if begin <= ended <= end:
                    if code:
                        tally.errors[code] += 1
                    else:
                        tally.latencies.append((ended - sent) * 1000)

        watched = asyncio.create_task(watch(spec, begin, end))
        await asyncio.gather(*(caller(index) for index in range(spec.concurrency)))
        cpu, server, busy, seen = await watched
    finally:
        await asyncio.gather(*(channel.close() for channel in channels))
    return LoadResult(
        ok=len(tally.latencies),
        window_seconds=spec.seconds,
        p50_ms=percentile(tally.latencies, 0.5),
        p99_ms=percentile(tally.latencies, 0.99),
        errors=dict(tally.errors),
        ok_amount=tally.ok_amount,
        ok_calls=tally.ok_calls,
        failed_amount=dict(tally.failed_amount),
        failed_calls=dict(tally.failed_calls),
        loadgen_cpu=cpu,
        server_cpu=server,
        machine_busy_percent=busy,
        connections=seen,
    )


async def watch(spec: LoadSpec, begin: float, end: float) -> tuple[float, float, float, str]:
    """CPU over [begin, end] (the generator's, the server's, the machine's), and the
    connections seen in the middle of it."""
    port = int(spec.target.rsplit(":", 1)[1])
    await asyncio.sleep(max(begin - time.perf_counter(), 0))
    servers = process_tree(spec.server_pid) if spec.server_pid else []
    cpu0, server0, machine0 = time.process_time(), cpu_seconds(servers), machine_ticks()
    await asyncio.sleep(max((begin + end) / 2 - time.perf_counter(), 0))
    seen = (await asyncio.to_thread(connections, port, os.getpid())).describe()
    await asyncio.sleep(max(end - time.perf_counter(), 0))
    servers = sorted(set(servers) | set(process_tree(spec.server_pid))) if spec.server_pid else []
    return (
        time.process_time() - cpu0,
        cpu_seconds(servers) - server0,
        busy_percent(machine0, machine_ticks()),
        seen,
    )


def main() -> int:
    spec = LoadSpec.from_json(sys.stdin.read())
    print(asyncio.run(run(spec)).to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The bench's settings, from the environment (`make bench ONLY=getme BENCH_SECONDS=5 ...`)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from tools.bench.figures import Figure, select
from user_service.config import Settings

HELP = """\
Settings (environment variables; `make bench NAME=value` sets them too):
  ONLY                 figures to run, comma-separated: getme,getbalance,deposit,deposit-hot,login
                       (default: all). With ONLY, BENCH_ROUNDS and BENCH_PROCESSES default to 1.
  BENCH_SECONDS        measured seconds per figure and per ceiling, each round (5)
  BENCH_LOGIN_SECONDS  the same for Login and bcrypt, a few calls a second (2 x BENCH_SECONDS)
  BENCH_WARMUP         seconds of load before the measured window, not counted (1)
  BENCH_ROUNDS         rounds of (ceiling, ours) pairs; the table shows medians (3)
  BENCH_PROCESSES      GRPC_PROCESSES values to run, comma-separated (1,<cores>)
  BENCH_CONCURRENCY    calls in flight at once, for ours and the ceilings alike (16)
  BENCH_LOGIN_CONCURRENCY  the same for Login (4 x cores: Login's queue admits 5 x BCRYPT_THREADS)
  BENCH_CHANNELS       gRPC channels (TCP connections) the load is spread over (8)
  BENCH_DEADLINE       each call's deadline in seconds (10)
  BENCH_BCRYPT_ROUNDS  the service's BCRYPT_ROUNDS, and the ceiling's cost (the service's
                       default, as deployed: 12)
  BENCH_MAX_WORKERS    the service's GRPC_MAX_WORKERS, and the echo server's threads
                       (default: the service's default)
  BENCH_DEPOSIT_BATCH_MAX  the service's DEPOSIT_BATCH_MAX (default: the service's default;
                       1: every deposit alone, as pgbench sends them)
  BENCH_REDIS_URL      the service's REDIS_URL (redis://127.0.0.1:6379/0)
  BENCH_POSTGRES_URL   where the scratch database is made (postgresql://postgres@127.0.0.1:5432/postgres)
  BENCH_KEEP_LOGS      1: keep the servers' JSON logs (their directory is printed)
  BENCH_PROFILE        1 (or svg, speedscope, raw): py-spy records the server during each measured
                       window of round 1: .build/bench/<figure>-p<GRPC_PROCESSES>.svg (or .json, .txt)
  BENCH_PYSPY_ARGS     more arguments for py-spy record, e.g. --gil (only what holds the GIL) or --idle
  BENCH_HOLD           1: at the end, leave the service (and its database) running until Enter
  BENCH_JSON           a file to write every measurement to, as JSON
"""


class OptionsError(ValueError):
    """A BENCH_* setting that cannot be used; the message says which."""


@dataclass(frozen=True)
class Options:
    figures: tuple[Figure, ...]
    seconds: float = 5.0
    login_seconds: float = 10.0
    warmup: float = 1.0
    rounds: int = 3
    processes: tuple[int, ...] = (1,)
    concurrency: int = 16
    login_concurrency: int = 8
    channels: int = 8
    deadline: float = 10.0
    bcrypt_rounds: int = Settings().bcrypt_rounds
    max_workers: int = Settings().grpc_max_workers
    deposit_batch_max: int = Settings().deposit_batch_max
    redis_url: str = "redis://127.0.0.1:6379/0"
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    keep_logs: bool = False
    profile: str = ""  # py-spy's output format; empty: no profile
    pyspy_args: tuple[str, ...] = ()
    hold: bool = False
    json_path: str = ""


def cores() -> int:
    return os.cpu_count() or 1


def load_options(environ: Mapping[str, str] | None = None) -> Options:
    env = os.environ if environ is None else environ
    only = env.get("ONLY", "").strip()
    try:
        figures = select(only)
        quick = bool(only)
        seconds = _number(env, "BENCH_SECONDS", 5.0, 0.1)
        return Options(
            figures=figures,
            seconds=seconds,
            login_seconds=_number(env, "BENCH_LOGIN_SECONDS", 2 * seconds, 0.1),
            warmup=_number(env, "BENCH_WARMUP", 1.0, 0.0),
            rounds=int(_number(env, "BENCH_ROUNDS", 1 if quick else 3, 1)),
            processes=_processes(env.get("BENCH_PROCESSES", "1" if quick else f"1,{cores()}")),
            concurrency=int(_number(env, "BENCH_CONCURRENCY", 16, 1)),
            login_concurrency=int(_number(env, "BENCH_LOGIN_CONCURRENCY", 4 * cores(), 1)),
            channels=int(_number(env, "BENCH_CHANNELS", 8, 1)),
            deadline=_number(env, "BENCH_DEADLINE", 10.0, 0.1),
            bcrypt_rounds=int(_number(env, "BENCH_BCRYPT_ROUNDS", Settings().bcrypt_rounds, 4)),
            max_workers=int(_number(env, "BENCH_MAX_WORKERS", Settings().grpc_max_workers, 1)),
            deposit_batch_max=int(_number(env, "BENCH_DEPOSIT_BATCH_MAX", Settings().deposit_batch_max, 1)),
            redis_url=env.get("BENCH_REDIS_URL", "") or "redis://127.0.0.1:6379/0",
            postgres_url=env.get("BENCH_POSTGRES_URL", "") or "postgresql://postgres@127.0.0.1:5432/postgres",
            keep_logs=_flag(env, "BENCH_KEEP_LOGS"),
            profile=_profile(env.get("BENCH_PROFILE", "")),
            pyspy_args=tuple(shlex.split(env.get("BENCH_PYSPY_ARGS", ""))),
            hold=_flag(env, "BENCH_HOLD"),
            json_path=env.get("BENCH_JSON", ""),
        )
    except ValueError as error:
        raise OptionsError(str(error)) from None


def _number(env: Mapping[str, str], name: str, default: float, least: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number: {raw!r}") from None
    if value < least:
        raise ValueError(f"{name} must be at least {least:g}: {raw!r}")
    return value


def _processes(raw: str) -> tuple[int, ...]:
    try:
        values = tuple(dict.fromkeys(int(part) for part in raw.split(",") if part.strip()))
    except ValueError:
        raise ValueError(f"BENCH_PROCESSES must be numbers, comma-separated: {raw!r}") from None
    if not values or min(values) < 1:
        raise ValueError(f"BENCH_PROCESSES must be at least 1: {raw!r}")
    return values


PROFILE_FORMATS = {"svg": "flamegraph", "speedscope": "speedscope", "raw": "raw"}


def _profile(raw: str) -> str:
    value = raw.strip().lower()
    if value in ("", "0", "false", "no"):
        return ""
    if value in ("1", "true", "yes"):
        return "svg"
    if value not in PROFILE_FORMATS:
        raise ValueError(f"BENCH_PROFILE must be 1, svg, speedscope or raw: {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes")

"""Redis (a server of the test's own) gone, or frozen, while client threads log in, check
their tokens and log out: logins and token checks keep working through the fallbacks (the
database, the process's own counters), revoked tokens stay refused before, during and
after the outage, and no call fails for it. tests/e2e/test_redis_outage.py checks the
same one call at a time; here the outage begins and ends under calls in flight."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc
import pytest

from tests.support.auth_client import Caller
from tests.support.identities import Identity, make_identity
from tests.support.network import SERVING, free_port, wait_for_health
from tests.support.redis_server import RedisServer
from tests.support.server_process import start_service
from tests.support.statuses import status_details

THREADS = 4
ROUNDS = 60  # per thread: a login, token checks, and every other round a logout
REVOKED = ("UNAUTHENTICATED", "TOKEN_REVOKED")


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    rounds: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    revoked: list[Caller] = field(default_factory=list)

    def note(self, what: str, wrong: str | None = None) -> None:
        with self.lock:
            self.answers[what] += 1
            if wrong:
                self.wrong.append(wrong)


def answer(caller: Caller, rpc: str) -> tuple[str, str]:
    """(status code, ErrorInfo reason) of a call: ("OK", "") when it succeeds."""
    try:
        caller.call(rpc)
    except grpc.RpcError as error:
        return error.code().name, status_details(error)["ErrorInfo"].reason
    return "OK", ""


def client(channel: grpc.Channel, users: list[Identity], tally: Tally, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311  (which user, repeatably; no secret)
    for round_ in range(ROUNDS):
        try:
            one_round(Caller(channel), rng.choice(users), tally, rng, logout=bool(round_ % 2))
        finally:
            with tally.lock:
                tally.rounds += 1


def one_round(caller: Caller, who: Identity, tally: Tally, rng: random.Random, *, logout: bool) -> None:
    """Log in, use the token; maybe log out; try a token revoked earlier (by any thread)."""
    try:
        caller.login(who.email)
    except grpc.RpcError as error:
        tally.note("login", f"Login: {error.code().name} {error.details()}")
        return
    me = answer(caller, "GetMe")
    tally.note("live token", None if me == ("OK", "") else f"GetMe with a live token: {me}")
    if logout:
        ended = answer(caller, "Logout")
        tally.note("logout", None if ended == ("OK", "") else f"Logout: {ended}")
        with tally.lock:
            tally.revoked.append(caller)
    with tally.lock:
        earlier = rng.choice(tally.revoked) if tally.revoked else None
    if earlier is not None:
        refused = answer(earlier, "GetMe")
        tally.note("revoked token", None if refused == REVOKED else f"GetMe with a revoked token: {refused}")


def wait_for_rounds(tally: Tally, count: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        with tally.lock:
            assert not tally.wrong, tally.wrong[:10]
            if tally.rounds >= count:
                return
        assert time.monotonic() < deadline, f"only {tally.rounds} rounds done"
        time.sleep(0.02)


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_logins_and_token_checks_work_through_a_redis_outage_under_load(
    fault_settings, engine, tmp_path, outage
):
    with RedisServer() as redis_server:
        settings = {**fault_settings, "REDIS_URL": redis_server.url}
        with start_service(settings, free_port(), tmp_path / "server.log") as server:
            wait_for_health(server.channel, SERVING)
            users = [make_identity(engine) for _ in range(6)]
            tally = Tally()
            threads = [
                threading.Thread(target=client, args=(server.channel, users, tally, seed))
                for seed in range(THREADS)
            ]
            for thread in threads:
                thread.start()

            wait_for_rounds(tally, THREADS * ROUNDS // 4)
            redis_server.stop() if outage == "stopped" else redis_server.pause()
            wait_for_rounds(tally, THREADS * ROUNDS // 2)
            redis_server.start() if outage == "stopped" else redis_server.resume()

            for thread in threads:
                thread.join(timeout=120)
            assert not tally.wrong, tally.wrong[:10]
            assert tally.rounds == THREADS * ROUNDS
            assert tally.answers["revoked token"] > THREADS * ROUNDS // 2, tally.answers
            # Revoked tokens stay refused once Redis is back (empty, if it was restarted).
            assert {answer(caller, "GetMe") for caller in tally.revoked} == {REVOKED}
        assert "Redis unreachable" in server.output()
        assert "Traceback" not in server.output(), server.output()[-3000:]

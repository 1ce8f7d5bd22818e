"""The Redis adapters against a Redis of the test's own: the session cache never lets a
live entry overwrite a revocation, writes the revocations it missed once Redis is back,
and counters fall back to the process while Redis is down."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.support.redis_server import RedisServer
from user_service.adapters.counters import RedisCounters
from user_service.adapters.redis_link import KEY_PREFIX, RECHECK_SECONDS, RedisLink
from user_service.adapters.session_cache import REVOKED, CacheUnavailable, NearSessionCache, RedisSessionCache


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def link(redis_server) -> Iterator[RedisLink]:
    made = RedisLink(redis_server.url)
    yield made
    made.close()


def session() -> str:
    return str(uuid.uuid4())


def test_roles_are_cached_and_a_revocation_overwrites_them(link):
    cache, sid = RedisSessionCache(link), session()
    cache.remember(sid, "user")
    assert cache.get(sid) == "user"

    cache.revoke([sid], 60)

    assert cache.get(sid) == REVOKED


def test_a_late_live_entry_never_overwrites_a_revocation(link):
    cache, sid = RedisSessionCache(link), session()
    cache.revoke([sid], 60)

    cache.remember(sid, "admin,user")  # a check that read the database before the revocation
    cache.forget([sid])  # a role change

    assert cache.get(sid) == REVOKED


def test_forgetting_drops_roles_so_that_they_are_read_again(link):
    cache, sid = RedisSessionCache(link), session()
    cache.remember(sid, "user")

    cache.forget([sid])

    assert cache.get(sid) is None


def test_revocations_missed_while_redis_was_down_are_written_when_it_is_back(redis_server, link):
    cache, sid = RedisSessionCache(link), session()
    cache.remember(sid, "user")
    redis_server.stop()

    cache.revoke([sid], 60)
    with pytest.raises(CacheUnavailable):
        cache.get(sid)

    redis_server.start()  # empty: restarted
    time.sleep(RECHECK_SECONDS + 0.1)
    cache.remember(sid, "user")  # another pod caches it live meanwhile: the revocation still wins
    assert cache.get(sid) == REVOKED


def test_counters_count_in_windows(link):
    counters, key = RedisCounters(link), f"test:{uuid.uuid4().hex}"
    assert counters.peek([key]) == [(0, 0.0)]

    for _ in range(3):
        counters.hit([key], window_seconds=30)

    [(count, left)] = counters.peek([key])
    assert count == 3
    assert 29 < left <= 30


def test_running_counts_go_up_and_down_lapse_and_never_go_below_zero(link, redis_server):
    counters, key = RedisCounters(link), f"test:{uuid.uuid4().hex}"
    assert counters.enter([key], lapse_seconds=30) == [1]
    assert counters.enter([key], lapse_seconds=30) == [2]
    counters.leave([key])
    assert counters.enter([key], lapse_seconds=1) == [2]  # each entry renews the lapse
    time.sleep(1.2)  # as if the processes in it had died

    counters.leave([key])  # one of them after all: nothing is left to take from
    assert counters.enter([key], lapse_seconds=30) == [1]
    counters.leave([key])
    assert redis.Redis.from_url(redis_server.url).exists(KEY_PREFIX + key) == 0  # gone at zero


def test_counters_fall_back_to_the_process_while_redis_is_down(redis_server, link):
    counters, key = RedisCounters(link), f"test:{uuid.uuid4().hex}"
    counters.hit([key], 30)
    redis_server.stop()

    started = time.monotonic()
    counters.hit([key], 30)
    counters.hit([key], 30)
    assert counters.peek([key])[0][0] == 2  # the process's own count
    assert time.monotonic() - started < 1  # no waiting on the dead server each time


def test_the_near_cache_spares_redis_within_its_second_and_revocations_reach_it_at_once(link, redis_server):
    near, sid = NearSessionCache(RedisSessionCache(link), near_seconds=0.3), session()
    near.remember(sid, "user")
    redis_server.stop()

    assert near.get(sid) == "user"  # from the process's memory: Redis is not asked
    near.revoke([sid], 60)
    assert near.get(sid) == REVOKED  # this process knows at once, Redis down or not
    time.sleep(0.4)
    with pytest.raises(CacheUnavailable):
        near.get(session())  # past the second, an unknown session goes to Redis (down: the database)


def test_the_near_cache_holds_a_live_session_a_second_at_most(link):
    remote = RedisSessionCache(link)
    near, sid = NearSessionCache(remote, near_seconds=0.3), session()
    near.remember(sid, "user")
    remote.revoke([sid], 60)  # another pod revoked it

    assert near.get(sid) == "user"  # within the second: not yet seen here
    time.sleep(0.4)
    assert near.get(sid) == REVOKED


def test_peeking_answers_from_the_process_alone(link):
    """What the token check asks on the event loop: never Redis."""
    remote = RedisSessionCache(link)
    near, sid = NearSessionCache(remote, near_seconds=0.3), session()
    remote.remember(sid, "user")  # in Redis, not yet in this process

    assert remote.peek(sid) is None
    assert near.peek(sid) is None
    assert near.get(sid) == "user"  # asks Redis, and keeps the answer
    assert near.peek(sid) == "user"
    time.sleep(0.4)
    assert near.peek(sid) is None  # past its second: it takes asking Redis again

"""Redis stopped (a Redis of the test's own): logins and token checks keep working through
the fallbacks, a revoked token stays refused, and limits hold within the process."""

from __future__ import annotations

import grpc

from tests.support.auth_client import PASSWORD, Caller
from tests.support.identities import make_identity
from tests.support.network import SERVING, free_port, wait_for_health
from tests.support.redis_server import RedisServer
from tests.support.server_process import start_service


def test_revoked_tokens_stay_refused_and_logins_work_while_redis_is_down(service_settings, engine, tmp_path):
    with RedisServer() as redis_server:
        settings = {**service_settings, "REDIS_URL": redis_server.url}
        with start_service(settings, free_port(), tmp_path / "server.log") as server:
            wait_for_health(server.channel, SERVING)
            identity = make_identity(engine)
            kept, ended = Caller(server.channel), Caller(server.channel)
            kept.login(identity.email)
            ended.login(identity.email)
            kept.call("GetMe")
            ended.call("GetMe")  # both sessions cached as live in Redis
            ended.call("Logout")

            redis_server.stop()

            assert ended.refused("GetMe") == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_REVOKED")
            assert kept.call("GetMe").user.id == str(identity.user_id)
            fresh = Caller(server.channel)
            fresh.login(identity.email)
            assert fresh.call("GetMe").user.email == identity.email
            fresh.call("Logout")  # revoked while Redis is down
            assert fresh.refused("GetMe")[1] == "TOKEN_REVOKED"
            for _ in range(3):
                fresh.refused("Login", email=identity.email, password="wrong " + PASSWORD)
            assert fresh.refused("Login", email=identity.email, password=PASSWORD)[1] == "TOO_MANY_ATTEMPTS"

            redis_server.start()  # empty: it kept nothing

            assert ended.refused("GetMe")[1] == "TOKEN_REVOKED"
            assert fresh.refused("GetMe")[1] == "TOKEN_REVOKED"
            assert kept.call("GetMe").user.id == str(identity.user_id)
        assert "Redis unreachable" in server.output()

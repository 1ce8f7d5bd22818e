"""Health turns NOT_SERVING while PostgreSQL is unreachable and SERVING when it is back.

The database here is a cluster of the test's own (initdb + pg_ctl on a free port): the
test stops and starts that one, never the machine's.
"""

from __future__ import annotations

import grpc

from tests.support.loop_thread import LoopThread
from tests.support.network import NOT_SERVING, SERVING, free_port, wait_for_health
from tests.support.postgres_cluster import PostgresCluster
from tests.support.server_process import TEST_JWT_SECRET
from user_service.config import load_settings
from user_service.server.app import SERVICE_NAMES, start_server
from user_service.storage.database import open_database

ALL = ("", *SERVICE_NAMES)


def test_health_follows_the_database(tmp_path):
    with PostgresCluster() as cluster:
        settings = load_settings(
            {
                "DATABASE_URL": cluster.url,
                "JWT_SECRET": TEST_JWT_SECRET,
                "GRPC_PORT": str(free_port()),
                "HEALTH_CHECK_INTERVAL_SECONDS": "0.2",
                "DATA_DIR": str(tmp_path),
            }
        )
        with open_database(settings) as database, LoopThread() as loop:
            running = loop.run(start_server(settings, database))
            channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
            try:
                wait_for_health(channel, SERVING, ALL)

                cluster.stop()
                wait_for_health(channel, NOT_SERVING, ALL)

                cluster.start()
                wait_for_health(channel, SERVING, ALL)
            finally:
                channel.close()
                loop.run(running.stop(grace_seconds=0))

"""One server process for the e2e tests that need nothing special, on the session database
as the service's own role. Tests that need other settings start a server of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.network import SERVING, free_port, wait_for_health
from tests.support.server_process import TEST_JWT_SECRET, ServerProcess, service_env, start_service


@pytest.fixture(scope="session")
def service(service_database_url, tmp_path_factory) -> Iterator[ServerProcess]:
    env = service_env(
        DATABASE_URL=service_database_url, JWT_SECRET=TEST_JWT_SECRET, HEALTH_CHECK_INTERVAL_SECONDS="0.5"
    )
    with start_service(env, free_port(), tmp_path_factory.mktemp("serve") / "server.log") as server:
        wait_for_health(server.channel, SERVING)
        yield server

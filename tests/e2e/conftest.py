"""One server process for the e2e tests that need nothing special, on the session database
as the service's own role, sending email to an SMTP sink of the session's own and keeping
rate limits and the session cache in the machine's Redis. Client addresses come from
x-forwarded-for (127.0.0.1 is a trusted proxy here), so that tests can be told apart.
Tests that need other settings start a server of their own (`service_settings` helps)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.network import SERVING, free_port, wait_for_health
from tests.support.server_process import TEST_JWT_SECRET, ServerProcess, service_env, start_service
from tests.support.smtp import SmtpSink

MACHINE_REDIS = "redis://127.0.0.1:6379/0"
# Short windows and small limits, so that the rate-limit tests finish quickly.
RATE_LIMITS = {
    "RATE_LIMIT_WINDOW_SECONDS": "3",
    "RATE_LIMIT_FAILURES_PER_ACCOUNT": "3",
    "RATE_LIMIT_FAILURES_PER_ADDRESS": "20",
    "RATE_LIMIT_EMAILS_PER_ACCOUNT": "3",
    "RATE_LIMIT_EMAILS_PER_ADDRESS": "20",
}


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def service_settings(service_database_url, smtp) -> dict[str, str]:
    return service_env(
        DATABASE_URL=service_database_url,
        JWT_SECRET=TEST_JWT_SECRET,
        HEALTH_CHECK_INTERVAL_SECONDS="0.5",
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        SMTP_STARTTLS="false",
        EMAIL_FROM="accounts@example.com",
        EMAIL_DISPATCH_INTERVAL_SECONDS="0.1",
        PUBLIC_BASE_URL="https://accounts.example.test",
        REDIS_URL=MACHINE_REDIS,
        TRUSTED_PROXIES="127.0.0.1/32, ::1/128",
        **RATE_LIMITS,
    )


@pytest.fixture(scope="session")
def service(service_settings, tmp_path_factory) -> Iterator[ServerProcess]:
    with start_service(
        service_settings, free_port(), tmp_path_factory.mktemp("serve") / "server.log"
    ) as server:
        wait_for_health(server.channel, SERVING)
        yield server

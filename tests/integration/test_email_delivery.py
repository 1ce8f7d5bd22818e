"""The email outbox and its dispatchers, on a database of this module's own (so that no
server of the session takes its rows): every email delivered once even with two
dispatchers at once, retries after a failure, SES through moto's server, and the console
backend that `make run` uses."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]  # moto re-exports it
from moto.server import ThreadedMotoServer
from moto.ses import ses_backends  # type: ignore[attr-defined]  # moto re-exports it
from sqlalchemy import Engine, text

from tests.support.databases import as_role, login_role, temporary_database
from tests.support.network import free_port
from tests.support.server_process import TEST_JWT_SECRET, service_env
from tests.support.smtp import SmtpSink
from user_service.config import load_settings
from user_service.domain.emails import EmailDispatcher
from user_service.server.wiring import email_dispatcher
from user_service.storage.database import make_engine, open_database, session_factory
from user_service.storage.session_limits import SessionLimits
from user_service.storage.unit_of_work import Transactions

PUBLIC_BASE_URL = "https://accounts.example.test"


@pytest.fixture(scope="module")
def outbox_database() -> Iterator[tuple[str, str]]:
    """(owner URL, service URL) of a fresh database."""
    with login_role() as role, temporary_database(migrated=True, service_role=role) as url:
        yield url, as_role(url, role)


@pytest.fixture(scope="module")
def owner(outbox_database) -> Iterator[Engine]:
    engine = make_engine(outbox_database[0], pool_size=2)
    yield engine
    engine.dispose()


def owed(owner: Engine, count: int, kind: str = "email_verification", **user: object) -> list[str]:
    """`count` new users, each owed one email of `kind`; their addresses."""
    emails = []
    with owner.begin() as connection:
        for _ in range(count):
            email = f"owed-{uuid.uuid4().hex[:12]}@example.com"
            user_id = connection.execute(
                text(
                    "INSERT INTO users (email, password_hash, full_name, email_verified)"
                    " VALUES (:email, :hash, :name, :verified) RETURNING id"
                ),
                {
                    "email": email,
                    "hash": "$2b$04$" + "x" * 53,
                    "name": user.get("name", ""),
                    "verified": user.get("verified", False),
                },
            ).scalar_one()
            connection.execute(
                text("INSERT INTO email_outbox (user_id, kind) VALUES (:u, :k)"), {"u": user_id, "k": kind}
            )
            emails.append(email)
    return emails


def settings_for(outbox_database, **overrides: str) -> dict[str, str]:
    defaults = {"EMAIL_FROM": "accounts@example.com", "PUBLIC_BASE_URL": PUBLIC_BASE_URL}
    return service_env(
        DATABASE_URL=outbox_database[1], JWT_SECRET=TEST_JWT_SECRET, **{**defaults, **overrides}
    )


@contextlib.contextmanager
def dispatcher(outbox_database, **overrides: str) -> Iterator[EmailDispatcher]:
    settings = load_settings(settings_for(outbox_database, **overrides))
    with open_database(settings) as database:
        yield email_dispatcher(settings, database)


def pending(owner: Engine) -> int:
    with owner.connect() as connection:
        return int(
            connection.execute(text("SELECT count(*) FROM email_outbox WHERE sent_time IS NULL")).scalar_one()
        )


def test_two_dispatchers_at_once_deliver_every_email_exactly_once(outbox_database, owner, tmp_path):
    emails = set(owed(owner, 70))
    with SmtpSink(delay=0.02) as sink:  # slow enough that the two surely overlap
        env = settings_for(
            outbox_database,
            EMAIL_BACKEND="smtp",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(sink.port),
            SMTP_STARTTLS="false",
        )
        with contextlib.ExitStack() as files:
            workers = [
                subprocess.Popen(
                    [sys.executable, "-m", "user_service", "send-emails", "--once"],
                    env=env,
                    stderr=files.enter_context((tmp_path / f"worker-{n}.log").open("w")),
                )
                for n in range(2)
            ]
            codes = [worker.wait(timeout=120) for worker in workers]
        delivered = Counter(message.to for message in sink.received if message.to in emails)

    assert codes == [0, 0]
    assert delivered == Counter(dict.fromkeys(emails, 1))
    with owner.connect() as connection:
        attempts = (
            connection.execute(
                text(
                    "SELECT o.attempts FROM email_outbox o JOIN users u ON u.id = o.user_id"
                    " WHERE u.email = ANY(:emails) AND o.sent_time IS NOT NULL"
                ),
                {"emails": list(emails)},
            )
            .scalars()
            .all()
        )
    assert attempts == [1] * len(emails)
    logs = [(tmp_path / f"worker-{n}.log").read_text() for n in range(2)]
    assert all('sent"' in log for log in logs), "one dispatcher did all the work"
    assert all("/verify/" not in log for log in logs)  # the SMTP backend logs no link


def test_a_failed_send_is_retried_later_and_then_delivered(outbox_database, owner):
    [email] = owed(owner, 1, name="Grace Hopper")
    port = free_port()  # nothing listens there yet
    with dispatcher(
        outbox_database,
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(port),
        SMTP_STARTTLS="false",
    ) as send:
        send.dispatch()
        with owner.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT o.attempts, o.last_error, o.sent_time, o.next_attempt_time > now() AS later"
                    " FROM email_outbox o JOIN users u ON u.id = o.user_id WHERE u.email = :e"
                ),
                {"e": email},
            ).one()
        assert (row.attempts, row.sent_time, row.later) == (1, None, True)
        assert row.last_error == "SMTP: ConnectionRefusedError"
        send.dispatch()  # not due yet: nothing happens
        with owner.begin() as connection:
            connection.execute(text("UPDATE email_outbox SET next_attempt_time = now()"))

        with SmtpSink(port) as sink:
            send.dispatch()
            message = sink.wait_for(email, "Verify your email address")
    assert "Hello Grace Hopper," in message.text
    assert f"{PUBLIC_BASE_URL}/verify/" in message.text


def test_emails_nobody_should_get_any_more_are_dropped(outbox_database, owner):
    [deleted] = owed(owner, 1)
    [verified] = owed(owner, 1, verified=True)
    with owner.begin() as connection:
        connection.execute(
            text(
                "UPDATE users SET email = NULL, password_hash = NULL, full_name = '', is_active = false,"
                " delete_time = now() WHERE email = :e"
            ),
            {"e": deleted},
        )
    with SmtpSink() as sink:
        with dispatcher(
            outbox_database,
            EMAIL_BACKEND="smtp",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(sink.port),
            SMTP_STARTTLS="false",
        ) as send:
            while send.dispatch():
                pass
        assert sink.to(verified) == []
    assert pending(owner) == 0


@pytest.fixture(scope="module")
def aws(monkeypatch_module) -> Iterator[dict[str, str]]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    variables = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    for name, value in variables.items():
        monkeypatch_module.setenv(name, value)
    yield variables
    server.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_ses_delivers_through_its_api(outbox_database, owner, aws):
    boto3.client("sesv2").create_email_identity(EmailIdentity="accounts@example.com")
    [email] = owed(owner, 1, kind="password_reset")

    with dispatcher(outbox_database, EMAIL_BACKEND="ses") as send:
        while send.dispatch():
            pass

    sent = [
        message
        for message in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
        if email in message.destinations["ToAddresses"]
    ]
    assert len(sent) == 1
    assert sent[0].subject == "Reset your password"
    assert f"{PUBLIC_BASE_URL}/reset-password?token=" in sent[0].body
    assert pending(owner) == 0


def test_ses_refusing_the_sender_is_retried_later(outbox_database, owner, aws):
    [email] = owed(owner, 1)

    with dispatcher(outbox_database, EMAIL_BACKEND="ses", EMAIL_FROM="unverified@example.com") as send:
        send.dispatch()

    with owner.connect() as connection:
        error = connection.execute(
            text(
                "SELECT o.last_error FROM email_outbox o JOIN users u ON u.id = o.user_id WHERE u.email = :e"
            ),
            {"e": email},
        ).scalar()
    assert error == "SES: MessageRejected"


def test_the_console_backend_writes_the_link_to_the_log_for_a_newcomer(outbox_database, owner):
    [email] = owed(owner, 1)

    done = subprocess.run(
        [sys.executable, "-m", "user_service", "send-emails", "--once"],
        env=settings_for(outbox_database, EMAIL_BACKEND="console", LOG_FORMAT="text"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert f"email to {email}: Verify your email address" in done.stderr
    assert f"{PUBLIC_BASE_URL}/verify/" in done.stderr


def test_a_claim_skips_the_rows_another_dispatcher_is_claiming(outbox_database, owner):
    """The race the lease alone cannot close: two claims at the same instant."""
    owed(owner, 4)
    limits = SessionLimits(statement_timeout_ms=3000, lock_timeout_ms=1000)
    engine = make_engine(outbox_database[1], pool_size=2, limits=limits)
    transactions = Transactions(session_factory(engine, limits))
    try:
        with transactions() as first:
            held = {item.id for item in first.outbox.claim(2, timedelta(minutes=2), 10)}
            with transactions() as second:
                taken = {item.id for item in second.outbox.claim(50, timedelta(minutes=2), 10)}
    finally:
        engine.dispose()

    assert len(held) == 2
    assert taken
    assert held.isdisjoint(taken)

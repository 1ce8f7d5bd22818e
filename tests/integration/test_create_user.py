"""`python -m user_service create-user`: a verified, active user, for the first admin and
for service accounts."""

from __future__ import annotations

import uuid

import bcrypt
from sqlalchemy import text

from tests.support.server_process import run_cli

PASSWORD = "correct horse battery staple"


def unique_email() -> str:
    return f"Ops-{uuid.uuid4().hex[:8]}@Example.com"


def stored_user(engine, email):
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT u.id, u.email, u.roles, u.is_active, u.email_verified, u.password_hash,"
                " a.available, a.held, a.currency"
                " FROM users u LEFT JOIN accounts a ON a.user_id = u.id WHERE u.email = :email"
            ),
            {"email": email},
        ).one_or_none()


def test_create_user_makes_a_verified_active_user_with_an_account(env, engine):
    email = unique_email()

    created = run_cli(["create-user", "--email", email, "--password", PASSWORD, "--role", "admin"], env)

    assert created.returncode == 0, created.stderr
    row = stored_user(engine, email.lower())
    assert row is not None
    assert created.stdout.strip() == f"created user {row.id} <{email.lower()}> with roles admin"
    assert (row.roles, row.is_active, row.email_verified) == (["admin"], True, True)
    assert (row.available, row.held, row.currency) == (0, 0, "USD")
    assert row.password_hash != PASSWORD
    assert bcrypt.checkpw(PASSWORD.encode(), row.password_hash.encode())
    for secret in (PASSWORD, row.password_hash):
        assert secret not in created.stdout + created.stderr


def test_several_roles_and_a_password_from_stdin(env, engine):
    email = unique_email()

    created = run_cli(
        ["create-user", "--email", email, "--password-stdin", "--role", "service", "--role", "agent"],
        env,
        stdin=PASSWORD + "\n",
    )

    assert created.returncode == 0, created.stderr
    row = stored_user(engine, email.lower())
    assert row.roles == ["agent", "service"]
    assert bcrypt.checkpw(PASSWORD.encode(), row.password_hash.encode())


def test_the_default_role_is_user(env, engine):
    email = unique_email()

    assert run_cli(["create-user", "--email", email, "--password", PASSWORD], env).returncode == 0
    assert stored_user(engine, email.lower()).roles == ["user"]


def test_an_email_is_registered_once(env, engine):
    email = unique_email()
    assert run_cli(["create-user", "--email", email, "--password", PASSWORD], env).returncode == 0

    again = run_cli(["create-user", "--email", email.upper(), "--password", PASSWORD + "!"], env)

    assert again.returncode == 1
    assert again.stderr.strip() == "create-user: this email address is already registered"


def test_a_weak_password_creates_nothing(env, engine):
    email = unique_email()

    refused = run_cli(["create-user", "--email", email, "--password", "short"], env)

    assert refused.returncode == 1
    assert "password: must be at least 8 characters" in refused.stderr
    assert "short" not in refused.stderr.replace("must be at least", "")
    assert stored_user(engine, email.lower()) is None


def test_an_unknown_role_is_refused(env):
    refused = run_cli(
        ["create-user", "--email", unique_email(), "--password", PASSWORD, "--role", "emperor"], env
    )

    assert refused.returncode == 2
    assert "invalid choice: 'emperor'" in refused.stderr

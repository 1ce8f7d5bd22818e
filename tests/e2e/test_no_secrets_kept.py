"""Every password and token a user's life goes through, searched for in the server's log,
the audit trail and every table: none is there (tokens are kept as digests only)."""

from __future__ import annotations

from sqlalchemy import text

from tests.support.auth_client import NEW_PASSWORD, PASSWORD, Caller, new_email
from user_service.storage.models import Base

WRONG_PASSWORD = "definitely-not-the-password"


def test_no_password_or_token_is_logged_audited_or_stored(service, smtp, engine):
    email = new_email("secrets")
    client = Caller(service.channel)
    secrets = {PASSWORD, NEW_PASSWORD, WRONG_PASSWORD}

    client.call("Register", email=email, password=PASSWORD, full_name="Secret Keeper")
    verification = smtp.wait_for(email, "Verify your email address").link_token()
    client.call("VerifyEmail", token=verification)
    client.refused("VerifyEmail", token=verification)
    client.refused("Login", email=email, password=WRONG_PASSWORD)
    login = client.login(email)
    refreshed = client.call("RefreshToken", refresh_token=login.refresh_token)
    client.refused("RefreshToken", refresh_token=login.refresh_token)  # reuse: the session ends
    again = client.login(email)
    client.refused("ChangePassword", current_password=WRONG_PASSWORD, new_password=NEW_PASSWORD)
    client.call("ChangePassword", current_password=PASSWORD, new_password=NEW_PASSWORD)
    client.call("ForgotPassword", email=email)
    reset = smtp.wait_for(email, "Reset your password").link_token()
    client.call("ResetPassword", token=reset, new_password=PASSWORD)
    client.refused("ResetPassword", token=reset, new_password=NEW_PASSWORD)
    final = client.login(email)
    client.call("Logout")
    client.refused("GetMe")
    secrets |= {verification, reset}
    for answer in (login, refreshed, again, final):
        secrets |= {answer.access_token, answer.refresh_token}

    log = service.output()
    with engine.connect() as connection:
        audit = [row[0] for row in connection.execute(text("SELECT a::text FROM audit_events a"))]
        stored = {
            table.name: [row[0] for row in connection.execute(text(f"SELECT t::text FROM {table.name} t"))]  # noqa: S608
            for table in Base.metadata.sorted_tables
        }
    assert audit
    assert any(email in row for row in stored["users"])  # the search does see the data
    for secret in secrets:
        assert secret not in log
        assert not any(secret in row for row in audit)
        for table, rows in stored.items():
            assert not any(secret in row for row in rows), f"a secret is stored in {table}"

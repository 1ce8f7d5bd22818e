"""Settings from the environment: defaults, parsing, and refusals with one clear message."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from user_service.config import ConfigError, Settings, development_jwt_secret, load_settings

SECRET = "s" * 40


def test_nothing_configured_gives_the_documented_defaults():
    settings = load_settings({})

    assert settings == Settings()
    assert settings.grpc_port == 50051
    assert settings.metrics_port == 9090
    assert settings.bcrypt_rounds == 12
    assert settings.access_token_ttl == 3600
    assert settings.reset_token_ttl == 1800
    assert settings.require_email_verification is True
    assert settings.email_backend == "console"
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.jwt_secret is None
    assert settings.max_amount == 100_000_000
    assert settings.deposit_batch_max == 32
    assert settings.hold_sweep_interval_seconds == 30.0


def test_every_variable_is_read():
    settings = load_settings(
        {
            "ENVIRONMENT": "Production",
            "DATABASE_URL": "postgresql://u:p@db:5432/users",
            "REDIS_URL": "rediss://cache:6380/0",
            "JWT_SECRET": SECRET,
            "GRPC_PORT": "6000",
            "GRPC_MAX_WORKERS": "32",
            "METRICS_PORT": "9191",
            "BCRYPT_ROUNDS": "10",
            "ACCESS_TOKEN_TTL": "600",
            "RESET_TOKEN_TTL": "900",
            "REQUIRE_EMAIL_VERIFICATION": "false",
            "EMAIL_BACKEND": "smtp",
            "SMTP_HOST": "mail.internal",
            "SMTP_PORT": "2525",
            "SMTP_USERNAME": "mailer",
            "SMTP_PASSWORD": "mail-password",
            "SMTP_STARTTLS": "no",
            "EMAIL_FROM": "accounts@example.com",
            "PUBLIC_BASE_URL": "https://accounts.example.com/",
            "LOG_LEVEL": "debug",
            "LOG_FORMAT": "TEXT",
            "DATA_DIR": "/var/lib/user-service",
            "SHUTDOWN_GRACE_SECONDS": "12.5",
            "HEALTH_CHECK_INTERVAL_SECONDS": "2",
            "MAX_AMOUNT": "5000",
            "DEPOSIT_BATCH_MAX": "8",
            "HOLD_SWEEP_INTERVAL_SECONDS": "10",
        }
    )

    assert settings == Settings(
        environment="production",
        database_url="postgresql://u:p@db:5432/users",
        redis_url="rediss://cache:6380/0",
        jwt_secret=SECRET,
        grpc_port=6000,
        grpc_max_workers=32,
        metrics_port=9191,
        bcrypt_rounds=10,
        access_token_ttl=600,
        reset_token_ttl=900,
        require_email_verification=False,
        email_backend="smtp",
        smtp_host="mail.internal",
        smtp_port=2525,
        smtp_username="mailer",
        smtp_password="mail-password",
        smtp_starttls=False,
        email_from="accounts@example.com",
        public_base_url="https://accounts.example.com",
        log_level="DEBUG",
        log_format="text",
        data_dir=Path("/var/lib/user-service"),
        shutdown_grace_seconds=12.5,
        health_check_interval_seconds=2.0,
        max_amount=5000,
        deposit_batch_max=8,
        hold_sweep_interval_seconds=10.0,
    )


def test_empty_values_count_as_unset():
    assert load_settings({"DATABASE_URL": "", "GRPC_PORT": "  ", "JWT_SECRET": ""}) == Settings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("JWT_SECRET", "too-short-secret", "JWT_SECRET must be at least 32 bytes long"),
        ("GRPC_PORT", "fifty", "GRPC_PORT must be a whole number, got 'fifty'"),
        ("GRPC_PORT", "70000", "GRPC_PORT must be between 1 and 65535, got 70000"),
        ("METRICS_PORT", "9090.5", "METRICS_PORT must be a whole number"),
        ("EMAIL_BACKEND", "pigeon", "EMAIL_BACKEND must be one of console, smtp, ses, got 'pigeon'"),
        ("BCRYPT_ROUNDS", "3", "BCRYPT_ROUNDS must be between 4 and 31, got 3"),
        ("REQUIRE_EMAIL_VERIFICATION", "maybe", "REQUIRE_EMAIL_VERIFICATION must be true or false"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of json, text"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("ENVIRONMENT", "staging", "ENVIRONMENT must be one of development, production"),
        ("SHUTDOWN_GRACE_SECONDS", "-1", "SHUTDOWN_GRACE_SECONDS must be a number of seconds"),
        ("REDIS_URL", "http://cache", "REDIS_URL must be a URL starting with redis://"),
        ("MAX_AMOUNT", "0", "MAX_AMOUNT must be between 1 and 9223372036854775807, got 0"),
        ("MAX_AMOUNT", "1e6", "MAX_AMOUNT must be a whole number, got '1e6'"),
        ("DEPOSIT_BATCH_MAX", "0", "DEPOSIT_BATCH_MAX must be between 1 and 1000, got 0"),
        ("HOLD_SWEEP_INTERVAL_SECONDS", "0", "HOLD_SWEEP_INTERVAL_SECONDS must be a number of seconds"),
    ],
)
def test_invalid_values_are_refused_with_their_message(variable, value, message):
    with pytest.raises(ConfigError) as refused:
        load_settings({variable: value})

    assert message in str(refused.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as refused:
        load_settings({"GRPC_PORT": "x", "EMAIL_BACKEND": "fax", "JWT_SECRET": "short"})

    lines = str(refused.value).splitlines()
    assert lines[0] == "invalid configuration:"
    assert [line.split()[1] for line in lines[1:]] == ["JWT_SECRET", "GRPC_PORT", "EMAIL_BACKEND"]


def test_secret_values_never_appear_in_messages_or_repr():
    short_secret = "hunter2-is-a-short-secret"
    url = "mysql://admin:db-password-123@db/users"
    with pytest.raises(ConfigError) as refused:
        load_settings({"JWT_SECRET": short_secret, "DATABASE_URL": url})
    assert short_secret not in str(refused.value)
    assert "db-password-123" not in str(refused.value)

    settings = load_settings(
        {
            "JWT_SECRET": SECRET,
            "DATABASE_URL": "postgresql://u:db-password-123@db/users",
            "SMTP_PASSWORD": "smtp-password-456",
            "REDIS_URL": "redis://:redis-password-789@cache",
        }
    )
    shown = repr(settings)
    for secret in (SECRET, "db-password-123", "smtp-password-456", "redis-password-789"):
        assert secret not in shown


def test_production_needs_a_database_and_a_jwt_secret():
    with pytest.raises(ConfigError) as refused:
        load_settings({"ENVIRONMENT": "production"})

    assert "DATABASE_URL is required when ENVIRONMENT=production" in str(refused.value)
    assert "JWT_SECRET is required when ENVIRONMENT=production" in str(refused.value)


def test_smtp_needs_a_host():
    with pytest.raises(ConfigError, match="SMTP_HOST is required when EMAIL_BACKEND=smtp"):
        load_settings({"EMAIL_BACKEND": "smtp"})


def test_development_jwt_secret_is_made_once_and_kept_private(tmp_path, caplog):
    data_dir = tmp_path / ".data"
    with caplog.at_level(logging.WARNING):
        first = development_jwt_secret(data_dir)
        second = development_jwt_secret(data_dir)

    assert first == second
    assert len(first.encode()) >= 32
    kept = data_dir / "jwt_secret"
    assert kept.read_text() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert "JWT_SECRET is not set" in caplog.text
    assert first not in caplog.text


def test_database_limits_and_the_migration_role_are_read():
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://app@db/users",
            "MIGRATION_DATABASE_URL": "postgresql://owner:pw@db/users",
            "DATABASE_STATEMENT_TIMEOUT_SECONDS": "3",
            "DATABASE_LOCK_TIMEOUT_SECONDS": "0.5",
            "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS": "20",
            "DATABASE_POOL_TIMEOUT_SECONDS": "1.5",
            "GRPC_MAX_CONCURRENT_RPCS": "64",
        }
    )

    assert settings.owner_database_url == "postgresql://owner:pw@db/users"
    assert (
        settings.database_statement_timeout_seconds,
        settings.database_lock_timeout_seconds,
        settings.database_idle_in_transaction_timeout_seconds,
        settings.database_pool_timeout_seconds,
        settings.grpc_max_concurrent_rpcs,
    ) == (3.0, 0.5, 20.0, 1.5, 64)
    assert "pw" not in repr(settings)


def test_migrations_run_as_the_service_unless_told_otherwise():
    assert load_settings({"DATABASE_URL": "postgresql://app@db/users"}).owner_database_url == (
        "postgresql://app@db/users"
    )


def test_a_migration_role_needs_the_service_role_too():
    with pytest.raises(ConfigError, match="MIGRATION_DATABASE_URL needs DATABASE_URL"):
        load_settings({"MIGRATION_DATABASE_URL": "postgresql://owner@db/users"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_LOCK_TIMEOUT_SECONDS", "0"),
        ("GRPC_MAX_CONCURRENT_RPCS", "0"),
        ("MIGRATION_DATABASE_URL", "mysql://x"),
    ],
)
def test_bad_database_limits_are_refused(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings({"DATABASE_URL": "postgresql://app@db/users", variable: value})


def test_metrics_reconciliation_and_processes_are_read():
    settings = load_settings(
        {
            "METRICS_REFRESH_SECONDS": "2.5",
            "RECONCILE_INTERVAL_SECONDS": "0",
            "GRPC_PROCESSES": "4",
            "REDIS_URL": "redis://cache:6379/0",
        }
    )

    assert (
        settings.metrics_refresh_seconds,
        settings.reconcile_interval_seconds,
        settings.grpc_processes,
    ) == (
        2.5,
        0,
        4,
    )
    with pytest.raises(ConfigError, match="GRPC_PROCESSES must be between 1 and 64"):
        load_settings({"GRPC_PROCESSES": "0"})


def test_several_processes_need_redis_to_share_revocations_and_limits():
    """Without Redis each process would keep its own session cache (a token revoked in one
    still accepted by the others for a minute) and its own rate-limit counts."""
    with pytest.raises(ConfigError, match="GRPC_PROCESSES above 1 needs REDIS_URL"):
        load_settings({"GRPC_PROCESSES": "2"})
    assert load_settings({"GRPC_PROCESSES": "1"}).grpc_processes == 1

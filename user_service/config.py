"""Configuration: environment variables, merged with an AWS Secrets Manager secret.

When `AWS_SECRET_ID` is set, that secret's JSON object (keys named like the variables)
is merged over the environment. Every problem is collected and reported at once in a
`ConfigError`, whose message never repeats a secret's value.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from user_service.adapters.aws_secrets import SecretUnavailable, fetch_json_secret
from user_service.caller import Network
from user_service.environment import EnvironmentReader

ENVIRONMENTS = ("development", "production")
EMAIL_BACKENDS = ("console", "smtp", "ses")
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg2", "postgres")
MIN_JWT_SECRET_BYTES = 32
MAX_INT64 = 2**63 - 1

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """The service cannot start with this configuration; the message lists every problem."""


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    # None: an embedded PostgreSQL under data_dir (development only).
    database_url: str | None = field(default=None, repr=False)
    # None: DATABASE_URL. The owner of the tables; the service's own role gets only what it needs.
    migration_database_url: str | None = field(default=None, repr=False)
    database_statement_timeout_seconds: float = 5.0
    database_lock_timeout_seconds: float = 2.0
    database_idle_in_transaction_timeout_seconds: float = 10.0
    database_pool_timeout_seconds: float = 2.0
    # None: in-process fallbacks, fine for a single instance.
    redis_url: str | None = field(default=None, repr=False)
    # None: a generated development secret kept under data_dir (development only).
    jwt_secret: str | None = field(default=None, repr=False)
    # Secrets that verify tokens but no longer sign them, during a rotation.
    jwt_previous_secrets: tuple[str, ...] = field(default=(), repr=False)
    grpc_port: int = 50051
    grpc_max_workers: int = 16
    grpc_max_concurrent_rpcs: int = 256
    # Server processes sharing the port (SO_REUSEPORT); production: one per core.
    grpc_processes: int = 1
    # Peers whose x-forwarded-for is believed (Envoy); empty: none.
    trusted_proxies: tuple[Network, ...] = ()
    metrics_port: int = 9090
    bcrypt_rounds: int = 12
    access_token_ttl: int = 3600
    reset_token_ttl: int = 1800
    refresh_token_ttl: int = 30 * 86400
    verification_token_ttl: int = 86400
    require_email_verification: bool = True
    # Failures (wrong passwords, bad tokens) and email requests counted per window.
    rate_limit_window_seconds: int = 900
    rate_limit_failures_per_account: int = 5
    rate_limit_failures_per_address: int = 100
    rate_limit_emails_per_account: int = 5
    rate_limit_emails_per_address: int = 50
    # bcrypt runs on this many threads; 0: one per core.
    bcrypt_threads: int = 0
    email_backend: str = "console"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = True
    email_from: str = "user-service@localhost"
    public_base_url: str = "http://localhost:8080"
    email_dispatch_interval_seconds: float = 2.0
    aws_secret_id: str = ""
    log_level: str = "INFO"
    log_format: str = "json"
    data_dir: Path = Path(".data")
    shutdown_grace_seconds: float = 20.0
    health_check_interval_seconds: float = 5.0
    # The most one Balance call may move, in minor units.
    max_amount: int = 100_000_000
    # The most deposits one statement writes (and commits) together; 1: each alone.
    deposit_batch_max: int = 32
    # How often the server releases holds past their ttl.
    hold_sweep_interval_seconds: float = 30.0
    # How often the gauges read from the database are refreshed.
    metrics_refresh_seconds: float = 15.0
    # How often the server checks every balance against its ledger; 0: never.
    reconcile_interval_seconds: int = 300

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def owner_database_url(self) -> str | None:
        """Where migrations connect: the owner of the tables."""
        return self.migration_database_url or self.database_url


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `environ` (default: the process environment) and the AWS secret."""
    env = dict(os.environ if environ is None else environ)
    secret_id = env.get("AWS_SECRET_ID", "").strip()
    if secret_id:
        try:
            env.update(fetch_json_secret(secret_id))
        except SecretUnavailable as exc:
            raise _config_error([str(exc)]) from None
    read = EnvironmentReader(env)
    defaults = Settings()
    settings = Settings(
        environment=read.choice("ENVIRONMENT", defaults.environment, ENVIRONMENTS),
        database_url=read.url("DATABASE_URL", POSTGRES_SCHEMES),
        migration_database_url=read.url("MIGRATION_DATABASE_URL", POSTGRES_SCHEMES),
        database_statement_timeout_seconds=read.seconds(
            "DATABASE_STATEMENT_TIMEOUT_SECONDS", defaults.database_statement_timeout_seconds
        ),
        database_lock_timeout_seconds=read.seconds(
            "DATABASE_LOCK_TIMEOUT_SECONDS", defaults.database_lock_timeout_seconds
        ),
        database_idle_in_transaction_timeout_seconds=read.seconds(
            "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS",
            defaults.database_idle_in_transaction_timeout_seconds,
        ),
        database_pool_timeout_seconds=read.seconds(
            "DATABASE_POOL_TIMEOUT_SECONDS", defaults.database_pool_timeout_seconds
        ),
        redis_url=read.url("REDIS_URL", ("redis", "rediss", "unix")),
        jwt_secret=read.secret("JWT_SECRET", MIN_JWT_SECRET_BYTES),
        jwt_previous_secrets=read.secrets("JWT_PREVIOUS_SECRETS", MIN_JWT_SECRET_BYTES),
        grpc_port=read.port("GRPC_PORT", defaults.grpc_port),
        grpc_max_workers=read.integer("GRPC_MAX_WORKERS", defaults.grpc_max_workers, 1, 1000),
        grpc_max_concurrent_rpcs=read.integer(
            "GRPC_MAX_CONCURRENT_RPCS", defaults.grpc_max_concurrent_rpcs, 1, 100_000
        ),
        trusted_proxies=read.networks("TRUSTED_PROXIES"),
        metrics_port=read.port("METRICS_PORT", defaults.metrics_port),
        bcrypt_rounds=read.integer("BCRYPT_ROUNDS", defaults.bcrypt_rounds, 4, 31),
        access_token_ttl=read.integer("ACCESS_TOKEN_TTL", defaults.access_token_ttl, 60, 86400),
        reset_token_ttl=read.integer("RESET_TOKEN_TTL", defaults.reset_token_ttl, 60, 86400),
        refresh_token_ttl=read.integer("REFRESH_TOKEN_TTL", defaults.refresh_token_ttl, 300, 365 * 86400),
        verification_token_ttl=read.integer(
            "VERIFICATION_TOKEN_TTL", defaults.verification_token_ttl, 300, 30 * 86400
        ),
        require_email_verification=read.boolean(
            "REQUIRE_EMAIL_VERIFICATION", defaults.require_email_verification
        ),
        rate_limit_window_seconds=read.integer(
            "RATE_LIMIT_WINDOW_SECONDS", defaults.rate_limit_window_seconds, 1, 86400
        ),
        rate_limit_failures_per_account=read.integer(
            "RATE_LIMIT_FAILURES_PER_ACCOUNT", defaults.rate_limit_failures_per_account, 1, 1_000_000
        ),
        rate_limit_failures_per_address=read.integer(
            "RATE_LIMIT_FAILURES_PER_ADDRESS", defaults.rate_limit_failures_per_address, 1, 1_000_000
        ),
        rate_limit_emails_per_account=read.integer(
            "RATE_LIMIT_EMAILS_PER_ACCOUNT", defaults.rate_limit_emails_per_account, 1, 1_000_000
        ),
        rate_limit_emails_per_address=read.integer(
            "RATE_LIMIT_EMAILS_PER_ADDRESS", defaults.rate_limit_emails_per_address, 1, 1_000_000
        ),
        bcrypt_threads=read.integer("BCRYPT_THREADS", defaults.bcrypt_threads, 0, 256),
        email_backend=read.choice("EMAIL_BACKEND", defaults.email_backend, EMAIL_BACKENDS),
        smtp_host=read.text("SMTP_HOST", defaults.smtp_host),
        smtp_port=read.port("SMTP_PORT", defaults.smtp_port),
        smtp_username=read.text("SMTP_USERNAME", defaults.smtp_username),
        smtp_password=read.text("SMTP_PASSWORD", defaults.smtp_password),
        smtp_starttls=read.boolean("SMTP_STARTTLS", defaults.smtp_starttls),
        email_from=read.text("EMAIL_FROM", defaults.email_from),
        public_base_url=read.text("PUBLIC_BASE_URL", defaults.public_base_url).rstrip("/"),
        email_dispatch_interval_seconds=read.seconds(
            "EMAIL_DISPATCH_INTERVAL_SECONDS", defaults.email_dispatch_interval_seconds
        ),
        aws_secret_id=secret_id,
        log_level=read.choice("LOG_LEVEL", defaults.log_level, LOG_LEVELS, str.upper),
        log_format=read.choice("LOG_FORMAT", defaults.log_format, LOG_FORMATS),
        data_dir=Path(read.text("DATA_DIR", str(defaults.data_dir))),
        shutdown_grace_seconds=read.seconds("SHUTDOWN_GRACE_SECONDS", defaults.shutdown_grace_seconds),
        health_check_interval_seconds=read.seconds(
            "HEALTH_CHECK_INTERVAL_SECONDS", defaults.health_check_interval_seconds
        ),
        max_amount=read.integer("MAX_AMOUNT", defaults.max_amount, 1, MAX_INT64),
        deposit_batch_max=read.integer("DEPOSIT_BATCH_MAX", defaults.deposit_batch_max, 1, 1000),
        hold_sweep_interval_seconds=read.seconds(
            "HOLD_SWEEP_INTERVAL_SECONDS", defaults.hold_sweep_interval_seconds
        ),
        metrics_refresh_seconds=read.seconds("METRICS_REFRESH_SECONDS", defaults.metrics_refresh_seconds),
        reconcile_interval_seconds=read.integer(
            "RECONCILE_INTERVAL_SECONDS", defaults.reconcile_interval_seconds, 0, 7 * 86400
        ),
        grpc_processes=read.integer("GRPC_PROCESSES", defaults.grpc_processes, 1, 64),
    )
    read.errors.extend(_cross_field_errors(settings))
    if read.errors:
        raise _config_error(read.errors)
    return settings


def _config_error(problems: list[str]) -> ConfigError:
    return ConfigError("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def _cross_field_errors(settings: Settings) -> list[str]:
    errors = []
    if settings.is_production:
        errors += [
            f"{name} is required when ENVIRONMENT=production"
            for name, value in (("DATABASE_URL", settings.database_url), ("JWT_SECRET", settings.jwt_secret))
            if value is None
        ]
    if settings.migration_database_url is not None and settings.database_url is None:
        errors.append("MIGRATION_DATABASE_URL needs DATABASE_URL (the role the service connects as)")
    if settings.is_production and settings.email_backend == "console":
        errors.append(
            "EMAIL_BACKEND=console writes links with live tokens to the log: use smtp or ses in production"
        )
    if not settings.public_base_url.startswith(("http://", "https://")):
        errors.append("PUBLIC_BASE_URL must start with http:// or https://")
    if settings.email_backend == "smtp" and not settings.smtp_host:
        errors.append("SMTP_HOST is required when EMAIL_BACKEND=smtp")
    if settings.grpc_processes > 1 and not settings.redis_url:
        errors.append(
            "GRPC_PROCESSES above 1 needs REDIS_URL: the processes learn of each other's revoked"
            " sessions and share rate-limit counts through Redis"
        )
    return errors


def development_jwt_secret(data_dir: Path) -> str:
    """The JWT secret for a development machine: made once, kept in data_dir/jwt_secret."""
    path = data_dir / "jwt_secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first; read theirs
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
    log.warning("JWT_SECRET is not set: using the development secret kept in %s", path)
    return path.read_text().strip()

"""Settings -> adapters -> handlers: everything the server (and the CLI's workers) run on.

Without REDIS_URL, rate limits and the session cache live in the process (fine for one
instance); with it, they live in Redis and fall back as each adapter documents.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass

from user_service.adapters.counters import LocalCounters, RedisCounters
from user_service.adapters.email import ConsoleSender, EmailSender, SesSender, SmtpSender
from user_service.adapters.jwt_tokens import JwtCodec
from user_service.adapters.password_pool import PasswordPool
from user_service.adapters.passwords import BcryptHasher
from user_service.adapters.redis_link import RedisLink
from user_service.adapters.session_cache import (
    LocalSessionCache,
    NearSessionCache,
    RedisSessionCache,
    SessionCache,
)
from user_service.config import Settings, development_jwt_secret
from user_service.domain.authentication import AccessTokens, TokenAuthenticator
from user_service.domain.emails import EmailDispatcher, Links
from user_service.domain.rate_limits import Limits, RateLimits
from user_service.domain.recovery import RecoveryHandler, ResetTokens
from user_service.domain.registration import RegistrationHandler
from user_service.domain.sessions import SessionRules, SessionsHandler
from user_service.domain.users import UsersHandler
from user_service.server.servicers.user_auth import UserAuthHandlers
from user_service.storage.database import Database


@dataclass
class Services:
    authenticate: TokenAuthenticator
    user_auth: UserAuthHandlers
    dispatcher: EmailDispatcher
    _stack: contextlib.ExitStack

    def close(self) -> None:
        self._stack.close()


def jwt_codec(settings: Settings) -> JwtCodec:
    signing = settings.jwt_secret or development_jwt_secret(settings.data_dir)
    return JwtCodec([signing, *settings.jwt_previous_secrets])


def email_sender(settings: Settings) -> EmailSender:
    if settings.email_backend == "smtp":
        return SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            settings.email_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    if settings.email_backend == "ses":
        return SesSender(settings.email_from)
    return ConsoleSender()


def email_dispatcher(
    settings: Settings, database: Database, codec: JwtCodec | None = None
) -> EmailDispatcher:
    return EmailDispatcher(
        transactions=database.transactions,
        sender=email_sender(settings),
        reset_tokens=ResetTokens(codec or jwt_codec(settings), settings.reset_token_ttl),
        links=Links(settings.public_base_url, settings.verification_token_ttl, settings.reset_token_ttl),
    )


def build_services(settings: Settings, database: Database) -> Services:
    stack = contextlib.ExitStack()
    codec = jwt_codec(settings)
    link = RedisLink(settings.redis_url) if settings.redis_url else None
    if link is not None:
        stack.callback(link.close)
    cache: SessionCache = (
        NearSessionCache(RedisSessionCache(link)) if link is not None else LocalSessionCache()
    )
    counters = RedisCounters(link) if link is not None else LocalCounters()
    limits = RateLimits(
        counters,
        Limits(
            window_seconds=settings.rate_limit_window_seconds,
            failures_per_account=settings.rate_limit_failures_per_account,
            failures_per_address=settings.rate_limit_failures_per_address,
            emails_per_account=settings.rate_limit_emails_per_account,
            emails_per_address=settings.rate_limit_emails_per_address,
        ),
    )
    hasher = BcryptHasher(settings.bcrypt_rounds)
    passwords = PasswordPool(hasher, settings.bcrypt_threads)
    stack.callback(passwords.shutdown)
    access_tokens = AccessTokens(codec, settings.access_token_ttl)
    transactions = database.transactions
    handlers = UserAuthHandlers(
        registration=RegistrationHandler(transactions=transactions, passwords=passwords, limits=limits),
        sessions=SessionsHandler(
            transactions=transactions,
            passwords=passwords,
            access_tokens=access_tokens,
            limits=limits,
            cache=cache,
            rules=SessionRules(settings.refresh_token_ttl, settings.require_email_verification),
            # Unknown emails are checked against this, so that they take as long as known ones.
            stand_in_hash=hasher.hash(secrets.token_urlsafe(24)),
        ),
        recovery=RecoveryHandler(
            transactions=transactions,
            passwords=passwords,
            reset_tokens=ResetTokens(codec, settings.reset_token_ttl),
            limits=limits,
            cache=cache,
            token_ttl_seconds=settings.access_token_ttl,
        ),
        users=UsersHandler(
            transactions, database.loop_statements, passwords, cache, settings.access_token_ttl, limits=limits
        ),
    )
    return Services(
        authenticate=TokenAuthenticator(codec, cache, database.statements, settings.access_token_ttl),
        user_auth=handlers,
        dispatcher=email_dispatcher(settings, database, codec),
        _stack=stack,
    )

"""The email dispatcher: delivers what the outbox says users are owed, at least once.

A batch is claimed (storage/repositories/outbox.py: SKIP LOCKED and a lease, so several
dispatchers never send one email at the same time) and its links' tokens are made in the
same transaction: a verification token (stored as a digest, bound to the address it goes
to) or a password-reset JWT (bound to the current password hash). Then each email is
sent outside any transaction and marked sent, or retried later with exponential backoff,
up to MAX_ATTEMPTS. Emails for a deleted user, or verifications of an address already
verified, are dropped.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from user_service.adapters.email import EmailFailed, EmailMessage, EmailSender
from user_service.domain.model import EmailKind
from user_service.domain.opaque_tokens import new_token
from user_service.domain.recovery import ResetTokens
from user_service.storage.repositories.outbox import OutboxItem
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions

BATCH = 20
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 10
FIRST_RETRY_SECONDS = 5
LAST_RETRY_SECONDS = 3600

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Links:
    public_base_url: str
    verification_ttl_seconds: int
    reset_ttl_seconds: int


class EmailDispatcher:
    def __init__(
        self, *, transactions: Transactions, sender: EmailSender, reset_tokens: ResetTokens, links: Links
    ) -> None:
        self._transactions = transactions
        self._sender = sender
        self._reset_tokens = reset_tokens
        self._links = links

    def dispatch(self) -> bool:
        """Send one batch; True when the batch was full (more may be due)."""
        prepared = self._transactions.run(self._claim)
        for item, message in prepared:
            self._deliver(item, message)
        return len(prepared) == BATCH

    def _deliver(self, item: OutboxItem, message: EmailMessage | None) -> None:
        error: str | None = None
        if message is not None:
            try:
                self._sender.send(message)
            except EmailFailed as failed:
                error = str(failed)

        def settle(uow: SqlUnitOfWork) -> None:
            if message is None:
                uow.outbox.drop(item.id)
            elif error is None:
                uow.outbox.sent(item.id)
            else:
                uow.outbox.failed(item.id, error, _backoff(item.attempts))
            uow.commit()

        self._transactions.run(settle)
        if error is not None:
            log.warning("email %d (%s) not sent, attempt %d: %s", item.id, item.kind, item.attempts, error)
        elif message is not None:
            log.info("email %d (%s) sent", item.id, item.kind)

    def _claim(self, uow: SqlUnitOfWork) -> list[tuple[OutboxItem, EmailMessage | None]]:
        prepared = [(item, self._message(uow, item)) for item in uow.outbox.claim(BATCH, LEASE, MAX_ATTEMPTS)]
        uow.commit()
        return prepared

    def _message(self, uow: SqlUnitOfWork, item: OutboxItem) -> EmailMessage | None:
        if item.user_id is None or item.email is None:
            return None
        hello = f"Hello {item.full_name}," if item.full_name else "Hello,"
        if item.kind == EmailKind.VERIFICATION:
            if item.email_verified:
                return None
            token, token_digest = new_token()
            ttl = self._links.verification_ttl_seconds
            expire_time = datetime.now(UTC) + timedelta(seconds=ttl)
            uow.tokens.add(item.user_id, EmailKind.VERIFICATION, token_digest, item.email, expire_time)
            link = f"{self._links.public_base_url}/verify/{token}"
            return EmailMessage(
                item.email,
                "Verify your email address",
                f"{hello}\n\nOpen this link to verify your email address:\n\n{link}\n\n"
                f"It works once, within {_duration(ttl)}. If you did not ask for it, ignore this email.\n",
            )
        if item.kind == EmailKind.PASSWORD_RESET and item.password_hash is not None:
            token = self._reset_tokens.issue(item.user_id, item.password_hash, item.email)
            link = f"{self._links.public_base_url}/reset-password?token={token}"
            return EmailMessage(
                item.email,
                "Reset your password",
                f"{hello}\n\nOpen this link to choose a new password:\n\n{link}\n\n"
                f"It works once, within {_duration(self._links.reset_ttl_seconds)}. "
                "If you did not ask for it, ignore this email: your password stays as it is.\n",
            )
        return None


def _backoff(attempts: int) -> timedelta:
    seconds = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LAST_RETRY_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311  (jitter, not a secret)


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(seconds // 60, 1)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"

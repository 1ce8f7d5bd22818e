"""A real SMTP server (aiosmtpd) that keeps what it receives, for tests to read emails from."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller

from tests.support.network import free_port


@dataclass(frozen=True)
class Received:
    to: str
    subject: str
    text: str

    def link_token(self) -> str:
        """The token in the email's link (/verify/<token> or ?token=<token>)."""
        found = re.search(r"(?:/verify/|[?&]token=)([A-Za-z0-9_.\-]+)", self.text)
        assert found, f"no link in {self.text!r}"
        return found.group(1)


class _Keeper:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._sink.delay:
            await asyncio.sleep(self._sink.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        for to in envelope.rcpt_tos:
            self._sink.add(Received(to.lower(), str(message["Subject"]), text))
        return "250 OK"


class SmtpSink:
    def __init__(self, port: int | None = None, delay: float = 0) -> None:
        """`delay`: seconds each message takes to be accepted (a slow mail server)."""
        self.port = port or free_port()
        self.delay = delay
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self._controller = Controller(_Keeper(self), hostname="127.0.0.1", port=self.port)

    def add(self, message: Received) -> None:
        with self._lock:
            self.received.append(message)

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [message for message in self.received if message.to == address.lower()]

    def wait_for(self, address: str, subject: str, count: int = 1, within: float = 15) -> Received:
        """The `count`-th email with `subject` to `address`, once it has arrived."""
        deadline = time.monotonic() + within
        while True:
            found = [message for message in self.to(address) if message.subject == subject]
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no email {count} {subject!r} to {address} within {within} s: {self.to(address)}"
                )
            time.sleep(0.05)

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()

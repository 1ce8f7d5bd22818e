"""A TCP proxy in front of PostgreSQL that can lose an answer the server has sent: the
crash between a commit and its client hearing of it, on demand.

Every byte passes both ways as it comes. Once armed with `lose(carrying)`, the first
connection whose client sends the bytes `carrying` (a request_id: in a statement's text,
as psycopg2 sends it, or in its parameters, as asyncpg does) is marked, and the server's
side of it is read as PostgreSQL's messages (a type byte, then a length that counts
itself): each answer is held until it ends (ReadyForQuery), and passed on while it ends
inside a transaction; the first that ends outside one (ReadyForQuery 'I': the statement
in autocommit mode, or the transaction's COMMIT, has committed by then) is dropped and
both ends of the connection are closed. The client hears only that its connection was
lost.

It runs on an event loop thread of its own; `address` is where clients connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import make_url

from tests.support.loop_thread import LoopThread

_IDLE = b"I"


@dataclass
class _Link:
    marked: bool = False  # its client sent what the proxy is armed with


class LostAnswers:
    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._carrying = b""  # armed when not empty
        self.lost = 0  # answers lost so far
        self._server: asyncio.Server | None = None
        self.address: tuple[str, int] = ("", 0)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.address = self._server.sockets[0].getsockname()[:2]

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    def lose(self, carrying: str) -> None:
        """Lose the answer that commits the first request sent holding `carrying` (once)."""
        self._carrying = carrying.encode()

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection(*self._target)
        link = _Link()
        ways = [
            asyncio.ensure_future(self._requests(client_in, server_out, link)),
            asyncio.ensure_future(self._answers(server_in, client_out, link)),
        ]
        try:  # either way ending (an end gone, or an answer lost) ends both
            await asyncio.wait(ways, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for way in ways:
                way.cancel()
            for writer in (client_out, server_out):
                writer.transport.abort()
            await asyncio.gather(*ways, return_exceptions=True)

    async def _requests(
        self, client_in: asyncio.StreamReader, server_out: asyncio.StreamWriter, link: _Link
    ) -> None:
        tail = b""  # the end of the chunk before: `carrying` may span two
        while chunk := await client_in.read(65536):
            if self._carrying and self._carrying in tail + chunk:
                link.marked = True
            tail = chunk[-len(self._carrying) :] if self._carrying else b""
            server_out.write(chunk)
            await server_out.drain()

    async def _answers(
        self, server_in: asyncio.StreamReader, client_out: asyncio.StreamWriter, link: _Link
    ) -> None:
        # Before the first message: one byte each for the client's SSL and GSS requests
        # ('N': not supported here; the rest would be encrypted, which this proxy cannot read).
        while (first := await server_in.readexactly(1)) == b"N":
            client_out.write(first)
        if first == b"S":
            raise RuntimeError("the server agreed to encrypt: connect with sslmode=disable")
        held, kind = bytearray(), first
        while True:
            (length,) = struct.unpack("!I", await server_in.readexactly(4))
            body = await server_in.readexactly(length - 4)
            if link.marked and kind == b"Z" and body == _IDLE:
                self._carrying, link.marked = b"", False
                self.lost += 1
                return  # unsent: both ends are closed (_serve)
            held += kind + struct.pack("!I", length) + body
            if not link.marked or kind == b"Z":
                client_out.write(held)
                held.clear()
                await client_out.drain()
            kind = await server_in.readexactly(1)


@contextlib.contextmanager
def behind_lost_answers(url: str) -> Iterator[tuple[str, LostAnswers]]:
    """A LostAnswers proxy to the database at `url` (SQLAlchemy's form), on a loop of its
    own, closed at the end: the URL to connect through it instead, and the proxy."""
    target = make_url(url)
    proxy = LostAnswers((target.host or "127.0.0.1", target.port or 5432))
    with LoopThread() as loop:
        loop.run(proxy.start())
        host, port = proxy.address
        proxied = target.set(host=host, port=port, query={**target.query, "sslmode": "disable"})
        try:
            yield proxied.render_as_string(hide_password=False), proxy
        finally:
            loop.loop.call_soon_threadsafe(proxy.close)

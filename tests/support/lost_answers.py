"""A TCP proxy in front of PostgreSQL that can lose an answer the server has sent: the
crash between a commit and its client hearing of it, on demand.

Every byte passes both ways as it comes, and the server's side is read as PostgreSQL's
messages (a type byte, then a length that counts itself). Once armed with
`lose(carrying)`, the proxy holds back each answer's rows (from its first DataRow to
ReadyForQuery) until the answer ends; the first answer that ends outside a transaction
(ReadyForQuery 'I': a statement in autocommit mode has committed by then) with a row
holding the bytes `carrying` (a request_id, say) is dropped, and both ends of its
connection are closed: the client hears only that its connection was
lost. Other answers are passed on whole.

It runs on an event loop thread of its own; `address` is where clients connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Iterator

from tests.support.loop_thread import LoopThread

_IDLE = b"I"


class LostAnswers:
    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._carrying: bytes | None = None  # armed: an answer with a row holding these is lost
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
        """Lose the next answer that commits with a row holding `carrying` (once)."""
        self._carrying = carrying.encode()

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection(*self._target)
        ways = [
            asyncio.ensure_future(self._pass(client_in, server_out)),
            asyncio.ensure_future(self._answers(server_in, client_out)),
        ]
        try:  # either way ending (an end gone, or an answer lost) ends both
            await asyncio.wait(ways, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for way in ways:
                way.cancel()
            for writer in (client_out, server_out):
                writer.transport.abort()
            await asyncio.gather(*ways, return_exceptions=True)

    async def _pass(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()

    async def _answers(self, server_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        # Before the first message: one byte each for the client's SSL and GSS requests
        # ('N': not supported here; the rest would be encrypted, which this proxy cannot read).
        while (first := await server_in.readexactly(1)) == b"N":
            client_out.write(first)
        if first == b"S":
            raise RuntimeError("the server agreed to encrypt: connect with ssl=False")
        held, holding, kind = bytearray(), False, first
        while True:
            (length,) = struct.unpack("!I", await server_in.readexactly(4))
            body = await server_in.readexactly(length - 4)
            holding = holding or kind == b"D"
            if kind == b"Z":
                if self._carrying is not None and body == _IDLE and self._carrying in held:
                    self._carrying = None
                    self.lost += 1
                    return  # unsent: both ends are closed (_serve)
                holding = False
            held += kind + struct.pack("!I", length) + body
            # Held from an answer's first row to its end; anything else (a statement's
            # parse and describe, which asyncpg ends with Flush, not Sync) passes at once.
            if self._carrying is None or not holding:
                client_out.write(held)
                held.clear()
                await client_out.drain()
            kind = await server_in.readexactly(1)


@contextlib.contextmanager
def lost_answers(host: str, port: int) -> Iterator[LostAnswers]:
    """A LostAnswers proxy to PostgreSQL at host:port, on a loop of its own, closed at the end."""
    proxy = LostAnswers((host, port))
    with LoopThread() as loop:
        loop.run(proxy.start())
        try:
            yield proxy
        finally:
            loop.loop.call_soon_threadsafe(proxy.close)

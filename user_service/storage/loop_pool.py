"""asyncpg connections for the server's event loop (storage/loop_statements.py uses them).

Made when first needed, up to `size`. A call that finds none free waits for one to be
released (first come, first served) for DATABASE_POOL_TIMEOUT_SECONDS, then hears
DATABASE_BUSY; or until its own deadline, when that comes first, then DATABASE_TIMEOUT.
A connection that died (the database restarted) is dropped when it comes back or when it
is found idle and closed, and the call waiting longest makes a new one in its place.

Not asyncpg's own Pool: its acquire and release (a proxy object per checkout, timeouts
through wait_for, a reset query per release unless disabled) cost GetMe a fifth of its
calls per second; what is needed here is a list of idle connections and a queue of waiters.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeAlias

import asyncpg

from user_service import deadlines, metrics
from user_service.storage.errors import DatabaseBusy, DatabaseTimeout

Connect = Callable[[], Awaitable[asyncpg.Connection]]
# What a waiter is handed: a connection, or (None) room to make one.
_Slot: TypeAlias = asyncpg.Connection | None


class LoopPool:
    def __init__(self, connect: Connect, size: int, timeout_seconds: float) -> None:
        self._connect = connect
        self._size = size
        self._timeout = timeout_seconds
        self._idle: list[asyncpg.Connection] = []
        self._open = 0  # idle, checked out, or being made
        self._waiters: collections.deque[asyncio.Future[_Slot]] = collections.deque()
        self._reported_in_use = 0
        metrics.counted_here(self)  # its connections in use, in the pool gauge, once a second

    async def acquire(self) -> asyncpg.Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():
                return connection
            self._open -= 1
        if self._open < self._size:
            self._open += 1
            return await self._new()
        slot = await self._wait()
        return slot if slot is not None else await self._new()

    def release(self, connection: asyncpg.Connection, *, broken: bool = False) -> None:
        """Give back a connection; `broken` (or found closed): it is closed and dropped."""
        if broken or connection.is_closed():
            connection.terminate()
            self._free_place()
        else:
            self._hand_over(connection)

    def flush(self) -> None:
        """Its connections in use (or being made) into the pool gauge, which SQLAlchemy's
        pool moves on each checkout: per call here, that would cost a call two updates."""
        in_use = self._open - len(self._idle)
        metrics.pool_in_use.inc(in_use - self._reported_in_use)
        self._reported_in_use = in_use

    async def close(self) -> None:
        """Close the idle connections (those still checked out close as they come back)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 1)
            connection.terminate()
        self._open -= len(idle)

    async def _new(self) -> asyncpg.Connection:
        """A new connection, in a place already counted in _open."""
        try:
            connection = await self._connect()
        except BaseException:
            self._free_place()
            raise
        return connection

    async def _wait(self) -> _Slot:
        left = deadlines.remaining()
        if left == 0:
            raise DatabaseTimeout()
        waiter: asyncio.Future[_Slot] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        metrics.pool_waiting.inc()
        by_deadline = left is not None and left < self._timeout
        try:
            async with asyncio.timeout(left if by_deadline else self._timeout):
                return await waiter
        except BaseException as stopped:
            if waiter.done() and not waiter.cancelled():  # handed a slot just as the wait ended
                slot = waiter.result()
                if slot is None:
                    self._free_place()
                else:
                    self._hand_over(slot)
            if isinstance(stopped, TimeoutError):
                raise (DatabaseTimeout() if by_deadline else DatabaseBusy()) from None
            raise
        finally:
            metrics.pool_waiting.dec()

    def _next_waiter(self) -> asyncio.Future[_Slot] | None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                return waiter
        return None

    def _hand_over(self, connection: asyncpg.Connection) -> None:
        """To the first caller still waiting, or to the idle list."""
        waiter = self._next_waiter()
        if waiter is None:
            self._idle.append(connection)
        else:
            waiter.set_result(connection)

    def _free_place(self) -> None:
        """A place counted in _open is given up: to the first caller still waiting (who
        makes a connection in it), or it is gone."""
        waiter = self._next_waiter()
        if waiter is None:
            self._open -= 1
        else:
            waiter.set_result(None)

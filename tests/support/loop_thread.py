"""An asyncio event loop (uvloop, as the server's) on a thread of its own, so that tests
written with threads can run the service's coroutines: `loop.run(coroutine)` blocks the
calling thread until the coroutine, run on the loop, is done. Many threads may call at
once; their coroutines then run concurrently on the loop, as the server's calls do."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

import uvloop

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-loop", daemon=True)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run on the loop, in the caller's context (its deadline, its caller's address, ...),
        as a call's coroutines run in the call's own context on the server."""
        carried = contextvars.copy_context()

        async def in_callers_context() -> T:
            for variable, value in carried.items():
                variable.set(value)
            return await coroutine

        return asyncio.run_coroutine_threadsafe(in_callers_context(), self.loop).result(timeout)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.run(self.loop.shutdown_default_executor())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Blocking:
    """`target`'s methods, its coroutine methods run to their end on `loop` (for threads)."""

    def __init__(self, target: object, loop: LoopThread) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._target, name)
        if not inspect.iscoroutinefunction(found):
            return found

        @functools.wraps(found)
        def blocking(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run(found(*args, **kwargs))

        return blocking


def on_loop(loop: LoopThread, function: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """`function`, a coroutine function, as a blocking one that runs it on `loop`."""
    return lambda *args, **kwargs: loop.run(function(*args, **kwargs))

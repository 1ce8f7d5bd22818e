"""Servicers: proto in, plain values to a handler, proto out. Nothing else.

Each RPC is a coroutine on the server's event loop: it awaits a handler's coroutine (the
hot reads and writes, done on the loop), or hands a handler's blocking method to a
worker thread with `asyncio.to_thread` (which carries the call's context: its caller,
request id and deadline).
"""

from __future__ import annotations

from typing import Any

import grpc

Context = grpc.aio.ServicerContext[Any, Any]

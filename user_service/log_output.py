"""Where log lines go: stderr, in batches.

A write to stderr per line (every call logs one) cost GetMe a seventh of its CPU. Lines
are kept and written together: at least every FLUSH_SECONDS (a thread of the handler's
own), at once for WARNING and above, and at exit (logging's shutdown flushes handlers).
Each write holds whole lines and at most PIPE_BUF bytes when it can, so that the lines of
several server processes sharing one pipe never interleave (a pipe write of at most
PIPE_BUF bytes is atomic); a longer line goes alone, as it did before.
"""

from __future__ import annotations

import logging
import os
import select
import threading

FLUSH_SECONDS = 0.2
ATOMIC_BYTES = select.PIPE_BUF


class BatchedStderr(logging.Handler):
    def __init__(self, fd: int = 2, flush_seconds: float = FLUSH_SECONDS) -> None:
        super().__init__()
        self._fd = fd
        self._lines: list[bytes] = []
        self._closing = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_every, args=(flush_seconds,), name="log-flusher", daemon=True
        )
        self._flusher.start()

    def emit(self, record: logging.LogRecord) -> None:  # called with the handler's lock held
        try:
            self._lines.append((self.format(record) + "\n").encode("utf-8", "backslashreplace"))
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING:
            self.flush()

    def write_line(self, line: bytes) -> None:
        """A line already formatted (call_log.py), written with the others."""
        assert self.lock is not None  # made by Handler.__init__
        with self.lock:
            self._lines.append(line)

    def flush(self) -> None:
        assert self.lock is not None
        with self.lock:
            lines, self._lines = self._lines, []
            for chunk in _chunks(lines):
                _write_all(self._fd, chunk)

    def close(self) -> None:
        self._closing.set()
        self.flush()
        super().close()

    def _flush_every(self, seconds: float) -> None:
        while not self._closing.wait(seconds):
            if self._lines:
                self.flush()


def _chunks(lines: list[bytes]) -> list[bytes]:
    """Whole lines joined into writes of at most ATOMIC_BYTES (a longer line alone)."""
    chunks: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for line in lines:
        if pending and size + len(line) > ATOMIC_BYTES:
            chunks.append(b"".join(pending))
            pending, size = [], 0
        pending.append(line)
        size += len(line)
    if pending:
        chunks.append(b"".join(pending))
    return chunks


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError:
            return  # stderr is gone (closed pipe): nothing more can be said there
        view = view[written:]

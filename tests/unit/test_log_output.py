"""Log lines written in batches: whole lines in writes of at most PIPE_BUF bytes (so that
several processes sharing a pipe never split each other's lines), WARNING and above at
once, the rest within the flush interval, and everything at close."""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Iterator

import pytest

from user_service.log_output import BatchedStderr


class Pipe:
    """The read end of a pipe, and what reached it."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.writes: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := os.read(self.read_fd, 1 << 20):
            self.writes.append(chunk)

    def text(self) -> str:
        return b"".join(self.writes).decode()

    def close(self) -> None:
        os.close(self.write_fd)
        self._reader.join(5)
        os.close(self.read_fd)


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    made = Pipe()
    yield made
    made.close()


def handler_on(pipe: Pipe, flush_seconds: float = 30) -> BatchedStderr:
    handler = BatchedStderr(fd=pipe.write_fd, flush_seconds=flush_seconds)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    return handler


def record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("test", level, "", 0, message, None, None)


def wait_for(check, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


def test_info_lines_wait_for_the_flush_and_a_warning_takes_them_along(pipe):
    handler = handler_on(pipe)
    handler.handle(record(logging.INFO, "first"))
    handler.write_line(b"already formatted\n")
    time.sleep(0.2)
    assert pipe.writes == []

    handler.handle(record(logging.WARNING, "now"))

    wait_for(lambda: pipe.text() == "INFO first\nalready formatted\nWARNING now\n")
    handler.close()


def test_lines_are_written_within_the_flush_interval(pipe):
    handler = handler_on(pipe, flush_seconds=0.05)
    handler.handle(record(logging.INFO, "soon"))

    wait_for(lambda: pipe.text() == "INFO soon\n", within=2)
    handler.close()


def test_writes_hold_whole_lines_and_at_most_pipe_buf_bytes(pipe, monkeypatch):
    writes: list[bytes] = []
    real_write = os.write

    def recorded(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr("user_service.log_output.os.write", recorded)
    handler = handler_on(pipe)
    lines = [f"line {n:05d} " + "x" * (n % 300) for n in range(600)]
    long_line = "y" * (2 * select.PIPE_BUF)
    for line in [*lines[:300], long_line, *lines[300:]]:
        handler.handle(record(logging.INFO, line))

    handler.close()

    wait_for(lambda: pipe.text().count("\n") == 601)
    assert pipe.text().splitlines() == [f"INFO {line}" for line in [*lines[:300], long_line, *lines[300:]]]
    assert len(writes) > 1
    for write in writes:
        assert write.endswith(b"\n")
        assert len(write) <= select.PIPE_BUF or write.count(b"\n") == 1  # a long line goes alone

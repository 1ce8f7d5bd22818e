"""Logging: JSON lines (or text) on stderr (in batches: log_output.py), each record carrying
the current request id.

Log lines are redacted of the row values PostgreSQL puts in its DETAIL lines ("Failing row
contains (...)", "Key (email)=(...)"): a violated constraint on users would otherwise log
a password hash. Values may span lines (a full name with a newline), so redaction does not
stop at a line's end: the exact DETAIL text of every database error in the record is
removed, and in text alone everything from such a marker up to SQLAlchemy's "[SQL: "
trailer (or the end) is. SQL parameters are hidden by the engine itself.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime

from user_service.call_log import call_log
from user_service.log_output import BatchedStderr

# Set by the interceptors for the duration of each call: its request id, and the caller's
# user id once its token is known.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)

# Attributes every LogRecord has; anything else was passed in `extra=` and is logged too.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "user_id",
}


_ROW_VALUES = re.compile(r"Failing row contains \(|Key \(.*?\)=\(")
_SQL_TRAILER = "\n[SQL: "
REDACTED = "(redacted)"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


def redact(text: str, details: Iterable[str] = ()) -> str:
    """`text` without row values: the `details` given (exact DETAIL texts) and whatever
    follows a row-value marker up to SQLAlchemy's trailer or the end."""
    for detail in details:
        marker = _ROW_VALUES.search(detail)
        text = text.replace(detail, detail[: marker.end() - 1] + REDACTED if marker else REDACTED)
    if "row contains" not in text and "Key (" not in text:
        return text  # most lines: no row values to look for
    return _redact_markers(text)


def _redact_markers(text: str) -> str:
    parts = []
    while (marker := _ROW_VALUES.search(text)) is not None:
        end = text.rfind(_SQL_TRAILER, marker.end())
        end = len(text) if end == -1 else end
        parts.append(text[: marker.end() - 1] + REDACTED)
        text = text[end:]
    return "".join(parts) + text


def _database_details(record: logging.LogRecord) -> set[str]:
    """The DETAIL texts of the database errors a record carries (psycopg2's diag)."""
    if not record.exc_info and not (
        isinstance(record.args, tuple) and any(isinstance(arg, BaseException) for arg in record.args)
    ):
        return set()  # most lines: nothing to look into
    found: set[str] = set()
    pending: list[object] = [record.exc_info[1] if record.exc_info else None]
    if isinstance(record.args, tuple):
        pending += list(record.args)
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        detail = getattr(getattr(error, "diag", None), "message_detail", None)
        if detail:
            found.add(detail)
        pending += [error.__cause__, error.__context__, getattr(error, "orig", None)]
    return found


class _CallFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        record.user_id = user_id_var.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), _database_details(record))


# One encoder for every line (json.dumps with an argument such as `default` makes a new one
# each time).
_ENCODE = json.JSONEncoder(default=str).encode


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._second_text = ""

    def _time(self, created: float) -> str:
        """ISO 8601 with milliseconds, UTC; the part up to the second is made once a second."""
        second = int(created)
        if second != self._second:
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._second_text}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        details = _database_details(record)
        entry = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage(), details),
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", "-")
        if request_id != "-":
            entry["request_id"] = request_id
        user_id = getattr(record, "user_id", None)
        if user_id:
            entry["user_id"] = user_id
        fields = record.__dict__
        for extra in fields.keys() - _STANDARD:
            entry[extra] = fields[extra]
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info), details)
        return _ENCODE(entry)


def configure_logging(level: str, fmt: str) -> None:
    # Records need not find their thread's or process's name, nor the file and line of the
    # call (the logging module's own switch for that: _srcfile): no line shows them.
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    handler = BatchedStderr()
    handler.addFilter(_CallFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    for replaced in root.handlers:
        replaced.close()
    root.handlers[:] = [handler]
    root.setLevel(level)
    call_log.write_to(handler.write_line, json=fmt == "json")

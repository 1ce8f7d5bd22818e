"""Collect every field violation of a request before refusing it, so that the caller learns
of all its mistakes in one INVALID_ARGUMENT."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from user_service.domain.errors import FieldViolation, InvalidArgument

T = TypeVar("T")


class Violations:
    def __init__(self) -> None:
        self._found: list[FieldViolation] = []

    def check(self, function: Callable[..., T], *args: Any, default: T, **kwargs: Any) -> T:
        """`function(*args, **kwargs)`, or `default` after noting the violations it raised."""
        try:
            return function(*args, **kwargs)
        except InvalidArgument as error:
            self._found += error.violations
            return default

    def add(self, field: str, description: str, reason: str) -> None:
        self._found.append(FieldViolation(field, description, reason))

    def raise_any(self) -> None:
        if self._found:
            raise InvalidArgument(*self._found)


def require(**fields: str) -> None:
    """MISSING_FIELD for every field given empty."""
    found = Violations()
    for name, value in fields.items():
        if not value:
            found.add(name, "is required", "MISSING_FIELD")
    found.raise_any()

"""Typed values from environment variables, each problem collected with a clear message.

Empty values count as unset. Messages repeat a value only where it cannot be a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from user_service.caller import Network, parse_networks

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class EnvironmentReader:
    """Parses variables, collecting every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.errors: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.raw(name) or default

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.errors.append(f"{name} must be a whole number, got {raw!r}")
            return default
        if not low <= value <= high:
            self.errors.append(f"{name} must be between {low} and {high}, got {value}")
        return value

    def port(self, name: str, default: int) -> int:
        return self.integer(name, default, 1, 65535)

    def seconds(self, name: str, default: float) -> float:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 < value < 3600:
            self.errors.append(f"{name} must be a number of seconds between 0 and 3600, got {raw!r}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.raw(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE + _FALSE:
            return raw.lower() in _TRUE
        self.errors.append(f"{name} must be true or false, got {raw!r}")
        return default

    def choice(
        self, name: str, default: str, choices: tuple[str, ...], normalize: Callable[[str], str] = str.lower
    ) -> str:
        raw = self.raw(name)
        if raw is None:
            return default
        if normalize(raw) not in choices:
            self.errors.append(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
            return default
        return normalize(raw)

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        raw = self.raw(name)
        if raw is not None and raw.partition("://")[0] not in schemes:
            # The value is not repeated: URLs carry passwords.
            self.errors.append(
                f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return raw

    def secrets(self, name: str, min_bytes: int) -> tuple[str, ...]:
        """Comma-separated secrets, each at least `min_bytes` long (values never repeated)."""
        values = tuple(part.strip() for part in (self.raw(name) or "").split(",") if part.strip())
        if any(len(value.encode()) < min_bytes for value in values):
            self.errors.append(f"{name}: each secret must be at least {min_bytes} bytes long")
        return values

    def networks(self, name: str) -> tuple[Network, ...]:
        """Comma-separated IP addresses and CIDR networks."""
        try:
            return parse_networks(self.raw(name) or "")
        except ValueError as exc:
            self.errors.append(f"{name}: {exc}")
            return ()

    def secret(self, name: str, min_bytes: int) -> str | None:
        raw = self.raw(name)
        if raw is not None and len(raw.encode()) < min_bytes:
            self.errors.append(f"{name} must be at least {min_bytes} bytes long")
        return raw

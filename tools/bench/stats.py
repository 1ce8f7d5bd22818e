"""Percentiles of latencies, medians over rounds, and what one measurement found."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (fraction in (0, 1]): the smallest value with at least that
    fraction of the values at or below it; None when there are none."""
    if not values:
        return None
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1]: {fraction}")
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that are known; None when none is."""
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


@dataclass(frozen=True)
class Measurement:
    """One run of one figure or ceiling, over its measured window (warm-up excluded).

    calls_per_second counts successful calls only; p50/p99 are of successful calls; errors
    counts the failed ones by status code name."""

    name: str
    calls_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    errors: dict[str, int] = field(default_factory=dict)
    # What else was seen (CPU of the load generator, server and machine; connections).
    details: dict[str, str] = field(default_factory=dict)
    # The whole machine's busy CPU over the window, in % of one core (200 = 2 cores).
    machine_busy: float | None = None

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True)
class Summary:
    """A figure over its rounds: medians of calls/s, p50 and p99; errors added up."""

    name: str
    rounds: tuple[Measurement, ...]

    @property
    def calls_per_second(self) -> float:
        return median(m.calls_per_second for m in self.rounds) or 0.0

    @property
    def p50_ms(self) -> float | None:
        return median(m.p50_ms for m in self.rounds)

    @property
    def p99_ms(self) -> float | None:
        return median(m.p99_ms for m in self.rounds)

    @property
    def errors(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for measurement in self.rounds:
            total.update(measurement.errors)
        return dict(sorted(total.items()))


def ratio(ours: float, ceiling: float) -> float | None:
    """ours / ceiling; None when the ceiling measured nothing."""
    return ours / ceiling if ceiling > 0 else None

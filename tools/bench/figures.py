"""The figures, their ceilings and targets (issue 9, on a 2-core machine), and the order
in which a round measures them: each ceiling right before the figures it bounds."""

from __future__ import annotations

from dataclasses import dataclass

ECHO = "echo"
PGBENCH_500 = "pgbench-500"
PGBENCH_1 = "pgbench-1"
BCRYPT = "bcrypt"

CEILING_LABELS = {
    ECHO: "bare gRPC echo",
    PGBENCH_500: "pgbench, 500 rows",
    PGBENCH_1: "pgbench, 1 row",
    BCRYPT: "bcrypt.checkpw, all cores",
}


@dataclass(frozen=True)
class Figure:
    name: str
    label: str
    ceiling: str
    target: float


FIGURES = (
    Figure("getme", "GetMe", ECHO, 0.6),
    Figure("getbalance", "GetBalance", ECHO, 0.6),
    Figure("deposit", "Deposit, 500 accounts", PGBENCH_500, 0.5),
    Figure("deposit-hot", "Deposit, 1 hot account", PGBENCH_1, 0.9),
    Figure("login", "Login", BCRYPT, 0.9),
)
BY_NAME = {figure.name: figure for figure in FIGURES}


def select(only: str) -> tuple[Figure, ...]:
    """The figures named in `only` (comma-separated; empty: all), in their usual order."""
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown figure {', '.join(unknown)}: choose from {', '.join(BY_NAME)}")
    return tuple(figure for figure in FIGURES if not names or figure.name in names)


def round_order(figures: tuple[Figure, ...]) -> list[str]:
    """What one round measures, in order: each ceiling, then the figures it bounds (echo,
    getme, getbalance; pgbench-500, deposit; pgbench-1, deposit-hot; bcrypt, login)."""
    groups: dict[str, list[str]] = {}
    for figure in figures:
        groups.setdefault(figure.ceiling, []).append(figure.name)
    return [name for ceiling, names in groups.items() for name in (ceiling, *names)]

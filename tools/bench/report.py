"""The table: each figure beside its ceiling, the ratio and the target, as Markdown (which
reads well in a terminal too, and pastes into the README)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.bench.figures import BY_NAME, CEILING_LABELS, Figure
from tools.bench.hot_account import HotCheck
from tools.bench.stats import Summary, ratio


@dataclass
class Block:
    """Everything measured with one GRPC_PROCESSES value."""

    processes: int
    summaries: dict[str, Summary] = field(default_factory=dict)
    hot_checks: list[HotCheck] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    figure: Figure
    ours: Summary
    ceiling: Summary

    @property
    def ratio(self) -> float | None:
        return ratio(self.ours.calls_per_second, self.ceiling.calls_per_second)

    @property
    def met(self) -> bool:
        return self.ratio is not None and self.ratio >= self.figure.target


def rows(block: Block, figures: tuple[Figure, ...]) -> list[Row]:
    return [
        Row(figure, block.summaries[figure.name], block.summaries[figure.ceiling])
        for figure in figures
        if figure.name in block.summaries and figure.ceiling in block.summaries
    ]


def table(block: Block, figures: tuple[Figure, ...]) -> str:
    header = [
        "figure",
        "calls/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "ceiling",
        "ceiling calls/s",
        "ceiling p50 ms",
        "ratio",
        "target",
        "",
    ]
    lines = [header, ["---", *["---:"] * 3, "---", "---", *["---:"] * 4, "---"]]
    for row in rows(block, figures):
        lines.append(
            [
                row.figure.label,
                rate(row.ours.calls_per_second),
                millis(row.ours.p50_ms),
                millis(row.ours.p99_ms),
                errors(row.ours.errors),
                CEILING_LABELS[row.figure.ceiling],
                rate(row.ceiling.calls_per_second),
                millis(row.ceiling.p50_ms),
                "-" if row.ratio is None else f"{row.ratio:.2f}",
                f"≥ {row.figure.target:g}",
                "met" if row.met else "**missed**",
            ]
        )
    return markdown(lines)


def markdown(lines: list[list[str]]) -> str:
    """Columns padded to a width, so the table reads as text too (the second line is the
    separator row)."""
    widths = [max(len(line[column]) for line in lines) for column in range(len(lines[0]))]
    out = []
    for number, line in enumerate(lines):
        cells = []
        for cell, width in zip(line, widths, strict=True):
            if number == 1:  # the separator row: "---" or, aligned right, "---:"
                cells.append("-" * (width - 1) + (":" if cell.endswith(":") else "-"))
            else:
                cells.append(cell.ljust(width))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def details(block: Block, order: list[str]) -> str:
    """Per figure and ceiling: each round's calls/s (and a figure's ratio to the ceiling
    measured just before it, round by round: how much the noise moved it), and where the
    CPU went in the last round."""
    out = []
    for name in order:
        summary = block.summaries.get(name)
        if summary is None:
            continue
        rounds = ", ".join(rate(m.calls_per_second) for m in summary.rounds)
        line = f"- {name}: {rounds} calls/s by round"
        ceiling = block.summaries.get(BY_NAME[name].ceiling) if name in BY_NAME else None
        if ceiling is not None:
            paired = [
                ratio(o.calls_per_second, c.calls_per_second)
                for o, c in zip(summary.rounds, ceiling.rounds, strict=True)
            ]
            line += " (ratio " + ", ".join("-" if r is None else f"{r:.2f}" for r in paired) + ")"
        seen = "; ".join(f"{key} {value}" for key, value in summary.rounds[-1].details.items())
        out.append(line + (f"; last round: {seen}" if seen else ""))
    out.extend(
        f"- hot account after round {n}: {check.describe()}" for n, check in enumerate(block.hot_checks, 1)
    )
    return "\n".join(out)


def missed(blocks: list[Block], figures: tuple[Figure, ...]) -> list[str]:
    return [
        f"GRPC_PROCESSES={block.processes}: {row.figure.label} at "
        + ("-" if row.ratio is None else f"{row.ratio:.2f}")
        + f" of {CEILING_LABELS[row.figure.ceiling]}, target {row.figure.target:g}"
        for block in blocks
        for row in rows(block, figures)
        if not row.met
    ]


def rate(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def millis(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def errors(counts: dict[str, int]) -> str:
    return ", ".join(f"{code} {count}" for code, count in counts.items()) or "0"

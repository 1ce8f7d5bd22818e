"""What the machine and the processes did during a window: CPU time from /proc, and the
TCP connections of a port from `ss` (Linux only, as the bench's machine)."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")
_OWNER = re.compile(r"pid=(\d+)")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces and parentheses)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_tree(root: int) -> list[int]:
    """root and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used (those still alive)."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def busy_percent(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Busy share of all cores between two machine_ticks(), as % of one core (200% = 2 cores)."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return 100.0 * (os.cpu_count() or 1) * busy / total if total else 0.0


class MachineCpu:
    """The machine's busy CPU over a window that starts `warmup` seconds from now."""

    def __init__(self) -> None:
        self._marks: list[tuple[int, int]] = []
        self._thread: threading.Thread | None = None

    def mark_at(self, warmup: float, seconds: float) -> None:
        def marks() -> None:
            time.sleep(warmup)
            self._marks.append(machine_ticks())
            time.sleep(seconds)
            self._marks.append(machine_ticks())

        self._thread = threading.Thread(target=marks, daemon=True)
        self._thread.start()

    def busy(self) -> float | None:
        """% of one core, once the window is over."""
        if self._thread is not None:
            self._thread.join()
        return busy_percent(self._marks[0], self._marks[1]) if len(self._marks) == 2 else None

    def describe(self) -> str:
        busy = self.busy()
        return "?" if busy is None else describe_busy(busy)


def describe_busy(busy: float) -> str:
    return f"{busy:.0f}% of {100 * (os.cpu_count() or 1)}%"


@dataclass(frozen=True)
class Connections:
    """Established TCP connections to a port: the client's, and how the servers' processes share them."""

    client: int
    by_server_pid: dict[int, int]

    def describe(self) -> str:
        spread = "/".join(str(count) for _, count in sorted(self.by_server_pid.items()))
        return f"{self.client} (per server process: {spread or '?'})"


def connections(port: int, client_pid: int) -> Connections:
    """Read with `ss -tnp`: connections the client process holds to `port`, and the server
    processes holding the other ends."""
    listing = subprocess.run(
        ["ss", "-Htnp", "state", "established"], capture_output=True, text=True, check=False, timeout=10
    ).stdout
    return parse_ss(listing, port, client_pid)


def parse_ss(listing: str, port: int, client_pid: int) -> Connections:
    rows = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 5:  # Recv-Q Send-Q local peer process
            rows.append((fields[2], fields[3], {int(pid) for pid in _OWNER.findall(" ".join(fields[4:]))}))
    # The client's ends by their local port (the server may see them as IPv4-mapped IPv6).
    ours = {_port(local) for local, peer, pids in rows if _port(peer) == port and client_pid in pids}
    servers: Counter[int] = Counter()
    for local, peer, pids in rows:
        if _port(local) == port and _port(peer) in ours:
            servers.update(pids)
    return Connections(len(ours), dict(servers))


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[-1])

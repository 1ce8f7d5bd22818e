"""What the load generator is asked to do, and what it answers: JSON between the bench and
the generator's process (python -m tools.bench.loadgen reads a LoadSpec on stdin and
prints a LoadResult)."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class LoadSpec:
    target: str  # host:port
    method: str  # /package.Service/Method
    concurrency: int
    channels: int
    warmup: float
    seconds: float
    deadline: float
    metadata: tuple[tuple[str, str], ...] = ()
    # The same request bytes every call, or (payloads set) each of these in turn, or
    # (deposit_accounts set) a new DepositRequest per call: a random one of these
    # accounts, amount 1..1000, a new request_id.
    payload: bytes = b""
    payloads: tuple[bytes, ...] = ()
    deposit_accounts: tuple[str, ...] = ()
    # Whose CPU to measure over the window: these processes and their descendants.
    server_pid: int = 0

    def to_json(self) -> str:
        fields = asdict(self)
        fields["payload"] = base64.b64encode(self.payload).decode()
        fields["payloads"] = [base64.b64encode(payload).decode() for payload in self.payloads]
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str) -> LoadSpec:
        fields = json.loads(text)
        fields["payload"] = base64.b64decode(fields["payload"])
        fields["payloads"] = tuple(base64.b64decode(payload) for payload in fields["payloads"])
        fields["metadata"] = tuple((key, value) for key, value in fields["metadata"])
        fields["deposit_accounts"] = tuple(fields["deposit_accounts"])
        return cls(**fields)


@dataclass(frozen=True)
class LoadResult:
    # Over the measured window (calls that ended in it).
    ok: int
    window_seconds: float
    p50_ms: float | None
    p99_ms: float | None
    errors: dict[str, int]
    # Over the whole run, warm-up included, every call awaited to its end: what the
    # hot-account check adds up. Failed deposits' amounts by status code.
    ok_amount: int = 0
    ok_calls: int = 0
    failed_amount: dict[str, int] = field(default_factory=dict)
    failed_calls: dict[str, int] = field(default_factory=dict)
    # CPU seconds over the window: the generator's own, the server's, and the machine's busy %.
    loadgen_cpu: float = 0.0
    server_cpu: float = 0.0
    machine_busy_percent: float = 0.0
    connections: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LoadResult:
        return cls(**json.loads(text))

    @property
    def calls_per_second(self) -> float:
        return self.ok / self.window_seconds if self.window_seconds else 0.0

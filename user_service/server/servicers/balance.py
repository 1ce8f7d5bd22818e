"""userservice.v1.Balance."""

from __future__ import annotations

from userservice.v1 import balance_pb2_grpc


class BalanceServicer(balance_pb2_grpc.BalanceServicer):
    """RPCs not written yet fall through to the generated base class, whose
    NotImplementedError the error interceptor answers with UNIMPLEMENTED."""

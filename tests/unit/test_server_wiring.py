"""How the server is put together: which RPCs a servicer leaves unimplemented."""

from __future__ import annotations

from user_service.server.access import BALANCE
from user_service.server.app import unimplemented_methods
from userservice.v1 import balance_pb2_grpc


class HalfDone(balance_pb2_grpc.BalanceServicer):
    def GetBalance(self, request, context):
        return None


def test_an_rpc_a_servicer_does_not_override_is_unimplemented():
    missing = unimplemented_methods([(HalfDone(), balance_pb2_grpc.BalanceServicer, BALANCE)])

    assert "/userservice.v1.Balance/GetBalance" not in missing
    assert "/userservice.v1.Balance/Deposit" in missing
    assert len(missing) == len(BALANCE.methods) - 1

"""userservice.v1.Balance: each RPC reads its request into plain values, calls one
handler method with the caller, and writes the response."""

from __future__ import annotations

from asyncio import to_thread

from user_service.domain.balances import BalancesHandler
from user_service.domain.holds import HoldsHandler
from user_service.domain.transfers import TransfersHandler
from user_service.server.interceptors.auth import caller
from user_service.server.servicers import Context
from user_service.server.servicers import balance_messages as messages
from userservice.v1 import balance_pb2, balance_pb2_grpc


class BalanceServicer(balance_pb2_grpc.BalanceServicer):
    def __init__(self, balances: BalancesHandler, transfers: TransfersHandler, holds: HoldsHandler) -> None:
        self._balances = balances
        self._transfers = transfers
        self._holds = holds

    async def GetBalance(
        self, request: balance_pb2.GetBalanceRequest, context: Context
    ) -> balance_pb2.GetBalanceResponse:
        balance = await self._balances.get_balance(caller(), request.user_id)
        return balance_pb2.GetBalanceResponse(balance=messages.balance_info(balance))

    async def Deposit(
        self, request: balance_pb2.DepositRequest, context: Context
    ) -> balance_pb2.DepositResponse:
        posted = await self._balances.deposit(
            caller(),
            user_id=request.user_id,
            amount=request.amount,
            request_id=request.request_id,
            description=request.description,
        )
        return balance_pb2.DepositResponse(
            transaction=messages.transaction(posted.transaction),
            balance=messages.balance_info(posted.balance),
        )

    async def Withdraw(
        self, request: balance_pb2.WithdrawRequest, context: Context
    ) -> balance_pb2.WithdrawResponse:
        posted = await self._balances.withdraw(
            caller(),
            user_id=request.user_id,
            amount=request.amount,
            request_id=request.request_id,
            description=request.description,
        )
        return balance_pb2.WithdrawResponse(
            transaction=messages.transaction(posted.transaction),
            balance=messages.balance_info(posted.balance),
        )

    async def Transfer(
        self, request: balance_pb2.TransferRequest, context: Context
    ) -> balance_pb2.TransferResponse:
        moved = await to_thread(
            self._transfers.transfer,
            caller(),
            from_user_id=request.from_user_id,
            to_user_id=request.to_user_id,
            amount=request.amount,
            request_id=request.request_id,
            description=request.description,
        )
        return balance_pb2.TransferResponse(
            from_transaction=messages.transaction(moved.from_transaction),
            to_transaction=messages.transaction(moved.to_transaction),
            from_balance=messages.balance_info(moved.from_balance),
        )

    async def ListTransactions(
        self, request: balance_pb2.ListTransactionsRequest, context: Context
    ) -> balance_pb2.ListTransactionsResponse:
        page = await to_thread(
            self._balances.list_transactions,
            caller(),
            user_id=request.user_id,
            page_size=request.page_size,
            page_token=request.page_token,
            kind=messages.transaction_type(request.type),
        )
        return balance_pb2.ListTransactionsResponse(
            transactions=[messages.transaction(row) for row in page.transactions],
            next_page_token=page.next_page_token,
        )

    async def ReserveFunds(
        self, request: balance_pb2.ReserveFundsRequest, context: Context
    ) -> balance_pb2.ReserveFundsResponse:
        held = await to_thread(
            self._holds.reserve,
            caller(),
            user_id=request.user_id,
            amount=request.amount,
            request_id=request.request_id,
            reference=request.reference,
            ttl=messages.ttl(request),
        )
        return balance_pb2.ReserveFundsResponse(
            hold=messages.hold(held.hold), balance=messages.balance_info(held.balance)
        )

    async def CaptureHold(
        self, request: balance_pb2.CaptureHoldRequest, context: Context
    ) -> balance_pb2.CaptureHoldResponse:
        captured = await to_thread(
            self._holds.capture,
            caller(),
            hold_id=request.hold_id,
            amount=request.amount,
            request_id=request.request_id,
        )
        return balance_pb2.CaptureHoldResponse(
            transaction=messages.transaction(captured.transaction),
            balance=messages.balance_info(captured.balance),
            hold=messages.hold(captured.hold),
        )

    async def ReleaseHold(
        self, request: balance_pb2.ReleaseHoldRequest, context: Context
    ) -> balance_pb2.ReleaseHoldResponse:
        released = await to_thread(self._holds.release, caller(), request.hold_id)
        return balance_pb2.ReleaseHoldResponse(
            hold=messages.hold(released.hold), balance=messages.balance_info(released.balance)
        )

"""Balances: read one, deposit, withdraw, and list the ledger.

Order of the checks, everywhere: the arguments (every bad field at once), then the
caller's permission on the account's owner (so a `user` probing other ids learns
nothing), then the database. A deposit or withdrawal is one statement on the fast path;
only when it changes nothing does the handler look for why (an unknown user, a request_id
used before, too little money), with the account locked so the answer is exact.

The hot calls (get_balance, deposit, withdraw) are coroutines for the server's event
loop: their statement runs there (storage/loop_statements.py), and the rare transactional
path in a worker thread. list_transactions blocks, and runs in a worker thread.
"""

from __future__ import annotations

import asyncio

from user_service import metrics
from user_service.domain import page_tokens
from user_service.domain.audit import AuditEvent
from user_service.domain.balance_arguments import Arguments, fingerprint
from user_service.domain.errors import InvalidArgument
from user_service.domain.idempotency import replayed
from user_service.domain.model import Principal
from user_service.domain.money import Account, Balance, Posted, TransactionPage, TransactionType
from user_service.domain.money_errors import InsufficientFunds, UserNotFound
from user_service.domain.permissions import Action, require
from user_service.storage.deposit_batches import DepositBatches
from user_service.storage.errors import TransactionConflict, UniqueViolation
from user_service.storage.loop_statements import LoopStatements
from user_service.storage.repositories.accounts import BALANCE, balance_params
from user_service.storage.repositories.ledger import POST, duplicate_of, post_params
from user_service.storage.repositories.money_rows import DuplicateRequest, Request
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions


class BalancesHandler:
    def __init__(
        self,
        transactions: Transactions,
        statements: LoopStatements,
        deposits: DepositBatches,
        max_amount: int,
    ) -> None:
        self._transactions = transactions
        self._statements = statements
        self._deposits = deposits
        self._max_amount = max_amount

    async def get_balance(self, principal: Principal, user_id: str) -> Balance:
        checks = Arguments()
        account = Account(checks.user_id(user_id))
        checks.check()
        require(principal, Action.READ_BALANCE, account.user_id)
        balance = await self._statements.one(BALANCE, balance_params(account))
        if balance is None:
            raise UserNotFound()
        return balance

    async def deposit(
        self, principal: Principal, *, user_id: str, amount: int, request_id: str, description: str
    ) -> Posted:
        return await self._post(
            principal,
            "Deposit",
            user_id=user_id,
            amount=amount,
            request_id=request_id,
            description=description,
        )

    async def withdraw(
        self, principal: Principal, *, user_id: str, amount: int, request_id: str, description: str
    ) -> Posted:
        return await self._post(
            principal,
            "Withdraw",
            user_id=user_id,
            amount=amount,
            request_id=request_id,
            description=description,
        )

    def list_transactions(
        self,
        principal: Principal,
        *,
        user_id: str,
        page_size: int,
        page_token: str,
        kind: TransactionType | None,
    ) -> TransactionPage:
        checks = Arguments()
        account = Account(checks.user_id(user_id))
        size = checks.page_size(page_size)
        # A token is good only for the listing it came from: this account, this filter.
        listing = f"transactions/{account.user_id}/{account.currency}/{kind or ''}"
        try:
            position = page_tokens.decode(page_token, listing, (int,))
        except InvalidArgument as refused:
            checks.violations.extend(refused.violations)
            position = None
        before = int(position[0]) if position else None
        checks.check()
        require(principal, Action.READ_BALANCE, account.user_id)

        def read(uow: SqlUnitOfWork) -> TransactionPage:
            rows = uow.history.page(account, before, kind, size + 1)
            if not rows and uow.accounts.balance(account) is None:
                raise UserNotFound()
            more = len(rows) > size
            return TransactionPage(
                tuple(rows[:size]), page_tokens.encode(listing, [rows[size - 1].id]) if more else ""
            )

        return self._transactions.run(read)

    async def _post(
        self, principal: Principal, rpc: str, *, user_id: str, amount: int, request_id: str, description: str
    ) -> Posted:
        checks = Arguments()
        account = Account(checks.user_id(user_id))
        checks.amount(amount, self._max_amount)
        checks.request_id(request_id)
        checks.text(description, "description", "INVALID_DESCRIPTION")
        checks.check()
        require(principal, Action.MOVE_MONEY, account.user_id)
        request = Request(
            request_id, fingerprint(rpc, str(account.user_id), account.currency, amount, description)
        )
        change = amount if rpc == "Deposit" else -amount
        audit = AuditEvent(
            action="balance.deposit" if change > 0 else "balance.withdraw",
            actor_user_id=principal.user_id,
            subject_user_id=account.user_id,
            details={"amount": amount, "currency": account.currency, "request_id": request_id},
        )

        def post(uow: SqlUnitOfWork) -> Posted:
            posted = uow.ledger.post(account, change, request, description, audit)
            if posted is None:  # find out why, with the account locked
                locked = uow.accounts.lock([account])
                if not locked or not locked[0].live:
                    raise UserNotFound()
                recorded = uow.history.find(account, request_id)
                if recorded is not None:
                    return Posted(replayed(recorded, request), locked[0].balance)
                if locked[0].available < -change:
                    raise InsufficientFunds(locked[0].available, amount)
                posted = uow.ledger.post(account, change, request, description, audit)  # money came in since
                if posted is None:
                    raise RuntimeError("a guarded update failed on an account this transaction has locked")
            uow.commit()
            metrics.moved("deposit" if change > 0 else "withdrawal", account.currency, amount)
            return posted

        def replay(uow: SqlUnitOfWork) -> Posted:
            balance = uow.accounts.balance(account)
            if balance is None:
                raise UserNotFound()
            return Posted(replayed(uow.history.find(account, request_id), request), balance)

        try:
            posted = await self._alone(account, change, request, description, audit)
            if posted is None:  # nothing written alone: the transaction finds out why
                return await asyncio.to_thread(self._transactions.run, post)
        except DuplicateRequest:  # a call with this request_id committed first
            return await asyncio.to_thread(self._transactions.run, replay)
        metrics.moved("deposit" if change > 0 else "withdrawal", account.currency, amount)
        return posted

    async def _alone(
        self, account: Account, change: int, request: Request, description: str, audit: AuditEvent
    ) -> Posted | None:
        """The fast path: the posting as one statement of its own (one round trip, the
        account's row lock released as it ends). None when it wrote nothing or would have
        had to wait out a conflict: the transactional path then takes over."""
        params = post_params(account, change, request, description, audit)
        try:
            if change > 0:  # with those arriving together (storage/deposit_batches.py)
                return await self._deposits.post(params)
            return await self._statements.one(POST, params)
        except UniqueViolation as violation:
            duplicate = duplicate_of(violation)
            if duplicate is None:
                raise
            raise duplicate from None
        except TransactionConflict:
            return None

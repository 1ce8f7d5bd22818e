"""Transfers: money from one user's available balance to another's, atomically.

Both account rows are locked in id order (AccountRepository.lock), so two opposite
transfers between the same accounts queue instead of deadlocking; then one statement
changes both balances and writes both legs with a shared transfer_id. The credit leg
carries the payer's request_id; a retry finds the debit by it and the credit by the
transfer_id.
"""

from __future__ import annotations

from user_service import metrics
from user_service.domain.audit import AuditEvent
from user_service.domain.balance_arguments import Arguments, fingerprint
from user_service.domain.idempotency import replayed
from user_service.domain.model import Principal
from user_service.domain.money import Account, Balance, Transaction, TransactionType, Transferred
from user_service.domain.money_errors import InsufficientFunds, SameAccount, UserNotFound
from user_service.domain.permissions import Action, require
from user_service.storage.repositories.money_rows import DuplicateRequest, Recorded, Request
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions


class TransfersHandler:
    def __init__(self, transactions: Transactions, max_amount: int) -> None:
        self._transactions = transactions
        self._max_amount = max_amount

    def transfer(
        self,
        principal: Principal,
        *,
        from_user_id: str,
        to_user_id: str,
        amount: int,
        request_id: str,
        description: str,
    ) -> Transferred:
        checks = Arguments()
        payer = Account(checks.user_id(from_user_id, "from_user_id"))
        payee = Account(checks.user_id(to_user_id, "to_user_id"))
        checks.amount(amount, self._max_amount)
        checks.request_id(request_id)
        checks.text(description, "description", "INVALID_DESCRIPTION")
        checks.check()
        if payer == payee:
            raise SameAccount()
        require(principal, Action.MOVE_MONEY, payer.user_id)
        request = Request(
            request_id,
            fingerprint(
                "Transfer", str(payer.user_id), str(payee.user_id), payer.currency, amount, description
            ),
        )
        audit = AuditEvent(
            action="balance.transfer",
            actor_user_id=principal.user_id,
            subject_user_id=payer.user_id,
            details={
                "amount": amount,
                "currency": payer.currency,
                "request_id": request_id,
                "to_user_id": str(payee.user_id),
            },
        )

        def move(uow: SqlUnitOfWork) -> Transferred:
            locked = {row.account: row for row in uow.accounts.lock([payer, payee])}
            if not all(account in locked and locked[account].live for account in (payer, payee)):
                raise UserNotFound()
            if locked[payer].available < amount:
                recorded = uow.history.find(payer, request_id)
                if recorded is None:
                    raise InsufficientFunds(locked[payer].available, amount)
                return _replay(uow, recorded, request, locked[payer].balance)
            moved = uow.ledger.transfer(
                locked[payer], locked[payee], amount, request, description=description, audit=audit
            )
            uow.commit()
            metrics.moved("transfer", payer.currency, amount)
            return moved

        def replay(uow: SqlUnitOfWork) -> Transferred:
            balance = uow.accounts.balance(payer)
            if balance is None:
                raise UserNotFound()
            return _replay(uow, uow.history.find(payer, request_id), request, balance)

        try:
            return self._transactions.run(move)
        except DuplicateRequest:  # a call with this request_id committed while this one ran
            return self._transactions.run(replay)


def _replay(
    uow: SqlUnitOfWork, recorded: Recorded[Transaction] | None, request: Request, balance: Balance
) -> Transferred:
    debit = replayed(recorded, request)
    legs = uow.history.transfer_legs(debit.transfer_id) if debit.transfer_id else {}
    if TransactionType.TRANSFER_IN not in legs:
        raise RuntimeError("a transfer debit without its credit leg")
    return Transferred(debit, legs[TransactionType.TRANSFER_IN], balance)

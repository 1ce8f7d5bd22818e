"""Holds for orders: reserve, capture (all or part), release, and expire.

ReserveFunds is one statement on the fast path, as a deposit is. Capture and release
lock the hold's account, then the hold (the order everywhere, the sweeper's too), and
settle it only while it is active. A hold past its expire_time counts as expired whether
or not the sweeper has come by: releasing it answers it expired, and capturing it expires
it (committed) before answering HOLD_NOT_ACTIVE.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from user_service import metrics
from user_service.domain.audit import AuditEvent
from user_service.domain.balance_arguments import Arguments, fingerprint
from user_service.domain.errors import FieldViolation, InvalidArgument
from user_service.domain.idempotency import replayed
from user_service.domain.model import Principal
from user_service.domain.money import Account, Captured, Held, HoldStatus
from user_service.domain.money_errors import HoldNotActive, HoldNotFound, InsufficientFunds, UserNotFound
from user_service.domain.permissions import Action, require
from user_service.storage.repositories.holds import LockedHold
from user_service.storage.repositories.money_rows import DuplicateRequest, LockedAccount, Request
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions

SETTLED = (HoldStatus.RELEASED, HoldStatus.EXPIRED)


class HoldsHandler:
    def __init__(self, transactions: Transactions, max_amount: int) -> None:
        self._transactions = transactions
        self._max_amount = max_amount

    def reserve(
        self,
        principal: Principal,
        *,
        user_id: str,
        amount: int,
        request_id: str,
        reference: str,
        ttl: timedelta | None,
    ) -> Held:
        checks = Arguments()
        account = Account(checks.user_id(user_id))
        checks.amount(amount, self._max_amount)
        checks.request_id(request_id)
        checks.text(reference, "reference", "INVALID_REFERENCE")
        lasting = checks.ttl(ttl)
        checks.check()
        require(principal, Action.MOVE_MONEY, account.user_id)
        # The ttl as sent is part of the call (unset and 15 minutes are the same call).
        request = Request(
            request_id,
            fingerprint(
                "ReserveFunds", str(account.user_id), account.currency, amount, reference, str(lasting)
            ),
        )
        audit = _event("balance.reserve", principal.user_id, account, amount, request_id=request_id)

        def reserve(uow: SqlUnitOfWork) -> Held:
            held = uow.holds.reserve(account, amount, request, reference=reference, ttl=lasting, audit=audit)
            if held is None:  # the slow path: find out why, with the account locked
                locked = uow.accounts.lock([account])
                if not locked or not locked[0].live:
                    raise UserNotFound()
                recorded = uow.holds.find(account, request_id)
                if recorded is not None:
                    return Held(replayed(recorded, request), locked[0].balance)
                if locked[0].available < amount:
                    raise InsufficientFunds(locked[0].available, amount)
                held = uow.holds.reserve(
                    account, amount, request, reference=reference, ttl=lasting, audit=audit
                )
                if held is None:
                    raise RuntimeError("a guarded update failed on an account this transaction has locked")
            uow.commit()
            metrics.moved("reserve", account.currency, amount)
            return held

        def replay(uow: SqlUnitOfWork) -> Held:
            balance = uow.accounts.balance(account)
            if balance is None:
                raise UserNotFound()
            return Held(replayed(uow.holds.find(account, request_id), request), balance)

        try:
            return self._transactions.run(reserve)
        except DuplicateRequest:  # a call with this request_id committed while this one ran
            return self._transactions.run(replay)

    def capture(self, principal: Principal, *, hold_id: str, amount: int, request_id: str) -> Captured:
        """Capture `amount` of the hold (0: all of it) and give the rest back."""
        checks = Arguments()
        hold = checks.hold_id(hold_id)
        checks.amount(amount, self._max_amount, zero_means_all=True)
        checks.request_id(request_id)
        checks.check()
        request = Request(request_id, fingerprint("CaptureHold", str(hold), amount))

        def capture(uow: SqlUnitOfWork) -> Captured:
            holder, locked = _lock(uow, principal, hold)
            recorded = uow.history.find(holder.account, request_id)
            if recorded is not None:
                return Captured(replayed(recorded, request), holder.balance, locked.hold)
            _refuse_unless_active(uow, holder, locked)
            if amount > locked.hold.amount:
                raise InvalidArgument(
                    FieldViolation("amount", "must be at most the hold's amount", "INVALID_AMOUNT")
                )
            captured = amount or locked.hold.amount
            audit = _event(
                "balance.capture", principal.user_id, holder.account, captured, request_id=request_id
            )
            settled = uow.holds.settle(holder, locked.hold, HoldStatus.CAPTURED, audit, (captured, request))
            if settled is None or settled.transaction is None:
                raise RuntimeError("an active hold this transaction has locked did not settle")
            uow.commit()
            metrics.moved("capture", holder.account.currency, captured)
            return Captured(settled.transaction, settled.balance, settled.hold)

        return self._transactions.run(capture)

    def release(self, principal: Principal, hold_id: str) -> Held:
        """Give the hold's money back; a hold already released or expired is returned as it is."""
        checks = Arguments()
        hold = checks.hold_id(hold_id)
        checks.check()

        def release(uow: SqlUnitOfWork) -> Held:
            holder, locked = _lock(uow, principal, hold)
            if locked.hold.status in SETTLED:
                return Held(locked.hold, holder.balance)
            if locked.hold.status is HoldStatus.CAPTURED:
                raise HoldNotActive(locked.hold.status)
            status = HoldStatus.EXPIRED if locked.expired else HoldStatus.RELEASED
            action = "balance.expire" if locked.expired else "balance.release"
            audit = _event(action, principal.user_id, holder.account, locked.hold.amount)
            settled = uow.holds.settle(holder, locked.hold, status, audit)
            if settled is None:
                raise RuntimeError("an active hold this transaction has locked did not settle")
            uow.commit()
            metrics.moved(
                "expire" if locked.expired else "release", holder.account.currency, locked.hold.amount
            )
            return Held(settled.hold, settled.balance)

        return self._transactions.run(release)


def _lock(uow: SqlUnitOfWork, principal: Principal, hold_id: uuid.UUID) -> tuple[LockedAccount, LockedHold]:
    """Lock the hold's account, check the caller may move its money, then lock the hold."""
    holder = uow.accounts.lock_holder(hold_id)
    if holder is None:
        raise HoldNotFound()
    require(principal, Action.MOVE_MONEY, holder.user_id)
    return holder, uow.holds.lock(hold_id, holder)


def _refuse_unless_active(uow: SqlUnitOfWork, holder: LockedAccount, locked: LockedHold) -> None:
    """HOLD_NOT_ACTIVE unless the hold is active and not past its expire_time; one past it
    is expired first, in this transaction, committed."""
    if locked.hold.status is HoldStatus.ACTIVE and locked.expired:
        expire(uow, holder, locked)
        raise HoldNotActive(HoldStatus.EXPIRED)
    if locked.hold.status is not HoldStatus.ACTIVE:
        raise HoldNotActive(locked.hold.status)


def expire(uow: SqlUnitOfWork, holder: LockedAccount, locked: LockedHold) -> bool:
    """Settle an active hold past its expire_time as expired and commit; False when it was not."""
    if locked.hold.status is not HoldStatus.ACTIVE or not locked.expired:
        return False
    audit = _event("balance.expire", None, holder.account, locked.hold.amount)
    settled = uow.holds.settle(holder, locked.hold, HoldStatus.EXPIRED, audit)
    uow.commit()
    if settled is not None:
        metrics.moved("expire", holder.account.currency, locked.hold.amount)
    return settled is not None


def _event(
    action: str, actor: uuid.UUID | None, account: Account, amount: int, **details: str | int
) -> AuditEvent:
    return AuditEvent(
        action=action,
        actor_user_id=actor,
        subject_user_id=account.user_id,
        details={"amount": amount, "currency": account.currency, **details},
    )

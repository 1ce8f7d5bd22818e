"""Balance's domain values to proto messages, and the few proto fields that need reading."""

from __future__ import annotations

from datetime import timedelta

from google.protobuf import duration_pb2

from user_service.domain.errors import FieldViolation, InvalidArgument
from user_service.domain.money import Balance, Hold, Transaction, TransactionType
from user_service.server.servicers.fields import timestamp
from userservice.v1 import balance_pb2

# Past what a Duration may hold (10,000 years): refused by the ttl check either way.
_DURATION_SECONDS_LIMIT = 315_576_000_000


def balance_info(balance: Balance) -> balance_pb2.BalanceInfo:
    return balance_pb2.BalanceInfo(
        user_id=str(balance.user_id),
        currency=balance.currency,
        available=balance.available,
        held=balance.held,
        update_time=timestamp(balance.update_time),
    )


def transaction(value: Transaction) -> balance_pb2.Transaction:
    return balance_pb2.Transaction(
        id=str(value.id),
        user_id=str(value.user_id),
        type=f"TRANSACTION_TYPE_{value.type.value.upper()}",
        amount=value.amount,
        balance_after=value.balance_after,
        currency=value.currency,
        request_id=value.request_id,
        description=value.description,
        counterparty_user_id=str(value.counterparty_user_id or ""),
        hold_id=str(value.hold_id or ""),
        create_time=timestamp(value.create_time),
    )


def hold(value: Hold) -> balance_pb2.Hold:
    return balance_pb2.Hold(
        id=str(value.id),
        user_id=str(value.user_id),
        amount=value.amount,
        captured_amount=value.captured_amount,
        status=f"HOLD_STATUS_{value.status.value.upper()}",
        reference=value.reference,
        expire_time=timestamp(value.expire_time),
        create_time=timestamp(value.create_time),
        update_time=timestamp(value.update_time),
    )


def transaction_type(value: int) -> TransactionType | None:
    """The type filter: None for unspecified; INVALID_ARGUMENT for a number the contract lacks."""
    if value == balance_pb2.TRANSACTION_TYPE_UNSPECIFIED:
        return None
    try:
        name = balance_pb2.TransactionType.Name(value)
    except ValueError:
        raise InvalidArgument(
            FieldViolation("type", "must be a TransactionType", "INVALID_TRANSACTION_TYPE")
        ) from None
    return TransactionType(name.removeprefix("TRANSACTION_TYPE_").lower())


def ttl(request: balance_pb2.ReserveFundsRequest) -> timedelta | None:
    """The hold's ttl, or None when unset (the default applies)."""
    if not request.HasField("ttl"):
        return None
    duration: duration_pb2.Duration = request.ttl
    seconds = max(-_DURATION_SECONDS_LIMIT, min(duration.seconds, _DURATION_SECONDS_LIMIT))
    # Nanoseconds rounded up to whole microseconds (what timedelta keeps), so that a
    # nanosecond is still more than zero and 7 days and a nanosecond still more than 7 days.
    return timedelta(seconds=seconds, microseconds=-(-duration.nanos // 1000))

"""The errors of money movement, each with the reason the contract names.

FailedPrecondition  InsufficientFunds   INSUFFICIENT_FUNDS (metadata: available, requested)
                    HoldNotActive       HOLD_NOT_ACTIVE
NotFound            UserNotFound        USER_NOT_FOUND (unknown or deleted user)
                    HoldNotFound        HOLD_NOT_FOUND
Aborted             IdempotencyKeyReused  IDEMPOTENCY_KEY_REUSED
InvalidArgument     SameAccount         SAME_ACCOUNT (a transfer to oneself)
"""

from __future__ import annotations

from user_service.domain.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument, NotFound


class InsufficientFunds(FailedPrecondition):
    def __init__(self, available: int, requested: int) -> None:
        super().__init__(
            "INSUFFICIENT_FUNDS",
            "the available balance is less than the amount",
            {"available": str(available), "requested": str(requested)},
        )


class HoldNotActive(FailedPrecondition):
    def __init__(self, status: str) -> None:
        super().__init__("HOLD_NOT_ACTIVE", f"the hold is {status}, no longer active", {"status": status})


class UserNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("USER_NOT_FOUND", "no such user")


class HoldNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("HOLD_NOT_FOUND", "no such hold")


class IdempotencyKeyReused(Aborted):
    def __init__(self) -> None:
        super().__init__(
            "IDEMPOTENCY_KEY_REUSED", "this request_id was already used for a call with other arguments"
        )


class SameAccount(InvalidArgument):
    def __init__(self) -> None:
        super().__init__(FieldViolation("to_user_id", "must differ from from_user_id", "SAME_ACCOUNT"))

"""userservice.v1.Balance through the real server: each RPC, each error it documents, and
what a refused call leaves behind (nothing). Tokens come from make_identity."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from sqlalchemy import text

from tests.support.identities import Identity, make_identity
from tests.support.money import age_holds, audit_count, delete_user, figures
from tests.support.statuses import status_details
from userservice.v1 import balance_pb2, balance_pb2_grpc

B = balance_pb2


@pytest.fixture(scope="module")
def stub(service) -> balance_pb2_grpc.BalanceStub:
    return balance_pb2_grpc.BalanceStub(service.channel)


@pytest.fixture
def alice(engine) -> Identity:
    return make_identity(engine)


@pytest.fixture(scope="module")
def bank(engine) -> Identity:
    """A `service` caller, as the order and payments services are."""
    return make_identity(engine, "service")


def rid() -> str:
    return uuid.uuid4().hex


def fails(call: Any, request: Any, who: Identity) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failed:
        call(request, metadata=who.metadata, timeout=10)
    return failed.value


def reason(error: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    return error.code(), status_details(error)["ErrorInfo"].reason


def violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    return [(v.field, v.reason) for v in status_details(error)["BadRequest"].field_violations]


def funded(stub, who: Identity, amount: int, caller: Identity | None = None) -> None:
    stub.Deposit(
        B.DepositRequest(user_id=str(who.user_id), amount=amount, request_id=rid()),
        metadata=(caller or who).metadata,
    )


def test_get_balance_of_a_new_user_is_zero_in_usd(stub, alice):
    balance = stub.GetBalance(
        B.GetBalanceRequest(user_id=str(alice.user_id)), metadata=alice.metadata
    ).balance

    assert (balance.user_id, balance.currency, balance.available, balance.held) == (
        str(alice.user_id),
        "USD",
        0,
        0,
    )
    assert balance.update_time.seconds > 0


def test_a_deposit_answers_its_transaction_and_the_balance_after_it(stub, engine, alice):
    request = B.DepositRequest(
        user_id=str(alice.user_id), amount=1250, request_id=rid(), description="pay day"
    )

    response = stub.Deposit(request, metadata=alice.metadata)

    tx = response.transaction
    assert (tx.type, tx.amount, tx.balance_after, tx.currency) == (
        B.TRANSACTION_TYPE_DEPOSIT,
        1250,
        1250,
        "USD",
    )
    assert (tx.user_id, tx.request_id, tx.description) == (str(alice.user_id), request.request_id, "pay day")
    assert (tx.counterparty_user_id, tx.hold_id) == ("", "")
    assert int(tx.id) > 0
    assert tx.create_time.seconds > 0
    assert (response.balance.available, response.balance.held) == (1250, 0)
    assert (
        audit_count(engine, "balance.deposit", request_id=request.request_id, transaction_id=int(tx.id)) == 1
    )


def test_a_retried_deposit_returns_the_first_transaction_with_the_balance_as_it_is_now(stub, engine, alice):
    request = B.DepositRequest(user_id=str(alice.user_id), amount=100, request_id=rid())
    first = stub.Deposit(request, metadata=alice.metadata)
    funded(stub, alice, 5)

    again = stub.Deposit(request, metadata=alice.metadata)

    assert again.transaction == first.transaction
    assert again.balance.available == 105
    assert figures(engine, alice.user_id) == (105, 0)


@pytest.mark.parametrize("changed", [{"amount": 101}, {"description": "other"}], ids=["amount", "text"])
def test_a_request_id_reused_with_other_arguments_is_aborted(stub, engine, alice, bank, changed):
    arguments: dict[str, Any] = {"user_id": str(alice.user_id), "amount": 100, "request_id": rid()}
    stub.Deposit(B.DepositRequest(**arguments), metadata=bank.metadata)

    error = fails(stub.Deposit, B.DepositRequest(**{**arguments, **changed}), bank)

    assert reason(error) == (grpc.StatusCode.ABORTED, "IDEMPOTENCY_KEY_REUSED")
    assert figures(engine, alice.user_id) == (100, 0)


def test_request_ids_belong_to_an_account(stub, engine, alice, bank):
    bob = make_identity(engine)
    request_id = rid()

    for who in (alice, bob):
        request = B.DepositRequest(user_id=str(who.user_id), amount=5, request_id=request_id)
        assert stub.Deposit(request, metadata=bank.metadata).balance.available == 5


def test_a_request_id_names_one_call_whatever_the_rpc(stub, alice):
    request_id = rid()
    funded(stub, alice, 50)
    stub.Deposit(
        B.DepositRequest(user_id=str(alice.user_id), amount=10, request_id=request_id),
        metadata=alice.metadata,
    )

    error = fails(
        stub.Withdraw, B.WithdrawRequest(user_id=str(alice.user_id), amount=10, request_id=request_id), alice
    )

    assert reason(error) == (grpc.StatusCode.ABORTED, "IDEMPOTENCY_KEY_REUSED")


def test_every_bad_field_is_reported_at_once(stub, alice):
    request = B.DepositRequest(user_id="not-a-uuid", amount=0, request_id="", description="x" * 201)

    error = fails(stub.Deposit, request, alice)

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == [
        ("user_id", "INVALID_USER_ID"),
        ("amount", "INVALID_AMOUNT"),
        ("request_id", "MISSING_REQUEST_ID"),
        ("description", "INVALID_DESCRIPTION"),
    ]


@pytest.mark.parametrize(
    ("fields", "violation"),
    [
        ({"amount": -5}, ("amount", "INVALID_AMOUNT")),
        ({"amount": 100_000_001}, ("amount", "INVALID_AMOUNT")),
        ({"request_id": "r" * 65}, ("request_id", "INVALID_REQUEST_ID")),
        ({"request_id": "nul\x00"}, ("request_id", "INVALID_REQUEST_ID")),
        ({"description": "a\x00b"}, ("description", "INVALID_DESCRIPTION")),
        ({"description": "line\nbreak"}, ("description", "INVALID_DESCRIPTION")),
        ({"user_id": "{" + str(uuid.UUID(int=1)) + "}"}, ("user_id", "INVALID_USER_ID")),
    ],
    ids=["negative", "above-max-amount", "long-request-id", "nul-request-id", "nul", "newline", "braced-id"],
)
def test_bad_arguments_are_invalid_and_move_nothing(stub, engine, alice, fields, violation):
    arguments = {"user_id": str(alice.user_id), "amount": 10, "request_id": rid(), **fields}

    for call, message in ((stub.Deposit, B.DepositRequest), (stub.Withdraw, B.WithdrawRequest)):
        error = fails(call, message(**arguments), alice)
        assert (error.code(), violations(error)) == (grpc.StatusCode.INVALID_ARGUMENT, [violation])
    assert figures(engine, alice.user_id) == (0, 0)


def test_a_deposit_that_would_overflow_the_balance_is_invalid(stub, engine, alice):
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE accounts SET available = 9223372036854775800 WHERE user_id = :u"),
            {"u": alice.user_id},
        )

    error = fails(
        stub.Deposit, B.DepositRequest(user_id=str(alice.user_id), amount=100, request_id=rid()), alice
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) == [("amount", "VALUE_OUT_OF_RANGE")]
    assert figures(engine, alice.user_id) == (9223372036854775800, 0)


def test_a_withdrawal_beyond_the_available_balance_is_refused_with_both_figures(stub, engine, alice):
    funded(stub, alice, 30)

    error = fails(
        stub.Withdraw, B.WithdrawRequest(user_id=str(alice.user_id), amount=31, request_id=rid()), alice
    )

    assert reason(error) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS")
    assert dict(status_details(error)["ErrorInfo"].metadata) == {"available": "30", "requested": "31"}
    assert figures(engine, alice.user_id) == (30, 0)


def test_a_retried_withdrawal_returns_the_first_result_even_once_the_money_is_gone(stub, alice):
    funded(stub, alice, 30)
    request = B.WithdrawRequest(user_id=str(alice.user_id), amount=30, request_id=rid(), description="rent")
    first = stub.Withdraw(request, metadata=alice.metadata)

    again = stub.Withdraw(request, metadata=alice.metadata)

    assert first.transaction.type == B.TRANSACTION_TYPE_WITHDRAWAL
    assert (first.transaction.amount, first.balance.available) == (-30, 0)
    assert again.transaction == first.transaction


def test_a_refused_call_is_evaluated_again_when_retried(stub, alice):
    request = B.WithdrawRequest(user_id=str(alice.user_id), amount=20, request_id=rid())
    assert reason(fails(stub.Withdraw, request, alice))[1] == "INSUFFICIENT_FUNDS"
    funded(stub, alice, 20)

    assert stub.Withdraw(request, metadata=alice.metadata).balance.available == 0


def test_unknown_and_deleted_users_are_not_found(stub, engine, bank):
    gone = make_identity(engine)
    delete_user(engine, gone.user_id)

    for user_id in (str(uuid.uuid4()), str(gone.user_id)):
        for call, request in (
            (stub.GetBalance, B.GetBalanceRequest(user_id=user_id)),
            (stub.Deposit, B.DepositRequest(user_id=user_id, amount=1, request_id=rid())),
            (stub.Withdraw, B.WithdrawRequest(user_id=user_id, amount=1, request_id=rid())),
            (stub.ListTransactions, B.ListTransactionsRequest(user_id=user_id)),
            (stub.ReserveFunds, B.ReserveFundsRequest(user_id=user_id, amount=1, request_id=rid())),
            (stub.Transfer, B.TransferRequest(
                from_user_id=str(bank.user_id), to_user_id=user_id, amount=1, request_id=rid()
            )),
        ):  # fmt: skip
            assert reason(fails(call, request, bank)) == (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")


def test_a_transfer_moves_money_between_two_users_in_two_legs(stub, engine, alice):
    bob = make_identity(engine)
    funded(stub, alice, 100)
    request = B.TransferRequest(
        from_user_id=str(alice.user_id),
        to_user_id=str(bob.user_id),
        amount=40,
        request_id=rid(),
        description="lunch",
    )

    moved = stub.Transfer(request, metadata=alice.metadata)

    out, into = moved.from_transaction, moved.to_transaction
    assert (out.type, out.amount, out.balance_after, out.user_id) == (
        B.TRANSACTION_TYPE_TRANSFER_OUT, -40, 60, str(alice.user_id),
    )  # fmt: skip
    assert (into.type, into.amount, into.balance_after, into.user_id) == (
        B.TRANSACTION_TYPE_TRANSFER_IN, 40, 40, str(bob.user_id),
    )  # fmt: skip
    assert (out.counterparty_user_id, into.counterparty_user_id) == (str(bob.user_id), str(alice.user_id))
    assert out.request_id == into.request_id == request.request_id
    assert (out.description, into.description) == ("lunch", "lunch")
    assert moved.from_balance.available == 60
    assert stub.Transfer(request, metadata=alice.metadata) == moved
    assert (figures(engine, alice.user_id), figures(engine, bob.user_id)) == ((60, 0), (40, 0))


def test_transfer_refusals(stub, engine, alice):
    bob = make_identity(engine)
    funded(stub, alice, 10)

    def transfer(**fields: Any) -> grpc.RpcError:
        arguments = {
            "from_user_id": str(alice.user_id),
            "to_user_id": str(bob.user_id),
            "amount": 5,
            **fields,
        }
        return fails(stub.Transfer, B.TransferRequest(request_id=rid(), **arguments), alice)

    same = transfer(to_user_id=str(alice.user_id))
    assert (same.code(), violations(same)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        [("to_user_id", "SAME_ACCOUNT")],
    )
    assert reason(transfer(amount=11)) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS")
    assert reason(transfer(to_user_id=str(uuid.uuid4()))) == (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")
    assert violations(transfer(from_user_id="x", to_user_id="y")) == [
        ("from_user_id", "INVALID_USER_ID"),
        ("to_user_id", "INVALID_USER_ID"),
    ]
    assert (figures(engine, alice.user_id), figures(engine, bob.user_id)) == ((10, 0), (0, 0))


def history(stub, who: Identity, **fields: Any) -> list[B.Transaction]:
    rows, token = [], ""
    while True:
        page = stub.ListTransactions(
            B.ListTransactionsRequest(user_id=str(who.user_id), page_token=token, **fields),
            metadata=who.metadata,
        )
        rows += page.transactions
        token = page.next_page_token
        if not token:
            return rows


def test_history_is_newest_first_in_pages_and_filters_by_type(stub, engine, alice):
    bob = make_identity(engine)
    for amount in range(1, 8):
        funded(stub, alice, amount)
    stub.Withdraw(
        B.WithdrawRequest(user_id=str(alice.user_id), amount=3, request_id=rid()), metadata=alice.metadata
    )
    stub.Transfer(
        B.TransferRequest(
            from_user_id=str(alice.user_id), to_user_id=str(bob.user_id), amount=2, request_id=rid()
        ),
        metadata=alice.metadata,
    )

    everything = history(stub, alice, page_size=3)
    first = stub.ListTransactions(
        B.ListTransactionsRequest(user_id=str(alice.user_id)), metadata=alice.metadata
    )

    assert [t.amount for t in everything] == [-2, -3, 7, 6, 5, 4, 3, 2, 1]
    assert list(first.transactions) == everything
    assert first.next_page_token == ""
    assert [t.amount for t in history(stub, alice, page_size=2, type=B.TRANSACTION_TYPE_DEPOSIT)] == [
        7,
        6,
        5,
        4,
        3,
        2,
        1,
    ]
    assert [t.amount for t in history(stub, alice, type=B.TRANSACTION_TYPE_TRANSFER_OUT)] == [-2]
    assert [t.amount for t in history(stub, bob)] == [2]
    big = stub.ListTransactions(
        B.ListTransactionsRequest(user_id=str(alice.user_id), page_size=10_000), metadata=alice.metadata
    )
    assert len(big.transactions) == 9


def test_page_tokens_are_good_only_for_their_own_listing(stub, engine, alice):
    bob = make_identity(engine, "admin")
    for _ in range(3):
        funded(stub, alice, 1)
        funded(stub, bob, 1)
    token = stub.ListTransactions(
        B.ListTransactionsRequest(user_id=str(alice.user_id), page_size=1), metadata=alice.metadata
    ).next_page_token

    def listing(**fields: Any) -> grpc.RpcError:
        arguments = {"user_id": str(alice.user_id), "page_token": token, **fields}
        return fails(stub.ListTransactions, B.ListTransactionsRequest(**arguments), bob)

    for error in (
        listing(user_id=str(bob.user_id)),
        listing(type=B.TRANSACTION_TYPE_DEPOSIT),
        listing(page_token="garbage"),
        listing(page_token=token + "A"),
        listing(page_token=token[:-2]),
    ):
        assert violations(error) == [("page_token", "INVALID_PAGE_TOKEN")]
    assert violations(listing(page_token="", page_size=-1)) == [("page_size", "INVALID_PAGE_SIZE")]
    assert violations(listing(page_token="", type=99)) == [("type", "INVALID_TRANSACTION_TYPE")]


def reserve(stub, who: Identity, amount: int, **fields: Any) -> B.ReserveFundsResponse:
    return stub.ReserveFunds(
        B.ReserveFundsRequest(user_id=str(who.user_id), amount=amount, request_id=rid(), **fields),
        metadata=who.metadata,
    )


def test_reserve_then_capture_part_of_a_hold(stub, engine, alice):
    funded(stub, alice, 100)
    reserved = reserve(stub, alice, 60, reference="order-17")
    hold = reserved.hold
    assert (hold.user_id, hold.amount, hold.captured_amount, hold.status, hold.reference) == (
        str(alice.user_id), 60, 0, B.HOLD_STATUS_ACTIVE, "order-17",
    )  # fmt: skip
    assert hold.expire_time.seconds - hold.create_time.seconds == 15 * 60
    assert (reserved.balance.available, reserved.balance.held) == (40, 60)
    request = B.CaptureHoldRequest(hold_id=hold.id, amount=45, request_id=rid())

    captured = stub.CaptureHold(request, metadata=alice.metadata)

    tx = captured.transaction
    assert (tx.type, tx.amount, tx.balance_after, tx.hold_id, tx.description) == (
        B.TRANSACTION_TYPE_HOLD_CAPTURE, -45, 55, hold.id, "order-17",
    )  # fmt: skip
    assert (captured.hold.status, captured.hold.captured_amount) == (B.HOLD_STATUS_CAPTURED, 45)
    assert (captured.balance.available, captured.balance.held) == (55, 0)
    assert stub.CaptureHold(request, metadata=alice.metadata).transaction == tx
    other = fails(stub.CaptureHold, B.CaptureHoldRequest(hold_id=hold.id, amount=1, request_id=rid()), alice)
    assert reason(other) == (grpc.StatusCode.FAILED_PRECONDITION, "HOLD_NOT_ACTIVE")
    assert (
        reason(fails(stub.ReleaseHold, B.ReleaseHoldRequest(hold_id=hold.id), alice))[1] == "HOLD_NOT_ACTIVE"
    )
    assert figures(engine, alice.user_id) == (55, 0)
    assert audit_count(engine, "balance.capture", hold_id=hold.id, amount=45) == 1


def test_a_capture_of_zero_takes_the_whole_hold_and_no_more(stub, engine, alice):
    funded(stub, alice, 100)
    hold = reserve(stub, alice, 60).hold
    too_much = fails(
        stub.CaptureHold, B.CaptureHoldRequest(hold_id=hold.id, amount=61, request_id=rid()), alice
    )
    assert (too_much.code(), violations(too_much)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        [("amount", "INVALID_AMOUNT")],
    )

    captured = stub.CaptureHold(
        B.CaptureHoldRequest(hold_id=hold.id, request_id=rid()), metadata=alice.metadata
    )

    assert (captured.transaction.amount, captured.hold.captured_amount) == (-60, 60)
    assert figures(engine, alice.user_id) == (40, 0)


def test_release_gives_the_hold_back_and_again_returns_it_unchanged(stub, engine, alice):
    funded(stub, alice, 100)
    hold = reserve(stub, alice, 70, ttl=duration_pb2.Duration(seconds=3600)).hold
    assert hold.expire_time.seconds - hold.create_time.seconds == 3600

    released = stub.ReleaseHold(B.ReleaseHoldRequest(hold_id=hold.id), metadata=alice.metadata)
    again = stub.ReleaseHold(B.ReleaseHoldRequest(hold_id=hold.id), metadata=alice.metadata)

    assert (released.hold.status, released.balance.available, released.balance.held) == (
        B.HOLD_STATUS_RELEASED,
        100,
        0,
    )
    assert again.hold == released.hold
    capture = fails(
        stub.CaptureHold, B.CaptureHoldRequest(hold_id=hold.id, amount=1, request_id=rid()), alice
    )
    assert reason(capture) == (grpc.StatusCode.FAILED_PRECONDITION, "HOLD_NOT_ACTIVE")
    assert audit_count(engine, "balance.release", hold_id=hold.id) == 1


def test_an_expired_hold_cannot_be_captured_and_is_expired_by_trying(stub, engine, alice):
    funded(stub, alice, 100)
    hold = reserve(stub, alice, 70).hold
    age_holds(engine, uuid.UUID(hold.id))

    error = fails(stub.CaptureHold, B.CaptureHoldRequest(hold_id=hold.id, amount=10, request_id=rid()), alice)
    released = stub.ReleaseHold(B.ReleaseHoldRequest(hold_id=hold.id), metadata=alice.metadata)

    assert reason(error) == (grpc.StatusCode.FAILED_PRECONDITION, "HOLD_NOT_ACTIVE")
    assert status_details(error)["ErrorInfo"].metadata["status"] == "expired"
    assert released.hold.status == B.HOLD_STATUS_EXPIRED
    assert figures(engine, alice.user_id) == (100, 0)
    assert audit_count(engine, "balance.expire", hold_id=hold.id) == 1


def test_releasing_an_active_hold_past_its_time_answers_it_expired(stub, engine, alice):
    funded(stub, alice, 100)
    hold = reserve(stub, alice, 70).hold
    age_holds(engine, uuid.UUID(hold.id))

    released = stub.ReleaseHold(B.ReleaseHoldRequest(hold_id=hold.id), metadata=alice.metadata)

    assert (released.hold.status, released.balance.available) == (B.HOLD_STATUS_EXPIRED, 100)


def test_reserve_refusals(stub, engine, alice):
    funded(stub, alice, 50)
    week = timedelta(days=7).total_seconds()

    def refusal(amount: int = 10, **fields: Any) -> grpc.RpcError:
        request = B.ReserveFundsRequest(user_id=str(alice.user_id), amount=amount, request_id=rid(), **fields)
        return fails(stub.ReserveFunds, request, alice)

    assert reason(refusal(51)) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS")
    for ttl in (
        duration_pb2.Duration(),
        duration_pb2.Duration(seconds=-1),
        duration_pb2.Duration(seconds=int(week) + 1),
        duration_pb2.Duration(seconds=int(week), nanos=1),  # a nanosecond over is over
        duration_pb2.Duration(nanos=-1),
    ):
        assert violations(refusal(ttl=ttl)) == [("ttl", "INVALID_TTL")]
    assert violations(refusal(reference="r" * 201)) == [("reference", "INVALID_REFERENCE")]
    assert violations(refusal(amount=0, reference="\x07")) == [
        ("amount", "INVALID_AMOUNT"), ("reference", "INVALID_REFERENCE"),
    ]  # fmt: skip
    assert (
        reserve(stub, alice, 10, ttl=duration_pb2.Duration(seconds=int(week))).hold.status
        == B.HOLD_STATUS_ACTIVE
    )
    assert figures(engine, alice.user_id) == (40, 10)
    # A nanosecond is more than zero, although a hold's times are kept in microseconds.
    assert reserve(stub, alice, 1, ttl=duration_pb2.Duration(nanos=1)).hold.amount == 1


def test_a_retried_reservation_returns_the_same_hold(stub, engine, alice):
    funded(stub, alice, 50)
    request = B.ReserveFundsRequest(user_id=str(alice.user_id), amount=20, request_id=rid(), reference="o-1")
    first = stub.ReserveFunds(request, metadata=alice.metadata)

    again = stub.ReserveFunds(request, metadata=alice.metadata)
    request.reference = "o-2"
    reused = fails(stub.ReserveFunds, request, alice)

    assert again.hold == first.hold
    assert reason(reused) == (grpc.StatusCode.ABORTED, "IDEMPOTENCY_KEY_REUSED")
    assert figures(engine, alice.user_id) == (30, 20)


def test_holds_that_do_not_exist(stub, bank):
    for call, request in (
        (stub.CaptureHold, B.CaptureHoldRequest(hold_id=str(uuid.uuid4()), amount=1, request_id=rid())),
        (stub.ReleaseHold, B.ReleaseHoldRequest(hold_id=str(uuid.uuid4()))),
    ):
        assert reason(fails(call, request, bank)) == (grpc.StatusCode.NOT_FOUND, "HOLD_NOT_FOUND")
    bad = fails(stub.CaptureHold, B.CaptureHoldRequest(hold_id="h", amount=-1), bank)
    assert violations(bad) == [
        ("hold_id", "INVALID_HOLD_ID"), ("amount", "INVALID_AMOUNT"), ("request_id", "MISSING_REQUEST_ID"),
    ]  # fmt: skip
    assert violations(fails(stub.ReleaseHold, B.ReleaseHoldRequest(hold_id=""), bank)) == [
        ("hold_id", "INVALID_HOLD_ID")
    ]


def test_every_balance_rpc_needs_a_token(stub):
    requests = {
        "GetBalance": B.GetBalanceRequest(),
        "Deposit": B.DepositRequest(),
        "Withdraw": B.WithdrawRequest(),
        "Transfer": B.TransferRequest(),
        "ListTransactions": B.ListTransactionsRequest(),
        "ReserveFunds": B.ReserveFundsRequest(),
        "CaptureHold": B.CaptureHoldRequest(),
        "ReleaseHold": B.ReleaseHoldRequest(),
    }
    for name, request in requests.items():
        with pytest.raises(grpc.RpcError) as failed:
            getattr(stub, name)(request, timeout=10)
        assert failed.value.code() == grpc.StatusCode.UNAUTHENTICATED, name

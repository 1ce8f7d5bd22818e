"""What each gRPC figure (and the echo ceiling) calls, with which token and request: the
load generator's specs for one server pair."""

from __future__ import annotations

import os
from dataclasses import replace

import grpc

from tools.bench import figures as names
from tools.bench.echo_server import ECHO_METHOD
from tools.bench.load_spec import LoadSpec
from tools.bench.options import Options
from tools.bench.seed import Seeded
from tools.bench.servers import Served, bytes_method
from userservice.v1 import balance_pb2, user_auth_pb2

GET_ME = "/userservice.v1.UserAuth/GetMe"
GET_BALANCE = "/userservice.v1.Balance/GetBalance"
DEPOSIT = "/userservice.v1.Balance/Deposit"
LOGIN = "/userservice.v1.UserAuth/Login"


def load_specs(options: Options, seeded: Seeded, service: Served, echo: Served) -> dict[str, LoadSpec]:
    reader = (("authorization", f"Bearer {seeded.token(seeded.reader)}"),)
    payer = (("authorization", f"Bearer {seeded.token(seeded.payer)}"),)
    with grpc.insecure_channel(service.target) as channel:  # once: the token and the setup work
        me = bytes_method(channel, GET_ME)(b"", metadata=reader, timeout=30)
    ours = LoadSpec(
        target=service.target,
        method="",
        concurrency=options.concurrency,
        channels=options.channels,
        warmup=options.warmup,
        seconds=options.seconds,
        deadline=options.deadline,
        server_pid=service.pid,
    )
    logins = tuple(
        user_auth_pb2.LoginRequest(email=email, password=seeded.login_password).SerializeToString()
        for email in seeded.login_emails
    )
    return {
        # The echo carries what GetMe carries: its token, and an answer of GetMe's size.
        names.ECHO: replace(
            ours,
            target=echo.target,
            server_pid=echo.pid,
            method=ECHO_METHOD,
            metadata=reader,
            payload=os.urandom(len(me)),
        ),
        "getme": replace(ours, method=GET_ME, metadata=reader),
        "getbalance": replace(
            ours,
            method=GET_BALANCE,
            metadata=reader,
            payload=balance_pb2.GetBalanceRequest(user_id=seeded.reader.user_id).SerializeToString(),
        ),
        "deposit": replace(ours, method=DEPOSIT, metadata=payer, deposit_accounts=tuple(seeded.accounts)),
        "deposit-hot": replace(ours, method=DEPOSIT, metadata=payer, deposit_accounts=(seeded.hot_account,)),
        "login": replace(
            ours,
            method=LOGIN,
            concurrency=options.login_concurrency,
            seconds=options.login_seconds,
            payloads=logins,
        ),
    }

"""A client of the running service for UserAuth tests: its own client address (sent as
x-forwarded-for, believed from 127.0.0.1 in these tests) so that rate limits count each
test apart, its access token once logged in, and the generated stubs."""

from __future__ import annotations

import random
import uuid
from typing import Any

import grpc

from tests.support.statuses import status_details
from userservice.v1 import user_auth_pb2, user_auth_pb2_grpc

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "purple elephant dances quietly"


def new_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def new_address() -> str:
    """A client address of the test's own (198.18.0.0/15, set aside for tests)."""
    return f"198.{random.randint(18, 19)}.{random.randint(0, 255)}.{random.randint(1, 254)}"  # noqa: S311


class Caller:
    def __init__(self, channel: grpc.Channel, address: str | None = None, token: str | None = None) -> None:
        self.stub = user_auth_pb2_grpc.UserAuthStub(channel)
        self.address = address or new_address()
        self.token = token

    def metadata(self) -> tuple[tuple[str, str], ...]:
        found = [("x-forwarded-for", self.address)]
        if self.token:
            found.append(("authorization", f"Bearer {self.token}"))
        return tuple(found)

    def call(self, rpc: str, **fields: Any) -> Any:
        """UserAuth.<rpc>(<rpc>Request(**fields)) as this caller."""
        request = getattr(user_auth_pb2, f"{rpc}Request")(**fields)
        return getattr(self.stub, rpc)(request, metadata=self.metadata(), timeout=15)

    def refused(self, rpc: str, **fields: Any) -> tuple[grpc.StatusCode, str]:
        """(code, ErrorInfo reason) of a call that must fail."""
        try:
            self.call(rpc, **fields)
        except grpc.RpcError as error:
            return error.code(), status_details(error)["ErrorInfo"].reason
        raise AssertionError(f"{rpc} succeeded")

    def login(self, email: str, password: str = PASSWORD) -> Any:
        answer = self.call("Login", email=email, password=password)
        self.token = answer.access_token
        return answer

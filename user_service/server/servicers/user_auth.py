"""userservice.v1.UserAuth."""

from __future__ import annotations

from userservice.v1 import user_auth_pb2_grpc


class UserAuthServicer(user_auth_pb2_grpc.UserAuthServicer):
    """RPCs not written yet fall through to the generated base class, whose
    NotImplementedError the error interceptor answers with UNIMPLEMENTED."""

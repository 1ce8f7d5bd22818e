"""The google.rpc details a failed call carried, by type name."""

from __future__ import annotations

from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

_KINDS = (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.RetryInfo)


def status_details(error: grpc.RpcError) -> dict[str, Any]:
    """{"ErrorInfo": ..., "BadRequest": ..., "RetryInfo": ...}, as far as present."""
    status = rpc_status.from_call(error)
    assert status is not None, "no google.rpc.Status in the trailers"
    found: dict[str, Any] = {}
    for packed in status.details:
        for kind in _KINDS:
            if packed.Is(kind.DESCRIPTOR):
                message = kind()
                packed.Unpack(message)
                found[kind.__name__] = message
    return found

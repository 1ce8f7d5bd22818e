"""Every RPC of userservice.v1 as the contract states it: its request and response
messages, and the status codes it may answer, read from the comments in the protos (the
descriptor set keeps them), the access policy and the field behaviors.

An RPC may answer:
- each canonical code its own comment names;
- for Balance, each code the service's comment names: it says they apply to every RPC;
- UNAUTHENTICATED and PERMISSION_DENIED when its access policy needs a token (UserAuth's
  service comment says so for the RPCs that need one);
- INVALID_ARGUMENT when it has a REQUIRED field (AIP-203: a required field left out is
  INVALID_ARGUMENT).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import grpc
from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2, message_factory
from google.protobuf.descriptor import Descriptor, MethodDescriptor
from google.protobuf.message import Message

from user_service.server.access import BALANCE, RPC_POLICIES, USER_AUTH
from userservice.v1 import balance_pb2, user_auth_pb2  # noqa: F401  (registers the messages)

DESCRIPTOR_SET = Path(__file__).resolve().parents[2] / "generated" / "userservice.pb"
_SERVICE, _METHOD = 6, 2  # FileDescriptorProto.service, ServiceDescriptorProto.method
_CODES = {code.name for code in grpc.StatusCode} - {"OK"}
_CODE_WORD = re.compile(r"\b[A-Z][A-Z_]+\b")
# googleapis-common-protos' stubs type the extension as a plain field descriptor.
FIELD_BEHAVIOR: Any = field_behavior_pb2.field_behavior


@dataclass(frozen=True)
class Rpc:
    service: str
    name: str
    request: type[Message]
    response: type[Message]
    codes: frozenset[grpc.StatusCode]
    needs_token: bool

    @property
    def path(self) -> str:
        return f"/userservice.v1.{self.service}/{self.name}"

    def __str__(self) -> str:
        return f"{self.service}.{self.name}"


def _comments() -> dict[tuple[str, str], str]:
    """{(service, rpc or ""): leading comment} from the descriptor set's source info."""
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    found = {}
    for file in files.file:
        if file.package != "userservice.v1":
            continue
        where = {
            tuple(location.path): location.leading_comments for location in file.source_code_info.location
        }
        for s, service in enumerate(file.service):
            found[service.name, ""] = where.get((_SERVICE, s), "")
            for m, method in enumerate(service.method):
                found[service.name, method.name] = where.get((_SERVICE, s, _METHOD, m), "")
    return found


def codes_named(comment: str) -> set[grpc.StatusCode]:
    return {grpc.StatusCode[word] for word in _CODE_WORD.findall(comment) if word in _CODES}


def _has_required_field(message: Descriptor) -> bool:
    return any(
        field_behavior_pb2.REQUIRED in field.GetOptions().Extensions[FIELD_BEHAVIOR]
        for field in message.fields
    )


@cache
def rpcs() -> tuple[Rpc, ...]:
    comments = _comments()
    found = []
    for service in (USER_AUTH, BALANCE):
        method: MethodDescriptor
        for method in service.methods:
            policy = RPC_POLICIES[f"/{service.full_name}/{method.name}"]
            codes = codes_named(comments[service.name, method.name])
            if service is BALANCE:
                codes |= codes_named(comments[service.name, ""])
            if policy.token:
                codes |= {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
            if _has_required_field(method.input_type):
                codes.add(grpc.StatusCode.INVALID_ARGUMENT)
            found.append(
                Rpc(
                    service.name,
                    method.name,
                    message_factory.GetMessageClass(method.input_type),
                    message_factory.GetMessageClass(method.output_type),
                    frozenset(codes),
                    policy.token,
                )
            )
    return tuple(found)


def rpc(name: str) -> Rpc:
    (found,) = [r for r in rpcs() if r.name == name]
    return found

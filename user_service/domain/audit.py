"""Audit events: who did what to whom, from where, in which call, and how it ended.

Never a secret in `details`: no password, token or hash. The request id and the client's
address are taken from the current call.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from user_service.caller import client_address
from user_service.logs import request_id_var

SUCCESS = "success"
FAILURE = "failure"

Detail = str | int | bool | None


@dataclass(frozen=True)
class AuditEvent:
    action: str  # e.g. "user.login", "balance.deposit"
    outcome: str = SUCCESS
    actor_user_id: uuid.UUID | None = None
    subject_user_id: uuid.UUID | None = None
    details: Mapping[str, Detail] = field(default_factory=dict)
    request_id: str | None = field(default_factory=request_id_var.get)
    client_address: str | None = field(default_factory=client_address)

"""Every error the service can raise maps to a real gRPC code: never UNKNOWN, and a class
that forgets to say is INTERNAL."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from google.rpc import code_pb2

import user_service
from user_service.domain.errors import UserServiceError
from user_service.server.interceptors.errors import status_for


def every_error_class() -> list[type[UserServiceError]]:
    for module in pkgutil.walk_packages(user_service.__path__, "user_service."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, pending = [], [UserServiceError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


ERRORS = every_error_class()


def test_the_walk_finds_the_errors_of_every_layer():
    names = {cls.__name__ for cls in ERRORS}
    assert {
        "InvalidArgument",
        "EmailAlreadyRegistered",
        "DatabaseUnavailable",
        "TransactionConflict",
    } <= names


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_class_names_a_real_code_that_is_not_unknown(cls):
    assert code_pb2.Code.Value(cls.code) not in (code_pb2.UNKNOWN, code_pb2.OK)


def test_a_subclass_that_forgets_its_code_is_internal():
    class Forgetful(UserServiceError):
        pass

    assert Forgetful.code == "INTERNAL"
    assert status_for(Forgetful("FORGOT", "no code given")).code == code_pb2.INTERNAL

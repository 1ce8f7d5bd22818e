"""The health names Kubernetes' probes and Envoy's health checks ask for (k8s/) are
SERVING on the running server: a name it does not report would answer NOT_FOUND, and
the probe or the health check would fail forever."""

from __future__ import annotations

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.manifests import health_names_in_manifests
from tests.support.network import SERVING

NAMES = health_names_in_manifests()


def test_the_manifests_ask_for_the_overall_health_and_each_service():
    assert set(NAMES) == {"", "userservice.v1.UserAuth", "userservice.v1.Balance"}


@pytest.mark.parametrize("name", NAMES)
def test_every_health_name_in_the_manifests_is_serving(service, name):
    response = health_pb2_grpc.HealthStub(service.channel).Check(
        health_pb2.HealthCheckRequest(service=name), timeout=5
    )

    assert response.status == SERVING

"""The image and the Kubernetes manifests agree with the service they run: health names,
settings, ports, users, commands, and with each other: selectors, names, the order of
shutdown. (tools/k8s.py checks them against the Kubernetes schemas, in make lint.)"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.manifests import (
    AWS_SDK_VARIABLES,
    DOCKERIGNORE,
    MIGRATION_SECRET,
    SERVER_SECRET,
    builder_copies,
    config_map,
    container,
    dockerfile_stages,
    grpc_probe_services,
    image_command,
    image_exposed_ports,
    image_user,
    matches,
    plain_env,
    pod_template,
    prestop_seconds,
    resource,
    resources,
    server_environment,
)
from user_service import cli, config
from user_service.config import Settings, load_settings
from user_service.environment import EnvironmentReader
from user_service.server.app import SERVICE_NAMES
from user_service.storage.database import service_role

DEPLOYMENT = resource("Deployment", "user-service")
JOB = resource("Job", "user-service-migrate")
ENVOY = resource("Deployment", "user-service-envoy")
WORKLOADS = {"server": DEPLOYMENT, "migration": JOB, "envoy": ENVOY}
SECRET_NAMES = {*SERVER_SECRET, *MIGRATION_SECRET, "SMTP_PASSWORD"}


@pytest.fixture
def variables_read(monkeypatch) -> set[str]:
    """The names load_settings reads, recorded as it reads them."""
    names = {"AWS_SECRET_ID"}  # read before the reader exists: it names the secret to merge
    raw = EnvironmentReader.raw

    def recording(self: EnvironmentReader, name: str) -> str | None:
        names.add(name)
        return raw(self, name)

    monkeypatch.setattr(EnvironmentReader, "raw", recording)
    load_settings({})
    return names


def settings_with_secret(monkeypatch, environment: dict[str, str], secret: dict[str, str]) -> Settings:
    """load_settings as the container runs it: its environment, with the AWS secret its
    AWS_SECRET_ID names merged over it (placeholders here, from no network)."""

    def fetch(secret_id: str) -> dict[str, str]:
        assert secret_id == environment["AWS_SECRET_ID"]
        return secret

    monkeypatch.setattr(config, "fetch_json_secret", fetch)
    return load_settings(environment)


# ---- Health and shutdown


def test_the_probes_ask_for_health_names_the_server_reports():
    probes = grpc_probe_services(container(DEPLOYMENT))

    assert set(probes) == {"startupProbe", "readinessProbe", "livenessProbe"}
    assert set(probes.values()) <= {"", *SERVICE_NAMES}
    for probe in probes:
        assert container(DEPLOYMENT)[probe]["grpc"]["port"] == Settings().grpc_port


def test_kubernetes_waits_for_the_prestop_pause_and_the_whole_drain(monkeypatch):
    settings = settings_with_secret(monkeypatch, server_environment(), SERVER_SECRET)
    pause = prestop_seconds(container(DEPLOYMENT))

    assert pause > 0
    assert settings.shutdown_grace_seconds >= Settings().shutdown_grace_seconds
    assert pod_template(DEPLOYMENT)["spec"]["terminationGracePeriodSeconds"] > (
        pause + settings.shutdown_grace_seconds
    )


# ---- Settings


def test_the_configmap_holds_only_variables_the_service_reads(variables_read):
    assert set(config_map("user-service-config")) - variables_read == set()


def test_the_containers_set_only_variables_the_service_or_the_aws_sdk_reads(variables_read):
    for workload in (DEPLOYMENT, JOB):
        assert set(plain_env(container(workload))) - variables_read - AWS_SDK_VARIABLES == set()


def test_secrets_stay_out_of_the_configmap_and_the_manifests():
    assert SECRET_NAMES & set(config_map("user-service-config")) == set()
    for workload in (DEPLOYMENT, JOB):
        assert SECRET_NAMES & set(plain_env(container(workload))) == set()


def test_the_server_gets_a_valid_production_configuration(monkeypatch):
    settings = settings_with_secret(monkeypatch, server_environment(), SERVER_SECRET)

    assert settings.is_production
    assert settings.log_format == "json"
    assert settings.database_url == SERVER_SECRET["DATABASE_URL"]
    assert settings.redis_url is not None
    assert settings.migration_database_url is None
    # Envoy's x-forwarded-for is believed from somewhere (a placeholder network to replace).
    assert settings.trusted_proxies


def test_the_migration_job_gets_the_owner_and_grants_the_servers_role(monkeypatch):
    environment = plain_env(container(JOB))
    settings = settings_with_secret(monkeypatch, environment, MIGRATION_SECRET)

    assert settings.is_production
    assert settings.owner_database_url == MIGRATION_SECRET["MIGRATION_DATABASE_URL"]
    # The migration secret's DATABASE_URL needs no password: migrate only reads its user,
    # the role the server connects as, to grant it row access.
    assert service_role(settings) == urlsplit(SERVER_SECRET["DATABASE_URL"]).username
    assert environment["AWS_SECRET_ID"] != plain_env(container(DEPLOYMENT))["AWS_SECRET_ID"]


# ---- Image, commands and ports


def test_the_image_exposes_the_ports_the_pods_declare_and_the_settings_use(monkeypatch):
    settings = settings_with_secret(monkeypatch, server_environment(), SERVER_SECRET)
    ports = {port["name"]: port["containerPort"] for port in container(DEPLOYMENT)["ports"]}
    annotations = pod_template(DEPLOYMENT)["metadata"]["annotations"]

    assert image_exposed_ports() == set(ports.values())
    assert ports == {"grpc": settings.grpc_port, "metrics": settings.metrics_port}
    assert (settings.grpc_port, settings.metrics_port) == (Settings().grpc_port, Settings().metrics_port)
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == settings.metrics_port


def test_the_image_runs_the_cli_and_the_pods_pick_its_commands():
    assert image_command() == ["python", "-m", "user_service", "serve"]
    assert container(DEPLOYMENT)["args"] == ["serve"]
    assert container(JOB)["args"] == ["migrate"]
    for workload in (DEPLOYMENT, JOB):
        assert container(workload)["image"] == "user-service"
        cli._parser().parse_args(container(workload)["args"])


def test_the_pods_run_as_the_images_user():
    uid, gid = image_user()

    assert uid != 0
    for workload in (DEPLOYMENT, JOB):
        pod = pod_template(workload)["spec"]["securityContext"]
        assert (pod["runAsUser"], pod["runAsGroup"]) == (uid, gid)
        assert container(workload)["securityContext"]["runAsUser"] == uid


def test_the_image_installs_from_constraints_without_the_laptop_extras():
    installs = [
        arguments
        for stage in dockerfile_stages()[:-1]
        for instruction, arguments in stage
        if instruction == "RUN" and "pip install" in arguments
    ]

    assert installs
    for arguments in installs:
        assert "-c constraints.txt" in arguments
        assert "[" not in arguments.partition("pip install")[2]  # no extras
    assert not any(
        instruction == "RUN" and "pip" in arguments for instruction, arguments in dockerfile_stages()[-1]
    )


def test_the_build_context_holds_what_the_dockerfile_copies():
    allowed = {line[1:].rstrip("/") for line in DOCKERIGNORE.read_text().splitlines() if line.startswith("!")}

    assert "*" in DOCKERIGNORE.read_text().splitlines()
    assert {source.rstrip("/") for source in builder_copies() if source != "."} <= allowed


# ---- Security


@pytest.mark.parametrize("name", WORKLOADS)
def test_every_pod_is_locked_down(name):
    workload = WORKLOADS[name]
    pod = pod_template(workload)["spec"]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for each in pod["containers"]:
        context = each["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert each["resources"]["requests"]
        assert each["resources"]["limits"]


@pytest.mark.parametrize("name", ["server", "migration"])
def test_the_service_writes_only_to_an_empty_dir_at_tmp(name):
    pod = pod_template(WORKLOADS[name])["spec"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container(WORKLOADS[name])["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}

    assert "emptyDir" in volumes[mounts["/tmp"]]  # noqa: S108 (a path in the manifest, not a file we use)


def test_server_and_migration_read_their_secrets_with_roles_of_their_own():
    accounts = [pod_template(workload)["spec"]["serviceAccountName"] for workload in (DEPLOYMENT, JOB)]
    roles = [
        resource("ServiceAccount", account)["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        for account in accounts
    ]

    assert len(set(accounts)) == len(set(roles)) == 2
    assert all(role.startswith("arn:aws:iam::") for role in roles)


def test_the_migration_job_retries_and_then_goes_away():
    spec = JOB["spec"]

    assert spec["backoffLimit"] >= 1
    assert spec["ttlSecondsAfterFinished"] > 0
    assert pod_template(JOB)["spec"]["restartPolicy"] == "Never"


# ---- Names and selectors


def test_every_object_is_labelled_part_of_user_service_and_names_no_namespace():
    for each in resources():
        assert each["metadata"]["labels"]["app.kubernetes.io/part-of"] == "user-service", each["metadata"]
        assert "namespace" not in each["metadata"]


@pytest.mark.parametrize("name", WORKLOADS)
def test_workloads_select_their_own_pods_only(name):
    workload = WORKLOADS[name]
    own = pod_template(workload)["metadata"]["labels"]

    if "selector" in workload["spec"]:
        selector = workload["spec"]["selector"]["matchLabels"]
        assert matches(selector, own)
        others = [pod_template(w)["metadata"]["labels"] for n, w in WORKLOADS.items() if n != name]
        assert not any(matches(selector, labels) for labels in others)


def test_services_budgets_and_the_autoscaler_find_the_server():
    server = pod_template(DEPLOYMENT)["metadata"]["labels"]
    ports = {port["name"] for port in container(DEPLOYMENT)["ports"]}

    for name in ("user-service", "user-service-headless"):
        service = resource("Service", name)
        assert matches(service["spec"]["selector"], server)
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports
    assert resource("Service", "user-service-headless")["spec"]["clusterIP"] == "None"
    assert matches(resource("PodDisruptionBudget", "user-service")["spec"]["selector"]["matchLabels"], server)
    target = resource("HorizontalPodAutoscaler", "user-service")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "user-service")
    assert "replicas" not in DEPLOYMENT["spec"]  # the autoscaler owns it


def test_the_load_balancer_is_an_internal_nlb():
    service = resource("Service", "user-service")
    annotations = service["metadata"]["annotations"]

    assert service["spec"]["type"] == "LoadBalancer"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert service["spec"]["loadBalancerClass"] == "service.k8s.aws/nlb"


def ingress_rules_for(policy: dict[str, Any], port: int) -> list[dict[str, Any]]:
    return [rule for rule in policy["spec"]["ingress"] if port in {p["port"] for p in rule.get("ports", [])}]


def test_the_network_policy_lets_envoy_the_platform_and_prometheus_in(monkeypatch):
    settings = settings_with_secret(monkeypatch, server_environment(), SERVER_SECRET)
    policy = resource("NetworkPolicy", "user-service")
    (grpc_rule,) = ingress_rules_for(policy, settings.grpc_port)
    (metrics_rule,) = ingress_rules_for(policy, settings.metrics_port)
    envoy_pods = pod_template(ENVOY)["metadata"]["labels"]

    assert matches(
        policy["spec"]["podSelector"]["matchLabels"], pod_template(DEPLOYMENT)["metadata"]["labels"]
    )
    assert matches(policy["spec"]["podSelector"]["matchLabels"], pod_template(JOB)["metadata"]["labels"])
    assert any(
        matches(peer.get("podSelector", {}).get("matchLabels", {}), envoy_pods) for peer in grpc_rule["from"]
    )
    assert {"platform": "true"} in [
        peer.get("namespaceSelector", {}).get("matchLabels") for peer in grpc_rule["from"]
    ]
    assert [peer["podSelector"]["matchLabels"] for peer in metrics_rule["from"]] == [
        {"app.kubernetes.io/name": "prometheus"}
    ]
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert egress_ports == {53, 5432, 6379, 443, 587}

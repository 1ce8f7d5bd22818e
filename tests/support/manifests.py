"""What the production pieces say, read from their files: the Kubernetes manifests that
k8s/kustomization.yaml lists, the ConfigMap's settings, Envoy's configuration, the
descriptor set Envoy loads, and the Dockerfile's final stage."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml
from google.api import annotations_pb2, field_behavior_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from tools.k8s import K8S, ROOT, documents, kustomization, manifests

ENVOY_CONFIG = K8S / "envoy" / "envoy.yaml"
ENVOY_DESCRIPTOR_SET = K8S / "envoy" / "userservice.pb"
GENERATED_DESCRIPTOR_SET = ROOT / "generated" / "userservice.pb"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
README = ROOT / "README.md"

TRANSCODER = "envoy.filters.http.grpc_json_transcoder"
# Option extensions (googleapis-common-protos' stubs type them as plain field descriptors,
# which Extensions[] does not accept).
HTTP_RULE: Any = annotations_pb2.http
FIELD_BEHAVIOR: Any = field_behavior_pb2.field_behavior

# What the AWS secrets hold, as placeholders (README "Deploy"): the server's, and the
# migration Job's.
SERVER_SECRET = {
    "DATABASE_URL": "postgresql://user_service:service-password@db.internal:5432/userservice",
    "JWT_SECRET": "placeholder-jwt-secret-0123456789abcdefghijkl",
    "REDIS_URL": "rediss://cache.internal:6379/0",
}
MIGRATION_SECRET = {
    "MIGRATION_DATABASE_URL": "postgresql://userservice_owner:owner-password@db.internal:5432/userservice",
    "DATABASE_URL": "postgresql://user_service@db.internal:5432/userservice",
    "JWT_SECRET": "placeholder-migration-jwt-secret-0123456789abc",
}
# Variables the containers set for the AWS SDK rather than for the service.
AWS_SDK_VARIABLES = {"AWS_REGION"}


# ---- Kubernetes


def resources() -> list[dict[str, Any]]:
    return [document for path in manifests() for document in documents(path)]


def resource(kind: str, name: str) -> dict[str, Any]:
    found = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} in k8s/"
    return found[0]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a matchLabels selector selects these labels."""
    return all(labels.get(key) == value for key, value in selector.items())


def pod_template(workload: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = workload["spec"]["template"]
    return template


def container(workload: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    containers = pod_template(workload)["spec"]["containers"]
    found = [c for c in containers if name is None or c["name"] == name]
    assert len(found) == 1, f"{workload['metadata']['name']}: {len(found)} containers named {name}"
    return dict(found[0])


def plain_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's env entries with a literal value."""
    return {entry["name"]: entry["value"] for entry in container.get("env", []) if "value" in entry}


def read_env_file(path: Path) -> dict[str, str]:
    """A kustomize env file: KEY=VALUE lines; blank lines and # comments skipped."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, separator, value = line.partition("=")
            assert separator, f"{path.name}: not KEY=VALUE: {line!r}"
            values[key] = value
    return values


def config_map(name: str) -> dict[str, str]:
    """The data of a ConfigMap that kustomization.yaml generates from env files."""
    (generator,) = [g for g in kustomization()["configMapGenerator"] if g["name"] == name]
    data: dict[str, str] = {}
    for env_file in generator.get("envs", []):
        data |= read_env_file(K8S / env_file)
    return data


def server_environment() -> dict[str, str]:
    """What the server container's environment holds: its ConfigMap, then its own env."""
    deployment = resource("Deployment", "user-service")
    env: dict[str, str] = {}
    for source in container(deployment).get("envFrom", []):
        env |= config_map(source["configMapRef"]["name"])
    return env | plain_env(container(deployment))


def prestop_seconds(container: dict[str, Any]) -> float:
    """How long the container's preStop hook pauses: the sleep action, or an exec of
    `python -c "import time; time.sleep(N)"`."""
    hook = container["lifecycle"]["preStop"]
    if "sleep" in hook:
        return float(hook["sleep"]["seconds"])
    match = re.search(r"time\.sleep\(([\d.]+)\)", " ".join(hook["exec"]["command"]))
    assert match, f"cannot tell how long preStop {hook} pauses"
    return float(match.group(1))


def grpc_probe_services(container: dict[str, Any]) -> dict[str, str]:
    """{probe: health service name} of the container's native gRPC probes."""
    return {
        probe: container[probe]["grpc"].get("service", "")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe")
        if "grpc" in container.get(probe, {})
    }


def health_names_in_manifests() -> list[str]:
    """Every grpc.health.v1 service name the Deployment's probes and Envoy's health checks ask for."""
    names = set(grpc_probe_services(container(resource("Deployment", "user-service"))).values())
    names |= {cluster["health_checks"][0]["grpc_health_check"]["service_name"] for cluster in upstreams()}
    return sorted(names)


# ---- Envoy


def envoy_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ENVOY_CONFIG.read_text())
    return loaded


def listener(name: str) -> dict[str, Any]:
    (found,) = [item for item in envoy_config()["static_resources"]["listeners"] if item["name"] == name]
    return dict(found)


def connection_manager(listener_name: str) -> dict[str, Any]:
    (chain,) = listener(listener_name)["filter_chains"]
    (manager,) = chain["filters"]
    assert manager["name"] == "envoy.filters.network.http_connection_manager"
    config: dict[str, Any] = manager["typed_config"]
    return config


def http_filter(listener_name: str, name: str) -> dict[str, Any]:
    (found,) = [f for f in connection_manager(listener_name)["http_filters"] if f["name"] == name]
    config: dict[str, Any] = found["typed_config"]
    return config


def routes(listener_name: str = "rest") -> list[dict[str, Any]]:
    (host,) = connection_manager(listener_name)["route_config"]["virtual_hosts"]
    found: list[dict[str, Any]] = host["routes"]
    return found


def cluster(name: str) -> dict[str, Any]:
    (found,) = [c for c in envoy_config()["static_resources"]["clusters"] if c["name"] == name]
    return dict(found)


def upstreams() -> list[dict[str, Any]]:
    """The clusters the REST routes send calls to."""
    names = sorted({route["route"]["cluster"] for route in routes() if "route" in route})
    return [cluster(name) for name in names]


# ---- The descriptor set


def descriptor_set(path: Path = ENVOY_DESCRIPTOR_SET) -> descriptor_pb2.FileDescriptorSet:
    # annotations_pb2 and field_behavior_pb2 are imported above, so that their options
    # parse as extensions.
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


def pool(path: Path = ENVOY_DESCRIPTOR_SET) -> descriptor_pool.DescriptorPool:
    """A pool of its own holding the set's files (and nothing of the process's imports)."""
    loaded = descriptor_pool.DescriptorPool()
    for file in descriptor_set(path).file:
        loaded.Add(file)
    return loaded


def new_message(pool: descriptor_pool.DescriptorPool, full_name: str) -> Message:
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))()


def required_fields() -> dict[str, set[str]]:
    """{message full name: its fields marked (google.api.field_behavior) = REQUIRED}."""
    required = {}
    for file in descriptor_set().file:
        for message in file.message_type:
            required[f"{file.package}.{message.name}"] = {
                field.name
                for field in message.field
                if field_behavior_pb2.REQUIRED in field.options.Extensions[FIELD_BEHAVIOR]
            }
    return required


def http_rules() -> dict[str, tuple[descriptor_pb2.MethodDescriptorProto, Any]]:
    """{"userservice.v1.Service/Rpc": (method, google.api.HttpRule)} for every RPC in the set."""
    rules: dict[str, tuple[descriptor_pb2.MethodDescriptorProto, Any]] = {}
    for file in descriptor_set().file:
        for service in file.service:
            for method in service.method:
                rules[f"{file.package}.{service.name}/{method.name}"] = (
                    method,
                    method.options.Extensions[HTTP_RULE],
                )
    return rules


# ---- The Dockerfile


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        logical.append(current)
        current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in logical]


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction, arguments in _instructions(DOCKERFILE.read_text()):
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, arguments))
    return stages


def image_instruction(name: str) -> str:
    """The last NAME instruction of the final stage: what the image keeps."""
    found = [arguments for instruction, arguments in dockerfile_stages()[-1] if instruction == name]
    assert found, f"the Dockerfile's final stage has no {name}"
    return found[-1]


def image_exposed_ports() -> set[int]:
    return {int(port.split("/")[0]) for port in image_instruction("EXPOSE").split()}


def image_command() -> list[str]:
    """ENTRYPOINT + CMD, both in exec (JSON) form."""
    entrypoint: list[str] = json.loads(image_instruction("ENTRYPOINT"))
    command: list[str] = json.loads(image_instruction("CMD"))
    return entrypoint + command


def image_user() -> tuple[int, int]:
    user, _, group = image_instruction("USER").partition(":")
    return int(user), int(group or user)


def builder_copies() -> list[str]:
    """The sources the stages COPY from the build context (not --from another stage)."""
    sources = []
    for stage in dockerfile_stages():
        for instruction, arguments in stage:
            words = shlex.split(arguments)
            if instruction == "COPY" and not any(word.startswith("--from") for word in words):
                sources += [word for word in words[:-1] if not word.startswith("--")]
    return sources

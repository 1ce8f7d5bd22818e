"""Envoy's REST gateway against the contract: the transcoder's configuration and the
descriptor set it loads, the upstream it calls, and the README's routes and curl
examples, turned into request messages the way the transcoder does (protobuf's JSON
mapping over the descriptor set)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from tests.support.manifests import (
    ENVOY_CONFIG,
    ENVOY_DESCRIPTOR_SET,
    GENERATED_DESCRIPTOR_SET,
    README,
    TRANSCODER,
    cluster,
    connection_manager,
    container,
    http_filter,
    http_rules,
    listener,
    matches,
    new_message,
    pod_template,
    pool,
    required_fields,
    resource,
    routes,
    upstreams,
)
from tools.protos import envoy_descriptor_set
from user_service.config import Settings
from user_service.server.app import SERVICE_NAMES

POOL = pool()
RULES = http_rules()
REQUIRED = required_fields()
TRANSCODER_CONFIG = http_filter("rest", TRANSCODER)


def rule_of(rule: Any) -> tuple[str, str]:
    """(HTTP method, path template) of a google.api.HttpRule."""
    kind = rule.WhichOneof("pattern")
    assert kind in {"get", "put", "post", "delete", "patch"}, f"unsupported pattern {kind}"
    return kind.upper(), getattr(rule, kind)


# ---- The transcoder and its descriptor set


def test_envoy_loads_the_descriptor_set_that_make_generate_writes():
    envoy = resource("Deployment", "user-service-envoy")
    mounts = {m["name"]: m["mountPath"] for m in container(envoy)["volumeMounts"]}
    volumes = {v["name"]: v["configMap"]["name"] for v in pod_template(envoy)["spec"]["volumes"]}
    by_config_map = {config_map: mounts[volume] for volume, config_map in volumes.items()}
    args = container(envoy)["args"]

    assert ENVOY_DESCRIPTOR_SET.read_bytes() == envoy_descriptor_set(GENERATED_DESCRIPTOR_SET.read_bytes())
    assert TRANSCODER_CONFIG["proto_descriptor"] == f"{by_config_map['envoy-descriptor']}/userservice.pb"
    assert args[args.index("--config-path") + 1] == f"{by_config_map['envoy-config']}/{ENVOY_CONFIG.name}"


def test_the_descriptor_configmap_stays_small():
    # kubectl's client-side apply keeps the whole object in a 256 KiB annotation; base64
    # makes the set a third larger.
    assert len(ENVOY_DESCRIPTOR_SET.read_bytes()) * 4 / 3 < 128 * 1024


def test_the_gateway_transcodes_both_services_of_the_server_and_they_are_in_the_descriptor():
    assert sorted(TRANSCODER_CONFIG["services"]) == sorted(SERVICE_NAMES)
    for name in TRANSCODER_CONFIG["services"]:
        assert POOL.FindServiceByName(name).methods


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_rpc_has_an_http_rule(service):
    for method in POOL.FindServiceByName(service).methods:
        _, rule = RULES[f"{service}/{method.name}"]
        method_name, path = rule_of(rule)
        assert path.startswith("/v1/"), f"{method.full_name}: {method_name} {path}"


def test_errors_reach_rest_clients_with_their_details():
    assert TRANSCODER_CONFIG["convert_grpc_status"] is True
    # The detail types the server sends must be in the set, or Envoy cannot print them.
    for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.RetryInfo):
        assert POOL.FindMessageTypeByName(kind.DESCRIPTOR.full_name)
    assert POOL.FindMessageTypeByName("google.rpc.Status")


def test_the_transcoder_maps_only_the_annotated_routes_and_prints_the_contracts_json():
    assert TRANSCODER_CONFIG["auto_mapping"] is False
    assert TRANSCODER_CONFIG["print_options"] == {
        "add_whitespace": False,
        "preserve_proto_field_names": True,
        "always_print_primitive_fields": True,
        "always_print_enums_as_ints": False,
    }
    assert TRANSCODER_CONFIG["request_validation_options"] == {
        "reject_unknown_method": True,
        "reject_unknown_query_parameters": True,
        "reject_binding_body_field_collisions": True,
    }


# ---- The upstream


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_service_is_routed_to_a_cluster_health_checked_under_its_name(service):
    (route,) = [r for r in routes() if r["match"].get("prefix") == f"/{service}/"]
    upstream = cluster(route["route"]["cluster"])
    (check,) = upstream["health_checks"]

    assert route["match"]["grpc"] == {}
    assert check["grpc_health_check"]["service_name"] == service


@pytest.mark.parametrize("name", [c["name"] for c in upstreams()])
def test_upstreams_are_the_headless_service_over_http2(name):
    upstream = cluster(name)
    options = upstream["typed_extension_protocol_options"][
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ]
    (endpoint,) = upstream["load_assignment"]["endpoints"][0]["lb_endpoints"]
    address = endpoint["endpoint"]["address"]["socket_address"]
    headless = resource("Service", "user-service-headless")

    assert "http2_protocol_options" in options["explicit_http_config"]
    assert upstream["type"] == "STRICT_DNS"
    assert address["address"] == headless["metadata"]["name"]
    assert address["port_value"] == headless["spec"]["ports"][0]["port"] == Settings().grpc_port
    assert upstream["health_checks"][0]["grpc_health_check"]["service_name"] in SERVICE_NAMES


def test_envoy_appends_the_clients_address_for_the_servers_trusted_proxies():
    manager = connection_manager("rest")

    assert manager["use_remote_address"] is True
    assert manager.get("skip_xff_append", False) is False


def test_only_the_two_services_are_reachable_through_the_gateway():
    prefixes = [route["match"].get("prefix") for route in routes() if "route" in route]

    assert sorted(prefixes) == sorted(f"/{service}/" for service in SERVICE_NAMES)


def test_envoys_probes_and_scrapes_use_its_ops_listener():
    envoy = resource("Deployment", "user-service-envoy")
    ports = {port["name"]: port["containerPort"] for port in container(envoy)["ports"]}
    ops_port = listener("ops")["address"]["socket_address"]["port_value"]
    health = http_filter("ops", "envoy.filters.http.health_check")

    assert ports == {"http": listener("rest")["address"]["socket_address"]["port_value"], "ops": ops_port}
    assert container(envoy)["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "ops"}
    assert health["headers"] == [{"name": ":path", "string_match": {"exact": "/ready"}}]
    assert int(pod_template(envoy)["metadata"]["annotations"]["prometheus.io/port"]) == ops_port


# ---- The README


def readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


REST_SECTION = readme_section("REST through Envoy")


def route_table() -> dict[str, tuple[str, str, str]]:
    """{"userservice.v1.Service/Rpc": (method, path, body)} from the README's table."""
    rows = {}
    for line in REST_SECTION.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in {"GET", "POST", "PATCH", "PUT", "DELETE"}:
            service, _, rpc = cells[2].partition(".")
            key = f"userservice.v1.{service}/{rpc}"
            assert key not in rows, f"{key} twice in the README's table"
            rows[key] = (cells[0], cells[1], "" if cells[3] == "-" else cells[3])
    return rows


def test_the_readmes_route_table_lists_every_rpc_as_annotated():
    expected = {}
    for key, (_, rule) in RULES.items():
        if key.split("/")[0] in SERVICE_NAMES:
            method, path = rule_of(rule)
            expected[key] = (method, path, rule.body)

    assert route_table() == expected


def test_the_readmes_rpc_tables_name_the_annotated_routes():
    by_rpc = {key.split("/")[1]: rule_of(rule) for key, (_, rule) in RULES.items()}
    found = re.findall(
        r"^\| `(\w+)\(.*?\| `(GET|POST|PATCH|PUT|DELETE) (\S+)` \|", readme_section("RPCs"), re.M
    )

    assert len(found) == len(by_rpc)
    for rpc, method, path in found:
        assert by_rpc[rpc] == (method, path), rpc


@dataclass
class CurlCall:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: str | None
    command: str


def curl_calls() -> list[CurlCall]:
    """Every curl command of the README section's ```sh blocks, read as the shell would."""
    calls = []
    for block in re.findall(r"```sh\n(.*?)```", REST_SECTION, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if "curl " not in command:
                continue
            lexer = shlex.shlex(command[command.index("curl ") :], posix=True, punctuation_chars="|);")
            lexer.whitespace_split = True
            words = []
            for word in lexer:
                if word in {"|", ")", ";"}:
                    break
                words.append(word)
            calls.append(parse_curl(words[1:], command))
    return calls


def parse_curl(arguments: list[str], command: str) -> CurlCall:
    method, body, url = None, None, None
    words = iter(arguments)
    for word in words:
        if word in {"-X", "--request"}:
            method = next(words)
        elif word in {"-d", "--data", "--data-raw"}:
            body = next(words)
        elif word in {"-H", "--header"}:
            next(words)
        elif word.startswith("http"):
            url = urlsplit(word)
        else:
            assert word in {"-sS", "-s", "-S"}, f"unexpected curl argument {word!r} in {command}"
    assert url is not None, f"no URL in {command}"
    return CurlCall(method or ("POST" if body else "GET"), url.path, parse_qsl(url.query), body, command)


def template_pattern(template: str) -> re.Pattern[str]:
    """/v1/users/{user_id}/balance:deposit -> a pattern with one group per parameter."""
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/:]+)" for i, part in enumerate(parts)
    )
    return re.compile(f"^{pattern}$")


def rule_for(call: CurlCall) -> tuple[str, Any, dict[str, str]]:
    """(the RPC, its HttpRule, the path parameters) the transcoder maps the call to."""
    found = []
    for key, (method, rule) in RULES.items():
        verb, template = rule_of(rule)
        match = template_pattern(template).match(call.path)
        if verb == call.method and match:
            found.append((key, method, rule, match.groupdict()))
    assert len(found) == 1, f"{call.method} {call.path} maps to {[f[0] for f in found]}"
    key, method, rule, parameters = found[0]
    return key, (method, rule), parameters


def request_message(call: CurlCall) -> Message:
    """What the transcoder makes of the call: the body parsed into the request message
    (strictly: an unknown field fails), then the path's and the query's parameters."""
    _, (method, rule), parameters = rule_for(call)
    message = new_message(POOL, method.input_type.lstrip("."))
    if call.body is not None:
        assert rule.body == "*", f"{call.command}: this route takes no body"
        json_format.Parse(call.body, message, ignore_unknown_fields=False, descriptor_pool=POOL)
        body_fields = set(json_format.MessageToDict(message, preserving_proto_field_name=True))
        assert body_fields.isdisjoint(parameters), f"{call.command}: the body repeats a path parameter"
    json_format.ParseDict({**parameters, **dict(call.query)}, message, ignore_unknown_fields=False)
    return message


CALLS = curl_calls()


def test_the_readme_has_examples_of_the_main_routes():
    examples = {rule_for(call)[0].split("/")[1] for call in CALLS}

    assert {"Register", "Login", "GetMe", "Deposit", "ListTransactions"} <= examples


@pytest.mark.parametrize("call", CALLS, ids=[f"{c.method} {c.path}" for c in CALLS])
def test_every_readme_example_is_a_valid_request(call):
    message = request_message(call)
    given = {field.name for field, _ in message.ListFields()}

    assert REQUIRED[message.DESCRIPTOR.full_name] <= given, f"{call.command}: a required field is missing"


@pytest.mark.parametrize("call", [c for c in CALLS if c.body], ids=lambda c: f"{c.method} {c.path}")
def test_readme_bodies_spell_fields_as_envoy_prints_them(call):
    # preserve_proto_field_names: the proto's own names, as responses show them.
    document = json.loads(call.body or "")
    message = new_message(POOL, rule_for(call)[1][0].input_type.lstrip("."))
    names = {field.name for field in message.DESCRIPTOR.fields}

    assert set(document) <= names


def test_the_readmes_error_body_is_a_status_envoy_can_print():
    (body,) = re.findall(r"```json\n(.*?)\n```", REST_SECTION, re.S)
    status = new_message(POOL, "google.rpc.Status")

    json_format.Parse(body, status, ignore_unknown_fields=False, descriptor_pool=POOL)
    printed: dict[str, Any] = json_format.MessageToDict(
        status, preserving_proto_field_name=True, descriptor_pool=POOL
    )
    assert printed["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert printed["details"][0]["domain"] == "userservice"


def test_envoys_network_policy_opens_its_listeners_and_reaches_only_the_server():
    policy = resource("NetworkPolicy", "user-service-envoy")
    envoy = pod_template(resource("Deployment", "user-service-envoy"))["metadata"]["labels"]
    server = pod_template(resource("Deployment", "user-service"))["metadata"]["labels"]
    listening = {listener(name)["address"]["socket_address"]["port_value"] for name in ("rest", "ops")}
    (to_server,) = [rule for rule in policy["spec"]["egress"] if "to" in rule]

    assert matches(policy["spec"]["podSelector"]["matchLabels"], envoy)
    assert {port["port"] for rule in policy["spec"]["ingress"] for port in rule["ports"]} == listening
    assert [matches(peer["podSelector"]["matchLabels"], server) for peer in to_server["to"]] == [True]
    assert [port["port"] for port in to_server["ports"]] == [Settings().grpc_port]

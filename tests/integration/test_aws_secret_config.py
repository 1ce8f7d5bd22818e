"""Settings merged from an AWS Secrets Manager secret, served by moto's server and reached
through AWS_ENDPOINT_URL, as boto3's default chain does it in EKS (with IRSA there)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.support.network import free_port
from tests.support.server_process import run_cli, service_env
from user_service.config import ConfigError, load_settings

SECRET_JWT = "jwt-secret-from-aws-0123456789abcdefghij"


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(aws_endpoint, monkeypatch) -> dict[str, str]:
    """boto3's environment, pointed at moto; returned for child processes too."""
    variables = {
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


def put_secret(value: str) -> str:
    name = f"user-service/{uuid.uuid4().hex}"
    boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)
    return name


def test_the_secret_is_merged_over_the_environment(aws):
    secret_id = put_secret(
        json.dumps({"JWT_SECRET": SECRET_JWT, "GRPC_PORT": 6001, "REQUIRE_EMAIL_VERIFICATION": False})
    )

    settings = load_settings({"AWS_SECRET_ID": secret_id, "GRPC_PORT": "5000", "LOG_LEVEL": "debug"})

    assert settings.jwt_secret == SECRET_JWT
    assert settings.grpc_port == 6001  # the secret wins
    assert settings.require_email_verification is False
    assert settings.log_level == "DEBUG"  # the environment fills in the rest
    assert settings.aws_secret_id == secret_id


def test_values_from_the_secret_are_validated_like_the_environment(aws):
    secret_id = put_secret(json.dumps({"JWT_SECRET": "short-aws-secret"}))

    with pytest.raises(ConfigError) as refused:
        load_settings({"AWS_SECRET_ID": secret_id})

    assert "JWT_SECRET must be at least 32 bytes" in str(refused.value)
    assert "short-aws-secret" not in str(refused.value)


def test_a_missing_secret_stops_start_up(aws):
    with pytest.raises(
        ConfigError, match=r"AWS Secrets Manager refused secret 'no/such/secret': ResourceNotFoundException"
    ):
        load_settings({"AWS_SECRET_ID": "no/such/secret"})


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"JWT_SECRET": "half-written', "is not valid JSON"),
        ('["JWT_SECRET"]', "must be a JSON object of settings"),
        ('{"SMTP_PASSWORD": {"nested": "hunter2"}}', "SMTP_PASSWORD must be a string, number or boolean"),
    ],
)
def test_a_malformed_secret_is_refused_without_showing_it(aws, content, problem):
    secret_id = put_secret(content)

    with pytest.raises(ConfigError) as refused:
        load_settings({"AWS_SECRET_ID": secret_id})

    assert problem in str(refused.value)
    # Neither value shows (words that the secret's random hex id cannot hold).
    assert "hunter2" not in str(refused.value)
    assert "half-written" not in str(refused.value)


def test_the_service_reads_its_database_from_the_secret(aws, database_url, tmp_path):
    secret_id = put_secret(json.dumps({"DATABASE_URL": database_url, "JWT_SECRET": SECRET_JWT}))

    migrated = run_cli(["migrate"], service_env(AWS_SECRET_ID=secret_id, DATA_DIR=str(tmp_path), **aws))

    assert migrated.returncode == 0, migrated.stderr
    assert "database schema at revision" in migrated.stderr
    assert SECRET_JWT not in migrated.stderr + migrated.stdout

"""Read a JSON secret from AWS Secrets Manager.

boto3's default credential chain finds the credentials (environment, IRSA web identity in
EKS, instance profile), and `AWS_ENDPOINT_URL` points it at another endpoint (tests).
"""

from __future__ import annotations

import json

import boto3
from botocore.exceptions import BotoCoreError, ClientError


class SecretUnavailable(Exception):
    """The secret could not be read or is not a flat JSON object; never holds its value."""


def fetch_json_secret(secret_id: str) -> dict[str, str]:
    """The secret's JSON object, values as strings (numbers and booleans as JSON spells them)."""
    try:
        response = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SecretUnavailable(f"AWS Secrets Manager refused secret {secret_id!r}: {code}") from None
    except BotoCoreError as exc:
        raise SecretUnavailable(
            f"could not read secret {secret_id!r} from AWS Secrets Manager: {exc}"
        ) from None
    if "SecretString" not in response:
        raise SecretUnavailable(f"secret {secret_id!r} holds binary data, not a JSON object")
    try:
        document = json.loads(response["SecretString"])
    except json.JSONDecodeError:
        raise SecretUnavailable(f"secret {secret_id!r} is not valid JSON") from None
    if not isinstance(document, dict):
        raise SecretUnavailable(f"secret {secret_id!r} must be a JSON object of settings")
    return {key: _as_setting(secret_id, key, value) for key, value in document.items()}


def _as_setting(secret_id: str, key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise SecretUnavailable(f"secret {secret_id!r}: {key} must be a string, number or boolean")

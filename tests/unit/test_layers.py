"""The direction of the arrows: servicers -> domain -> storage/adapters, never back; the
server speaks no SQL and the domain no gRPC."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "user_service"

# What each part of the package must never import.
FORBIDDEN = {
    "server": ("sqlalchemy", "psycopg2"),
    "domain": ("grpc", "google.rpc", "sqlalchemy", "psycopg2", "user_service.server"),
    "storage": ("grpc", "user_service.server", "user_service.domain.users"),
    "adapters": ("grpc", "sqlalchemy", "user_service.server", "user_service.storage"),
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_what_it_must_not(layer):
    offending = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / layer).rglob("*.py")
        if "migrations" not in path.parts
        for name in imports(path)
        if name.startswith(FORBIDDEN[layer])
    }
    assert offending == set()

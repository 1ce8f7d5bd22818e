"""Validate k8s/ offline, as `make lint` does.

    python tools/k8s.py validate --kubernetes-version 1.34

Every manifest that k8s/kustomization.yaml lists is checked against the Kubernetes API
schemas of that version (kubernetes-validate, strict: an unknown field is an error, and
so is a kind or apiVersion the version does not serve). Every YAML file under k8s/ must
be either such a manifest or an input of the kustomization's configMapGenerator, and no
manifest names a namespace (the kustomization sets it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from kubernetes_validate import utils as kubernetes_validate

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"


def kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(KUSTOMIZATION.read_text())
    return loaded


def manifests() -> list[Path]:
    """The files kustomization.yaml lists as resources."""
    return [K8S / name for name in kustomization().get("resources", [])]


def generator_inputs() -> list[Path]:
    """The files kustomization.yaml makes ConfigMaps of."""
    return [
        K8S / name.split("=", 1)[-1]
        for generator in kustomization().get("configMapGenerator", [])
        for name in (*generator.get("files", []), *generator.get("envs", []))
    ]


def documents(path: Path) -> Iterator[dict[str, Any]]:
    for document in yaml.safe_load_all(path.read_text()):
        if document:
            yield document


def _problems_of(document: dict[str, Any], version: str) -> list[str]:
    kind = f"{document.get('kind')} {document.get('metadata', {}).get('name')}"
    problems = []
    if "namespace" in document.get("metadata", {}):
        problems.append(f"{kind}: names a namespace (kustomization.yaml sets it)")
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(part) for part in error.path)
        problems.append(f"{kind}: {where}: {error.message}")
    except kubernetes_validate.SchemaNotFoundError as error:
        problems.append(f"{kind}: {error.message}")
    return problems


def validate(version: str) -> list[str]:
    problems = []
    listed = set(manifests()) | set(generator_inputs())
    for path in sorted(K8S.rglob("*.y*ml")):
        if path != KUSTOMIZATION and path not in listed:
            problems.append(f"{path.relative_to(ROOT)}: not in kustomization.yaml")
    for path in manifests():
        if not path.is_file():
            problems.append(f"{path.relative_to(ROOT)}: listed in kustomization.yaml, missing")
            continue
        for document in documents(path):
            problems += [f"{path.relative_to(ROOT)}: {p}" for p in _problems_of(document, version)]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["validate"])
    parser.add_argument("--kubernetes-version", required=True)
    args = parser.parse_args()
    problems = validate(args.kubernetes_version)
    if problems:
        print(*problems, sep="\n")
        sys.exit(1)
    count = sum(1 for path in manifests() for _ in documents(path))
    print(f"k8s/: {count} manifests valid for Kubernetes {args.kubernetes_version}")


if __name__ == "__main__":
    main()

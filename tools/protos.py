"""Generate the Python stubs and Envoy's descriptor set from protos/.

    python tools/protos.py deps       stage google/api and google/rpc protos for buf
    python tools/protos.py generate   rewrite generated/ (and Envoy's copy of the set) from protos/
    python tools/protos.py check      fail when either differs from a fresh generation

The google/api and google/rpc protos come from the googleapis-common-protos wheel,
the well-known types (google/protobuf) from grpcio-tools: no network, no BSR.

The descriptor set also holds google/rpc's Status and error details, which the contract
sends in grpc-status-details-bin but no proto of ours imports: Envoy's transcoder
(convert_grpc_status) and grpcurl (-format-error) can only print details whose types
the set holds. Envoy's copy, k8s/envoy/userservice.pb, is the same set without comments
and source positions: Envoy needs neither, and the ConfigMap that carries it stays well
below what `kubectl apply` can store.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.resources
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
GENERATED = ROOT / "generated"
DEPS = ROOT / ".build" / "proto-deps"
DESCRIPTOR_SET = "userservice.pb"
ENVOY_DESCRIPTOR_SET = ROOT / "k8s" / "envoy" / DESCRIPTOR_SET
# The types of the error details the service sends (user_service/server/interceptors/errors.py).
STATUS_PROTOS = ["google/rpc/status.proto", "google/rpc/error_details.proto"]


def _wheel_google_dir() -> Path:
    spec = importlib.util.find_spec("google.api")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "annotations.proto").is_file():
            return Path(location).parent
    sys.exit("google/api/annotations.proto not found: is googleapis-common-protos installed?")


def stage_deps() -> None:
    google = _wheel_google_dir()
    for package in ("api", "rpc"):
        target = DEPS / "google" / package
        target.mkdir(parents=True, exist_ok=True)
        for proto in sorted((google / package).glob("*.proto")):
            shutil.copyfile(proto, target / proto.name)


def _generate_into(out: Path) -> None:
    stage_deps()
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    include = ["grpc_tools.protoc", f"-I{PROTOS}", f"-I{DEPS}", f"-I{well_known}"]
    stubs = [f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *sources]
    # A run of its own: the status protos belong in the set, but their Python modules come
    # from googleapis-common-protos, not from generated/.
    descriptor_set = [
        f"--descriptor_set_out={out / DESCRIPTOR_SET}",
        "--include_imports",
        "--include_source_info",
        *sources,
        *STATUS_PROTOS,
    ]
    for args in (include + stubs, include + descriptor_set):
        if protoc.main(args) != 0:
            sys.exit("protoc failed")


def envoy_descriptor_set(descriptor_set: bytes) -> bytes:
    """The descriptor set without source info (comments, positions): what Envoy loads."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set)
    for file in files.file:
        file.ClearField("source_code_info")
    return files.SerializeToString(deterministic=True)


def _differences(left: Path, right: Path) -> list[str]:
    cmp = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = [f"only in {left.name}/: {n}" for n in cmp.left_only]
    found += [f"only in a fresh generation: {n}" for n in cmp.right_only]
    found += [f"differs: {n}" for n in cmp.diff_files]
    for name in cmp.common_dirs:
        found += _differences(left / name, right / name)
    return found


def generate() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _generate_into(Path(tmp))
        shutil.rmtree(GENERATED, ignore_errors=True)
        GENERATED.mkdir()
        for item in Path(tmp).iterdir():
            if item.is_dir():
                shutil.copytree(item, GENERATED / item.name)
            else:
                shutil.copyfile(item, GENERATED / item.name)
    ENVOY_DESCRIPTOR_SET.write_bytes(envoy_descriptor_set((GENERATED / DESCRIPTOR_SET).read_bytes()))


def check() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _generate_into(Path(tmp))
        problems = _differences(GENERATED, Path(tmp)) if GENERATED.is_dir() else ["generated/ is missing"]
        fresh_for_envoy = envoy_descriptor_set((Path(tmp) / DESCRIPTOR_SET).read_bytes())
    if not ENVOY_DESCRIPTOR_SET.is_file() or ENVOY_DESCRIPTOR_SET.read_bytes() != fresh_for_envoy:
        problems.append(f"differs: {ENVOY_DESCRIPTOR_SET.relative_to(ROOT)}")
    if problems:
        print("generated/ is stale; run `make generate` and commit it:", *problems, sep="\n  ")
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["deps", "generate", "check"])
    command = parser.parse_args().command
    {"deps": stage_deps, "generate": generate, "check": check}[command]()


if __name__ == "__main__":
    main()

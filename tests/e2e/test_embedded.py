"""With nothing configured (no DATABASE_URL, REDIS_URL or JWT_SECRET), `migrate` and
`serve` run on the embedded PostgreSQL under DATA_DIR, as `make run` does on a laptop."""

from __future__ import annotations

import stat
import subprocess
import sys

import psutil

from tests.support.network import SERVING, free_port, wait_for_health
from tests.support.server_process import run_cli, service_env, start_service
from user_service.server.app import SERVICE_NAMES


def postgres_processes_for(pgdata) -> list[psutil.Process]:
    return [
        process
        for process in psutil.process_iter(["name", "cmdline"])
        if process.info["name"] == "postgres" and str(pgdata) in " ".join(process.info["cmdline"] or [])
    ]


def test_nothing_configured_serves_on_the_embedded_postgres(tmp_path):
    data_dir = tmp_path / ".data"
    env = service_env(DATA_DIR=str(data_dir))

    migrated = run_cli(["migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    assert "using the embedded PostgreSQL" in migrated.stderr

    with start_service(env, free_port(), tmp_path / "server.log") as server:
        wait_for_health(server.channel, SERVING, ("", *SERVICE_NAMES), within=60)
        assert postgres_processes_for(data_dir / "pgdata"), "the embedded PostgreSQL is not running"
        server.signal()
        assert server.wait() == 0, server.output()

    output = server.output()
    assert "JWT_SECRET is not set: using the development secret" in output
    secret_file = data_dir / "jwt_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert secret_file.read_text() not in output
    # Stopped with the service, and the data stays for the next run.
    assert postgres_processes_for(data_dir / "pgdata") == []
    assert (data_dir / "pgdata" / "PG_VERSION").exists()


def test_the_embedded_database_is_refused_in_production(tmp_path):
    refused = run_cli(["migrate"], service_env(ENVIRONMENT="production", DATA_DIR=str(tmp_path)))

    assert refused.returncode == 2
    assert "DATABASE_URL is required when ENVIRONMENT=production" in refused.stderr
    assert not (tmp_path / "pgdata").exists()


def test_without_the_embedded_extra_start_up_says_what_to_do(tmp_path):
    """pgserver is an optional extra (the container image leaves it out)."""
    script = (
        "import sys; sys.modules['pgserver'] = None\n"
        "from user_service.cli import main\n"
        "raise SystemExit(main(['migrate']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=service_env(DATA_DIR=str(tmp_path)),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "DATABASE_URL is not set and the embedded PostgreSQL is not installed" in result.stderr

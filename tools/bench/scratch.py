"""The run's own database and login role on the machine's PostgreSQL: random names,
migrated by `python -m user_service migrate` as the owner (postgres), used by the service
as a role that may only read and write rows (as in production), both dropped at the end."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import create_engine, make_url, text

from tools.bench.servers import clean_env


@dataclass(frozen=True)
class Scratch:
    name: str  # the database's and the role's
    owner_url: str  # postgres, owner of the tables
    service_url: str  # the service's role

    def libpq(self, *, as_owner: bool = False) -> dict[str, str]:
        """PGHOST, PGPORT, PGUSER, PGDATABASE for pgbench, as the service's role (or the owner)."""
        url = make_url(self.owner_url if as_owner else self.service_url)
        return {
            "PGHOST": url.host or "127.0.0.1",
            "PGPORT": str(url.port or 5432),
            "PGUSER": url.username or "postgres",
            "PGDATABASE": url.database or self.name,
        }


def admin_execute(admin_url: str, statement: str) -> None:
    engine = create_engine(_psycopg2(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[Scratch]:
    """A migrated database and a login role of the run's own, dropped however the run ends."""
    name = f"user_service_bench_{uuid.uuid4().hex[:12]}"
    admin_execute(admin_url, f'CREATE ROLE "{name}" LOGIN')
    try:
        admin_execute(admin_url, f'CREATE DATABASE "{name}"')
        try:
            owner = make_url(_psycopg2(admin_url)).set(database=name)
            scratch = Scratch(
                name,
                owner.render_as_string(hide_password=False),
                owner.set(username=name, password=None).render_as_string(hide_password=False),
            )
            _migrate(scratch)
            yield scratch
        finally:
            admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin_execute(admin_url, f'DROP ROLE IF EXISTS "{name}"')


def _migrate(scratch: Scratch) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "user_service", "migrate"],
        env=clean_env(DATABASE_URL=scratch.service_url, MIGRATION_DATABASE_URL=scratch.owner_url),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _psycopg2(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if scheme in ("postgres", "postgresql") else url

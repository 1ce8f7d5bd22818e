"""A PostgreSQL that runs from a wheel (pgserver), for a laptop with nothing installed.

Used only when DATABASE_URL is unset outside production; the data stays under data_dir.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedPostgresUnavailable(Exception):
    pass


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the server for data_dir/pgdata; yield its URL; stop it on the way out."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pgserver  # noqa: PLC0415  (an optional extra)
    except ImportError:
        raise EmbeddedPostgresUnavailable(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
            "set DATABASE_URL or install the extra: pip install -e '.[embedded]'"
        ) from None
    pgdata = data_dir.resolve() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log.info("DATABASE_URL is not set: using the embedded PostgreSQL in %s", pgdata)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # its start-up chatter
    server = pgserver.get_server(pgdata)
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()

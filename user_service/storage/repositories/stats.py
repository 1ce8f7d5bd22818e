"""Figures for the service's gauges, read in one statement."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

_SNAPSHOT = text(
    """
    SELECT (SELECT count(*) FROM holds WHERE status = 'active') AS active_holds,
           (SELECT count(*) FROM email_outbox WHERE sent_time IS NULL) AS outbox_backlog,
           (SELECT coalesce(extract(epoch FROM now() - min(create_time)), 0)
              FROM email_outbox WHERE sent_time IS NULL) AS outbox_oldest_age
    """
)


@dataclass(frozen=True)
class Snapshot:
    active_holds: int
    outbox_backlog: int
    outbox_oldest_age_seconds: float


class StatsRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def snapshot(self) -> Snapshot:
        row = self._session.execute(_SNAPSHOT).one()
        return Snapshot(int(row.active_holds), int(row.outbox_backlog), float(row.outbox_oldest_age))

"""The jobs that keep the service's gauges current: what the database says (active holds,
the email backlog) every METRICS_REFRESH_SECONDS, and the reconciliation check every
RECONCILE_INTERVAL_SECONDS (its mismatch count and when it last ran)."""

from __future__ import annotations

import logging
import time

from user_service import metrics
from user_service.domain.reconciliation import reconcile
from user_service.storage.unit_of_work import Transactions

log = logging.getLogger(__name__)


def refresh_gauges(transactions: Transactions) -> None:
    snapshot = transactions.run(lambda uow: uow.stats.snapshot())
    metrics.active_holds.set(snapshot.active_holds)
    metrics.outbox_backlog.set(snapshot.outbox_backlog)
    metrics.outbox_oldest_age.set(snapshot.outbox_oldest_age_seconds)


def reconcile_and_report(transactions: Transactions) -> None:
    report = reconcile(transactions)
    metrics.reconcile_mismatched.set(report.mismatched_accounts)
    metrics.reconcile_last_run.set(time.time())
    if report.clean:
        log.info("reconciliation clean: %d accounts, %d holds", report.accounts_checked, report.holds_checked)
    else:
        log.error(
            "reconciliation found %d accounts that disagree with their ledger: %s",
            report.mismatched_accounts,
            "; ".join(str(disagreement) for disagreement in report.disagreements[:20]),
        )

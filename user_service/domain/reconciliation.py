"""Reconciliation: the ledger's invariants, checked over every account and every hold.

- an account's available + held equals the sum of its ledger amounts;
- its held equals the sum of its active holds' amounts;
- neither figure is negative;
- its newest ledger row's balance_after equals its available + held;
- a captured hold has exactly one capture row, of -captured_amount, on its own account;
  any other hold has none.

`python -m user_service reconcile` prints the report; a scheduled job can export
`mismatched_accounts`. Disagreements name accounts and holds by id only (no personal data).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from user_service.storage.repositories.reconciliation import AccountFigures, HoldFigures
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions


@dataclass(frozen=True)
class Disagreement:
    account_id: uuid.UUID
    hold_id: uuid.UUID | None
    problem: str

    def __str__(self) -> str:
        where = f"account {self.account_id}" + (f" hold {self.hold_id}" if self.hold_id else "")
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class ReconciliationReport:
    accounts_checked: int
    holds_checked: int
    disagreements: tuple[Disagreement, ...]

    @property
    def clean(self) -> bool:
        return not self.disagreements

    @property
    def mismatched_accounts(self) -> int:
        return len({d.account_id for d in self.disagreements})


def reconcile(transactions: Transactions) -> ReconciliationReport:
    def check(uow: SqlUnitOfWork) -> ReconciliationReport:
        accounts, holds = uow.reconciliation.counts()
        found = [p for figures in uow.reconciliation.accounts_that_disagree() for p in _account(figures)]
        found += [p for figures in uow.reconciliation.holds_that_disagree() for p in _hold(figures)]
        return ReconciliationReport(accounts, holds, tuple(found))

    return transactions.run(check)


def _account(f: AccountFigures) -> list[Disagreement]:
    problems = []
    if f.available < 0 or f.held < 0:
        problems.append(f"a negative balance: available {f.available}, held {f.held}")
    if f.available + f.held != f.ledger_total:
        problems.append(f"available + held is {f.available + f.held}, its ledger sums to {f.ledger_total}")
    if f.held != f.active_holds:
        problems.append(f"held is {f.held}, its active holds sum to {f.active_holds}")
    if f.newest_balance_after is not None and f.newest_balance_after != f.available + f.held:
        problems.append(
            f"its newest ledger row has balance_after {f.newest_balance_after},"
            f" available + held is {f.available + f.held}"
        )
    return [Disagreement(f.account_id, None, problem) for problem in problems]


def _hold(f: HoldFigures) -> list[Disagreement]:
    if f.status != "captured":
        problem = f"{f.status}, yet {f.capture_rows} capture rows in the ledger"
    elif f.capture_rows != 1 or f.elsewhere:
        problem = f"captured, with {f.capture_rows} capture rows (on another account: {f.elsewhere})"
    else:
        problem = f"captured {f.captured_amount}, its capture row posts {f.captured_total}"
    return [Disagreement(f.account_id, f.hold_id, problem)]

"""The ledger's writes: deposits, withdrawals and transfers, each with its balance change
and its audit row (reads are in history.py, captures in hold_settlement.py).

A deposit or withdrawal is one statement: a guarded `UPDATE accounts ... RETURNING` (which
takes the account's row lock), the ledger INSERT fed by it, and the audit INSERT fed by
that. A request_id seen before makes the INSERT fail on its unique index, after the other
call committed: DuplicateRequest, and the caller reads what that call wrote. Deposits
that arrive together can go as one statement, POST_DEPOSITS (storage/deposit_batches.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import case, func, insert, literal, select, update
from sqlalchemy.orm import Session

from user_service.domain.audit import AuditEvent
from user_service.domain.money import Account, Balance, Posted, Transaction, TransactionType, Transferred
from user_service.storage.errors import UniqueViolation
from user_service.storage.repositories import money_rows
from user_service.storage.repositories.audit import audit_insert
from user_service.storage.repositories.money_rows import (
    ACCOUNTS,
    BALANCE_COLUMNS,
    LEDGER,
    REQUEST_INDEXES,
    DuplicateRequest,
    LockedAccount,
    Request,
    duplicates_refused,
)
from user_service.storage.statements import Statement

_ENTRY_COLUMNS = ("account_id", "type", "amount", "balance_after", "request_id", "request_fingerprint")
_RETURNED = (LEDGER.c.id, LEDGER.c.account_id, LEDGER.c.type, LEDGER.c.amount, LEDGER.c.balance_after)
_RETURNED_TOO = (
    LEDGER.c.request_id,
    LEDGER.c.description,
    LEDGER.c.hold_id,
    LEDGER.c.create_time,
    LEDGER.c.transfer_id,
)


def _posted(values: tuple[Any, ...]) -> Posted:
    user_id, currency, available, held, update_time, *entry = values
    row_id, kind, amount, balance_after, request_id, description, create_time = entry
    return Posted(
        Transaction(
            id=row_id,
            user_id=user_id,
            type=TransactionType(kind),
            amount=amount,
            balance_after=balance_after,
            currency=currency,
            request_id=request_id,
            description=description,
            counterparty_user_id=None,
            hold_id=None,
            create_time=create_time,
        ),
        Balance(user_id, currency, available, held, update_time),
    )


# A deposit (amount > 0) or a withdrawal (amount < 0, only while available covers it): the
# guarded UPDATE takes the account's row lock and feeds the ledger INSERT, which feeds the
# audit INSERT. No row when nothing was written: an unknown user, a closed account (a
# deleted user's), too little money. A request_id used before: the ledger's unique index
# refuses the row, after the other call committed. Run alone (storage/statements.py: one
# round trip, the lock released as the statement ends) or inside a transaction (post()).
POST = Statement(
    """WITH changed AS (
    UPDATE accounts SET available = available + %(amount)s, update_time = now()
    WHERE user_id = %(user_id)s AND currency = %(currency)s AND close_time IS NULL
      AND available + %(amount)s >= 0
    RETURNING id, user_id, currency, available, held, update_time
), entry AS (
    INSERT INTO ledger_transactions
        (account_id, type, amount, balance_after, request_id, request_fingerprint, description)
    SELECT id, %(type)s, %(amount)s, available + held, %(request_id)s, %(fingerprint)s, %(description)s
    FROM changed
    RETURNING id, account_id, type, amount, balance_after, request_id, description, create_time
), audited AS (
    INSERT INTO audit_events
        (action, outcome, actor_user_id, subject_user_id, request_id, client_address, details)
    SELECT %(action)s, %(outcome)s, %(actor)s, %(subject)s, %(call_request_id)s, %(client_address)s,
        %(details)s::jsonb || jsonb_build_object('transaction_id', entry.id)
    FROM entry
)
SELECT changed.user_id, changed.currency, changed.available, changed.held, changed.update_time,
    entry.id, entry.type, entry.amount, entry.balance_after, entry.request_id, entry.description,
    entry.create_time
FROM changed JOIN entry ON entry.account_id = changed.id""",
    _posted,
)


def _numbered_posted(values: tuple[Any, ...]) -> tuple[int, Posted]:
    return values[0], _posted(values[1:])


# Deposits (amounts > 0 only: nothing guards the balance) sent together, committed in one
# transaction (storage/deposit_batches.py). Each parameter is the list of the deposits'
# values of POST's parameter of that name. Each account's row is locked once, in id order
# (so that two batches, or a batch and a transfer, never wait for each other in a circle),
# and moved by the sum of its deposits; each deposit gets its own ledger row, whose
# balance_after is the balance as if the deposits had come one after the other in list
# order, and its own audit row. A row per deposit written, with its place in the list
# (from 1); none for one on an unknown or closed account. A request_id used before (or
# twice in the list) makes the ledger's unique index refuse the whole statement.
POST_DEPOSITS = Statement(
    """WITH item AS (
    SELECT * FROM unnest(%(user_id)s::uuid[], %(currency)s::text[], %(amount)s::int8[], %(type)s::text[],
        %(request_id)s::text[], %(fingerprint)s::text[], %(description)s::text[], %(action)s::text[],
        %(outcome)s::text[], %(actor)s::uuid[], %(subject)s::uuid[], %(call_request_id)s::text[],
        %(client_address)s::text[], %(details)s::text[])
    WITH ORDINALITY AS item(user_id, currency, amount, type, request_id, fingerprint, description, action,
        outcome, actor, subject, call_request_id, client_address, details, n)
), locked AS (
    SELECT id, user_id, currency FROM accounts
    WHERE (user_id, currency) IN (SELECT user_id, currency FROM item) AND close_time IS NULL
    ORDER BY id FOR UPDATE
), total AS (
    SELECT locked.id, sum(item.amount) AS amount
    FROM locked JOIN item USING (user_id, currency) GROUP BY locked.id
), changed AS (
    UPDATE accounts SET available = accounts.available + total.amount, update_time = now()
    FROM total WHERE accounts.id = total.id
    RETURNING accounts.id, accounts.user_id, accounts.currency, accounts.available - total.amount AS before,
        accounts.held, accounts.update_time
), entry AS (
    INSERT INTO ledger_transactions
        (account_id, type, amount, balance_after, request_id, request_fingerprint, description)
    SELECT changed.id, item.type, item.amount,
        changed.before + changed.held + sum(item.amount) OVER (PARTITION BY changed.id ORDER BY item.n),
        item.request_id, item.fingerprint, item.description
    FROM changed JOIN item USING (user_id, currency)
    ORDER BY item.n
    RETURNING id, account_id, type, amount, balance_after, request_id, description, create_time
), written AS (
    SELECT item.*, changed.held, changed.update_time, entry.id AS entry_id, entry.balance_after,
        entry.create_time
    FROM entry JOIN changed ON changed.id = entry.account_id
    JOIN item ON (item.user_id, item.currency, item.request_id)
        = (changed.user_id, changed.currency, entry.request_id)
), audited AS (
    INSERT INTO audit_events
        (action, outcome, actor_user_id, subject_user_id, request_id, client_address, details)
    SELECT action, outcome, actor, subject, call_request_id, client_address,
        details::jsonb || jsonb_build_object('transaction_id', entry_id)
    FROM written
)
SELECT n, user_id, currency, balance_after - held, held, update_time,
    entry_id, type, amount, balance_after, request_id, description, create_time
FROM written""",
    _numbered_posted,
)


def deposits_params(deposits: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """POST_DEPOSITS' parameters: of each of POST's (post_params), the deposits' values."""
    return {name: [deposit[name] for deposit in deposits] for name in POST_DEPOSITS.numbered[1]}


def post_params(
    account: Account, amount: int, request: Request, description: str, audit: AuditEvent
) -> dict[str, Any]:
    return {
        "amount": amount,
        "user_id": account.user_id,
        "currency": account.currency,
        "type": (TransactionType.DEPOSIT if amount > 0 else TransactionType.WITHDRAWAL).value,
        "request_id": request.id,
        "fingerprint": request.fingerprint,
        "description": description,
        "action": audit.action,
        "outcome": audit.outcome,
        "actor": audit.actor_user_id,
        "subject": audit.subject_user_id,
        "call_request_id": audit.request_id,
        "client_address": audit.client_address,
        "details": json.dumps(dict(audit.details)),
    }


def duplicate_of(violation: UniqueViolation) -> DuplicateRequest | None:
    """A unique violation from a request_id index, as DuplicateRequest."""
    return DuplicateRequest(violation.constraint) if violation.constraint in REQUEST_INDEXES else None


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def post(
        self, account: Account, amount: int, request: Request, description: str, audit: AuditEvent
    ) -> Posted | None:
        """POST inside this transaction (the slow path, with the account already locked)."""
        with duplicates_refused():
            row = (
                self._session.connection()
                .exec_driver_sql(POST.sql, post_params(account, amount, request, description, audit))
                .first()
            )
        return POST.row(tuple(row)) if row is not None else None

    def transfer(
        self,
        payer: LockedAccount,
        payee: LockedAccount,
        amount: int,
        request: Request,
        *,
        description: str,
        audit: AuditEvent,
    ) -> Transferred:
        """Both balances and both legs (sharing a new transfer_id) in one statement, on two
        accounts this transaction has locked; the credit carries the payer's request_id."""
        is_payer = ACCOUNTS.c.id == payer.id
        moved = (
            update(ACCOUNTS)
            .where(ACCOUNTS.c.id.in_([payer.id, payee.id]))
            .values(
                available=ACCOUNTS.c.available + case((is_payer, -amount), else_=amount),
                update_time=func.now(),
            )
            .returning(*BALANCE_COLUMNS)
            .cte("moved")
        )
        paying = moved.c.id == payer.id
        legs = (
            insert(LEDGER)
            .from_select(
                [*_ENTRY_COLUMNS, "description", "counterparty_account_id", "transfer_id"],
                select(
                    moved.c.id,
                    case(
                        (paying, TransactionType.TRANSFER_OUT.value), else_=TransactionType.TRANSFER_IN.value
                    ),
                    case((paying, -amount), else_=amount),
                    moved.c.available + moved.c.held,
                    literal(request.id),
                    literal(request.fingerprint),
                    literal(description),
                    case((paying, payee.id), else_=payer.id),
                    literal(uuid.uuid4()),
                ),
                include_defaults=False,
            )
            .returning(*_RETURNED, *_RETURNED_TOO)
            .cte("legs")
        )
        debit = legs.select().where(legs.c.amount < 0).subquery()
        statement = (
            select(moved.c.user_id, moved.c.currency, moved.c.available, moved.c.held)
            .add_columns(moved.c.update_time, *legs.c)
            .select_from(moved.join(legs, legs.c.account_id == moved.c.id))
            .add_cte(audit_insert(audit, debit, transaction_id=debit.c.id).cte("audited"))
        )
        with duplicates_refused():
            rows = {row.account_id: row for row in self._session.connection().execute(statement)}
        out, into = rows[payer.id], rows[payee.id]
        return Transferred(
            money_rows.transaction(out, payer.user_id, payer.currency, payee.user_id),
            money_rows.transaction(into, payee.user_id, payee.currency, payer.user_id),
            money_rows.balance(out),
        )

"""The schema, as SQLAlchemy models. Alembic migrations (storage/migrations) create it."""

from user_service.storage.models.base import Base
from user_service.storage.models.ledger import AccountRow, HoldRow, LedgerTransactionRow
from user_service.storage.models.records import AuditEventRow, EmailOutboxRow
from user_service.storage.models.users import RefreshTokenRow, SessionRow, SingleUseTokenRow, UserRow

__all__ = [
    "AccountRow",
    "AuditEventRow",
    "Base",
    "EmailOutboxRow",
    "HoldRow",
    "LedgerTransactionRow",
    "RefreshTokenRow",
    "SessionRow",
    "SingleUseTokenRow",
    "UserRow",
]

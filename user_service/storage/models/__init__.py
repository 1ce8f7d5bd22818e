"""The schema, as SQLAlchemy models. Alembic migrations (storage/migrations) create it."""

from user_service.storage.models import append_only
from user_service.storage.models.base import Base
from user_service.storage.models.ledger import AccountRow, HoldRow, LedgerTransactionRow
from user_service.storage.models.records import AuditEventRow, EmailOutboxRow
from user_service.storage.models.users import RefreshTokenRow, SessionRow, SingleUseTokenRow, UserRow

append_only.install(Base.metadata)

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

"""The declarative base: constraint names that migrations can rely on, aware timestamps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


def sql_list(values: tuple[str, ...]) -> str:
    """`'a', 'b'`: constant strings for a CHECK constraint (never user input)."""
    return ", ".join(f"'{value}'" for value in values)


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({sql_list(values)})"


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()"))


def created() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def updated() -> Mapped[datetime]:
    return mapped_column(server_default=func.now(), onupdate=func.now())

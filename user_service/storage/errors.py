"""What storage tells its callers, without SQLAlchemy types."""

from __future__ import annotations


class UniqueViolation(Exception):
    """A row would duplicate another's unique key; `constraint` names which."""

    def __init__(self, constraint: str) -> None:
        super().__init__(f"unique constraint {constraint} violated")
        self.constraint = constraint

"""Repositories: the only code that writes SQL. Row locks are taken here, never above."""

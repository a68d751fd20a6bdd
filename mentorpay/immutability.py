"""Make the events table append-only in the database itself (stub: being built)."""

from __future__ import annotations


def protect_event_table(database_url: str) -> None:
    """Install the guard (idempotent); a no-op where the store cannot enforce it."""

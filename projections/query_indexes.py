"""Secondary indexes that only a read model's queries use, built once after a replay's load.

A read model may list them (``query_indexes``: ``CREATE INDEX IF NOT EXISTS`` statements that
its ``create_tables`` also runs). A replay from position 0 on PostgreSQL drops them from the
freshly created, empty tables and builds each once at the end: a sort of the loaded rows costs
far less than keeping the index up to date row by row over the whole load. Indexes the
apply itself reads through (its look-ups, primary keys) and unique ones (constraints) are not
listed, so every batch sees what it would without the deferral.

It is crash-safe because every set-up runs ``create_tables``, whose ``IF NOT EXISTS`` builds
whatever is missing: a replay cut short leaves its follower not set up, and the next start of
that read model (a worker's follower, ``mentorpay replay`` or ``catch_up_together``) builds
them before it goes on. SQLite keeps them throughout (its indexes are in-process and cheap).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from projections.store import Transaction

_NAME = re.compile(r"\bINDEX IF NOT EXISTS (\w+) ON\b")


def query_indexes(consumer: object) -> Sequence[str]:
    """The consumer's query-only index statements (none if it lists none)."""
    statements: Sequence[str] = getattr(consumer, "query_indexes", ()) or ()
    return statements


def index_name(statement: str) -> str:
    match = _NAME.search(statement)
    if match is None:
        raise ValueError(f"not a CREATE INDEX IF NOT EXISTS statement: {statement!r}")
    return match.group(1)


def drop_query_indexes(tx: Transaction, consumer: object) -> bool:
    """PostgreSQL: drop the consumer's query-only indexes (its tables just created, empty);
    whether any were dropped, so must be built again."""
    statements = query_indexes(consumer)
    if tx.kind != "postgres" or not statements:
        return False
    for statement in statements:
        tx.execute(f"DROP INDEX IF EXISTS {index_name(statement)}")
    return True

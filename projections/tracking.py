"""Each follower's position in the ledger's log, advanced inside the caller's transaction.

The guard (the stored position must still be the one the caller started from) is what makes
a batch's effect exactly-once: a replaying, restarted or stale second writer fails here and
its transaction rolls back with everything it wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime

from projections.store import Transaction

TABLE = "follower_positions"
# NOTIFY channel (PostgreSQL) announcing that a follower committed a new position; standbys
# in other processes listen on it so their read-your-writes waits are prompt.
POSITIONS_CHANNEL = "follower_positions"


class PositionConflict(Exception):
    """The stored position is not the one this writer expected: someone else moved it."""

    def __init__(self, name: str, expected: int, actual: int | None) -> None:
        super().__init__(
            f"follower {name!r} expected stored position {expected}, found {actual}: "
            "another writer has moved it"
        )
        self.name = name
        self.expected = expected
        self.actual = actual


def create_table(tx: Transaction) -> None:
    tx.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        " name TEXT PRIMARY KEY,"
        " position BIGINT NOT NULL CHECK (position >= 0),"
        " updated_at TIMESTAMPTZ NOT NULL)"
    )


def ensure(tx: Transaction, name: str) -> int:
    """Start tracking ``name`` at 0 unless it is tracked already; return its position.

    Read first: the row of a running follower is being updated by its batch, and even an
    ``INSERT ... DO NOTHING`` on it would wait for that batch (a plain read never does)."""
    row = tx.execute(f"SELECT position FROM {TABLE} WHERE name = %s", (name,)).fetchone()
    if row is not None:
        return int(row["position"])
    tx.execute(
        f"INSERT INTO {TABLE} (name, position, updated_at) VALUES (%s, 0, %s)"
        " ON CONFLICT (name) DO NOTHING",
        (name, datetime.now(UTC)),
    )
    return read_position(tx, name)


def read_position(tx: Transaction, name: str) -> int:
    """The last notification id ``name`` has applied; 0 when it has applied none."""
    row = tx.execute(f"SELECT position FROM {TABLE} WHERE name = %s", (name,)).fetchone()
    return int(row["position"]) if row else 0


def advance(tx: Transaction, name: str, *, expected: int, new: int) -> None:
    """Move ``name`` from ``expected`` to ``new``, or raise ``PositionConflict``.

    Call it before writing the batch's effects: on PostgreSQL the row lock it takes makes a
    concurrent writer wait here, then fail the guard, instead of doing the work twice.
    """
    if new <= expected:
        raise ValueError(f"position must move forward: {expected} -> {new}")
    update = f"UPDATE {TABLE} SET position = %s, updated_at = %s WHERE name = %s AND position = %s"
    params = (new, datetime.now(UTC), name, expected)
    if tx.kind == "postgres":
        # The move and its NOTIFY in one statement: one round trip per batch, not two.
        tx.execute(
            f"WITH moved AS ({update} RETURNING name) SELECT pg_notify(%s, name) FROM moved",
            (*params, POSITIONS_CHANNEL),
        )
    else:
        tx.execute(update, params)
    if tx.rowcount != 1:
        row = tx.execute(f"SELECT position FROM {TABLE} WHERE name = %s", (name,)).fetchone()
        raise PositionConflict(name, expected, int(row["position"]) if row else None)


def reset(tx: Transaction, name: str) -> None:
    """Back to 0, for a replay (the caller drops and recreates the tables in the same tx)."""
    tx.execute(
        f"INSERT INTO {TABLE} (name, position, updated_at) VALUES (%s, 0, %s)"
        " ON CONFLICT (name) DO UPDATE SET position = 0, updated_at = excluded.updated_at",
        (name, datetime.now(UTC)),
    )
    tx.notify(POSITIONS_CHANNEL, name)


def seed_from(tx: Transaction, name: str, others: list[str]) -> None:
    """Start tracking ``name`` at the lowest position of ``others`` (if any is tracked and
    ``name`` is not yet): a consumer taking over from several older ones resumes where the
    slowest stood."""
    if not others or read_row_exists(tx, name):
        return
    marks = ", ".join(["%s"] * len(others))
    row = tx.execute(
        f"SELECT MIN(position) AS position FROM {TABLE} WHERE name IN ({marks})", others
    ).fetchone()
    if row is None or row["position"] is None:
        return
    tx.execute(
        f"INSERT INTO {TABLE} (name, position, updated_at) VALUES (%s, %s, %s)"
        " ON CONFLICT (name) DO NOTHING",
        (name, int(row["position"]), datetime.now(UTC)),
    )


def read_row_exists(tx: Transaction, name: str) -> bool:
    return tx.execute(f"SELECT 1 FROM {TABLE} WHERE name = %s", (name,)).fetchone() is not None

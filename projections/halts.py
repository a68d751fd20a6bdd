"""Read models that stopped on an event they cannot apply, recorded where everyone sees them.

A halted read model applies nothing more (it never skips an event) until an operator clears
the halt (``mentorpay attention retry halt:<name>``), usually after a fix is deployed. Other
read models and the process managers go on. ``/readyz``, ``/metrics``, ``ledger verify`` and
the attention queue read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from projections.store import Row, Transaction

TABLE = "follower_halts"


@dataclass(frozen=True)
class Halt:
    name: str
    position: int  # the last position applied; the read model is exact up to here
    failed_position: int  # the event it cannot apply
    error: str
    halted_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Halt:
        return cls(
            row["name"],
            int(row["position"]),
            int(row["failed_position"]),
            row["error"],
            row["halted_at"],
        )


def create_table(tx: Transaction) -> None:
    tx.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        " name TEXT PRIMARY KEY,"
        " position BIGINT NOT NULL,"
        " failed_position BIGINT NOT NULL,"
        " error TEXT NOT NULL,"
        " halted_at TIMESTAMPTZ NOT NULL)"
    )


def record(tx: Transaction, name: str, *, position: int, failed_position: int, error: str) -> None:
    tx.execute(
        f"INSERT INTO {TABLE} (name, position, failed_position, error, halted_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET"
        " position = excluded.position, failed_position = excluded.failed_position,"
        " error = excluded.error, halted_at = excluded.halted_at",
        (name, position, failed_position, error, datetime.now(UTC)),
    )


def get(tx: Transaction, name: str) -> Halt | None:
    row = tx.execute(f"SELECT * FROM {TABLE} WHERE name = %s", (name,)).fetchone()
    return Halt.from_row(row) if row else None


def all_halts(tx: Transaction) -> list[Halt]:
    if not _exists(tx):
        return []
    rows = tx.execute(f"SELECT * FROM {TABLE} ORDER BY name").fetchall()
    return [Halt.from_row(row) for row in rows]


def clear(tx: Transaction, name: str) -> bool:
    tx.execute(f"DELETE FROM {TABLE} WHERE name = %s", (name,))
    return tx.rowcount == 1


def _exists(tx: Transaction) -> bool:
    if tx.kind == "postgres":
        row = tx.execute("SELECT to_regclass(%s) AS name", (TABLE,)).fetchone()
        return row is not None and row["name"] is not None
    return (
        tx.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", (TABLE,)
        ).fetchone()
        is not None
    )

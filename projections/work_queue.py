"""The process managers' durable work: one row per (process manager, log position).

Rows are written by the dispatcher (exactly once, with its log position, see
``projections.dispatch``) and taken by the work pool (``projections.work_pool``):

- ``queued``: waiting until ``run_after``; ``running``: claimed under a lease that the claiming
  worker keeps renewing (a worker killed with ``-9`` stops renewing, so the row is claimable
  again when ``lease_until`` has passed: nothing is lost); ``done``; ``parked``: failed for
  good or out of attempts, kept with its error, attempts, lane and position for operations;
  ``resolved``: an operator closed it (the ledger records who and why).
- A row's ``lane`` is its booking: a row is claimable only while no earlier row of the same
  process manager and lane is queued or running, so one booking's work stays in order while
  different bookings proceed independently. A parked row does not hold its lane up.
- On PostgreSQL a claim is ``SELECT ... FOR UPDATE SKIP LOCKED``, so any number of worker
  processes share the rows; on SQLite ``BEGIN IMMEDIATE`` serialises the claims of one process.

Every function takes the caller's ``Transaction``; none does I/O beyond it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from projections.store import Row, Transaction

TABLE = "work_items"
LANES_TABLE = "work_lanes"
# NOTIFY channel (PostgreSQL): work was queued or a lane was freed; idle workers wake on it.
CHANNEL = "work_items"

QUEUED, RUNNING, DONE, PARKED, RESOLVED = "queued", "running", "done", "parked", "resolved"
UNFINISHED = (QUEUED, RUNNING)


@dataclass(frozen=True)
class WorkItem:
    process: str
    position: int
    lane: str
    topic: str
    status: str
    attempts: int
    run_after: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def key(self) -> str:
        return item_key(self.process, self.position)

    @classmethod
    def from_row(cls, row: Row) -> WorkItem:
        return cls(
            process=row["process"],
            position=int(row["position"]),
            lane=row["lane"],
            topic=row["topic"],
            status=row["status"],
            attempts=int(row["attempts"]),
            run_after=row["run_after"],
            last_error=row["last_error"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@dataclass(frozen=True)
class Claim:
    """A row this worker holds under ``token`` until it finishes it or the lease lapses."""

    process: str
    position: int
    lane: str
    attempts: int  # including this one
    token: str


def item_key(process: str, position: int) -> str:
    return f"{process}:{position}"


def parse_item_key(key: str) -> tuple[str, int]:
    process, _, position = key.rpartition(":")
    if not process or not position.isdigit():
        raise ValueError(f"not a work item key: {key!r}")
    return process, int(position)


def create_tables(tx: Transaction) -> None:
    tx.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        " process TEXT NOT NULL,"
        " position BIGINT NOT NULL,"
        " lane TEXT NOT NULL,"
        " topic TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " run_after TIMESTAMPTZ NOT NULL,"
        " lease_owner TEXT,"
        " lease_until TIMESTAMPTZ,"
        " last_error TEXT,"
        " created_at TIMESTAMPTZ NOT NULL,"
        " updated_at TIMESTAMPTZ NOT NULL,"
        " PRIMARY KEY (process, position))"
    )
    # Partial indexes keep claims and lane checks small however many rows are done.
    tx.execute(
        f"CREATE INDEX IF NOT EXISTS {TABLE}_due_idx ON {TABLE} (run_after)"
        " WHERE status IN ('queued', 'running')"
    )
    tx.execute(
        f"CREATE INDEX IF NOT EXISTS {TABLE}_lane_idx ON {TABLE} (process, lane, position)"
        " WHERE status IN ('queued', 'running')"
    )
    tx.execute(
        f"CREATE INDEX IF NOT EXISTS {TABLE}_parked_idx ON {TABLE} (process)"
        " WHERE status = 'parked'"
    )
    tx.execute(
        f"CREATE TABLE IF NOT EXISTS {LANES_TABLE} ("
        " payment_id TEXT PRIMARY KEY, booking_id TEXT NOT NULL)"
    )


def drop_tables(tx: Transaction) -> None:
    tx.execute(f"DROP TABLE IF EXISTS {TABLE}")
    tx.execute(f"DROP TABLE IF EXISTS {LANES_TABLE}")


def _now() -> datetime:
    return datetime.now(UTC)


def enqueue(
    tx: Transaction, items: Sequence[tuple[str, int, str, str]], *, now: datetime | None = None
) -> None:
    """Queue ``(process, position, lane, topic)`` rows, due at once (a repeat is a no-op)."""
    if not items:
        return
    at = now or _now()
    tx.executemany(
        f"INSERT INTO {TABLE} (process, position, lane, topic, status, attempts, run_after,"
        " created_at, updated_at) VALUES (%s, %s, %s, %s, 'queued', 0, %s, %s, %s)"
        " ON CONFLICT (process, position) DO NOTHING",
        [(p, pos, lane, topic, at, at, at) for p, pos, lane, topic in items],
    )
    tx.notify(CHANNEL)


def park_new(
    tx: Transaction,
    *,
    process: str,
    position: int,
    lane: str,
    topic: str,
    attempts: int,
    error: str,
) -> None:
    """Record work that failed elsewhere (a plain ``Follower`` driving a process) as parked."""
    at = _now()
    tx.execute(
        f"INSERT INTO {TABLE} (process, position, lane, topic, status, attempts, run_after,"
        " last_error, created_at, updated_at) VALUES (%s, %s, %s, %s, 'parked', %s, %s, %s, %s, %s)"
        " ON CONFLICT (process, position) DO UPDATE SET status = 'parked',"
        " attempts = excluded.attempts, last_error = excluded.last_error,"
        " updated_at = excluded.updated_at",
        (process, position, lane, topic, attempts, at, error, at, at),
    )


def remember_lane(tx: Transaction, payment_id: str, booking_id: str) -> None:
    tx.execute(
        f"INSERT INTO {LANES_TABLE} (payment_id, booking_id) VALUES (%s, %s)"
        " ON CONFLICT (payment_id) DO NOTHING",
        (payment_id, booking_id),
    )


def lanes_of(tx: Transaction, payment_ids: Sequence[str]) -> dict[str, str]:
    if not payment_ids:
        return {}
    marks = ", ".join(["%s"] * len(payment_ids))
    rows = tx.execute(
        f"SELECT payment_id, booking_id FROM {LANES_TABLE} WHERE payment_id IN ({marks})",
        list(payment_ids),
    ).fetchall()
    return {row["payment_id"]: row["booking_id"] for row in rows}


def claim(
    tx: Transaction,
    processes: Sequence[str],
    *,
    worker: str,
    lease: timedelta,
    now: datetime | None = None,
) -> Claim | None:
    """Take the next due row of one of ``processes`` whose lane is free, under a lease."""
    if not processes:
        return None
    at = now or _now()
    marks = ", ".join(["%s"] * len(processes))
    lock = " FOR UPDATE OF w SKIP LOCKED" if tx.kind == "postgres" else ""
    row = tx.execute(
        f"SELECT w.process, w.position, w.lane, w.attempts FROM {TABLE} w"
        f" WHERE w.status IN ('queued', 'running') AND w.process IN ({marks})"
        " AND w.run_after <= %s AND (w.status = 'queued' OR w.lease_until < %s)"
        f" AND NOT EXISTS (SELECT 1 FROM {TABLE} e WHERE e.process = w.process"
        " AND e.lane = w.lane AND e.position < w.position"
        " AND e.status IN ('queued', 'running'))"
        f" ORDER BY w.run_after, w.position LIMIT 1{lock}",
        [*processes, at, at],
    ).fetchone()
    if row is None:
        return None
    token = f"{worker}:{uuid.uuid4().hex[:12]}"
    tx.execute(
        f"UPDATE {TABLE} SET status = 'running', attempts = attempts + 1, lease_owner = %s,"
        " lease_until = %s, updated_at = %s WHERE process = %s AND position = %s",
        (token, at + lease, at, row["process"], row["position"]),
    )
    return Claim(row["process"], int(row["position"]), row["lane"], int(row["attempts"]) + 1, token)


def renew(tx: Transaction, claims: Sequence[Claim], lease: timedelta) -> None:
    """Push the leases of rows still being worked on further into the future."""
    until = _now() + lease
    tx.executemany(
        f"UPDATE {TABLE} SET lease_until = %s WHERE process = %s AND position = %s"
        " AND lease_owner = %s AND status = 'running'",
        [(until, c.process, c.position, c.token) for c in claims],
    )


def _finish(tx: Transaction, claim: Claim, sets: str, params: Sequence[object]) -> bool:
    """Apply ``sets`` if this worker still holds the row (a lapsed lease may have moved on)."""
    tx.execute(
        f"UPDATE {TABLE} SET {sets}, lease_owner = NULL, lease_until = NULL, updated_at = %s"
        " WHERE process = %s AND position = %s AND lease_owner = %s",
        [*params, _now(), claim.process, claim.position, claim.token],
    )
    held = tx.rowcount == 1
    if held:
        tx.notify(CHANNEL)
    return held


def mark_done(tx: Transaction, claim: Claim) -> bool:
    return _finish(tx, claim, "status = 'done', last_error = NULL", ())


def schedule_retry(tx: Transaction, claim: Claim, *, delay: float, error: str) -> bool:
    run_after = _now() + timedelta(seconds=delay)
    return _finish(
        tx, claim, "status = 'queued', run_after = %s, last_error = %s", (run_after, error)
    )


def park(tx: Transaction, claim: Claim, *, error: str) -> bool:
    return _finish(tx, claim, "status = 'parked', last_error = %s", (error,))


def requeue(tx: Transaction, process: str, position: int) -> bool:
    """An operator's retry of a parked row: due now, with a fresh count of attempts."""
    at = _now()
    tx.execute(
        f"UPDATE {TABLE} SET status = 'queued', attempts = 0, run_after = %s, updated_at = %s"
        " WHERE process = %s AND position = %s AND status = 'parked'",
        (at, at, process, position),
    )
    changed = tx.rowcount == 1
    if changed:
        tx.notify(CHANNEL)
    return changed


def resolve(tx: Transaction, process: str, position: int) -> bool:
    tx.execute(
        f"UPDATE {TABLE} SET status = 'resolved', updated_at = %s"
        " WHERE process = %s AND position = %s AND status = 'parked'",
        (_now(), process, position),
    )
    return tx.rowcount == 1


def get(tx: Transaction, process: str, position: int) -> WorkItem | None:
    row = tx.execute(
        f"SELECT * FROM {TABLE} WHERE process = %s AND position = %s", (process, position)
    ).fetchone()
    return WorkItem.from_row(row) if row else None


def parked(tx: Transaction, limit: int = 500) -> list[WorkItem]:
    rows = tx.execute(
        f"SELECT * FROM {TABLE} WHERE status = 'parked' ORDER BY position LIMIT %s", (limit,)
    ).fetchall()
    return [WorkItem.from_row(row) for row in rows]


def unfinished_up_to(tx: Transaction, process: str, position: int) -> int:
    """How many rows of ``process`` at or before ``position`` are still queued or running."""
    row = tx.execute(
        f"SELECT COUNT(*) AS n FROM {TABLE} WHERE process = %s AND position <= %s"
        " AND status IN ('queued', 'running')",
        (process, position),
    ).fetchone()
    return int(row["n"]) if row else 0


def next_due(tx: Transaction) -> datetime | None:
    """When the earliest queued row becomes due (to sleep exactly that long when idle)."""
    row = tx.execute(
        f"SELECT MIN(run_after) AS due FROM {TABLE} WHERE status = 'queued'"
    ).fetchone()
    due = row["due"] if row else None
    if isinstance(due, str):  # SQLite returns an aggregate without its declared type
        due = datetime.fromisoformat(due)
    return due


@dataclass(frozen=True)
class QueueStats:
    queued: dict[str, int]  # per process: queued or running
    oldest_age_seconds: dict[str, float]  # per process: age of its oldest unfinished row
    parked: dict[str, int]
    retries: dict[str, int]  # per process: attempts beyond the first, over every row


def stats(tx: Transaction) -> QueueStats:
    now = _now()
    queued: dict[str, int] = {}
    oldest: dict[str, float] = {}
    parked_count: dict[str, int] = {}
    retries: dict[str, int] = {}
    rows = tx.execute(
        f"SELECT process, status, COUNT(*) AS n, MIN(created_at) AS oldest,"
        " SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END) AS retries"
        f" FROM {TABLE} GROUP BY process, status"
    ).fetchall()
    for row in rows:
        process, status, count = row["process"], row["status"], int(row["n"])
        retries[process] = retries.get(process, 0) + int(row["retries"] or 0)
        queued.setdefault(process, 0)
        parked_count.setdefault(process, 0)
        if status in UNFINISHED:
            queued[process] += count
            created = row["oldest"]
            if isinstance(created, str):
                created = datetime.fromisoformat(created)
            age = max(0.0, (now - created).total_seconds())
            oldest[process] = max(oldest.get(process, 0.0), age)
        elif status == PARKED:
            parked_count[process] += count
    return QueueStats(queued, oldest, parked_count, retries)


def requeue_finished(tx: Transaction, process: str, position: int) -> bool:
    """Run a finished row again (done, parked or resolved): an operator's retry of work whose
    outcome did not stick (say a refund that never happened). Handlers are idempotent."""
    at = _now()
    tx.execute(
        f"UPDATE {TABLE} SET status = 'queued', attempts = 0, run_after = %s, updated_at = %s"
        " WHERE process = %s AND position = %s AND status IN ('done', 'parked', 'resolved')",
        (at, at, process, position),
    )
    changed = tx.rowcount == 1
    if changed:
        tx.notify(CHANNEL)
    return changed


def prune_done(tx: Transaction, older_than: timedelta, limit: int = 10_000) -> int:
    """Forget done rows finished longer ago than ``older_than`` (their outcome is in the
    ledger); parked and resolved rows stay. Returns how many went."""
    cutoff = _now() - older_than
    tx.execute(
        f"DELETE FROM {TABLE} WHERE (process, position) IN (SELECT process, position"
        f" FROM {TABLE} WHERE status = 'done' AND updated_at < %s LIMIT %s)",
        (cutoff, limit),
    )
    return tx.rowcount

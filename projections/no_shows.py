"""The ``no_show_claims`` read model: every recorded no-show and where it stands, so admins can
list the claims waiting for their decision (``open_claims``) in one indexed query."""

from __future__ import annotations

from typing import Any

from ledger import Booking
from ledger.events import DomainEvent
from projections.store import Transaction

CREATE_NO_SHOWS = """
CREATE TABLE IF NOT EXISTS no_show_claims (
    booking_id TEXT PRIMARY KEY,
    party TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    reported_at TIMESTAMPTZ NOT NULL,
    decided_by TEXT,
    decision_reason TEXT,
    decided_at TIMESTAMPTZ,
    last_position BIGINT NOT NULL
)
"""
INDEXES = (
    "CREATE INDEX IF NOT EXISTS no_show_claims_status_idx ON no_show_claims (status, reported_at)",
)
OPEN = "claim_open"


class NoShowsProjection:
    name = "no_shows"
    topics = (Booking.NoShowReported.TOPIC, Booking.NoShowDecided.TOPIC)

    def create_tables(self, tx: Transaction) -> None:
        tx.execute(CREATE_NO_SHOWS)
        for statement in INDEXES:
            tx.execute(statement)

    def drop_tables(self, tx: Transaction) -> None:
        tx.execute("DROP TABLE IF EXISTS no_show_claims")

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        for position, event in events:
            if isinstance(event, Booking.NoShowReported):
                tx.execute(
                    "INSERT INTO no_show_claims (booking_id, party, reported_by, reason, status,"
                    " reported_at, last_position) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (booking_id) DO NOTHING",
                    (
                        event.originator_id,
                        event.party,
                        event.by,
                        event.reason,
                        event.outcome,
                        event.timestamp,
                        position,
                    ),
                )
            elif isinstance(event, Booking.NoShowDecided):
                tx.execute(
                    "UPDATE no_show_claims SET status = %s, decided_by = %s, decision_reason = %s,"
                    " decided_at = %s, last_position = %s WHERE booking_id = %s",
                    (
                        event.decision,
                        event.by,
                        event.reason,
                        event.timestamp,
                        position,
                        event.originator_id,
                    ),
                )


def open_claims(
    tx: Transaction, limit: int = 100, *, booking_id: str | None = None
) -> list[dict[str, Any]]:
    """Claims that a mentor did not show, waiting for an admin's decision, oldest first; with
    ``booking_id``, that booking's only."""
    if booking_id is not None:
        return tx.execute(
            "SELECT * FROM no_show_claims WHERE status = %s AND booking_id = %s",
            (OPEN, booking_id),
        ).fetchall()
    return tx.execute(
        "SELECT * FROM no_show_claims WHERE status = %s ORDER BY reported_at, booking_id LIMIT %s",
        (OPEN, limit),
    ).fetchall()


def claims_of(tx: Transaction, booking_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The recorded no-shows of these bookings, by booking id (one query per 500 ids)."""
    found: dict[str, dict[str, Any]] = {}
    for first in range(0, len(booking_ids), 500):
        chunk = booking_ids[first : first + 500]
        marks = ", ".join(["%s"] * len(chunk))
        sql = f"SELECT * FROM no_show_claims WHERE booking_id IN ({marks})"
        rows = tx.execute(sql, chunk).fetchall()
        found.update({row["booking_id"]: row for row in rows})
    return found

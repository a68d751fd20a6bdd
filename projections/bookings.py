"""The ``bookings`` read model: one row per booking, its current status and what it carries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ledger import Booking, BookingStatus
from ledger.events import DomainEvent, event_time
from projections.bulk_rows import RowFold, ValueOf, column_types, stored_ids
from projections.id_text import id_text
from projections.store import Transaction

CREATE_BOOKINGS = """
CREATE TABLE IF NOT EXISTS bookings (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    mentor_id TEXT NOT NULL,
    event_type_id BIGINT NOT NULL,
    start_time TIMESTAMPTZ NOT NULL,
    end_time TIMESTAMPTZ NOT NULL,
    attendee_name TEXT NOT NULL,
    attendee_email TEXT NOT NULL,
    attendee_time_zone TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    platform_fee BIGINT NOT NULL,
    status TEXT NOT NULL,
    checkout_session_id TEXT NOT NULL,
    reservation_uid TEXT,
    expires_at TIMESTAMPTZ NOT NULL,
    payment_id TEXT,
    stripe_payment_intent_id TEXT,
    calcom_booking_uid TEXT,
    failure_reason TEXT,
    cancelled_by TEXT,
    cancel_reason TEXT,
    last_position BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
)
"""
INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS bookings_checkout_idx ON bookings (checkout_session_id)",
)
# Only queries read these: a replay builds them after its load (``projections.query_indexes``).
QUERY_INDEXES = (
    "CREATE INDEX IF NOT EXISTS bookings_user_idx ON bookings (user_id, created_at)",
    "CREATE INDEX IF NOT EXISTS bookings_mentor_idx ON bookings (mentor_id, start_time)",
)


class BookingsProjection:
    name = "bookings"
    topics = (
        Booking.Requested.TOPIC,
        Booking.PaymentConfirmed.TOPIC,
        Booking.Booked.TOPIC,
        Booking.BookingFailed.TOPIC,
        Booking.Expired.TOPIC,
        Booking.Cancelled.TOPIC,
        Booking.Rescheduled.TOPIC,
    )
    query_indexes = QUERY_INDEXES

    def create_tables(self, tx: Transaction) -> None:
        tx.execute(CREATE_BOOKINGS)
        for statement in (*INDEXES, *QUERY_INDEXES):
            tx.execute(statement)

    def drop_tables(self, tx: Transaction) -> None:
        tx.execute("DROP TABLE IF EXISTS bookings")

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        """Fold the batch into each row's final state, then write it with a few set-based
        statements: one COPY (PostgreSQL) for the bookings it opens and one UPDATE per shape of
        change for the rows it finds already stored (see ``projections.bulk_rows``)."""
        requested = [id_text(e.originator_id) for _, e in events if type(e) is _REQUESTED]
        fold = _Fold(stored_ids(tx, "bookings", requested))
        changes_of = _CHANGES.get
        for position, event in events:
            if type(event) is _REQUESTED:
                fold.insert(position, id_text(event.originator_id), event)
                continue
            changes = changes_of(type(event))
            if changes is not None:
                fold.update(
                    id_text(event.originator_id), changes(event), position, event_time(event)
                )
        fold.write(tx)


_REQUESTED = Booking.Requested


def _payment_confirmed(event: Booking.PaymentConfirmed) -> dict[str, Any]:
    return {
        "status": event.leads_to,
        "payment_id": id_text(event.payment_id),
        "stripe_payment_intent_id": event.payment_intent_id,
    }


def _booked(event: Booking.Booked) -> dict[str, Any]:
    return {"status": event.leads_to, "calcom_booking_uid": event.calcom_booking_uid}


def _booking_failed(event: Booking.BookingFailed) -> dict[str, Any]:
    return {"status": event.leads_to, "failure_reason": event.reason}


def _expired(event: Booking.Expired) -> dict[str, Any]:
    return {"status": event.leads_to}


def _cancelled(event: Booking.Cancelled) -> dict[str, Any]:
    return {"status": event.leads_to, "cancelled_by": event.by, "cancel_reason": event.reason}


def _rescheduled(event: Booking.Rescheduled) -> dict[str, Any]:
    return {
        "start_time": event.start,
        "end_time": event.end,
        "calcom_booking_uid": event.calcom_booking_uid,
    }


# The columns each kind of event sets (besides ``last_position`` and ``updated_at``), by its
# exact class: one dictionary look-up per event instead of a chain of ``isinstance``.
_CHANGES: dict[type, Callable[[Any], dict[str, Any]]] = {
    Booking.PaymentConfirmed: _payment_confirmed,
    Booking.Booked: _booked,
    Booking.BookingFailed: _booking_failed,
    Booking.Expired: _expired,
    Booking.Cancelled: _cancelled,
    Booking.Rescheduled: _rescheduled,
}


_COLUMN_TYPES = column_types(CREATE_BOOKINGS)


class _Fold(RowFold):
    """A batch folded per booking (``RowFold``): a ``Requested`` opens its row."""

    def __init__(self, stored: set[str]) -> None:
        super().__init__("bookings", stored, _COLUMN_TYPES, _assignments)

    def insert(self, position: int, key: str, event: Booking.Requested) -> None:
        self.open(
            key,
            lambda: {
                "id": key,
                "user_id": event.user_id,
                "mentor_id": event.mentor_id,
                "event_type_id": event.event_type_id,
                "start_time": event.start,
                "end_time": event.end,
                "attendee_name": event.attendee_name,
                "attendee_email": event.attendee_email,
                "attendee_time_zone": event.attendee_time_zone,
                "amount": event.price_amount,
                "currency": event.currency,
                "platform_fee": event.platform_fee_amount,
                "status": BookingStatus.AWAITING_PAYMENT,
                "checkout_session_id": event.checkout_session_id,
                "reservation_uid": event.reservation_uid,
                "expires_at": event.expires_at,
                "payment_id": None,
                "stripe_payment_intent_id": None,
                "calcom_booking_uid": None,
                "failure_reason": None,
                "cancelled_by": None,
                "cancel_reason": None,
                "last_position": position,
                "created_at": event.timestamp,
                "updated_at": event.timestamp,
            },
        )


def _assignments(shape: tuple[str, ...], value_of: ValueOf) -> list[str]:
    return [f"{column} = {value_of(column)}" for column in shape if column != "id"]


# -- read queries ---------------------------------------------------------------------------


def bookings_of_user(tx: Transaction, user_id: str, limit: int) -> list[dict[str, Any]]:
    """A user's bookings, newest first."""
    return tx.execute(
        "SELECT * FROM bookings WHERE user_id = %s ORDER BY created_at DESC LIMIT %s",
        (user_id, limit),
    ).fetchall()


def bookings_of_mentor(tx: Transaction, mentor_id: str, limit: int) -> list[dict[str, Any]]:
    """A mentor's sessions, newest first."""
    return tx.execute(
        "SELECT * FROM bookings WHERE mentor_id = %s ORDER BY created_at DESC LIMIT %s",
        (mentor_id, limit),
    ).fetchall()


def recent_bookings(tx: Transaction, limit: int) -> list[dict[str, Any]]:
    """Every booking, newest first (for an admin)."""
    return tx.execute(
        "SELECT * FROM bookings ORDER BY created_at DESC LIMIT %s", (limit,)
    ).fetchall()


def bookings_by_id(tx: Transaction, booking_ids: list[str]) -> dict[str, dict[str, Any]]:
    """These bookings' rows, by id (one query per 500 ids); an id with no row is left out."""
    found: dict[str, dict[str, Any]] = {}
    for first in range(0, len(booking_ids), 500):
        chunk = booking_ids[first : first + 500]
        marks = ", ".join(["%s"] * len(chunk))
        rows = tx.execute(f"SELECT * FROM bookings WHERE id IN ({marks})", chunk).fetchall()
        found.update({row["id"]: row for row in rows})
    return found


def open_checkout_expiries(tx: Transaction, user_id: str, now: datetime) -> list[datetime]:
    """When each of a user's unpaid, unexpired checkouts expires."""
    rows = tx.execute(
        "SELECT expires_at FROM bookings WHERE user_id = %s AND status = %s",
        (user_id, BookingStatus.AWAITING_PAYMENT),
    ).fetchall()
    return [row["expires_at"] for row in rows if row["expires_at"] > now]

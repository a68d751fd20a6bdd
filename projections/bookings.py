"""The ``bookings`` read model: one row per booking, its current status and what it carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger import Booking, BookingStatus
from ledger.events import DomainEvent
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
    "CREATE INDEX IF NOT EXISTS bookings_user_idx ON bookings (user_id, created_at)",
    "CREATE INDEX IF NOT EXISTS bookings_mentor_idx ON bookings (mentor_id, start_time)",
    "CREATE UNIQUE INDEX IF NOT EXISTS bookings_checkout_idx ON bookings (checkout_session_id)",
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

    def create_tables(self, tx: Transaction) -> None:
        tx.execute(CREATE_BOOKINGS)
        for statement in INDEXES:
            tx.execute(statement)

    def drop_tables(self, tx: Transaction) -> None:
        tx.execute("DROP TABLE IF EXISTS bookings")

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        for position, event in events:
            if isinstance(event, Booking.Requested):
                self._insert(tx, position, event)
            else:
                self._update(tx, position, event)

    @staticmethod
    def _insert(tx: Transaction, position: int, event: Booking.Requested) -> None:
        tx.execute(
            """
            INSERT INTO bookings (id, user_id, mentor_id, event_type_id, start_time, end_time,
                attendee_name, attendee_email, attendee_time_zone, amount, currency, platform_fee,
                status, checkout_session_id, reservation_uid, expires_at, last_position,
                created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'AWAITING_PAYMENT', %s, %s, %s,
                %s, %s, %s)
            ON CONFLICT (id) DO NOTHING
            """,
            (
                event.originator_id,
                event.user_id,
                event.mentor_id,
                event.event_type_id,
                event.start,
                event.end,
                event.attendee_name,
                event.attendee_email,
                event.attendee_time_zone,
                event.price_amount,
                event.currency,
                event.platform_fee_amount,
                event.checkout_session_id,
                event.reservation_uid,
                event.expires_at,
                position,
                event.timestamp,
                event.timestamp,
            ),
        )

    @staticmethod
    def _update(tx: Transaction, position: int, event: DomainEvent) -> None:
        changes: dict[str, Any]
        if isinstance(event, Booking.PaymentConfirmed):
            changes = {
                "status": event.leads_to,
                "payment_id": event.payment_id,
                "stripe_payment_intent_id": event.payment_intent_id,
            }
        elif isinstance(event, Booking.Booked):
            changes = {"status": event.leads_to, "calcom_booking_uid": event.calcom_booking_uid}
        elif isinstance(event, Booking.BookingFailed):
            changes = {"status": event.leads_to, "failure_reason": event.reason}
        elif isinstance(event, Booking.Expired):
            changes = {"status": event.leads_to}
        elif isinstance(event, Booking.Cancelled):
            changes = {
                "status": event.leads_to,
                "cancelled_by": event.by,
                "cancel_reason": event.reason,
            }
        elif isinstance(event, Booking.Rescheduled):
            changes = {
                "start_time": event.start,
                "end_time": event.end,
                "calcom_booking_uid": event.calcom_booking_uid,
            }
        else:
            return
        assignments = ", ".join(f"{column} = %({column})s" for column in changes)
        tx.execute(
            f"UPDATE bookings SET {assignments}, last_position = %(position)s, "
            "updated_at = %(updated_at)s WHERE id = %(id)s",
            {
                **changes,
                "position": position,
                "updated_at": event.timestamp,
                "id": event.originator_id,
            },
        )


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


def open_checkout_expiries(tx: Transaction, user_id: str, now: datetime) -> list[datetime]:
    """When each of a user's unpaid, unexpired checkouts expires."""
    rows = tx.execute(
        "SELECT expires_at FROM bookings WHERE user_id = %s AND status = %s",
        (user_id, BookingStatus.AWAITING_PAYMENT),
    ).fetchall()
    return [row["expires_at"] for row in rows if row["expires_at"] > now]

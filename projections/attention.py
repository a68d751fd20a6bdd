"""Read queries behind the attention queue: what the read models show needs a person.

- payouts failed for good (``payments.status = 'payout_failed'``: a retry of the payout run
  would not try them again);
- failed bookings whose payment is not refunded, when no refund work for that booking is
  queued, running or parked (a parked one is listed as parked work already) or was resolved
  by an operator (settled by hand): the safety net for a refund that silently did not happen.

Parked work and halted read models come from ``work_queue`` and ``halts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger import BookingStatus, PaymentStatus
from projections import tracking, work_queue
from projections.dispatch import NAME as DISPATCHER
from projections.store import Transaction

REFUNDS_PROCESS = "refunds"


@dataclass(frozen=True)
class FailedPayout:
    payment_id: str
    booking_id: str
    mentor_id: str
    error: str | None
    since: datetime


@dataclass(frozen=True)
class MissingRefund:
    booking_id: str
    payment_id: str
    amount: int
    amount_refunded: int
    currency: str
    since: datetime


def failed_payouts(
    tx: Transaction, limit: int = 500, *, offset: int = 0, payment_id: str | None = None
) -> list[FailedPayout]:
    """Oldest first, from ``offset`` on (pages past the ones operations resolved, which stay
    failed here); with ``payment_id``, that payment's only."""
    only = " AND id = %s" if payment_id is not None else ""
    rows = tx.execute(
        "SELECT id, booking_id, mentor_id, payout_error, updated_at FROM payments"
        f" WHERE status = %s{only} ORDER BY updated_at, id LIMIT %s OFFSET %s",
        (PaymentStatus.PAYOUT_FAILED, *_given(payment_id), limit, offset),
    ).fetchall()
    return [
        FailedPayout(r["id"], r["booking_id"], r["mentor_id"], r["payout_error"], r["updated_at"])
        for r in rows
    ]


def missing_refunds(
    tx: Transaction, limit: int = 500, *, offset: int = 0, booking_id: str | None = None
) -> list[MissingRefund]:
    """Oldest first, from ``offset`` on; with ``booking_id``, that booking's only."""
    only = " AND b.id = %s" if booking_id is not None else ""
    rows = tx.execute(
        "SELECT b.id AS booking_id, p.id AS payment_id, p.amount, p.amount_refunded,"
        " p.currency, b.updated_at FROM bookings b JOIN payments p ON p.booking_id = b.id"
        f" WHERE b.status = %s{only} AND p.amount_refunded < p.amount"
        f" AND NOT EXISTS (SELECT 1 FROM {work_queue.TABLE} w WHERE w.process = %s"
        " AND w.lane = b.id AND w.status IN ('queued', 'running', 'parked', 'resolved'))"
        # Only once the dispatcher has queued the work for the booking's events: before that
        # its refund is on its way, not missing.
        f" AND b.last_position <= (SELECT position FROM {tracking.TABLE} WHERE name = %s)"
        " ORDER BY b.updated_at, b.id LIMIT %s OFFSET %s",
        (BookingStatus.REJECTED, *_given(booking_id), REFUNDS_PROCESS, DISPATCHER, limit, offset),
    ).fetchall()
    return [
        MissingRefund(
            r["booking_id"],
            r["payment_id"],
            int(r["amount"]),
            int(r["amount_refunded"]),
            r["currency"],
            r["updated_at"],
        )
        for r in rows
    ]


def refund_work_for(tx: Transaction, booking_id: str) -> list[work_queue.WorkItem]:
    """The refunds process's rows for one booking, newest first."""
    rows = tx.execute(
        f"SELECT * FROM {work_queue.TABLE} WHERE process = %s AND lane = %s ORDER BY position DESC",
        (REFUNDS_PROCESS, booking_id),
    ).fetchall()
    return [work_queue.WorkItem.from_row(row) for row in rows]


def _given(value: str | None) -> tuple[str, ...]:
    return () if value is None else (value,)

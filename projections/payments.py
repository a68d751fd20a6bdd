"""The ``payments`` read model: one row per Stripe payment, its status, refunds and payout.

It also keeps whether the booking the payment pays owes the mentor this payment
(``booking_payable``), so the payout process finds what is due with one query on one partial
index (see ``payout_candidates``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger import Booking, Disposition, Payment, PaymentStatus
from ledger.events import DomainEvent, event_time
from ledger.statuses import status_after_payout_failure, status_after_refund
from projections.bulk_rows import RowFold, ValueOf, column_types, stored_ids
from projections.id_text import id_text
from projections.store import Transaction

CREATE_PAYMENTS = """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    stripe_payment_intent_id TEXT NOT NULL UNIQUE,
    stripe_charge_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    disposition TEXT NOT NULL,
    booking_id TEXT NOT NULL,
    booking_payable BOOLEAN NOT NULL DEFAULT FALSE,
    mentor_id TEXT NOT NULL,
    paid_at TIMESTAMPTZ NOT NULL,
    session_end TIMESTAMPTZ,
    amount_refunded BIGINT NOT NULL DEFAULT 0,
    disputed BOOLEAN NOT NULL DEFAULT FALSE,
    destination_account TEXT,
    transfer_amount BIGINT,
    transfer_id TEXT,
    payout_eligible_at TIMESTAMPTZ,
    paid_out_at TIMESTAMPTZ,
    payout_error TEXT,
    last_position BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
)
"""
# What the payout process must look at once the hold has passed: payments whose booking owes the
# mentor (booked, or cancelled after booking without a refund), not refunded (a refund changes
# the status), not disputed and not paid out yet; and
# every payout in flight (``payout_eligible``: left half-done by an interrupted run, or failed
# retryably), whatever became of its booking since, because only the payout process can settle
# it (record the transfer made, or fail it so a refund may go ahead). The partial index holds
# only these rows, so finding them never reads the ever-growing paid-out history. SQLite uses a
# partial index only when the query repeats its condition verbatim: both use this one string.
# A partly refunded payment (a late cancellation's percentage) still owes the mentor the rest.
PAYOUT_QUEUE_PREDICATE = (
    f"(status = '{PaymentStatus.PAYOUT_ELIGIBLE}' OR (status IN ('{PaymentStatus.SUCCEEDED}', "
    f"'{PaymentStatus.PARTIALLY_REFUNDED}') AND booking_payable AND NOT disputed))"
)
# The fold looks payments up by booking (``_accepted_payments``): kept while a replay loads.
INDEXES = ("CREATE INDEX IF NOT EXISTS payments_booking_idx ON payments (booking_id)",)
# Only queries read these: a replay builds them after its load (``projections.query_indexes``).
QUERY_INDEXES = (
    "CREATE INDEX IF NOT EXISTS payments_status_paid_at_idx ON payments (status, paid_at)",
    "CREATE INDEX IF NOT EXISTS payments_mentor_idx ON payments (mentor_id, paid_at)",
    "CREATE INDEX IF NOT EXISTS payments_payout_queue_idx ON payments (paid_at, id) "
    f"WHERE {PAYOUT_QUEUE_PREDICATE}",
)
_PAYOUT_COLUMNS = "SELECT id, booking_id, mentor_id, status, paid_at FROM payments "
PAYOUT_CANDIDATES = (
    f"{_PAYOUT_COLUMNS}WHERE {PAYOUT_QUEUE_PREDICATE} AND paid_at <= %s ORDER BY paid_at, id"
)
# Payouts after the session: the session's end (moved by a reschedule) is filtered on the rows
# of the same partial index, so it is still one indexed query. A payment of a session booked
# before the end was recorded (NULL) is decided by its hold alone.
PAYOUT_CANDIDATES_AFTER_SESSION = (
    f"{_PAYOUT_COLUMNS}WHERE {PAYOUT_QUEUE_PREDICATE} AND paid_at <= %s"
    " AND (session_end IS NULL OR session_end <= %s) ORDER BY paid_at, id"
)


@dataclass(frozen=True)
class PayoutCandidate:
    """A payment the read model thinks is due; the ledger re-checks before anything moves."""

    payment_id: str
    booking_id: str
    mentor_id: str
    status: str
    paid_at: datetime


def payout_candidates(
    tx: Transaction, paid_before: datetime, ended_before: datetime | None = None
) -> list[PayoutCandidate]:
    """Payments due for payout that were paid at or before ``paid_before`` (and, with
    ``ended_before``, whose session ended by then), oldest first."""
    if ended_before is None:
        rows = tx.execute(PAYOUT_CANDIDATES, (paid_before,)).fetchall()
    else:
        rows = tx.execute(PAYOUT_CANDIDATES_AFTER_SESSION, (paid_before, ended_before)).fetchall()
    return [
        PayoutCandidate(
            payment_id=row["id"],
            booking_id=row["booking_id"],
            mentor_id=row["mentor_id"],
            status=row["status"],
            paid_at=row["paid_at"],
        )
        for row in rows
    ]


class PaymentsProjection:
    name = "payments"
    topics = (
        Payment.Paid.TOPIC,
        Payment.Refunded.TOPIC,
        Payment.PayoutEligible.TOPIC,
        Payment.PaidOut.TOPIC,
        Payment.PayoutFailed.TOPIC,
        Payment.PayoutReversed.TOPIC,
        Payment.Disputed.TOPIC,
        # The booking's outcome decides whether its payment is owed to the mentor.
        Booking.Booked.TOPIC,
        Booking.BookingFailed.TOPIC,
        Booking.Cancelled.TOPIC,
        Booking.Rescheduled.TOPIC,
        Booking.NoShowReported.TOPIC,
        Booking.NoShowDecided.TOPIC,
    )
    query_indexes = QUERY_INDEXES

    def create_tables(self, tx: Transaction) -> None:
        tx.execute(CREATE_PAYMENTS)
        for statement in (*INDEXES, *QUERY_INDEXES):
            tx.execute(statement)

    def drop_tables(self, tx: Transaction) -> None:
        tx.execute("DROP TABLE IF EXISTS payments")

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        """Fold the batch into each row's final state, then write it with a few set-based
        statements (see ``_Fold``)."""
        paid = [id_text(e.originator_id) for _, e in events if type(e) is _PAID]
        fold = _Fold(stored_ids(tx, "payments", paid), _accepted_payments(tx, events))
        changes_of = _CHANGES.get
        for position, event in events:
            if type(event) is _PAID:
                fold.insert(position, id_text(event.originator_id), event)
            elif isinstance(event, Booking.Event):
                _booking_changed(fold, position, event)
            elif type(event) is _REFUNDED:
                fold.refund(id_text(event.originator_id), event.amount, position, event_time(event))
            elif (changes := changes_of(type(event))) is not None:
                fold.update(
                    id_text(event.originator_id), changes(event), position, event_time(event)
                )
        fold.write(tx)


_PAID = Payment.Paid
_REFUNDED = Payment.Refunded


def _payout_eligible(event: Payment.PayoutEligible) -> dict[str, Any]:
    return {
        "status": event.leads_to,
        "destination_account": event.destination_account,
        "transfer_amount": event.transfer_amount,
        "payout_eligible_at": event.eligible_at,
        "payout_error": None,
    }


def _paid_out(event: Payment.PaidOut) -> dict[str, Any]:
    return {
        "status": event.leads_to,
        "transfer_id": event.transfer_id,
        "paid_out_at": event_time(event),
    }


def _payout_failed(event: Payment.PayoutFailed) -> dict[str, Any]:
    return {"status": status_after_payout_failure(event.retryable), "payout_error": event.error}


def _payout_reversed(event: Payment.PayoutReversed) -> dict[str, Any]:
    return {"status": event.leads_to}


def _disputed(_event: Payment.Disputed) -> dict[str, Any]:
    return {"disputed": True}


# The columns each kind of payment event sets (besides ``last_position`` and ``updated_at``),
# by its exact class: one dictionary look-up per event instead of a chain of ``isinstance``.
_CHANGES: dict[type, Callable[[Any], dict[str, Any]]] = {
    Payment.PayoutEligible: _payout_eligible,
    Payment.PaidOut: _paid_out,
    Payment.PayoutFailed: _payout_failed,
    Payment.PayoutReversed: _payout_reversed,
    Payment.Disputed: _disputed,
}
# Booking events that change every accepted payment of their booking (not one by id); and a
# ``Cancelled`` with a refund.
_BY_BOOKING = frozenset(
    {Booking.Rescheduled, Booking.NoShowReported, Booking.NoShowDecided, Booking.BookingFailed}
)


def _booking_keyed(event: DomainEvent) -> bool:
    """Whether the event changes every accepted payment of its booking (not one by id)."""
    return type(event) in _BY_BOOKING or (type(event) is Booking.Cancelled and event.refund)


def _accepted_payments(
    tx: Transaction, events: list[tuple[int, DomainEvent]]
) -> dict[str, list[str]]:
    """The stored accepted payments of each booking the batch changes by booking: one query
    (per 500 bookings) instead of one UPDATE per event."""
    booking_ids = sorted({id_text(e.originator_id) for _, e in events if _booking_keyed(e)})
    found: dict[str, list[str]] = {booking_id: [] for booking_id in booking_ids}
    for start in range(0, len(booking_ids), 500):
        chunk = booking_ids[start : start + 500]
        marks = ", ".join(["%s"] * len(chunk))
        rows = tx.execute(
            "SELECT id, booking_id FROM payments"
            f" WHERE disposition = %s AND booking_id IN ({marks}) ORDER BY id",
            [Disposition.ACCEPTED, *chunk],
        ).fetchall()
        for row in rows:
            found[row["booking_id"]].append(row["id"])
    return found


def _booking_changed(fold: _Fold, position: int, event: Booking.Event) -> None:
    """Follow whether the booking owes its mentor the payment that pays it: from ``Booked``
    on, until it fails or is cancelled with a refund. A cancellation without a refund leaves it
    owed: the attendee forfeited the fee. (Only an accepted payment pays the booking;
    ``Booked`` names it, so a duplicate payment of the booking stays apart.)"""
    at = event_time(event)
    if isinstance(event, Booking.Booked):
        payment_id = id_text(event.payment_id)
        session_end = event.__dict__.get("session_end")
        if session_end is not None:
            fold.set_columns(payment_id, {"session_end": session_end})
        fold.update(payment_id, {"booking_payable": True}, position, at)
        return
    booking_id = id_text(event.originator_id)
    if isinstance(event, Booking.Rescheduled):
        # The payout moves with the session.
        for payment_id in fold.accepted_of(booking_id):
            fold.set_columns(payment_id, {"session_end": event.end})
        return
    if isinstance(event, Booking.NoShowReported | Booking.NoShowDecided):
        outcome = event.outcome if isinstance(event, Booking.NoShowReported) else event.decision
        payable = outcome in ("mentor_paid", "release")
    elif _booking_keyed(event):
        payable = False
    else:
        return
    for payment_id in fold.accepted_of(booking_id):
        fold.update(payment_id, {"booking_payable": payable}, position, at)


_COLUMN_TYPES = column_types(CREATE_PAYMENTS)
_REFUND = "_refund"  # an update's refunded amount, added to the stored running total
_REFUND_STATUS = "_refund_status"  # the status follows from that total (a refund came last)


class _Fold(RowFold):
    """A batch folded per payment (``RowFold``): a ``Paid`` opens its row; for rows stored
    before the batch it also keeps the refunds' sum, and whether the status is a refund's
    (decided on the stored total)."""

    def __init__(self, stored: set[str], accepted: dict[str, list[str]]) -> None:
        super().__init__("payments", stored, _COLUMN_TYPES, _assignments, _UPDATE_TYPES)
        # Booking id -> its accepted payments: stored ones, then those inserted in the batch.
        self.accepted = accepted

    def accepted_of(self, booking_id: str) -> list[str]:
        return list(self.accepted.get(booking_id, ()))

    def insert(self, position: int, key: str, event: Payment.Paid) -> None:
        # Owed to no one yet: the booking is at best PENDING until Cal.com books it.
        opened = self.open(
            key,
            lambda: {
                "id": key,
                "stripe_payment_intent_id": event.payment_intent_id,
                "stripe_charge_id": event.charge_id,
                "amount": event.amount,
                "currency": event.currency,
                "status": event.leads_to,
                "disposition": event.disposition,
                "booking_id": id_text(event.booking_id),
                "booking_payable": False,
                "mentor_id": event.mentor_id,
                "paid_at": event.paid_at,
                "session_end": None,
                "amount_refunded": 0,
                "disputed": False,
                "destination_account": None,
                "transfer_amount": None,
                "transfer_id": None,
                "payout_eligible_at": None,
                "paid_out_at": None,
                "payout_error": None,
                "last_position": position,
                "created_at": event_time(event),
                "updated_at": event_time(event),
            },
        )
        if opened and event.disposition == Disposition.ACCEPTED:
            booking_id = id_text(event.booking_id)
            if booking_id in self.accepted:
                self.accepted[booking_id].append(key)

    def set_columns(self, key: str, changes: dict[str, Any]) -> None:
        row = self.row(key)
        row.update(changes)
        if "status" in changes:
            row.pop(_REFUND_STATUS, None)

    def update(
        self, key: str, changes: dict[str, Any], position: int, updated_at: datetime
    ) -> None:
        self.set_columns(key, {**changes, "last_position": position, "updated_at": updated_at})

    def refund(self, key: str, amount: int, position: int, updated_at: datetime) -> None:
        row = self.row(key)
        if key in self.inserts:
            # Status follows from the running total, as in the aggregate.
            row["amount_refunded"] += amount
            row["status"] = status_after_refund(row["amount"], row["amount_refunded"])
        else:
            row[_REFUND] = row.get(_REFUND, 0) + amount
            row.pop("status", None)
            row[_REFUND_STATUS] = True
        row["last_position"] = position
        row["updated_at"] = updated_at


_UPDATE_TYPES = {**_COLUMN_TYPES, _REFUND: "BIGINT", _REFUND_STATUS: "BOOLEAN"}


def _assignments(shape: tuple[str, ...], value_of: ValueOf) -> list[str]:
    assignments = [
        f"{c} = {value_of(c)}" for c in shape if c not in ("id", _REFUND, _REFUND_STATUS)
    ]
    if _REFUND in shape:
        assignments.append(f"amount_refunded = payments.amount_refunded + {value_of(_REFUND)}")
    if _REFUND_STATUS in shape:
        # status_after_refund, on the stored running total
        assignments.append(
            f"status = CASE WHEN payments.amount_refunded + {value_of(_REFUND)}"
            f" >= payments.amount THEN '{status_after_refund(1, 1)}'"
            f" ELSE '{status_after_refund(1, 0)}' END"
        )
    return assignments


def payment_ids_of_booking(tx: Transaction, booking_id: UUID) -> set[UUID]:
    """Every payment made for a booking: the one that pays it and any late, duplicate or
    mismatched one."""
    rows = tx.execute("SELECT id FROM payments WHERE booking_id = %s", (booking_id,)).fetchall()
    return {UUID(row["id"]) for row in rows}

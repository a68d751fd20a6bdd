"""The ``payments`` read model: one row per Stripe payment, its status, refunds and payout.

It also keeps whether the booking the payment pays owes the mentor this payment
(``booking_payable``), so the payout process finds what is due with one query on one partial
index (see ``payout_candidates``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger import Booking, Disposition, Payment, PaymentStatus
from ledger.events import DomainEvent, event_time
from ledger.statuses import status_after_payout_failure, status_after_refund
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
INDEXES = (
    "CREATE INDEX IF NOT EXISTS payments_booking_idx ON payments (booking_id)",
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

    def create_tables(self, tx: Transaction) -> None:
        tx.execute(CREATE_PAYMENTS)
        for statement in INDEXES:
            tx.execute(statement)

    def drop_tables(self, tx: Transaction) -> None:
        tx.execute("DROP TABLE IF EXISTS payments")

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        for position, event in events:
            if isinstance(event, Payment.Paid):
                self._insert(tx, position, event)
            elif isinstance(event, Booking.Event):
                self._booking_changed(tx, position, event)
            elif isinstance(event, Payment.Refunded):
                # Status follows from the running total, as in the aggregate.
                self._update(tx, position, event, {"amount_refunded": event.amount}, refund=True)
            else:
                changes = self._changes(event)
                if changes is not None:
                    self._update(tx, position, event, changes)

    @staticmethod
    def _changes(event: DomainEvent) -> dict[str, Any] | None:
        if isinstance(event, Payment.PayoutEligible):
            return {
                "status": event.leads_to,
                "destination_account": event.destination_account,
                "transfer_amount": event.transfer_amount,
                "payout_eligible_at": event.eligible_at,
                "payout_error": None,
            }
        if isinstance(event, Payment.PaidOut):
            return {
                "status": event.leads_to,
                "transfer_id": event.transfer_id,
                "paid_out_at": event.timestamp,
            }
        if isinstance(event, Payment.PayoutFailed):
            status = status_after_payout_failure(event.retryable)
            return {"status": status, "payout_error": event.error}
        if isinstance(event, Payment.PayoutReversed):
            return {"status": event.leads_to}
        if isinstance(event, Payment.Disputed):
            return {"disputed": True}
        return None

    @staticmethod
    def _booking_changed(tx: Transaction, position: int, event: Booking.Event) -> None:
        """Follow whether the booking owes its mentor the payment that pays it: from
        ``Booked`` on, until it fails or is cancelled with a refund. A cancellation without a
        refund leaves it owed: the attendee forfeited the fee. (Only an accepted payment pays
        the booking; ``Booked`` names it, so a duplicate payment of the booking stays apart.)"""
        of_booking = "booking_id = %(booking_id)s AND disposition = %(accepted)s"
        params: dict[str, Any] = {
            "booking_id": event.originator_id,
            "accepted": Disposition.ACCEPTED,
        }
        if isinstance(event, Booking.Booked):
            where, payable = "id = %(payment_id)s", True
            params = {"payment_id": event.payment_id}
            session_end = event.__dict__.get("session_end")
            if session_end is not None:
                _set_session_end(tx, where, params, session_end)
        elif isinstance(event, Booking.Rescheduled):
            # The payout moves with the session.
            _set_session_end(tx, of_booking, params, event.end)
            return
        elif isinstance(event, Booking.NoShowReported | Booking.NoShowDecided):
            outcome = event.outcome if isinstance(event, Booking.NoShowReported) else event.decision
            where, payable = of_booking, outcome in ("mentor_paid", "release")
        elif isinstance(event, Booking.BookingFailed) or (
            isinstance(event, Booking.Cancelled) and event.refund
        ):
            where, payable = of_booking, False
        else:
            return
        tx.execute(
            "UPDATE payments SET booking_payable = %(payable)s, last_position = %(position)s, "
            f"updated_at = %(updated_at)s WHERE {where}",
            params | {"payable": payable, "position": position, "updated_at": event.timestamp},
        )

    @staticmethod
    def _insert(tx: Transaction, position: int, event: Payment.Paid) -> None:
        # Owed to no one yet: the booking is at best PENDING until Cal.com books it.
        tx.execute(
            """
            INSERT INTO payments (id, stripe_payment_intent_id, stripe_charge_id, amount, currency,
                status, disposition, booking_id, mentor_id, paid_at,
                last_position, created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (id) DO NOTHING
            """,
            (
                event.originator_id,
                event.payment_intent_id,
                event.charge_id,
                event.amount,
                event.currency,
                event.leads_to,
                event.disposition,
                event.booking_id,
                event.mentor_id,
                event.paid_at,
                position,
                event.timestamp,
                event.timestamp,
            ),
        )

    @staticmethod
    def _update(
        tx: Transaction,
        position: int,
        event: DomainEvent,
        changes: dict[str, Any],
        *,
        refund: bool = False,
    ) -> None:
        if refund:
            assignments = (
                "amount_refunded = amount_refunded + %(amount_refunded)s, "
                # status_after_refund, on the stored running total
                "status = CASE WHEN amount_refunded + %(amount_refunded)s >= amount "
                "THEN %(refunded)s ELSE %(partially_refunded)s END"
            )
        else:
            assignments = ", ".join(f"{column} = %({column})s" for column in changes)
        if refund:
            changes = {
                **changes,
                "refunded": status_after_refund(1, 1),
                "partially_refunded": status_after_refund(1, 0),
            }
        tx.execute(
            f"UPDATE payments SET {assignments}, last_position = %(position)s, "
            "updated_at = %(updated_at)s WHERE id = %(id)s",
            {
                **changes,
                "position": position,
                "updated_at": event_time(event),
                "id": event.originator_id,
            },
        )


def _set_session_end(
    tx: Transaction, where: str, params: dict[str, Any], session_end: datetime
) -> None:
    tx.execute(
        f"UPDATE payments SET session_end = %(session_end)s WHERE {where}",
        params | {"session_end": session_end},
    )


def payment_ids_of_booking(tx: Transaction, booking_id: UUID) -> set[UUID]:
    """Every payment made for a booking: the one that pays it and any late, duplicate or
    mismatched one."""
    rows = tx.execute("SELECT id FROM payments WHERE booking_id = %s", (booking_id,)).fetchall()
    return {UUID(row["id"]) for row in rows}

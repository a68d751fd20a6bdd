"""Cancellations by the attendee, the mentor or an admin, decided by the policy in
``ledger.cancellation_policy`` and recorded once in the ``Cancelled`` event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from ledger import (
    Booking,
    BookingNotFound,
    BookingStatus,
    InvalidTransition,
    Ledger,
)
from ledger.cancellation_policy import (
    RefundDecision,
    policy_refund_percent,
    policy_rule,
    refund_decision,
)
from ledger.session_policy import SessionPolicy
from processes.services.access import require_party
from processes.services.errors import NotFound, ServiceError

_DEFAULT_REASONS = {
    "user": "cancelled by the attendee",
    "mentor": "cancelled by the mentor",
    "admin": "cancelled by an administrator",
}


class CannotCancel(ServiceError):
    status = 409
    title = "Booking cannot be cancelled"


@dataclass(frozen=True)
class Cancellation:
    booking: Booking
    cancelled_by: str
    reason: str
    cancelled_at: datetime
    refund: RefundDecision


def cancelled_event(ledger: Ledger, booking_id: UUID) -> Booking.Cancelled | None:
    """The booking's ``Cancelled`` event (there is at most one), read from the event store."""
    for event in ledger.events.get(booking_id, desc=True):
        if isinstance(event, Booking.Cancelled):
            return event
    return None


class CancellationService:
    def __init__(
        self,
        ledger: Ledger,
        *,
        free_cancel_hours: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        late_cancel_refund_percent: int = 0,
    ) -> None:
        self._ledger = ledger
        # For bookings paid before policies were recorded with the payment.
        self._default_policy = SessionPolicy(
            free_cancel_hours=free_cancel_hours,
            late_cancel_refund_percent=late_cancel_refund_percent,
        )
        self._clock = clock

    def cancel(
        self, *, booking_id: UUID, user_id: str, role: str, reason: str | None = None
    ) -> Cancellation:
        """Cancel on behalf of ``user_id`` in ``role``; repeating it is a no-op.

        Anyone but the attendee, the booked mentor or an admin gets ``NotFound`` (as for
        reads, a booking's existence is not revealed). A booking being paid for or booked
        right now, or already ended otherwise, gets ``CannotCancel``; so does a session
        that is over, except for an admin (who settles no-shows).
        """
        try:
            booking = self._ledger.get_booking(booking_id)
        except BookingNotFound:
            raise NotFound("no such booking") from None
        by = require_party(booking, role, user_id)
        if booking.status != BookingStatus.CANCELLED:
            now = self._clock()
            if by != "admin" and booking.request.end <= now:
                raise CannotCancel(f"booking {booking_id}: the session is over")
            # Decided now, with the window in force now, and recorded: nothing recomputes it.
            # Whether anything was paid is the ledger's to settle (a payment may land first).
            # The policy recorded when the booking was paid, not the catalogue's of today.
            policy = booking.policy or self._default_policy
            rule = policy_rule(
                cancelled_by=by,
                cancelled_at=now,
                start=booking.request.start,
                free_cancel_hours=policy.free_cancel_hours,
            )
            percent = policy_refund_percent(rule, policy.late_cancel_refund_percent)
            try:
                booking = self._ledger.cancel_booking(
                    booking_id=booking_id,
                    by=by,
                    reason=reason or _DEFAULT_REASONS[by],
                    refund=percent == 100,
                    refund_percent=percent,
                )
            except InvalidTransition as refused:
                raise CannotCancel(str(refused)) from None
        return self.describe(booking)

    def describe(self, booking: Booking) -> Cancellation:
        """The recorded cancellation of ``booking`` and the refund it recorded."""
        event = cancelled_event(self._ledger, booking.id)
        if event is None:
            raise CannotCancel(f"booking {booking.id} is not cancelled")
        decision = refund_decision(booking=booking, payment=self._ledger.paying_payment(booking))
        return Cancellation(booking, event.by, event.reason, event.timestamp, decision)

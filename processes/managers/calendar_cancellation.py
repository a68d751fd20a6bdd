"""Frees the session at Cal.com when a booking is cancelled, and ends an unpaid checkout."""

from __future__ import annotations

from ledger import Booking, Ledger
from ledger.events import DomainEvent
from processes.gateways.calcom_gateway import CalcomGateway
from processes.gateways.stripe_gateway import StripeGateway


class CalendarCancellation:
    """Frees the session at Cal.com when a booking is cancelled, and ends the checkout of a
    booking cancelled before it was paid, so the customer cannot pay for it any more (a
    payment racing the cancellation is refunded as late by the refunds process). Both calls
    are idempotent: an already cancelled booking or ended session is the wanted outcome."""

    name = "calendar-cancel"
    topics = (Booking.Cancelled.TOPIC,)

    def __init__(self, ledger: Ledger, calcom: CalcomGateway, stripe: StripeGateway) -> None:
        self._ledger = ledger
        self._calcom = calcom
        self._stripe = stripe

    def handle(self, position: int, event: DomainEvent) -> None:
        if not isinstance(event, Booking.Cancelled):
            return
        booking = self._ledger.get_booking(event.originator_id)
        # Failures propagate: transient ones are retried by the work queue, a refusal for good
        # is parked for operations; neither holds up any other cancellation.
        if booking.calcom_booking_uid is not None:
            self._calcom.cancel_booking(booking.calcom_booking_uid, event.reason)
        if booking.payment_id is None:
            session_id = booking.request.checkout_session_id
            self._stripe.expire_checkout_session(session_id, idempotency_key=f"expire:{booking.id}")

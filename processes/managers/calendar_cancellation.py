"""Frees the session at Cal.com when a booking is cancelled, and ends an unpaid checkout."""

from __future__ import annotations

import logging

from ledger import Booking, Ledger
from ledger.events import DomainEvent
from processes.gateways.calcom_gateway import CalcomGateway, CalcomRequestError
from processes.gateways.stripe_gateway import StripeGateway, StripeRequestRefused

log = logging.getLogger(__name__)


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
        # Transient failures propagate (the follower retries); a final refusal is logged and
        # passed over, so one odd booking cannot hold up every later cancellation.
        if booking.calcom_booking_uid is not None:
            try:
                self._calcom.cancel_booking(booking.calcom_booking_uid, event.reason)
            except CalcomRequestError as refused:
                log.error("Cal.com refused to cancel %s: %s", booking.calcom_booking_uid, refused)
        if booking.payment_id is None:
            session_id = booking.request.checkout_session_id
            try:
                self._stripe.expire_checkout_session(
                    session_id, idempotency_key=f"expire:{booking.id}"
                )
            except StripeRequestRefused as refused:
                log.error("Stripe refused to expire checkout %s: %s", session_id, refused)

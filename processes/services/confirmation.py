"""``POST /api/bookings/confirm``: the customer is back from Checkout; record the payment from
Stripe's own objects and wait a bounded time for the booking's outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

from ledger import Booking, BookingNotFound, BookingStatus, Disposition, Ledger
from processes.gateways.stripe_errors import StripeGatewayError, StripeRequestRefused
from processes.gateways.stripe_gateway import StripeGateway
from processes.gateways.stripe_objects import PaymentIntentInfo
from processes.services.access import require_party
from processes.services.errors import NotFound, PaymentMismatch, Unprocessable, UpstreamUnavailable
from processes.services.payments import booking_id_of, record_payment_intent

SETTLED = frozenset(
    {BookingStatus.ACCEPTED, BookingStatus.REJECTED, BookingStatus.CANCELLED, BookingStatus.EXPIRED}
)
POLL_SECONDS = 0.05  # re-read the booking this often while fulfilment decides
FAILURE_MESSAGES = {
    BookingStatus.REJECTED: "The slot could not be booked; your payment is being refunded.",
    BookingStatus.EXPIRED: "The checkout expired; any payment is being refunded.",
    BookingStatus.CANCELLED: "The booking was cancelled.",
}


@dataclass(frozen=True)
class Confirmation:
    booking_id: UUID
    status: str
    success: bool
    error: str | None = None

    @property
    def settled(self) -> bool:
        return self.status in SETTLED


class ConfirmationService:
    def __init__(self, ledger: Ledger, stripe: StripeGateway, wait_seconds: float = 10.0) -> None:
        self._ledger = ledger
        self._stripe = stripe
        self._wait_seconds = wait_seconds

    def confirm(
        self,
        *,
        user_id: str,
        role: str,
        payment_intent_id: str | None = None,
        checkout_session_id: str | None = None,
    ) -> Confirmation:
        intent, booking_id = self._find(payment_intent_id, checkout_session_id)
        booking = self._visible_booking(booking_id, user_id, role)
        if intent is None or intent.status != "succeeded":
            return Confirmation(booking.id, booking.status, False, "The payment is not complete.")
        recorded = record_payment_intent(self._ledger, self._stripe, intent)
        if recorded is None:
            raise Unprocessable("the payment cannot be recorded for this booking")
        if recorded.disposition == Disposition.MISMATCH:
            raise PaymentMismatch(
                "the payment's amount or currency differ from the booking's "
                "price; it will be refunded"
            )
        return self._outcome(booking.id)

    def _find(
        self, payment_intent_id: str | None, checkout_session_id: str | None
    ) -> tuple[PaymentIntentInfo | None, UUID]:
        try:
            if checkout_session_id is not None:
                session = self._stripe.retrieve_checkout_session(checkout_session_id)
                booking_id = booking_id_of(session.metadata)
                intent = (
                    self._stripe.retrieve_payment_intent(session.payment_intent_id)
                    if session.payment_intent_id
                    else None
                )
            else:
                assert payment_intent_id is not None
                intent = self._stripe.retrieve_payment_intent(payment_intent_id)
                booking_id = booking_id_of(intent.metadata)
        except StripeRequestRefused as refused:
            if refused.code == "resource_missing":
                raise NotFound("no such payment or checkout session") from refused
            raise UpstreamUnavailable(str(refused)) from refused
        except StripeGatewayError as error:
            raise UpstreamUnavailable(f"Stripe is unavailable: {error}") from error
        if booking_id is None:
            raise NotFound("no booking belongs to this payment")
        if intent is not None and checkout_session_id is not None:
            intent_booking = booking_id_of(intent.metadata)
            if intent_booking != booking_id:
                raise PaymentMismatch("the payment belongs to another booking")
        return intent, booking_id

    def _visible_booking(self, booking_id: UUID, user_id: str, role: str) -> Booking:
        try:
            booking = self._ledger.get_booking(booking_id)
        except BookingNotFound:
            raise NotFound("no such booking") from None
        require_party(booking, role, user_id)  # not 403: don't reveal that it exists
        return booking

    def _outcome(self, booking_id: UUID) -> Confirmation:
        """Wait, bounded, for fulfilment to decide; the ledger is the source of truth."""
        deadline = time.monotonic() + self._wait_seconds
        booking = self._ledger.get_booking(booking_id)
        while booking.status not in SETTLED and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            # Rebuilt from its events only once it has a new one (most polls find none).
            if self._ledger.recorder.select_events(booking_id, gt=booking.version, limit=1):
                booking = self._ledger.get_booking(booking_id)
        status = BookingStatus(booking.status)
        success = status == BookingStatus.ACCEPTED
        return Confirmation(
            booking.id, status, success, None if success else FAILURE_MESSAGES.get(status)
        )

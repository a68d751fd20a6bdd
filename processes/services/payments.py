"""Record a Stripe payment in the ledger from Stripe's own objects (never from the client).

The return page (``POST /api/bookings/confirm``) and the webhook both end here, so a payment
is recorded once whichever path reports it first (Stripe's own fulfilment guidance).
"""

from __future__ import annotations

import logging
from uuid import UUID

from ledger import BookingNotFound, Disposition, Ledger, Money, PaymentRecorded
from processes.gateways.stripe_gateway import StripeGateway
from processes.gateways.stripe_objects import PaymentIntentInfo

log = logging.getLogger(__name__)

BOOKING_ID_METADATA_KEY = "booking_id"


def booking_id_of(metadata: dict[str, str]) -> UUID | None:
    try:
        return UUID(metadata[BOOKING_ID_METADATA_KEY])
    except (KeyError, ValueError):
        return None


def record_payment_intent(
    ledger: Ledger, stripe: StripeGateway, intent: PaymentIntentInfo
) -> PaymentRecorded | None:
    """Record a succeeded PaymentIntent for its booking; ``None`` if it is not ours to record."""
    if intent.status != "succeeded" or intent.latest_charge_id is None:
        return None
    booking_id = booking_id_of(intent.metadata)
    if booking_id is None:
        log.warning("PaymentIntent %s carries no booking id; not ours", intent.id)
        return None
    existing = ledger.payment_for_intent(intent.id)
    if existing is not None:
        # Recorded already (the webhook and the return page both report it): the same check
        # the ledger makes on a repeat, without reading the charge from Stripe again.
        existing.check_same_payment(
            charge_id=intent.latest_charge_id, amount=intent.amount, booking_id=booking_id
        )
        return PaymentRecorded(existing.id, Disposition(existing.disposition), False)
    charge = stripe.retrieve_charge(intent.latest_charge_id)
    try:
        return ledger.record_payment(
            payment_intent_id=intent.id,
            charge_id=charge.id,
            amount=intent.amount,
            booking_id=booking_id,
            paid_at=charge.created,
            discount=_discount(ledger, stripe, booking_id, intent),
        )
    except BookingNotFound:
        log.warning("PaymentIntent %s names unknown booking %s", intent.id, booking_id)
        return None


def record_payment_intent_id(
    ledger: Ledger, stripe: StripeGateway, payment_intent_id: str
) -> PaymentRecorded | None:
    """A webhook's PaymentIntent: read from Stripe unless the ledger has recorded it already
    (a recorded payment is never recorded again, so reading it would change nothing)."""
    existing = ledger.payment_for_intent(payment_intent_id)
    if existing is not None:
        return PaymentRecorded(existing.id, Disposition(existing.disposition), False)
    return record_payment_intent(ledger, stripe, stripe.retrieve_payment_intent(payment_intent_id))


def _discount(
    ledger: Ledger, stripe: StripeGateway, booking_id: UUID, intent: PaymentIntentInfo
) -> Money | None:
    """A promotion code's discount, from the booking's Checkout Session (Stripe's own figure),
    when the amount paid is not the price; None otherwise (no extra call in the usual case)."""
    try:
        booking = ledger.get_booking(booking_id)
    except BookingNotFound:
        return None
    if intent.amount == booking.price or intent.amount.currency != booking.price.currency:
        return None
    session = stripe.retrieve_checkout_session(booking.request.checkout_session_id)
    if session.payment_intent_id != intent.id or not session.amount_discount:
        return None
    return Money(session.amount_discount, intent.amount.currency)

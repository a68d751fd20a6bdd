"""Refunds: money taken without a booking to show for it goes back by itself.

Triggers: a payment that does not pay its booking (late, duplicate, mismatched), and a paid
booking that failed at Cal.com. The Stripe refund carries the idempotency key
``refund:<payment id>``, so a crash between Stripe and the ledger replays the same refund.
"""

from __future__ import annotations

import logging
from uuid import UUID

from ledger import Booking, Disposition, Ledger, Money, Payment
from processes.gateways.stripe_gateway import StripeGateway
from projections.follower import DomainEvent

log = logging.getLogger(__name__)


def refund_idempotency_key(payment_id: UUID) -> str:
    return f"refund:{payment_id}"


class Refunds:
    name = "refunds"
    topics = (Payment.Paid.TOPIC, Booking.BookingFailed.TOPIC)

    def __init__(self, ledger: Ledger, stripe: StripeGateway) -> None:
        self._ledger = ledger
        self._stripe = stripe

    def handle(self, position: int, event: DomainEvent) -> None:
        if isinstance(event, Payment.Paid):
            if event.disposition != Disposition.ACCEPTED:
                refund_in_full(
                    self._ledger,
                    self._stripe,
                    event.originator_id,
                    reason=f"payment {event.disposition}",
                )
        elif isinstance(event, Booking.BookingFailed):
            payment_id = self._ledger.payment_id_for_booking(event.originator_id)
            if payment_id is not None:
                refund_in_full(
                    self._ledger, self._stripe, payment_id, reason=f"booking failed: {event.reason}"
                )


def refund_in_full(ledger: Ledger, stripe: StripeGateway, payment_id: UUID, reason: str) -> None:
    """Refund what is left of a payment, once, and record it."""
    payment = ledger.get_payment(payment_id)
    remaining = payment.amount - payment.refunded_amount
    if remaining <= 0:
        return
    refund = stripe.create_refund(
        payment_intent_id=payment.payment_intent_id,
        amount=Money(remaining, payment.currency),
        reason="duplicate" if payment.disposition == Disposition.DUPLICATE else None,
        metadata={"payment_id": str(payment_id), "booking_id": str(payment.booking_id)},
        idempotency_key=refund_idempotency_key(payment_id),
    )
    ledger.record_refund(
        payment_id=payment_id, refund_id=refund.id, amount=refund.amount, reason=reason
    )
    log.info("refunded %s of payment %s (%s)", refund.amount.format(), payment_id, reason)

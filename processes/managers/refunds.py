"""Refunds: money the customer is owed goes back by itself.

Triggers: a payment that does not pay its booking (late, duplicate, mismatched), a paid booking
that failed at Cal.com, and a cancellation the policy refunds
(``ledger.cancellation_policy``).
Every Stripe call carries a deterministic idempotency key (``refund:<payment id>``,
``reversal:<payment id>``), so a crash between Stripe and the ledger replays the same call.

A refund of money already transferred to the mentor first reverses the transfer, and records
the reversal, so the mentor's payable never goes negative. While a payout is in flight
(``payout_eligible``) the ledger refuses the refund; rather than block every later refund
behind it, the cancellation is left for now and taken up again when the payout's outcome is
recorded (``PaidOut`` or ``PayoutFailed`` are triggers too). Whether a cancellation is refunded
is the ``refund`` flag its ``Cancelled`` event recorded (never the policy evaluated again), and
what is left to do is read from the ledger each time, so any order of these events ends in the
same state.
"""

from __future__ import annotations

import logging
from uuid import UUID

from ledger import Booking, BookingStatus, Disposition, Ledger, Money, Payment, PaymentStatus
from ledger.cancellation_policy import refund_decision
from ledger.events import DomainEvent
from processes.gateways.stripe_gateway import StripeGateway
from processes.managers.partial_refunds import refund_up_to

log = logging.getLogger(__name__)


def refund_idempotency_key(payment_id: UUID) -> str:
    return f"refund:{payment_id}"


def reversal_idempotency_key(payment_id: UUID) -> str:
    return f"reversal:{payment_id}"


class Refunds:
    name = "refunds"
    topics = (
        Payment.Paid.TOPIC,
        Booking.BookingFailed.TOPIC,
        Booking.Cancelled.TOPIC,
        Payment.PaidOut.TOPIC,
        Payment.PayoutFailed.TOPIC,
    )

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
        elif isinstance(event, Booking.Cancelled):
            self._refund_cancellation(event.originator_id)
        elif isinstance(event, Payment.PaidOut | Payment.PayoutFailed):
            # A cancellation may have been waiting for this payout's outcome.
            self._refund_cancellation(self._ledger.get_payment(event.originator_id).booking_id)

    def _refund_cancellation(self, booking_id: UUID) -> None:
        booking = self._ledger.get_booking(booking_id)
        if booking.status != BookingStatus.CANCELLED:
            return
        payment = self._ledger.paying_payment(booking)
        decision = refund_decision(booking=booking, payment=payment)
        if payment is None or not decision.refunds:
            return
        if payment.status == PaymentStatus.PAYOUT_ELIGIBLE:
            log.info("refund of payment %s waits for its payout's outcome", payment.id)
            return
        if payment.refunded_amount >= decision.amount.amount:
            return
        # A refusal for good (``StripeRequestRefused``) propagates: the work is parked and the
        # attention queue shows it; it holds up no other refund.
        if decision.amount.amount < payment.amount:
            # A late cancellation's percentage: the mentor is owed the rest.
            refund_up_to(
                self._ledger,
                self._stripe,
                payment.id,
                decision.amount.amount,
                reason=f"cancelled: {decision.rule}",
            )
            return
        reverse_payout(self._ledger, self._stripe, payment)
        refund_in_full(self._ledger, self._stripe, payment.id, reason=f"cancelled: {decision.rule}")


def reverse_payout(ledger: Ledger, stripe: StripeGateway, payment: Payment) -> None:
    """Take back from the mentor whatever of this payment was transferred and not yet
    reversed, and record it. A retry after a crash asks for the same amount with the same
    key, so Stripe answers with the same reversal."""
    outstanding = payment.paid_out_amount - payment.reversed_amount
    if payment.transfer_id is None or outstanding <= 0:
        return
    reversal = stripe.create_transfer_reversal(
        payment.transfer_id,
        amount=Money(outstanding, payment.currency),
        idempotency_key=reversal_idempotency_key(payment.id),
    )
    ledger.record_payout_reversed(
        payment_id=payment.id, reversal_id=reversal.id, amount=reversal.amount
    )
    log.info("reversed %s of transfer %s", reversal.amount.format(), payment.transfer_id)


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

"""No-show refunds: a mentor who did not show (reported by the mentor or an admin, or an
admin's decision on the attendee's claim) means the attendee is refunded in full.

A transfer already made is reversed first (as for a refunded cancellation); a payout in
flight is waited for (``PaidOut``/``PayoutFailed`` are triggers too). What is left to do is
read from the ledger each time, and every Stripe call has a deterministic idempotency key.
"""

from __future__ import annotations

import logging
from uuid import UUID

from ledger import Booking, Ledger, Payment, PaymentStatus
from ledger.events import DomainEvent
from processes.gateways.stripe_gateway import StripeGateway
from processes.managers.refunds import refund_in_full, reverse_payout

log = logging.getLogger(__name__)


class NoShowRefunds:
    name = "no-show-refunds"
    topics = (
        Booking.NoShowReported.TOPIC,
        Booking.NoShowDecided.TOPIC,
        Payment.PaidOut.TOPIC,
        Payment.PayoutFailed.TOPIC,
    )

    def __init__(self, ledger: Ledger, stripe: StripeGateway) -> None:
        self._ledger = ledger
        self._stripe = stripe

    def handle(self, position: int, event: DomainEvent) -> None:
        if isinstance(event, Booking.NoShowReported | Booking.NoShowDecided):
            self._refund(event.originator_id)
        elif isinstance(event, Payment.PaidOut | Payment.PayoutFailed):
            self._refund(self._ledger.get_payment(event.originator_id).booking_id)

    def _refund(self, booking_id: UUID) -> None:
        booking = self._ledger.get_booking(booking_id)
        if not booking.no_show_refunds:
            return
        payment = self._ledger.paying_payment(booking)
        if payment is None or payment.refunded_amount >= payment.amount:
            return
        if payment.status == PaymentStatus.PAYOUT_ELIGIBLE:
            log.info("no-show refund of payment %s waits for its payout's outcome", payment.id)
            return
        if payment.disputed:
            log.error("payment %s is disputed; the no-show refund is left to finance", payment.id)
            return
        # A refusal for good (``StripeRequestRefused``) propagates: the work is parked and the
        # attention queue shows it, as for every refund.
        reverse_payout(self._ledger, self._stripe, payment)
        refund_in_full(self._ledger, self._stripe, payment.id, reason="no-show: mentor")

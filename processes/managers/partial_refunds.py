"""A refund of part of a payment (a late cancellation's percentage), reversing first only as
much of a transfer already made as the mentor's share of that refund needs.

Keys are deterministic (``refund:<payment id>:<total>``, ``reversal:<payment id>:<total>``):
a retry after a crash computes the same amounts from the ledger and sends the same requests.
"""

from __future__ import annotations

import logging
from uuid import UUID

from ledger import Ledger, Money, split_refund
from processes.gateways.stripe_gateway import StripeGateway

log = logging.getLogger(__name__)


def refund_up_to(
    ledger: Ledger, stripe: StripeGateway, payment_id: UUID, total: int, reason: str
) -> None:
    """Refund the payment until ``total`` of it has gone back, and record it."""
    payment = ledger.get_payment(payment_id)
    remaining = min(total, payment.amount) - payment.refunded_amount
    if remaining <= 0:
        return
    booking = ledger.get_booking(payment.booking_id)
    credited_fee = booking.credited_fee_for(payment.id)
    if credited_fee is not None and payment.transfer_id is not None:
        split = split_refund(
            amount=remaining,
            paid=payment.amount,
            already_refunded=payment.refunded_amount,
            already_from_fees=payment.refunded_from_platform_fees,
            credited_fee=credited_fee,
        )
        left_in_payable = (
            payment.amount
            - credited_fee
            - payment.paid_out_amount
            + payment.reversed_amount
            - payment.refunded_from_mentor_payable
        )
        needed = split.from_mentor_payable - left_in_payable
        if needed > 0:
            reversal = stripe.create_transfer_reversal(
                payment.transfer_id,
                amount=Money(needed, payment.currency),
                idempotency_key=f"reversal:{payment.id}:{total}",
            )
            ledger.record_payout_reversed(
                payment_id=payment.id, reversal_id=reversal.id, amount=reversal.amount
            )
    refund = stripe.create_refund(
        payment_intent_id=payment.payment_intent_id,
        amount=Money(remaining, payment.currency),
        reason="requested_by_customer",
        metadata={"payment_id": str(payment_id), "booking_id": str(payment.booking_id)},
        idempotency_key=f"refund:{payment_id}:{total}",
    )
    ledger.record_refund(
        payment_id=payment_id, refund_id=refund.id, amount=refund.amount, reason=reason
    )
    log.info("refunded %s of payment %s (%s)", refund.amount.format(), payment_id, reason)

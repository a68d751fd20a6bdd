"""The vocabulary of states: booking statuses, payment statuses, payment dispositions.

The one source of truth for transitions: each event class says the status it leads to
(``leads_to``, or the functions below where the facts decide), and the aggregates, the read
models and the audit all take it from there.
"""

from __future__ import annotations

from enum import StrEnum


class BookingStatus(StrEnum):
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    PENDING = "PENDING"  # paid; the Cal.com booking is being made
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class PaymentStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    PAYOUT_ELIGIBLE = "payout_eligible"
    PAID = "paid"
    PAYOUT_FAILED = "payout_failed"
    PAYOUT_REVERSED = "payout_reversed"


def status_after_refund(amount: int, refunded_total: int) -> PaymentStatus:
    """A payment's status once ``refunded_total`` of its ``amount`` has gone back."""
    return PaymentStatus.REFUNDED if refunded_total >= amount else PaymentStatus.PARTIALLY_REFUNDED


def status_after_payout_failure(retryable: bool) -> PaymentStatus:
    """A failed payout that may be retried leaves the payment eligible; one that may not parks
    it as ``payout_failed``."""
    return PaymentStatus.PAYOUT_ELIGIBLE if retryable else PaymentStatus.PAYOUT_FAILED


class Disposition(StrEnum):
    """What a payment means for its booking. Anything but ACCEPTED is to be refunded."""

    ACCEPTED = "accepted"  # it pays its booking
    LATE = "late"  # the booking had expired, been cancelled or rejected
    DUPLICATE = "duplicate"  # another payment already paid the booking
    MISMATCH = "mismatch"  # amount or currency differ from the booking's price


CANCELLERS: frozenset[str] = frozenset({"user", "mentor", "admin", "system"})

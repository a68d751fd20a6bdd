"""The vocabulary of states: booking statuses, payment statuses, payment dispositions."""

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


class Disposition(StrEnum):
    """What a payment means for its booking. Anything but ACCEPTED is to be refunded."""

    ACCEPTED = "accepted"  # it pays its booking
    LATE = "late"  # the booking had expired, been cancelled or rejected
    DUPLICATE = "duplicate"  # another payment already paid the booking
    MISMATCH = "mismatch"  # amount or currency differ from the booking's price


CANCELLERS: frozenset[str] = frozenset({"user", "mentor", "admin", "system"})

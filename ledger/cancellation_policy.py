"""The cancellation policy and the refund a recorded cancellation earns.

The policy (``policy_rule``) is applied once, when cancelling, with the settings then in force,
and its outcome is recorded in the ``Cancelled`` event (``refund``). Everything after that (the
API's answer, the refunds process, the payouts) reads the recorded flag through
``refund_decision``, so a later change of the free-cancellation window cannot make them disagree.
Without a refund the mentor keeps the payment: it is paid out after the hold like a session that
took place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ledger.booking import Booking
from ledger.money import Money
from ledger.payment import Payment


class RefundRule(StrEnum):
    """Why a cancellation is, or is not, refunded."""

    CANCELLED_BY_MENTOR = "cancelled_by_mentor"
    CANCELLED_BY_PLATFORM = "cancelled_by_platform"  # an admin or the system
    FREE_CANCELLATION = "free_cancellation"  # attendee, early enough
    # attendee, inside the window: the policy's percentage back (none by default)
    LATE_CANCELLATION = "late_cancellation"
    NOT_REFUNDED = "not_refunded"  # mentor or admin, recorded without a refund (not by policy)
    NOTHING_PAID = "nothing_paid"
    DISPUTED = "disputed"  # the card issuer holds the money; Stripe refuses refunds


@dataclass(frozen=True)
class RefundDecision:
    rule: RefundRule
    amount: Money  # what the recorded decision gives back; zero when nothing

    @property
    def refunds(self) -> bool:
        return self.amount.amount > 0


def policy_rule(
    *, cancelled_by: str, cancelled_at: datetime, start: datetime, free_cancel_hours: int
) -> RefundRule:
    """The cancellation policy: anyone but the attendee cancelling means a full refund; the
    attendee is refunded in full when cancelling at least ``free_cancel_hours`` before the
    start, otherwise not at all."""
    if cancelled_by == "mentor":
        return RefundRule.CANCELLED_BY_MENTOR
    if cancelled_by != "user":
        return RefundRule.CANCELLED_BY_PLATFORM
    if start - cancelled_at >= timedelta(hours=free_cancel_hours):
        return RefundRule.FREE_CANCELLATION
    return RefundRule.LATE_CANCELLATION


_REFUNDING_RULES = frozenset(
    {
        RefundRule.CANCELLED_BY_MENTOR,
        RefundRule.CANCELLED_BY_PLATFORM,
        RefundRule.FREE_CANCELLATION,
    }
)


def policy_refunds(rule: RefundRule) -> bool:
    """Whether the policy's ``rule`` refunds the payer in full."""
    return rule in _REFUNDING_RULES


def recorded_rule(*, cancelled_by: str, refund: bool) -> RefundRule:
    """The rule a recorded cancellation was decided by, from its facts alone."""
    if not refund:
        return RefundRule.LATE_CANCELLATION if cancelled_by == "user" else RefundRule.NOT_REFUNDED
    if cancelled_by == "mentor":
        return RefundRule.CANCELLED_BY_MENTOR
    if cancelled_by == "user":
        return RefundRule.FREE_CANCELLATION
    return RefundRule.CANCELLED_BY_PLATFORM


def refund_decision(*, booking: Booking, payment: Payment | None) -> RefundDecision:
    """What the recorded cancellation of ``booking`` gives back of ``payment``: it reads the
    ``refund`` flag the ``Cancelled`` event recorded, never the policy evaluated again."""
    if booking.cancelled_by is None or booking.cancel_refund is None:
        raise ValueError(f"booking {booking.id} is not cancelled")
    currency = payment.currency if payment is not None else booking.request.currency
    nothing = Money.zero(currency)
    if payment is None:
        return RefundDecision(RefundRule.NOTHING_PAID, nothing)
    rule = recorded_rule(cancelled_by=booking.cancelled_by, refund=booking.cancel_refund)
    owed = booking.refund_owed(payment.amount)
    if not owed:
        return RefundDecision(rule, nothing)
    if payment.disputed:
        return RefundDecision(RefundRule.DISPUTED, nothing)
    return RefundDecision(rule, Money(owed, payment.currency))


def policy_refund_percent(rule: RefundRule, late_cancel_refund_percent: int) -> int:
    """The percentage of the payment the policy's ``rule`` gives back: all of it, a late
    cancellation's percentage (by the event type's recorded policy), or nothing."""
    if policy_refunds(rule):
        return 100
    if rule == RefundRule.LATE_CANCELLATION:
        return late_cancel_refund_percent
    return 0

"""Cancellations by the attendee, the mentor or an admin, and the refund they earn.

The refund policy (``policy_rule``) is applied once, when cancelling, with the settings then in
force, and its outcome is recorded in the ``Cancelled`` event (``refund``). Everything after
that (the API's answer, the refunds process, the payouts) reads the recorded flag, so a later
change of ``MENTORPAY_FREE_CANCEL_HOURS`` cannot make them disagree. Without a refund the
mentor keeps the payment: it is paid out after the hold like a session that took place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from ledger import (
    Booking,
    BookingNotFound,
    BookingStatus,
    InvalidTransition,
    Ledger,
    Money,
    Payment,
)
from processes.errors import NotFound, ServiceError
from processes.gateways.calcom_gateway import CalcomGateway, CalcomRequestError
from processes.gateways.stripe_gateway import StripeGateway, StripeRequestRefused
from projections.follower import DomainEvent

log = logging.getLogger(__name__)

# Who may cancel, by token role: the attendee (role user), the booked mentor, any admin.
_CANCELLER_BY_ROLE = {"user": "user", "mentor": "mentor", "admin": "admin"}
_DEFAULT_REASONS = {
    "user": "cancelled by the attendee",
    "mentor": "cancelled by the mentor",
    "admin": "cancelled by an administrator",
}


class CannotCancel(ServiceError):
    status = 409
    title = "Booking cannot be cancelled"


class RefundRule(StrEnum):
    """Why a cancellation is, or is not, refunded."""

    CANCELLED_BY_MENTOR = "cancelled_by_mentor"
    CANCELLED_BY_PLATFORM = "cancelled_by_platform"  # an admin or the system
    FREE_CANCELLATION = "free_cancellation"  # attendee, early enough
    LATE_CANCELLATION = "late_cancellation"  # attendee, inside the window: no refund
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


@dataclass(frozen=True)
class Cancellation:
    booking: Booking
    cancelled_by: str
    reason: str
    cancelled_at: datetime
    refund: RefundDecision


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
    if not booking.cancel_refund:
        return RefundDecision(rule, nothing)
    if payment.disputed:
        return RefundDecision(RefundRule.DISPUTED, nothing)
    return RefundDecision(rule, payment.paid)


def cancelled_event(ledger: Ledger, booking_id: UUID) -> Booking.Cancelled | None:
    """The booking's ``Cancelled`` event (there is at most one), read from the event store."""
    for event in ledger.events.get(booking_id, desc=True):
        if isinstance(event, Booking.Cancelled):
            return event
    return None


def paying_payment(ledger: Ledger, booking: Booking) -> Payment | None:
    return ledger.get_payment(booking.payment_id) if booking.payment_id is not None else None


class CancellationService:
    def __init__(
        self,
        ledger: Ledger,
        *,
        free_cancel_hours: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._free_cancel_hours = free_cancel_hours
        self._clock = clock

    def cancel(
        self, *, booking_id: UUID, user_id: str, role: str, reason: str | None = None
    ) -> Cancellation:
        """Cancel on behalf of ``user_id`` in ``role``; repeating it is a no-op.

        Anyone but the attendee, the booked mentor or an admin gets ``NotFound`` (as for
        reads, a booking's existence is not revealed). A booking being paid for or booked
        right now, or already ended otherwise, gets ``CannotCancel``; so does a session
        that is over, except for an admin (who settles no-shows).
        """
        try:
            booking = self._ledger.get_booking(booking_id)
        except BookingNotFound:
            raise NotFound("no such booking") from None
        by = self._canceller(booking, user_id, role)
        if booking.status != BookingStatus.CANCELLED:
            now = self._clock()
            if by != "admin" and booking.request.end <= now:
                raise CannotCancel(f"booking {booking_id}: the session is over")
            # Decided now, with the window in force now, and recorded: nothing recomputes it.
            # Whether anything was paid is the ledger's to settle (a payment may land first).
            rule = policy_rule(
                cancelled_by=by,
                cancelled_at=now,
                start=booking.request.start,
                free_cancel_hours=self._free_cancel_hours,
            )
            try:
                booking = self._ledger.cancel_booking(
                    booking_id=booking_id,
                    by=by,
                    reason=reason or _DEFAULT_REASONS[by],
                    refund=policy_refunds(rule),
                )
            except InvalidTransition as refused:
                raise CannotCancel(str(refused)) from None
        return self.describe(booking)

    def describe(self, booking: Booking) -> Cancellation:
        """The recorded cancellation of ``booking`` and the refund it recorded."""
        event = cancelled_event(self._ledger, booking.id)
        if event is None:
            raise CannotCancel(f"booking {booking.id} is not cancelled")
        decision = refund_decision(booking=booking, payment=paying_payment(self._ledger, booking))
        return Cancellation(booking, event.by, event.reason, event.timestamp, decision)

    @staticmethod
    def _canceller(booking: Booking, user_id: str, role: str) -> str:
        by = _CANCELLER_BY_ROLE.get(role)
        own = {"user": booking.user_id, "mentor": booking.mentor_id}
        if by is None or (by != "admin" and own[by] != user_id):
            raise NotFound("no such booking")
        return by


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

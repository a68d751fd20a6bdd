"""The ``Booking`` aggregate: one mentor session from checkout to Cal.com booking.

Its events are the facts the rest of the system builds on; their topics are explicit
(``mentorpay.Booking.<Event>``) so moving this module never breaks replaying the log.
Every command method returns whether it recorded anything: ``False`` is an idempotent
repeat, a refusal is a typed ``LedgerError``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import AggregateCreated, AggregateEvent, BaseAggregate

from ledger.errors import ConflictingRecord, InvalidTransition
from ledger.money import Money
from ledger.session_policy import SessionPolicy
from ledger.statuses import BookingStatus, Disposition

# What a recorded no-show means for the payment (``NoShowReported.outcome``, then the decision).
NO_SHOW_PARTIES = frozenset({"attendee", "mentor"})
NO_SHOW_OUTCOMES = frozenset({"mentor_paid", "claim_open", "refund"})
NO_SHOW_DECISIONS = frozenset({"refund", "release"})


@dataclass(frozen=True)
class BookingRequest:
    """The validated facts of a booking request, as ``Requested`` records them."""

    user_id: str
    mentor_id: str
    event_type_id: int
    start: datetime
    end: datetime
    attendee_name: str
    attendee_email: str
    attendee_time_zone: str
    price_amount: int
    currency: str
    platform_fee_amount: int
    checkout_session_id: str
    reservation_uid: str | None
    expires_at: datetime


_REQUEST_FIELDS = tuple(field.name for field in fields(BookingRequest))


class Booking(BaseAggregate[UUID]):
    TOPIC = "mentorpay.Booking"

    def __init__(self) -> None:
        # Filled in by Requested.apply; declared here so every attribute has a type.
        self.status = BookingStatus.AWAITING_PAYMENT
        self.request: BookingRequest  # as it stands now (a reschedule moves start and end)
        self.requested: BookingRequest  # as first requested: what a repeated request must match
        self.payment_id: UUID | None = None
        self.payment_intent_id: str | None = None
        self.calcom_booking_uid: str | None = None
        self.failure_reason: str | None = None
        self.failure_final: bool | None = None
        self.cancelled_by: str | None = None
        self.cancel_reason: str | None = None
        # Recorded by Cancelled: the payer is refunded in full (False: the mentor keeps it).
        self.cancel_refund: bool | None = None
        # Recorded by Cancelled: the percentage of the payment given back (100 with a full
        # refund; a late cancellation's percentage by the recorded policy; 0 otherwise).
        self.cancel_refund_percent: int | None = None
        # Recorded by PolicyFixed when the booking was paid; None for bookings paid before.
        self.policy: SessionPolicy | None = None
        self.reschedules = 0
        # Recorded by Booked: what left clearing (the price less any discount) and its fee.
        self.discount_amount = 0
        self.booked_amount: int | None = None
        self.booked_fee: int | None = None
        # No-shows: who did not show, who said so, and what it means for the payment
        # (mentor_paid, claim_open: an admin decides, refund, release: the admin let it pay).
        self.no_show_party: str | None = None
        self.no_show_by: str | None = None
        self.no_show_outcome: str | None = None
        self.no_show_reported: str | None = None  # the report's own outcome

    # --- events -----------------------------------------------------------------------

    class Event(AggregateEvent):
        """Base of the booking's events (never stored itself)."""

    @staticmethod
    def status_after(event: object) -> BookingStatus | None:
        """The status a booking event leads to; None for an event that is not a booking's."""
        status = getattr(type(event), "leads_to", None)
        return status if isinstance(status, BookingStatus) else None

    class Requested(Event, AggregateCreated):
        TOPIC = "mentorpay.Booking.Requested"
        leads_to = BookingStatus.AWAITING_PAYMENT
        user_id: str
        mentor_id: str
        event_type_id: int
        start: datetime
        end: datetime
        attendee_name: str
        attendee_email: str
        attendee_time_zone: str
        price_amount: int
        currency: str
        platform_fee_amount: int
        checkout_session_id: str
        reservation_uid: str | None
        expires_at: datetime

        def apply(self, booking: Booking) -> None:
            facts = {name: getattr(self, name) for name in _REQUEST_FIELDS}
            booking.request = BookingRequest(**facts)
            booking.requested = booking.request
            booking.status = self.leads_to

    class PaymentConfirmed(Event):
        TOPIC = "mentorpay.Booking.PaymentConfirmed"
        leads_to = BookingStatus.PENDING
        payment_id: UUID
        payment_intent_id: str
        discount_amount: int  # a promotion code's discount; absent (0) in older events

        def apply(self, booking: Booking) -> None:
            booking.payment_id = self.payment_id
            booking.payment_intent_id = self.payment_intent_id
            booking.discount_amount = int(self.__dict__.get("discount_amount", 0))
            booking.status = self.leads_to

    class PolicyFixed(Event):
        """The event type's policy in force when the booking was paid (same transaction)."""

        TOPIC = "mentorpay.Booking.PolicyFixed"
        free_cancel_hours: int
        late_cancel_refund_percent: int
        reschedule_cutoff_hours: int
        max_reschedules: int

        def apply(self, booking: Booking) -> None:
            booking.policy = SessionPolicy(
                free_cancel_hours=self.free_cancel_hours,
                late_cancel_refund_percent=self.late_cancel_refund_percent,
                reschedule_cutoff_hours=self.reschedule_cutoff_hours,
                max_reschedules=self.max_reschedules,
            )

    class Rescheduled(Event):
        """Moved at Cal.com: rescheduling there makes a new Cal.com booking (a new uid)."""

        TOPIC = "mentorpay.Booking.Rescheduled"
        by: str
        from_calcom_booking_uid: str
        calcom_booking_uid: str
        old_start: datetime
        old_end: datetime
        start: datetime
        end: datetime

        def apply(self, booking: Booking) -> None:
            booking.request = replace(booking.request, start=self.start, end=self.end)
            booking.calcom_booking_uid = self.calcom_booking_uid
            booking.reschedules += 1

    class NoShowReported(Event):
        TOPIC = "mentorpay.Booking.NoShowReported"
        party: str  # attendee | mentor: who did not show
        by: str  # user | mentor | admin
        reason: str
        outcome: str  # mentor_paid | claim_open | refund

        def apply(self, booking: Booking) -> None:
            booking.no_show_party = self.party
            booking.no_show_by = self.by
            booking.no_show_outcome = self.outcome
            booking.no_show_reported = self.outcome

    class NoShowDecided(Event):
        """An admin's decision on an attendee's claim that the mentor did not show."""

        TOPIC = "mentorpay.Booking.NoShowDecided"
        decision: str  # refund | release
        by: str
        reason: str

        def apply(self, booking: Booking) -> None:
            booking.no_show_outcome = self.decision

    class Booked(Event):
        TOPIC = "mentorpay.Booking.Booked"
        leads_to = BookingStatus.ACCEPTED
        calcom_booking_uid: str
        # Denormalised so the journal postings are a pure function of this event.
        mentor_id: str
        price_amount: int
        platform_fee_amount: int
        currency: str
        payment_id: UUID
        # ``price_amount`` is what left clearing: the price less this discount. Both are
        # absent from events recorded before promotion codes (no discount, then).
        discount_amount: int
        session_end: datetime

        def apply(self, booking: Booking) -> None:
            booking.calcom_booking_uid = self.calcom_booking_uid
            booking.booked_amount = self.price_amount
            booking.booked_fee = self.platform_fee_amount
            booking.status = self.leads_to

    class BookingFailed(Event):
        TOPIC = "mentorpay.Booking.BookingFailed"
        leads_to = BookingStatus.REJECTED
        reason: str
        final: bool  # True: a definitive refusal (slot taken); False: gave up retrying

        def apply(self, booking: Booking) -> None:
            booking.failure_reason = self.reason
            booking.failure_final = self.final
            booking.status = self.leads_to

    class Expired(Event):
        TOPIC = "mentorpay.Booking.Expired"
        leads_to = BookingStatus.EXPIRED

        def apply(self, booking: Booking) -> None:
            booking.status = self.leads_to

    class Cancelled(Event):
        TOPIC = "mentorpay.Booking.Cancelled"
        leads_to = BookingStatus.CANCELLED
        by: str
        reason: str
        # Decided once, when cancelling, by the policy then in force: the payer is refunded
        # in full. False when nothing was paid, or when the mentor keeps the payment.
        refund: bool
        # The percentage refunded (100 with ``refund``); absent from older events.
        refund_percent: int

        def apply(self, booking: Booking) -> None:
            booking.cancelled_by = self.by
            booking.cancel_reason = self.reason
            booking.cancel_refund = self.refund
            booking.cancel_refund_percent = int(
                self.__dict__.get("refund_percent", 100 if self.refund else 0)
            )
            booking.status = self.leads_to

    # --- commands ---------------------------------------------------------------------

    @classmethod
    def request_new(cls, booking_id: UUID, request: BookingRequest) -> Booking:
        facts = {name: getattr(request, name) for name in _REQUEST_FIELDS}
        return cls._create(cls.Requested, id=booking_id, **facts)

    def check_same_request(self, request: BookingRequest) -> None:
        # Against the first request: a booking moved since is still the one that was asked for.
        if request != self.requested:
            raise ConflictingRecord(f"booking {self.id} was already requested with other data")

    def disposition_for(self, amount: Money, discount: int = 0) -> Disposition:
        """What a newly arrived payment of ``amount`` means for this booking; with a
        promotion code's ``discount`` the price less the discount is the right amount."""
        if self.payment_id is not None:
            return Disposition.DUPLICATE
        if self.status != BookingStatus.AWAITING_PAYMENT:
            return Disposition.LATE
        if amount.currency != self.price.currency or discount > self.price.amount:
            return Disposition.MISMATCH
        if amount.amount + discount != self.price.amount:
            return Disposition.MISMATCH
        return Disposition.ACCEPTED

    def confirm_payment(self, payment_id: UUID, payment_intent_id: str, discount: int = 0) -> bool:
        if self.payment_id == payment_id:
            return False
        if self.payment_id is not None or self.status != BookingStatus.AWAITING_PAYMENT:
            raise InvalidTransition(f"booking {self.id} is {self.status}, not awaiting payment")
        self.trigger_event(
            self.PaymentConfirmed,
            payment_id=payment_id,
            payment_intent_id=payment_intent_id,
            discount_amount=discount,
        )
        return True

    def fix_policy(self, policy: SessionPolicy) -> bool:
        """Record the policy in force now; the first one recorded stays."""
        if self.policy is not None:
            return False
        self.trigger_event(self.PolicyFixed, **policy.as_fields())
        return True

    def book(self, calcom_booking_uid: str) -> bool:
        if self.status == BookingStatus.ACCEPTED or (
            self.status == BookingStatus.CANCELLED and self.calcom_booking_uid is not None
        ):
            if calcom_booking_uid != self.calcom_booking_uid:
                raise ConflictingRecord(
                    f"booking {self.id} is already booked as {self.calcom_booking_uid}"
                )
            return False
        if self.status != BookingStatus.PENDING:
            raise InvalidTransition(f"booking {self.id} is {self.status}, not paid and pending")
        assert self.payment_id is not None  # PENDING is only reached by PaymentConfirmed
        price = self.request.price_amount
        paid = price - self.discount_amount
        # The fee is taken on what was paid: the same share of it as of the full price.
        fee = self.request.platform_fee_amount * paid // price if price else 0
        self.trigger_event(
            self.Booked,
            calcom_booking_uid=calcom_booking_uid,
            mentor_id=self.request.mentor_id,
            price_amount=paid,
            platform_fee_amount=fee,
            currency=self.request.currency,
            payment_id=self.payment_id,
            discount_amount=self.discount_amount,
            session_end=self.request.end,
        )
        return True

    def reschedule(
        self, *, from_uid: str, to_uid: str, start: datetime, end: datetime, by: str
    ) -> bool:
        """Record a move Cal.com made (``from_uid`` became ``to_uid``); the same move again
        records nothing, a move from a Cal.com booking that is no longer ours conflicts."""
        if to_uid == self.calcom_booking_uid:
            if (start, end) != (self.request.start, self.request.end):
                raise ConflictingRecord(f"{to_uid} was recorded at another time")
            return False
        if self.status != BookingStatus.ACCEPTED or self.no_show_party is not None:
            raise InvalidTransition(f"booking {self.id} is {self.status} and cannot be moved")
        if from_uid != self.calcom_booking_uid:
            raise ConflictingRecord(
                f"booking {self.id} is now {self.calcom_booking_uid}, not {from_uid}"
            )
        self.trigger_event(
            self.Rescheduled,
            by=by,
            from_calcom_booking_uid=from_uid,
            calcom_booking_uid=to_uid,
            old_start=self.request.start,
            old_end=self.request.end,
            start=start,
            end=end,
        )
        return True

    def report_no_show(self, *, party: str, by: str, reason: str, outcome: str) -> bool:
        """Record who did not show; the first report stays (the same one again: no-op)."""
        if self.no_show_party is not None:
            if (party, outcome) != (self.no_show_party, self.no_show_reported):
                raise ConflictingRecord(
                    f"booking {self.id} already has a no-show of the {self.no_show_party}"
                )
            return False
        if self.status != BookingStatus.ACCEPTED:
            raise InvalidTransition(f"booking {self.id} is {self.status}, not a booked session")
        self.trigger_event(self.NoShowReported, party=party, by=by, reason=reason, outcome=outcome)
        return True

    def decide_no_show(self, *, decision: str, by: str, reason: str) -> bool:
        """An admin settles an open claim; the same decision again records nothing."""
        if self.no_show_outcome == decision and self.no_show_reported == "claim_open":
            return False
        if self.no_show_outcome != "claim_open":
            raise InvalidTransition(f"booking {self.id} has no open no-show claim")
        self.trigger_event(self.NoShowDecided, decision=decision, by=by, reason=reason)
        return True

    def fail(self, reason: str, final: bool) -> bool:
        # The first failure wins: a process retrying after a crash may word it differently.
        if self.status == BookingStatus.REJECTED:
            return False
        if self.status != BookingStatus.PENDING:
            raise InvalidTransition(f"booking {self.id} is {self.status}, not paid and pending")
        self.trigger_event(self.BookingFailed, reason=reason, final=final)
        return True

    def expire(self) -> bool:
        """Expire an unpaid booking; anything else (paid, already ended) is left alone."""
        if self.status != BookingStatus.AWAITING_PAYMENT:
            return False
        self.trigger_event(self.Expired)
        return True

    def cancel(self, by: str, reason: str, refund: bool, refund_percent: int | None = None) -> bool:
        """Cancel; ``refund`` is what the policy grants the payer (in full), ``refund_percent``
        a late cancellation's partial refund. The first cancellation wins: a repeat (by
        anyone, deciding anything) records nothing."""
        if self.status == BookingStatus.CANCELLED:
            return False
        # PENDING is refused: Cal.com may be booking the slot right now; wait for the outcome.
        if self.status not in (BookingStatus.AWAITING_PAYMENT, BookingStatus.ACCEPTED):
            raise InvalidTransition(f"booking {self.id} is {self.status} and cannot be cancelled")
        if self.no_show_party is not None:
            raise InvalidTransition(f"booking {self.id} has a recorded no-show")
        # Nothing paid, nothing to refund. Decided here, on the state the event applies to, so
        # a payment that lands while the caller was deciding cannot be recorded as forfeited.
        paid = self.payment_id is not None
        percent = 100 if refund else (refund_percent or 0)
        if not paid:
            percent = 0
        self.trigger_event(
            self.Cancelled,
            by=by,
            reason=reason,
            refund=percent == 100,
            refund_percent=percent,
        )
        return True

    # --- queries ----------------------------------------------------------------------

    @property
    def price(self) -> Money:
        return Money(self.request.price_amount, self.request.currency)

    @property
    def platform_fee(self) -> Money:
        return Money(self.request.platform_fee_amount, self.request.currency)

    @property
    def mentor_id(self) -> str:
        return self.request.mentor_id

    @property
    def user_id(self) -> str:
        return self.request.user_id

    def credited_fee_for(self, payment_id: UUID) -> int | None:
        """Where a refund of ``payment_id`` must come from.

        ``None``: its money is still in clearing. An int: ``Booked`` moved it to the
        mentor's payable and platform fees, and this is the fee part. A booking whose
        outcome is still open refuses: ``Booked`` will move the full price out of clearing.
        """
        if payment_id != self.payment_id:
            return None
        if self.status == BookingStatus.PENDING:
            raise InvalidTransition(
                f"booking {self.id} is still being booked; refund once it is booked or failed"
            )
        if self.calcom_booking_uid is None:
            return None
        return self.booked_fee if self.booked_fee is not None else self.request.platform_fee_amount

    def is_payable_with(self, payment_id: UUID) -> bool:
        """Whether ``payment_id`` pays this booking's mentor: the session is booked, or was
        cancelled after booking without a refund (the attendee forfeited the fee)."""
        if self.payment_id != payment_id:
            return False
        if self.no_show_outcome in ("claim_open", "refund"):
            return False  # held while an admin decides, or refunded in full
        if self.status == BookingStatus.ACCEPTED:
            return True
        return (
            self.status == BookingStatus.CANCELLED
            and self.calcom_booking_uid is not None
            and self.cancel_refund is False
        )

    @property
    def no_show_refunds(self) -> bool:
        """A recorded no-show (or an admin's decision on one) refunds the payer in full."""
        return self.no_show_outcome == "refund"

    def refund_owed(self, paid: int) -> int:
        """What a recorded cancellation or no-show gives back of a payment of ``paid``."""
        if self.no_show_refunds:
            return paid
        if self.status != BookingStatus.CANCELLED or self.cancel_refund_percent is None:
            return 0
        return paid * self.cancel_refund_percent // 100

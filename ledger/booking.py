"""The ``Booking`` aggregate: one mentor session from checkout to Cal.com booking.

Its events are the facts the rest of the system builds on; their topics are explicit
(``mentorpay.Booking.<Event>``) so moving this module never breaks replaying the log.
Every command method returns whether it recorded anything: ``False`` is an idempotent
repeat, a refusal is a typed ``LedgerError``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import AggregateCreated, AggregateEvent, BaseAggregate

from ledger.errors import ConflictingRecord, InvalidTransition
from ledger.money import Money
from ledger.statuses import BookingStatus, Disposition


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
        self.request: BookingRequest
        self.payment_id: UUID | None = None
        self.payment_intent_id: str | None = None
        self.calcom_booking_uid: str | None = None
        self.failure_reason: str | None = None
        self.failure_final: bool | None = None
        self.cancelled_by: str | None = None
        self.cancel_reason: str | None = None
        # Recorded by Cancelled: the payer is refunded in full (False: the mentor keeps it).
        self.cancel_refund: bool | None = None

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
            booking.status = self.leads_to

    class PaymentConfirmed(Event):
        TOPIC = "mentorpay.Booking.PaymentConfirmed"
        leads_to = BookingStatus.PENDING
        payment_id: UUID
        payment_intent_id: str

        def apply(self, booking: Booking) -> None:
            booking.payment_id = self.payment_id
            booking.payment_intent_id = self.payment_intent_id
            booking.status = self.leads_to

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

        def apply(self, booking: Booking) -> None:
            booking.calcom_booking_uid = self.calcom_booking_uid
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

        def apply(self, booking: Booking) -> None:
            booking.cancelled_by = self.by
            booking.cancel_reason = self.reason
            booking.cancel_refund = self.refund
            booking.status = self.leads_to

    # --- commands ---------------------------------------------------------------------

    @classmethod
    def request_new(cls, booking_id: UUID, request: BookingRequest) -> Booking:
        facts = {name: getattr(request, name) for name in _REQUEST_FIELDS}
        return cls._create(cls.Requested, id=booking_id, **facts)

    def check_same_request(self, request: BookingRequest) -> None:
        if request != self.request:
            raise ConflictingRecord(f"booking {self.id} was already requested with other data")

    def disposition_for(self, amount: Money) -> Disposition:
        """What a newly arrived payment of ``amount`` means for this booking."""
        if self.payment_id is not None:
            return Disposition.DUPLICATE
        if self.status != BookingStatus.AWAITING_PAYMENT:
            return Disposition.LATE
        if amount != self.price:
            return Disposition.MISMATCH
        return Disposition.ACCEPTED

    def confirm_payment(self, payment_id: UUID, payment_intent_id: str) -> bool:
        if self.payment_id == payment_id:
            return False
        if self.payment_id is not None or self.status != BookingStatus.AWAITING_PAYMENT:
            raise InvalidTransition(f"booking {self.id} is {self.status}, not awaiting payment")
        self.trigger_event(
            self.PaymentConfirmed, payment_id=payment_id, payment_intent_id=payment_intent_id
        )
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
        self.trigger_event(
            self.Booked,
            calcom_booking_uid=calcom_booking_uid,
            mentor_id=self.request.mentor_id,
            price_amount=self.request.price_amount,
            platform_fee_amount=self.request.platform_fee_amount,
            currency=self.request.currency,
            payment_id=self.payment_id,
        )
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

    def cancel(self, by: str, reason: str, refund: bool) -> bool:
        """Cancel; ``refund`` is what the policy grants the payer. The first cancellation
        wins: a repeat (by anyone, deciding anything) records nothing."""
        if self.status == BookingStatus.CANCELLED:
            return False
        # PENDING is refused: Cal.com may be booking the slot right now; wait for the outcome.
        if self.status not in (BookingStatus.AWAITING_PAYMENT, BookingStatus.ACCEPTED):
            raise InvalidTransition(f"booking {self.id} is {self.status} and cannot be cancelled")
        # Nothing paid, nothing to refund. Decided here, on the state the event applies to, so
        # a payment that lands while the caller was deciding cannot be recorded as forfeited.
        paid = self.payment_id is not None
        self.trigger_event(self.Cancelled, by=by, reason=reason, refund=refund and paid)
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
        return self.request.platform_fee_amount

    def is_payable_with(self, payment_id: UUID) -> bool:
        """Whether ``payment_id`` pays this booking's mentor: the session is booked, or was
        cancelled after booking without a refund (the attendee forfeited the fee)."""
        if self.payment_id != payment_id:
            return False
        if self.status == BookingStatus.ACCEPTED:
            return True
        return (
            self.status == BookingStatus.CANCELLED
            and self.calcom_booking_uid is not None
            and self.cancel_refund is False
        )

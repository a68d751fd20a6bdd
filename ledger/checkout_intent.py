"""The ``CheckoutIntent`` aggregate: a checkout recorded before any of its side effects.

Opening a checkout holds the slot at Cal.com and opens a Stripe Checkout Session before the
``Booking`` exists. The intent is recorded first, with every parameter the Stripe call will
send (expiry included), and each side effect is recorded as soon as it is done, so a retry
after a crash or a lost response resumes where the first attempt stopped and sends Stripe
the very same request under the same idempotency key. It moves no money and posts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import AggregateCreated, AggregateEvent, BaseAggregate

from ledger.errors import ConflictingRecord, InvalidTransition
from ledger.money import Money


@dataclass(frozen=True)
class CheckoutFacts:
    """What the customer asked for, as the first attempt decided it (price and fee included)."""

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
    product_name: str
    return_url: str


_FACT_FIELDS = tuple(field.name for field in fields(CheckoutFacts))


def intent_id_for(booking_id: UUID) -> UUID:
    """The intent of the booking ``booking_id`` will become (one per booking id)."""
    return uuid5(booking_id, "checkout-intent")


class CheckoutIntent(BaseAggregate[UUID]):
    TOPIC = "mentorpay.CheckoutIntent"

    def __init__(self) -> None:
        self.booking_id: UUID
        self.facts: CheckoutFacts
        self.expires_at: datetime
        self.stripe_attempt = 0  # bumped only when Stripe refused the expiry of a new call
        self.reservation_uid: str | None = None
        self.abandoned_reason: str | None = None

    class Event(AggregateEvent):
        """Base of the intent's events (never stored itself)."""

    class Recorded(Event, AggregateCreated):
        TOPIC = "mentorpay.CheckoutIntent.Recorded"
        booking_id: UUID
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
        product_name: str
        return_url: str
        expires_at: datetime

        def apply(self, intent: CheckoutIntent) -> None:
            intent.booking_id = self.booking_id
            intent.facts = CheckoutFacts(**{name: getattr(self, name) for name in _FACT_FIELDS})
            intent.expires_at = self.expires_at

    class SlotHeld(Event):
        TOPIC = "mentorpay.CheckoutIntent.SlotHeld"
        reservation_uid: str

        def apply(self, intent: CheckoutIntent) -> None:
            intent.reservation_uid = self.reservation_uid

    class Rescheduled(Event):
        """Stripe refused the expiry because no earlier call reached it: a new call, new key."""

        TOPIC = "mentorpay.CheckoutIntent.Rescheduled"
        expires_at: datetime
        stripe_attempt: int

        def apply(self, intent: CheckoutIntent) -> None:
            intent.expires_at = self.expires_at
            intent.stripe_attempt = self.stripe_attempt

    class Abandoned(Event):
        TOPIC = "mentorpay.CheckoutIntent.Abandoned"
        reason: str

        def apply(self, intent: CheckoutIntent) -> None:
            intent.abandoned_reason = self.reason

    # --- commands ---------------------------------------------------------------------

    @classmethod
    def record(cls, booking_id: UUID, facts: CheckoutFacts, expires_at: datetime) -> CheckoutIntent:
        values = {name: getattr(facts, name) for name in _FACT_FIELDS}
        return cls._create(
            cls.Recorded,
            id=intent_id_for(booking_id),
            booking_id=booking_id,
            expires_at=expires_at,
            **values,
        )

    def check_same_request(self, facts: CheckoutFacts) -> None:
        """The same customer request again. Price, fee, product name and return URL were
        fixed by the first attempt and are not compared: a retry keeps them."""
        fixed = ("price_amount", "currency", "platform_fee_amount", "product_name", "return_url")
        mine = {name: getattr(self.facts, name) for name in _FACT_FIELDS if name not in fixed}
        theirs = {name: getattr(facts, name) for name in _FACT_FIELDS if name not in fixed}
        if mine != theirs:
            raise ConflictingRecord(f"checkout {self.booking_id} was started with other data")

    def hold(self, reservation_uid: str) -> bool:
        """Record the slot hold; the first one recorded wins (a racing retry's is released)."""
        if self.reservation_uid is not None:
            return False
        self._check_open()
        self.trigger_event(self.SlotHeld, reservation_uid=reservation_uid)
        return True

    def reschedule(self, expires_at: datetime) -> bool:
        self._check_open()
        if expires_at <= self.expires_at:
            return False
        self.trigger_event(
            self.Rescheduled, expires_at=expires_at, stripe_attempt=self.stripe_attempt + 1
        )
        return True

    def abandon(self, reason: str) -> bool:
        if self.abandoned_reason is not None:
            return False
        self.trigger_event(self.Abandoned, reason=reason)
        return True

    def _check_open(self) -> None:
        if self.abandoned_reason is not None:
            raise InvalidTransition(f"checkout {self.booking_id} was abandoned")

    # --- queries ----------------------------------------------------------------------

    @property
    def price(self) -> Money:
        return Money(self.facts.price_amount, self.facts.currency)

    @property
    def platform_fee(self) -> Money:
        return Money(self.facts.platform_fee_amount, self.facts.currency)

    @property
    def stripe_idempotency_key(self) -> str:
        base = f"checkout:{self.booking_id}"
        return base if self.stripe_attempt == 0 else f"{base}:{self.stripe_attempt}"

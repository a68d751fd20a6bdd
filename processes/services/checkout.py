"""Start a checkout as a sequence of recoverable steps.

1. record the intent (``CheckoutIntent.Recorded``): the request, the price, the fee and every
   parameter the Stripe call will send, expiry included, before any side effect;
2. hold the slot at Cal.com and record the hold (``SlotHeld``);
3. open the Stripe embedded Checkout under the intent's idempotency key;
4. record ``Booking.Requested``.

A retry with the same ``Idempotency-Key`` after a crash or a lost response finds the intent and
resumes from the first step not recorded; step 3 sends Stripe byte-identical parameters under
the same key, so Stripe answers with the session it already made. A transient failure of
Cal.com or Stripe is ``UpstreamUnavailable`` (503 with Retry-After) and keeps what was done for
the retry. Nothing is left behind for good: an abandoned hold lapses at Cal.com, an abandoned
session expires at Stripe, and its ``checkout.session.expired`` releases the hold early.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from ledger import BookingNotFound, CheckoutFacts, CheckoutIntent, Ledger, Money
from ledger.fees import platform_fee
from processes.gateways.calcom_errors import CalcomGatewayError, SlotUnavailable
from processes.gateways.calcom_gateway import CalcomGateway
from processes.gateways.stripe_errors import (
    StripeGatewayError,
    StripeRequestRefused,
)
from processes.gateways.stripe_gateway import CheckoutSession, StripeGateway
from processes.services.errors import (
    CheckoutClosed,
    IdempotencyKeyReused,
    NotFound,
    SlotTaken,
    TooManyOpenCheckouts,
    Unprocessable,
    UpstreamRefused,
    UpstreamUnavailable,
)
from projections.catalog import Catalog, EventType

log = logging.getLogger(__name__)

IDEMPOTENT_CHECKOUT_NAMESPACE = uuid5(NAMESPACE_URL, "https://mentorpay.invalid/checkout")
# The slot hold outlives the checkout a little, so a payment made at the last second can
# still be booked with it.
RESERVATION_MARGIN = timedelta(minutes=10)
# Stripe wants expires_at at least 30 minutes after it receives the request; whole seconds and
# the request's own time would otherwise put the minimum just out of reach.
EXPIRY_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True)
class CheckoutRequest:
    user_id: str
    event_type_id: int
    start: datetime
    attendee_name: str
    attendee_email: str
    attendee_time_zone: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class CheckoutStarted:
    booking_id: UUID
    checkout_session_id: str
    client_secret: str
    amount: Money
    expires_at: datetime


@dataclass(frozen=True)
class CheckoutSettings:
    expires_minutes: int
    platform_fee_bps: int
    return_url: str  # contains {CHECKOUT_SESSION_ID}
    max_open_checkouts: int = 3


# The expiry of each open (unpaid, unexpired) checkout of a user, as of a given time.
OpenCheckouts = Callable[[str, datetime], list[datetime]]


def checkout_idempotency_key(booking_id: UUID) -> str:
    """The Stripe key of a checkout's first session call (``CheckoutIntent`` may bump it)."""
    return f"checkout:{booking_id}"


class CheckoutService:
    def __init__(
        self,
        ledger: Ledger,
        catalog: Catalog,
        stripe: StripeGateway,
        calcom: CalcomGateway,
        settings: CheckoutSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        open_checkouts: OpenCheckouts | None = None,
    ) -> None:
        self._open_checkouts = open_checkouts
        self._ledger = ledger
        self._catalog = catalog
        self._stripe = stripe
        self._calcom = calcom
        self._settings = settings
        self._clock = clock

    @property
    def settings(self) -> CheckoutSettings:
        return self._settings

    def start(self, request: CheckoutRequest) -> CheckoutStarted:
        event_type = self._catalog.event_type(request.event_type_id)
        if event_type is None:
            raise NotFound(f"unknown event type {request.event_type_id}")
        booking_id = self._booking_id(request)
        replay = self._replay(booking_id, request)
        if replay is not None:
            return replay
        intent, resumed = self._intent(booking_id, request, event_type)
        reservation_uid = intent.reservation_uid or self._hold(intent, resumed)
        session = self._open_session(intent, reservation_uid)
        self._ledger.request_booking(
            booking_id=booking_id,
            user_id=intent.facts.user_id,
            mentor_id=intent.facts.mentor_id,
            event_type_id=intent.facts.event_type_id,
            start=intent.facts.start,
            end=intent.facts.end,
            attendee_name=intent.facts.attendee_name,
            attendee_email=intent.facts.attendee_email,
            attendee_time_zone=intent.facts.attendee_time_zone,
            price=intent.price,
            platform_fee=intent.platform_fee,
            checkout_session_id=session.id,
            reservation_uid=reservation_uid,
            expires_at=session.expires_at,
        )
        if session.client_secret is None:
            raise UpstreamUnavailable("Stripe returned no client secret")
        return CheckoutStarted(
            booking_id, session.id, session.client_secret, intent.price, session.expires_at
        )

    # --- step 1: the intent --------------------------------------------------------------

    def _intent(
        self, booking_id: UUID, request: CheckoutRequest, event_type: EventType
    ) -> tuple[CheckoutIntent, bool]:
        """The intent a retry resumes (and True), or a new one once the request is checked."""
        now = self._clock()
        start = request.start.astimezone(UTC)
        end = start + timedelta(minutes=event_type.duration_minutes)
        intent = self._ledger.checkout_intent(booking_id)
        resumed = intent is not None
        if intent is None:
            if start <= now:
                raise Unprocessable("the slot is in the past")
            self._check_open_limit(request.user_id, now)
            self._check_offered(event_type, start, end)
        elif not self._same_request(intent.facts, request):
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different checkout")
        intent = self._ledger.record_checkout_intent(
            booking_id=booking_id,
            user_id=request.user_id,
            mentor_id=event_type.mentor_id,
            event_type_id=event_type.id,
            start=start,
            end=end,
            attendee_name=request.attendee_name,
            attendee_email=request.attendee_email,
            attendee_time_zone=request.attendee_time_zone,
            price=event_type.price,
            platform_fee=platform_fee(event_type.price, self._settings.platform_fee_bps),
            product_name=event_type.title,
            return_url=self._settings.return_url,
            expires_at=self._fresh_expiry(),
        )
        if intent.abandoned_reason is not None:
            raise CheckoutClosed(f"this checkout was abandoned ({intent.abandoned_reason})")
        if intent.expires_at <= now:
            self._abandon(intent, "expired before it was opened")
            raise CheckoutClosed("this checkout expired; start a new one with a new key")
        return intent, resumed

    def _check_open_limit(self, user_id: str, now: datetime) -> None:
        """Refuse a new checkout beyond the open ones allowed (retries of one are not new).

        Refused rather than expiring the oldest: the customer may be paying that one in
        another tab right now, and a payment racing its expiry would only be refunded.
        """
        if self._open_checkouts is None:
            return
        open_until = sorted(self._open_checkouts(user_id, now))
        limit = self._settings.max_open_checkouts
        if len(open_until) >= limit:
            wait = int((open_until[0] - now).total_seconds()) + 1
            raise TooManyOpenCheckouts(
                f"at most {limit} open checkouts at a time: pay or cancel one, or wait "
                "until one expires",
                retry_after=max(1, wait),
            )

    @staticmethod
    def _same_request(facts: CheckoutFacts, request: CheckoutRequest) -> bool:
        return (
            facts.event_type_id == request.event_type_id
            and facts.start == request.start.astimezone(UTC)
            and facts.attendee_name == request.attendee_name
            and facts.attendee_email == request.attendee_email
            and facts.attendee_time_zone == request.attendee_time_zone
        )

    # --- step 2: the hold ----------------------------------------------------------------

    def _hold(self, intent: CheckoutIntent, resumed: bool) -> str:
        """Hold the slot and record the hold at once, so a retry never holds it twice."""
        minutes = self._settings.expires_minutes + int(RESERVATION_MARGIN.total_seconds() // 60)
        try:
            reservation = self._calcom.reserve_slot(
                intent.facts.event_type_id, intent.facts.start, reservation_minutes=minutes
            )
        except SlotUnavailable as error:
            # A concurrent retry of this very checkout may have held it: use its hold.
            current = self._ledger.checkout_intent(intent.booking_id)
            if current is not None and current.reservation_uid is not None:
                return current.reservation_uid
            if resumed:
                # Resumed: an earlier attempt may have held it without hearing back. That hold
                # cannot be named, so it is waited out: it lapses by itself by this time.
                lapses = intent.expires_at + RESERVATION_MARGIN - self._clock()
                raise SlotTaken(
                    "the slot is held, possibly by an earlier attempt of this checkout that "
                    "never heard back; that hold lapses by itself",
                    retry_after=max(1, int(lapses.total_seconds())),
                ) from error
            raise SlotTaken(f"the slot was just taken: {error}") from error
        except CalcomGatewayError as error:
            raise UpstreamUnavailable(f"Cal.com could not hold the slot: {error}") from error
        recorded = self._ledger.record_checkout_hold(
            booking_id=intent.booking_id, reservation_uid=reservation.uid
        )
        assert recorded.reservation_uid is not None
        if recorded.reservation_uid != reservation.uid:
            self._release(reservation.uid)  # a concurrent retry recorded its hold first
        return recorded.reservation_uid

    # --- step 3: the Stripe session --------------------------------------------------------

    def _open_session(self, intent: CheckoutIntent, reservation_uid: str) -> CheckoutSession:
        try:
            try:
                return self._create_session(intent)
            except StripeRequestRefused as refused:
                if refused.param != "expires_at" or refused.code == "idempotency_error":
                    raise
                # No earlier call under this key reached Stripe (it would have answered with
                # that session): a new expiry under a new key cannot make a second session.
                rescheduled = self._ledger.reschedule_checkout(
                    booking_id=intent.booking_id, expires_at=self._fresh_expiry()
                )
                return self._create_session(rescheduled)
        except StripeRequestRefused as refused:
            # For good: retrying cannot help, so let the slot go at once.
            self._ledger.abandon_checkout(
                booking_id=intent.booking_id, reason=f"Stripe refused the checkout: {refused}"
            )
            self._release(reservation_uid)
            raise UpstreamRefused(f"Stripe refused to open the checkout: {refused}") from refused
        except StripeGatewayError as error:
            # Transient (or unknown): keep the hold and the intent; the retry resumes here.
            raise _unavailable(error) from error

    def _create_session(self, intent: CheckoutIntent) -> CheckoutSession:
        facts = intent.facts
        return self._stripe.create_checkout_session(
            booking_id=intent.booking_id,
            price=intent.price,
            product_name=facts.product_name,
            customer_email=facts.attendee_email,
            return_url=facts.return_url,
            expires_at=intent.expires_at,
            metadata={"event_type_id": str(facts.event_type_id)},
            idempotency_key=intent.stripe_idempotency_key,
        )

    def _fresh_expiry(self) -> datetime:
        # Whole seconds: what is recorded is exactly what Stripe is sent (and sends back).
        expiry = self._clock() + timedelta(minutes=self._settings.expires_minutes) + EXPIRY_MARGIN
        return expiry.replace(microsecond=0)

    def _abandon(self, intent: CheckoutIntent, reason: str) -> None:
        self._ledger.abandon_checkout(booking_id=intent.booking_id, reason=reason)
        if intent.reservation_uid is not None:
            self._release(intent.reservation_uid)

    def _booking_id(self, request: CheckoutRequest) -> UUID:
        if request.idempotency_key is None:
            return uuid4()
        return uuid5(IDEMPOTENT_CHECKOUT_NAMESPACE, f"{request.user_id}\n{request.idempotency_key}")

    def _replay(self, booking_id: UUID, request: CheckoutRequest) -> CheckoutStarted | None:
        """The same Idempotency-Key again: answer with the checkout already made."""
        try:
            booking = self._ledger.get_booking(booking_id)
        except BookingNotFound:
            return None
        recorded = booking.request
        same_request = (
            recorded.event_type_id == request.event_type_id
            and recorded.start == request.start.astimezone(UTC)
            and recorded.attendee_name == request.attendee_name
            and recorded.attendee_email == request.attendee_email
            and recorded.attendee_time_zone == request.attendee_time_zone
        )
        if not same_request:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different checkout")
        try:
            session = self._stripe.retrieve_checkout_session(recorded.checkout_session_id)
        except StripeGatewayError as error:
            raise _unavailable(error) from error
        if session.client_secret is None:
            raise UpstreamUnavailable("the earlier checkout for this key cannot be replayed")
        return CheckoutStarted(
            booking.id,
            session.id,
            session.client_secret,
            Money(recorded.price_amount, recorded.currency),
            recorded.expires_at,
        )

    def _check_offered(self, event_type: EventType, start: datetime, end: datetime) -> None:
        try:
            slots = self._calcom.get_slots(event_type.id, start, end, "UTC")
        except CalcomGatewayError as error:
            raise UpstreamUnavailable(f"Cal.com could not list slots: {error}") from error
        if not any(slot.start == start for slot in slots):
            raise SlotTaken("that time is not a free slot of this event type")

    def _release(self, reservation_uid: str) -> None:
        try:
            self._calcom.release_reservation(reservation_uid)
        except CalcomGatewayError:
            log.warning("could not release reservation %s; it lapses by itself", reservation_uid)


def _unavailable(error: Exception) -> UpstreamUnavailable:
    return UpstreamUnavailable(f"Stripe is unavailable, try again: {error}")

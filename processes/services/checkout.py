"""Start a checkout: check the slot, hold it at Cal.com, open a Stripe embedded Checkout,
record ``Booking.Requested``. Every side effect is undone if a later step fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from ledger import BookingNotFound, Ledger, Money
from ledger.fees import platform_fee
from processes.gateways.calcom_errors import CalcomGatewayError, SlotUnavailable
from processes.gateways.calcom_gateway import CalcomGateway
from processes.gateways.stripe_errors import StripeGatewayError
from processes.gateways.stripe_gateway import StripeGateway
from processes.services.errors import (
    IdempotencyKeyReused,
    NotFound,
    SlotTaken,
    Unprocessable,
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


def checkout_idempotency_key(booking_id: UUID) -> str:
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
    ) -> None:
        self._ledger = ledger
        self._catalog = catalog
        self._stripe = stripe
        self._calcom = calcom
        self._settings = settings
        self._clock = clock

    def start(self, request: CheckoutRequest) -> CheckoutStarted:
        event_type = self._catalog.event_type(request.event_type_id)
        if event_type is None:
            raise NotFound(f"unknown event type {request.event_type_id}")
        booking_id = self._booking_id(request)
        replay = self._replay(booking_id, request)
        if replay is not None:
            return replay
        now = self._clock()
        start = request.start.astimezone(UTC)
        if start <= now:
            raise Unprocessable("the slot is in the past")
        end = start + timedelta(minutes=event_type.duration_minutes)
        self._check_offered(event_type, start, end)
        expires_at = now + timedelta(minutes=self._settings.expires_minutes) + EXPIRY_MARGIN
        reservation_uid = self._reserve(event_type, start)
        try:
            session = self._stripe.create_checkout_session(
                booking_id=booking_id,
                price=event_type.price,
                product_name=event_type.title,
                customer_email=request.attendee_email,
                return_url=self._settings.return_url,
                expires_at=expires_at,
                metadata={"event_type_id": str(event_type.id)},
                idempotency_key=checkout_idempotency_key(booking_id),
            )
        except StripeGatewayError as error:
            self._release(reservation_uid)
            raise UpstreamUnavailable(f"Stripe could not open the checkout: {error}") from error
        try:
            self._ledger.request_booking(
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
                checkout_session_id=session.id,
                reservation_uid=reservation_uid,
                expires_at=session.expires_at,
            )
        except Exception:
            # Nobody can pay a session we did not record: close it and free the slot.
            self._expire_quietly(session.id, booking_id)
            self._release(reservation_uid)
            raise
        if session.client_secret is None:
            raise UpstreamUnavailable("Stripe returned no client secret")
        return CheckoutStarted(
            booking_id, session.id, session.client_secret, event_type.price, session.expires_at
        )

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
        session = self._stripe.retrieve_checkout_session(recorded.checkout_session_id)
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

    def _reserve(self, event_type: EventType, start: datetime) -> str:
        # No slot duration: Cal.com refuses one for fixed-length event types.
        minutes = self._settings.expires_minutes + int(RESERVATION_MARGIN.total_seconds() // 60)
        try:
            reservation = self._calcom.reserve_slot(
                event_type.id, start, reservation_minutes=minutes
            )
        except SlotUnavailable as error:
            raise SlotTaken(f"the slot was just taken: {error}") from error
        except CalcomGatewayError as error:
            raise UpstreamUnavailable(f"Cal.com could not hold the slot: {error}") from error
        return reservation.uid

    def _release(self, reservation_uid: str) -> None:
        try:
            self._calcom.release_reservation(reservation_uid)
        except CalcomGatewayError:
            log.warning("could not release reservation %s; it lapses by itself", reservation_uid)

    def _expire_quietly(self, session_id: str, booking_id: UUID) -> None:
        try:
            self._stripe.expire_checkout_session(session_id, idempotency_key=f"expire:{booking_id}")
        except StripeGatewayError:
            log.warning("could not expire checkout %s; it expires by itself", session_id)

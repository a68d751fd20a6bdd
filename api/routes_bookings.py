"""Checkout, confirmation and booking reads: the frontend's endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from api.auth import Principal, current_principal, require_roles
from api.dependencies import ApiServices, services
from api.openapi_docs import responses
from api.problems import Problem
from api.schemas import (
    MAX_EVENT_TYPE_ID,
    BookingView,
    CheckoutSessionRequest,
    CheckoutSessionResponse,
    ConfirmRequest,
    ConfirmResponse,
    SlotView,
    TimeZoneName,
)
from api.views import booking_view, payment_view, row_view
from ledger import BookingNotFound, PaymentNotFound
from processes.services.access import party_to
from processes.services.checkout import CheckoutRequest
from projections.bookings import bookings_of_mentor, bookings_of_user, recent_bookings
from projections.no_shows import claims_of

router = APIRouter(prefix="/api")
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]
MAX_SLOT_RANGE = timedelta(days=31)
# How far from now a slot query or a checkout may reach: years such as 0001 or 9999 are bad
# input (422), not something to ask Cal.com about.
MAX_REACH = timedelta(days=2 * 366)


def _within_reach(field: str, value: datetime) -> None:
    now = datetime.now(UTC)
    if not now - MAX_REACH <= value <= now + MAX_REACH:
        raise Problem(
            422, "Invalid request", f"{field} must lie within two years of now", field=field
        )


@router.get(
    "/event-types/{event_type_id}/slots",
    response_model=list[SlotView],
    responses=responses(404, 422, 503, s404="The event type is not sold here"),
)
def list_slots(
    event_type_id: Annotated[int, Path(gt=0, le=MAX_EVENT_TYPE_ID)],
    start: datetime,
    end: datetime,
    c: Annotated[ApiServices, Depends(services)],
    _caller: Annotated[Principal, Depends(current_principal)],
    timeZone: Annotated[TimeZoneName, Query()] = "UTC",
) -> list[SlotView]:
    if start.tzinfo is None or end.tzinfo is None:
        raise Problem(422, "Invalid request", "start and end need a UTC offset")
    _within_reach("start", start)
    _within_reach("end", end)
    if not timedelta(0) < end - start <= MAX_SLOT_RANGE:
        raise Problem(422, "Invalid request", "end must be after start, at most 31 days later")
    slots = c.slots.free_slots(event_type_id, start, end, timeZone)
    return [SlotView(start=slot.start, end=slot.end) for slot in slots]


@router.post(
    "/checkout-sessions",
    status_code=201,
    response_model=CheckoutSessionResponse,
    responses=responses(
        403,
        404,
        409,
        422,
        429,
        503,
        s403="Only role user opens a checkout",
        s404="Unknown event type",
        s409="The slot is not free (any more)",
        s429="Too many open checkouts, or too many created in a short time (see Retry-After)",
        s422="Invalid body, a slot in the past, or an Idempotency-Key reused with another body",
        s503="Stripe or Cal.com is briefly unavailable: retry with the same key after Retry-After",
    ),
)
def create_checkout_session(
    body: CheckoutSessionRequest,
    # Only attendees book: a mentor, finance or admin token is refused (403).
    principal: Annotated[Principal, Depends(require_roles("user"))],
    c: Annotated[ApiServices, Depends(services)],
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> CheckoutSessionResponse:
    c.checkout_limits.hit(principal.sub, request.client.host if request.client else "unknown")
    _within_reach("start", body.start)
    started = c.checkout.start(
        CheckoutRequest(
            user_id=principal.sub,
            event_type_id=body.eventTypeId,
            start=body.start.astimezone(UTC),
            attendee_name=body.attendee.name,
            attendee_email=str(body.attendee.email),
            attendee_time_zone=body.attendee.timeZone,
            idempotency_key=idempotency_key,
        )
    )
    return CheckoutSessionResponse(
        client_secret=started.client_secret,
        checkoutSessionId=started.checkout_session_id,
        bookingId=str(started.booking_id),
        amount=started.amount.amount,
        currency=started.amount.currency,
        expiresAt=started.expires_at,
    )


@router.post(
    "/bookings/confirm",
    response_model=ConfirmResponse,
    responses={
        202: {"model": ConfirmResponse, "description": "Paid; the booking is still being made"},
        **responses(
            404,
            409,
            422,
            503,
            s404="No such checkout, payment or booking of the caller's",
            s409="The payment does not match the booking (it will be refunded)",
        ),
    },
)
def confirm_booking(
    body: ConfirmRequest,
    response: Response,
    principal: Annotated[Principal, Depends(current_principal)],
    c: Annotated[ApiServices, Depends(services)],
) -> ConfirmResponse:
    outcome = c.confirmation.confirm(
        user_id=principal.sub,
        role=principal.role,
        payment_intent_id=body.paymentIntentId,
        checkout_session_id=body.checkoutSessionId,
    )
    if not outcome.settled and outcome.status == "PENDING":
        response.status_code = 202
    return ConfirmResponse(
        success=outcome.success,
        bookingId=str(outcome.booking_id),
        status=outcome.status,
        error=outcome.error,
    )


# ":uuid": "/bookings/confirm" is then a path of its own (GET there is 405, not a bad id).
@router.get("/bookings/{booking_id:uuid}", response_model=BookingView, responses=responses(404))
def get_booking(
    booking_id: UUID,
    principal: Annotated[Principal, Depends(current_principal)],
    c: Annotated[ApiServices, Depends(services)],
) -> BookingView:
    try:
        booking = c.ledger.get_booking(booking_id)
    except BookingNotFound:
        raise Problem(404, "Not Found", "no such booking") from None
    request = booking.request
    if (
        party_to(
            principal.role, principal.sub, user_id=request.user_id, mentor_id=request.mentor_id
        )
        is None
    ):
        raise Problem(404, "Not Found", "no such booking")  # don't reveal that it exists
    payment = None
    payment_id = c.ledger.payment_id_for_booking(booking.id)
    if payment_id is not None:
        try:
            payment = payment_view(c.ledger.get_payment(payment_id))
        except PaymentNotFound:
            payment = None
    return booking_view(booking, payment)


@router.get("/bookings", response_model=list[BookingView], responses=responses(422))
def list_my_bookings(
    principal: Annotated[Principal, Depends(current_principal)],
    c: Annotated[ApiServices, Depends(services)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[BookingView]:
    # Read your own writes: the read models catch up to the ledger as it is now.
    head = c.head_position()
    c.read_models["bookings"].wait_for(head, timeout=5.0)
    no_shows = c.read_models.get("no_shows")
    if no_shows is not None:
        no_shows.wait_for(head, timeout=5.0)
    # The bookings the caller may read (the same rule as for one booking): an attendee's own,
    # a mentor's sessions, every booking for an admin, none for finance.
    with c.store.transaction(readonly=True) as tx:
        if principal.role == "user":
            rows = bookings_of_user(tx, principal.sub, limit)
        elif principal.role == "mentor":
            rows = bookings_of_mentor(tx, principal.sub, limit)
        elif principal.role == "admin":
            rows = recent_bookings(tx, limit)
        else:
            rows = []
        claims = claims_of(tx, [row["id"] for row in rows]) if no_shows is not None else {}
    return [row_view(row, claims.get(row["id"])) for row in rows]

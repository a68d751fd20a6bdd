"""A paid session's life after booking: reschedule it, report a no-show, decide a claim.

- ``POST /api/bookings/{id}/reschedule`` ``{start}``: the attendee, the booked mentor or an
  admin; 409 when the new time is not free (or the booking moved meanwhile), 422 past the
  event type's cut-off or maximum number of reschedules.
- ``POST /api/bookings/{id}/no-show`` ``{party, reason?}``: after the session's start.
- ``POST /api/bookings/{id}/no-show/decision`` ``{decision, reason}``: an admin settles an
  attendee's claim that the mentor did not show (``refund`` or ``release``).
- ``GET /api/admin/no-show-claims``: the claims waiting for that decision, each with its booking.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from api.auth import Principal, current_principal, require_roles
from api.dependencies import ApiServices, LifecycleServices, services
from api.openapi_docs import responses
from api.problems import Problem
from api.schemas import BookingView
from api.views import booking_view, row_view
from ledger import Booking, BookingNotFound
from projections.bookings import bookings_by_id
from projections.no_shows import open_claims

router = APIRouter(prefix="/api")
_log = logging.getLogger(__name__)

Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class RescheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime


class NoShowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    party: Literal["attendee", "mentor"]
    reason: Reason | None = None


class NoShowDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    decision: Literal["refund", "release"]
    reason: Reason


class NoShowView(BaseModel):
    bookingId: str
    party: str | None  # who did not show
    reportedBy: str | None  # user, mentor or admin
    outcome: str | None  # mentor_paid | claim_open | refund | release
    booking: BookingView


class NoShowClaimView(BaseModel):
    bookingId: str
    party: str
    reportedBy: str
    reason: str
    status: str
    reportedAt: datetime
    booking: BookingView  # the claimed session (who, when, what was paid)


def _lifecycle(c: ApiServices) -> LifecycleServices:
    if c.lifecycle is None:
        raise Problem(503, "Service Unavailable", "session lifecycle services are not configured")
    return c.lifecycle


@router.post(
    "/bookings/{booking_id}/reschedule",
    response_model=BookingView,
    responses=responses(
        404,
        409,
        422,
        503,
        s404="No such booking (or not yours)",
        s409="The new time is not free, or the booking is not booked",
        s422="Past the cut-off or the maximum number of reschedules",
        s503="Cal.com is unavailable; retrying is safe",
    ),
)
def reschedule_booking(
    booking_id: UUID,
    body: RescheduleRequest,
    principal: Annotated[Principal, Depends(current_principal)],
    c: Annotated[ApiServices, Depends(services)],
) -> BookingView:
    booking = _lifecycle(c).reschedules.reschedule(
        booking_id=booking_id, user_id=principal.sub, role=principal.role, start=body.start
    )
    return booking_view(booking)


@router.post(
    "/bookings/{booking_id}/no-show",
    response_model=NoShowView,
    responses=responses(
        403,
        404,
        409,
        422,
        s403="This party may not be reported by you",
        s404="No such booking (or not yours)",
        s409="Another no-show was recorded, or the booking is not booked",
        s422="Before the session's start, or past the claim window",
    ),
)
def report_no_show(
    booking_id: UUID,
    body: NoShowRequest,
    principal: Annotated[Principal, Depends(current_principal)],
    c: Annotated[ApiServices, Depends(services)],
) -> NoShowView:
    booking = _lifecycle(c).no_shows.report(
        booking_id=booking_id,
        user_id=principal.sub,
        role=principal.role,
        party=body.party,
        reason=body.reason,
    )
    return _no_show_view(booking)


@router.post(
    "/bookings/{booking_id}/no-show/decision",
    response_model=NoShowView,
    responses=responses(
        403,
        404,
        409,
        s403="Only an admin decides",
        s404="No such booking",
        s409="There is no open claim, or another decision was recorded",
    ),
)
def decide_no_show(
    booking_id: UUID,
    body: Annotated[NoShowDecisionRequest, Body()],
    _admin: Annotated[Principal, Depends(require_roles("admin"))],
    c: Annotated[ApiServices, Depends(services)],
) -> NoShowView:
    booking = _lifecycle(c).no_shows.decide(
        booking_id=booking_id, decision=body.decision, reason=body.reason
    )
    return _no_show_view(booking)


@router.get(
    "/admin/no-show-claims",
    response_model=list[NoShowClaimView],
    responses=responses(403, s403="Only an admin"),
)
def list_open_no_show_claims(
    _admin: Annotated[Principal, Depends(require_roles("admin"))],
    c: Annotated[ApiServices, Depends(services)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NoShowClaimView]:
    # Read your own writes: both read models catch up to the ledger as it is now.
    head = c.head_position()
    c.read_models["bookings"].wait_for(head, timeout=5.0)
    follower = c.read_models.get("no_shows")
    if follower is not None:
        follower.wait_for(head, timeout=5.0)
    with c.store.transaction(readonly=True) as tx:
        rows = open_claims(tx, limit)
        bookings = bookings_by_id(tx, [row["booking_id"] for row in rows])
    views = []
    for row in rows:
        booking = _claimed_booking(c, row, bookings.get(row["booking_id"]))
        if booking is None:
            continue
        views.append(
            NoShowClaimView(
                bookingId=row["booking_id"],
                party=row["party"],
                reportedBy=row["reported_by"],
                reason=row["reason"],
                status=row["status"],
                reportedAt=row["reported_at"],
                booking=booking,
            )
        )
    return views


def _claimed_booking(
    c: ApiServices, claim: dict[str, Any], row: dict[str, Any] | None
) -> BookingView | None:
    """A claim's booking from its read-model row; from the ledger when the bookings read model
    has no row for it yet (it lagged past the wait above), so the claim is still listed."""
    if row is not None:
        return row_view(row, claim)
    try:
        return booking_view(c.ledger.get_booking(UUID(claim["booking_id"])))
    except BookingNotFound:
        # Cannot happen (the claim was recorded on the booking itself); nothing could be
        # decided for it either, so the rest of the list is served without it.
        _log.error("no-show claim %s has no booking in the ledger", claim["booking_id"])
        return None


def _no_show_view(booking: Booking) -> NoShowView:
    return NoShowView(
        bookingId=str(booking.id),
        party=booking.no_show_party,
        reportedBy=booking.no_show_by,
        outcome=booking.no_show_outcome,
        booking=booking_view(booking),
    )

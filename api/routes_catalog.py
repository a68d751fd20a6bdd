"""What a booking page offers: the event types on sale, with their mentor and price; and a
mentor's own upcoming sessions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.auth import Principal, current_principal, require_roles
from api.dependencies import ApiServices, services
from api.openapi_docs import responses
from api.routes_bookings import _row_view
from api.schemas import BookingView
from projections.bookings import upcoming_bookings_of_mentor
from projections.catalog import event_types_with_mentors

router = APIRouter(prefix="/api")


class MentorView(BaseModel):
    id: str
    name: str


class EventTypeView(BaseModel):
    id: int
    title: str
    durationMinutes: int
    amount: int  # minor units of currency
    currency: str
    mentor: MentorView


@router.get("/event-types", response_model=list[EventTypeView])
def list_event_types(
    _caller: Annotated[Principal, Depends(current_principal)],
    c: Annotated[ApiServices, Depends(services)],
) -> list[EventTypeView]:
    with c.store.transaction(readonly=True) as tx:
        rows = event_types_with_mentors(tx)
    return [
        EventTypeView(
            id=row["id"],
            title=row["title"],
            durationMinutes=row["duration_minutes"],
            amount=row["price_amount"],
            currency=row["currency"],
            mentor=MentorView(id=row["mentor_id"], name=row["mentor_name"]),
        )
        for row in rows
    ]


@router.get("/mentor/bookings", response_model=list[BookingView], responses=responses(403, 422))
def list_mentor_sessions(
    principal: Annotated[Principal, Depends(require_roles("mentor"))],
    c: Annotated[ApiServices, Depends(services)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[BookingView]:
    """The calling mentor's sessions that have not ended yet, soonest first."""
    c.read_models["bookings"].wait_for(c.head_position(), timeout=5.0)
    with c.store.transaction(readonly=True) as tx:
        rows = upcoming_bookings_of_mentor(tx, principal.sub, datetime.now(UTC), limit)
    return [_row_view(row) for row in rows]

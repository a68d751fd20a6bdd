"""What a booking page offers: the event types on sale, with their mentor and price."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.auth import Principal, current_principal
from api.dependencies import ApiServices, services
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

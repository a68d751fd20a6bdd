"""A mentor's own figures (role ``mentor``; the token's ``sub`` is the mentor id).

- ``GET /api/mentors/me/earnings``: per currency ``held``, ``due``, ``paidOut``, ``reversed`` and
  ``fees`` (minor units), read from the journal, and the payouts with their transfer ids.
- ``GET /api/mentors/me/bookings``: booked sessions, upcoming and past.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.auth import Principal, require_roles
from api.dependencies import ApiServices, services
from api.openapi_docs import responses
from api.problems import Problem
from api.schemas import NoShowState
from api.views import claim_state
from projections.earnings import mentor_bookings, mentor_earnings
from projections.no_shows import claims_of

router = APIRouter(prefix="/api/mentors/me")
_ERRORS = responses(403, s403="Not a mentor")


class CurrencyEarningsView(BaseModel):
    currency: str
    held: int  # owed, not payable yet (hold, session not over, a claim open)
    due: int  # owed and payable now: the next payout run takes it
    paidOut: int  # transferred (before reversals)
    reversed: int  # taken back by transfer reversals
    fees: int  # the platform's fee on this mentor's payments, net of refunds


class PayoutView(BaseModel):
    paymentId: str
    bookingId: str
    transferId: str
    amount: int
    currency: str
    paidOutAt: datetime | None


class EarningsView(BaseModel):
    mentorId: str
    currencies: list[CurrencyEarningsView]
    payouts: list[PayoutView]


class SessionView(BaseModel):
    bookingId: str
    status: str
    eventTypeId: int
    start: datetime
    end: datetime
    attendeeName: str
    amount: int
    currency: str
    noShow: NoShowState | None = None  # a recorded no-show and where its claim stands


class MentorBookingsView(BaseModel):
    upcoming: list[SessionView]
    past: list[SessionView]


def _caught_up(c: ApiServices, *names: str) -> None:
    # Read your own writes: the read models catch up to the ledger as it is now.
    head = c.head_position()
    for name in names:
        follower = c.read_models.get(name)
        if follower is not None:
            follower.wait_for(head, timeout=5.0)


@router.get("/earnings", response_model=EarningsView, responses=_ERRORS)
def my_earnings(
    mentor: Annotated[Principal, Depends(require_roles("mentor"))],
    c: Annotated[ApiServices, Depends(services)],
) -> EarningsView:
    if c.lifecycle is None:
        raise Problem(503, "Service Unavailable", "earnings are not configured")
    _caught_up(c, "journal", "payments")
    now = datetime.now(UTC)
    after = c.lifecycle.payout_after_session
    with c.store.transaction(readonly=True) as tx:
        earnings = mentor_earnings(
            tx,
            mentor.sub,
            paid_before=now - c.lifecycle.payout_hold,
            ended_before=None if after is None else now - after,
        )
    return EarningsView(
        mentorId=earnings.mentor_id,
        currencies=[
            CurrencyEarningsView(
                currency=e.currency,
                held=e.held,
                due=e.due,
                paidOut=e.paid_out,
                reversed=e.reversed,
                fees=e.fees,
            )
            for e in earnings.currencies
        ],
        payouts=[
            PayoutView(
                paymentId=p.payment_id,
                bookingId=p.booking_id,
                transferId=p.transfer_id,
                amount=p.amount,
                currency=p.currency,
                paidOutAt=p.paid_out_at,
            )
            for p in earnings.payouts
        ],
    )


@router.get("/bookings", response_model=MentorBookingsView, responses=_ERRORS)
def my_bookings(
    mentor: Annotated[Principal, Depends(require_roles("mentor"))],
    c: Annotated[ApiServices, Depends(services)],
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> MentorBookingsView:
    _caught_up(c, "bookings", "no_shows")
    now = datetime.now(UTC)
    with c.store.transaction(readonly=True) as tx:
        rows = mentor_bookings(tx, mentor.sub, limit)
        claims = claims_of(tx, [row["id"] for row in rows]) if "no_shows" in c.read_models else {}
    sessions = [
        (
            row,
            SessionView(
                bookingId=row["id"],
                status=row["status"],
                eventTypeId=row["event_type_id"],
                start=row["start_time"],
                end=row["end_time"],
                attendeeName=row["attendee_name"],
                amount=row["amount"],
                currency=row["currency"],
                noShow=claim_state(claims.get(row["id"])),
            ),
        )
        for row in rows
    ]
    upcoming = [v for row, v in sessions if row["status"] == "ACCEPTED" and v.end > now]
    past = [v for row, v in sessions if not (row["status"] == "ACCEPTED" and v.end > now)]
    return MentorBookingsView(upcoming=sorted(upcoming, key=lambda v: v.start), past=past)

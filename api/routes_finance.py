"""Finance's view of the ledger: the immutable event stream, account balances, trial balance
and a booking's history. Roles ``finance`` and ``admin`` only (anyone else 403, no token 401).

Endpoints are plain ``def``: the ledger and the read-model store are synchronous.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.auth import Principal, require_roles
from api.dependencies import ApiServices, services
from api.openapi_docs import responses
from api.problems import Problem
from ledger import BookingNotFound
from projections.event_log import aggregate_history, head_position, read_events
from projections.journal import AccountBalance, account_balances
from projections.payments import payment_ids_of_booking
from projections.store import StoreError


class PostingView(BaseModel):
    account: str  # the chart of accounts: "stripe:balance", "mentor:<id>:payable", ...
    side: Literal["debit", "credit"]
    amount: int  # minor units
    currency: str


class EventRecordView(BaseModel):
    """One immutable ledger event as finance reads it."""

    position: int | None  # log position (absent only where the store cannot tell it)
    time: str  # when it happened, ISO 8601 with its UTC offset, as recorded
    aggregateId: str
    aggregateVersion: int
    type: str  # the event's topic
    data: dict[str, Any]  # the event's own fields (ids and times as strings)
    postings: list[PostingView]  # the journal lines it posts; [] for none


class EventPageView(BaseModel):
    events: list[EventRecordView]
    next: int  # pass as ``after`` for the next page
    head: int  # the log's position now


class AccountView(BaseModel):
    account: str
    currency: str
    debits: int
    credits: int
    balance: int  # debits minus credits


class AccountsView(BaseModel):
    position: int  # the journal's log position these balances are at
    accounts: list[AccountView]


class CurrencyTotalView(BaseModel):
    currency: str
    debits: int
    credits: int
    balanced: bool


class TrialBalanceView(BaseModel):
    position: int
    balanced: bool  # every currency's debits equal its credits
    currencies: list[CurrencyTotalView]


class BookingHistoryView(BaseModel):
    bookingId: str
    events: list[EventRecordView]


router = APIRouter(prefix="/api/ledger", tags=["finance"])
FinanceUser = Annotated[Principal, Depends(require_roles("finance", "admin"))]
MAX_EVENTS_PAGE = 1000


@router.get("/events", response_model=EventPageView, responses=responses(403, 422))
def list_events(
    _: FinanceUser,
    c: Annotated[ApiServices, Depends(services)],
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
) -> EventPageView:
    """Events after log position ``after``, in log order; page on with ``next``."""
    events = read_events(c.ledger, after=after, limit=limit)
    return EventPageView.model_validate(
        {
            "events": events,
            "next": events[-1]["position"] if events else after,
            "head": head_position(c.ledger),
        }
    )


@router.get("/accounts", response_model=AccountsView, responses=responses(403, 503))
def list_accounts(_: FinanceUser, c: Annotated[ApiServices, Depends(services)]) -> AccountsView:
    """Debits, credits and balance (debits minus credits) per account and currency."""
    rows, position = _balances(c)
    return AccountsView(
        position=position,
        accounts=[AccountView.model_validate(row, from_attributes=True) for row in rows],
    )


@router.get("/trial-balance", response_model=TrialBalanceView, responses=responses(403, 503))
def trial_balance(_: FinanceUser, c: Annotated[ApiServices, Depends(services)]) -> TrialBalanceView:
    """Per currency: total debits and credits of every account, and whether they agree."""
    rows, position = _balances(c)
    totals: dict[str, list[int]] = {}
    for row in rows:
        total = totals.setdefault(row.currency, [0, 0])
        total[0] += row.debits
        total[1] += row.credits
    currencies = [
        CurrencyTotalView(currency=currency, debits=d, credits=cr, balanced=d == cr)
        for currency, (d, cr) in sorted(totals.items())
    ]
    return TrialBalanceView(
        position=position,
        balanced=all(entry.balanced for entry in currencies),
        currencies=currencies,
    )


@router.get(
    "/bookings/{booking_id}/history",
    response_model=BookingHistoryView,
    responses=responses(403, 404, 422),
)
def booking_history(
    booking_id: UUID, _: FinanceUser, c: Annotated[ApiServices, Depends(services)]
) -> BookingHistoryView:
    """Every event of the booking and of each payment made for it, oldest first."""
    try:
        booking = c.ledger.get_booking(booking_id)
    except BookingNotFound:
        raise Problem(404, "Not Found", f"no booking {booking_id}") from None
    payment_ids = {booking.payment_id} if booking.payment_id else set()
    payment_ids |= _payments_of(c, booking_id)
    events = aggregate_history(c.ledger, [booking_id, *sorted(payment_ids)], c.store)
    return BookingHistoryView.model_validate({"bookingId": str(booking_id), "events": events})


def _balances(c: ApiServices) -> tuple[list[AccountBalance], int]:
    try:
        return account_balances(c.store)
    except StoreError:
        raise Problem(503, "Journal unavailable", "The journal has not been built yet.") from None


def _payments_of(c: ApiServices, booking_id: UUID) -> set[UUID]:
    """Late, duplicate or mismatched payments also belong to the booking's history."""
    try:
        with c.store.transaction(readonly=True) as tx:
            return payment_ids_of_booking(tx, booking_id)
    except StoreError:
        return set()

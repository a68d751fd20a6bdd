"""Finance's view of the ledger: the immutable event stream, account balances, trial balance
and a booking's history. Roles ``finance`` and ``admin`` only (anyone else 403, no token 401).

Endpoints are plain ``def``: the ledger and the read-model store are synchronous.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.auth import Principal, require_roles
from api.dependencies import ApiServices, services
from api.openapi_docs import responses
from api.problems import Problem
from ledger import BookingNotFound
from projections.event_log import aggregate_history, head_position, read_events
from projections.journal import AccountBalance, account_balances
from projections.payments import payment_ids_of_booking
from projections.store import StoreError

router = APIRouter(prefix="/api/ledger", tags=["finance"])
FinanceUser = Annotated[Principal, Depends(require_roles("finance", "admin"))]
MAX_EVENTS_PAGE = 1000


@router.get("/events", responses=responses(403, 422))
def list_events(
    _: FinanceUser,
    c: Annotated[ApiServices, Depends(services)],
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
) -> dict[str, Any]:
    """Events after log position ``after``, in log order; page on with ``next``."""
    events = read_events(c.ledger, after=after, limit=limit)
    return {
        "events": events,
        "next": events[-1]["position"] if events else after,
        "head": head_position(c.ledger),
    }


@router.get("/accounts", responses=responses(403, 503))
def list_accounts(_: FinanceUser, c: Annotated[ApiServices, Depends(services)]) -> dict[str, Any]:
    """Debits, credits and balance (debits minus credits) per account and currency."""
    rows, position = _balances(c)
    return {
        "position": position,
        "accounts": [
            {
                "account": row.account,
                "currency": row.currency,
                "debits": row.debits,
                "credits": row.credits,
                "balance": row.balance,
            }
            for row in rows
        ],
    }


@router.get("/trial-balance", responses=responses(403, 503))
def trial_balance(_: FinanceUser, c: Annotated[ApiServices, Depends(services)]) -> dict[str, Any]:
    """Per currency: total debits and credits of every account, and whether they agree."""
    rows, position = _balances(c)
    totals: dict[str, list[int]] = {}
    for row in rows:
        total = totals.setdefault(row.currency, [0, 0])
        total[0] += row.debits
        total[1] += row.credits
    currencies = [
        {"currency": currency, "debits": d, "credits": cr, "balanced": d == cr}
        for currency, (d, cr) in sorted(totals.items())
    ]
    return {
        "position": position,
        "balanced": all(entry["balanced"] for entry in currencies),
        "currencies": currencies,
    }


@router.get("/bookings/{booking_id}/history", responses=responses(403, 404, 422))
def booking_history(
    booking_id: UUID, _: FinanceUser, c: Annotated[ApiServices, Depends(services)]
) -> dict[str, Any]:
    """Every event of the booking and of each payment made for it, oldest first."""
    try:
        booking = c.ledger.get_booking(booking_id)
    except BookingNotFound:
        raise Problem(404, "Not Found", f"no booking {booking_id}") from None
    payment_ids = {booking.payment_id} if booking.payment_id else set()
    payment_ids |= _payments_of(c, booking_id)
    events = aggregate_history(c.ledger, [booking_id, *sorted(payment_ids)], c.store)
    return {"bookingId": str(booking_id), "events": events}


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

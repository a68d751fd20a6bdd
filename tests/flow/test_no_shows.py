"""No-shows after the session's start: the attendee's (the mentor is paid), the mentor's claimed
by the attendee (the payout is held until an admin decides), the mentor's reported by the mentor
or an admin (refunded in full at once), and an admin's refund of a payout already made."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from ledger import mentor_payable
from processes.services.errors import Unprocessable
from processes.services.no_shows import NoShowService
from processes.services.payouts import PayoutRunResult
from projections.bookings import bookings_by_id
from tests.support.lifecycle import (
    FEE,
    HOLD,
    MENTOR,
    PRICE,
    account_balances,
    assert_books_clean,
    assert_problem,
    book,
    events_of,
    payouts_at,
    refunded_to,
    stripe_refunds,
    stripe_reversals,
    stripe_transfers,
    workers_caught_up,
)
from tests.support.stack import Stack

WINDOW = timedelta(hours=24)


def _no_shows_at(stack: Stack, now: datetime) -> NoShowService:
    return NoShowService(stack.container.ledger, claim_window=WINDOW, clock=lambda: now)


def _times(stack: Stack, booking_id: str) -> tuple[datetime, datetime]:
    request = stack.container.ledger.get_booking(UUID(booking_id)).request
    return request.start, request.end


def _decide(stack: Stack, booking_id: str, decision: str, role: str = "admin") -> httpx.Response:
    with stack.client("admin-1" if role == "admin" else MENTOR, role) as client:
        return client.post(
            f"/api/bookings/{booking_id}/no-show/decision",
            json={"decision": decision, "reason": "checked the call logs"},
        )


def _open_claims(stack: Stack) -> list[dict[str, Any]]:
    with stack.client("admin-1", "admin") as client:
        response = client.get("/api/admin/no-show-claims")
    assert response.status_code == 200, response.text
    claims: list[dict[str, Any]] = response.json()
    return claims


def _attention(stack: Stack) -> list[dict[str, Any]]:
    with stack.client("admin-1", "admin") as client:
        response = client.get("/api/ops/attention")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _assert_claimed_booking(stack: Stack, claim: dict[str, Any], booking_id: str) -> None:
    """The listed claim carries its booking: the session an admin decides about."""
    booking = claim["booking"]
    start, end = _times(stack, booking_id)
    assert (booking["id"], booking["status"]) == (booking_id, "ACCEPTED")
    assert (booking["userId"], booking["mentorId"], booking["eventTypeId"]) == (
        "user-1",
        MENTOR,
        1001,
    )
    assert (_instant(booking["start"]), _instant(booking["end"])) == (start, end)
    assert (booking["amount"], booking["currency"]) == (PRICE, "usd")
    assert booking["noShow"] == {"party": "mentor", "reportedBy": "user", "outcome": "claim_open"}


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_an_attendee_no_show_pays_the_mentor_as_a_held_session(stack: Stack) -> None:
    booking_id, payment = book(stack)
    start, end = _times(stack, booking_id)
    # Over HTTP (the real clock): before the start it is refused; the attendee may not say it.
    with stack.client(MENTOR, "mentor") as client:
        early = client.post(f"/api/bookings/{booking_id}/no-show", json={"party": "attendee"})
    assert_problem(early, 422)
    with stack.client() as client:
        mine = client.post(f"/api/bookings/{booking_id}/no-show", json={"party": "attendee"})
    assert_problem(mine, 403)

    booking = _no_shows_at(stack, start + timedelta(minutes=15)).report(
        booking_id=UUID(booking_id), user_id=MENTOR, role="mentor", party="attendee"
    )

    assert (booking.no_show_party, booking.no_show_outcome) == ("attendee", "mentor_paid")
    paid = payouts_at(stack, max(payment.paid_at + HOLD, end + WINDOW), WINDOW).run()
    assert paid == PayoutRunResult(eligible=1, paid_out=1, failed=0)
    (transfer,) = stripe_transfers(stack, booking_id)
    assert transfer.amount == PRICE - FEE
    workers_caught_up(stack)
    assert stripe_refunds(stack, payment) == []
    assert_books_clean(stack)


def test_a_claim_holds_the_payout_until_an_admin_releases_it(stack: Stack) -> None:
    booking_id, payment = book(stack)
    _, end = _times(stack, booking_id)
    late = _no_shows_at(stack, end + WINDOW + timedelta(minutes=1))
    with pytest.raises(Unprocessable, match="claimed up to"):  # the claim window has passed
        late.report(booking_id=UUID(booking_id), user_id="user-1", role="user", party="mentor")

    claim = _no_shows_at(stack, end + timedelta(hours=2)).report(
        booking_id=UUID(booking_id), user_id="user-1", role="user", party="mentor"
    )

    assert claim.no_show_outcome == "claim_open"
    due_time = max(payment.paid_at + HOLD, end + WINDOW)
    assert payouts_at(stack, due_time, WINDOW).run() == PayoutRunResult(0, 0, 0)
    (open_claim,) = _open_claims(stack)
    assert (open_claim["bookingId"], open_claim["party"]) == (booking_id, "mentor")
    assert open_claim["reportedBy"] == "user"
    _assert_claimed_booking(stack, open_claim, booking_id)
    # Operations see it in the attention queue, which points at the decision.
    item_id = f"no-show:{booking_id}"
    assert [item["kind"] for item in _attention(stack) if item["id"] == item_id] == [
        "no-show-claim"
    ]
    with stack.client("admin-1", "admin") as client:
        refused = client.post(f"/api/ops/attention/{item_id}/resolve", json={"reason": "x"})
    assert_problem(refused, 409)
    assert_problem(_decide(stack, booking_id, "release", role="mentor"), 403)

    released = _decide(stack, booking_id, "release")

    assert released.status_code == 200, released.text
    assert released.json()["outcome"] == "release"
    assert _decide(stack, booking_id, "release").status_code == 200  # the same again: no-op
    assert_problem(_decide(stack, booking_id, "refund"), 409)  # decided already
    assert _open_claims(stack) == []
    assert item_id not in [item["id"] for item in _attention(stack)]
    assert payouts_at(stack, due_time, WINDOW).run() == PayoutRunResult(1, 1, 0)
    workers_caught_up(stack)
    assert stripe_refunds(stack, payment) == []
    assert_books_clean(stack)


def test_a_claim_whose_booking_row_is_not_read_yet_is_listed_with_it_from_the_ledger(
    stack: Stack,
) -> None:
    booking_id, _ = book(stack)
    _, end = _times(stack, booking_id)
    _no_shows_at(stack, end + timedelta(hours=2)).report(
        booking_id=UUID(booking_id), user_id="user-1", role="user", party="mentor"
    )
    (listed,) = _open_claims(stack)
    # As if the bookings read model lagged past the listing's wait: no row for the booking.
    with stack.container.store.transaction() as tx:
        tx.execute("DELETE FROM bookings WHERE id = %s", (booking_id,))
    with stack.container.store.transaction(readonly=True) as tx:
        assert bookings_by_id(tx, [booking_id]) == {}

    (claim,) = _open_claims(stack)

    _assert_claimed_booking(stack, claim, booking_id)
    assert {**claim, "booking": None} == {**listed, "booking": None}


def test_an_admin_refund_of_a_payout_already_made_reverses_the_transfer_first(
    stack: Stack,
) -> None:
    booking_id, payment = book(stack, timedelta(days=1))
    _, end = _times(stack, booking_id)
    # Paid out by the hold alone (as when MENTORPAY_PAYOUT_AFTER_SESSION_HOURS is empty).
    assert payouts_at(stack, max(payment.paid_at + HOLD, end)).run() == PayoutRunResult(1, 1, 0)
    (transfer,) = stripe_transfers(stack, booking_id)
    _no_shows_at(stack, end + timedelta(hours=1)).report(
        booking_id=UUID(booking_id), user_id="user-1", role="user", party="mentor"
    )

    decided = _decide(stack, booking_id, "refund")

    assert decided.status_code == 200, decided.text
    refunded = refunded_to(stack, payment, PRICE)
    workers_caught_up(stack)
    assert [r.amount for r in stripe_reversals(stack, transfer.id)] == [PRICE - FEE]
    assert [r.amount for r in stripe_refunds(stack, payment)] == [PRICE]
    assert refunded.reversed_amount == PRICE - FEE
    kinds = [type(e).__name__ for e in events_of(stack, payment.id)]
    assert kinds.index("PayoutReversed") < kinds.index("Refunded")
    books = account_balances(stack, UUID(booking_id), payment.id)
    assert books[mentor_payable(MENTOR)] == 0
    assert_books_clean(stack)


def test_a_mentor_reporting_their_own_no_show_refunds_in_full_at_once(stack: Stack) -> None:
    booking_id, payment = book(stack)
    start, _ = _times(stack, booking_id)

    booking = _no_shows_at(stack, start + timedelta(minutes=20)).report(
        booking_id=UUID(booking_id), user_id=MENTOR, role="mentor", party="mentor"
    )

    assert booking.no_show_outcome == "refund"
    refunded_to(stack, payment, PRICE)
    workers_caught_up(stack)
    assert [r.amount for r in stripe_refunds(stack, payment)] == [PRICE]
    assert payouts_at(stack, payment.paid_at + 10 * HOLD).run() == PayoutRunResult(0, 0, 0)
    assert _open_claims(stack) == []
    assert_problem(_decide(stack, booking_id, "release"), 409)  # no claim to decide
    assert_books_clean(stack)

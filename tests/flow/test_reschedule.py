"""Rescheduling a paid session: Cal.com moves it (a new Cal.com booking), the payment stays, the
ledger records old and new times and who moved it; taken slots, the cut-off, the maximum,
concurrent moves and a lost Cal.com answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from uuid import UUID

import httpx

from ledger import Booking
from tests.support.lifecycle import (
    MENTOR,
    assert_books_clean,
    assert_problem,
    book,
    events_of,
    payment_of,
    set_policy,
    slots,
    stripe_client,
)
from tests.support.stack import Stack


def _reschedule(
    stack: Stack, booking_id: str, start: datetime, sub: str = "user-1", role: str = "user"
) -> httpx.Response:
    with stack.client(sub, role) as client:
        return client.post(
            f"/api/bookings/{booking_id}/reschedule", json={"start": start.isoformat()}
        )


def _ours(stack: Stack, booking_id: str) -> list[dict]:
    return [
        b
        for b in stack.calcom_bookings()
        if (b.get("metadata") or {}).get("mentorpay_booking_id") == booking_id
    ]


def _active(stack: Stack, booking_id: str) -> list[dict]:
    return [b for b in _ours(stack, booking_id) if b["status"] == "accepted"]


def _moves(stack: Stack, booking_id: str) -> list[Booking.Rescheduled]:
    return [e for e in events_of(stack, UUID(booking_id)) if isinstance(e, Booking.Rescheduled)]


def _free_other_than(stack: Stack, booking_id: str, count: int = 1) -> list[datetime]:
    start = stack.container.ledger.get_booking(UUID(booking_id)).request.start
    return [s for s in slots(stack, timedelta(days=3)) if abs(s - start) >= timedelta(hours=1)][
        :count
    ]


def test_the_attendee_moves_a_paid_session_without_paying_again(stack: Stack) -> None:
    booking_id, payment = book(stack)
    old = stack.container.ledger.get_booking(UUID(booking_id))
    (new_start,) = _free_other_than(stack, booking_id)

    response = _reschedule(stack, booking_id, new_start)

    assert response.status_code == 200, response.text
    body = response.json()
    assert datetime.fromisoformat(body["start"]) == new_start
    assert body["status"] == "ACCEPTED"
    (active,) = _active(stack, booking_id)
    assert body["calcomBookingUid"] == active["uid"] != old.calcom_booking_uid
    assert datetime.fromisoformat(active["start"].replace("Z", "+00:00")) == new_start
    (cancelled,) = [b for b in _ours(stack, booking_id) if b["status"] == "cancelled"]
    assert cancelled["uid"] == old.calcom_booking_uid
    assert cancelled["rescheduledToUid"] == active["uid"]
    assert active["rescheduledFromUid"] == old.calcom_booking_uid
    # The payment stays: one charge, nothing refunded.
    assert payment_of(stack, booking_id).id == payment.id
    intents = stripe_client(stack).v1.payment_intents.list(params={"limit": 100}).data
    assert [i.id for i in intents if i.metadata["booking_id"] == booking_id] == [
        payment.payment_intent_id
    ]
    assert list(stripe_client(stack).v1.refunds.list(params={"limit": 100}).data) == []
    (move,) = _moves(stack, booking_id)
    assert (move.old_start, move.old_end) == (old.request.start, old.request.end)
    assert (move.start, move.by) == (new_start, "user")
    assert move.end - move.start == old.request.end - old.request.start
    # The read model follows; the same request again is answered with where it is.
    assert datetime.fromisoformat(stack.booking(booking_id)["start"]) == new_start
    again = _reschedule(stack, booking_id, new_start)
    assert again.status_code == 200 and len(_moves(stack, booking_id)) == 1
    assert_books_clean(stack)


def test_the_mentor_and_an_admin_may_move_it_nobody_else(stack: Stack) -> None:
    set_policy(stack, max_reschedules=3)
    booking_id, _ = book(stack)
    first, second = _free_other_than(stack, booking_id, 2)

    assert_problem(_reschedule(stack, booking_id, first, "user-2"), 404)
    assert_problem(_reschedule(stack, booking_id, first, "mentor-grace", "mentor"), 404)
    assert_problem(_reschedule(stack, booking_id, first, "finance-1", "finance"), 404)
    assert _reschedule(stack, booking_id, first, MENTOR, "mentor").status_code == 200
    assert _reschedule(stack, booking_id, second, "admin-1", "admin").status_code == 200
    assert [m.by for m in _moves(stack, booking_id)] == ["mentor", "admin"]


def test_a_taken_slot_is_409_and_nothing_changes(stack: Stack) -> None:
    booking_id, _ = book(stack)
    other_id, _ = book(stack, skip=1, sub="user-2")
    taken = stack.container.ledger.get_booking(UUID(other_id)).request.start
    before = _ours(stack, booking_id)

    response = _reschedule(stack, booking_id, taken)

    assert_problem(response, 409)
    assert _ours(stack, booking_id) == before
    assert _moves(stack, booking_id) == []
    # A start that is no slot at all is refused the same way.
    odd = taken + timedelta(minutes=7)
    assert_problem(_reschedule(stack, booking_id, odd), 409)
    assert _ours(stack, booking_id) == before


def test_past_the_cut_off_or_the_maximum_is_422(stack: Stack) -> None:
    set_policy(stack, reschedule_cutoff_hours=30 * 24)  # every slot is within 30 days
    late_id, _ = book(stack)
    (late_start,) = _free_other_than(stack, late_id)
    body = assert_problem(_reschedule(stack, late_id, late_start), 422)
    assert "720 h" in body["detail"]

    set_policy(stack, max_reschedules=1)
    booking_id, _ = book(stack, skip=2)
    first, second = _free_other_than(stack, booking_id, 2)
    assert _reschedule(stack, booking_id, first).status_code == 200
    body = assert_problem(_reschedule(stack, booking_id, second), 422)
    assert "at most 1" in body["detail"]
    assert len(_moves(stack, booking_id)) == 1 and _moves(stack, late_id) == []
    assert len(_active(stack, booking_id)) == 1


def test_concurrent_reschedules_of_one_booking_one_wins(stack: Stack) -> None:
    # One move allowed: a request that starts after the winner finished is refused (422) as
    # surely as the ones that raced it (409).
    booking_id, _ = book(stack)
    targets = _free_other_than(stack, booking_id, 4)

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        responses = list(pool.map(lambda start: _reschedule(stack, booking_id, start), targets))

    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 200 and set(codes[1:]) <= {409, 422}, [r.text for r in responses]
    (winner,) = [r.json() for r in responses if r.status_code == 200]
    (active,) = _active(stack, booking_id)
    assert active["uid"] == winner["calcomBookingUid"]
    (move,) = _moves(stack, booking_id)
    assert move.start == datetime.fromisoformat(winner["start"])
    booking = stack.container.ledger.get_booking(UUID(booking_id))
    assert booking.calcom_booking_uid == active["uid"]


def test_a_lost_calcom_answer_is_found_again(stack: Stack) -> None:
    booking_id, _ = book(stack)
    (new_start,) = _free_other_than(stack, booking_id)
    with stack.sandbox_client() as sandbox:
        armed = sandbox.post("/_sandbox/faults", json={
            "service": "calcom", "method": "POST", "path": "/v2/bookings/*/reschedule",
            "status": 0, "afterProcessing": True, "times": 1,
        })  # fmt: skip
    assert armed.status_code == 201, armed.text

    response = _reschedule(stack, booking_id, new_start)

    assert response.status_code == 200, response.text
    with stack.sandbox_client() as sandbox:
        assert sandbox.get("/_sandbox/faults").json() == {"faults": []}  # the answer was lost
    (active,) = _active(stack, booking_id)
    assert response.json()["calcomBookingUid"] == active["uid"]
    assert len(_moves(stack, booking_id)) == 1


def test_a_crash_between_calcom_and_the_ledger_is_recovered_on_retry(stack: Stack) -> None:
    booking_id, _ = book(stack)
    (new_start,) = _free_other_than(stack, booking_id)
    booking = stack.container.ledger.get_booking(UUID(booking_id))
    assert booking.calcom_booking_uid is not None
    # Cal.com moved it, and the process died before the ledger heard of it.
    stack.container.calcom.reschedule_booking(
        booking.calcom_booking_uid, start=new_start, reason="moved"
    )
    assert _moves(stack, booking_id) == []

    retry = _reschedule(stack, booking_id, new_start)

    assert retry.status_code == 200, retry.text
    (active,) = _active(stack, booking_id)
    assert retry.json()["calcomBookingUid"] == active["uid"]
    assert len(_ours(stack, booking_id)) == 2  # the old one (cancelled) and the one at the new time
    assert len(_moves(stack, booking_id)) == 1


def test_calcom_failing_before_the_move_is_503_and_a_retry_moves_it_once(stack: Stack) -> None:
    booking_id, _ = book(stack)
    (new_start,) = _free_other_than(stack, booking_id)
    with stack.sandbox_client() as sandbox:
        armed = sandbox.post("/_sandbox/faults", json={
            "service": "calcom", "method": "POST", "path": "/v2/bookings/*/reschedule",
            "status": 503, "times": 1,
        })  # fmt: skip
    assert armed.status_code == 201, armed.text

    failed = _reschedule(stack, booking_id, new_start)

    assert_problem(failed, 503)
    assert _moves(stack, booking_id) == [] and len(_ours(stack, booking_id)) == 1
    retry = _reschedule(stack, booking_id, new_start)
    assert retry.status_code == 200, retry.text
    assert len(_moves(stack, booking_id)) == 1 and len(_active(stack, booking_id)) == 1

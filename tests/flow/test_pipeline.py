"""The pipeline that carries the money never stalls: a poison event is parked, a hung Cal.com
call holds up no other booking, an outage drains in parallel, a read model that cannot apply
an event halts alone and says so (readiness, metrics, verify, the attention queue)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from ledger import Booking, BookingRequest
from mentorpay.bootstrap import read_models
from processes.finance.audit import check_followers, verify
from projections.follower import RetryPolicy
from projections.work_pool import WorkSettings
from tests.support.cli_runner import run_cli
from tests.support.pipeline import (
    arm_calcom_fault,
    armed_faults,
    book_and_pay,
    calcom_bookings_of,
    drained,
    status_of,
    stripe_refunds_of,
)
from tests.support.stack import FLOW_WORK, Stack
from tests.support.waiting import wait_until

SLOT_FREE_WAIT = 20


def _admin(stack: Stack) -> Any:
    return stack.client("ops-1", "admin")


def test_a_poison_event_is_parked_and_a_retry_completes_it_exactly_once(stack: Stack) -> None:
    poisoned = stack.start_checkout(stack.free_slot(skip=30))
    booking_id = poisoned["bookingId"]
    # Cal.com refuses this booking for good, and not because the slot is gone: no retry can
    # help, so the work is parked instead of being retried forever.
    arm_calcom_fault(
        stack, method="POST", path="/v2/bookings", status=400, message="attendee is invalid"
    )
    assert stack.pay(poisoned["checkoutSessionId"]).status_code == 200
    with _admin(stack) as admin:
        parked = wait_until(
            lambda: [
                i
                for i in admin.get("/api/ops/attention").json()["items"]
                if i["bookingId"] == booking_id
            ],
            timeout=20,
        )
    [item] = parked
    assert item["kind"] == "parked-work" and item["process"] == "fulfilment"
    assert item["attempts"] == 1 and "attendee is invalid" in item["detail"]
    assert item["id"] == f"work:fulfilment:{item['position']}"

    with stack.client() as anyone:
        metrics = anyone.get("/metrics").text
    assert 'mentorpay_work_parked{process="fulfilment"} 1.0' in metrics
    assert 'mentorpay_work_queued{process="refunds"}' in metrics
    assert "mentorpay_work_oldest_age_seconds" in metrics and "mentorpay_work_retries" in metrics

    # Bookings after it complete.
    later = book_and_pay(stack, skip=1)
    wait_until(lambda: status_of(stack, later) == "ACCEPTED", timeout=20)
    assert status_of(stack, booking_id) == "PENDING"

    with stack.client() as user:
        assert user.get("/api/ops/attention").status_code == 403
    with _admin(stack) as admin:
        shown = admin.get(f"/api/ops/attention/{item['id']}")
        assert shown.status_code == 200 and shown.json()["position"] == item["position"]
        no_reason = admin.post(f"/api/ops/attention/{item['id']}/retry", json={})
        assert no_reason.status_code == 422
        # The cause is gone (the fault was used up): retry completes it, exactly once.
        retried = admin.post(
            f"/api/ops/attention/{item['id']}/retry", json={"reason": "Cal.com fixed the form"}
        )
        assert retried.status_code == 200, retried.text
        assert retried.json()["actions"] == [
            {"action": "retry", "by": "admin:ops-1", "reason": "Cal.com fixed the form"}
        ]
    wait_until(lambda: status_of(stack, booking_id) == "ACCEPTED", timeout=20)
    drained(stack)
    assert len(calcom_bookings_of(stack, booking_id)) == 1
    assert stripe_refunds_of(stack, booking_id) == []
    with _admin(stack) as admin:
        assert admin.get("/api/ops/attention").json() == {
            "items": [],
            "limit": 500,
            "offset": 0,
            "truncated": [],
        }
        paged = admin.get("/api/ops/attention", params={"kind": "parked-work", "offset": 500})
        assert paged.status_code == 200 and paged.json()["offset"] == 500
        bogus = admin.get("/api/ops/attention", params={"kind": "bogus"})
        assert bogus.status_code == 422 and "kind" in bogus.text
        again = admin.post(f"/api/ops/attention/{item['id']}/retry", json={"reason": "again"})
        assert again.status_code == 404
    # The ledger says who asked, when and why.
    record = stack.container.ledger.get_attention(item["id"])
    assert record is not None and record.actions == [
        ("retry", "admin:ops-1", "Cal.com fixed the form")
    ]


def test_one_hung_calcom_call_holds_up_no_other_booking(stack: Stack) -> None:
    slow = stack.start_checkout(stack.free_slot(skip=30))
    arm_calcom_fault(stack, method="POST", path="/v2/bookings", delayMs=20_000)
    assert stack.pay(slow["checkoutSessionId"]).status_code == 200
    wait_until(lambda: not armed_faults(stack), timeout=20)  # the slow call is under way now

    def book(skip: int) -> float:
        booking_id = book_and_pay(stack, skip)
        started = time.monotonic()
        wait_until(lambda: status_of(stack, booking_id) == "ACCEPTED", timeout=20, interval=0.05)
        return time.monotonic() - started

    with ThreadPoolExecutor(5) as pool:
        waits = list(pool.map(book, range(1, 11)))
    assert max(waits) < 5, waits  # each within a few seconds, while the slow call still hangs

    # The slow one completes too (its call timed out and was retried), booked once.
    wait_until(lambda: status_of(stack, slow["bookingId"]) == "ACCEPTED", timeout=40)
    drained(stack)
    assert (
        len([b for b in calcom_bookings_of(stack, slow["bookingId"]) if b["status"] == "accepted"])
        == 1
    )
    assert stripe_refunds_of(stack, slow["bookingId"]) == []


OUTAGE_WORK = WorkSettings(
    threads=4,
    lease_seconds=3.0,
    poll_interval=0.2,
    retry=RetryPolicy(attempts=7, initial_delay=0.2, max_delay=1.0),
)


@pytest.fixture
def stack_work(request: pytest.FixtureRequest) -> WorkSettings:
    # The outage test needs enough attempts to ride out a short outage, as production's six
    # over ~15 s would; the others keep the quick settings.
    return OUTAGE_WORK if "outage" in request.node.name else FLOW_WORK


def test_a_calcom_outage_ends_in_bookings_or_single_refunds_and_drains_in_parallel(
    stack: Stack,
) -> None:
    arm_calcom_fault(stack, method="POST", path="/v2/bookings", status=503, times=24)
    with ThreadPoolExecutor(4) as pool:
        booking_ids = list(pool.map(lambda skip: book_and_pay(stack, skip), range(8)))
    wait_until(lambda: not armed_faults(stack), timeout=60)
    recovered = time.monotonic()
    settled = {"ACCEPTED", "REJECTED"}
    wait_until(lambda: all(status_of(stack, b) in settled for b in booking_ids), timeout=30)
    # Once Cal.com answers again the backlog drains in parallel, not one booking per retry
    # cycle: everything waiting is decided within about one backoff step.
    assert time.monotonic() - recovered < 5
    drained(stack)
    for booking_id in booking_ids:
        live = [b for b in calcom_bookings_of(stack, booking_id) if b["status"] == "accepted"]
        if status_of(stack, booking_id) == "ACCEPTED":
            assert len(live) == 1 and stripe_refunds_of(stack, booking_id) == []
        else:
            assert live == [] and len(stripe_refunds_of(stack, booking_id)) == 1


def _poison_request(stack: Stack) -> UUID:
    """A booking event the bookings read model cannot store (its event type id does not fit
    a BIGINT): as if written before today's validation existed. Saved straight to the store."""
    now = datetime.now(UTC)
    request = BookingRequest(
        user_id="user-legacy",
        mentor_id="mentor-ada",
        event_type_id=2**70,
        start=now + timedelta(days=3),
        end=now + timedelta(days=3, minutes=30),
        attendee_name="Legacy",
        attendee_email="legacy@example.com",
        attendee_time_zone="UTC",
        price_amount=5000,
        currency="usd",
        platform_fee_amount=500,
        checkout_session_id="cs_legacy",
        reservation_uid=None,
        expires_at=now + timedelta(hours=1),
    )
    booking = Booking.request_new(uuid.uuid4(), request)
    stack.container.ledger.save(booking)
    return booking.id


def test_a_halted_read_model_is_not_ready_fails_verify_and_is_in_the_attention_queue(
    stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with stack.client() as anyone:
        assert anyone.get("/readyz").status_code == 200
    _poison_request(stack)
    later = book_and_pay(stack, skip=0)  # events after the bad one

    with stack.client() as anyone:
        ready = wait_until(
            lambda: (r := anyone.get("/readyz")).status_code == 503 and r, timeout=20
        )
        body = ready.json()
        assert body["status"] == "halted"
        assert [h["name"] for h in body["halted"]] == ["bookings"]
        assert "bookings" in body["reasons"][0] and "halted" in body["reasons"][0]
        metrics = anyone.get("/metrics").text
        assert 'mentorpay_read_model_halted{read_model="bookings"} 1.0' in metrics
        assert 'mentorpay_read_model_halted{read_model="payments"} 0.0' in metrics

    # It halted alone: the other read models and the process managers go on.
    wait_until(lambda: status_of(stack, later) == "ACCEPTED", timeout=20)
    head = stack.container.ledger.recorder.max_notification_id() or 0
    assert stack.container.projections["payments"].wait_for(head, timeout=20)
    halt = stack.container.projections["bookings"].read_halt()
    assert halt is not None and halt.position < head  # stopped before the bad event

    # Reads of the halted read model do not wait for it to catch up: it will not.
    with stack.client() as user:
        started = time.monotonic()
        assert user.get("/api/bookings").status_code == 200
        assert time.monotonic() - started < 2

    report = verify(stack.container.ledger, stack.container.store, read_models())
    assert [f.check for f in report.findings] == ["read-model-halted"]
    result = run_cli(monkeypatch, database_url, "ledger", "verify")
    assert result.exit_code == 1, result.output
    assert "[read-model-halted] bookings" in result.stdout

    with _admin(stack) as admin:
        items = admin.get("/api/ops/attention").json()["items"]
        assert [i["id"] for i in items] == ["halt:bookings"]
        refused = admin.post("/api/ops/attention/halt:bookings/resolve", json={"reason": "skip"})
        assert refused.status_code == 409  # a read model never skips an event


@pytest.mark.parametrize("stack_settings", [{"ready_max_lag": 0}])
def test_a_read_model_behind_by_more_than_the_setting_is_not_ready(stack: Stack) -> None:
    bookings = stack.container.projections["bookings"]
    with stack.client() as anyone:
        wait_until(lambda: anyone.get("/readyz").status_code == 200, timeout=20)
        bookings.stop()
        stack.start_checkout(stack.free_slot())  # an event the stopped read model lacks
        lagging = anyone.get("/readyz")
        assert lagging.status_code == 503
        assert lagging.json()["status"] == "lagging"
        assert "bookings" in lagging.json()["reasons"][0]
        head = stack.container.ledger.recorder.max_notification_id() or 0
        findings = check_followers(stack.container.store, ["bookings"], head, grace_seconds=0)
        assert [f.check for f in findings] == ["read-model-behind"]
        bookings.start()
        wait_until(lambda: anyone.get("/readyz").status_code == 200, timeout=20)

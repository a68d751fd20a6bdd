"""The attention queue on the command line: a payout that failed for good is paid once the
mentor's account is fixed; a parked item is resolved; each action is recorded in the ledger."""

from __future__ import annotations

import json

import pytest

from ledger import Booking, PaymentStatus
from tests.support.cli_runner import run_cli
from tests.support.payouts import (
    MENTOR_ACCOUNT,
    assert_paid_out_once,
    ledger_payment,
    paid_booking,
    sandbox_post,
    stripe_transfers,
)
from tests.support.pipeline import arm_calcom_fault, drained, stripe_refunds_of
from tests.support.stack import Stack
from tests.support.waiting import wait_until

# Payouts due as soon as paid: no hold, and not after the session either.
pytestmark = pytest.mark.parametrize(
    "stack_settings", [{"payout_hold_hours": 0, "payout_after_session_hours": None}]
)
SLOT_TAKEN = "User either already has booking at this time or is not available"


def _cli(stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str):  # type: ignore[no-untyped-def]
    return run_cli(
        monkeypatch,
        database_url,
        "attention",
        *args,
        stripe_api_base=stack.sandbox_url,
        calcom_api_base=stack.sandbox_url,
        payout_hold_hours="0",
        payout_after_session_hours="",
    )


def _listed(stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    result = _cli(stack, database_url, monkeypatch, "list", "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _refund_work_queued(stack: Stack, booking_id: str) -> bool:
    """The refunds process has work for the booking's failure (not only for its payment,
    whose work comes first and refunds nothing)."""
    with stack.container.store.transaction() as tx:
        return bool(
            tx.execute(
                "SELECT 1 FROM work_items WHERE process = 'refunds' AND lane = %s AND topic = %s",
                (booking_id, Booking.BookingFailed.TOPIC),
            ).fetchall()
        )


def test_a_payout_failed_for_good_is_paid_once_the_account_is_fixed(
    stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking_id, payment = paid_booking(stack)
    sandbox_post(stack, f"/_sandbox/accounts/{MENTOR_ACCOUNT}", {"payouts_enabled": False})
    assert stack.container.payouts.run().failed == 1
    assert ledger_payment(stack, payment).status == PaymentStatus.PAYOUT_FAILED

    item_id = f"payout:{payment.id}"
    wait_until(
        lambda: [i["id"] for i in _listed(stack, database_url, monkeypatch)] == [item_id],
        timeout=20,
    )
    shown = _cli(stack, database_url, monkeypatch, "show", item_id)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["kind"] == "payout-failed"
    # One kind at a time, and paged past: the item is on the first page only.
    of_kind = _cli(stack, database_url, monkeypatch, "list", "--kind", "payout-failed")
    assert of_kind.exit_code == 0 and item_id in of_kind.stdout, of_kind.output
    other = _cli(stack, database_url, monkeypatch, "list", "--kind", "parked-work")
    assert other.exit_code == 0 and item_id not in other.stdout, other.output
    past = _cli(stack, database_url, monkeypatch, "list", "--offset", "1")
    assert past.exit_code == 0 and item_id not in past.stdout, past.output
    wrong = _cli(stack, database_url, monkeypatch, "list", "--kind", "payouts")
    assert wrong.exit_code == 2 and "--kind must be one of" in wrong.output

    # The mentor fixes their Stripe account; finance retries, once.
    sandbox_post(stack, f"/_sandbox/accounts/{MENTOR_ACCOUNT}", {"payouts_enabled": True})
    retried = _cli(
        stack,
        database_url,
        monkeypatch,
        "retry",
        item_id,
        "--reason",
        "account fixed",
        "--by",
        "finance:grace",
    )
    assert retried.exit_code == 0, retried.output
    assert_paid_out_once(stack, booking_id, payment)
    wait_until(lambda: _listed(stack, database_url, monkeypatch) == [], timeout=20)
    again = _cli(stack, database_url, monkeypatch, "retry", item_id, "--reason", "again")
    assert again.exit_code == 1  # nothing open any more
    assert len(stripe_transfers(stack, booking_id)) == 1
    record = stack.container.ledger.get_attention(item_id)
    assert record is not None and record.actions == [("retry", "finance:grace", "account fixed")]


def test_a_parked_item_is_resolved_with_a_reason(
    stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = stack.start_checkout(stack.free_slot())
    arm_calcom_fault(
        stack, method="POST", path="/v2/bookings", status=400, message="attendee is invalid"
    )
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    [item] = wait_until(lambda: _listed(stack, database_url, monkeypatch), timeout=20)
    assert item["kind"] == "parked-work" and item["bookingId"] == checkout["bookingId"]

    resolved = _cli(
        stack, database_url, monkeypatch, "resolve", item["id"], "--reason", "booked by phone"
    )
    assert resolved.exit_code == 0, resolved.output
    assert _listed(stack, database_url, monkeypatch) == []
    drained(stack)
    record = stack.container.ledger.get_attention(item["id"])
    assert record is not None and record.resolved
    [(action, by, reason)] = record.actions
    assert action == "resolve" and by.startswith("cli:") and reason == "booked by phone"


def test_a_refund_stripe_refuses_for_good_is_parked_and_a_retry_refunds_once(
    stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = stack.start_checkout(stack.free_slot())
    booking_id = checkout["bookingId"]
    # Cal.com says the slot is gone (the booking fails), and Stripe refuses the refund for good.
    arm_calcom_fault(stack, method="POST", path="/v2/bookings", status=400, message=SLOT_TAKEN)
    with stack.sandbox_client() as sandbox:
        refused = {"service": "stripe", "method": "POST", "path": "/v1/refunds", "status": 400}
        assert sandbox.post("/_sandbox/faults", json=refused).status_code == 201
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200

    [item] = wait_until(lambda: _listed(stack, database_url, monkeypatch), timeout=20)
    assert (item["kind"], item["process"], item["bookingId"]) == (
        "parked-work",
        "refunds",
        booking_id,
    )
    assert stripe_refunds_of(stack, booking_id) == []

    with stack.client("ops-1", "admin") as admin:
        retried = admin.post(f"/api/ops/attention/{item['id']}/retry", json={"reason": "fixed"})
    assert retried.status_code == 200, retried.text
    wait_until(lambda: len(stripe_refunds_of(stack, booking_id)) == 1, timeout=20)
    drained(stack)
    assert len(stripe_refunds_of(stack, booking_id)) == 1
    # Listed until the payments read model shows the refund.
    wait_until(lambda: _listed(stack, database_url, monkeypatch) == [], timeout=20)


def test_a_failed_booking_whose_refund_did_not_happen_is_listed_and_retried(
    stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    refunds = stack.container.processes["refunds"]
    refunds.stop()
    checkout = stack.start_checkout(stack.free_slot())
    booking_id = checkout["bookingId"]
    arm_calcom_fault(stack, method="POST", path="/v2/bookings", status=400, message=SLOT_TAKEN)
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    wait_until(lambda: stack.booking(booking_id)["status"] == "REJECTED", timeout=20)
    # The dispatcher queues the refund work after the read model shows the rejection.
    wait_until(lambda: _refund_work_queued(stack, booking_id), timeout=20)
    assert _listed(stack, database_url, monkeypatch) == []  # its refund is still queued
    # As if a bug had let the refund work finish without refunding anything.
    with stack.container.store.transaction() as tx:
        finished = tx.execute(
            "UPDATE work_items SET status = 'done' WHERE process = 'refunds' AND lane = %s",
            (booking_id,),
        ).rowcount
    assert finished >= 1
    refunds.start()
    [item] = wait_until(lambda: _listed(stack, database_url, monkeypatch), timeout=20)
    assert (item["id"], item["kind"]) == (f"refund:{booking_id}", "refund-missing")

    with stack.client("ops-1", "admin") as admin:
        retried = admin.post(f"/api/ops/attention/{item['id']}/retry", json={"reason": "refund"})
    assert retried.status_code == 200, retried.text
    wait_until(lambda: len(stripe_refunds_of(stack, booking_id)) == 1, timeout=20)
    drained(stack)
    assert len(stripe_refunds_of(stack, booking_id)) == 1
    wait_until(lambda: _listed(stack, database_url, monkeypatch) == [], timeout=20)

"""Payouts after the hold, against the sandbox: once, the right amount, to the right account.

A payment is made "old" with a PayoutService whose clock reads 71 or 72 hours after the
payment, or, for the cron endpoint and the CLI, with a hold of zero hours in the settings.
Stripe's side is always checked with the official SDK, never through our gateway.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ledger import Ledger, Payment, PaymentStatus
from mentorpay.cli import app as cli_app
from mentorpay.settings import get_settings
from processes.services.payouts import PayoutRunResult
from tests.support.http import http_client
from tests.support.payouts import (
    MENTOR_ACCOUNT,
    assert_paid_out_once,
    ledger_payment,
    mentor_payable_balance,
    paid_booking,
    payouts_at,
    sandbox_post,
    stripe_transfers,
)
from tests.support.stack import Stack
from tests.support.waiting import wait_until

HOLD = timedelta(hours=72)
CRON_SECRET = "cron-secret-for-payout-tests"
# Event type 1001: 75.00 USD, the default platform fee of 10 %.
PRICE, FEE = 7500, 750
# A zero hold makes a payment due at once for the container's own service (API, CLI).
DUE_AT_ONCE = pytest.mark.parametrize(
    "stack_settings",
    [{"payout_hold_hours": 0, "payout_after_session_hours": None, "cron_secret": CRON_SECRET}],
)


def test_paid_out_once_after_72_hours_not_at_71(stack: Stack) -> None:
    booking_id, payment = paid_booking(stack)
    ledger = stack.container.ledger
    assert mentor_payable_balance(ledger, payment.mentor_id) == -(PRICE - FEE)  # owed (credit)

    assert payouts_at(stack, payment.paid_at + timedelta(hours=71)).run() == PayoutRunResult(
        0, 0, 0
    )
    assert stripe_transfers(stack, booking_id) == []
    assert ledger_payment(stack, payment).status == PaymentStatus.SUCCEEDED

    at_72_hours = payouts_at(stack, payment.paid_at + HOLD)
    assert at_72_hours.run() == PayoutRunResult(eligible=1, paid_out=1, failed=0)
    assert_paid_out_once(stack, booking_id, payment)
    assert mentor_payable_balance(ledger, payment.mentor_id) == 0

    # Runs later find nothing more to do.
    assert at_72_hours.run() == PayoutRunResult(0, 0, 0)
    assert payouts_at(stack, payment.paid_at + 2 * HOLD).run() == PayoutRunResult(0, 0, 0)
    assert_paid_out_once(stack, booking_id, payment)


@DUE_AT_ONCE
def test_concurrent_cron_calls_make_one_transfer(stack: Stack) -> None:
    # The in-process schedule runs once at start; let it finish so only the calls below race.
    wait_until(lambda: stack.container.payout_schedule and stack.container.payout_schedule.runs)
    booking_id, payment = paid_booking(stack)
    callers = 4
    barrier = threading.Barrier(callers)
    answers: list[httpx.Response] = []

    def call() -> None:
        with http_client(base_url=stack.api_url, timeout=60) as client:
            barrier.wait(timeout=10)
            answers.append(
                client.post(
                    "/api/cron/process-payouts",
                    headers={"Authorization": f"Bearer {CRON_SECRET}"},
                )
            )

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [200] * callers, [a.text for a in answers]
    assert sum(a.json()["paidOut"] for a in answers) == 1
    assert sum(a.json()["failed"] for a in answers) == 0
    assert_paid_out_once(stack, booking_id, payment)


class CrashAfterTransfer:
    """The ledger as seen by a process that dies once between the transfer and its record."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.crashes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)

    def record_paid_out(self, **kwargs: Any) -> Payment:
        if self.crashes == 0:
            self.crashes += 1
            raise ConnectionError("the process died before recording the transfer")
        return self._ledger.record_paid_out(**kwargs)


def test_crash_between_transfer_and_record_then_rerun(stack: Stack) -> None:
    booking_id, payment = paid_booking(stack)
    crashing = CrashAfterTransfer(stack.container.ledger)
    first = payouts_at(stack, payment.paid_at + HOLD, ledger=crashing).run()
    assert (first.eligible, first.paid_out, first.failed) == (1, 0, 1)
    assert crashing.crashes == 1
    assert len(stripe_transfers(stack, booking_id)) == 1
    assert ledger_payment(stack, payment).status == PaymentStatus.PAYOUT_ELIGIBLE

    # A day later Stripe has forgotten the idempotency key: only the look-up by transfer
    # group stands between the rerun and a second transfer.
    sandbox_post(stack, "/_sandbox/clock/advance", {"seconds": 25 * 3600})
    rerun = payouts_at(stack, payment.paid_at + HOLD + timedelta(days=1)).run()
    assert rerun == PayoutRunResult(eligible=1, paid_out=1, failed=0)
    assert_paid_out_once(stack, booking_id, payment)


@pytest.mark.parametrize(
    "account_change",
    [{"payouts_enabled": False}, {"capabilities": {"transfers": "inactive"}}],
    ids=["payouts-disabled", "transfers-inactive"],
)
def test_account_that_cannot_receive_fails_without_transfer(
    stack: Stack, account_change: dict[str, Any]
) -> None:
    booking_id, payment = paid_booking(stack)
    sandbox_post(stack, f"/_sandbox/accounts/{MENTOR_ACCOUNT}", account_change)

    payouts = payouts_at(stack, payment.paid_at + HOLD)
    result = payouts.run()
    assert (result.eligible, result.paid_out, result.failed) == (1, 0, 1)
    assert stripe_transfers(stack, booking_id) == []
    recorded = ledger_payment(stack, payment)
    assert recorded.status == PaymentStatus.PAYOUT_FAILED and recorded.payout_error
    assert str(payment.id) in result.failures[0]
    # A refusal is reported, not retried every hour.
    assert payouts.run() == PayoutRunResult(0, 0, 0)
    assert stripe_transfers(stack, booking_id) == []


def test_stripe_500_on_transfer_is_retried_on_a_later_run(stack: Stack) -> None:
    booking_id, payment = paid_booking(stack)
    # The gateway's SDK tries three times (two retries): fail all three.
    sandbox_post(
        stack,
        "/_sandbox/faults",
        {"service": "stripe", "method": "POST", "path": "/v1/transfers", "status": 500, "times": 3},
    )
    payouts = payouts_at(stack, payment.paid_at + HOLD)
    first = payouts.run()
    assert (first.eligible, first.paid_out, first.failed) == (1, 0, 1)
    with stack.sandbox_client() as client:
        assert client.get("/_sandbox/faults").json() == {"faults": []}
    assert stripe_transfers(stack, booking_id) == []
    recorded = ledger_payment(stack, payment)
    assert recorded.status == PaymentStatus.PAYOUT_ELIGIBLE and recorded.payout_error

    assert payouts.run() == PayoutRunResult(eligible=1, paid_out=1, failed=0)
    assert_paid_out_once(stack, booking_id, payment)


def test_lost_transfer_response_then_rerun_makes_no_second_transfer(stack: Stack) -> None:
    booking_id, payment = paid_booking(stack)
    # Stripe makes the transfer but the answer is lost on the way back: the run cannot know
    # whether it happened, so it records a retryable failure.
    sandbox_post(
        stack,
        "/_sandbox/faults",
        {
            "service": "stripe",
            "method": "POST",
            "path": "/v1/transfers",
            "status": 0,
            "afterProcessing": True,
            "times": 1,
        },
    )
    payouts = payouts_at(stack, payment.paid_at + HOLD)
    first = payouts.run()
    assert (first.eligible, first.paid_out, first.failed) == (1, 0, 1)
    assert len(stripe_transfers(stack, booking_id)) == 1
    assert ledger_payment(stack, payment).status == PaymentStatus.PAYOUT_ELIGIBLE

    # The rerun finds the transfer Stripe made and records it instead of making another.
    assert payouts.run() == PayoutRunResult(eligible=1, paid_out=1, failed=0)
    assert_paid_out_once(stack, booking_id, payment)


def test_dispute_blocks_the_payout(stack: Stack) -> None:
    booking_id, payment = paid_booking(stack)
    sandbox_post(stack, f"/_sandbox/charges/{payment.charge_id}/dispute", {"reason": "fraudulent"})
    wait_until(lambda: ledger_payment(stack, payment).disputed, timeout=20)

    assert payouts_at(stack, payment.paid_at + HOLD).run() == PayoutRunResult(0, 0, 0)
    assert stripe_transfers(stack, booking_id) == []
    assert ledger_payment(stack, payment).status == PaymentStatus.SUCCEEDED


def test_dispute_after_clearing_fails_the_payout_in_flight(stack: Stack) -> None:
    booking_id, payment = paid_booking(stack)
    # A run cleared it, then stopped before the transfer; the charge is disputed meanwhile.
    stack.container.ledger.mark_payout_eligible(
        payment_id=payment.id,
        destination_account=MENTOR_ACCOUNT,
        now=payment.paid_at + HOLD,
        hold=HOLD,
    )
    sandbox_post(stack, f"/_sandbox/charges/{payment.charge_id}/dispute", {})
    wait_until(lambda: ledger_payment(stack, payment).disputed, timeout=20)

    result = payouts_at(stack, payment.paid_at + HOLD).run()
    assert (result.eligible, result.paid_out, result.failed) == (1, 0, 1)
    assert stripe_transfers(stack, booking_id) == []
    # Settled for good, so nothing is left in flight (a refund may now go ahead).
    assert ledger_payment(stack, payment).status == PaymentStatus.PAYOUT_FAILED
    assert payouts_at(stack, payment.paid_at + HOLD).run() == PayoutRunResult(0, 0, 0)


# Every bookable slot (1 to 8 days ahead) is inside a 30-day window: an attendee cancels late.
@pytest.mark.parametrize("stack_settings", [{"free_cancel_hours": 30 * 24}])
def test_a_late_cancellation_lets_a_payout_in_flight_go_ahead(stack: Stack) -> None:
    booking_id, payment = paid_booking(stack)
    # A run cleared it, then stopped before the transfer; the attendee cancels meanwhile.
    stack.container.ledger.mark_payout_eligible(
        payment_id=payment.id,
        destination_account=MENTOR_ACCOUNT,
        now=payment.paid_at + HOLD,
        hold=HOLD,
    )
    with stack.client() as client:
        cancelled = client.post(f"/api/bookings/{booking_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refund"]["rule"] == "late_cancellation"

    result = payouts_at(stack, payment.paid_at + HOLD).run()
    assert result == PayoutRunResult(eligible=1, paid_out=1, failed=0)
    assert_paid_out_once(stack, booking_id, payment)
    assert mentor_payable_balance(stack.container.ledger, payment.mentor_id) == 0


@DUE_AT_ONCE
def test_cron_endpoint_refuses_without_the_secret(stack: Stack) -> None:
    booking_id, payment = paid_booking(stack)
    refusals = {
        "missing": {},
        "wrong": {"Authorization": "Bearer wrong-secret"},
        "other scheme": {"Authorization": f"Basic {CRON_SECRET}"},
        "no token": {"Authorization": "Bearer"},
        "longer": {"Authorization": f"Bearer {CRON_SECRET}x"},
        "a user's JWT": {"Authorization": f"Bearer {stack.token(role='admin')}"},
    }
    with http_client(base_url=stack.api_url, timeout=30) as client:
        for case, headers in refusals.items():
            refused = client.post("/api/cron/process-payouts", headers=headers)
            assert refused.status_code == 401, (case, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["status"] == 401
        assert stripe_transfers(stack, booking_id) == []
        assert ledger_payment(stack, payment).status == PaymentStatus.SUCCEEDED

        # The same payment was due all along: the right secret pays it out.
        accepted = client.post(
            "/api/cron/process-payouts", headers={"Authorization": f"Bearer {CRON_SECRET}"}
        )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["paidOut"] == 1
    assert_paid_out_once(stack, booking_id, payment)


@DUE_AT_ONCE
def test_cli_payouts_run(stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    booking_id, payment = paid_booking(stack)
    for name, value in {
        "DATABASE_URL": database_url,
        "STRIPE_API_BASE": stack.sandbox_url,
        "CALCOM_API_BASE": stack.sandbox_url,
        "PAYOUT_HOLD_HOURS": "0",
        "PAYOUT_AFTER_SESSION_HOURS": "",  # empty: the hold alone decides
    }.items():
        monkeypatch.setenv(f"MENTORPAY_{name}", value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["payouts", "run"])
        again = CliRunner().invoke(cli_app, ["payouts", "run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 eligible, 1 paid out, 0 failed" in result.output
    assert again.exit_code == 0 and "0 paid out" in again.output
    assert_paid_out_once(stack, booking_id, payment)

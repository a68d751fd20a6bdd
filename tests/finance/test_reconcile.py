"""``ledger reconcile``: the ledger agrees with Stripe, until money moves behind its back."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
import stripe

from ledger import Money
from processes.finance.reconcile import reconcile
from tests.support.cli_runner import run_cli
from tests.support.stack import Stack


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    # Every webhook fails its signature check, so the ledger hears only what it asks Stripe
    # (the confirm endpoint); a refund made directly at Stripe stays unknown to it.
    return {"stripe_webhook_secret": "whsec_not_the_sandboxes_secret"}


def test_a_refund_made_at_stripe_behind_the_ledgers_back_is_reported(
    stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking_id = stack.confirmed_booking()
    ledger = stack.container.ledger
    clean = reconcile(ledger, stack.container.stripe)
    assert clean.ok, clean.discrepancies
    assert clean.ledger_counts["payment"] == clean.stripe_counts["payment"] == 1

    intent = ledger.get_booking(UUID(booking_id)).payment_intent_id
    client = stripe.StripeClient("sk_test_dashboard", base_addresses={"api": stack.sandbox_url})
    refund = client.v1.refunds.create(params={"payment_intent": intent, "amount": 1000})

    report = reconcile(ledger, stack.container.stripe)
    assert [(d.kind, d.stripe_id, d.problem) for d in report.discrepancies] == [
        ("refund", refund.id, "only at Stripe")
    ]
    assert report.discrepancies[0].stripe_amount == Money(1000, "usd")
    assert report.discrepancies[0].ledger_amount is None

    result = run_cli(
        monkeypatch, database_url, "ledger", "reconcile", stripe_api_base=stack.sandbox_url
    )
    assert result.exit_code == 1, result.output
    assert f"refund {refund.id}: only at Stripe" in result.stdout


def test_reconcile_cli_is_clean_when_both_sides_agree(
    stack: Stack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.confirmed_booking()
    result = run_cli(
        monkeypatch, database_url, "ledger", "reconcile", stripe_api_base=stack.sandbox_url
    )
    assert result.exit_code == 0, result.output
    assert "0 discrepancy" in result.stderr

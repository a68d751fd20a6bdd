"""Stripe failures: the SDK retries what is safe to retry (with our key), the rest is typed."""

from __future__ import annotations

import pytest

from ledger.money import Money
from processes.gateways.stripe_gateway import (
    CardDeclined,
    StripeAuthError,
    StripeGateway,
    StripeTransientError,
)
from tests.support.gateway_keys import STRIPE_TEST_KEY
from tests.support.sandbox_controls import arm_fault
from tests.support.stripe_gateway_checkouts import paid_checkout


@pytest.fixture
def paid(sandbox, stripe_gateway):
    return paid_checkout(stripe_gateway, sandbox.url)


@pytest.fixture
def no_retries(sandbox):
    """A gateway that reports the first failure, so each test sees exactly one."""
    gateway = StripeGateway(STRIPE_TEST_KEY, sandbox.url, timeout=0.5, max_network_retries=0)
    yield gateway
    gateway.close()


def refund(gateway, paid, key: str = "refund:faults"):
    return gateway.create_refund(
        payment_intent_id=paid.payment_intent_id,
        amount=Money(1000, "usd"),
        reason=None,
        metadata={},
        idempotency_key=key,
    )


def test_a_server_error_is_retried_by_the_sdk_and_refunds_once(sandbox, stripe_gateway, paid):
    arm_fault(sandbox.url, service="stripe", method="POST", path="/v1/refunds", status=500)

    made = refund(stripe_gateway, paid)

    assert stripe_gateway.list_refunds(paid.payment_intent_id) == [made]


def test_when_retries_run_out_the_error_is_transient_and_a_later_retry_refunds_once(
    sandbox, stripe_gateway, no_retries, paid
):
    # max_network_retries=2: three attempts, all failing.
    arm_fault(sandbox.url, service="stripe", method="POST", path="/v1/refunds", status=503, times=3)

    with pytest.raises(StripeTransientError) as failure:
        refund(stripe_gateway, paid)
    assert failure.value.retryable is True
    assert failure.value.http_status == 503
    assert stripe_gateway.list_refunds(paid.payment_intent_id) == []

    # The caller's own retry, same key, one attempt: the SDK used up all three faults.
    made = refund(no_retries, paid)
    assert stripe_gateway.list_refunds(paid.payment_intent_id) == [made]


def test_a_dropped_connection_is_transient(sandbox, no_retries, paid):
    arm_fault(sandbox.url, service="stripe", method="POST", path="/v1/refunds", status=0)

    with pytest.raises(StripeTransientError) as failure:
        refund(no_retries, paid)

    assert failure.value.retryable is True
    assert failure.value.http_status is None


def test_a_response_slower_than_the_timeout_is_transient(sandbox, no_retries, paid):
    arm_fault(
        sandbox.url,
        service="stripe",
        method="GET",
        path=f"/v1/payment_intents/{paid.payment_intent_id}",
        delay_ms=1500,
    )

    with pytest.raises(StripeTransientError):
        no_retries.retrieve_payment_intent(paid.payment_intent_id)


@pytest.mark.parametrize("status", [409, 429, 500, 502])
def test_conflicts_rate_limits_and_server_errors_are_transient(sandbox, no_retries, paid, status):
    arm_fault(sandbox.url, service="stripe", method="POST", path="/v1/transfers", status=status)

    with pytest.raises(StripeTransientError) as failure:
        no_retries.create_transfer(
            amount=Money(100, "usd"),
            destination="acct_any",
            source_transaction=paid.charge_id,
            transfer_group=None,
            metadata={},
            idempotency_key="transfer:transient",
        )

    assert failure.value.http_status == status


def test_a_card_error_is_a_decline_not_a_retry(sandbox, no_retries, paid):
    arm_fault(
        sandbox.url,
        service="stripe",
        method="POST",
        path="/v1/refunds",
        status=402,
        message="Your card was declined.",
    )

    with pytest.raises(CardDeclined) as declined:
        refund(no_retries, paid)

    assert declined.value.retryable is False
    assert declined.value.message == "Your card was declined."


def test_a_key_that_is_not_a_secret_key_is_an_auth_error(sandbox):
    gateway = StripeGateway("pk_test_publishable_key_by_mistake", sandbox.url)
    try:
        with pytest.raises(StripeAuthError) as refused:
            gateway.retrieve_checkout_session("cs_test_whatever")
    finally:
        gateway.close()

    assert refused.value.retryable is False
    assert refused.value.http_status == 401

"""Connect payouts through the gateway: the mentor's account, transfers, reversals."""

from __future__ import annotations

import pytest

from ledger.money import Money
from processes.gateways.stripe_gateway import StripeRequestRefused
from tests.support.stripe_gateway_checkouts import paid_checkout

# The sandbox's seeded demo connected account (sandbox/README.md).
MENTOR_ACCOUNT = "acct_sandboxmentor01"
MENTOR_SHARE = Money(6750, "usd")


@pytest.fixture
def paid(sandbox, stripe_gateway):
    return paid_checkout(stripe_gateway, sandbox.url)


def pay_out(gateway, paid, amount: Money = MENTOR_SHARE, key: str | None = None):
    return gateway.create_transfer(
        amount=amount,
        destination=MENTOR_ACCOUNT,
        source_transaction=paid.charge_id,
        transfer_group=str(paid.booking_id),
        metadata={"booking_id": str(paid.booking_id)},
        idempotency_key=key or f"transfer:{paid.payment_intent_id}",
    )


def test_the_mentor_account_can_receive_transfers(stripe_gateway):
    account = stripe_gateway.retrieve_account(MENTOR_ACCOUNT)

    assert account.id == MENTOR_ACCOUNT
    assert account.transfers_active is True


def test_an_unknown_account_is_refused_as_missing(stripe_gateway):
    with pytest.raises(StripeRequestRefused) as refused:
        stripe_gateway.retrieve_account("acct_does_not_exist")

    assert refused.value.code == "resource_missing"


def test_a_transfer_moves_the_mentor_share_of_the_charge(stripe_gateway, paid):
    transfer = pay_out(stripe_gateway, paid)

    assert transfer.id.startswith("tr_")
    assert transfer.amount == MENTOR_SHARE
    assert transfer.destination == MENTOR_ACCOUNT
    assert transfer.source_transaction == paid.charge_id
    assert transfer.transfer_group == str(paid.booking_id)
    assert transfer.reversed is False
    assert transfer.amount_reversed == Money(0, "usd")
    assert transfer.metadata == {"booking_id": str(paid.booking_id)}


def test_the_same_idempotency_key_twice_makes_one_transfer(stripe_gateway, paid):
    first = pay_out(stripe_gateway, paid)
    retried = pay_out(stripe_gateway, paid)

    assert retried.id == first.id
    assert stripe_gateway.list_transfers(str(paid.booking_id)) == [first]


def test_transfers_are_listed_by_transfer_group(sandbox, stripe_gateway, paid):
    other = paid_checkout(stripe_gateway, sandbox.url)
    mine = pay_out(stripe_gateway, paid)
    theirs = pay_out(stripe_gateway, other)

    assert stripe_gateway.list_transfers(str(paid.booking_id)) == [mine]
    assert {t.id for t in stripe_gateway.list_transfers()} >= {mine.id, theirs.id}


def test_a_reversal_takes_money_back_from_the_mentor(stripe_gateway, paid):
    transfer = pay_out(stripe_gateway, paid)

    partial = stripe_gateway.create_transfer_reversal(
        transfer.id, amount=Money(1000, "usd"), idempotency_key=f"reversal:{transfer.id}:1"
    )
    retried = stripe_gateway.create_transfer_reversal(
        transfer.id, amount=Money(1000, "usd"), idempotency_key=f"reversal:{transfer.id}:1"
    )

    assert partial.id.startswith("trr_")
    assert partial.amount == Money(1000, "usd")
    assert partial.transfer_id == transfer.id
    assert retried.id == partial.id
    [after] = stripe_gateway.list_transfers(str(paid.booking_id))
    assert (after.amount_reversed, after.reversed) == (Money(1000, "usd"), False)

    stripe_gateway.create_transfer_reversal(
        transfer.id, amount=Money(5750, "usd"), idempotency_key=f"reversal:{transfer.id}:2"
    )
    [after] = stripe_gateway.list_transfers(str(paid.booking_id))
    assert (after.amount_reversed, after.reversed) == (MENTOR_SHARE, True)


def test_reversing_more_than_was_transferred_is_refused(stripe_gateway, paid):
    transfer = pay_out(stripe_gateway, paid)

    with pytest.raises(StripeRequestRefused) as refused:
        stripe_gateway.create_transfer_reversal(
            transfer.id, amount=Money(6751, "usd"), idempotency_key="reversal:too-much"
        )

    assert refused.value.retryable is False

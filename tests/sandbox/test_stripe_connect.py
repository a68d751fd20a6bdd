"""Connect on the sandbox: accounts, transfers, reversals and balances, through the SDK."""

from __future__ import annotations

import pytest
import stripe

from tests.support.stripe_sandbox import (
    DEMO_ACCOUNT,
    api,
    control,
    paid_intent,
    sdk,
)


def transfer_params(amount: int, **extra: object) -> dict[str, object]:
    return {"amount": amount, "currency": "usd", "destination": DEMO_ACCOUNT, **extra}


def test_the_demo_connected_account_is_seeded_ready_for_payouts(sandbox):
    account = sdk(sandbox).v1.accounts.retrieve(DEMO_ACCOUNT)
    assert (account.charges_enabled, account.payouts_enabled) == (True, True)
    assert account.capabilities.transfers == "active"
    assert account.type == "express"


def test_the_demo_account_comes_back_after_a_reset(sandbox):
    client = sdk(sandbox)
    client.v1.accounts.create(params={"type": "express"})
    assert control(sandbox, "DELETE", "/state").status_code == 204
    assert [a.id for a in client.v1.accounts.list().data] == [DEMO_ACCOUNT]


def test_a_new_account_is_not_onboarded_and_cannot_receive_transfers(sandbox):
    client = sdk(sandbox)
    paid_intent(sandbox, client)
    account = client.v1.accounts.create(
        params={
            "type": "express",
            "country": "GB",
            "email": "grace@example.com",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"mentor": "grace"},
        }
    )

    assert account.id.startswith("acct_")
    assert (account.charges_enabled, account.payouts_enabled) == (False, False)
    assert account.capabilities.transfers == "inactive"
    assert (account.country, account.default_currency) == ("GB", "gbp")
    assert client.v1.accounts.retrieve(account.id).email == "grace@example.com"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.transfers.create(params={**transfer_params(100), "destination": account.id})
    assert (caught.value.http_status, caught.value.code, caught.value.param) == (
        400,
        "insufficient_capabilities_for_transfer",
        "destination",
    )


def test_onboarding_control_enables_the_account_and_emits_account_updated(sandbox):
    client = sdk(sandbox)
    paid_intent(sandbox, client)
    account = client.v1.accounts.create(
        params={"type": "custom", "capabilities": {"transfers": {"requested": True}}}
    )

    response = control(
        sandbox,
        "POST",
        f"/accounts/{account.id}",
        json={
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "capabilities": {"transfers": "active"},
        },
    )

    assert response.status_code == 200
    updated = client.v1.accounts.retrieve(account.id)
    assert (updated.charges_enabled, updated.payouts_enabled) == (True, True)
    assert updated.requirements.currently_due == []
    event = client.v1.events.list(params={"type": "account.updated"}).data[0]
    assert event.data.object.id == account.id
    assert event.data.previous_attributes.payouts_enabled is False
    transfer = client.v1.transfers.create(
        params={**transfer_params(100), "destination": account.id}
    )
    assert transfer.destination == account.id


def test_transfers_to_an_account_with_payouts_disabled_are_refused(sandbox):
    client = sdk(sandbox)
    paid_intent(sandbox, client)
    control(sandbox, "POST", f"/accounts/{DEMO_ACCOUNT}", json={"payouts_enabled": False})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.transfers.create(params=transfer_params(100))
    assert (caught.value.code, caught.value.param) == ("transfers_not_allowed", "destination")
    assert client.v1.transfers.list().data == []


def test_account_controls_refuse_unknown_accounts_and_bad_values(sandbox):
    assert (
        control(
            sandbox, "POST", "/accounts/acct_missing", json={"payouts_enabled": True}
        ).status_code
        == 404
    )
    assert (
        control(
            sandbox,
            "POST",
            f"/accounts/{DEMO_ACCOUNT}",
            json={"capabilities": {"transfers": "maybe"}},
        ).status_code
        == 422
    )


def test_transfer_from_a_charge_moves_money_to_the_connected_account(sandbox):
    client = sdk(sandbox)
    intent = paid_intent(sandbox, client)

    transfer = client.v1.transfers.create(
        params=transfer_params(
            6000,
            source_transaction=intent.latest_charge,
            transfer_group="booking-1",
            metadata={"payment": "p1"},
        ),
        options={"idempotency_key": "transfer:p1"},
    )

    assert transfer.id.startswith("tr_")
    assert (transfer.amount, transfer.destination, transfer.source_transaction) == (
        6000,
        DEMO_ACCOUNT,
        intent.latest_charge,
    )
    assert (transfer.transfer_group, transfer.reversed, transfer.amount_reversed) == (
        "booking-1",
        False,
        0,
    )
    assert client.v1.transfers.retrieve(transfer.id).metadata.to_dict() == {"payment": "p1"}
    created = client.v1.events.list(params={"type": "transfer.created"}).data
    assert [e.data.object.id for e in created] == [transfer.id]
    platform = client.v1.balance.retrieve().available[0]
    connected = client.v1.balance.retrieve(options={"stripe_account": DEMO_ACCOUNT}).available[0]
    assert (platform.currency, platform.amount) == ("usd", 1500)
    assert (connected.currency, connected.amount) == ("usd", 6000)


def test_a_transfer_larger_than_what_its_charge_has_left_is_refused(sandbox):
    client = sdk(sandbox)
    intent = paid_intent(sandbox, client)  # 7500
    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})
    client.v1.transfers.create(
        params=transfer_params(5000, source_transaction=intent.latest_charge)
    )

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.transfers.create(
            params=transfer_params(1501, source_transaction=intent.latest_charge)
        )
    assert (caught.value.http_status, caught.value.param) == (400, "amount")
    assert "15.00 USD" in caught.value.user_message

    last = client.v1.transfers.create(
        params=transfer_params(1500, source_transaction=intent.latest_charge)
    )
    assert last.amount == 1500
    assert len(client.v1.transfers.list().data) == 2


def test_transfer_source_must_exist_succeed_and_match_the_currency(sandbox):
    client = sdk(sandbox)
    charge_id = paid_intent(sandbox, client).latest_charge
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.transfers.create(params=transfer_params(100, source_transaction="ch_nope"))
    assert (missing.value.code, missing.value.param) == ("resource_missing", "source_transaction")
    with pytest.raises(stripe.InvalidRequestError) as currency:
        client.v1.transfers.create(
            params={**transfer_params(100, source_transaction=charge_id), "currency": "eur"}
        )
    assert currency.value.param == "currency"


def test_transfer_without_a_source_needs_an_available_balance(sandbox):
    client = sdk(sandbox)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.transfers.create(params=transfer_params(100))
    assert caught.value.code == "balance_insufficient"
    paid_intent(sandbox, client)
    assert client.v1.transfers.create(params=transfer_params(7500)).amount == 7500


def test_transfer_to_an_unknown_account_is_refused(sandbox):
    client = sdk(sandbox)
    paid_intent(sandbox, client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.transfers.create(params={**transfer_params(100), "destination": "acct_nope"})
    assert (caught.value.code, caught.value.param) == ("resource_missing", "destination")


def test_transfers_list_filters_by_group_and_destination(sandbox):
    client = sdk(sandbox)
    paid_intent(sandbox, client)
    one = client.v1.transfers.create(params=transfer_params(100, transfer_group="g1"))
    two = client.v1.transfers.create(params=transfer_params(200, transfer_group="g2"))
    assert [t.id for t in client.v1.transfers.list().data] == [two.id, one.id]
    assert [t.id for t in client.v1.transfers.list(params={"transfer_group": "g1"}).data] == [
        one.id
    ]
    assert len(client.v1.transfers.list(params={"destination": DEMO_ACCOUNT}).data) == 2
    assert client.v1.transfers.list(params={"destination": "acct_other"}).data == []


def test_reversals_partial_then_full_and_no_further(sandbox):
    client = sdk(sandbox)
    intent = paid_intent(sandbox, client)
    transfer = client.v1.transfers.create(
        params=transfer_params(6000, source_transaction=intent.latest_charge)
    )

    partial = client.v1.transfers.reversals.create(
        transfer.id, params={"amount": 1000, "metadata": {"why": "refund"}}
    )
    rest = client.v1.transfers.reversals.create(transfer.id)

    assert (partial.amount, rest.amount, rest.transfer) == (1000, 5000, transfer.id)
    reversed_ = client.v1.transfers.retrieve(transfer.id)
    assert (reversed_.amount_reversed, reversed_.reversed) == (6000, True)
    listed = client.v1.transfers.reversals.list(transfer.id).data
    assert [r.id for r in listed] == [rest.id, partial.id]
    fetched = client.v1.transfers.reversals.retrieve(transfer.id, partial.id)
    assert fetched.metadata.to_dict() == {"why": "refund"}
    events = client.v1.events.list(params={"type": "transfer.reversed"}).data
    assert [e.data.object.amount_reversed for e in events] == [6000, 1000]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 1})
    connected = client.v1.balance.retrieve(options={"stripe_account": DEMO_ACCOUNT})
    assert connected.available[0].amount == 0


def test_reversing_more_than_the_transfer_has_left_is_refused(sandbox):
    client = sdk(sandbox)
    paid_intent(sandbox, client)
    transfer = client.v1.transfers.create(params=transfer_params(1000))
    client.v1.transfers.reversals.create(transfer.id, params={"amount": 400})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 601})
    assert (caught.value.code, caught.value.param) == ("amount_too_large", "amount")
    assert client.v1.transfers.retrieve(transfer.id).amount_reversed == 400


def test_reversal_of_an_unknown_transfer_is_404(sandbox):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk(sandbox).v1.transfers.reversals.create("tr_missing")
    assert caught.value.http_status == 404


def test_platform_balance_follows_charges_refunds_disputes_and_transfers(sandbox):
    client = sdk(sandbox)
    assert [(b.currency, b.amount) for b in client.v1.balance.retrieve().available] == [("usd", 0)]
    one = paid_intent(sandbox, client)
    paid_intent(sandbox, client, currency="eur", amount=2000)
    client.v1.refunds.create(params={"payment_intent": one.id, "amount": 500})
    two = paid_intent(sandbox, client)
    control(sandbox, "POST", f"/charges/{two.latest_charge}/dispute")
    client.v1.transfers.create(params=transfer_params(1000))

    balance = client.v1.balance.retrieve()
    assert [(b.currency, b.amount) for b in balance.available] == [
        ("usd", 7500 - 500 - 1000),
        ("eur", 2000),
    ]


def test_balance_of_an_unknown_connected_account_is_refused(sandbox):
    with pytest.raises(stripe.PermissionError):
        sdk(sandbox).v1.balance.retrieve(options={"stripe_account": "acct_nope"})


def test_stripe_account_header_elsewhere_is_refused(sandbox):
    response = api(sandbox, "GET", "/v1/transfers", headers={"Stripe-Account": DEMO_ACCOUNT})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_account_parameters_are_validated(sandbox):
    client = sdk(sandbox)
    with pytest.raises(stripe.InvalidRequestError) as kind:
        client.v1.accounts.create(params={"type": "platinum"})
    assert kind.value.param == "type"
    with pytest.raises(stripe.InvalidRequestError) as capability:
        client.v1.accounts.create(
            params={"type": "express", "capabilities": {"teleport": {"requested": True}}}
        )
    assert capability.value.param == "capabilities[teleport]"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.accounts.retrieve("acct_missing")
    assert missing.value.http_status == 404

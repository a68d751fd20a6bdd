"""PaymentIntents, Charges, Refunds and Disputes on the sandbox, through the official SDK."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe

from tests.support.stripe_sandbox import (
    DECLINED_CARD,
    DEMO_ACCOUNT,
    control,
    create_session,
    paid_intent,
    pay,
    sdk,
)


def test_payment_intents_and_charges_list_newest_first_with_cursors(sandbox):
    client = sdk(sandbox)
    intents = [paid_intent(sandbox, client, amount=1000 + i) for i in range(3)]

    page = client.v1.payment_intents.list(params={"limit": 2})
    assert [pi.id for pi in page.data] == [intents[2].id, intents[1].id] and page.has_more
    rest = client.v1.payment_intents.list(params={"starting_after": page.data[-1].id})
    assert [pi.id for pi in rest.data] == [intents[0].id] and not rest.has_more
    charges = client.v1.charges.list(params={"limit": 3}).data
    assert [c.id for c in charges] == [pi.latest_charge for pi in reversed(intents)]
    only = client.v1.charges.list(params={"payment_intent": intents[1].id}).data
    assert [c.amount for c in only] == [1001]


def test_unknown_cursor_is_refused_naming_it(sandbox):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk(sandbox).v1.charges.list(params={"starting_after": "ch_missing"})
    assert caught.value.param == "starting_after"


def test_unknown_intent_and_charge_are_404(sandbox):
    client = sdk(sandbox)
    for fetch in (client.v1.payment_intents.retrieve, client.v1.charges.retrieve):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            fetch("pi_or_ch_missing")
        assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")


def test_partial_then_full_refund_updates_the_charge_and_emits_events(sandbox):
    client = sdk(sandbox)
    intent = paid_intent(sandbox, client)

    first = client.v1.refunds.create(
        params={
            "payment_intent": intent.id,
            "amount": 2500,
            "reason": "requested_by_customer",
            "metadata": {"booking_id": "booking-1"},
        }
    )
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (first.status, first.amount, first.charge, first.payment_intent) == (
        "succeeded",
        2500,
        charge.id,
        intent.id,
    )
    assert first.reason == "requested_by_customer"
    assert first.metadata.to_dict() == {"booking_id": "booking-1"}
    assert (charge.amount_refunded, charge.refunded) == (2500, False)

    rest = client.v1.refunds.create(params={"charge": charge.id})  # no amount: what remains
    charge = client.v1.charges.retrieve(charge.id)
    assert rest.amount == 5000
    assert (charge.amount_refunded, charge.refunded) == (7500, True)
    assert [r.id for r in charge.refunds.data] == [rest.id, first.id]

    refunded = client.v1.events.list(params={"type": "charge.refunded"}).data
    assert [e.data.object.amount_refunded for e in refunded] == [7500, 2500]
    assert refunded[0].data.previous_attributes.to_dict() == {
        "amount_refunded": 2500,
        "refunded": False,
    }
    created = client.v1.events.list(params={"type": "refund.created"}).data
    assert [e.data.object.id for e in created] == [rest.id, first.id]


def test_over_refunding_is_a_400_and_changes_nothing(sandbox):
    client = sdk(sandbox)
    intent = paid_intent(sandbox, client)
    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 7000})

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 501})

    error = caught.value
    assert (error.http_status, error.code, error.param) == (400, "amount_too_large", "amount")
    assert error.error.type == "invalid_request_error"
    assert "5.00 USD" in error.user_message and "5.01 USD" in error.user_message
    assert client.v1.charges.retrieve(intent.latest_charge).amount_refunded == 7000
    assert len(client.v1.refunds.list(params={"payment_intent": intent.id}).data) == 1


def test_refunding_a_fully_refunded_charge_says_so(sandbox):
    client = sdk(sandbox)
    intent = paid_intent(sandbox, client)
    client.v1.refunds.create(params={"payment_intent": intent.id})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id})
    assert caught.value.code == "charge_already_refunded"


def test_concurrent_refunds_never_exceed_the_charge(sandbox):
    client = sdk(sandbox)
    intent = paid_intent(sandbox, client)

    def refund(_: int) -> bool:
        try:
            sdk(sandbox).v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})
        except stripe.InvalidRequestError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=5) as pool:
        succeeded = sum(pool.map(refund, range(10)))
    assert succeeded == 7
    assert client.v1.charges.retrieve(intent.latest_charge).amount_refunded == 7000


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({}, "payment_intent"),
        ({"payment_intent": "pi_x", "charge": "ch_x"}, "charge"),
        ({"payment_intent": "pi_missing"}, "payment_intent"),
        ({"charge": "ch_missing"}, "charge"),
        ({"payment_intent": "PAID", "amount": 0}, "amount"),
        ({"payment_intent": "PAID", "reason": "changed_my_mind"}, "reason"),
    ],
)
def test_bad_refund_requests_are_400_naming_the_parameter(sandbox, params, param):
    client = sdk(sandbox)
    if params.get("payment_intent") == "PAID":
        params = {**params, "payment_intent": paid_intent(sandbox, client).id}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params=params)
    assert (caught.value.http_status, caught.value.param) == (400, param)


def test_an_unpaid_intent_has_nothing_to_refund(sandbox):
    client = sdk(sandbox)
    session = create_session(client)
    pay(sandbox, session.id, card=DECLINED_CARD)
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent_id})
    assert caught.value.code == "charge_not_refundable"


def test_refunds_retrieve_and_list_filtered_by_payment_intent(sandbox):
    client = sdk(sandbox)
    one, two = paid_intent(sandbox, client), paid_intent(sandbox, client)
    refund_one = client.v1.refunds.create(params={"payment_intent": one.id, "amount": 100})
    client.v1.refunds.create(params={"payment_intent": two.id, "amount": 200})

    assert client.v1.refunds.retrieve(refund_one.id).amount == 100
    listed = client.v1.refunds.list(params={"payment_intent": one.id}).data
    assert [r.id for r in listed] == [refund_one.id]
    by_charge = client.v1.refunds.list(params={"charge": two.latest_charge}).data
    assert [r.amount for r in by_charge] == [200]
    assert len(client.v1.refunds.list().data) == 2
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.retrieve("re_missing")


def test_dispute_control_opens_a_dispute_and_emits_the_event(sandbox):
    client = sdk(sandbox)
    intent = paid_intent(sandbox, client)

    response = control(
        sandbox, "POST", f"/charges/{intent.latest_charge}/dispute", json={"reason": "fraudulent"}
    )

    assert response.status_code == 200
    dispute = client.v1.disputes.retrieve(response.json()["id"])
    assert (dispute.amount, dispute.charge, dispute.payment_intent, dispute.reason) == (
        7500,
        intent.latest_charge,
        intent.id,
        "fraudulent",
    )
    assert dispute.status == "needs_response"
    assert client.v1.charges.retrieve(intent.latest_charge).disputed is True
    events = client.v1.events.list(params={"type": "charge.dispute.created"}).data
    assert [e.data.object.id for e in events] == [dispute.id]
    listed = client.v1.disputes.list(params={"charge": intent.latest_charge}).data
    assert [d.id for d in listed] == [dispute.id]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id})
    assert caught.value.code == "charge_disputed"


def test_dispute_control_refuses_a_second_dispute_and_unknown_charges(sandbox):
    client = sdk(sandbox)
    charge_id = paid_intent(sandbox, client).latest_charge
    assert control(sandbox, "POST", f"/charges/{charge_id}/dispute").status_code == 200
    assert control(sandbox, "POST", f"/charges/{charge_id}/dispute").status_code == 400
    missing = control(sandbox, "POST", "/charges/ch_missing/dispute")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"


def test_many_sessions_are_paid_in_one_control_call_each_with_a_charge_to_transfer_from(sandbox):
    bookings = ["booking-a", "booking-b", "booking-c"]
    response = control(
        sandbox,
        "POST",
        "/checkout/sessions/paid",
        json={"bookings": bookings, "amount": 7500, "currency": "usd"},
    )
    assert response.status_code == 200, response.text
    made = response.json()["data"]
    assert [m["booking_id"] for m in made] == bookings

    client = sdk(sandbox)
    for booking, paid in zip(bookings, made, strict=True):
        session = client.v1.checkout.sessions.retrieve(paid["checkout_session"])
        assert (session.status, session.payment_status) == ("complete", "paid")
        assert session.client_reference_id == booking
        intent = client.v1.payment_intents.retrieve(paid["payment_intent"])
        assert (intent.status, intent.latest_charge) == ("succeeded", paid["charge"])
        assert intent.transfer_group == booking
        assert client.v1.charges.retrieve(paid["charge"]).amount == 7500
    transfer = client.v1.transfers.create(
        params={
            "amount": 6750,
            "currency": "usd",
            "destination": DEMO_ACCOUNT,
            "source_transaction": made[0]["charge"],
            "transfer_group": bookings[0],
        }
    )
    assert transfer.source_transaction == made[0]["charge"]


def test_paying_many_sessions_with_a_declining_card_is_refused_like_one(sandbox):
    response = control(
        sandbox,
        "POST",
        "/checkout/sessions/paid",
        json={"bookings": ["booking-x"], "amount": 7500, "currency": "usd", "card": DECLINED_CARD},
    )
    assert response.status_code == 402
    assert response.json()["error"]["type"] == "card_error"

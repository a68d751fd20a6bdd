"""Checkout Sessions on the sandbox, driven with the official SDK, and paying them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe

from tests.support.stripe_sandbox import (
    DECLINED_CARD,
    INSUFFICIENT_FUNDS_CARD,
    RETURN_URL,
    api,
    control,
    create_session,
    pay,
    receiver,
    register,
    sdk,
    session_params,
)
from tests.support.waiting import wait_until


@pytest.mark.parametrize("ui_mode", ["embedded_page", "embedded"])
def test_embedded_session_is_created_open_with_a_client_secret(sandbox, ui_mode):
    client = sdk(sandbox)
    session = create_session(
        client, ui_mode=ui_mode, customer_email="ada@example.com", metadata={"booking_id": "b-42"}
    )

    assert session.id.startswith("cs_test_")
    assert session.client_secret.startswith(f"{session.id}_secret_")
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert (session.amount_total, session.currency, session.mode) == (7500, "usd", "payment")
    assert session.ui_mode == ui_mode
    assert session.return_url == RETURN_URL
    assert session.url is None and session.success_url is None
    assert session.customer_email == "ada@example.com"
    assert session.metadata.to_dict() == {"booking_id": "b-42"}
    assert session.payment_intent is None  # made when the customer pays
    assert session.expires_at - session.created == 24 * 3600  # Stripe's default


def test_session_totals_quantity_times_unit_amount_over_all_line_items(sandbox):
    item = {
        "price_data": {"currency": "eur", "unit_amount": 1250, "product_data": {"name": "Review"}},
        "quantity": 3,
    }
    other = {
        "price_data": {"currency": "eur", "unit_amount": 500, "product_data": {"name": "Notes"}},
        "quantity": 1,
    }
    session = create_session(sdk(sandbox), line_items=[item, other])
    assert (session.amount_total, session.amount_subtotal, session.currency) == (4250, 4250, "eur")


def test_hosted_session_points_at_the_sandbox_checkout_page(sandbox):
    client = sdk(sandbox)
    session = create_session(
        client,
        ui_mode="hosted_page",
        return_url=None,
        success_url="https://mentorpay.example/ok?cs={CHECKOUT_SESSION_ID}",
    )
    assert session.url == f"{sandbox.url}/_sandbox/checkout/{session.id}"
    assert session.client_secret is None


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"return_url": None}, "return_url"),
        ({"success_url": "https://x.example/ok"}, "success_url"),
        ({"return_url": "not a url"}, "return_url"),
        ({"customer_email": "not-an-email"}, "customer_email"),
        ({"mode": "subscription"}, "mode"),
        ({"ui_mode": "popup"}, "ui_mode"),
        ({"line_items": []}, "line_items"),
    ],
)
def test_invalid_session_parameters_are_refused_naming_the_parameter(sandbox, overrides, param):
    params = {k: v for k, v in {**session_params(), **overrides}.items() if v is not None}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk(sandbox).v1.checkout.sessions.create(params=params)
    assert caught.value.http_status == 400
    assert caught.value.param == param


@pytest.mark.parametrize("seconds_ahead", [1799, 24 * 3600 + 1])
def test_expires_at_outside_30_minutes_to_24_hours_is_refused(sandbox, seconds_ahead):
    client = sdk(sandbox)
    now = create_session(client).created
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create_session(client, expires_at=now + seconds_ahead)
    assert caught.value.param == "expires_at"


def test_expires_at_may_be_chosen_between_30_minutes_and_24_hours(sandbox):
    client = sdk(sandbox)
    created = create_session(client).created
    # 31 minutes: the next session may be created a second later than ``created``.
    session = create_session(client, expires_at=created + 1860)
    assert session.expires_at == created + 1860


def test_line_items_in_different_currencies_or_with_a_price_id_are_refused(sandbox):
    client = sdk(sandbox)
    usd = session_params()["line_items"][0]
    eur = {**usd, "price_data": {**usd["price_data"], "currency": "eur"}}
    with pytest.raises(stripe.InvalidRequestError) as mixed:
        create_session(client, line_items=[usd, eur])
    assert mixed.value.param == "line_items"
    with pytest.raises(stripe.InvalidRequestError) as priced:
        create_session(client, line_items=[{"price": "price_123", "quantity": 1}])
    assert (priced.value.code, priced.value.param) == ("resource_missing", "line_items[0][price]")


def test_total_below_the_currency_minimum_is_refused(sandbox):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create_session(sdk(sandbox), amount=49)
    assert caught.value.code == "amount_too_small"


def test_paying_completes_the_session_and_makes_a_succeeded_intent_and_charge(sandbox):
    client = sdk(sandbox)
    session = create_session(client, customer_email="ada@example.com")

    response = pay(sandbox, session.id, name="Ada Lovelace")

    assert response.status_code == 200
    paid = client.v1.checkout.sessions.retrieve(session.id)
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    assert paid.customer_details.email == "ada@example.com"
    intent = client.v1.payment_intents.retrieve(paid.payment_intent)
    assert (intent.status, intent.amount, intent.amount_received) == ("succeeded", 7500, 7500)
    assert intent.metadata.to_dict() == {"booking_id": "booking-1"}
    assert intent.transfer_group == "booking-1"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.status, charge.paid, charge.captured, charge.amount) == (
        "succeeded",
        True,
        True,
        7500,
    )
    assert charge.payment_intent == intent.id
    assert charge.payment_method_details.card.last4 == "4242"
    assert charge.transfer_group == "booking-1"


@pytest.mark.parametrize(
    ("card", "decline_code", "message"),
    [
        (DECLINED_CARD, "generic_decline", "Your card was declined."),
        (INSUFFICIENT_FUNDS_CARD, "insufficient_funds", "Your card has insufficient funds."),
    ],
)
def test_declined_card_answers_402_and_leaves_the_session_open(
    sandbox, card, decline_code, message
):
    client = sdk(sandbox)
    session = create_session(client)

    response = pay(sandbox, session.id, card=card)

    assert response.status_code == 402
    error = response.json()["error"]
    assert (error["type"], error["code"], error["decline_code"], error["message"]) == (
        "card_error",
        "card_declined",
        decline_code,
        message,
    )
    still_open = client.v1.checkout.sessions.retrieve(session.id)
    assert (still_open.status, still_open.payment_status) == ("open", "unpaid")
    intent = client.v1.payment_intents.retrieve(still_open.payment_intent)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == decline_code
    failed = client.v1.charges.retrieve(error["charge"])
    assert (failed.status, failed.paid, failed.failure_code) == ("failed", False, "card_declined")
    failures = client.v1.events.list(params={"type": "payment_intent.payment_failed"})
    assert [e.data.object.id for e in failures.data] == [intent.id]


def test_paying_again_with_a_good_card_after_a_decline_succeeds_on_the_same_intent(sandbox):
    client = sdk(sandbox)
    session = create_session(client)
    assert pay(sandbox, session.id, card=DECLINED_CARD).status_code == 402
    first_intent = client.v1.checkout.sessions.retrieve(session.id).payment_intent

    assert pay(sandbox, session.id, card="4242 4242 4242 4242").status_code == 200

    paid = client.v1.checkout.sessions.retrieve(session.id)
    assert paid.status == "complete" and paid.payment_intent == first_intent
    intent = client.v1.payment_intents.retrieve(first_intent)
    assert intent.status == "succeeded" and intent.last_payment_error is None
    charges = client.v1.charges.list(params={"payment_intent": first_intent}).data
    assert sorted(c.status for c in charges) == ["failed", "succeeded"]


def test_card_that_is_not_a_card_number_is_refused_without_any_trace(sandbox):
    client = sdk(sandbox)
    session = create_session(client)
    response = pay(sandbox, session.id, card="1234 5678")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "incorrect_number"
    assert client.v1.checkout.sessions.retrieve(session.id).payment_intent is None


def test_a_completed_session_cannot_be_paid_twice(sandbox):
    session = create_session(sdk(sandbox))
    assert pay(sandbox, session.id).status_code == 200
    again = pay(sandbox, session.id)
    assert again.status_code == 400
    assert again.json()["error"]["type"] == "invalid_request_error"


def test_concurrent_payments_of_one_session_charge_it_once(sandbox):
    client = sdk(sandbox)
    session = create_session(client)
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(lambda _: pay(sandbox, session.id).status_code, range(6)))
    assert statuses == [200, 400, 400, 400, 400, 400]
    assert len(client.v1.charges.list().data) == 1


def test_paying_an_unknown_session_is_a_404(sandbox):
    response = pay(sandbox, "cs_test_nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"


def test_retrieve_can_expand_the_payment_intent_and_its_charge(sandbox):
    client = sdk(sandbox)
    session = create_session(client)
    pay(sandbox, session.id)

    expanded = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]}
    )

    assert expanded.payment_intent.object == "payment_intent"
    assert expanded.payment_intent.latest_charge.object == "charge"
    # The bracket-append form (expand[]=...) as curl users write it.
    body = api(sandbox, "GET", f"/v1/checkout/sessions/{session.id}?expand[]=payment_intent").json()
    assert body["payment_intent"]["id"] == expanded.payment_intent.id


def test_expanding_a_field_that_does_not_expand_is_refused(sandbox):
    client = sdk(sandbox)
    session = create_session(client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["metadata"]})
    assert caught.value.param == "expand[0]"


def test_list_sessions_pages_newest_first_and_filters(sandbox):
    client = sdk(sandbox)
    ids = [create_session(client).id for _ in range(5)]
    pay(sandbox, ids[1])

    first = client.v1.checkout.sessions.list(params={"limit": 2})
    assert [s.id for s in first.data] == ids[:-3:-1] and first.has_more
    rest = client.v1.checkout.sessions.list(
        params={"limit": 10, "starting_after": first.data[-1].id}
    )
    assert [s.id for s in rest.data] == ids[2::-1] and not rest.has_more
    before = client.v1.checkout.sessions.list(params={"ending_before": ids[2], "limit": 1})
    assert [s.id for s in before.data] == [ids[3]] and before.has_more
    every = [s.id for s in client.v1.checkout.sessions.list(params={"limit": 2}).auto_paging_iter()]
    assert every == ids[::-1]
    complete = client.v1.checkout.sessions.list(params={"status": "complete"})
    assert [s.id for s in complete.data] == [ids[1]]


def test_expire_ends_an_open_session_and_emits_the_event(sandbox):
    client = sdk(sandbox)
    session = create_session(client)

    expired = client.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    assert pay(sandbox, session.id).status_code == 400
    events = client.v1.events.list(params={"type": "checkout.session.expired"}).data
    assert [e.data.object.id for e in events] == [session.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)


def test_expire_cancels_the_intent_a_failed_attempt_left(sandbox):
    client = sdk(sandbox)
    session = create_session(client)
    pay(sandbox, session.id, card=DECLINED_CARD)
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    client.v1.checkout.sessions.expire(session.id)
    assert client.v1.payment_intents.retrieve(intent_id).status == "canceled"


def test_sessions_expire_by_themselves_when_the_sandbox_clock_passes_expires_at(sandbox):
    client = sdk(sandbox)
    with receiver() as hook:
        register(sandbox, hook.url)
        # 31 minutes from the first session's creation (the second may come a second later).
        session = create_session(client, expires_at=create_session(client).created + 1860)
        other = create_session(client)  # expires 24 h after creation: stays open

        advanced = control(sandbox, "POST", "/clock/advance", json={"seconds": 1861})
        assert advanced.status_code == 200

        # Only the background sweep can make this happen: nothing calls the API meanwhile.
        expired = wait_until(lambda: hook.events("checkout.session.expired"), timeout=10)
    assert [e["data"]["object"]["id"] for e in expired] == [session.id]
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    assert client.v1.checkout.sessions.retrieve(other.id).status == "open"


def test_paying_after_expires_at_is_refused_even_before_the_sweep(sandbox):
    client = sdk(sandbox)
    session = create_session(client, expires_at=create_session(client).created + 1860)
    sandbox.state.stripe.stop()  # no sweep: the pay itself must notice the deadline
    control(sandbox, "POST", "/clock/advance", json={"seconds": 1861})
    assert pay(sandbox, session.id).status_code == 400
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_unknown_session_is_a_404_resource_missing(sandbox):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk(sandbox).v1.checkout.sessions.retrieve("cs_test_missing")
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")

"""Signed, retried webhook delivery and the events API."""

from __future__ import annotations

import pytest
import stripe
from fastapi import FastAPI

from mentorpay.servers import BackgroundServer
from sandbox.stripe.webhooks import RetryPolicy
from tests.support.stripe_sandbox import (
    control,
    create_session,
    deliveries,
    pay,
    receiver,
    register,
    sdk,
)
from tests.support.waiting import wait_until

SECRET = "whsec_test_secret"
PAYMENT_EVENTS = [
    "payment_intent.created",
    "charge.succeeded",
    "payment_intent.succeeded",
    "checkout.session.completed",
]


def test_events_are_delivered_signed_so_construct_event_verifies_them(sandbox):
    client = sdk(sandbox)
    with receiver() as hook:
        register(sandbox, hook.url, SECRET)
        session = create_session(client)
        pay(sandbox, session.id)
        wait_until(lambda: len(hook.received) >= len(PAYMENT_EVENTS))

    assert sorted(e["type"] for e in hook.events()) == sorted(PAYMENT_EVENTS)
    for delivery in hook.received:
        event = stripe.Webhook.construct_event(delivery.body, delivery.signature, SECRET)
        assert event.livemode is False
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(delivery.body, delivery.signature, "whsec_other")
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(delivery.body + b" ", delivery.signature, SECRET)
    completed = hook.events("checkout.session.completed")[0]
    assert completed["data"]["object"]["id"] == session.id
    assert completed["data"]["object"]["payment_status"] == "paid"


def test_event_carries_stripes_envelope(sandbox):
    client = sdk(sandbox)
    session = create_session(client)
    client.v1.checkout.sessions.expire(session.id, options={"idempotency_key": "expire-1"})

    event = client.v1.events.list(params={"type": "checkout.session.expired"}).data[0]

    assert event.id.startswith("evt_") and event.object == "event"
    assert event.api_version == "2026-10-28.endive"
    assert event.livemode is False
    assert isinstance(event.created, int)
    assert event.pending_webhooks == 0  # no endpoint registered
    assert event.request.idempotency_key == "expire-1"
    assert event.request.id.startswith("req_")
    assert event.data.object.status == "expired"  # a snapshot taken at the change
    assert event.data.previous_attributes.status == "open"
    assert client.v1.events.retrieve(event.id).id == event.id


def test_events_caused_by_the_customer_have_no_api_request(sandbox):
    client = sdk(sandbox)
    pay(sandbox, create_session(client).id)
    event = client.v1.events.list(params={"type": "charge.succeeded"}).data[0]
    assert (event.request.id, event.request.idempotency_key) == (None, None)


def test_event_data_object_is_a_snapshot_not_the_live_object(sandbox):
    client = sdk(sandbox)
    session = create_session(client)
    pay(sandbox, session.id)
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    created = client.v1.events.list(params={"type": "payment_intent.created"}).data[0]
    assert created.data.object.id == intent_id
    assert created.data.object.status == "requires_payment_method"


def test_events_list_filters_by_type_wildcard_and_types(sandbox):
    client = sdk(sandbox)
    pay(sandbox, create_session(client).id)

    all_types = [e.type for e in client.v1.events.list().data]
    assert all_types == PAYMENT_EVENTS[::-1]
    intents = client.v1.events.list(params={"type": "payment_intent.*"}).data
    assert [e.type for e in intents] == ["payment_intent.succeeded", "payment_intent.created"]
    chosen = client.v1.events.list(
        params={"types": ["charge.succeeded", "checkout.session.completed"]}
    ).data
    assert [e.type for e in chosen] == ["checkout.session.completed", "charge.succeeded"]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.retrieve("evt_missing")


def test_a_receiver_answering_500_gets_the_event_again(sandbox):
    client = sdk(sandbox)
    with receiver(planned_statuses=[500]) as hook:
        register(sandbox, hook.url, SECRET)
        client.v1.checkout.sessions.expire(create_session(client).id)
        wait_until(lambda: len(hook.received) == 2)

    first, second = hook.received
    assert first.body == second.body  # the same event, byte for byte
    stripe.Webhook.construct_event(second.body, second.signature, SECRET)
    attempts = deliveries(sandbox)
    assert [(a["attempt"], a["status"], a["delivered"]) for a in attempts] == [
        (1, 500, False),
        (2, 200, True),
    ]
    assert attempts[0]["next_retry_in_seconds"] == pytest.approx(0.2)
    assert attempts[1]["next_retry_in_seconds"] is None
    event_id = first.event_id
    assert wait_until(lambda: client.v1.events.retrieve(event_id).pending_webhooks == 0)


def test_a_receiver_that_is_down_gets_the_event_once_it_is_back(sandbox):
    client = sdk(sandbox)
    with receiver() as hook:
        url = hook.url  # remember a port, then take the receiver down
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    register(sandbox, url, SECRET)
    client.v1.checkout.sessions.expire(create_session(client).id)
    wait_until(lambda: deliveries(sandbox))
    assert deliveries(sandbox)[0]["status"] is None
    assert "Connect" in deliveries(sandbox)[0]["error"]

    with receiver(port=port) as back:
        got = wait_until(lambda: back.events("checkout.session.expired"), timeout=15)
    assert (
        stripe.Webhook.construct_event(back.received[0].body, back.received[0].signature, SECRET).id
        == got[0]["id"]
    )


def test_retries_stop_after_the_configured_number_of_attempts(sandbox):
    sandbox.state.stripe.webhooks.policy = RetryPolicy(initial_delay=0.02, max_attempts=3)
    client = sdk(sandbox)
    with receiver(planned_statuses=[503] * 10) as hook:
        register(sandbox, hook.url, SECRET)
        client.v1.checkout.sessions.expire(create_session(client).id)
        attempts = wait_until(lambda: (a := deliveries(sandbox)) and a[-1]["attempt"] == 3 and a)
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, 503), (2, 503), (3, 503)]
    assert attempts[-1]["next_retry_in_seconds"] is None  # given up: nothing more scheduled
    assert [a["next_retry_in_seconds"] for a in attempts[:2]] == pytest.approx([0.02, 0.04])


def test_every_registered_endpoint_gets_every_event(sandbox):
    client = sdk(sandbox)
    with receiver() as one, receiver() as two:
        register(sandbox, one.url, "whsec_one")
        register(sandbox, two.url, "whsec_two")
        client.v1.checkout.sessions.expire(create_session(client).id)
        wait_until(lambda: one.received and two.received)
    stripe.Webhook.construct_event(one.received[0].body, one.received[0].signature, "whsec_one")
    stripe.Webhook.construct_event(two.received[0].body, two.received[0].signature, "whsec_two")
    event = client.v1.events.list().data[0]
    assert wait_until(lambda: client.v1.events.retrieve(event.id).pending_webhooks == 0)


def test_delivery_happens_off_the_request_thread(sandbox):
    """The API call that caused an event answers while its delivery is still in flight."""
    entered: list[bool] = []
    gate: list[bool] = []
    slow = FastAPI()

    @slow.post("/hook")
    def hook() -> dict[str, str]:
        entered.append(True)
        wait_until(lambda: gate, timeout=5)
        return {}

    client = sdk(sandbox)
    with BackgroundServer(slow) as server:
        register(sandbox, f"{server.url}/hook", SECRET)
        expired = client.v1.checkout.sessions.expire(create_session(client).id)
        wait_until(lambda: entered)
        assert expired.status == "expired"
        assert deliveries(sandbox) == []  # the attempt has not finished: the hook is waiting
        gate.append(True)
        attempts = wait_until(lambda: deliveries(sandbox))
    assert attempts[0]["delivered"] is True


def test_a_receiver_too_slow_to_answer_counts_as_a_failure_and_is_retried(sandbox):
    sandbox.state.stripe.webhooks.policy = RetryPolicy(timeout=0.3)
    calls: list[bool] = []
    released: list[bool] = []
    slow_once = FastAPI()

    @slow_once.post("/hook")
    def hook() -> dict[str, str]:
        calls.append(True)
        if len(calls) == 1:
            wait_until(lambda: released, timeout=5)
        return {}

    client = sdk(sandbox)
    with BackgroundServer(slow_once) as server:
        register(sandbox, f"{server.url}/hook", SECRET)
        client.v1.checkout.sessions.expire(create_session(client).id)
        attempts = wait_until(lambda: (a := deliveries(sandbox)) and a[-1]["delivered"] and a)
        released.append(True)
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, None), (2, 200)]
    assert "Timeout" in attempts[0]["error"]


def test_reset_forgets_test_endpoints_but_keeps_startup_ones(sandbox):
    with receiver() as kept, receiver() as dropped:
        sandbox.state.add_webhook_endpoint(kept.url, SECRET)  # what the CLI flag does
        register(sandbox, dropped.url, SECRET)
        assert control(sandbox, "DELETE", "/state").status_code == 204
        listed = control(sandbox, "GET", "/webhook-endpoints").json()["endpoints"]
        assert listed == [kept.url]
        client = sdk(sandbox)
        client.v1.checkout.sessions.expire(create_session(client).id)
        wait_until(lambda: kept.received)
    assert dropped.received == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/hook", "secret": SECRET},
        {"url": "http://x.test/h"},
        {"url": "http://x.test/h", "secret": ""},
    ],
)
def test_bad_webhook_endpoint_registration_is_a_4xx(sandbox, body):
    assert control(sandbox, "POST", "/webhook-endpoints", json=body).status_code == 422


def test_deliveries_can_be_filtered_by_event_and_type(sandbox):
    client = sdk(sandbox)
    with receiver() as hook:
        register(sandbox, hook.url, SECRET)
        pay(sandbox, create_session(client).id)
        wait_until(lambda: len(deliveries(sandbox)) == len(PAYMENT_EVENTS))
    charge_events = deliveries(sandbox, type="charge.succeeded")
    assert [a["type"] for a in charge_events] == ["charge.succeeded"]
    assert deliveries(sandbox, event=charge_events[0]["event"]) == charge_events

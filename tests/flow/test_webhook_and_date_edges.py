"""Webhooks answer honestly (malformed 400 and logged, transient 503 so Stripe retries, never a
500), and out-of-range dates are a 422 rather than a provider error."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.stack import WEBHOOK_SECRET, Stack, running_stack
from tests.support.stripe_signature import post_webhook, sign


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    url = f"sqlite:///{tmp_path_factory.mktemp('edges')}/mentorpay.db"
    with running_stack(url) as running:
        yield running


def _event(event_type: str, obj: Any, **overrides: Any) -> dict[str, Any]:
    event = {
        "id": f"evt_edge_{time.monotonic_ns()}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": obj},
    }
    event.update(overrides)
    return event


def _signed_post(stack: Stack, body: Any) -> httpx.Response:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return post_webhook(stack, payload, sign(payload, WEBHOOK_SECRET, int(time.time())))


UNKNOWN_INTENT = {"id": "pi_doesnotexist0001", "object": "payment_intent"}
MALFORMED = {
    "a JSON array": [1, 2, 3],
    "a JSON string": "checkout.session.completed",
    "not JSON": b"{nope",
    "created 1e40": _event("payment_intent.succeeded", UNKNOWN_INTENT, created=1e40),
    "no data.object": _event("payment_intent.succeeded", None),
    "an intent Stripe does not know": _event("payment_intent.succeeded", UNKNOWN_INTENT),
    "a session Stripe does not know": _event(
        "checkout.session.expired", {"id": "cs_test_nope", "object": "checkout.session"}
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_signed_but_malformed_event_is_a_400_and_logged(
    stack: Stack, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    head = stack.container.ledger.recorder.max_notification_id()
    with caplog.at_level(logging.WARNING, logger="processes.services.stripe_events"):
        response = _signed_post(stack, MALFORMED[case])
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [r for r in caplog.records if r.name == "processes.services.stripe_events"]
    assert stack.container.ledger.recorder.max_notification_id() == head


def test_stripe_unavailable_while_handling_is_a_503_with_one_log_line(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    with stack.sandbox_client() as sandbox:
        sandbox.post("/_sandbox/faults", json={
            "service": "stripe", "method": "GET", "path": "/v1/payment_intents/*",
            "status": 503, "times": 3,
        })  # fmt: skip
    try:
        with caplog.at_level(logging.INFO):
            response = _signed_post(stack, _event("payment_intent.succeeded", UNKNOWN_INTENT))
    finally:
        with stack.sandbox_client() as sandbox:
            sandbox.delete("/_sandbox/faults")
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    ours = [r for r in caplog.records if r.name == "processes.services.stripe_events"]
    assert len(ours) == 1 and ours[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z"])
def test_a_slot_query_or_checkout_far_out_of_range_is_a_422(stack: Stack, when: str) -> None:
    with stack.client() as client:
        slots = client.get(
            "/api/event-types/1001/slots",
            params={"start": when, "end": when.replace("T00:00", "T01:00").replace("T23", "T23")},
        )
        checkout = client.post(
            "/api/checkout-sessions",
            json={
                "eventTypeId": 1001,
                "start": when,
                "attendee": {"name": "A", "email": "a@example.com", "timeZone": "UTC"},
            },
        )
    for response in (slots, checkout):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "start" in response.text

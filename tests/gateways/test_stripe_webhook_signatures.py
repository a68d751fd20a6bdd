"""Only a body signed with our endpoint secret, recently, becomes a WebhookEvent."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from processes.gateways.stripe_gateway import (
    WebhookEvent,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
    parse_webhook,
)
from tests.support import stripe_signature

SECRET = "whsec_test_gateways"


def sign(payload: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header as Stripe builds it, with this module's secret by default."""
    return stripe_signature.sign(payload, secret, timestamp)


def event_body(**overrides: object) -> bytes:
    event = {
        "id": "evt_1TestGateways",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": 1_790_000_000,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_123",
                "object": "checkout.session",
                "payment_status": "paid",
                "metadata": {"booking_id": "6f1c0c56-1b7e-4c1e-9d1a-0a0a0a0a0a0a"},
            }
        },
        **overrides,
    }
    return json.dumps(event).encode()


def test_a_correctly_signed_event_is_parsed_into_plain_values() -> None:
    payload = event_body()

    event = parse_webhook(payload, sign(payload), SECRET)

    assert event == WebhookEvent(
        id="evt_1TestGateways",
        type="checkout.session.completed",
        created=datetime.fromtimestamp(1_790_000_000, UTC),
        object={
            "id": "cs_test_123",
            "object": "checkout.session",
            "payment_status": "paid",
            "metadata": {"booking_id": "6f1c0c56-1b7e-4c1e-9d1a-0a0a0a0a0a0a"},
        },
    )
    assert type(event.object["metadata"]) is dict  # plain JSON values, not SDK objects


def test_one_matching_signature_among_several_is_enough() -> None:
    """During secret rotation Stripe sends one v1 signature per active secret."""
    payload = event_body()
    t = int(time.time())
    other = sign(payload, secret="whsec_old", timestamp=t).split(",")[1]
    header = f"{sign(payload, timestamp=t)},{other}"

    assert parse_webhook(payload, header, SECRET).id == "evt_1TestGateways"


@pytest.mark.parametrize(
    ("case", "make_header", "body"),
    [
        ("tampered body", lambda p: sign(p), event_body(type="charge.refunded")),
        ("wrong secret", lambda p: sign(p, secret="whsec_someone_else"), None),
        ("stale timestamp", lambda p: sign(p, timestamp=int(time.time()) - 301), None),
        ("missing header", lambda p: None, None),
        ("empty header", lambda p: "", None),
        ("garbage header", lambda p: "not-a-signature", None),
        ("no v1 scheme", lambda p: sign(p).replace("v1=", "v0="), None),
    ],
)
def test_a_delivery_not_provably_from_stripe_is_rejected(case, make_header, body) -> None:
    signed = event_body()
    header = make_header(signed)
    payload = body if body is not None else signed  # "tampered": signed one body, sent another

    with pytest.raises(WebhookSignatureInvalid):
        parse_webhook(payload, header, SECRET)


def test_the_tolerance_is_configurable() -> None:
    payload = event_body()
    ten_minutes_ago = int(time.time()) - 600

    with pytest.raises(WebhookSignatureInvalid):
        parse_webhook(payload, sign(payload, timestamp=ten_minutes_ago), SECRET)
    assert parse_webhook(payload, sign(payload, timestamp=ten_minutes_ago), SECRET, tolerance=900)


@pytest.mark.parametrize(
    "payload",
    [b"not json at all", json.dumps({"id": "evt_1", "object": "event", "type": "x"}).encode()],
    ids=["not json", "no data.object"],
)
def test_a_signed_body_that_is_not_a_stripe_event_is_rejected(payload: bytes) -> None:
    with pytest.raises(WebhookPayloadInvalid):
        parse_webhook(payload, sign(payload), SECRET)

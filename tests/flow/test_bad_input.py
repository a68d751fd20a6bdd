"""Bad input on every endpoint: a 4xx problem document, never a 500, and nothing written —
not in the ledger, not at Cal.com (no slot held), not at Stripe (no checkout opened)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import stripe

from tests.support.http import http_client
from tests.support.stack import WEBHOOK_SECRET, Stack
from tests.support.stripe_signature import sign

PROBLEM_JSON = "application/problem+json"
ALAN = {"name": "Alan Turing", "email": "alan@example.com", "timeZone": "Europe/London"}


def _sdk(stack: Stack) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_sandbox", base_addresses={"api": stack.sandbox_url})


def _footprint(stack: Stack) -> tuple[int, int, int]:
    """What a request could have left behind: ledger events, slot holds, checkout sessions."""
    with stack.sandbox_client() as sandbox:
        reservations = sandbox.get("/_sandbox/calcom/bookings").json()["reservations"]
    sessions = _sdk(stack).v1.checkout.sessions.list(params={"limit": 100}).data
    head = stack.container.ledger.recorder.max_notification_id() or 0
    return head, len(reservations), len(sessions)


def _assert_refused(
    stack: Stack, cases: dict[str, tuple[str, str, dict[str, Any]]], client: httpx.Client
) -> dict[str, int]:
    """Send every case; each must be a 4xx problem document. Returns the statuses by case."""
    before = _footprint(stack)
    statuses = {}
    for case, (method, url, kwargs) in cases.items():
        response = client.request(method, url, **kwargs)
        assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON), (case, response.headers)
        assert response.json()["status"] == response.status_code, case
        statuses[case] = response.status_code
    assert _footprint(stack) == before
    return statuses


def _checkout(body: dict[str, Any], **kwargs: Any) -> tuple[str, str, dict[str, Any]]:
    return ("POST", "/api/checkout-sessions", {"json": body, **kwargs})


def test_bad_checkout_requests_are_refused_and_hold_nothing(stack: Stack) -> None:
    slot = stack.free_slot()
    good: dict[str, Any] = {"eventTypeId": 1001, "start": slot.isoformat(), "attendee": ALAN}
    yesterday = (slot - timedelta(days=3)).replace(hour=10, minute=0)
    odd_minute = slot.replace(hour=3, minute=17)

    def but(**changes: Any) -> dict[str, Any]:
        return {**good, **changes}

    def attendee(**changes: Any) -> dict[str, Any]:
        return but(attendee={**ALAN, **changes})

    cases = {
        "event type as text": _checkout(but(eventTypeId="1001")),
        "event type as float": _checkout(but(eventTypeId=1001.5)),
        "event type negative": _checkout(but(eventTypeId=-1)),
        "event type huge": _checkout(but(eventTypeId=2**70)),
        "unknown event type": _checkout(but(eventTypeId=424242)),
        "start in the past": _checkout(but(start=yesterday.isoformat())),
        "start not offered": _checkout(but(start=odd_minute.isoformat())),
        "start naive": _checkout(but(start=slot.replace(tzinfo=None).isoformat())),
        "start not a time": _checkout(but(start="tomorrow at nine")),
        "start as number": _checkout(but(start=int(slot.timestamp()))),
        "start far future": _checkout(but(start="2999-01-04T10:00:00+00:00")),
        "email invalid": _checkout(attendee(email="alan-at-example")),
        "time zone invalid": _checkout(attendee(timeZone="Mars/Olympus_Mons")),
        "time zone path": _checkout(attendee(timeZone="../../etc/passwd")),
        "name empty": _checkout(attendee(name="   ")),
        "name too long": _checkout(attendee(name="A" * 5000)),
        "attendee missing": _checkout({"eventTypeId": 1001, "start": slot.isoformat()}),
        "attendee a string": _checkout(but(attendee="Alan")),
        "extra field": _checkout(but(amount=1)),
        "extra attendee field": _checkout(attendee(role="admin")),
        "body a list": _checkout([good]),  # type: ignore[arg-type]
        "malformed json": (
            "POST",
            "/api/checkout-sessions",
            {"content": b'{"eventTypeId": 1001,', "headers": {"Content-Type": "application/json"}},
        ),
        "deeply nested json": (
            "POST",
            "/api/checkout-sessions",
            {
                "content": b"[" * 30_000 + b"]" * 30_000,
                "headers": {"Content-Type": "application/json"},
            },
        ),
        "json as text/plain": (
            "POST",
            "/api/checkout-sessions",
            {"content": json.dumps(good).encode(), "headers": {"Content-Type": "text/plain"}},
        ),
        "oversized": (
            "POST",
            "/api/checkout-sessions",
            {"json": but(padding="x" * (64 * 1024 + 1))},
        ),
        "idempotency key too long": _checkout(good, headers={"Idempotency-Key": "k" * 256}),
        "idempotency key empty": _checkout(good, headers={"Idempotency-Key": ""}),
    }
    with stack.client() as client:
        statuses = _assert_refused(stack, cases, client)
        assert statuses["oversized"] == 413
        assert statuses["unknown event type"] == 404
        # After all that, the same slot is still free and the good request goes through.
        assert client.post("/api/checkout-sessions", json=good).status_code == 201


def test_bad_slot_queries_confirms_and_reads_are_refused(stack: Stack) -> None:
    now = datetime.now(UTC)
    window = {
        "start": (now + timedelta(days=1)).isoformat(),
        "end": (now + timedelta(days=2)).isoformat(),
    }

    def slots(event_type: object, **params: Any) -> tuple[str, str, dict[str, Any]]:
        return ("GET", f"/api/event-types/{event_type}/slots", {"params": {**window, **params}})

    def confirm(body: object) -> tuple[str, str, dict[str, Any]]:
        return ("POST", "/api/bookings/confirm", {"json": body})

    cases = {
        "slots: event type not a number": slots("abc"),
        "slots: unknown event type": slots(424242),
        "slots: event type huge": slots(2**70),
        "slots: naive start": slots(1001, start=(now + timedelta(days=1)).replace(tzinfo=None)),
        "slots: start not a time": slots(1001, start="soon"),
        "slots: end before start": slots(1001, end=(now - timedelta(days=1)).isoformat()),
        "slots: range too long": slots(1001, end=(now + timedelta(days=90)).isoformat()),
        "slots: time zone invalid": slots(1001, timeZone="Mars/Olympus_Mons"),
        "confirm: neither id": confirm({}),
        "confirm: both ids": confirm({"paymentIntentId": "pi_123", "checkoutSessionId": "cs_123"}),
        "confirm: id a number": confirm({"paymentIntentId": 12345}),
        "confirm: id with a path": confirm({"paymentIntentId": "pi_1/../../v1/refunds"}),
        "confirm: unknown payment": confirm({"paymentIntentId": "pi_doesnotexist"}),
        "confirm: unknown session": confirm({"checkoutSessionId": "cs_test_doesnotexist"}),
        "confirm: extra field": confirm({"paymentIntentId": "pi_123", "amount": 1}),
        "confirm: body a string": confirm("pi_123"),
        "confirm: oversized": confirm({"paymentIntentId": "pi_" + "1" * (64 * 1024)}),
        "booking: bad uuid": ("GET", "/api/bookings/not-a-uuid", {}),
        "booking: unknown": ("GET", "/api/bookings/1b4e28ba-2fa1-11d2-883f-0016d3cca427", {}),
        "bookings: limit zero": ("GET", "/api/bookings", {"params": {"limit": 0}}),
        "bookings: limit text": ("GET", "/api/bookings", {"params": {"limit": "all"}}),
    }
    with stack.client() as client:
        statuses = _assert_refused(stack, cases, client)
    assert statuses["confirm: oversized"] == 413
    assert statuses["booking: unknown"] == statuses["slots: unknown event type"] == 404


def test_signed_but_unreadable_webhooks_are_refused(stack: Stack) -> None:
    now = int(time.time())

    def signed(payload: bytes) -> tuple[str, str, dict[str, Any]]:
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": sign(payload, WEBHOOK_SECRET, now),
        }
        return ("POST", "/api/webhooks/stripe", {"content": payload, "headers": headers})

    cases = {
        "not json": signed(b"{not json"),
        "not utf-8": signed(b'{"id": "\xff\xfe"}'),
        "not an event": signed(json.dumps({"hello": "world"}).encode()),
        "oversized": signed(b'{"id": "' + b"x" * (64 * 1024) + b'"}'),
        "event without its object": signed(
            json.dumps(
                {
                    "id": "evt_x",
                    "object": "event",
                    "type": "payment_intent.succeeded",
                    "created": now,
                    "data": {"object": {}},
                }
            ).encode()
        ),
    }
    with http_client(base_url=stack.api_url, timeout=30) as client:
        statuses = _assert_refused(stack, cases, client)
    assert statuses == {
        "not json": 400,
        "not utf-8": 400,
        "not an event": 400,
        "oversized": 413,
        "event without its object": 400,
    }


def test_the_same_idempotency_key_gives_the_same_checkout_once(stack: Stack) -> None:
    body = {"eventTypeId": 1001, "start": stack.free_slot().isoformat(), "attendee": ALAN}
    key = {"Idempotency-Key": "checkout-attempt-7f3a"}
    with stack.client() as client:
        first = client.post("/api/checkout-sessions", json=body, headers=key)
        second = client.post("/api/checkout-sessions", json=body, headers=key)
        mine = client.get("/api/bookings")
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    same = ("checkoutSessionId", "bookingId", "client_secret", "amount", "currency")
    assert {k: second.json()[k] for k in same} == {k: first.json()[k] for k in same}
    assert [b["id"] for b in mine.json()] == [first.json()["bookingId"]]
    head, reservations, sessions = _footprint(stack)
    assert (reservations, sessions) == (1, 1)

    # The same key with another body is a client bug: refused, nothing new made.
    other_body = {**body, "attendee": {**ALAN, "name": "Someone Else"}}
    with stack.client() as client:
        reused = client.post("/api/checkout-sessions", json=other_body, headers=key)
    assert reused.status_code == 422, reused.text
    assert reused.headers["content-type"].startswith(PROBLEM_JSON)
    assert _footprint(stack) == (head, 1, 1)

    # The key is the caller's own: another user with the same key gets a checkout of their
    # own (and here, since the slot is held, a clear refusal rather than someone else's).
    with stack.client("user-2") as other:
        theirs = other.post("/api/checkout-sessions", json=body, headers=key)
    assert theirs.status_code == 409, theirs.text
    assert theirs.headers["content-type"].startswith(PROBLEM_JSON)
    assert _footprint(stack) == (head, 1, 1)


def test_text_that_can_never_be_stored_is_a_422_naming_the_field(stack: Stack) -> None:
    """NUL and other control characters, lone surrogates and over-long text are refused at
    the door, so they never reach the ledger or a read model (a NUL once halted one)."""
    good: dict[str, Any] = {
        "eventTypeId": 1001,
        "start": stack.free_slot().isoformat(),
        "attendee": ALAN,
    }

    def raw(attendee_json: str) -> tuple[str, str, dict[str, Any]]:
        # Written by hand: json.dumps would not let a lone surrogate through as an escape.
        body = f'{{"eventTypeId": 1001, "start": "{good["start"]}", "attendee": {attendee_json}}}'
        return (
            "POST",
            "/api/checkout-sessions",
            {"content": body.encode(), "headers": {"Content-Type": "application/json"}},
        )

    email, zone = '"email": "alan@example.com"', '"timeZone": "Europe/London"'
    cases = {
        "NUL in name": (raw(f'{{"name": "Alan\\u0000", {email}, {zone}}}'), "name"),
        "escape in name": (raw(f'{{"name": "Alan\\u001b[2J", {email}, {zone}}}'), "name"),
        "DEL in name": (raw(f'{{"name": "Alan\\u007f", {email}, {zone}}}'), "name"),
        "surrogate in name": (raw(f'{{"name": "Alan \\ud800", {email}, {zone}}}'), "name"),
        "NUL in email": (
            raw(f'{{"name": "Alan", "email": "al\\u0000an@example.com", {zone}}}'),
            "email",
        ),
        "NUL in time zone": (
            raw(f'{{"name": "Alan", {email}, "timeZone": "UTC\\u0000"}}'),
            "timeZone",
        ),
        "name too long": (_checkout({**good, "attendee": {**ALAN, "name": "A" * 201}}), "name"),
    }
    with stack.client() as client:
        before = _footprint(stack)
        for case, ((method, url, kwargs), field) in cases.items():
            response = client.request(method, url, **kwargs)
            assert response.status_code == 422, (case, response.text)
            assert response.headers["content-type"].startswith(PROBLEM_JSON), case
            locations = [error["loc"] for error in response.json()["errors"]]
            assert any(loc[-1] == field for loc in locations), (case, locations)
        assert _footprint(stack) == before
        reason = {"reason": "can't\x00come"}
        booking = client.post("/api/checkout-sessions", json=good).json()["bookingId"]
        refused = client.post(f"/api/bookings/{booking}/cancel", json=reason)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"][-1] == "reason"
        # Ordinary line breaks in a free-text reason are fine.
        cancelled = client.post(f"/api/bookings/{booking}/cancel", json={"reason": "ill\nsorry"})
        assert cancelled.status_code == 200, cancelled.text

"""Only Stripe may write through the webhook, only the right people see a booking, and only a
payment that matches its booking confirms it (any other money goes back)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import stripe

from tests.support.http import http_client
from tests.support.stack import JWT_SECRET, WEBHOOK_SECRET, Stack
from tests.support.stripe_signature import post_webhook, sign
from tests.support.waiting import wait_until

PROBLEM_JSON = "application/problem+json"


def ledger_head(stack: Stack) -> int:
    return stack.container.ledger.recorder.max_notification_id() or 0


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    return body


def expired_session_event(checkout: dict) -> bytes:
    """What Stripe would send if the checkout had expired: it would end the booking."""
    session = {
        "id": checkout["checkoutSessionId"],
        "object": "checkout.session",
        "status": "expired",
        "payment_status": "unpaid",
        "payment_intent": None,
        "metadata": {"booking_id": checkout["bookingId"]},
    }
    event = {
        "id": f"evt_forged_{checkout['bookingId'][:8]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": "checkout.session.expired",
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": session},
    }
    return json.dumps(event).encode()


def test_webhook_without_a_valid_recent_signature_is_refused_and_changes_nothing(
    stack: Stack,
) -> None:
    checkout = stack.start_checkout(stack.free_slot())
    payload = expired_session_event(checkout)
    now = int(time.time())
    head = ledger_head(stack)

    refused = {
        "missing": None,
        "forged": sign(payload, "whsec_not_the_secret", now),
        "garbled": "t=not-a-time,v1=zz",
        "stale": sign(payload, WEBHOOK_SECRET, now - 301),
        "from the future": sign(payload, WEBHOOK_SECRET, now + 600),
        "other body": sign(payload + b" ", WEBHOOK_SECRET, now),
    }
    for case, signature in refused.items():
        response = post_webhook(stack, payload, signature)
        assert response.status_code == 400, (case, response.text)
        assert_problem(response, 400)
    assert ledger_head(stack) == head
    assert stack.booking(checkout["bookingId"])["status"] == "AWAITING_PAYMENT"

    # Even correctly signed and fresh, the claim is checked with Stripe before a booking is
    # ended: the session is still open there, so nothing changes.
    accepted = post_webhook(stack, payload, sign(payload, WEBHOOK_SECRET, now))
    assert accepted.status_code == 200, accepted.text
    assert "not expired" in accepted.json()["outcome"]
    assert stack.booking(checkout["bookingId"])["status"] == "AWAITING_PAYMENT"


def _token(claims: dict[str, Any], secret: str = JWT_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def test_only_owner_mentor_and_admin_see_a_booking_and_only_the_owner_confirms(
    stack: Stack,
) -> None:
    a = stack.start_checkout(stack.free_slot(), sub="user-a")
    b = stack.start_checkout(stack.free_slot(skip=1), sub="user-b")
    assert stack.pay(a["checkoutSessionId"]).status_code == 200
    accepted = wait_until(
        lambda: (x := stack.booking(a["bookingId"], sub="user-a"))["status"] == "ACCEPTED" and x,
        timeout=20,
    )
    intent_id = accepted["payment"]["paymentIntentId"]
    path = f"/api/bookings/{a['bookingId']}"

    with stack.client("user-b") as user_b:
        assert_problem(user_b.get(path), 404)
        for body in ({"checkoutSessionId": a["checkoutSessionId"]}, {"paymentIntentId": intent_id}):
            assert_problem(user_b.post("/api/bookings/confirm", json=body), 404)
        assert [x["id"] for x in user_b.get("/api/bookings").json()] == [b["bookingId"]]
    with stack.client("user-a") as user_a:
        assert [x["id"] for x in user_a.get("/api/bookings").json()] == [a["bookingId"]]
    with stack.client("mentor-grace", role="mentor") as other_mentor:
        assert_problem(other_mentor.get(path), 404)
    for sub, role in (("mentor-ada", "mentor"), ("ops-1", "admin")):
        with stack.client(sub, role=role) as reader:
            seen = reader.get(path)
            assert seen.status_code == 200, (role, seen.text)
            assert seen.json()["id"] == a["bookingId"]
            assert seen.json()["payment"]["paymentIntentId"] == intent_id

    past = datetime.now(UTC) - timedelta(minutes=1)
    future = datetime.now(UTC) + timedelta(minutes=10)
    bad_tokens = {
        "expired": _token({"sub": "user-a", "role": "user", "exp": past}),
        "wrong key": _token({"sub": "user-a", "role": "user", "exp": future}, "x" * 40),
        "no expiry": _token({"sub": "user-a", "role": "user"}),
        "unknown role": _token({"sub": "user-a", "role": "root", "exp": future}),
        "unsigned": jwt.encode({"sub": "user-a", "role": "admin", "exp": future}, None, "none"),
    }
    head = ledger_head(stack)
    with http_client(base_url=stack.api_url, timeout=30) as anonymous:
        calls = [
            ("GET", path, None),
            ("GET", "/api/bookings", None),
            ("GET", "/api/event-types/1001/slots", None),
            ("POST", "/api/bookings/confirm", {"checkoutSessionId": a["checkoutSessionId"]}),
            ("POST", "/api/checkout-sessions", {"eventTypeId": 1001}),
        ]
        for method, url, body in calls:
            response = anonymous.request(method, url, json=body)
            assert_problem(response, 401)
            assert response.headers["www-authenticate"] == "Bearer"
        for case, token in bad_tokens.items():
            response = anonymous.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (case, response.text)
            assert_problem(response, 401)
            assert response.headers["www-authenticate"] == "Bearer"
    assert ledger_head(stack) == head


def _sdk(stack: Stack) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_sandbox", base_addresses={"api": stack.sandbox_url})


def _pay_own_session(
    stack: Stack, *, session_booking: str, intent_booking: str, amount: int, currency: str
) -> tuple[str, str]:
    """A Checkout Session made at Stripe behind our back, naming one of our bookings, paid.

    Returns the session id and its PaymentIntent id.
    """
    session = _sdk(stack).v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "ui_mode": "embedded_page",
            "return_url": "https://attacker.invalid/return?session_id={CHECKOUT_SESSION_ID}",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency,
                        "unit_amount": amount,
                        "product_data": {"name": "cheap"},
                    },
                    "quantity": 1,
                }
            ],
            "metadata": {"booking_id": session_booking},
            "payment_intent_data": {"metadata": {"booking_id": intent_booking}},
        }
    )
    paid = stack.pay(session.id)
    assert paid.status_code == 200, paid.text
    intent_id = paid.json()["payment_intent"]
    assert intent_id
    return session.id, intent_id


def _refunds(stack: Stack, intent_id: str) -> list[Any]:
    return list(_sdk(stack).v1.refunds.list(params={"payment_intent": intent_id}).data)


@pytest.mark.parametrize(
    ("amount", "currency", "confirm_by"),
    [(100, "usd", "paymentIntentId"), (7500, "eur", "checkoutSessionId")],
    ids=["cheaper", "other-currency"],
)
def test_a_payment_of_another_amount_or_currency_is_refused_and_refunded(
    stack: Stack, amount: int, currency: str, confirm_by: str
) -> None:
    checkout = stack.start_checkout(stack.free_slot(), sub="user-a")
    booking_id = checkout["bookingId"]
    session_id, intent_id = _pay_own_session(
        stack,
        session_booking=booking_id,
        intent_booking=booking_id,
        amount=amount,
        currency=currency,
    )
    reference = {"paymentIntentId": intent_id, "checkoutSessionId": session_id}[confirm_by]

    with stack.client("user-a") as client:
        response = client.post("/api/bookings/confirm", json={confirm_by: reference})
    assert_problem(response, 409)

    refunds = wait_until(lambda: _refunds(stack, intent_id), timeout=15)
    assert [(r.amount, r.currency) for r in refunds] == [(amount, currency)]
    payment = wait_until(
        lambda: (
            (p := stack.container.ledger.payment_for_intent(intent_id))
            and p.refunded_amount == amount
            and p
        ),
        timeout=15,
    )
    assert str(payment.booking_id) == booking_id
    assert stack.booking(booking_id, sub="user-a")["status"] == "AWAITING_PAYMENT"

    # The booking's own checkout still pays it, and the stray refund stays the only one.
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    booking = wait_until(
        lambda: (b := stack.booking(booking_id, sub="user-a"))["status"] == "ACCEPTED" and b,
        timeout=20,
    )
    assert booking["payment"]["amount"] == 7500
    assert booking["payment"]["paymentIntentId"] != intent_id
    assert len(_refunds(stack, intent_id)) == 1


def test_a_session_whose_payment_names_another_booking_does_not_confirm_it(stack: Stack) -> None:
    first = stack.start_checkout(stack.free_slot(), sub="user-a")
    second = stack.start_checkout(stack.free_slot(skip=1), sub="user-a")
    session_id, intent_id = _pay_own_session(
        stack,
        session_booking=first["bookingId"],
        intent_booking=second["bookingId"],
        amount=7500,
        currency="usd",
    )

    with stack.client("user-a") as client:
        response = client.post("/api/bookings/confirm", json={"checkoutSessionId": session_id})
    assert_problem(response, 409)
    # Stripe says the money is for the second booking, so it is recorded there, never for
    # the first one.
    payment = wait_until(lambda: stack.container.ledger.payment_for_intent(intent_id), timeout=15)
    assert str(payment.booking_id) == second["bookingId"]
    assert stack.booking(first["bookingId"], sub="user-a")["status"] == "AWAITING_PAYMENT"
    assert stack.booking(first["bookingId"], sub="user-a")["payment"] is None

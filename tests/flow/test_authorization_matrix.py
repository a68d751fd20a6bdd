"""Every endpoint by every kind of caller: one rule decides who may do what.

Bookings (read, list, confirm, cancel): the attendee as ``user``, the booked mentor as
``mentor`` and any ``admin``; everyone else is told the booking does not exist (404).
Only ``user`` opens a checkout. The finance endpoints take ``finance`` and ``admin``. A
missing, expired, wrongly signed or unsigned token is 401 everywhere; the cron endpoint
takes its own secret, never a JWT.

One stack serves the whole module (the cases only read, or repeat an idempotent cancel).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from tests.support.http import http_client
from tests.support.stack import JWT_SECRET, Stack, running_stack

ATTENDEE = "user-attendee"
FUTURE = datetime.now(UTC) + timedelta(hours=2)


def _signed(sub: str, role: str, *, secret: str = JWT_SECRET, exp: datetime = FUTURE) -> str:
    return jwt.encode({"sub": sub, "role": role, "exp": exp}, secret, algorithm="HS256")


CALLERS: dict[str, str | None] = {
    "no-token": None,
    "expired": _signed(ATTENDEE, "user", exp=datetime.now(UTC) - timedelta(minutes=1)),
    "wrong-secret": _signed(ATTENDEE, "user", secret="another-secret-0123456789abcdefghij"),
    "alg-none": jwt.encode({"sub": "ops", "role": "admin", "exp": FUTURE}, None, "none"),
    "attendee": _signed(ATTENDEE, "user"),
    "other-user": _signed("user-someone-else", "user"),
    "booked-mentor": _signed("mentor-ada", "mentor"),
    "other-mentor": _signed("mentor-grace", "mentor"),
    "finance": _signed("fin-1", "finance"),
    "admin": _signed("ops-1", "admin"),
}
UNAUTHENTICATED = ("no-token", "expired", "wrong-secret", "alg-none")
BOOKING_PARTIES = ("attendee", "booked-mentor", "admin")


@dataclass(frozen=True)
class World:
    stack: Stack
    booking: dict[str, Any]  # read and confirmed by the cases
    to_cancel: dict[str, Any]  # cancelled (idempotently) by the cases allowed to


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('authz')}/mentorpay.db"
    with running_stack(url) as stack:
        booking = stack.start_checkout(stack.free_slot(), sub=ATTENDEE)
        to_cancel = stack.start_checkout(stack.free_slot(skip=1), sub=ATTENDEE)
        yield World(stack, booking, to_cancel)


def _checkout_body(world: World, caller: str) -> dict[str, Any]:
    # Each caller its own slot: a 201 holds it, and the next case must find another free.
    skip = 2 + list(CALLERS).index(caller)
    return {
        "eventTypeId": 1001,
        "start": world.stack.free_slot(skip=skip).isoformat(),
        "attendee": {"name": "Alan Turing", "email": "alan@example.com", "timeZone": "UTC"},
    }


def _request(world: World, endpoint: str, caller: str) -> httpx.Response:
    booking_id = world.booking["bookingId"]
    now = datetime.now(UTC)
    calls: dict[str, tuple[str, str, Any]] = {
        "slots": (
            "GET",
            "/api/event-types/1001/slots"
            f"?start={(now + timedelta(days=1)):%Y-%m-%dT%H:%M:%SZ}"
            f"&end={(now + timedelta(days=2)):%Y-%m-%dT%H:%M:%SZ}",
            None,
        ),
        "create-checkout": ("POST", "/api/checkout-sessions", None),
        "read-booking": ("GET", f"/api/bookings/{booking_id}", None),
        "list-bookings": ("GET", "/api/bookings", None),
        "confirm": (
            "POST",
            "/api/bookings/confirm",
            {"checkoutSessionId": world.booking["checkoutSessionId"]},
        ),
        "cancel": ("POST", f"/api/bookings/{world.to_cancel['bookingId']}/cancel", None),
        "ledger-events": ("GET", "/api/ledger/events", None),
        "ledger-accounts": ("GET", "/api/ledger/accounts", None),
        "trial-balance": ("GET", "/api/ledger/trial-balance", None),
        "booking-history": ("GET", f"/api/ledger/bookings/{booking_id}/history", None),
        "cron-payouts": ("POST", "/api/cron/process-payouts", None),
    }
    method, path, body = calls[endpoint]
    if endpoint == "create-checkout" and caller not in UNAUTHENTICATED:
        body = _checkout_body(world, caller)
    token = CALLERS[caller]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with http_client(base_url=world.stack.api_url, timeout=30) as client:
        return client.request(method, path, json=body, headers=headers)


def expected(endpoint: str, caller: str) -> int:
    if endpoint == "cron-payouts":
        return 401  # its own secret, never a JWT
    if caller in UNAUTHENTICATED:
        return 401
    if endpoint in ("slots", "list-bookings"):
        return 200
    if endpoint == "create-checkout":
        return 201 if caller in ("attendee", "other-user") else 403
    if endpoint in ("read-booking", "confirm", "cancel"):
        return 200 if caller in BOOKING_PARTIES else 404
    return 200 if caller in ("finance", "admin") else 403  # the ledger's finance endpoints


ENDPOINTS = (
    "slots",
    "create-checkout",
    "read-booking",
    "list-bookings",
    "confirm",
    "cancel",
    "ledger-events",
    "ledger-accounts",
    "trial-balance",
    "booking-history",
    "cron-payouts",
)


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_endpoint_answers_each_caller_by_one_rule(world: World, endpoint: str, caller: str) -> None:
    response = _request(world, endpoint, caller)
    assert response.status_code == expected(endpoint, caller), response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
    if response.status_code == 401:
        assert "Bearer" in response.headers["www-authenticate"]
    if endpoint == "list-bookings" and response.status_code == 200:
        listed = {row["id"] for row in response.json()}
        sees_it = world.booking["bookingId"] in listed
        assert sees_it == (caller in BOOKING_PARTIES), listed

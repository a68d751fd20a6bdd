"""Nobody can hoard the calendar: at most MAX_OPEN_CHECKOUTS open checkouts per user (the next
is refused with 429, the open ones stay payable), and checkout creation is rate-limited per
user and per client address (429 with Retry-After)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    url = f"sqlite:///{tmp_path_factory.mktemp('limits')}/mentorpay.db"
    limits = {
        "max_open_checkouts": 3,
        "checkout_rate_per_user": "6/minute",
        "checkout_rate_per_client": "20/minute",
    }
    with running_stack(url, **limits) as running:
        yield running


def _body(stack: Stack, skip: int, event_type_id: int = 1001) -> dict[str, Any]:
    return {
        "eventTypeId": event_type_id,
        "start": stack.free_slot(skip=skip).isoformat(),
        "attendee": {"name": "Hoarder", "email": "h@example.com", "timeZone": "UTC"},
    }


def _post(stack: Stack, sub: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    with stack.client(sub) as client:
        return client.post("/api/checkout-sessions", json=body, headers=headers)


def _assert_429(response: httpx.Response) -> str:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    return str(response.json()["detail"])


def test_a_fourth_open_checkout_is_refused_until_one_ends(stack: Stack) -> None:
    user = "user-hoarder"
    bodies: list[dict[str, Any]] = []
    opened = []
    for i in range(3):
        bodies.append(_body(stack, 0))
        opened.append(_post(stack, user, bodies[-1], key=f"k{i}"))
    assert [r.status_code for r in opened] == [201, 201, 201], [r.text for r in opened]
    refused = _post(stack, user, _body(stack, 0), key="k3")
    assert "open checkouts" in _assert_429(refused)
    # The open ones are untouched, and a retry of one of them is still answered.
    assert _post(stack, user, bodies[0], key="k0").json() == opened[0].json()
    with stack.client(user) as client:
        cancelled = client.post(f"/api/bookings/{opened[1].json()['bookingId']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert _post(stack, user, _body(stack, 0), key="k4").status_code == 201


def test_checkout_creation_is_rate_limited_per_user(stack: Stack) -> None:
    body = _body(stack, 0, event_type_id=999_999)  # unknown: counted, then refused (404)
    answers = [_post(stack, "user-burst", body).status_code for _ in range(6)]
    assert answers == [404] * 6
    assert "user" in _assert_429(_post(stack, "user-burst", body))
    assert _post(stack, "user-calm", body).status_code == 404  # another user is not limited


def test_checkout_creation_is_rate_limited_per_client_address(stack: Stack) -> None:
    body = _body(stack, 0, event_type_id=999_999)
    for i in range(25):
        response = _post(stack, f"user-many-{i}", body)
        if response.status_code == 429:
            assert "client" in _assert_429(response)
            return
        assert response.status_code == 404, response.text
    pytest.fail("25 users from one address were never limited")

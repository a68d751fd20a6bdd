"""Checkout survives a crash and a lost response: the retry with the same Idempotency-Key
resumes what the first attempt did and returns the same Stripe session, never a 409 for the
customer's own hold; a transient vendor failure is a 503 with Retry-After; what is abandoned
is let go by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import stripe

from ledger import Ledger
from processes.services.checkout import CheckoutRequest, CheckoutService
from tests.support.stack import Stack
from tests.support.waiting import wait_until

USER = "user-retry"


class Killed(BaseException):
    """Stands for the process dying at this point (nothing after it runs, no clean-up)."""


class DiesAt:
    """The ledger of a process that is killed when it reaches ``method``."""

    def __init__(self, ledger: Ledger, method: str) -> None:
        self._ledger = ledger
        self._method = method

    def __getattr__(self, name: str) -> Any:
        if name == self._method:
            raise Killed(name)
        return getattr(self._ledger, name)


def _body(start: datetime) -> dict[str, Any]:
    return {
        "eventTypeId": 1001,
        "start": start.isoformat(),
        "attendee": {"name": "Ada Byron", "email": "ada@example.com", "timeZone": "UTC"},
    }


def _request(start: datetime, key: str) -> CheckoutRequest:
    return CheckoutRequest(USER, 1001, start, "Ada Byron", "ada@example.com", "UTC", key)


def _post(stack: Stack, start: datetime, key: str) -> httpx.Response:
    with stack.client(USER) as client:
        return client.post(
            "/api/checkout-sessions", json=_body(start), headers={"Idempotency-Key": key}
        )


def _arm(stack: Stack, **fault: Any) -> None:
    with stack.sandbox_client() as sandbox:
        armed = sandbox.post("/_sandbox/faults", json={"times": 1, **fault})
    assert armed.status_code == 201, armed.text


def _sessions_of(stack: Stack, booking_id: str) -> list[str]:
    client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": stack.sandbox_url})
    sessions = client.v1.checkout.sessions.list(params={"limit": 100}).data
    return [
        s.id for s in sessions if s.to_dict().get("metadata", {}).get("booking_id") == booking_id
    ]


def _holds_at(stack: Stack, start: datetime) -> list[str]:
    with stack.sandbox_client() as sandbox:
        held = sandbox.get("/_sandbox/calcom/bookings").json()["reservations"]
    return [r["reservationUid"] for r in held if datetime.fromisoformat(
        r["slotStart"].replace("Z", "+00:00")) == start]  # fmt: skip


def _killed_service(stack: Stack, at: str) -> CheckoutService:
    c = stack.container
    return CheckoutService(
        DiesAt(c.ledger, at),  # type: ignore[arg-type]
        c.catalog,
        c.stripe,
        c.calcom,
        c.checkout.settings,
    )


@pytest.mark.parametrize("killed_at", ["request_booking", "record_checkout_hold"])
def test_a_retry_after_the_api_was_killed_returns_the_same_checkout(
    stack: Stack, killed_at: str
) -> None:
    """Killed after the Stripe session was opened (before Booking.Requested), or after the
    slot was held at Cal.com (before the hold was recorded)."""
    start = stack.free_slot()
    with pytest.raises(Killed):
        _killed_service(stack, killed_at).start(_request(start, "k-kill"))
    before = _holds_at(stack, start)
    assert len(before) == 1  # the dead attempt's hold is live

    retried = _post(stack, start, "k-kill")
    if killed_at == "record_checkout_hold":
        # The hold was made but never recorded: no retry can know it is its own. It lapses
        # at Cal.com by itself; until then the slot is honestly unavailable.
        assert retried.status_code == 409, retried.text
        assert "earlier attempt" in retried.json()["detail"]
        assert 30 * 60 < int(retried.headers["retry-after"]) <= 41 * 60
        return
    assert retried.status_code == 201, retried.text
    checkout = retried.json()
    assert _sessions_of(stack, checkout["bookingId"]) == [checkout["checkoutSessionId"]]
    assert _holds_at(stack, start) == before  # the same hold, not a second one
    again = _post(stack, start, "k-kill")
    assert again.status_code == 201 and again.json() == checkout
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    wait_until(lambda: stack.booking(checkout["bookingId"], USER)["status"] == "ACCEPTED", 20)


def test_a_lost_session_response_then_a_retry_returns_the_same_session(stack: Stack) -> None:
    start = stack.free_slot()
    # Stripe makes the session, the answer never arrives, and the SDK's own retries (same
    # key, same parameters) lose theirs too.
    _arm(stack, service="stripe", method="POST", path="/v1/checkout/sessions",
         status=0, afterProcessing=True, times=3)  # fmt: skip
    lost = _post(stack, start, "k-lost")
    assert lost.status_code == 503, lost.text
    assert lost.headers["content-type"].startswith("application/problem+json")
    assert int(lost.headers["retry-after"]) > 0
    with stack.sandbox_client() as sandbox:
        assert sandbox.delete("/_sandbox/faults").status_code == 204  # the network is back

    retried = _post(stack, start, "k-lost")
    assert retried.status_code == 201, retried.text
    checkout = retried.json()
    assert _sessions_of(stack, checkout["bookingId"]) == [checkout["checkoutSessionId"]]
    assert len(_holds_at(stack, start)) == 1
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    wait_until(lambda: stack.booking(checkout["bookingId"], USER)["status"] == "ACCEPTED", 20)


def test_stripe_briefly_unavailable_is_a_503_with_retry_after_for_create_and_replay(
    stack: Stack,
) -> None:
    start = stack.free_slot()
    _arm(stack, service="stripe", method="POST", path="/v1/checkout/sessions",
         status=503, times=3)  # fmt: skip
    down = _post(stack, start, "k-503")
    assert down.status_code == 503, down.text
    assert down.headers["retry-after"]
    with stack.sandbox_client() as sandbox:
        assert sandbox.delete("/_sandbox/faults").status_code == 204
    created = _post(stack, start, "k-503")
    assert created.status_code == 201, created.text

    _arm(stack, service="stripe", method="GET", path="/v1/checkout/sessions/*",
         status=503, times=3)  # fmt: skip
    replay_down = _post(stack, start, "k-503")
    assert replay_down.status_code == 503, replay_down.text
    assert replay_down.headers["retry-after"]
    with stack.sandbox_client() as sandbox:
        assert sandbox.delete("/_sandbox/faults").status_code == 204
    assert _post(stack, start, "k-503").json() == created.json()


def test_an_abandoned_checkout_lets_its_slot_go_when_its_session_expires(stack: Stack) -> None:
    start = stack.free_slot()
    with pytest.raises(Killed):
        _killed_service(stack, "request_booking").start(_request(start, "k-gone"))
    assert len(_holds_at(stack, start)) == 1
    # Nobody retries. Stripe expires the session and says so; the hold is released.
    with stack.sandbox_client() as sandbox:
        moved = sandbox.post("/_sandbox/clock/advance", json={"seconds": 31 * 60 + 30})
    assert moved.status_code == 200, moved.text
    wait_until(lambda: _holds_at(stack, start) == [], timeout=20)
    expired = stack.container.ledger.checkout_intent(
        stack.container.checkout._booking_id(_request(start, "k-gone"))
    )
    assert expired is not None and expired.abandoned_reason == "the session expired"
    # The same key now says the checkout is over rather than opening another.
    closed = _post(stack, start, "k-gone")
    assert closed.status_code == 409, closed.text


def test_a_new_checkout_fixes_its_stripe_parameters_in_the_ledger(stack: Stack) -> None:
    start = stack.free_slot()
    checkout = _post(stack, start, "k-fixed").json()
    intent = stack.container.ledger.checkout_intent(__import__("uuid").UUID(checkout["bookingId"]))
    assert intent is not None
    assert intent.expires_at == datetime.fromisoformat(checkout["expiresAt"])
    assert intent.expires_at > datetime.now(UTC) + timedelta(minutes=29)
    assert intent.reservation_uid in _holds_at(stack, start)

"""A paid and booked session through the whole stack, seen by finance: the journal balances,
the events stream pages, a booking's history; other roles are refused."""

from __future__ import annotations

from processes.finance.audit import verify
from tests.support.books import read_models
from tests.support.stack import Stack
from tests.support.waiting import wait_until

PRICE, FEE = 7500, 750  # the demo catalogue's event type 1001, fee 10 %
MENTOR_PAYABLE = "mentor:mentor-ada:payable"


def _booked(stack: Stack) -> str:
    checkout = stack.start_checkout(stack.free_slot())
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    wait_until(lambda: stack.booking(checkout["bookingId"])["status"] == "ACCEPTED", timeout=20)
    head = stack.container.ledger.recorder.max_notification_id() or 0
    assert stack.container.projections["journal"].wait_for(head, timeout=20)
    return checkout["bookingId"]


def _accounts(stack: Stack) -> dict[str, dict]:
    with stack.client("fin-1", "finance") as client:
        response = client.get("/api/ledger/accounts")
    assert response.status_code == 200, response.text
    return {(a["account"], a["currency"]): a for a in response.json()["accounts"]}


def test_a_booked_session_balances_the_journal(stack: Stack) -> None:
    booking_id = _booked(stack)
    with stack.client("fin-1", "finance") as client:
        trial = client.get("/api/ledger/trial-balance").json()
        history = client.get(f"/api/ledger/bookings/{booking_id}/history")
    assert trial["balanced"] is True
    assert trial["currencies"] == [
        {"currency": "usd", "debits": PRICE * 2, "credits": PRICE * 2, "balanced": True}
    ]
    accounts = _accounts(stack)
    # Paid: stripe:balance Dr / clearing Cr; Booked: clearing Dr / payable and fees Cr.
    assert accounts[("bookings:clearing", "usd")]["balance"] == 0
    assert accounts[("stripe:balance", "usd")]["balance"] == PRICE
    assert accounts[(MENTOR_PAYABLE, "usd")]["balance"] == -(PRICE - FEE)  # owed to the mentor
    assert accounts[("platform:fees", "usd")]["balance"] == -FEE

    assert history.status_code == 200, history.text
    events = history.json()["events"]
    assert [e["type"] for e in events] == [
        "mentorpay.Booking.Requested",
        "mentorpay.Payment.Paid",
        "mentorpay.Booking.PaymentConfirmed",
        "mentorpay.Booking.PolicyFixed",
        "mentorpay.Booking.Booked",
    ]
    paid = events[1]
    assert paid["data"]["amount"] == PRICE and paid["data"]["booking_id"] == booking_id
    assert {e["aggregateId"] for e in events} == {booking_id, paid["aggregateId"]}
    # Each event carries its log position, as the events stream numbers it.
    positions = [e["position"] for e in events]
    assert all(isinstance(p, int) and p > 0 for p in positions), positions
    assert positions == sorted(positions)
    with stack.client("fin-1", "finance") as client:
        stream = client.get("/api/ledger/events", params={"limit": 1000}).json()["events"]
    by_position = {e["position"]: (e["aggregateId"], e["type"]) for e in stream}
    assert [by_position[p] for p in positions] == [(e["aggregateId"], e["type"]) for e in events]
    # The stored read models agree with a rebuild, while the followers keep running.
    c = stack.container
    assert verify(c.ledger, c.store, read_models()).findings == []


def test_the_events_stream_pages_in_log_order(stack: Stack) -> None:
    _booked(stack)
    with stack.client("admin-1", "admin") as client:
        whole = client.get("/api/ledger/events", params={"limit": 1000}).json()
        pages, after = [], 0
        while True:
            page = client.get("/api/ledger/events", params={"after": after, "limit": 2}).json()
            if not page["events"]:
                break
            assert len(page["events"]) <= 2
            pages.extend(page["events"])
            after = page["next"]
        too_big = client.get("/api/ledger/events", params={"limit": 100_000})
        negative = client.get("/api/ledger/events", params={"after": -1})
    assert pages == whole["events"]
    positions = [e["position"] for e in pages]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert positions[-1] == whole["head"] == after
    assert {e["type"] for e in pages} >= {"mentorpay.Booking.Booked", "mentorpay.Payment.Paid"}
    for response in (too_big, negative):
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")


LEDGER_PATHS = (
    "/api/ledger/events",
    "/api/ledger/accounts",
    "/api/ledger/trial-balance",
    "/api/ledger/bookings/00000000-0000-4000-8000-000000000000/history",
)


def test_only_finance_and_admin_may_read_the_ledger(stack: Stack) -> None:
    for path in LEDGER_PATHS:
        for role in ("user", "mentor"):
            with stack.client(f"{role}-1", role) as client:
                response = client.get(path)
            assert response.status_code == 403, (path, role, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        with stack.client() as client:
            client.headers.pop("Authorization")
            anonymous = client.get(path)
        assert anonymous.status_code == 401, path
        for role in ("finance", "admin"):
            with stack.client(f"{role}-1", role) as client:
                allowed = client.get(path)
            # The made-up booking is unknown: 404 for those allowed to ask.
            assert allowed.status_code == (404 if "history" in path else 200), allowed.text

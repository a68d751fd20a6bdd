"""Completed bookings per second through the whole product, on PostgreSQL, sandbox latency zero.

Prints: bookings/s with 1 and 8 concurrent clients, p50/p99 of POST /api/bookings/confirm, and
p99 lag from a ledger append (the Booked event) to the row showing it in ``bookings``.

    .venv/bin/python -m bench.booking_flow [--bookings 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx

from api.app import create_app
from bench.scratch import scratch_database
from ledger import Booking
from mentorpay.auth_tokens import issue_token
from mentorpay.bootstrap import build_container
from mentorpay.servers import BackgroundServer
from mentorpay.settings import Settings
from projections.catalog_file import parse_catalog
from projections.store import StoreError
from sandbox.app import create_app as create_sandbox_app

JWT_SECRET = "bench-jwt-secret-0123456789abcdef0123"
EVENT_TYPE_ID = 9001
CATALOG = f"""
mentors: [{{id: mentor-bench, name: Bench Mentor, stripe_account_id: acct_sandboxmentor01}}]
event_types:
  - {{id: {EVENT_TYPE_ID}, mentor_id: mentor-bench, title: Bench session, duration_minutes: 15,
     price: {{amount: 5000, currency: usd}}}}
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=40, help="bookings per concurrency level")
    args = parser.parse_args()
    with scratch_database("flow") as database_url:
        run(database_url, args.bookings)


def run(database_url: str, bookings: int) -> None:
    sandbox_app = create_sandbox_app()
    with BackgroundServer(sandbox_app) as sandbox:
        httpx.post(
            f"{sandbox.url}/_sandbox/calcom/event-types",
            json={
                "id": EVENT_TYPE_ID,
                "title": "Bench session",
                "lengthInMinutes": 15,
                "hostName": "Bench Mentor",
                "timeZone": "UTC",
                "availability": [
                    {
                        "days": [
                            "Monday",
                            "Tuesday",
                            "Wednesday",
                            "Thursday",
                            "Friday",
                            "Saturday",
                            "Sunday",
                        ],
                        "startTime": "00:00",
                        "endTime": "23:45",
                    }
                ],
            },
        ).raise_for_status()
        settings = Settings(
            database_url=database_url,
            stripe_api_base=sandbox.url,
            calcom_api_base=sandbox.url,
            stripe_webhook_secret="whsec_bench",
            jwt_secret=JWT_SECRET,
            smtp_url=None,
            # A benchmark is one client on loopback making bookings as fast as it can.
            checkout_rate_per_client="100000/minute",
        )
        container = build_container(settings, poll_interval=0.5)
        container.catalog.load(parse_catalog(CATALOG))
        container.start_workers()
        try:
            with BackgroundServer(create_app(container.api_services())) as api:
                sandbox_app.state.sandbox.add_webhook_endpoint(
                    f"{api.url}/api/webhooks/stripe", "whsec_bench"
                )
                slots = free_slots(api.url, 2 * bookings + 10)
                print(f"machine: {os.cpu_count()} cores; store: PostgreSQL; sandbox latency 0")
                for clients, chunk in ((1, slots[:bookings]), (8, slots[bookings : 2 * bookings])):
                    measure(api.url, sandbox.url, container, clients, chunk)
        finally:
            container.close()


def free_slots(api_url: str, count: int) -> list[datetime]:
    token = issue_token(JWT_SECRET, "bench-user", "user")
    start = datetime.now(UTC) + timedelta(days=1)
    response = httpx.get(
        f"{api_url}/api/event-types/{EVENT_TYPE_ID}/slots",
        params={"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat()},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    response.raise_for_status()
    slots = [datetime.fromisoformat(slot["start"]) for slot in response.json()]
    if len(slots) < count:
        raise SystemExit(f"only {len(slots)} free slots; ask for fewer bookings")
    return slots[:count]


def measure(api_url: str, sandbox_url: str, container, clients: int, slots: list[datetime]) -> None:
    confirm_latencies: list[float] = []
    booking_ids: list[str] = []
    lock = threading.Lock()

    def book(slot: datetime) -> None:
        user = f"bench-{uuid.uuid4().hex[:8]}"
        headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, user, 'user')}"}
        with httpx.Client(base_url=api_url, headers=headers, timeout=60) as client:
            created = client.post(
                "/api/checkout-sessions",
                json={
                    "eventTypeId": EVENT_TYPE_ID,
                    "start": slot.isoformat(),
                    "attendee": {
                        "name": "Bench",
                        "email": f"{user}@example.com",
                        "timeZone": "UTC",
                    },
                },
            )
            if created.status_code != 201:
                raise RuntimeError(f"checkout failed: {created.text}")
            session_id = created.json()["checkoutSessionId"]
            httpx.post(
                f"{sandbox_url}/_sandbox/checkout/sessions/{session_id}/pay",
                json={"card": "4242424242424242"},
                timeout=60,
            ).raise_for_status()
            started = time.perf_counter()
            confirmed = client.post("/api/bookings/confirm", json={"checkoutSessionId": session_id})
            elapsed = time.perf_counter() - started
            confirmed.raise_for_status()
            if confirmed.json()["status"] != "ACCEPTED":
                raise RuntimeError(f"booking not accepted: {confirmed.json()}")
        with lock:
            confirm_latencies.append(elapsed)
            booking_ids.append(confirmed.json()["bookingId"])

    lags = LagWatch(container)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(book, slots))
    wall = time.perf_counter() - started
    lag_values = lags.finish(len(slots))
    print(
        f"{clients} client(s): {len(slots)} bookings in {wall:.2f}s = "
        f"{len(slots) / wall:.1f} completed bookings/s; confirm p50 "
        f"{statistics.median(confirm_latencies) * 1000:.0f} ms, p99 "
        f"{percentile(confirm_latencies, 0.99) * 1000:.0f} ms; ledger->bookings lag p99 "
        f"{percentile(lag_values, 0.99) * 1000:.0f} ms"
    )


class LagWatch:
    """Polls the bookings table; lag = first time a row shows ACCEPTED - the Booked event time."""

    def __init__(self, container) -> None:
        self._container = container
        self._seen: dict[str, datetime] = {}
        self._before = set(self._accepted_ids())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _accepted_ids(self) -> list[str]:
        try:
            with self._container.store.transaction(readonly=True) as tx:
                rows = tx.execute("SELECT id FROM bookings WHERE status = 'ACCEPTED'").fetchall()
        except StoreError:  # the follower has not created its table yet
            return []
        return [row["id"] for row in rows]

    def _poll(self) -> None:
        while not self._stop.is_set():
            ids = self._accepted_ids()
            now = datetime.now(UTC)
            for booking_id in ids:
                if booking_id not in self._before:
                    self._seen.setdefault(booking_id, now)
            self._stop.wait(0.005)

    def finish(self, expected: int) -> list[float]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(self._seen) < expected:
            self._stop.wait(0.05)
        self._stop.set()
        self._thread.join()
        lags = []
        for booking_id, seen_at in self._seen.items():
            events = self._container.ledger.events.get(UUID(booking_id))
            booked = next(e for e in events if isinstance(e, Booking.Booked))
            lags.append(max(0.0, (seen_at - booked.timestamp).total_seconds()))
        return lags or [0.0]


if __name__ == "__main__":
    main()

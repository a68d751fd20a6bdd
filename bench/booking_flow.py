"""Completed bookings per second through the whole product, on PostgreSQL, with the sandbox in a
process of its own, at 0 and at 200 ms latency per vendor call (Stripe and Cal.com).

Prints, for 1 and 8 concurrent clients at each latency: completed bookings/s, p50/p99 of
POST /api/bookings/confirm, p99 lag from a ledger append (the Booked event) to the row in
``bookings``, and the 8-to-1 ratio. Then, at latency 0: how much one booking whose Cal.com
call hangs 20 s delays ten bookings made meanwhile (median and worst, against a baseline).

    .venv/bin/python -m bench.booking_flow [--bookings 40] [--latencies 0,200]
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

from bench.product_processes import (
    Product,
    product_env,
    product_processes,
    sandbox_process,
    settings_of,
)
from bench.scratch import scratch_database
from ledger import Booking
from mentorpay.auth_tokens import issue_token
from mentorpay.bootstrap import Container, build_container
from mentorpay.settings import Settings
from projections.catalog_file import parse_catalog
from projections.store import StoreError

JWT_SECRET = "bench-jwt-secret-0123456789abcdef0123"
WEBHOOK_SECRET = "whsec_bench"
EVENT_TYPE_ID = 9001
HANG_MS = 20_000
CATALOG = f"""
mentors: [{{id: mentor-bench, name: Bench Mentor, stripe_account_id: acct_sandboxmentor01}}]
event_types:
  - {{id: {EVENT_TYPE_ID}, mentor_id: mentor-bench, title: Bench session, duration_minutes: 15,
     price: {{amount: 5000, currency: usd}}}}
"""
BENCH_SETTINGS = {
    "stripe_webhook_secret": WEBHOOK_SECRET,
    "jwt_secret": JWT_SECRET,
    # A benchmark is one client on loopback making bookings as fast as it can.
    "checkout_rate_per_user": "100000/minute",
    "checkout_rate_per_client": "100000/minute",
    "max_open_checkouts": "100000",
}
EVERY_DAY = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=40, help="bookings per measurement")
    parser.add_argument("--latencies", default="0,200", help="ms per vendor call, comma list")
    parser.add_argument("--no-hang", action="store_true", help="skip the 20 s hang figure")
    parser.add_argument("--clients", default="1,8", help="concurrent clients, comma list")
    args = parser.parse_args()
    latencies = [int(value) for value in args.latencies.split(",")]
    clients = [int(value) for value in args.clients.split(",")]
    with scratch_database("flow") as database_url, sandbox_process() as (sandbox_url, _):
        run(database_url, sandbox_url, args.bookings, latencies, clients, hang=not args.no_hang)


def _faults(sandbox_url: str, latency_ms: int) -> None:
    httpx.delete(f"{sandbox_url}/_sandbox/faults").raise_for_status()
    if latency_ms:
        for service, path in (("stripe", "/v1/*"), ("calcom", "/v2/*")):
            httpx.post(
                f"{sandbox_url}/_sandbox/faults",
                json={"service": service, "path": path, "delayMs": latency_ms, "times": 10_000},
            ).raise_for_status()


def run(
    database_url: str,
    sandbox_url: str,
    bookings: int,
    latencies: list[int],
    client_counts: list[int],
    *,
    hang: bool,
) -> None:
    add_event_type(sandbox_url)
    env = product_env(database_url, sandbox_url, **BENCH_SETTINGS)
    # This process only loads the catalogue and reads the ledger and the bookings table (lag);
    # the API and the worker are processes of their own, as in production.
    container = build_container(Settings.model_validate(settings_of(env)))
    container.catalog.load(parse_catalog(CATALOG))
    try:
        with product_processes(env, workers=1) as product:
            httpx.post(
                f"{sandbox_url}/_sandbox/webhook-endpoints",
                json={"url": f"{product.api_url}/api/webhooks/stripe", "secret": WEBHOOK_SECRET},
            ).raise_for_status()
            needed = bookings * len(client_counts) * len(latencies) + (40 if hang else 0)
            slots = iter(free_slots(product.api_url, needed))
            print(
                f"machine: {os.cpu_count()} cores; store: PostgreSQL; sandbox, API (serve"
                f" --no-workers) and worker each in a process of their own;"
                f" {container.work.settings.threads} work threads"
            )
            for latency in latencies:
                _faults(sandbox_url, latency)
                print(f"-- sandbox latency {latency} ms per Stripe and Cal.com call")
                rates = {}
                for clients in client_counts:
                    chunk = [next(slots) for _ in range(bookings)]
                    rates[clients] = measure(product, sandbox_url, container, clients, chunk)
                if len(client_counts) > 1:
                    low, high = min(client_counts), max(client_counts)
                    print(
                        f"latency {latency} ms: {high} clients complete"
                        f" {rates[high] / rates[low]:.2f}x the bookings/s of {low} client(s)"
                    )
            if hang:
                _faults(sandbox_url, 0)
                hang_delay(product.api_url, sandbox_url, [next(slots) for _ in range(22)])
    finally:
        container.close()


def add_event_type(sandbox_url: str) -> None:
    httpx.post(
        f"{sandbox_url}/_sandbox/calcom/event-types",
        json={
            "id": EVENT_TYPE_ID,
            "title": "Bench session",
            "lengthInMinutes": 15,
            "hostName": "Bench Mentor",
            "timeZone": "UTC",
            "availability": [{"days": EVERY_DAY, "startTime": "00:00", "endTime": "23:45"}],
        },
    ).raise_for_status()


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


def book_one(api_url: str, sandbox_url: str, slot: datetime) -> tuple[str, float]:
    """Checkout, pay, confirm: the booking id and how long the confirm call took."""
    user = f"bench-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {issue_token(JWT_SECRET, user, 'user')}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as client:
        created = client.post(
            "/api/checkout-sessions",
            json={
                "eventTypeId": EVENT_TYPE_ID,
                "start": slot.isoformat(),
                "attendee": {"name": "Bench", "email": f"{user}@example.com", "timeZone": "UTC"},
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
    return confirmed.json()["bookingId"], elapsed


def hang_delay(api_url: str, sandbox_url: str, slots: list[datetime]) -> None:
    """Ten bookings one after another, then ten more while one booking's Cal.com call hangs."""
    baseline = [book_one(api_url, sandbox_url, slot)[1] for slot in slots[:10]]
    slow_slot, during_slots = slots[10], slots[11:21]
    httpx.post(
        f"{sandbox_url}/_sandbox/faults",
        json={"service": "calcom", "method": "POST", "path": "/v2/bookings", "delayMs": HANG_MS},
    ).raise_for_status()
    slow = threading.Thread(target=book_one, args=(api_url, sandbox_url, slow_slot), daemon=True)
    slow.start()
    while httpx.get(f"{sandbox_url}/_sandbox/faults").json()["faults"]:
        time.sleep(0.02)  # until the slow booking's call is the one hanging
    during = [book_one(api_url, sandbox_url, slot)[1] for slot in during_slots]
    slow.join(60)
    delay = statistics.median(during) - statistics.median(baseline)
    worst = max(during) - statistics.median(baseline)
    print(
        f"one Cal.com call hanging {HANG_MS / 1000:.0f} s: 10 bookings made meanwhile confirmed"
        f" in p50 {statistics.median(during) * 1000:.0f} ms (baseline"
        f" {statistics.median(baseline) * 1000:.0f} ms): delayed by {max(0.0, delay):.2f} s"
        f" median, {max(0.0, worst):.2f} s worst"
    )


def measure(
    product: Product, sandbox_url: str, container: Container, clients: int, slots: list[datetime]
) -> float:
    confirm_latencies: list[float] = []
    booking_ids: list[str] = []
    lock = threading.Lock()

    def book(slot: datetime) -> None:
        booking_id, elapsed = book_one(product.api_url, sandbox_url, slot)
        with lock:
            confirm_latencies.append(elapsed)
            booking_ids.append(booking_id)

    lags = LagWatch(container)
    cpu_before = product.cpu()
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(book, slots))
    wall = time.perf_counter() - started
    lag_values = lags.finish(len(slots))
    # The worker's share ends once the read model shows every booking (LagWatch.finish).
    cpu_after = product.cpu()
    per_booking = {
        name: (cpu_after[name] - cpu_before[name]) / len(booking_ids) for name in cpu_after
    }
    print(
        f"{clients} client(s): {len(slots)} bookings in {wall:.2f}s = "
        f"{len(slots) / wall:.1f} completed bookings/s; confirm p50 "
        f"{statistics.median(confirm_latencies) * 1000:.0f} ms, p99 "
        f"{percentile(confirm_latencies, 0.99) * 1000:.0f} ms; ledger->bookings lag p99 "
        f"{percentile(lag_values, 0.99) * 1000:.0f} ms; CPU per completed booking: "
        + ", ".join(f"{name} {seconds * 1000:.1f} ms" for name, seconds in per_booking.items())
        + f" (sum {sum(per_booking.values()) * 1000:.1f} ms)"
    )
    return len(slots) / wall


class LagWatch:
    """Polls the bookings table; lag = first time a row shows ACCEPTED - the Booked event time."""

    def __init__(self, container: Container) -> None:
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

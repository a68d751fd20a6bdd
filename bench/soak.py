"""A soak: the product as operations run it, under a steady load for a long while.

The API (``serve --no-workers``) and two ``worker`` processes on a fresh PostgreSQL database
of its own (dropped at the end), the sandbox in a process of its own. Client threads make
bookings at a steady pace (checkout, pay, confirm), cancel every ``--cancel-every``-th one
(a refund for the workers), and a payout run is asked for every ``--payout-every`` seconds.
Every ``--sample-seconds`` it writes one CSV row: errors so far, completed bookings/s,
cancellations, payouts, read-model lag (the log's head position minus each read model's
tracking position; the largest), and the RSS of each process; then plots them (PNG) and
prints a summary against the targets: no errors, lag bounded, the RSS of each process after
warm-up growing less than 10% over the run, the API under 150 MB.

    .venv/bin/python -m bench.soak [--minutes 10] [--sample-seconds 10] [--rate 1.0]
        [--out var/soak]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import httpx
import psycopg

from bench.booking_flow import (
    CATALOG,
    EVENT_TYPE_ID,
    JWT_SECRET,
    WEBHOOK_SECRET,
    add_event_type,
    book_one,
)
from bench.product_processes import (
    Product,
    product_env,
    product_processes,
    rss_bytes,
    sandbox_process,
)
from bench.scratch import scratch_database
from mentorpay.auth_tokens import issue_token

CRON_SECRET = "bench-cron-secret"
READ_MODELS = ("bookings", "payments", "journal", "no_shows", "work-dispatch")
RSS_GROWTH_LIMIT = 0.10
API_RSS_LIMIT_MB = 150
LAG_LIMIT = 1000  # READY_MAX_LAG's default: beyond it /readyz answers 503


@dataclass
class Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    bookings: int = 0
    cancellations: int = 0
    payouts: int = 0
    errors: int = 0
    last_errors: list[str] = field(default_factory=list)

    def add(self, name: str, count: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + count)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors += 1
            self.last_errors = [*self.last_errors[-4:], text[:300]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10, help="length of the run")
    parser.add_argument("--sample-seconds", type=float, default=10, help="sampling interval")
    parser.add_argument("--rate", type=float, default=1.0, help="bookings per second to make")
    parser.add_argument("--clients", type=int, default=3, help="client threads")
    parser.add_argument("--cancel-every", type=int, default=4, help="cancel every N-th booking")
    parser.add_argument("--payout-every", type=float, default=30, help="seconds between runs")
    parser.add_argument(
        "--warmup-minutes", type=float, default=None, help="default: a fifth of the run, <= 2"
    )
    parser.add_argument("--out", default="var/soak", help="folder for soak.csv and soak.png")
    args = parser.parse_args()
    warmup = args.warmup_minutes if args.warmup_minutes is not None else min(2, args.minutes / 5)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with scratch_database("soak") as database_url, sandbox_process() as (sandbox_url, _):
        rows = soak(database_url, sandbox_url, args)
    csv_path, png_path = out / "soak.csv", out / "soak.png"
    write_csv(csv_path, rows)
    plot(png_path, rows, warmup * 60)
    print(f"samples: {csv_path}; plot: {png_path}")
    summarise(rows, warmup * 60)


def soak(database_url: str, sandbox_url: str, args: argparse.Namespace) -> list[dict[str, float]]:
    add_event_type(sandbox_url)
    env = product_env(
        database_url,
        sandbox_url,
        stripe_webhook_secret=WEBHOOK_SECRET,
        jwt_secret=JWT_SECRET,
        cron_secret=CRON_SECRET,
        checkout_rate_per_user="100000/minute",
        checkout_rate_per_client="100000/minute",
        max_open_checkouts="100000",
        # Paid sessions are due at once, so every payout run has payouts to make.
        payout_hold_hours="0",
        payout_after_session_hours="",
    )
    load_catalog(env)
    with product_processes(env, workers=2) as product:
        httpx.post(
            f"{sandbox_url}/_sandbox/webhook-endpoints",
            json={"url": f"{product.api_url}/api/webhooks/stripe", "secret": WEBHOOK_SECRET},
        ).raise_for_status()
        print(
            f"soak: {args.minutes:g} min, {args.rate:g} bookings/s from {args.clients} clients,"
            f" every {args.cancel_every}th cancelled, a payout run every {args.payout_every:g} s;"
            f" API pid {product.api_pid}, workers {product.worker_pids}; logs in {product.logs}",
            flush=True,
        )
        counters = Counters()
        stop = threading.Event()
        slots = SlotFeed(product.api_url)
        threads = [
            threading.Thread(
                target=client_loop,
                args=(product, sandbox_url, slots, counters, stop, args),
                daemon=True,
            )
            for _ in range(args.clients)
        ]
        threads.append(
            threading.Thread(
                target=payout_loop, args=(product, counters, stop, args.payout_every), daemon=True
            )
        )
        for thread in threads:
            thread.start()
        try:
            return sample(product, database_url, counters, args)
        finally:
            stop.set()
            for thread in threads:
                thread.join(90)


def load_catalog(env: dict[str, str]) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write(CATALOG)
    try:
        subprocess.run(
            [sys.executable, "-m", "mentorpay.cli", "catalog", "load", file.name],
            env={**os.environ, **env},
            check=True,
            stdout=subprocess.DEVNULL,
        )
    finally:
        os.unlink(file.name)


class SlotFeed:
    """Free slots, a week at a time, from the API (each handed out once)."""

    def __init__(self, api_url: str) -> None:
        self._api_url = api_url
        self._lock = threading.Lock()
        self._week_start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        self._free: list[datetime] = []

    def next(self) -> datetime:
        with self._lock:
            while not self._free:
                self._free = self._week(self._week_start)
                self._week_start += timedelta(days=7)
            return self._free.pop(0)

    def _week(self, start: datetime) -> list[datetime]:
        token = issue_token(JWT_SECRET, "soak-slots", "user")
        response = httpx.get(
            f"{self._api_url}/api/event-types/{EVENT_TYPE_ID}/slots",
            params={"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat()},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        response.raise_for_status()
        return [datetime.fromisoformat(slot["start"]) for slot in response.json()]


def client_loop(
    product: Product,
    sandbox_url: str,
    slots: SlotFeed,
    counters: Counters,
    stop: threading.Event,
    args: argparse.Namespace,
) -> None:
    """Book at this thread's share of the rate; cancel every ``cancel_every``-th booking."""
    interval = args.clients / args.rate
    next_at = time.monotonic()
    for number in itertools.count(1):
        if stop.wait(max(0.0, next_at - time.monotonic())):
            return
        next_at += interval
        try:
            booking_id, _ = book_one(product.api_url, sandbox_url, slots.next())
            counters.add("bookings")
            if number % args.cancel_every == 0:
                cancel(product.api_url, booking_id)
                counters.add("cancellations")
        except Exception as error:
            counters.error(f"booking: {type(error).__name__}: {error}")
        # Behind by more than a few bookings (a slow machine): do not make up in a burst.
        next_at = max(next_at, time.monotonic() - 3 * interval)


def cancel(api_url: str, booking_id: str) -> None:
    # Cancelled by admin: a full refund whatever the time to the session.
    token = issue_token(JWT_SECRET, "soak-admin", "admin")
    response = httpx.post(
        f"{api_url}/api/bookings/{booking_id}/cancel",
        json={"reason": "soak"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    if response.status_code != 200:
        raise RuntimeError(f"cancel {booking_id}: {response.status_code} {response.text}")


def payout_loop(product: Product, counters: Counters, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            response = httpx.post(
                f"{product.api_url}/api/cron/process-payouts",
                headers={"Authorization": f"Bearer {CRON_SECRET}"},
                timeout=300,
            )
            response.raise_for_status()
            result = response.json()
            counters.add("payouts", int(result["paidOut"]))
            if result["failed"]:
                counters.error(f"payouts failed: {result['failures']}")
        except Exception as error:
            counters.error(f"payout run: {type(error).__name__}: {error}")


def sample(
    product: Product, database_url: str, counters: Counters, args: argparse.Namespace
) -> list[dict[str, float]]:
    rows: list[dict[str, float]] = []
    started = time.monotonic()
    end = started + args.minutes * 60
    last_bookings, last_at = 0, started
    # One connection for every sample (autocommit: each query sees the latest commits).
    with psycopg.connect(database_url, autocommit=True) as conn:
        while (now := time.monotonic()) < end:
            time.sleep(max(0.0, min(args.sample_seconds - (now - last_at), end - now)))
            at = time.monotonic()
            with counters.lock:
                bookings, cancellations = counters.bookings, counters.cancellations
                payouts, client_errors = counters.payouts, counters.errors
            lags, problems = read_model_state(conn)
            row: dict[str, float] = {
                "seconds": round(at - started, 1),
                "errors": client_errors + problems,
                "bookings": bookings,
                "bookings_per_s": round((bookings - last_bookings) / (at - last_at), 3),
                "cancellations": cancellations,
                "payouts": payouts,
                "lag_max": max(lags.values(), default=0),
                **{f"lag_{name}": lag for name, lag in lags.items()},
            }
            for name, pid in product.pids().items():
                row[f"rss_{name}_mb"] = round(rss_bytes(pid) / 2**20, 1)
            rows.append(row)
            last_bookings, last_at = bookings, at
            print(
                f"{row['seconds']:6.0f}s bookings {bookings} ({row['bookings_per_s']:.2f}/s)"
                f" cancelled {cancellations} paid out {payouts} errors {row['errors']:.0f}"
                f" lag {row['lag_max']:.0f} RSS "
                + " ".join(f"{k[4:-3]} {v:.0f}" for k, v in row.items() if k.startswith("rss_"))
                + " MB",
                flush=True,
            )
            if counters.last_errors:
                print(f"        last errors: {counters.last_errors}", flush=True)
    return rows


def read_model_state(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[dict[str, int], int]:
    """Each read model's lag behind the log's head, and parked work + halted read models."""
    head_row = conn.execute("SELECT max(notification_id) FROM ledger_events").fetchone()
    head = int(cast(int | None, head_row[0]) or 0) if head_row else 0
    positions = {
        str(name): int(cast(int, position))
        for name, position in conn.execute("SELECT name, position FROM follower_positions")
    }
    lags = {name: max(0, head - positions.get(name, 0)) for name in READ_MODELS}
    problem_row = conn.execute(
        "SELECT (SELECT count(*) FROM work_items WHERE status = 'parked')"
        " + (SELECT count(*) FROM follower_halts)"
    ).fetchone()
    return lags, int(cast(int | None, problem_row[0]) or 0) if problem_row else 0


def write_csv(path: Path, rows: list[dict[str, float]]) -> None:
    if not rows:
        return
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot(path: Path, rows: list[dict[str, float]], warmup_seconds: float) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display
    import matplotlib.pyplot as plt

    if not rows:
        return
    seconds = [row["seconds"] / 60 for row in rows]
    figure, axes = plt.subplots(4, 1, figsize=(9, 11), sharex=True)
    panels: list[tuple[str, list[str]]] = [
        ("completed bookings/s", ["bookings_per_s"]),
        ("errors (cumulative)", ["errors"]),
        ("read-model lag (positions)", [k for k in rows[0] if k.startswith("lag_")]),
        ("RSS (MB)", [k for k in rows[0] if k.startswith("rss_")]),
    ]
    for axis, (title, keys) in zip(axes, panels, strict=True):
        for key in keys:
            axis.plot(seconds, [row[key] for row in rows], label=key)
        axis.set_title(title)
        axis.axvline(warmup_seconds / 60, color="grey", linestyle=":", linewidth=1)
        axis.grid(alpha=0.3)
        if len(keys) > 1:
            axis.legend(fontsize="small", ncol=3)
    axes[-1].set_xlabel("minutes (dotted: end of warm-up)")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def summarise(rows: list[dict[str, float]], warmup_seconds: float) -> None:
    if not rows:
        print("no samples")
        return
    after = [row for row in rows if row["seconds"] >= warmup_seconds] or rows
    minutes = rows[-1]["seconds"] / 60
    rates = [row["bookings_per_s"] for row in after]
    print(
        f"summary over {minutes:.1f} min ({len(rows)} samples, warm-up"
        f" {warmup_seconds / 60:.1f} min): {rows[-1]['bookings']:.0f} bookings, median"
        f" {statistics.median(rates):.2f} completed bookings/s after warm-up,"
        f" {rows[-1]['cancellations']:.0f} cancelled, {rows[-1]['payouts']:.0f} paid out"
    )
    verdicts: list[tuple[str, bool]] = []
    errors = rows[-1]["errors"]
    verdicts.append((f"errors: {errors:.0f} (target 0)", errors == 0))
    lag_max = max(row["lag_max"] for row in rows)
    lag_after = [row["lag_max"] for row in after]
    verdicts.append(
        (
            f"read-model lag: max {lag_max:.0f}, median after warm-up"
            f" {statistics.median(lag_after):.0f}, last {rows[-1]['lag_max']:.0f}"
            f" positions (target bounded: under {LAG_LIMIT}, where /readyz turns 503)",
            lag_max < LAG_LIMIT,
        )
    )
    for key in [k for k in rows[0] if k.startswith("rss_")]:
        name = key[4:-3]
        # Medians of the first and last three samples after warm-up: one sample is noisy.
        first = statistics.median(row[key] for row in after[:3])
        last = statistics.median(row[key] for row in after[-3:])
        growth = (last - first) / first if first else 0.0
        verdicts.append(
            (
                f"RSS {name}: {first:.1f} MB after warm-up -> {last:.1f} MB at the end"
                f" ({growth:+.1%}; target under +{RSS_GROWTH_LIMIT:.0%})",
                growth < RSS_GROWTH_LIMIT,
            )
        )
        if name == "api":
            peak = max(row[key] for row in rows)
            verdicts.append(
                (
                    f"RSS api peak {peak:.1f} MB (target under {API_RSS_LIMIT_MB} MB)",
                    peak < API_RSS_LIMIT_MB,
                )
            )
    for text, ok in verdicts:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")


if __name__ == "__main__":
    main()

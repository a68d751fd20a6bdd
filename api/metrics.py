"""Prometheus metrics: requests, ledger events, follower lag, halted read models, the work queue,
how this process's ledger writes are grouped (group commit and shared reads), and checkouts let
through while the rate limits' storage failed."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.rate_limits import CheckoutRateLimits
from ledger import Ledger


class Metrics:
    def __init__(
        self, ledger: Ledger | None = None, checkout_limits: CheckoutRateLimits | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        if ledger is not None:
            self.registry.register(LedgerWrites(ledger))
        if checkout_limits is not None:
            self.registry.register(CheckoutLimitsUnapplied(checkout_limits))
        self.requests = Counter(
            "mentorpay_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mentorpay_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.ledger_events = Gauge(
            "mentorpay_ledger_events", "Highest ledger notification id", registry=self.registry
        )
        self.follower_lag = Gauge(
            "mentorpay_follower_lag_events",
            "Events not yet applied",
            ["follower"],
            registry=self.registry,
        )

        # The work queue and read-model halts, read from the database at each scrape, so any
        # API replica reports the same figures whichever process did the work.
        self.read_model_halted = Gauge(
            "mentorpay_read_model_halted",
            "1 while the read model is halted on an event it cannot apply",
            ["read_model"],
            registry=self.registry,
        )
        self.work_queued = Gauge(
            "mentorpay_work_queued",
            "Process-manager work queued or running",
            ["process"],
            registry=self.registry,
        )
        self.work_oldest_age = Gauge(
            "mentorpay_work_oldest_age_seconds",
            "Age of the oldest unfinished work item",
            ["process"],
            registry=self.registry,
        )
        self.work_parked = Gauge(
            "mentorpay_work_parked",
            "Work items parked for operations (failed for good or out of attempts)",
            ["process"],
            registry=self.registry,
        )
        self.work_retries = Gauge(
            "mentorpay_work_retries",
            "Attempts beyond the first, over all work items (only grows)",
            ["process"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


# (metric name, help, the figure's attribute) of ``CommitStats`` and of ``ReadStats``.
_COMMIT_COUNTERS = (
    ("ledger_commits", "Ledger transactions saved by group commit", "transactions"),
    ("ledger_committed_commands", "Ledger commands saved by group commit", "commands"),
    ("ledger_committed_events", "Ledger events saved by group commit", "events"),
    ("ledger_commit_seconds", "Time spent saving group commits", "save_seconds"),
    (
        "ledger_commits_split",
        "Group commits the store refused, then saved one command at a time",
        "split",
    ),
)
_READ_COUNTERS = (
    ("ledger_shared_reads", "Ledger queries made by shared reads", "queries"),
    ("ledger_shared_read_requests", "Commands' reads served by shared reads", "requests"),
    ("ledger_shared_read_seconds", "Time spent in shared reads", "seconds"),
)


class LedgerWrites(Collector):
    """The ledger's group commit and shared reads, read at each scrape. Commands per
    transaction (``rate`` of commands over ``rate`` of transactions) and the time a save takes
    show whether a slower ledger is the database's doing or fewer commands arriving together."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def collect(self) -> Iterator[Metric]:
        for stats, counters in (
            (self._ledger.commit_stats, _COMMIT_COUNTERS),
            (self._ledger.read_stats, _READ_COUNTERS),
        ):
            if stats is None:
                continue  # no group commit, or reads not shared (SQLite, memory)
            for name, documentation, figure in counters:
                yield CounterMetricFamily(
                    f"mentorpay_{name}", documentation, value=getattr(stats, figure)
                )


class CheckoutLimitsUnapplied(Collector):
    """Checkout attempts this process let through unchecked because the rate limits' storage
    failed (Redis down): any increase is worth an alert, the limits are off meanwhile."""

    def __init__(self, limits: CheckoutRateLimits) -> None:
        self._limits = limits

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "mentorpay_checkout_rate_limits_unapplied",
            "Checkout attempts let through because the rate limits' storage failed",
            value=self._limits.unapplied,
        )


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(scope["method"], path, str(status)).inc()
            self.metrics.latency.labels(scope["method"], path).observe(
                time.perf_counter() - started
            )

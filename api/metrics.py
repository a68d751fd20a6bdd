"""Prometheus metrics: requests, ledger events, follower lag, halted read models, the work queue."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

"""The Stripe emulator: its state, its routers, and its background work.

One re-entrant lock guards all state: the API, the controls, the expiry sweep and the
webhook bookkeeping take it (FastAPI runs sync endpoints on a thread pool). Webhook delivery
itself happens on the dispatcher's thread, outside the lock and outside any request.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter

from sandbox.clock import SandboxClock
from sandbox.stripe.api import build_api_router
from sandbox.stripe.background import PeriodicTask
from sandbox.stripe.connect import Connect
from sandbox.stripe.controls import build_controls_router
from sandbox.stripe.events import EventLog
from sandbox.stripe.idempotency import IdempotencyStore
from sandbox.stripe.payments import Payments
from sandbox.stripe.promotions import Promotions
from sandbox.stripe.store import Store
from sandbox.stripe.webhooks import RetryPolicy, WebhookDispatcher


class StripeEmulator:
    def __init__(
        self, clock: SandboxClock, *, retry: RetryPolicy | None = None, sweep_interval: float = 0.1
    ) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.webhooks = WebhookDispatcher(clock, retry or RetryPolicy(), self._delivered)
        self._sweeper = PeriodicTask(
            "stripe-expiry-sweep", sweep_interval, self._expire_due_sessions
        )
        self._fresh_state()

    def _fresh_state(self) -> None:
        self.store = Store()
        self.idempotency = IdempotencyStore()
        self.events = EventLog(self.store, self.clock, self.webhooks.publish)
        self.promotions = Promotions(self.store, self.clock)
        self.payments = Payments(self.store, self.events, self.clock, self.promotions)
        self.connect = Connect(self.store, self.events, self.clock)
        self.connect.seed()

    # The interface the sandbox app uses ----------------------------------------------------

    def router(self) -> APIRouter:
        return build_api_router(self)

    def controls_router(self) -> APIRouter:
        return build_controls_router(self)

    def add_webhook_endpoint(self, url: str, secret: str, *, keep_on_reset: bool = True) -> None:
        """Deliver every later event to ``url``, signed with ``secret``.

        Endpoints given at start-up (the CLI) survive :meth:`reset`; the control endpoint
        passes ``keep_on_reset=False`` so a test's receiver goes with the test's state.
        """
        self.webhooks.add_endpoint(url, secret, keep_on_reset=keep_on_reset)

    def reset(self, *, startup_endpoints_too: bool = False) -> None:
        """Forget every object, event, idempotency key and delivery; re-seed the demo data."""
        with self.lock:
            self.webhooks.reset(startup_endpoints_too=startup_endpoints_too)
            self._fresh_state()

    def start(self) -> None:
        self.webhooks.start()
        self._sweeper.start()

    def stop(self) -> None:
        self._sweeper.stop()
        self.webhooks.stop()

    # Background work -----------------------------------------------------------------------

    def _expire_due_sessions(self) -> None:
        with self.lock:
            self.payments.expire_due_sessions()

    def _delivered(self, event_id: str) -> None:
        with self.lock:
            event = self.store.find("event", event_id)
            if event is not None and event["pending_webhooks"] > 0:
                event["pending_webhooks"] -= 1

"""Signed webhook delivery, at least once, with retries, on a background thread.

Every event goes to every endpoint registered when it was emitted. An attempt that is not
answered with a 2xx (an error status, a refused connection, a timeout) is retried after a
growing delay, up to ``RetryPolicy.max_attempts``. The delays run on wall time, not on the
sandbox clock, so a test never has to move the clock to see a retry.
"""

from __future__ import annotations

import heapq
import hmac
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from hashlib import sha256
from typing import Any

import httpx

from sandbox.clock import SandboxClock
from sandbox.stripe.ids import new_id

log = logging.getLogger(__name__)
JSON = dict[str, Any]


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """``Stripe-Signature``: HMAC-SHA256 of ``"<t>.<body>"`` with the endpoint's secret."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class RetryPolicy:
    initial_delay: float = 0.2  # seconds before the 2nd attempt
    factor: float = 2.0
    max_delay: float = 30.0
    max_attempts: int = 8
    timeout: float = 5.0  # per attempt

    def delay_after(self, attempt: int) -> float:
        return min(self.initial_delay * self.factor ** (attempt - 1), self.max_delay)


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: str
    keep_on_reset: bool  # configured at start-up (CLI) rather than by a test


@dataclass(frozen=True)
class _Job:
    event_id: str
    event_type: str
    payload: bytes
    endpoint: Endpoint
    attempt: int
    generation: int


class WebhookDispatcher:
    def __init__(
        self, clock: SandboxClock, policy: RetryPolicy, on_delivered: Callable[[str], None]
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._on_delivered = on_delivered
        self._cond = threading.Condition()
        self._endpoints: dict[str, Endpoint] = {}
        self._queue: list[tuple[float, int, _Job]] = []
        self._sequence = itertools.count()
        self._attempts: list[JSON] = []
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._stopping = False

    # Configuration -------------------------------------------------------------------------

    def add_endpoint(self, url: str, secret: str, *, keep_on_reset: bool) -> None:
        with self._cond:
            self._endpoints[url] = Endpoint(url, secret, keep_on_reset)

    def endpoints(self) -> list[str]:
        with self._cond:
            return list(self._endpoints)

    def reset(self, *, startup_endpoints_too: bool = False) -> None:
        """Forget queued deliveries, the attempt log and the endpoints tests registered (and
        those given at start-up, when asked)."""
        with self._cond:
            self._generation += 1
            self._queue.clear()
            self._attempts.clear()
            self._endpoints = {
                u: e
                for u, e in self._endpoints.items()
                if e.keep_on_reset and not startup_endpoints_too
            }

    # Publishing ----------------------------------------------------------------------------

    def publish(self, event: JSON) -> None:
        """Queue ``event`` for every endpoint; sets its ``pending_webhooks`` to that number."""
        with self._cond:
            endpoints = list(self._endpoints.values())
            event["pending_webhooks"] = len(endpoints)
            payload = json.dumps(event, indent=2).encode()
            for endpoint in endpoints:
                job = _Job(event["id"], event["type"], payload, endpoint, 1, self._generation)
                self._push(time.monotonic(), job)

    def attempts(self) -> list[JSON]:
        with self._cond:
            return [dict(a) for a in self._attempts]

    def _push(self, due: float, job: _Job) -> None:
        heapq.heappush(self._queue, (due, next(self._sequence), job))
        self._cond.notify_all()

    # The delivery thread -------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="stripe-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(self.policy.timeout + 5)

    def _run(self) -> None:
        with httpx.Client(follow_redirects=False) as client:
            while (job := self._next_due()) is not None:
                try:
                    self._attempt(client, job)
                except Exception:  # never let one bad delivery kill the thread
                    log.exception("webhook delivery of %s failed unexpectedly", job.event_id)

    def _next_due(self) -> _Job | None:
        with self._cond:
            while not self._stopping:
                if self._queue and self._queue[0][0] <= time.monotonic():
                    return heapq.heappop(self._queue)[2]
                timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                self._cond.wait(timeout)
            return None

    def _attempt(self, client: httpx.Client, job: _Job) -> None:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            # Signed at the wall time of the attempt, as the receiver's own clock sees it: an
            # advanced sandbox clock would put the signature outside its tolerance.
            "Stripe-Signature": signature_header(
                job.payload, job.endpoint.secret, int(time.time())
            ),
        }
        attempted_at = self._clock.now()
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            response = client.post(
                job.endpoint.url, content=job.payload, headers=headers, timeout=self.policy.timeout
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivered = status is not None and 200 <= status < 300
        with self._cond:
            if job.generation != self._generation:
                return  # the sandbox was reset while this attempt was in flight
            retry_in = None
            if not delivered and job.attempt < self.policy.max_attempts:
                retry_in = self.policy.delay_after(job.attempt)
                self._push(time.monotonic() + retry_in, replace(job, attempt=job.attempt + 1))
            self._attempts.append(
                {
                    "id": new_id("whatt_"),
                    "event": job.event_id,
                    "type": job.event_type,
                    "url": job.endpoint.url,
                    "attempt": job.attempt,
                    "status": status,
                    "error": error,
                    "delivered": delivered,
                    "attempted_at": attempted_at.isoformat(),
                    "duration_ms": round((time.monotonic() - started) * 1000),
                    "next_retry_in_seconds": retry_in,
                }
            )
        if delivered:
            self._on_delivered(job.event_id)

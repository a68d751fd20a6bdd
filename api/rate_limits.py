"""Rate limits on checkout creation, per signed-in user and per client address (the ``limits``
library's moving window).

Their counts live where ``storage`` says: ``memory://`` (the default) keeps them in this
process, so N API processes allow N times the limit; ``redis://host:port/db`` shares them
between every process pointed at it. A storage that fails (Redis down) lets the checkout
through and logs an ERROR, then is left alone for ``storage_retry_seconds`` (each checkout
meanwhile let through and counted): an outage of the counters must not stop or slow sales, and
the open checkouts per user (``MAX_OPEN_CHECKOUTS``, counted in the database) still hold.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from limits import RateLimitItem, parse
from limits.errors import ConfigurationError, StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from api.problems import Problem

log = logging.getLogger(__name__)

# A Redis that does not answer must not hold a checkout up for long (redis-py waits forever).
_REDIS_TIMEOUTS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


def limits_storage(uri: str) -> Storage:
    """The ``limits`` storage for ``uri`` (``ConfigurationError`` for an unknown scheme or a
    missing driver), its errors raised as ``StorageError``."""
    options: dict[str, Any] = _REDIS_TIMEOUTS if uri.startswith(("redis://", "rediss://")) else {}
    storage = storage_from_string(uri, wrap_exceptions=True, **options)
    if not isinstance(storage, Storage):  # async+redis:// and the like
        raise ConfigurationError(f"{uri!r}: the checkout endpoint needs a synchronous storage")
    return storage


@dataclass
class CheckoutRateLimits:
    per_user: str = "10/minute"
    per_client: str = "30/minute"
    storage: str = "memory://"
    # How long checkouts go unlimited after the storage failed, before it is tried again.
    storage_retry_seconds: float = 5.0
    _limiter: MovingWindowRateLimiter = field(init=False, repr=False)
    _user_item: RateLimitItem = field(init=False, repr=False)
    _client_item: RateLimitItem = field(init=False, repr=False)
    # Checkout attempts let through because the storage failed (``/metrics`` shows it).
    unapplied: int = field(default=0, init=False)
    _count_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    # After a failure the storage is left alone for a while: a Redis that does not answer
    # would otherwise add its timeouts to every checkout and an ERROR line to the log for each.
    _failed_until: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(limits_storage(self.storage))
        self._user_item = parse(self.per_user)
        self._client_item = parse(self.per_client)

    def hit(self, user: str, client: str) -> None:
        """Count one checkout attempt; 429 with Retry-After once either limit is reached."""
        if time.monotonic() < self._failed_until:
            self._count_unapplied()
            return
        for item, kind, who in (
            (self._user_item, "user", user),
            (self._client_item, "client", client),
        ):
            try:
                allowed = self._limiter.hit(item, "checkout", kind, who)
                reset = (
                    None
                    if allowed
                    else self._limiter.get_window_stats(item, "checkout", kind, who).reset_time
                )
            except StorageError as error:
                self._failed_until = time.monotonic() + self.storage_retry_seconds
                self._count_unapplied()
                log.error(
                    "checkout rate limits not applied for %g s: their storage failed (%s)",
                    self.storage_retry_seconds,
                    error.storage_error,
                )
                return
            if reset is not None:
                wait = max(1, math.ceil(reset - time.time()))
                raise Problem(
                    429,
                    "Too Many Requests",
                    f"too many checkouts from this {kind}: at most {item}; try again later",
                    headers={"Retry-After": str(wait)},
                )

    def _count_unapplied(self) -> None:
        with self._count_lock:
            self.unapplied += 1

"""Rate limits on checkout creation, per signed-in user and per client address (the
``limits`` library's moving window, in this process's memory)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.problems import Problem


@dataclass
class CheckoutRateLimits:
    per_user: str = "10/minute"
    per_client: str = "30/minute"
    _limiter: MovingWindowRateLimiter = field(init=False, repr=False)
    _user_item: RateLimitItem = field(init=False, repr=False)
    _client_item: RateLimitItem = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._user_item = parse(self.per_user)
        self._client_item = parse(self.per_client)

    def hit(self, user: str, client: str) -> None:
        """Count one checkout attempt; 429 with Retry-After once either limit is reached."""
        for item, kind, who in (
            (self._user_item, "user", user),
            (self._client_item, "client", client),
        ):
            if not self._limiter.hit(item, "checkout", kind, who):
                reset = self._limiter.get_window_stats(item, "checkout", kind, who).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                raise Problem(
                    429,
                    "Too Many Requests",
                    f"too many checkouts from this {kind}: at most {item}; try again later",
                    headers={"Retry-After": str(wait)},
                )

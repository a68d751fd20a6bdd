"""Idempotency-Key handling: the first response for a key is replayed, per API key.

As on Stripe, a result is saved once the endpoint began executing (success or error);
requests refused while their parameters were checked save nothing. Reusing a key with other
parameters, or on another endpoint, is an ``idempotency_error``. Keys expire after 24 hours
of sandbox time.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sandbox.stripe.errors import idempotency_error

RETENTION_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255
MAX_ENTRIES = 50_000


@dataclass(frozen=True)
class SavedResponse:
    fingerprint: str
    status: int
    body: dict[str, Any]
    request_id: str
    saved_at: int


def fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    canonical = json.dumps([method, path, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self) -> None:
        self._saved: OrderedDict[tuple[str, str], SavedResponse] = OrderedDict()

    def lookup(
        self, api_key: str, key: str, request_fingerprint: str, now: int
    ) -> SavedResponse | None:
        """The saved response to replay, None for a new key; raises on a mismatched reuse."""
        self._prune(now)
        saved = self._saved.get((api_key, key))
        if saved is None:
            return None
        if saved.fingerprint != request_fingerprint:
            raise idempotency_error(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
        return saved

    def save(self, api_key: str, key: str, response: SavedResponse) -> None:
        self._saved[(api_key, key)] = response
        while len(self._saved) > MAX_ENTRIES:
            self._saved.popitem(last=False)

    def _prune(self, now: int) -> None:
        while self._saved:
            oldest = next(iter(self._saved.values()))
            if now - oldest.saved_at < RETENTION_SECONDS:
                break
            self._saved.popitem(last=False)

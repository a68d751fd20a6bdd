"""The emulator's memory: every object by type and id, in creation order.

Objects are kept in their wire form (JSON-ready dicts) and handed out as deep copies, so a
response or an event snapshot never changes after it was taken. Not thread-safe by itself:
the emulator serialises access with its lock.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sandbox.stripe.errors import resource_missing

JSON = dict[str, Any]

KINDS = (
    "checkout.session",
    "payment_intent",
    "charge",
    "refund",
    "dispute",
    "account",
    "transfer",
    "transfer_reversal",
    "coupon",
    "promotion_code",
    "event",
)


@dataclass(frozen=True)
class LineItem:
    name: str
    description: str | None
    unit_amount: int
    quantity: int
    currency: str


@dataclass
class SessionExtras:
    """What a Checkout Session knows but does not show in its JSON."""

    line_items: list[LineItem]
    payment_intent_data: dict[str, Any] = field(default_factory=dict)


class Store:
    def __init__(self) -> None:
        self._objects: dict[str, dict[str, JSON]] = {kind: {} for kind in KINDS}
        self.session_extras: dict[str, SessionExtras] = {}

    def add(self, obj: JSON) -> JSON:
        self._objects[obj["object"]][obj["id"]] = obj
        return obj

    def find(self, kind: str, object_id: str) -> JSON | None:
        return self._objects[kind].get(object_id)

    def get(self, kind: str, object_id: str, *, param: str, status: int = 404) -> JSON:
        """The live object, or Stripe's resource_missing error (404 for a URL, 400 for a param)."""
        obj = self._objects[kind].get(object_id)
        if obj is None:
            raise resource_missing(kind, object_id, param, status=status)
        return obj

    def all(self, kind: str) -> list[JSON]:
        """Live objects of one kind, oldest first."""
        return list(self._objects[kind].values())

    def any_by_id(self, object_id: str) -> JSON | None:
        for objects in self._objects.values():
            if object_id in objects:
                return objects[object_id]
        return None


def snapshot(obj: JSON) -> JSON:
    return copy.deepcopy(obj)

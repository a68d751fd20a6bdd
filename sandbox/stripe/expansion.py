"""``expand[]``: replace an id field by the object it names, as Stripe does.

Which fields expand, and into what, is fixed per object type (as in Stripe's reference), so
a request naming anything else is refused while its parameters are checked, before the call
changes anything. Nested paths (``payment_intent.latest_charge``) and, on lists,
``data.<field>`` work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.stripe.errors import StripeError, param_error

JSON = dict[str, Any]
MAX_DEPTH = 4  # Stripe's limit on nested expansion

EXPANDABLE: dict[str, dict[str, str]] = {
    "checkout.session": {"payment_intent": "payment_intent"},
    "payment_intent": {"latest_charge": "charge"},
    "charge": {"payment_intent": "payment_intent"},
    "refund": {"charge": "charge", "payment_intent": "payment_intent"},
    "dispute": {"charge": "charge", "payment_intent": "payment_intent"},
    "transfer": {"destination": "account", "source_transaction": "charge"},
    "transfer_reversal": {"transfer": "transfer"},
}


def check(kind: str, paths: list[str], *, is_list: bool) -> None:
    """Refuse (400, ``param: expand[i]``) any path that ``kind`` cannot expand."""
    for index, path in enumerate(paths):
        parts = path.split(".")
        if is_list:
            if parts[0] != "data":
                raise _cannot(path, index)
            parts = parts[1:]
        if not parts or len(parts) > MAX_DEPTH:
            raise _cannot(path, index)
        current = kind
        for part in parts:
            target = EXPANDABLE.get(current, {}).get(part)
            if target is None:
                raise _cannot(path, index)
            current = target


def expand(
    obj: JSON, paths: list[str], resolve: Callable[[str], JSON | None], *, is_list: bool
) -> JSON:
    """``obj`` (a copy, changed in place) with ``paths`` (already checked) expanded."""
    for path in paths:
        parts = path.split(".")
        targets = obj["data"] if is_list else [obj]
        for target in targets:
            _expand(target, parts[1:] if is_list else parts, resolve)
    return obj


def _expand(node: JSON, parts: list[str], resolve: Callable[[str], JSON | None]) -> None:
    head, rest = parts[0], parts[1:]
    value = node.get(head)
    if isinstance(value, str):
        found = resolve(value)
        if found is not None:
            value = node[head] = found
    if rest and isinstance(value, dict):
        _expand(value, rest, resolve)


def _cannot(path: str, index: int) -> StripeError:
    return param_error(f"This property cannot be expanded ({path}).", f"expand[{index}]")

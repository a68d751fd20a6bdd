"""Stripe's cursor pagination: newest first, ``limit``, ``starting_after`` / ``ending_before``."""

from __future__ import annotations

from typing import Any

from sandbox.stripe.errors import param_error, resource_missing
from sandbox.stripe.objects import list_object
from sandbox.stripe.params import ListParams
from sandbox.stripe.store import snapshot

JSON = dict[str, Any]


def paginate(items: list[JSON], params: ListParams, *, url: str, kind: str) -> JSON:
    """A list object over ``items`` (oldest first, as stored)."""
    newest_first = items[::-1]
    ids = [item["id"] for item in newest_first]
    if params.starting_after and params.ending_before:
        raise param_error(
            "You may only specify one of these parameters: ending_before, starting_after.",
            "starting_after",
            code="parameters_exclusive",
        )
    if params.starting_after:
        start = _position(ids, params.starting_after, "starting_after", kind) + 1
        window = newest_first[start:]
        page, has_more = window[: params.limit], len(window) > params.limit
    elif params.ending_before:
        window = newest_first[: _position(ids, params.ending_before, "ending_before", kind)]
        page, has_more = window[-params.limit :], len(window) > params.limit
    else:
        page, has_more = newest_first[: params.limit], len(newest_first) > params.limit
    return list_object([snapshot(item) for item in page], url, has_more)


def _position(ids: list[str], cursor: str, param: str, kind: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise resource_missing(kind, cursor, param, status=400) from None

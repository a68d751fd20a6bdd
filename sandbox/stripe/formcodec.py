"""Decode ``application/x-www-form-urlencoded`` bodies with bracketed keys, as Stripe reads them.

``a[b][0][c]=v`` becomes ``{"a": {"b": {"0": {"c": "v"}}}}``: an index is kept as a dict key
here, because the same form is legal for a hash (``metadata[0]=x`` is metadata with key "0").
Whether a value is a list is decided by the parameter's schema, with :func:`as_list`.
``expand[]=x&expand[]=y`` (empty brackets, last segment only) appends to a list.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

FormValue = str | dict[str, Any] | list[Any]

# Parameter name, then any number of bracketed segments; no stray brackets anywhere.
_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
MAX_FIELDS = 5_000
MAX_DEPTH = 8


class FormDecodeError(ValueError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def split_key(key: str) -> list[str]:
    """``"a[b][]"`` → ``["a", "b", ""]``."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise FormDecodeError(f"Invalid parameter name: {key!r}", key)
    segments = [match.group(1), *_SEGMENT.findall(match.group(2))]
    if len(segments) > MAX_DEPTH:
        raise FormDecodeError(f"Parameter nested too deeply: {key!r}", key)
    if "" in segments[:-1]:
        raise FormDecodeError(f"Empty brackets are only allowed at the end: {key!r}", key)
    return segments


def decode_form(body: str) -> dict[str, FormValue]:
    body = "&".join(part for part in body.split("&") if part)  # tolerate "a=1&&b=2&"
    try:
        pairs = parse_qsl(
            body,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError as error:  # also UnicodeDecodeError
        raise FormDecodeError(
            "Invalid request body: expected application/x-www-form-urlencoded parameters "
            f"({error})."
        ) from error
    root: dict[str, FormValue] = {}
    for key, value in pairs:
        _insert(root, split_key(key), value, key)
    return root


def _insert(root: dict[str, FormValue], path: list[str], value: str, key: str) -> None:
    append = path[-1] == ""  # ``x[]=v`` appends to the list at ``x``
    if append:
        path = path[:-1]
    node: dict[str, FormValue] = root
    for segment in path[:-1]:
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise FormDecodeError(f"Parameter {key!r} conflicts with an earlier value.", key)
        node = child
    last = path[-1]
    existing = node.get(last)
    if append:
        if existing is None:
            node[last] = [value]
        elif isinstance(existing, list):
            existing.append(value)
        else:
            raise FormDecodeError(f"Parameter {key!r} conflicts with an earlier value.", key)
    elif isinstance(existing, dict | list):
        raise FormDecodeError(f"Parameter {key!r} conflicts with an earlier value.", key)
    else:
        node[last] = value  # a repeated scalar: the last one wins


def as_list(value: Any) -> Any:
    """An indexed hash (``{"0": a, "1": b}``) as a list in index order; other values unchanged."""
    if isinstance(value, dict) and value and all(_is_index(k) for k in value):
        return [value[k] for k in sorted(value, key=int)]
    return value


def _is_index(key: str) -> bool:
    return key.isdigit() and key.isascii() and str(int(key)) == key

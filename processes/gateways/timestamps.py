"""Datetime conversions at the vendor boundary: aware UTC inside, each vendor's format outside."""

from __future__ import annotations

from datetime import UTC, datetime


def require_aware(value: datetime, name: str) -> datetime:
    """The value in UTC; a naive datetime is a caller bug, refused before any request."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def to_unix(value: datetime, name: str) -> int:
    """Unix seconds, as Stripe takes ``expires_at``."""
    return int(require_aware(value, name).timestamp())


def from_unix(seconds: int) -> datetime:
    """Stripe's ``created``/``expires_at`` as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def to_iso_utc(value: datetime, name: str) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and milliseconds, as Cal.com writes its own times."""
    text = require_aware(value, name).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """A vendor's ISO 8601 timestamp (any offset, ``Z``, milliseconds) as aware UTC.

    Raises ValueError for text without an offset: a naive vendor time would be ambiguous.
    """
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {text!r}")
    return value.astimezone(UTC)

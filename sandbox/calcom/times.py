"""Parsing and rendering instants the way Cal.com's API does (ISO 8601, milliseconds, offsets)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@cache
def _iana_zone_names() -> frozenset[str]:
    # A whitelist: ZoneInfo() itself also opens directories, over-long names and the host's
    # own "localtime", failing with OSErrors or answering with a machine-dependent zone.
    return frozenset(available_timezones() - {"localtime", "posixrules", "Factory"})


def load_zone(name: str) -> ZoneInfo:
    """An IANA time zone; ``ValueError`` for anything else (empty, unknown, a file path)."""
    if name not in _iana_zone_names():
        raise ValueError(f"{name[:64]!r} is not a valid IANA time zone")
    return ZoneInfo(name)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date-time as aware UTC; without an offset it is taken as UTC, as Cal.com does."""
    if _DATE_ONLY.match(text):
        raise ValueError(f"{text!r} has no time of day")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _within_calendar(parsed.astimezone(UTC), text)


def _within_calendar(instant: datetime, text: str) -> datetime:
    # Keep a day of headroom either side, so adding a slot's length can never overflow.
    if not datetime.min.year < instant.year < datetime.max.year:
        raise ValueError(f"{text!r} is out of range")
    return instant


def parse_range_bound(text: str, *, end: bool) -> datetime:
    """A ``start``/``end`` query value of GET /v2/slots.

    A bare date is the start of that UTC day, or for ``end`` its last second; an ``end`` at
    exactly midnight is also stretched to the end of that day, as Cal.com does.
    """
    if _DATE_ONLY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as error:
            raise ValueError(f"{text!r} is not a valid date") from error
        instant = _within_calendar(datetime.combine(day, time(), tzinfo=UTC), text)
    else:
        instant = parse_instant(text)
    if end and instant.time() == time():
        instant += timedelta(hours=23, minutes=59, seconds=59)
    return instant


def iso_utc(instant: datetime) -> str:
    """``2050-09-05T07:00:00.000Z``: how Cal.com renders UTC instants."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_in_zone(instant: datetime, zone: tzinfo) -> str:
    """``2050-09-05T09:00:00.000+02:00``; plain UTC keeps the ``Z`` (as luxon renders it)."""
    if zone is UTC or (isinstance(zone, ZoneInfo) and zone.key in ("UTC", "Etc/UTC")):
        return iso_utc(instant)
    return instant.astimezone(zone).isoformat(timespec="milliseconds")

"""Slot starts a weekly schedule offers, computed in the host's zone (DST-correct via zoneinfo)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.calcom.event_types import EventType


def _wall_clock(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``minute`` past local midnight of ``day`` (1440 = next midnight).

    Adding a timedelta to an aware datetime moves the wall clock, so 09:00 stays 09:00 local
    on the day the clocks change; a wall time inside a spring-forward gap resolves with the
    pre-transition offset (zoneinfo's fold=0).
    """
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    return (midnight + timedelta(minutes=minute)).astimezone(UTC)


def slot_starts(event_type: EventType, earliest: datetime, latest: datetime) -> list[datetime]:
    """Every slot start (UTC, sorted) with ``earliest <= start <= latest`` the schedule offers.

    Slots follow one another every ``length_minutes`` from each opening time and must end by
    the closing time, as Cal.com's slots do for a fixed-length event type.
    """
    if latest < earliest:
        return []
    zone = event_type.zone
    length = timedelta(minutes=event_type.length_minutes)
    # One local day either side: an opening near midnight in the host's zone can fall on
    # another UTC date than the bounds.
    day = earliest.astimezone(zone).date() - timedelta(days=1)
    last_day = latest.astimezone(zone).date() + timedelta(days=1)
    starts: set[datetime] = set()
    while day <= last_day:
        for rule in event_type.rules:
            if day.weekday() not in rule.days:
                continue
            slot = _wall_clock(day, rule.start_minute, zone)
            closes = _wall_clock(day, rule.end_minute, zone)
            while slot + length <= closes:
                if earliest <= slot <= latest:
                    starts.add(slot)
                slot += length
        day += timedelta(days=1)
    return sorted(starts)


def is_scheduled_start(event_type: EventType, start: datetime) -> bool:
    """Whether the weekly schedule has a slot beginning exactly at ``start``."""
    return bool(slot_starts(event_type, start, start))

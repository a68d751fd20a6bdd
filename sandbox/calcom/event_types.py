"""Bookable event types: their weekly schedule, the control that defines them, the demo seeds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from sandbox.calcom.times import load_zone

Weekday = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)

_SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


@dataclass(frozen=True)
class WeeklyRule:
    """Open on ``days`` (0 = Monday) from ``start_minute`` to ``end_minute`` of the local day."""

    days: frozenset[int]
    start_minute: int
    end_minute: int  # up to 1440: "24:00" closes at midnight


@dataclass(frozen=True)
class EventType:
    id: int
    title: str
    slug: str
    length_minutes: int
    host_name: str
    time_zone: str
    rules: tuple[WeeklyRule, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "event"


class AvailabilityIn(BaseModel):
    """One entry of a Cal.com-style schedule: these days, from ``startTime`` to ``endTime``."""

    model_config = ConfigDict(extra="forbid")

    days: list[Weekday] = Field(min_length=1, max_length=7)
    startTime: StrictStr
    endTime: StrictStr

    @field_validator("days")
    @classmethod
    def _distinct(cls, days: list[str]) -> list[str]:
        if len(set(days)) != len(days):
            raise ValueError("days must not repeat")
        return days

    @field_validator("startTime", "endTime")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not _CLOCK_TIME.match(value):
            raise ValueError("must be HH:MM between 00:00 and 24:00")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> AvailabilityIn:
        if _minutes(self.startTime) >= _minutes(self.endTime):
            raise ValueError("startTime must be before endTime (overnight ranges: use two entries)")
        return self

    def to_rule(self) -> WeeklyRule:
        return WeeklyRule(
            days=frozenset(WEEKDAYS.index(day) for day in self.days),
            start_minute=_minutes(self.startTime),
            end_minute=_minutes(self.endTime),
        )


def _weekdays_nine_to_five() -> list[AvailabilityIn]:
    return [AvailabilityIn(days=list(WEEKDAYS[:5]), startTime="09:00", endTime="17:00")]


class EventTypeIn(BaseModel):
    """Body of ``POST /_sandbox/calcom/event-types``."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
    title: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    lengthInMinutes: Annotated[StrictInt, Field(ge=1, le=1440)]
    hostName: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    timeZone: StrictStr = "UTC"
    availability: Annotated[list[AvailabilityIn], Field(max_length=50)] = Field(
        default_factory=_weekdays_nine_to_five
    )
    slug: Annotated[StrictStr, Field(pattern=_SLUG, max_length=100)] | None = None

    @field_validator("title", "hostName")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("timeZone")
    @classmethod
    def _iana(cls, value: str) -> str:
        load_zone(value)
        return value

    def to_event_type(self) -> EventType:
        return EventType(
            id=self.id,
            title=self.title,
            slug=self.slug or slugify(self.title),
            length_minutes=self.lengthInMinutes,
            host_name=self.hostName,
            time_zone=self.timeZone,
            rules=tuple(entry.to_rule() for entry in self.availability),
        )


def event_type_view(event_type: EventType) -> dict[str, Any]:
    """The control's view of an event type, in the shape the control accepts."""
    return {
        "id": event_type.id,
        "title": event_type.title,
        "slug": event_type.slug,
        "lengthInMinutes": event_type.length_minutes,
        "hostName": event_type.host_name,
        "timeZone": event_type.time_zone,
        "availability": [
            {
                "days": [day for index, day in enumerate(WEEKDAYS) if index in rule.days],
                "startTime": _clock(rule.start_minute),
                "endTime": _clock(rule.end_minute),
            }
            for rule in event_type.rules
        ],
    }


# The product's demo catalogue refers to these ids; sandbox/README.md documents them.
DEMO_EVENT_TYPES: tuple[dict[str, Any], ...] = (
    {
        "id": 1001,
        "title": "30-minute mentoring",
        "lengthInMinutes": 30,
        "hostName": "Ada Lovelace",
        "timeZone": "Europe/London",
        "availability": [
            {"days": list(WEEKDAYS[:5]), "startTime": "09:00", "endTime": "17:00"},
        ],
    },
    {
        "id": 1002,
        "title": "60-minute career review",
        "lengthInMinutes": 60,
        "hostName": "Grace Hopper",
        "timeZone": "America/New_York",
        "availability": [
            {"days": list(WEEKDAYS[:5]), "startTime": "09:00", "endTime": "12:00"},
            {"days": list(WEEKDAYS[:5]), "startTime": "13:00", "endTime": "17:00"},
        ],
    },
)


def demo_event_types() -> list[EventType]:
    return [EventTypeIn.model_validate(seed).to_event_type() for seed in DEMO_EVENT_TYPES]

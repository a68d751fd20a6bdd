"""Helpers for the Cal.com emulator tests (no tests here): a small v2 client and date arithmetic.

Dates are always picked relative to the sandbox clock, so the tests never go stale.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.support.http import http_client

API_KEY = "cal_test_sandbox_key"
SLOTS_VERSION = "2024-09-04"
BOOKINGS_VERSION = "2024-08-13"
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
MENTORING = 1001  # seeded: 30 min, Ada Lovelace, Europe/London, weekdays 09:00-17:00
CAREER_REVIEW = 1002  # seeded: 60 min, Grace Hopper, America/New_York, 09-12 and 13-17
MONDAY, SATURDAY = 0, 5


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def wall(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in ``zone`` (stdlib zoneinfo as the oracle)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def next_weekday(after: date, weekday: int, min_days: int = 7) -> date:
    """The first ``weekday`` (0 = Monday) at least ``min_days`` after ``after``."""
    day = after + timedelta(days=min_days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def next_offset_change(zone: ZoneInfo, after: date, *, forward: bool) -> date:
    """The next local date whose UTC offset at noon moved forward (spring) or back (autumn)."""

    def noon_offset(day: date) -> timedelta:
        offset = datetime(day.year, day.month, day.day, 12, tzinfo=zone).utcoffset()
        assert offset is not None
        return offset

    day = after + timedelta(days=1)
    for _ in range(400):
        previous, current = noon_offset(day - timedelta(days=1)), noon_offset(day)
        if (current > previous) if forward else (current < previous):
            return day
        day += timedelta(days=1)
    raise AssertionError(f"{zone} has no offset change within 400 days")


def slot_instants(body: dict[str, Any]) -> list[datetime]:
    """Every slot start of a GET /v2/slots body, as UTC instants, in order."""
    return [
        datetime.fromisoformat(slot["start"]).astimezone(UTC)
        for day in sorted(body["data"])
        for slot in body["data"][day]
    ]


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    """Check Cal.com's error envelope; return its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code
    assert body["path"] == response.request.url.path
    datetime.fromisoformat(body["timestamp"])
    return body["error"]["message"]


class CalcomApi:
    """What a Cal.com v2 client sends: bearer key and the cal-api-version each endpoint wants."""

    def __init__(self, base_url: str) -> None:
        self.http = http_client(
            base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=15
        )

    def __enter__(self) -> CalcomApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def slots(self, event_type_id: int, start: str, end: str, **params: Any) -> httpx.Response:
        query = {"eventTypeId": event_type_id, "start": start, "end": end, **params}
        return self.http.get("/v2/slots", params=query, headers={"cal-api-version": SLOTS_VERSION})

    def free(self, event_type_id: int, start: datetime, end: datetime) -> list[datetime]:
        response = self.slots(event_type_id, iso(start), iso(end))
        assert response.status_code == 200, response.text
        return slot_instants(response.json())

    def reserve(self, event_type_id: int, slot_start: datetime, **extra: Any) -> httpx.Response:
        body = {"eventTypeId": event_type_id, "slotStart": iso(slot_start), **extra}
        return self.http.post(
            "/v2/slots/reservations", json=body, headers={"cal-api-version": SLOTS_VERSION}
        )

    def reservation(self, uid: str, method: str = "GET", **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method,
            f"/v2/slots/reservations/{uid}",
            headers={"cal-api-version": SLOTS_VERSION},
            **kwargs,
        )

    def book(
        self,
        event_type_id: int,
        start: datetime,
        email: str = "learner@example.com",
        **extra: Any,
    ) -> httpx.Response:
        body = {
            "start": iso(start),
            "eventTypeId": event_type_id,
            "attendee": {"name": "Lee Learner", "email": email, "timeZone": "Europe/Paris"},
            **extra,
        }
        return self.post_booking(body)

    def post_booking(self, body: Any) -> httpx.Response:
        return self.http.post(
            "/v2/bookings", json=body, headers={"cal-api-version": BOOKINGS_VERSION}
        )

    def booking(self, uid: str) -> httpx.Response:
        return self.http.get(f"/v2/bookings/{uid}", headers={"cal-api-version": BOOKINGS_VERSION})

    def bookings(self, **params: Any) -> httpx.Response:
        return self.http.get(
            "/v2/bookings", params=params, headers={"cal-api-version": BOOKINGS_VERSION}
        )

    def cancel(self, uid: str, **body: Any) -> httpx.Response:
        return self.http.post(
            f"/v2/bookings/{uid}/cancel",
            json=body,
            headers={"cal-api-version": BOOKINGS_VERSION},
        )

    def advance_clock(self, seconds: float) -> datetime:
        response = self.http.post("/_sandbox/clock/advance", json={"seconds": seconds})
        assert response.status_code == 200, response.text
        return datetime.fromisoformat(response.json()["now"])

    def advance_to(self, moment: datetime, now: datetime) -> datetime:
        """Move the sandbox clock forward to ``moment`` (no-op if it is already past)."""
        if moment <= now:
            return now
        return self.advance_clock((moment - now).total_seconds())

    def put_event_type(self, **event_type: Any) -> httpx.Response:
        return self.http.post("/_sandbox/calcom/event-types", json=event_type)

    def everything(self) -> dict[str, Any]:
        response = self.http.get("/_sandbox/calcom/bookings")
        assert response.status_code == 200, response.text
        return response.json()

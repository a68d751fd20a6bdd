"""GET /v2/slots: the hosts' schedules in their own zones, DST, rendering, window, bad queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.calcom_sandbox import (
    CAREER_REVIEW,
    LONDON,
    MENTORING,
    MONDAY,
    NEW_YORK,
    SATURDAY,
    CalcomApi,
    assert_error,
    iso,
    next_offset_change,
    next_weekday,
    slot_instants,
    wall,
)
from tests.support.sandbox_server import RunningSandbox


def test_slots_follow_the_hosts_weekday_hours_in_utc(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    monday = next_weekday(sandbox.state.clock.now().astimezone(LONDON).date(), MONDAY)

    response = api.slots(MENTORING, monday.isoformat(), monday.isoformat())

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    expected = [wall(monday, 9, 0, LONDON) + timedelta(minutes=30 * i) for i in range(16)]
    assert slot_instants(body) == expected  # 09:00 to 16:30 London, every 30 minutes
    # Without timeZone, starts are UTC with a Z and grouped by their UTC date.
    assert list(body["data"]) == [monday.isoformat()]
    assert body["data"][monday.isoformat()][0] == {
        "start": expected[0].isoformat(timespec="milliseconds").replace("+00:00", "Z")
    }


def test_an_end_at_midnight_means_the_end_of_that_day(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    monday = next_weekday(sandbox.state.clock.now().astimezone(LONDON).date(), MONDAY)

    as_date = api.slots(MENTORING, monday.isoformat(), monday.isoformat()).json()
    as_midnight = api.slots(
        MENTORING, f"{monday.isoformat()}T00:00:00Z", f"{monday.isoformat()}T00:00:00Z"
    ).json()

    assert as_midnight == as_date
    assert len(slot_instants(as_date)) == 16


def test_format_range_adds_each_slots_end(api: CalcomApi, sandbox: RunningSandbox) -> None:
    monday = next_weekday(sandbox.state.clock.now().astimezone(NEW_YORK).date(), MONDAY)

    response = api.slots(
        CAREER_REVIEW,
        monday.isoformat(),
        monday.isoformat(),
        timeZone="America/New_York",
        format="range",
    )

    slots = response.json()["data"][monday.isoformat()]
    starts = [datetime.fromisoformat(slot["start"]) for slot in slots]
    assert [start.astimezone(NEW_YORK).hour for start in starts] == [9, 10, 11, 13, 14, 15, 16]
    for slot in slots:
        start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        assert end - start == timedelta(minutes=60)
        assert slot["end"][-6:] == slot["start"][-6:]  # both in New York's offset


def test_slots_render_in_the_requested_zone_grouped_by_its_local_date(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    monday = next_weekday(sandbox.state.clock.now().astimezone(NEW_YORK).date(), MONDAY)
    day_after = monday + timedelta(days=1)
    # Monday in New York runs 09:00-17:00; in Tokyo that is late Monday to Tuesday morning.
    start, end = wall(monday, 0, 0, NEW_YORK), wall(day_after, 0, 0, NEW_YORK)

    body = api.slots(CAREER_REVIEW, iso(start), iso(end), timeZone="Asia/Tokyo").json()

    assert list(body["data"]) == [monday.isoformat(), day_after.isoformat()]
    for local_date, slots in body["data"].items():
        for slot in slots:
            assert slot["start"].startswith(local_date)
            assert slot["start"].endswith(".000+09:00")
    expected = [wall(monday, hour, 0, NEW_YORK) for hour in (9, 10, 11, 13, 14, 15, 16)]
    assert slot_instants(body) == expected
    assert body["data"][day_after.isoformat()][-1]["start"] == expected[-1].astimezone(
        tokyo
    ).isoformat(timespec="milliseconds")


@pytest.mark.parametrize("forward", [True, False], ids=["spring", "autumn"])
def test_london_nine_oclock_is_eight_utc_in_summer_and_nine_in_winter(
    api: CalcomApi, sandbox: RunningSandbox, forward: bool
) -> None:
    now = sandbox.state.clock.now()
    # At least ten days ahead, so the Friday before it is still to come after the advance.
    soonest = now.astimezone(LONDON).date() + timedelta(days=10)
    change = next_offset_change(LONDON, soonest, forward=forward)
    now = api.advance_to(
        datetime(change.year, change.month, change.day, tzinfo=UTC) - timedelta(days=10), now
    )
    friday_before, monday_after = change - timedelta(days=2), change + timedelta(days=1)

    friday = api.free(
        MENTORING, wall(friday_before, 0, 0, LONDON), wall(friday_before, 23, 0, LONDON)
    )
    monday = api.free(
        MENTORING, wall(monday_after, 0, 0, LONDON), wall(monday_after, 23, 0, LONDON)
    )

    summer, winter = (monday, friday) if forward else (friday, monday)
    # 09:00-16:30 London is 08:00-15:30Z under BST and 09:00-16:30Z under GMT.
    assert [(slot.hour, slot.minute) for slot in (summer[0], summer[-1])] == [(8, 0), (15, 30)]
    assert [(slot.hour, slot.minute) for slot in (winter[0], winter[-1])] == [(9, 0), (16, 30)]
    assert len(summer) == len(winter) == 16


def test_the_night_the_clocks_change_has_one_hour_less_or_more(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    night_owl = {
        "id": 4242,
        "title": "Night owl",
        "lengthInMinutes": 60,
        "hostName": "Nora Night",
        "timeZone": "Europe/London",
        "availability": [
            {"days": ["Saturday", "Sunday"], "startTime": "00:00", "endTime": "04:00"}
        ],
    }
    assert api.put_event_type(**night_owl).status_code == 201
    now = sandbox.state.clock.now()
    soonest = now.astimezone(LONDON).date() + timedelta(days=3)
    spring = next_offset_change(LONDON, soonest, forward=True)
    autumn = next_offset_change(LONDON, soonest, forward=False)

    def night_of(day: datetime) -> list[str]:
        query = (
            (day - timedelta(days=1)).date().isoformat(),
            (day + timedelta(days=1)).date().isoformat(),
        )
        body = api.slots(4242, *query, timeZone="Europe/London").json()
        return [slot["start"][11:] for slot in body["data"][day.date().isoformat()]]

    # Whichever change comes first is checked first: the clock only moves forward.
    for change in sorted((spring, autumn)):
        midnight = datetime(change.year, change.month, change.day, tzinfo=UTC)
        now = api.advance_to(midnight - timedelta(days=3), now)
        if change == spring:
            # 01:00 GMT jumps to 02:00 BST: 00:00-04:00 local holds three hours.
            assert night_of(midnight) == [
                "00:00:00.000+00:00",
                "02:00:00.000+01:00",
                "03:00:00.000+01:00",
            ]
        else:
            # 02:00 BST falls back to 01:00 GMT: the hour from 01:00 is offered twice.
            assert night_of(midnight) == [
                "00:00:00.000+01:00",
                "01:00:00.000+01:00",
                "01:00:00.000+00:00",
                "02:00:00.000+00:00",
                "03:00:00.000+00:00",
            ]


def test_only_slots_after_the_sandbox_clock_are_offered(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    now = sandbox.state.clock.now()
    monday = next_weekday(now.astimezone(LONDON).date(), MONDAY)
    now = api.advance_to(wall(monday, 12, 10, LONDON), now)

    today = api.free(MENTORING, wall(monday, 0, 0, LONDON), wall(monday, 23, 0, LONDON))

    assert today[0] == wall(monday, 12, 30, LONDON)  # 12:00 has already begun
    assert today[-1] == wall(monday, 16, 30, LONDON)


def test_slots_end_ninety_days_ahead(api: CalcomApi, sandbox: RunningSandbox) -> None:
    now = sandbox.state.clock.now()

    offered = api.free(MENTORING, now + timedelta(days=80), now + timedelta(days=110))

    assert offered, "weekdays between 80 and 90 days ahead have slots"
    assert max(offered) <= now + timedelta(days=90)
    # Any four days in a row hold a whole weekday, so the last slot is close to the bound.
    assert max(offered) > now + timedelta(days=86)


def test_a_weekend_without_slots_is_an_empty_object(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    saturday = next_weekday(sandbox.state.clock.now().astimezone(LONDON).date(), SATURDAY)

    response = api.slots(
        MENTORING, saturday.isoformat(), (saturday + timedelta(days=1)).isoformat()
    )

    assert response.status_code == 200
    assert response.json() == {"status": "success", "data": {}}


def test_bad_slot_queries_are_400_envelopes(api: CalcomApi) -> None:
    good = {"eventTypeId": MENTORING, "start": "2030-01-01", "end": "2030-01-02"}
    cases: list[tuple[dict[str, object], str]] = [
        ({"eventTypeId": None}, "eventTypeId"),
        ({"eventTypeId": "abc"}, "eventTypeId"),
        ({"start": None}, "start"),
        ({"start": "soon"}, "start"),
        ({"end": "2030-02-30"}, "end"),
        ({"end": "9999-12-31"}, "end"),
        ({"start": "2030-01-05"}, "time range"),
        ({"timeZone": "Mars/Olympus_Mons"}, "timeZone"),
        ({"timeZone": "Europe"}, "timeZone"),  # a directory of zones, not a zone
        ({"format": "xml"}, "format"),
        ({"duration": "45"}, "duration"),
    ]
    for change, fragment in cases:
        params = {key: value for key, value in {**good, **change}.items() if value is not None}

        response = api.http.get(
            "/v2/slots", params=params, headers={"cal-api-version": "2024-09-04"}
        )

        assert fragment in assert_error(response, 400, "BadRequestException"), change


def test_slots_of_an_unknown_event_type_are_404(api: CalcomApi) -> None:
    response = api.slots(999_999, "2030-01-01", "2030-01-02")

    assert_error(response, 404, "NotFoundException")

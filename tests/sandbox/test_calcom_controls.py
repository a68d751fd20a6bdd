"""The Cal.com controls: seeded event types, adding/replacing them, and the everything view."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from tests.support.calcom_sandbox import (
    LONDON,
    MENTORING,
    MONDAY,
    SATURDAY,
    CalcomApi,
    next_weekday,
    wall,
)
from tests.support.sandbox_server import RunningSandbox

TOKYO = ZoneInfo("Asia/Tokyo")


def test_the_demo_event_types_are_seeded(api: CalcomApi) -> None:
    response = api.http.get("/_sandbox/calcom/event-types")

    assert response.status_code == 200
    seeded = {event_type["id"]: event_type for event_type in response.json()["eventTypes"]}
    assert seeded[1001] == {
        "id": 1001,
        "title": "30-minute mentoring",
        "slug": "30-minute-mentoring",
        "lengthInMinutes": 30,
        "hostName": "Ada Lovelace",
        "timeZone": "Europe/London",
        "availability": [
            {
                "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
                "startTime": "09:00",
                "endTime": "17:00",
            }
        ],
    }
    assert (seeded[1002]["hostName"], seeded[1002]["timeZone"]) == (
        "Grace Hopper",
        "America/New_York",
    )
    assert seeded[1002]["lengthInMinutes"] == 60


def test_an_added_event_type_is_bookable_on_its_schedule(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    response = api.put_event_type(
        id=3001,
        title="Weekend code review",
        lengthInMinutes=20,
        hostName="Kenji Sato",
        timeZone="Asia/Tokyo",
        availability=[{"days": ["Saturday"], "startTime": "10:00", "endTime": "12:00"}],
    )
    assert response.status_code == 201
    assert response.json()["slug"] == "weekend-code-review"
    saturday = next_weekday(sandbox.state.clock.now().astimezone(TOKYO).date(), SATURDAY)

    body = api.slots(
        3001,
        (saturday - timedelta(days=1)).isoformat(),
        saturday.isoformat(),
        timeZone="Asia/Tokyo",
    ).json()

    assert body["data"] == {
        saturday.isoformat(): [
            {"start": f"{saturday.isoformat()}T{clock}:00.000+09:00"}
            for clock in ("10:00", "10:20", "10:40", "11:00", "11:20", "11:40")
        ]
    }
    booked = api.book(3001, wall(saturday, 11, 40, TOKYO))
    assert booked.status_code == 201
    assert booked.json()["data"]["hosts"][0]["name"] == "Kenji Sato"


def test_an_event_type_without_zone_or_schedule_is_utc_weekdays_nine_to_five(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    response = api.put_event_type(id=3002, title="Plain", lengthInMinutes=60, hostName="Pat")
    assert response.status_code == 201
    assert response.json()["timeZone"] == "UTC"
    monday = next_weekday(sandbox.state.clock.now().date(), MONDAY)

    body = api.slots(3002, monday.isoformat(), monday.isoformat()).json()

    starts = [slot["start"] for slot in body["data"][monday.isoformat()]]
    assert starts == [f"{monday.isoformat()}T{hour:02d}:00:00.000Z" for hour in range(9, 17)]


def test_posting_an_existing_id_replaces_it(api: CalcomApi, sandbox: RunningSandbox) -> None:
    monday = next_weekday(sandbox.state.clock.now().astimezone(LONDON).date(), MONDAY)

    response = api.put_event_type(
        id=MENTORING,
        title="Morning mentoring",
        lengthInMinutes=30,
        hostName="Ada Lovelace",
        timeZone="Europe/London",
        availability=[{"days": ["Monday"], "startTime": "09:00", "endTime": "10:00"}],
    )

    assert response.status_code == 200
    assert api.free(MENTORING, wall(monday, 0, 0, LONDON), wall(monday, 23, 0, LONDON)) == [
        wall(monday, 9, 0, LONDON),
        wall(monday, 9, 30, LONDON),
    ]


def test_bad_event_types_are_422_and_change_nothing(api: CalcomApi) -> None:
    before = api.http.get("/_sandbox/calcom/event-types").json()
    valid = {"id": 3003, "title": "Valid but one field", "lengthInMinutes": 30, "hostName": "Val"}
    changes: list[dict[str, object]] = [
        {"id": 0},
        {"id": "3003"},
        {"title": ""},
        {"lengthInMinutes": 0},
        {"lengthInMinutes": "30"},
        {"hostName": None},
        {"timeZone": "Europe/Atlantis"},
        {"timeZone": "Europe"},
        {"timeZone": "localtime"},
        {"availability": [{"days": ["Funday"], "startTime": "09:00", "endTime": "17:00"}]},
        {"availability": [{"days": [], "startTime": "09:00", "endTime": "17:00"}]},
        {
            "availability": [
                {"days": ["Monday", "Monday"], "startTime": "09:00", "endTime": "17:00"}
            ]
        },
        {"availability": [{"days": ["Monday"], "startTime": "9am", "endTime": "17:00"}]},
        {"availability": [{"days": ["Monday"], "startTime": "17:00", "endTime": "09:00"}]},
        {"availability": [{"days": ["Monday"], "startTime": "09:00", "endTime": "24:30"}]},
        {"availability": "weekdays"},
        {"price": 100},
    ]
    for change in changes:
        response = api.put_event_type(**{**valid, **change})

        assert response.status_code == 422, change
    assert api.http.get("/_sandbox/calcom/event-types").json() == before


def test_malformed_json_to_the_control_is_422(api: CalcomApi) -> None:
    response = api.http.post(
        "/_sandbox/calcom/event-types",
        content=b'{"id": 1',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422


def test_the_everything_view_lists_cancelled_bookings_and_live_holds(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    monday = next_weekday(sandbox.state.clock.now().astimezone(LONDON).date(), MONDAY)
    kept = api.book(MENTORING, wall(monday, 9, 0, LONDON)).json()["data"]
    dropped = api.book(MENTORING, wall(monday, 9, 30, LONDON)).json()["data"]
    api.cancel(dropped["uid"])
    held = api.reserve(MENTORING, wall(monday, 10, 0, LONDON)).json()["data"]

    everything = api.everything()

    assert [(b["uid"], b["status"]) for b in everything["bookings"]] == [
        (kept["uid"], "accepted"),
        (dropped["uid"], "cancelled"),
    ]
    assert [r["reservationUid"] for r in everything["reservations"]] == [held["reservationUid"]]

"""/v2/slots/reservations: holds, their expiry by the sandbox clock, moves, releases, refusals."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.support.calcom_sandbox import (
    LONDON,
    MENTORING,
    MONDAY,
    SATURDAY,
    CalcomApi,
    assert_error,
    iso,
    next_weekday,
    wall,
)
from tests.support.sandbox_server import RunningSandbox


@pytest.fixture
def monday(sandbox: RunningSandbox) -> date:
    return next_weekday(sandbox.state.clock.now().astimezone(LONDON).date(), MONDAY)


def day_slots(api: CalcomApi, day: date) -> list[datetime]:
    return api.free(MENTORING, wall(day, 0, 0, LONDON), wall(day, 23, 0, LONDON))


def test_a_reservation_holds_the_slot_for_five_minutes_by_default(
    api: CalcomApi, sandbox: RunningSandbox, monday: date
) -> None:
    slot = wall(monday, 10, 0, LONDON)
    before = sandbox.state.clock.now()

    response = api.reserve(MENTORING, slot)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    held = body["data"]
    assert held["eventTypeId"] == MENTORING
    assert datetime.fromisoformat(held["slotStart"]) == slot
    assert datetime.fromisoformat(held["slotEnd"]) == slot + timedelta(minutes=30)
    assert held["slotDuration"] == 30
    assert held["reservationDuration"] == 5
    until = datetime.fromisoformat(held["reservationUntil"])
    assert (
        before + timedelta(minutes=5) <= until <= sandbox.state.clock.now() + timedelta(minutes=5)
    )
    assert slot not in day_slots(api, monday)

    fetched = api.reservation(held["reservationUid"])
    assert fetched.status_code == 200
    assert fetched.json()["data"] == {
        key: value for key, value in held.items() if key != "reservationDuration"
    }


def test_a_reservation_lapses_when_the_clock_passes_its_hold(api: CalcomApi, monday: date) -> None:
    slot = wall(monday, 10, 0, LONDON)
    uid = api.reserve(MENTORING, slot).json()["data"]["reservationUid"]

    api.advance_clock(4 * 60 + 55)
    assert api.reserve(MENTORING, slot).status_code == 422  # still held by the first
    assert slot not in day_slots(api, monday)

    api.advance_clock(10)
    assert api.reservation(uid).json() == {"status": "success", "data": None}
    assert slot in day_slots(api, monday)
    assert api.reserve(MENTORING, slot).status_code == 201


def test_an_owner_may_hold_a_slot_longer(api: CalcomApi, monday: date) -> None:
    slot = wall(monday, 11, 0, LONDON)

    held = api.reserve(MENTORING, slot, reservationDuration=30).json()["data"]

    assert held["reservationDuration"] == 30
    api.advance_clock(29 * 60)
    assert slot not in day_slots(api, monday)
    api.advance_clock(61)
    assert slot in day_slots(api, monday)


def test_bad_reservation_lengths_are_400(api: CalcomApi, monday: date) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"reservationDuration": 24 * 60 + 1}, "reservationDuration"),
        ({"reservationDuration": 0}, "reservationDuration"),
        ({"reservationDuration": "5"}, "reservationDuration"),
        ({"slotDuration": 45}, "slotDuration"),
    ]
    for extra, field in cases:
        response = api.reserve(MENTORING, wall(monday, 10, 0, LONDON), **extra)

        assert field in assert_error(response, 400, "BadRequestException"), extra
    assert api.everything()["reservations"] == []


def test_the_event_types_own_length_is_an_accepted_slot_duration(
    api: CalcomApi, monday: date
) -> None:
    response = api.reserve(MENTORING, wall(monday, 10, 0, LONDON), slotDuration=30)

    assert response.status_code == 201


def test_malformed_reservations_are_400(api: CalcomApi) -> None:
    bodies: list[tuple[object, str]] = [
        ({"slotStart": "2030-01-07T10:00:00Z"}, "eventTypeId"),
        ({"eventTypeId": MENTORING, "slotStart": "next monday"}, "slotStart"),
        ({"eventTypeId": MENTORING, "slotStart": "2030-01-07"}, "slotStart"),
        ({"eventTypeId": MENTORING, "slotStart": 1_900_000_000}, "slotStart"),
        ({"eventTypeId": MENTORING, "slotStart": "9999-12-31T23:59:00Z"}, "slotStart"),
        ({"eventTypeId": [MENTORING], "slotStart": "2030-01-07T10:00:00Z"}, "eventTypeId"),
        ([MENTORING, "2030-01-07T10:00:00Z"], "body"),
    ]
    for body, field in bodies:
        response = api.http.post(
            "/v2/slots/reservations", json=body, headers={"cal-api-version": "2024-09-04"}
        )

        assert field in assert_error(response, 400, "BadRequestException"), body


def test_reserving_for_an_unknown_event_type_is_404(api: CalcomApi, monday: date) -> None:
    assert_error(api.reserve(31337, wall(monday, 10, 0, LONDON)), 404, "NotFoundException")


def test_a_slot_reserved_by_someone_else_is_422(api: CalcomApi, monday: date) -> None:
    slot = wall(monday, 10, 0, LONDON)
    assert api.reserve(MENTORING, slot).status_code == 201

    message = assert_error(api.reserve(MENTORING, slot), 422, "UnprocessableEntityException")
    assert "already reserved" in message


def test_a_booked_slot_cannot_be_reserved(api: CalcomApi, monday: date) -> None:
    slot = wall(monday, 10, 0, LONDON)
    assert api.book(MENTORING, slot).status_code == 201

    message = assert_error(api.reserve(MENTORING, slot), 422, "UnprocessableEntityException")
    assert message == "Can't reserve a slot if the event is already booked."


def test_a_slot_the_schedule_does_not_offer_is_422(
    api: CalcomApi, sandbox: RunningSandbox, monday: date
) -> None:
    now = sandbox.state.clock.now()
    saturday = next_weekday(now.astimezone(LONDON).date(), SATURDAY)
    far_monday = next_weekday(now.astimezone(LONDON).date(), MONDAY, min_days=92)
    starts = {
        "saturday": wall(saturday, 10, 0, LONDON),
        "off the half hour": wall(monday, 10, 15, LONDON),
        "before opening": wall(monday, 8, 30, LONDON),
        "last half hour past closing": wall(monday, 17, 0, LONDON),
        "past": now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1),
        "beyond the window": wall(far_monday, 10, 0, LONDON),
    }
    for when, start in starts.items():
        response = api.reserve(MENTORING, start)

        message = assert_error(response, 422, "UnprocessableEntityException")
        assert "not offered" in message, when
    assert api.everything()["reservations"] == []


def test_patch_moves_a_reservation_and_restarts_its_hold(api: CalcomApi, monday: date) -> None:
    first, second = wall(monday, 10, 0, LONDON), wall(monday, 14, 30, LONDON)
    uid = api.reserve(MENTORING, first).json()["data"]["reservationUid"]
    api.advance_clock(4 * 60)

    response = api.reservation(
        uid, "PATCH", json={"eventTypeId": MENTORING, "slotStart": iso(second)}
    )

    assert response.status_code == 200
    moved = response.json()["data"]
    assert moved["reservationUid"] == uid
    assert datetime.fromisoformat(moved["slotStart"]) == second
    offered = day_slots(api, monday)
    assert first in offered
    assert second not in offered
    api.advance_clock(4 * 60)  # eight minutes after the first hold began
    assert api.reservation(uid).json()["data"]["reservationUid"] == uid


def test_patch_of_an_unknown_reservation_is_404(api: CalcomApi, monday: date) -> None:
    response = api.reservation(
        "no-such-uid",
        "PATCH",
        json={"eventTypeId": MENTORING, "slotStart": iso(wall(monday, 10, 0, LONDON))},
    )

    assert_error(response, 404, "NotFoundException")


def test_delete_releases_the_slot(api: CalcomApi, monday: date) -> None:
    slot = wall(monday, 10, 0, LONDON)
    uid = api.reserve(MENTORING, slot).json()["data"]["reservationUid"]

    response = api.reservation(uid, "DELETE")

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert api.reservation(uid).json()["data"] is None
    assert slot in day_slots(api, monday)
    assert_error(api.reservation(uid, "DELETE"), 404, "NotFoundException")

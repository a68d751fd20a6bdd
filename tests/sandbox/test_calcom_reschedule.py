"""POST /v2/bookings/{uid}/reschedule: a new booking at the new time, the old one cancelled and
pointing to it; a cancelled booking, a taken slot or a missing version are refused."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.support.calcom_sandbox import (
    BOOKINGS_VERSION,
    LONDON,
    MENTORING,
    MONDAY,
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


def _reschedule(api: CalcomApi, uid: str, body: dict, version: str | None = BOOKINGS_VERSION):
    headers = {"cal-api-version": version} if version else {}
    return api.http.post(f"/v2/bookings/{uid}/reschedule", json=body, headers=headers)


def _booked(api: CalcomApi, start: datetime) -> dict:
    response = api.book(MENTORING, start, metadata={"mentorpay_booking_id": "b-1"})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_rescheduling_makes_a_new_booking_and_cancels_the_old(api: CalcomApi, monday: date) -> None:
    old = _booked(api, wall(monday, 10, 0, LONDON))
    new_start = wall(monday, 14, 0, LONDON)

    response = _reschedule(
        api,
        old["uid"],
        {"start": iso(new_start), "reschedulingReason": "clash", "rescheduledBy": "a@example.com"},
    )

    assert response.status_code == 201, response.text
    new = response.json()["data"]
    assert new["uid"] != old["uid"] and new["status"] == "accepted"
    assert datetime.fromisoformat(new["start"].replace("Z", "+00:00")) == new_start
    assert new["rescheduledFromUid"] == old["uid"]
    assert new["metadata"] == old["metadata"] and new["duration"] == old["duration"]
    assert new["reschedulingReason"] == "clash"
    before = api.booking(old["uid"]).json()["data"]
    assert before["status"] == "cancelled" and before["rescheduledToUid"] == new["uid"]
    # The old slot is free again, the new one taken.
    day = api.free(MENTORING, wall(monday, 0, 0, LONDON), wall(monday, 23, 0, LONDON))
    assert wall(monday, 10, 0, LONDON) in day and new_start not in day


def test_a_rescheduled_booking_cannot_be_moved_again_and_names_its_successor(
    api: CalcomApi, monday: date
) -> None:
    old = _booked(api, wall(monday, 10, 0, LONDON))
    new = _reschedule(api, old["uid"], {"start": iso(wall(monday, 11, 0, LONDON))}).json()["data"]

    again = _reschedule(api, old["uid"], {"start": iso(wall(monday, 12, 0, LONDON))})

    message = assert_error(again, 400, "BadRequestException")
    assert "cancelled" in message and new["uid"] in message


def test_a_taken_slot_a_missing_booking_or_version_are_refused(
    api: CalcomApi, monday: date
) -> None:
    mine = _booked(api, wall(monday, 10, 0, LONDON))
    _booked(api, wall(monday, 11, 0, LONDON))

    taken = _reschedule(api, mine["uid"], {"start": iso(wall(monday, 11, 0, LONDON))})
    assert "already has booking" in assert_error(taken, 400, "BadRequestException")
    missing = _reschedule(api, "nope", {"start": iso(wall(monday, 12, 0, LONDON))})
    assert_error(missing, 404, "NotFoundException")
    unversioned = _reschedule(api, mine["uid"], {"start": iso(wall(monday, 12, 0, LONDON))}, None)
    assert unversioned.status_code == 400
    assert api.booking(mine["uid"]).json()["data"]["status"] == "accepted"

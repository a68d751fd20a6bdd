"""The shared sandbox controls, driven over HTTP: faults on Cal.com paths, the clock, reset."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.calcom_sandbox import (
    LONDON,
    MENTORING,
    MONDAY,
    CalcomApi,
    assert_error,
    next_weekday,
    wall,
)
from tests.support.sandbox_server import RunningSandbox


def arm(api: CalcomApi, **fault: object) -> None:
    response = api.http.post("/_sandbox/faults", json={"service": "calcom", **fault})
    assert response.status_code == 201, response.text


def test_an_injected_500_fails_the_next_call_then_service_resumes(api: CalcomApi) -> None:
    arm(api, method="GET", path="/v2/bookings", status=500)

    failed = api.bookings()
    recovered = api.bookings()

    message = assert_error(failed, 500, "InternalServerErrorException")
    assert message
    assert recovered.status_code == 200
    assert recovered.json()["status"] == "success"


def test_a_fault_matches_a_glob_for_its_count_with_its_message(api: CalcomApi) -> None:
    arm(api, path="/v2/slots*", status=503, message="Down for maintenance", times=2)

    statuses = [api.slots(MENTORING, "2030-01-07", "2030-01-08").status_code for _ in range(3)]
    reservation = api.reservation("some-uid")  # matched too, but the fault is used up

    assert statuses == [503, 503, 200]
    assert reservation.status_code == 200


def test_a_fault_message_reaches_the_cal_com_envelope(api: CalcomApi) -> None:
    arm(api, method="POST", path="/v2/bookings", status=500, message="Try again later")

    response = api.post_booking({})

    assert assert_error(response, 500, "InternalServerErrorException") == "Try again later"


def test_faults_only_hit_their_own_service_and_method(api: CalcomApi) -> None:
    arm(api, method="POST", path="/v2/bookings", status=500)
    stripe_fault = {"service": "stripe", "path": "/v2/bookings", "status": 500}
    assert api.http.post("/_sandbox/faults", json=stripe_fault).status_code == 201

    assert api.bookings().status_code == 200  # GET: the calcom fault is for POST only
    assert api.post_booking({}).status_code == 500


def test_cleared_faults_do_not_fire(api: CalcomApi) -> None:
    arm(api, path="/v2/bookings", status=500, times=5)

    assert api.http.delete("/_sandbox/faults").status_code == 204

    assert api.bookings().status_code == 200


def test_status_zero_drops_the_connection(api: CalcomApi) -> None:
    arm(api, method="GET", path="/v2/bookings", status=0)

    with pytest.raises(httpx.TransportError):
        api.bookings()
    assert api.bookings().status_code == 200


def test_a_delay_makes_the_call_take_at_least_that_long(api: CalcomApi) -> None:
    arm(api, method="GET", path="/v2/bookings", delayMs=400)

    began = time.monotonic()
    delayed = api.bookings()
    delayed_for = time.monotonic() - began
    began = time.monotonic()
    prompt = api.bookings()
    prompt_for = time.monotonic() - began

    assert delayed.status_code == prompt.status_code == 200
    assert delayed_for >= 0.4
    assert prompt_for < delayed_for


def test_bad_fault_requests_are_422(api: CalcomApi) -> None:
    faults: list[dict[str, object]] = [
        {"service": "paypal", "path": "/v2/bookings", "status": 500},
        {"service": "calcom", "path": "/v2/bookings", "status": 600},
        {"service": "calcom", "path": "/v2/bookings", "status": 500, "times": 0},
        {"service": "calcom", "path": "/v2/bookings", "delayMs": -1},
        {"service": "calcom", "status": 500},
    ]
    for fault in faults:
        assert api.http.post("/_sandbox/faults", json=fault).status_code == 422, fault
    assert api.bookings().status_code == 200


def test_advancing_the_clock_moves_sandbox_time(api: CalcomApi, sandbox: RunningSandbox) -> None:
    before = sandbox.state.clock.now()

    now = api.advance_clock(3 * 3600)

    assert before + timedelta(hours=3) <= now < before + timedelta(hours=3, seconds=30)
    assert now <= sandbox.state.clock.now()
    created = api.book(
        MENTORING, wall(next_weekday(now.astimezone(LONDON).date(), MONDAY), 10, 0, LONDON)
    )
    assert datetime.fromisoformat(created.json()["data"]["createdAt"]) >= now


def test_the_clock_only_moves_forward_by_a_number(api: CalcomApi, sandbox: RunningSandbox) -> None:
    before = sandbox.state.clock.now()
    for seconds in (0, -60, "soon", None):
        response = api.http.post("/_sandbox/clock/advance", json={"seconds": seconds})

        assert response.status_code == 422, seconds
    assert sandbox.state.clock.now() - before < timedelta(seconds=30)


def test_deleting_state_forgets_bookings_and_restores_the_seeds(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    seeds = api.http.get("/_sandbox/calcom/event-types").json()
    monday = next_weekday(sandbox.state.clock.now().astimezone(LONDON).date(), MONDAY)
    booked = api.book(MENTORING, wall(monday, 10, 0, LONDON)).json()["data"]
    api.reserve(MENTORING, wall(monday, 11, 0, LONDON))
    extra = {"id": 5005, "title": "Extra", "lengthInMinutes": 15, "hostName": "Ed"}
    assert api.put_event_type(**extra).status_code == 201
    renamed = {"id": MENTORING, "title": "Renamed", "lengthInMinutes": 45, "hostName": "Ada"}
    assert api.put_event_type(**renamed).status_code == 200
    arm(api, method="GET", path="/v2/bookings*", status=500, times=10)
    api.advance_clock(2 * 24 * 3600)

    response = api.http.delete("/_sandbox/state")

    assert response.status_code == 204
    assert api.everything() == {"bookings": [], "reservations": []}
    assert api.http.get("/_sandbox/calcom/event-types").json() == seeds
    assert_error(api.booking(booked["uid"]), 404, "NotFoundException")  # no fault any more
    assert_error(api.slots(5005, "2030-01-07", "2030-01-08"), 404, "NotFoundException")
    assert abs(sandbox.state.clock.now() - datetime.now(UTC)) < timedelta(minutes=1)
    assert wall(monday, 10, 0, LONDON) in api.free(
        MENTORING, wall(monday, 0, 0, LONDON), wall(monday, 23, 0, LONDON)
    )


def test_a_lost_response_still_takes_effect(api: CalcomApi, sandbox: RunningSandbox) -> None:
    arm(api, method="POST", path="/v2/slots/reservations", status=0, afterProcessing=True)
    slot = wall(next_weekday(datetime.now(UTC).date(), MONDAY), 10, 0, LONDON)

    with pytest.raises(httpx.TransportError):
        api.reserve(MENTORING, slot)
    held = api.http.get("/_sandbox/calcom/bookings").json()["reservations"]
    assert len(held) == 1

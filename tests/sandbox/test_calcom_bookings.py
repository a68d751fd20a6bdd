"""/v2/bookings: create, refuse, read, list, cancel — and bad bodies that must never half-write."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

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
    next_weekday,
    wall,
)
from tests.support.sandbox_server import RunningSandbox

ALREADY_BOOKED = "User either already has booking at this time or is not available"


@pytest.fixture
def monday(sandbox: RunningSandbox) -> date:
    return next_weekday(sandbox.state.clock.now().astimezone(LONDON).date(), MONDAY)


def day_slots(api: CalcomApi, day: date) -> list[datetime]:
    return api.free(MENTORING, wall(day, 0, 0, LONDON), wall(day, 23, 0, LONDON))


def test_booking_a_free_slot(api: CalcomApi, sandbox: RunningSandbox, monday: date) -> None:
    start = wall(monday, 10, 0, LONDON)

    response = api.book(
        MENTORING,
        start,
        metadata={"bookingId": "b-123", "attempt": "1"},
        guests=["friend@example.com"],
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    booking = body["data"]
    assert booking["status"] == "accepted"
    assert booking["start"] == iso(start).replace("Z", ".000Z")
    assert booking["end"] == iso(start + timedelta(minutes=30)).replace("Z", ".000Z")
    assert booking["duration"] == 30
    assert booking["eventTypeId"] == MENTORING
    assert booking["eventType"]["id"] == MENTORING
    assert booking["title"] == "30-minute mentoring between Ada Lovelace and Lee Learner"
    assert booking["hosts"][0]["name"] == "Ada Lovelace"
    assert booking["hosts"][0]["timeZone"] == "Europe/London"
    assert booking["attendees"] == [
        {
            "name": "Lee Learner",
            "email": "learner@example.com",
            "displayEmail": "learner@example.com",
            "timeZone": "Europe/Paris",
            "language": "en",
            "absent": False,
        }
    ]
    assert booking["guests"] == ["friend@example.com"]
    assert booking["metadata"] == {"bookingId": "b-123", "attempt": "1"}
    assert abs(
        datetime.fromisoformat(booking["createdAt"]) - sandbox.state.clock.now()
    ) < timedelta(seconds=30)
    assert isinstance(booking["id"], int)
    assert len(booking["uid"]) >= 16
    assert start not in day_slots(api, monday)
    fetched = api.booking(booking["uid"])
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_attendee_phone_and_language_are_kept(api: CalcomApi, monday: date) -> None:
    response = api.post_booking(
        {
            "start": iso(wall(monday, 9, 0, LONDON)),
            "eventTypeId": MENTORING,
            "attendee": {
                "name": "Ana",
                "email": "ana@example.com",
                "timeZone": "America/Sao_Paulo",
                "phoneNumber": "+5511912345678",
                "language": "pt-BR",
            },
        }
    )

    attendee = response.json()["data"]["attendees"][0]
    assert (attendee["phoneNumber"], attendee["language"]) == ("+5511912345678", "pt-BR")


def test_booking_with_its_own_reservation_consumes_it(api: CalcomApi, monday: date) -> None:
    start = wall(monday, 10, 0, LONDON)
    uid = api.reserve(MENTORING, start).json()["data"]["reservationUid"]

    response = api.book(MENTORING, start, reservedSlotUid=uid)

    assert response.status_code == 201
    assert api.reservation(uid).json()["data"] is None
    assert api.everything()["reservations"] == []


def test_someone_elses_reservation_blocks_booking_until_it_lapses(
    api: CalcomApi, monday: date
) -> None:
    start = wall(monday, 10, 0, LONDON)
    assert api.reserve(MENTORING, start).status_code == 201

    for refused in (
        api.book(MENTORING, start),
        api.book(MENTORING, start, reservedSlotUid=str(uuid.uuid4())),
    ):
        message = assert_error(refused, 400, "BadRequestException")
        assert message.startswith("Someone else reserved this booking time slot before you.")
        assert message.endswith(" seconds.")

    api.advance_clock(5 * 60 + 1)
    assert api.book(MENTORING, start).status_code == 201


def test_a_lapsed_own_reservation_still_books_a_slot_nobody_took(
    api: CalcomApi, monday: date
) -> None:
    start = wall(monday, 10, 0, LONDON)
    uid = api.reserve(MENTORING, start).json()["data"]["reservationUid"]
    api.advance_clock(10 * 60)

    assert api.book(MENTORING, start, reservedSlotUid=uid).status_code == 201


def test_a_booked_slot_refuses_a_second_booking(api: CalcomApi, monday: date) -> None:
    start = wall(monday, 10, 0, LONDON)
    assert api.book(MENTORING, start).status_code == 201

    response = api.book(MENTORING, start, email="someone.else@example.com")

    assert assert_error(response, 400, "BadRequestException") == ALREADY_BOOKED
    assert len(api.everything()["bookings"]) == 1


def test_a_host_busy_in_one_event_type_is_busy_in_all(api: CalcomApi, monday: date) -> None:
    long_session = {
        "id": 2001,
        "title": "Deep dive",
        "lengthInMinutes": 60,
        "hostName": "Ada Lovelace",
        "timeZone": "Europe/London",
    }
    assert api.put_event_type(**long_session).status_code == 201
    assert api.book(MENTORING, wall(monday, 10, 30, LONDON)).status_code == 201

    response = api.book(2001, wall(monday, 10, 0, LONDON))

    assert assert_error(response, 400, "BadRequestException") == ALREADY_BOOKED
    assert wall(monday, 10, 0, LONDON) not in api.free(
        2001, wall(monday, 0, 0, LONDON), wall(monday, 23, 0, LONDON)
    )


def test_a_start_the_schedule_does_not_offer_is_out_of_bounds(
    api: CalcomApi, sandbox: RunningSandbox, monday: date
) -> None:
    today = sandbox.state.clock.now().astimezone(LONDON).date()
    starts = {
        "saturday": wall(next_weekday(today, SATURDAY), 10, 0, LONDON),
        "off the half hour": wall(monday, 10, 10, LONDON),
        "at closing time": wall(monday, 17, 0, LONDON),
        "beyond the window": wall(next_weekday(today, MONDAY, min_days=91), 10, 0, LONDON),
    }
    for when, start in starts.items():
        response = api.book(MENTORING, start)

        message = assert_error(response, 400, "BadRequestException")
        assert message.startswith('The event type can\'t be booked at the "start" time'), when
    assert api.everything()["bookings"] == []


def test_a_start_in_the_past_is_refused(api: CalcomApi, sandbox: RunningSandbox) -> None:
    now = sandbox.state.clock.now()
    monday = next_weekday(now.astimezone(LONDON).date(), MONDAY)
    api.advance_to(wall(monday, 12, 0, LONDON), now)

    response = api.book(MENTORING, wall(monday, 11, 0, LONDON))

    assert assert_error(response, 400, "BadRequestException") == (
        "Attempting to book a meeting in the past."
    )


def test_booking_an_unknown_event_type_is_404(api: CalcomApi, monday: date) -> None:
    assert_error(api.book(777, wall(monday, 10, 0, LONDON)), 404, "NotFoundException")


def test_cancelling_frees_the_slot(api: CalcomApi, monday: date) -> None:
    start = wall(monday, 10, 0, LONDON)
    uid = api.book(MENTORING, start).json()["data"]["uid"]

    response = api.cancel(uid, cancellationReason="Learner is ill")

    assert response.status_code == 200
    cancelled = response.json()["data"]
    assert (cancelled["uid"], cancelled["status"]) == (uid, "cancelled")
    assert cancelled["cancellationReason"] == "Learner is ill"
    assert api.booking(uid).json()["data"]["status"] == "cancelled"
    assert start in day_slots(api, monday)
    assert api.book(MENTORING, start, email="next@example.com").status_code == 201


def test_cancelling_twice_or_an_unknown_booking_is_refused(api: CalcomApi, monday: date) -> None:
    uid = api.book(MENTORING, wall(monday, 10, 0, LONDON)).json()["data"]["uid"]
    without_body = api.http.post(
        f"/v2/bookings/{uid}/cancel", headers={"cal-api-version": "2024-08-13"}
    )
    assert without_body.status_code == 200

    message = assert_error(api.cancel(uid), 400, "BadRequestException")
    assert "already been cancelled" in message
    assert_error(api.cancel("noSuchBookingUid"), 404, "NotFoundException")
    assert_error(api.booking("noSuchBookingUid"), 404, "NotFoundException")


def test_listing_filters_and_pages(api: CalcomApi, sandbox: RunningSandbox, monday: date) -> None:
    tuesday = monday + timedelta(days=1)
    first = api.book(MENTORING, wall(monday, 9, 0, LONDON), email="a@example.com").json()["data"]
    second = api.book(MENTORING, wall(tuesday, 9, 0, LONDON), email="a@example.com").json()["data"]
    third = api.book(CAREER_REVIEW, wall(monday, 9, 0, NEW_YORK), email="B@Example.com").json()[
        "data"
    ]
    api.cancel(second["uid"])

    def uids(**params: object) -> list[str]:
        response = api.bookings(**params)
        assert response.status_code == 200, response.text
        return [booking["uid"] for booking in response.json()["data"]]

    assert uids() == [first["uid"], third["uid"], second["uid"]]  # by start
    assert uids(attendeeEmail="a@example.com") == [first["uid"], second["uid"]]
    assert uids(attendeeEmail="b@example.com") == [third["uid"]]
    assert uids(eventTypeId=CAREER_REVIEW) == [third["uid"]]
    assert uids(eventTypeIds=f"{MENTORING},{CAREER_REVIEW}", status="cancelled") == [second["uid"]]
    assert uids(status="upcoming") == [first["uid"], third["uid"]]
    assert uids(status="past") == []
    assert uids(afterStart=iso(wall(tuesday, 0, 0, LONDON))) == [second["uid"]]
    assert uids(beforeEnd=iso(wall(monday, 9, 30, LONDON))) == [first["uid"]]
    assert uids(sortStart="desc") == [second["uid"], third["uid"], first["uid"]]

    page = api.bookings(take=1, skip=1).json()
    assert [booking["uid"] for booking in page["data"]] == [third["uid"]]
    assert page["pagination"] == {
        "totalItems": 3,
        "remainingItems": 1,
        "returnedItems": 1,
        "itemsPerPage": 1,
        "currentPage": 2,
        "totalPages": 3,
        "hasNextPage": True,
        "hasPreviousPage": True,
    }

    api.advance_to(wall(tuesday, 12, 0, LONDON), sandbox.state.clock.now())
    assert uids(status="past") == [first["uid"], third["uid"]]
    assert uids(status="upcoming,cancelled") == [second["uid"]]


def test_bad_listing_queries_are_400(api: CalcomApi) -> None:
    cases = [
        ({"status": "accepted"}, "Invalid status"),
        ({"take": "0"}, "take"),
        ({"take": "251"}, "take"),
        ({"skip": "-1"}, "skip"),
        ({"eventTypeId": "one"}, "eventTypeId"),
        ({"afterStart": "yesterday"}, "afterStart"),
        ({"sortStart": "up"}, "sortStart"),
    ]
    for params, fragment in cases:
        message = assert_error(api.bookings(**params), 400, "BadRequestException")
        assert fragment in message, params


def test_metadata_at_the_limits_is_kept(api: CalcomApi, monday: date) -> None:
    metadata = {f"{index:02d}".ljust(40, "k"): "v" * 500 for index in range(50)}

    response = api.book(MENTORING, wall(monday, 10, 0, LONDON), metadata=metadata)

    assert response.status_code == 201
    assert response.json()["data"]["metadata"] == metadata


def test_metadata_beyond_the_limits_is_400(api: CalcomApi, monday: date) -> None:
    too_much: dict[str, object] = {
        "51 keys": {f"key{index}": "v" for index in range(51)},
        "41-character key": {"k" * 41: "v"},
        "501-character value": {"bookingId": "v" * 501},
        "nested value": {"nested": {"a": "b"}},
        "a list": ["not", "an", "object"],
    }
    for case, metadata in too_much.items():
        response = api.book(MENTORING, wall(monday, 10, 0, LONDON), metadata=metadata)

        message = assert_error(response, 400, "BadRequestException")
        assert message.startswith("metadata: metadata must be an object with up to 50"), case
    assert api.everything()["bookings"] == []


def valid_body(monday: date) -> dict[str, object]:
    return {
        "start": iso(wall(monday, 10, 0, LONDON)),
        "eventTypeId": MENTORING,
        "attendee": {"name": "Lee", "email": "lee@example.com", "timeZone": "Europe/Paris"},
    }


def test_bad_booking_bodies_are_400_naming_the_field(api: CalcomApi, monday: date) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"eventTypeId": "1001"}, "eventTypeId"),
        ({"eventTypeId": None}, "eventTypeId"),
        ({"start": "2030-01-07"}, "start"),
        ({"start": "half past ten"}, "start"),
        ({"start": 1_900_000_000}, "start"),
        ({"start": "9999-12-31T23:59:00Z"}, "start"),  # its end would overflow
        ({"attendee": None}, "attendee"),
        ({"attendee": {"name": "Lee", "timeZone": "Europe/Paris"}}, "attendee.email"),
        (
            {"attendee": {"name": "Lee", "email": "lee@", "timeZone": "Europe/Paris"}},
            "attendee.email",
        ),
        (
            {"attendee": {"name": "Lee", "email": "lee@example.com", "timeZone": "Paris"}},
            "attendee.timeZone",
        ),
        (
            {"attendee": {"name": "Lee", "email": "lee@example.com", "timeZone": "Europe"}},
            "attendee.timeZone",
        ),
        (
            {"attendee": {"name": " ", "email": "lee@example.com", "timeZone": "UTC"}},
            "attendee.name",
        ),
        (
            {
                "attendee": {
                    "name": "Lee",
                    "email": "lee@example.com",
                    "timeZone": "UTC",
                    "language": "klingon",
                }
            },
            "attendee.language",
        ),
        ({"guests": ["not-an-email"]}, "guests.0"),
        ({"lengthInMinutes": 45}, "lengthInMinutes"),
        ({"lengthInMinutes": "30"}, "lengthInMinutes"),
    ]
    for change, field in cases:
        response = api.post_booking({**valid_body(monday), **change})

        assert field in assert_error(response, 400, "BadRequestException"), change
    assert api.everything()["bookings"] == []


def test_bodies_that_are_not_a_json_object_are_400(api: CalcomApi) -> None:
    raws = [b'{"start": "2030-01-07T10:00:00Z", ', b"[]", b'"booking"', b"null", b""]
    for raw in raws:
        response = api.http.post(
            "/v2/bookings",
            content=raw,
            headers={"cal-api-version": "2024-08-13", "content-type": "application/json"},
        )

        assert_error(response, 400, "BadRequestException")
    assert api.everything()["bookings"] == []

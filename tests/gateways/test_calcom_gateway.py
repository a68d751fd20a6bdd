"""The Cal.com gateway against the sandbox's Cal.com v2: slots, reservations, bookings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from processes.gateways.calcom_gateway import (
    CalBooking,
    CalcomGateway,
    CalcomNotFound,
    CalcomRequestError,
    Slot,
    SlotUnavailable,
)
from tests.support.sandbox_controls import add_event_type

EVENT_TYPE_ID = 7001
LENGTH = timedelta(minutes=30)


@pytest.fixture
def event_type(sandbox) -> int:
    add_event_type(sandbox.url, EVENT_TYPE_ID, length_minutes=30)
    return EVENT_TYPE_ID


def window(days_ahead: int = 1, days: int = 2) -> tuple[datetime, datetime]:
    # From 06:00 UTC: an ``end`` at midnight would mean "that whole day" to Cal.com.
    start = (datetime.now(UTC) + timedelta(days=days_ahead)).replace(
        hour=6, minute=0, second=0, microsecond=0
    )
    return start, start + timedelta(days=days)


def free_slots(calcom: CalcomGateway, event_type: int, days: int = 2) -> list[Slot]:
    start, end = window(days=days)
    return calcom.get_slots(event_type, start, end, "UTC")


def book(
    calcom: CalcomGateway,
    event_type: int,
    slot: Slot,
    *,
    booking_id: str | None = None,
    email: str = "grace@example.com",
    reserved_slot_uid: str | None = None,
) -> CalBooking:
    return calcom.create_booking(
        event_type_id=event_type,
        start=slot.start,
        attendee_name="Grace Hopper",
        attendee_email=email,
        attendee_time_zone="Europe/Berlin",
        metadata={"booking_id": booking_id or str(uuid4())},
        reserved_slot_uid=reserved_slot_uid,
    )


def test_free_slots_are_utc_instants_of_the_event_length_inside_the_window(calcom, event_type):
    start, end = window()

    slots = calcom.get_slots(event_type, start, end, "UTC")

    assert len(slots) >= 2
    assert slots == sorted(slots, key=lambda slot: slot.start)
    for slot in slots:
        assert slot.start.utcoffset() == timedelta(0)
        assert start <= slot.start <= end
        assert slot.end - slot.start == LENGTH


def test_the_display_time_zone_does_not_change_which_instants_are_free(calcom, event_type):
    """Cal.com answers in the asked zone (+09:00 here); the gateway must read the offset."""
    start, end = window()

    in_utc = calcom.get_slots(event_type, start, end, "UTC")
    in_tokyo = calcom.get_slots(event_type, start, end, "Asia/Tokyo")

    assert in_tokyo == in_utc


def test_a_reserved_slot_is_held_until_released(calcom, event_type):
    slot = free_slots(calcom, event_type)[0]
    before = datetime.now(UTC)

    reservation = calcom.reserve_slot(event_type, slot.start)

    assert (reservation.slot_start, reservation.slot_end) == (slot.start, slot.end)
    assert reservation.until > before
    with pytest.raises(SlotUnavailable) as taken:
        calcom.reserve_slot(event_type, slot.start)
    assert taken.value.retryable is False

    calcom.release_reservation(reservation.uid)
    calcom.release_reservation(reservation.uid)  # already gone: fine, not an error

    assert calcom.reserve_slot(event_type, slot.start).slot_start == slot.start


def test_a_longer_hold_is_asked_for_in_minutes(calcom, event_type):
    slot = free_slots(calcom, event_type)[0]
    before = datetime.now(UTC)

    reservation = calcom.reserve_slot(event_type, slot.start, reservation_minutes=30)

    assert before + timedelta(minutes=29) < reservation.until <= before + timedelta(minutes=31)


def test_a_booking_made_with_our_reservation_carries_our_metadata(calcom, event_type):
    slot = free_slots(calcom, event_type)[0]
    reservation = calcom.reserve_slot(event_type, slot.start)
    booking_id = str(uuid4())

    booking = book(
        calcom, event_type, slot, booking_id=booking_id, reserved_slot_uid=reservation.uid
    )

    assert booking.status == "accepted"
    assert (booking.start, booking.end) == (slot.start, slot.end)
    assert booking.metadata == {"booking_id": booking_id}
    assert booking.event_type_id == event_type
    assert booking.attendee_emails == ("grace@example.com",)
    assert calcom.get_booking(booking.uid) == booking
    assert slot not in free_slots(calcom, event_type)


def test_a_slot_someone_else_reserved_cannot_be_booked(calcom, event_type):
    slot = free_slots(calcom, event_type)[0]
    calcom.reserve_slot(event_type, slot.start)  # another customer's hold

    with pytest.raises(SlotUnavailable):
        book(calcom, event_type, slot)


def test_a_booked_slot_can_be_neither_booked_nor_reserved_again(calcom, event_type):
    slot = free_slots(calcom, event_type)[0]
    book(calcom, event_type, slot, email="first@example.com")

    with pytest.raises(SlotUnavailable) as second_booking:
        book(calcom, event_type, slot, email="second@example.com")
    with pytest.raises(SlotUnavailable):
        calcom.reserve_slot(event_type, slot.start)
    assert second_booking.value.retryable is False


@pytest.mark.parametrize(
    "when",
    [
        lambda slot: slot.start + timedelta(minutes=13),  # not a slot the event type offers
        lambda slot: datetime.now(UTC) - timedelta(hours=1),  # in the past
    ],
    ids=["off the slot grid", "in the past"],
)
def test_a_time_the_event_type_does_not_offer_is_unavailable(calcom, event_type, when):
    slot = free_slots(calcom, event_type)[0]

    with pytest.raises(SlotUnavailable):
        book(calcom, event_type, Slot(start=when(slot), end=when(slot) + LENGTH))


def test_find_booking_finds_the_booking_an_earlier_attempt_made(calcom, event_type):
    first, second = free_slots(calcom, event_type)[:2]
    ours = book(calcom, event_type, first, booking_id="booking-ours")
    book(calcom, event_type, second, booking_id="booking-other")

    found = calcom.find_booking(
        event_type_id=event_type,
        attendee_email="grace@example.com",
        metadata_key="booking_id",
        metadata_value="booking-ours",
    )

    assert found == ours
    assert (
        calcom.find_booking(
            event_type_id=event_type,
            attendee_email="grace@example.com",
            metadata_key="booking_id",
            metadata_value="booking-never-made",
        )
        is None
    )
    assert (
        calcom.find_booking(
            event_type_id=event_type,
            attendee_email="someone.else@example.com",
            metadata_key="booking_id",
            metadata_value="booking-ours",
        )
        is None
    )


def test_find_booking_pages_through_more_than_one_page(calcom, event_type):
    slots = free_slots(calcom, event_type, days=3)[:101]  # the gateway asks for 100 a page
    assert len(slots) == 101
    made = [book(calcom, event_type, slot, booking_id=f"many-{i}") for i, slot in enumerate(slots)]

    # Whichever way Cal.com orders the list, the first or the last made is on page two.
    for booking in (made[0], made[-1]):
        found = calcom.find_booking(
            event_type_id=event_type,
            attendee_email="grace@example.com",
            metadata_key="booking_id",
            metadata_value=booking.metadata["booking_id"],
        )
        assert found == booking


def test_find_booking_prefers_an_active_booking_to_a_cancelled_one(calcom, event_type):
    first, second = free_slots(calcom, event_type)[:2]
    cancelled = book(calcom, event_type, first, booking_id="retried")
    calcom.cancel_booking(cancelled.uid, "test: superseded")
    active = book(calcom, event_type, second, booking_id="retried")

    found = calcom.find_booking(
        event_type_id=event_type,
        attendee_email="grace@example.com",
        metadata_key="booking_id",
        metadata_value="retried",
    )

    assert found is not None
    assert found.uid == active.uid


def test_cancelling_frees_the_slot_and_cancelling_again_is_fine(calcom, event_type):
    slot = free_slots(calcom, event_type)[0]
    booking = book(calcom, event_type, slot)

    cancelled = calcom.cancel_booking(booking.uid, "mentor unavailable")
    again = calcom.cancel_booking(booking.uid, "mentor unavailable")

    assert cancelled.uid == booking.uid
    assert cancelled.status == "cancelled"
    assert again.status == "cancelled"
    assert calcom.get_booking(booking.uid).status == "cancelled"
    assert slot in free_slots(calcom, event_type)


def test_an_unknown_booking_is_not_found(calcom, event_type):
    with pytest.raises(CalcomNotFound) as missing:
        calcom.get_booking("no-such-booking-uid")
    assert missing.value.http_status == 404
    assert missing.value.retryable is False
    with pytest.raises(CalcomNotFound):
        calcom.cancel_booking("no-such-booking-uid", "whatever")


def test_bad_data_is_a_final_request_error_not_an_unavailable_slot(calcom, event_type):
    slot = free_slots(calcom, event_type)[0]

    with pytest.raises(CalcomRequestError) as refused:
        calcom.create_booking(
            event_type_id=event_type,
            start=slot.start,
            attendee_name="Grace Hopper",
            attendee_email="grace@example.com",
            attendee_time_zone="Mars/Olympus_Mons",
            metadata={"booking_id": "bad-zone"},
            reserved_slot_uid=None,
        )

    assert refused.value.http_status == 400
    assert not isinstance(refused.value, SlotUnavailable)
    assert refused.value.retryable is False
    assert slot in free_slots(calcom, event_type)


def test_arguments_cal_com_would_refuse_fail_before_any_request(calcom, event_type):
    slot = free_slots(calcom, event_type)[0]
    too_many_keys = {f"k{i}": "v" for i in range(51)}

    with pytest.raises(ValueError, match="50 keys"):
        book_with_metadata(calcom, event_type, slot, too_many_keys)
    with pytest.raises(ValueError, match="timezone-aware"):
        calcom.reserve_slot(event_type, slot.start.replace(tzinfo=None))
    assert slot in free_slots(calcom, event_type)  # nothing was booked or held


def book_with_metadata(calcom, event_type, slot, metadata):
    return calcom.create_booking(
        event_type_id=event_type,
        start=slot.start,
        attendee_name="Grace Hopper",
        attendee_email="grace@example.com",
        attendee_time_zone="UTC",
        metadata=metadata,
        reserved_slot_uid=None,
    )

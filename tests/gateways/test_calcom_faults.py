"""Cal.com failures reach callers as typed, retryable-or-not outcomes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from processes.gateways.calcom_gateway import (
    CalcomGateway,
    CalcomTransientError,
)
from tests.support.gateway_keys import CALCOM_TEST_KEY
from tests.support.sandbox_controls import add_event_type, arm_fault

EVENT_TYPE_ID = 7002


@pytest.fixture
def event_type(sandbox) -> int:
    add_event_type(sandbox.url, EVENT_TYPE_ID)
    return EVENT_TYPE_ID


def tomorrow() -> tuple[datetime, datetime]:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=6, minute=0, second=0, microsecond=0
    )
    return start, start + timedelta(hours=12)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_transient(sandbox, calcom, event_type, status):
    arm_fault(sandbox.url, service="calcom", method="GET", path="/v2/slots", status=status)

    with pytest.raises(CalcomTransientError) as failure:
        calcom.get_slots(event_type, *tomorrow(), "UTC")

    assert failure.value.retryable is True
    assert failure.value.http_status == status
    assert calcom.get_slots(event_type, *tomorrow(), "UTC")  # the fault was one call only


def test_a_dropped_connection_is_transient(sandbox, calcom, event_type):
    slot = calcom.get_slots(event_type, *tomorrow(), "UTC")[0]
    arm_fault(sandbox.url, service="calcom", method="POST", path="/v2/slots/reservations", status=0)

    with pytest.raises(CalcomTransientError) as failure:
        calcom.reserve_slot(event_type, slot.start)

    assert failure.value.retryable is True
    assert failure.value.http_status is None


def test_a_call_slower_than_the_timeout_is_transient(sandbox, event_type):
    with CalcomGateway(CALCOM_TEST_KEY, sandbox.url, timeout=0.3) as impatient:
        slot = impatient.get_slots(event_type, *tomorrow(), "UTC")[0]
        arm_fault(sandbox.url, service="calcom", method="POST", path="/v2/bookings", delay_ms=1000)

        with pytest.raises(CalcomTransientError) as failure:
            impatient.create_booking(
                event_type_id=event_type,
                start=slot.start,
                attendee_name="Grace Hopper",
                attendee_email="grace@example.com",
                attendee_time_zone="UTC",
                metadata={"booking_id": "slow-one"},
                reserved_slot_uid=None,
            )

    assert failure.value.retryable is True
    assert "timed out" in failure.value.message


@pytest.mark.integration  # dials a loopback port; no fixture says so
def test_an_unreachable_server_is_transient():
    # Port 9 on loopback (discard) has no listener here: connection refused.
    with (
        CalcomGateway(CALCOM_TEST_KEY, "http://127.0.0.1:9", timeout=1) as gateway,
        pytest.raises(CalcomTransientError),
    ):
        gateway.get_slots(EVENT_TYPE_ID, *tomorrow(), "UTC")


def test_the_api_key_appears_in_no_log_and_no_error(sandbox, calcom, event_type, caplog):
    arm_fault(sandbox.url, service="calcom", path="/v2/*", status=503, times=2)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(CalcomTransientError) as failure:
        calcom.get_slots(event_type, *tomorrow(), "UTC")
    with pytest.raises(CalcomTransientError):
        calcom.get_booking("anything")

    assert caplog.records  # the failures were logged...
    assert CALCOM_TEST_KEY not in caplog.text  # ...without the key
    assert CALCOM_TEST_KEY not in str(failure.value)
    assert CALCOM_TEST_KEY not in repr(failure.value.args)

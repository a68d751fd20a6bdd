"""A booked session's life on the pages, in a real browser (Debian's chromium) against the whole
product on loopback: the attendee moves it from "My bookings" (Cal.com in the sandbox has it
moved), and after its start reports that the mentor did not show, then sees the claim, which an
administrator upholds from the claims page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.dependencies import ApiServices
from mentorpay.web_app import DEMO_USER
from processes.services.no_shows import NoShowService
from tests.browser.booking_steps import booked_words, choose_slot_and_fill, pay
from tests.browser.conftest import PHONE_TIME_ZONE, TIME_ZONE, Steps
from tests.support.http import http_client
from tests.support.live_stack import LiveStack
from tests.support.waiting import wait_until

# Drives a real chromium against the stack on loopback.
pytestmark = pytest.mark.integration

CLAIM_WINDOW = timedelta(hours=24)


def api(stack: LiveStack, sub: str = DEMO_USER, role: str = "user") -> httpx.Client:
    headers = {"Authorization": f"Bearer {stack.token(sub, role)}"}
    return http_client(base_url=stack.api_url, headers=headers, timeout=30)


def newest_booking(stack: LiveStack) -> dict[str, Any]:
    """The page user's latest booking (the list is newest first)."""
    with api(stack) as client:
        response = client.get("/api/bookings", params={"limit": 1})
    assert response.status_code == 200, response.text
    booking: dict[str, Any] = response.json()[0]
    return booking


def book_on_the_page(
    page: Any, stack: LiveStack, steps: Steps, last: bool = False
) -> dict[str, Any]:
    choose_slot_and_fill(page, steps, last=last)
    pay(page, steps, "4242 4242 4242 4242")
    booked_words(page, steps)
    booking = newest_booking(stack)
    assert booking["status"] == "ACCEPTED"
    return booking


def calcom_bookings_of(stack: LiveStack, booking_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.sandbox_url}/_sandbox/calcom/bookings", timeout=30)
    assert response.status_code == 200, response.text
    return [
        b
        for b in response.json()["bookings"]
        if (b.get("metadata") or {}).get("mentorpay_booking_id") == booking_id
    ]


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def newest_row(page: Any) -> Any:
    """The latest booking's row in "My bookings" (newest first): the test's booking."""
    return page.get_by_role("listitem").first


def test_reschedule_from_my_bookings(page: Any, web_stack: LiveStack, tmp_path: Path) -> None:
    steps = Steps(page, tmp_path)
    booking = book_on_the_page(
        page, web_stack, steps, last=True
    )  # two weeks ahead: before the cut-off
    (old_calcom,) = calcom_bookings_of(web_stack, booking["id"])

    page.get_by_role("link", name="My bookings").first.click()
    row = newest_row(page)
    row.get_by_role("button", name="Reschedule").click()
    form = row.get_by_role("form", name=re.compile("^Reschedule"))
    assert form.get_by_text(f"Times are in your time zone, {TIME_ZONE}").is_visible()
    days = form.get_by_role("group", name="Pick a day").get_by_role("radio")
    days.first.check()  # an earlier day than the booked one, two weeks ahead
    new_time = form.get_by_role("group", name=re.compile("^Pick a time on")).get_by_role("radio")
    new_time.first.check()
    chosen = str(new_time.first.get_attribute("value"))
    steps.shot("reschedule-choice")
    form.get_by_role("button", name="Move to this time").click()

    notice = page.get_by_role("status").filter(has_text="Rescheduled.")
    notice.wait_for()
    steps.shot("rescheduled")
    words = str(notice.inner_text())
    assert words.startswith("Rescheduled. 30-minute mentoring with Ada Lovelace is now ")
    new_when = words.removeprefix("Rescheduled. 30-minute mentoring with Ada Lovelace is now ")
    new_when = new_when.removesuffix(".")
    assert new_when.endswith(f"({TIME_ZONE})")
    # The row shows the new time, and so does the API; Cal.com has the booking moved.
    newest_row(page).get_by_text(new_when).wait_for()
    assert utc(newest_booking(web_stack)["start"]) == utc(chosen) != utc(booking["start"])
    moved = wait_until(
        lambda: (
            [b for b in calcom_bookings_of(web_stack, booking["id"]) if b["status"] == "accepted"]
            or None
        ),
        timeout=20,
    )
    assert moved  # wait_until's value is truthy: the accepted booking(s), never None
    (active,) = moved
    assert utc(active["start"]) == utc(chosen)
    assert active["rescheduledFromUid"] == old_calcom["uid"]

    # A second move is past the event type's limit: the page says why, in words.
    row = newest_row(page)
    row.get_by_role("button", name="Reschedule").click()
    form = row.get_by_role("form", name=re.compile("^Reschedule"))
    form.get_by_role("group", name=re.compile("^Pick a time on")).get_by_role("radio").first.check()
    form.get_by_role("button", name="Move to this time").click()
    refused = form.get_by_role("alert")
    refused.wait_for()
    steps.shot("second-move-refused")
    assert "rescheduled at most 1 time" in refused.inner_text()
    assert utc(newest_booking(web_stack)["start"]) == utc(chosen)


@contextmanager
def server_clock_at(stack: LiveStack, now: datetime) -> Iterator[None]:
    """The API judges no-shows as if it were ``now`` (the session has started)."""
    real: ApiServices = stack.app.state.services
    assert real.lifecycle is not None
    no_shows = NoShowService(stack.container.ledger, claim_window=CLAIM_WINDOW, clock=lambda: now)
    stack.app.state.services = replace(real, lifecycle=replace(real.lifecycle, no_shows=no_shows))
    try:
        yield
    finally:
        stack.app.state.services = real


def test_report_that_the_mentor_did_not_show_and_an_admin_upholds_the_claim(
    page: Any, web_stack: LiveStack, tmp_path: Path
) -> None:
    steps = Steps(page, tmp_path)
    booking = book_on_the_page(page, web_stack, steps)
    # Quarter of an hour into the session, for the browser and for the API alike.
    during = utc(booking["start"]) + timedelta(minutes=15)
    page.context.clock.set_fixed_time(during)
    with server_clock_at(web_stack, during):
        page.goto("/bookings")
        row = newest_row(page)
        row.get_by_role("button", name="Report that the mentor did not show").click()
        form = row.get_by_role("form", name=re.compile("^Report that the mentor did not show"))
        assert "is not paid while an administrator reviews your claim" in form.inner_text()
        form.get_by_label("What happened? (optional)").fill("Nobody joined the call")
        steps.shot("no-show-report")
        form.get_by_role("button", name="Yes, report it").click()
        claim = "You reported that the mentor did not show. An administrator is reviewing the claim"
        page.get_by_role("status").filter(has_text=claim).wait_for()
        # The row keeps saying so (from the API's list), with no action left to take.
        row = newest_row(page)
        row.get_by_text(claim).wait_for()
        steps.shot("claim-open")
        assert row.get_by_role("button", name="Report that the mentor did not show").count() == 0
        assert row.get_by_role("button", name="Reschedule").count() == 0
        page.reload()
        newest_row(page).get_by_text(claim).wait_for()

    with api(web_stack, "admin-1", "admin") as client:
        claims = client.get("/api/admin/no-show-claims").json()
    (mine,) = [c for c in claims if c["bookingId"] == booking["id"]]
    assert (mine["party"], mine["reportedBy"], mine["status"]) == ("mentor", "user", "claim_open")
    assert mine["reason"] == "Nobody joined the call"

    # An administrator upholds it from the claims page: the attendee is refunded in full.
    page.context.clock.resume()
    page.goto("/")
    page.get_by_role("link", name="Claims").click()
    row = page.get_by_role("listitem").filter(has_text="Nobody joined the call")
    assert "Reported by the user" in row.inner_text()
    # The session comes with the listing (no read of each booking): what the admin decides on.
    assert "30-minute mentoring with Ada Lovelace, booked by" in row.inner_text()
    row.get_by_role("button", name="Uphold: refund the attendee").click()
    form = row.get_by_role("form", name=re.compile("^Uphold: refund the attendee"))
    form.get_by_role("button", name="Yes, decide so").click()
    form.get_by_text("String should have at least 1 character").wait_for()  # a reason is kept
    form.get_by_label("Why (kept in the ledger)").fill("The mentor confirmed they missed it")
    steps.shot("claim-decision")
    form.get_by_role("button", name="Yes, decide so").click()
    upheld = "Upheld: the attendee is refunded in full."
    page.get_by_role("status").filter(has_text=upheld).wait_for()
    # The list is read again: the claim is no longer open.
    claimed = page.get_by_role("listitem").filter(has_text="Nobody joined the call")
    claimed.wait_for(state="detached")
    steps.shot("claim-decided")
    with api(web_stack, "admin-1", "admin") as client:
        assert booking["id"] not in {
            c["bookingId"] for c in client.get("/api/admin/no-show-claims").json()
        }
    refunded = "The mentor did not show; your payment is refunded in full."
    assert newest_booking(web_stack)["noShow"]["outcome"] == "refund"
    page.goto("/bookings")
    newest_row(page).get_by_text(refunded).wait_for()

    def refunded_in_full() -> bool:
        with api(web_stack) as client:
            payment = client.get(f"/api/bookings/{booking['id']}").json()["payment"]
        return bool(payment) and payment["amountRefunded"] == payment["amount"] > 0

    wait_until(refunded_in_full, timeout=30)  # the refund itself, by the worker at Stripe


def test_the_mentor_reports_that_the_attendee_did_not_show(
    page: Any, web_stack: LiveStack, tmp_path: Path
) -> None:
    steps = Steps(page, tmp_path)
    booking = book_on_the_page(page, web_stack, steps)
    page.goto("/bookings")
    at = str(newest_row(page).locator("p").first.inner_text())  # its time, in words
    during = utc(booking["start"]) + timedelta(minutes=10)
    page.context.clock.set_fixed_time(during)
    with server_clock_at(web_stack, during):
        page.goto("/mentor")
        row = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=at))
        row.get_by_role("button", name="The attendee did not show").click()
        form = row.get_by_role("form", name=re.compile("^The attendee did not show"))
        assert "You are paid as for a session held" in form.inner_text()
        form.get_by_role("button", name="Yes, report it").click()
        recorded = "Recorded that the attendee did not attend; you are paid for the session."
        page.get_by_role("status").filter(has_text=recorded).wait_for()
        row.get_by_text(recorded).wait_for()
        steps.shot("mentor-no-show")
        assert row.get_by_role("button", name="The attendee did not show").count() == 0
    # The attendee sees what was recorded.
    page.goto("/bookings")
    newest_row(page).get_by_text("Recorded that you did not attend").wait_for()


def test_a_phone_reschedules_with_the_keyboard(
    page: Any, phone_page: Any, web_stack: LiveStack, tmp_path: Path
) -> None:
    booking = book_on_the_page(page, web_stack, Steps(page, tmp_path / "desk"), last=True)
    page = phone_page
    steps = Steps(page, tmp_path)
    page.goto("/bookings")
    newest_row(page).get_by_role("button", name="Reschedule").focus()
    page.keyboard.press("Enter")
    form = newest_row(page).get_by_role("form", name=re.compile("^Reschedule"))
    days = form.get_by_role("group", name="Pick a day").get_by_role("radio")
    days.first.wait_for()
    assert form.get_by_text(f"Times are in your time zone, {PHONE_TIME_ZONE}").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # Arrows choose the day, Tab moves to its times, Space picks one, Tab then Enter moves it.
    days.first.focus()
    page.keyboard.press("ArrowRight")
    assert days.nth(1).is_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    new_time = form.get_by_role("group", name=re.compile("^Pick a time on")).get_by_role("radio")
    assert new_time.first.is_checked()
    chosen = str(new_time.first.get_attribute("value"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Move to this time"
    steps.shot("phone-reschedule")
    page.keyboard.press("Enter")
    notice = page.get_by_role("status").filter(has_text="Rescheduled.")
    notice.wait_for()
    steps.shot("phone-rescheduled")
    assert f"({PHONE_TIME_ZONE})" in notice.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert utc(newest_booking(web_stack)["start"]) == utc(chosen) != utc(booking["start"])

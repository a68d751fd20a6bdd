"""Steps on the booking page that several browser tests take."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import TIME_ZONE, Steps


def choose_slot_and_fill(page: Any, steps: Steps, last: bool = False) -> None:
    page.goto("/")
    days = page.get_by_role("group", name="Pick a day").get_by_role("radio")
    days.first.wait_for()
    assert page.get_by_text(f"Times are in your time zone, {TIME_ZONE}").is_visible()
    (days.last if last else days.first).check()
    times(page).first.check()
    steps.shot("slot")
    page.get_by_label("Your name").fill("Alan Turing")
    page.get_by_label("Your email").fill("alan@example.com")
    steps.shot("filled")
    page.get_by_role("button", name="Book and Pay").click()


def times(page: Any) -> Any:
    return page.get_by_role("group", name=re.compile("^Pick a time on")).get_by_role("radio")


def pay(page: Any, steps: Steps, card: str) -> Any:
    checkout = page.frame_locator("iframe[title^='Secure checkout']")
    checkout.get_by_label("Card number").fill(card)
    steps.shot(f"card-{card[-4:]}")
    checkout.get_by_role("button", name=re.compile(r"^Pay")).click()
    return checkout


def booked_words(page: Any, steps: Steps) -> str:
    page.get_by_role("heading", name="You are booked").wait_for()
    steps.shot("confirmation")
    return str(page.locator("main").inner_text())

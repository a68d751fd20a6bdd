"""Many clients, one slot, the same instant: exactly one gets it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.calcom_sandbox import (
    LONDON,
    MENTORING,
    MONDAY,
    CalcomApi,
    next_weekday,
    wall,
)
from tests.support.sandbox_server import RunningSandbox

CLIENTS = 20


def all_at_once(call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """Run ``call(i)`` on CLIENTS threads released together by a barrier."""
    barrier = threading.Barrier(CLIENTS)

    def contender(index: int) -> httpx.Response:
        barrier.wait(timeout=10)
        return call(index)

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(contender, range(CLIENTS)))


def test_twenty_concurrent_bookings_of_one_slot_make_exactly_one(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    monday = next_weekday(sandbox.state.clock.now().astimezone(LONDON).date(), MONDAY)
    start = wall(monday, 10, 0, LONDON)

    responses = all_at_once(lambda i: api.book(MENTORING, start, email=f"racer{i}@example.com"))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [400] * (CLIENTS - 1)
    refusals = {r.json()["error"]["message"] for r in responses if r.status_code == 400}
    assert refusals == {"User either already has booking at this time or is not available"}
    winner = next(r.json()["data"] for r in responses if r.status_code == 201)
    assert [booking["uid"] for booking in api.everything()["bookings"]] == [winner["uid"]]


def test_twenty_concurrent_reservations_of_one_slot_hold_it_once(
    api: CalcomApi, sandbox: RunningSandbox
) -> None:
    monday = next_weekday(sandbox.state.clock.now().astimezone(LONDON).date(), MONDAY)
    start = wall(monday, 11, 0, LONDON)

    responses = all_at_once(lambda _: api.reserve(MENTORING, start))

    assert sorted(response.status_code for response in responses) == [201] + [422] * (CLIENTS - 1)
    assert len(api.everything()["reservations"]) == 1

"""The follower feeding a process manager: at-least-once, retried, in order, never skipping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from projections import work_queue
from projections.follower import Follower, RetryPolicy
from tests.support.follower_toy import INCREMENTED, RecordingProcess, Toy, toy_world

FAST_RETRY = RetryPolicy(attempts=5, initial_delay=0.01, max_delay=0.05)


@pytest.fixture
def toy(database_url: str) -> Iterator[Toy]:
    with toy_world(database_url) as world:
        yield world


def test_a_transient_failure_is_retried_and_the_position_recorded_once_after(toy: Toy) -> None:
    last = toy.append(counters=2, increments=2)
    ids = toy.notification_ids()
    flaky = ids[1]
    process = RecordingProcess(toy.store, failures={flaky: 2})
    follower = Follower(toy.app, toy.store, process, retry=FAST_RETRY)

    assert follower.run_until_caught_up() == last

    # Each event in order; the flaky one three times, the position unchanged between tries
    # and recorded after each event's handler returned.
    assert process.handled() == [ids[0], flaky, flaky, flaky, *ids[2:]]
    previous = [0, *ids[:-1]]
    expected_calls = [(ids[0], 0)] + [(flaky, ids[0])] * 3
    expected_calls += [(pos, prev) for pos, prev in zip(ids[2:], previous[2:], strict=True)]
    assert process.calls == expected_calls
    assert toy.stored_position(process.name) == last


def test_a_handler_that_keeps_failing_is_parked_after_its_attempts_and_the_rest_go_on(
    toy: Toy,
) -> None:
    toy.append(counters=1, increments=1)
    ids = toy.notification_ids()
    process = RecordingProcess(toy.store, failures={ids[1]: 5})
    retry = RetryPolicy(attempts=2, initial_delay=0.01, max_delay=0.05)
    follower = Follower(toy.app, toy.store, process, poll_interval=0.05, retry=retry)

    with follower:
        last = toy.append(counters=1, start=2)
        assert follower.wait_for(last, timeout=10)

    # Two attempts, then parked with its error and attempts; later events were handled.
    assert process.handled() == [ids[0], ids[1], ids[1], last]
    assert toy.stored_position(process.name) == last
    with toy.store.transaction(readonly=True) as tx:
        [item] = work_queue.parked(tx)
    assert (item.process, item.position, item.attempts) == (process.name, ids[1], 2)
    assert "ConnectionError: transient failure" in (item.last_error or "")


def test_a_permanent_error_is_not_retried_but_parked(toy: Toy) -> None:
    last = toy.append(counters=2)
    ids = toy.notification_ids()
    process = RecordingProcess(toy.store, permanent={ids[0]})

    assert Follower(toy.app, toy.store, process, retry=FAST_RETRY).run_until_caught_up() == last

    assert process.handled() == ids  # once each: the deterministic error was not retried
    with toy.store.transaction(readonly=True) as tx:
        [item] = work_queue.parked(tx)
    assert (item.position, item.attempts) == (ids[0], 1)
    assert item.last_error and item.last_error.startswith("LedgerValidationError")


def test_a_topic_filter_hands_over_only_its_topics_and_still_advances(toy: Toy) -> None:
    last = toy.append(counters=3, increments=2)
    process = RecordingProcess(toy.store, topics=[INCREMENTED])

    assert Follower(toy.app, toy.store, process, batch_size=2).run_until_caught_up() == last

    assert process.handled() == toy.notification_ids(topics=[INCREMENTED])
    assert toy.stored_position(process.name) == last


def test_a_running_process_follower_handles_new_events_in_order(toy: Toy) -> None:
    process = RecordingProcess(toy.store)
    with Follower(toy.app, toy.store, process, poll_interval=0.05) as follower:
        for n in range(1, 4):
            last = toy.append(counters=1, increments=1, start=n)
            assert follower.wait_for(last, timeout=10)
        assert follower.lag() == 0

    assert process.handled() == toy.notification_ids()

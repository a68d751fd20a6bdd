"""The follower feeding a projection: batches, crash safety, the stale-writer guard, replay."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest

from projections import halts
from projections.follower import Follower, FollowerBusy, ReadModelHalted
from tests.support.follower_toy import (
    CREATED,
    CounterView,
    CrashingBatch,
    RecordingProcess,
    Toy,
    toy_world,
)
from tests.support.waiting import wait_until


@pytest.fixture
def toy(database_url: str) -> Iterator[Toy]:
    with toy_world(database_url) as world:
        yield world


def test_catches_up_in_batches_to_a_view_equal_to_the_fold_of_the_log(toy: Toy) -> None:
    last = toy.append(counters=5, increments=4)
    view = CounterView()
    follower = Follower(toy.app, toy.store, view, batch_size=7)

    assert follower.position == 0
    assert follower.lag() == last
    assert follower.run_until_caught_up() == last

    ids = toy.notification_ids()
    assert view.batch_sizes == [7, 7, 7, 4] == [len(ids[i : i + 7]) for i in range(0, 25, 7)]
    assert len(view.batch_sizes) == math.ceil(len(ids) / 7)
    assert toy.view() == toy.fold()
    assert toy.applied_positions() == ids
    assert follower.position == toy.stored_position(view.name) == last
    assert follower.lag() == 0


def test_a_crash_mid_batch_keeps_the_last_committed_batch_and_a_restart_resumes(toy: Toy) -> None:
    last = toy.append(counters=4, increments=5)
    ids = toy.notification_ids()
    crashing = Follower(toy.app, toy.store, CounterView(crash_on_call=3), batch_size=4)

    with pytest.raises(CrashingBatch):
        crashing.run_until_caught_up()

    # Two batches committed; the third, half-applied, rolled back with its position.
    assert toy.stored_position("toy_counters") == ids[7]
    assert toy.view() == toy.fold(up_to=ids[7])
    assert toy.applied_positions() == ids[:8]

    restarted = Follower(toy.app, toy.store, CounterView(), batch_size=4)
    assert restarted.position == ids[7]
    assert restarted.run_until_caught_up() == last
    assert toy.view() == toy.fold()
    assert toy.applied_positions() == ids


def test_a_stale_second_writer_cannot_apply_a_batch_twice(toy: Toy) -> None:
    toy.append(counters=2, increments=3)
    first = Follower(toy.app, toy.store, CounterView())
    stale_view = CounterView()
    stale = Follower(toy.app, toy.store, stale_view)
    assert stale.position == 0  # it has read its position...

    first.run_until_caught_up()  # ...and then another instance moved it on
    last = toy.append(counters=1, increments=2, start=3)
    assert stale.run_until_caught_up() == last

    # The stale batch (from 0) failed the guard before applying anything; it went on from
    # the stored position, so it applied only what the first follower had not.
    assert stale_view.batch_sizes == [3]
    assert toy.applied_positions() == toy.notification_ids()
    assert toy.view() == toy.fold()


def test_replay_drops_and_rebuilds_the_same_view(toy: Toy) -> None:
    last = toy.append(counters=6, increments=3)
    Follower(toy.app, toy.store, CounterView()).run_until_caught_up()
    expected = toy.view()
    with toy.store.transaction() as tx:
        tx.execute("UPDATE toy_counters SET total = -1")  # damage the view

    progress: list[tuple[int, int]] = []
    view = CounterView()
    position = Follower(toy.app, toy.store, view).replay(
        batch_size=10, progress=lambda d, t: progress.append((d, t))
    )

    assert position == last
    assert toy.view() == expected == toy.fold()
    assert toy.applied_positions() == toy.notification_ids()
    assert view.batch_sizes == [10, 10, 4]
    assert progress[0] == (0, last) and progress[-1] == (last, last)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def test_a_topic_filter_reads_only_its_topics_but_advances_past_the_rest(toy: Toy) -> None:
    last = toy.append(counters=5, increments=2)
    view = CounterView(topics=[CREATED])

    assert Follower(toy.app, toy.store, view, batch_size=2).run_until_caught_up() == last

    assert toy.applied_positions() == toy.notification_ids(topics=[CREATED])
    assert {key: (label, 0, 0) for key, (label, _, _) in toy.fold().items()} == toy.view()
    assert toy.stored_position(view.name) == last


def test_a_running_follower_recovers_from_a_failed_batch_without_skipping(toy: Toy) -> None:
    last = toy.append(counters=3, increments=3)
    follower = Follower(toy.app, toy.store, CounterView(crash_on_call=2), batch_size=3)

    with follower:
        assert follower.wait_for(last, timeout=10)
        assert follower.is_running

    assert toy.view() == toy.fold()
    assert toy.applied_positions() == toy.notification_ids()


def test_wait_for_times_out_when_the_position_is_not_reached(toy: Toy) -> None:
    last = toy.append(counters=1)
    with Follower(toy.app, toy.store, CounterView(), poll_interval=0.05) as follower:
        assert follower.wait_for(last, timeout=10)
        assert not follower.wait_for(last + 1, timeout=0.2)


def test_stop_is_prompt_even_with_a_long_poll_interval(toy: Toy) -> None:
    follower = Follower(toy.app, toy.store, CounterView(), poll_interval=30)
    follower.start()
    wait_until(lambda: follower.is_active)

    started = time.monotonic()
    follower.stop()

    assert time.monotonic() - started < 2
    assert not follower.is_running and not follower.is_active


def test_only_one_instance_of_a_name_processes_at_a_time(toy: Toy) -> None:
    last = toy.append(counters=1, increments=1)
    with Follower(toy.app, toy.store, CounterView(), poll_interval=0.05) as active:
        wait_until(lambda: active.is_active)
        other = Follower(toy.app, toy.store, CounterView(), poll_interval=0.05)
        with pytest.raises(FollowerBusy):
            other.run_until_caught_up()
        with pytest.raises(FollowerBusy):
            other.replay()
        with pytest.raises(RuntimeError):
            active.run_until_caught_up()  # it is running: callers use wait_for instead
        # Not running here, it still sees the active one's progress in the stored position.
        assert other.wait_for(last, timeout=10)
        assert other.lag() == 0


def test_bad_configuration_is_refused(toy: Toy) -> None:
    with pytest.raises(ValueError):
        Follower(toy.app, toy.store, CounterView(), batch_size=0)
    with pytest.raises(ValueError):
        Follower(toy.app, toy.store, CounterView(name=""))
    with pytest.raises(TypeError):
        Follower(toy.app, toy.store, object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Follower(toy.app, toy.store, RecordingProcess(toy.store)).replay()


def test_memory_urls_work_end_to_end() -> None:
    with toy_world("memory://") as toy:
        last = toy.append(counters=2, increments=2)
        with Follower(toy.app, toy.store, CounterView(), poll_interval=0.05) as follower:
            wait_until(lambda: follower.is_active)
            with pytest.raises(FollowerBusy):
                Follower(toy.app, toy.store, CounterView()).run_until_caught_up()
            assert follower.wait_for(last, timeout=10)
        assert toy.view() == toy.fold()


def test_a_read_model_that_cannot_apply_an_event_halts_there_alone_and_skips_nothing(
    toy: Toy,
) -> None:
    last = toy.append(counters=4, increments=2)
    ids = toy.notification_ids()
    poison = ids[5]
    halting = Follower(toy.app, toy.store, CounterView(poison={poison}), batch_size=4)
    other_view = _EventCount()
    other = Follower(toy.app, toy.store, other_view, batch_size=4)

    with pytest.raises(ReadModelHalted) as halted:
        halting.run_until_caught_up()

    # Everything before the bad event is applied (event by event once its batch failed).
    assert halted.value.halt.position == ids[4] == toy.stored_position("toy_counters")
    assert halted.value.halt.failed_position == poison
    assert toy.applied_positions() == ids[:5]
    with toy.store.transaction(readonly=True) as tx:
        [halt] = halts.all_halts(tx)
    assert (halt.name, halt.failed_position) == ("toy_counters", poison)
    assert "cannot apply event" in halt.error
    # It stays halted: no later event is applied past the bad one.
    with pytest.raises(ReadModelHalted):
        Follower(toy.app, toy.store, CounterView(), batch_size=4).run_until_caught_up()
    assert toy.stored_position("toy_counters") == ids[4]
    # Another read model is not held up.
    assert other.run_until_caught_up() == last
    assert other_view.seen == len(ids)

    # Once the cause is gone and the halt is cleared, it goes on from where it stopped.
    with toy.store.transaction() as tx:
        halts.clear(tx, "toy_counters")
    assert Follower(toy.app, toy.store, CounterView(), batch_size=4).run_until_caught_up() == last
    assert toy.view() == toy.fold()


class _EventCount:
    """Another read model, with no table of its own (it only counts what it was given)."""

    name = "toy_event_count"

    def __init__(self) -> None:
        self.seen = 0

    def create_tables(self, tx: object) -> None:
        pass

    def drop_tables(self, tx: object) -> None:
        pass

    def apply(self, tx: object, events: list) -> None:
        self.seen += len(events)

"""One active follower per name, standbys that take over, and how the follower wakes up."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from projections.follower import Follower
from projections.leadership import (
    AdvisoryLockLeadership,
    FileLockLeadership,
    exclusive,
    lock_file_path,
)
from projections.store import ReadModelStore
from tests.support.advisory_locks import end_sessions_holding
from tests.support.follower_toy import CounterView, Toy, toy_world
from tests.support.waiting import wait_until


@pytest.fixture
def toy(database_url: str) -> Iterator[Toy]:
    with toy_world(database_url) as world:
        yield world


def test_a_standby_takes_over_without_gaps_or_duplicates(toy: Toy) -> None:
    first = Follower(toy.app, toy.store, CounterView(), batch_size=3, poll_interval=0.1)
    second = Follower(toy.app, toy.store, CounterView(), batch_size=3, poll_interval=0.1)
    first.start()
    second.start()
    try:
        wait_until(lambda: first.is_active or second.is_active)
        active, standby = (first, second) if first.is_active else (second, first)
        last = toy.append(counters=3, increments=2)
        assert active.wait_for(last, timeout=10)
        assert standby.wait_for(last, timeout=10)  # it follows the stored position
        assert not standby.is_active

        active.stop()
        last = toy.append(counters=3, increments=2, start=4)
        wait_until(lambda: standby.is_active)
        assert standby.wait_for(last, timeout=10)
    finally:
        first.stop()
        second.stop()

    assert toy.applied_positions() == toy.notification_ids()
    assert toy.view() == toy.fold()


def test_an_instance_set_up_long_ago_goes_on_from_the_stored_position_when_it_leads(
    toy: Toy, caplog: pytest.LogCaptureFixture
) -> None:
    # Set up and caught up, then idle (a CLI's follower, say) while another instance leads.
    idle = Follower(toy.app, toy.store, CounterView(), batch_size=3)
    toy.append(counters=2, increments=1)
    idle.run_until_caught_up()
    busy = Follower(toy.app, toy.store, CounterView(), batch_size=3)
    toy.append(counters=2, increments=2, start=3)
    busy.run_until_caught_up()
    last = toy.append(counters=2, increments=1, start=5)

    with caplog.at_level(logging.WARNING, logger="projections.follower"):
        assert idle.run_until_caught_up() == last
    # It did not try to write from where it last was (a conflict operators would be warned of).
    assert "resuming from the stored position" not in caplog.text
    assert toy.applied_positions() == toy.notification_ids()
    assert toy.view() == toy.fold()


@pytest.mark.postgres
def test_notify_wakes_the_follower_well_before_its_poll_interval(postgres_url: str) -> None:
    with (
        toy_world(postgres_url) as toy,
        Follower(toy.app, toy.store, CounterView(), poll_interval=30) as follower,
    ):
        wait_until(lambda: follower.is_active and follower.listening)
        # Three rounds: at most one could ride on the wake-up every (re)connect makes.
        for n in range(1, 4):
            started = time.monotonic()
            last = toy.append(counters=1, increments=1, start=n)
            assert follower.wait_for(last, timeout=5)
            assert time.monotonic() - started < 5
        assert toy.view() == toy.fold()


def test_sqlite_changes_are_picked_up_by_polling(sqlite_url: str) -> None:
    with (
        toy_world(sqlite_url) as toy,
        Follower(toy.app, toy.store, CounterView(), poll_interval=0.05) as follower,
    ):
        wait_until(lambda: follower.is_active)
        assert not follower.listening  # SQLite has no NOTIFY
        last = toy.append(counters=2, increments=1)
        assert follower.wait_for(last, timeout=5)
        assert toy.view() == toy.fold()


@pytest.mark.postgres
def test_the_advisory_lock_is_exclusive_and_dies_with_its_session(postgres_url: str) -> None:
    with ReadModelStore(postgres_url) as store:
        one = AdvisoryLockLeadership(store, "payouts")
        two = AdvisoryLockLeadership(store, "payouts")
        other_name = AdvisoryLockLeadership(store, "refunds")
        try:
            assert one.try_acquire() and one.try_acquire()
            assert not two.try_acquire()
            assert other_name.try_acquire()

            assert end_sessions_holding(postgres_url, "payouts") == 1
            wait_until(two.try_acquire)
            assert not one.try_acquire() and not one.held  # it notices it lost the lock
        finally:
            for leadership in (one, two, other_name):
                leadership.release()


@pytest.mark.postgres
@pytest.mark.parametrize("waits", ["blocking", "until stopped"])
def test_a_held_exclusive_lock_tells_its_block_once_its_session_is_gone(
    postgres_url: str, waits: str
) -> None:
    # Blocking: the lock on a session of its own; until stopped: on the process's shared one.
    stop = None if waits == "blocking" else threading.Event()
    with (
        ReadModelStore(postgres_url) as store,
        exclusive(store, "one-off-run", stop=stop) as still_held,
    ):
        assert still_held()
        assert end_sessions_holding(postgres_url, "one-off-run") == 1
        wait_until(lambda: not still_held(), timeout=10)
        other = AdvisoryLockLeadership(store, "one-off-run")
        try:
            assert other.try_acquire()  # another run may take it now
            assert not still_held()  # and this block never takes it back unseen
        finally:
            other.release()


_HOLD_LOCK = """
import fcntl, sys
with open(sys.argv[1], "ab") as f:
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.read()
"""


@pytest.mark.integration  # a second process holds the lock
def test_the_file_lock_is_exclusive_across_processes(tmp_path) -> None:
    path = lock_file_path(str(tmp_path / "mentorpay.db"), "toy counters")
    assert path.endswith(".lock") and " " not in path
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        mine = FileLockLeadership(path)
        assert not mine.try_acquire()

        assert holder.stdin is not None
        holder.stdin.close()  # the holder exits; the kernel releases its lock
        holder.wait(timeout=10)
        assert mine.try_acquire()
        assert not FileLockLeadership(path).try_acquire()  # exclusive within a process too
        mine.release()
        assert FileLockLeadership(path).try_acquire()
    finally:
        holder.kill()
        holder.wait(timeout=10)

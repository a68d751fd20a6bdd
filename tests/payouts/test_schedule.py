"""The in-process payout schedule: runs at start and on every interval, survives errors, stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from processes.gateways.stripe_gateway import StripeGateway
from processes.services.payouts import PayoutSchedule, PayoutService
from projections.catalog import Catalog
from tests.support.payments_world import World
from tests.support.waiting import wait_until


class FlakyClock:
    """A clock that fails on its first reading, as a run's unexpected error would."""

    def __init__(self) -> None:
        self.readings = 0

    def __call__(self) -> datetime:
        self.readings += 1
        if self.readings == 1:
            raise RuntimeError("clock unavailable")
        return datetime.now(UTC)


@pytest.fixture
def stripe_gateway() -> Iterator[StripeGateway]:
    # Never called: nothing is due in these tests. A closed port makes any call fail loudly.
    gateway = StripeGateway("sk_test_unused", "http://127.0.0.1:9", max_network_retries=0)
    yield gateway
    gateway.close()


def service(world: World, stripe_gateway: StripeGateway, clock: FlakyClock) -> PayoutService:
    catalog = Catalog(world.store)
    catalog.create_tables()
    return PayoutService(
        world.ledger, world.store, catalog, stripe_gateway, hold=timedelta(hours=72), clock=clock
    )


def test_schedule_survives_a_failed_run_and_keeps_going(
    world: World, stripe_gateway: StripeGateway
) -> None:
    clock = FlakyClock()
    stopping = threading.Event()
    schedule = PayoutSchedule(service(world, stripe_gateway, clock), 0.05, stopping)
    schedule.start()
    try:
        wait_until(lambda: schedule.runs >= 3, timeout=10)
        assert schedule.is_running
        assert schedule.last_error is None  # the failure of the first run was not the last word
        assert clock.readings >= 3
    finally:
        schedule.stop()
    assert not schedule.is_running and stopping.is_set()


def test_schedule_runs_at_start_and_stops_without_waiting_for_the_interval(
    world: World, stripe_gateway: StripeGateway
) -> None:
    clock = FlakyClock()
    clock.readings = 1  # no failure this time
    schedule = PayoutSchedule(service(world, stripe_gateway, clock), 3600, threading.Event())
    schedule.start()
    wait_until(lambda: schedule.runs == 1, timeout=10)
    schedule.stop(timeout=5)
    assert not schedule.is_running
    assert schedule.runs == 1

"""``world``: a stored ledger and its payments read model, without the sandbox (no Stripe call
is made). ``payouts``: many due payments on PostgreSQL against the Stripe sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import Ledger
from mentorpay.persistence import eventsourcing_env
from projections.follower import Follower
from projections.payments import PaymentsProjection
from projections.store import ReadModelStore
from tests.support.payments_world import World
from tests.support.sandbox_server import RunningSandbox
from tests.support.scale_payouts import Payouts, payouts_world


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with Ledger(eventsourcing_env(database_url)) as ledger, ReadModelStore(database_url) as store:
        yield World(ledger, store, Follower(ledger, store, PaymentsProjection()))


@pytest.fixture
def payouts(postgres_url: str, sandbox: RunningSandbox) -> Iterator[Payouts]:
    with payouts_world(postgres_url, sandbox) as world:
        yield world

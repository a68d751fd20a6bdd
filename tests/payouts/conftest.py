"""A stored ledger and its payments read model, without the sandbox (no Stripe call is made)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import Ledger
from mentorpay.persistence import eventsourcing_env
from projections.follower import Follower
from projections.payments import PaymentsProjection
from projections.store import ReadModelStore
from tests.support.payments_world import World


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with Ledger(eventsourcing_env(database_url)) as ledger, ReadModelStore(database_url) as store:
        yield World(ledger, store, Follower(ledger, store, PaymentsProjection()))

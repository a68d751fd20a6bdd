"""Finance fixtures: a stored ledger with its read models (the stack is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import Ledger
from mentorpay.immutability import protect_event_table
from mentorpay.persistence import eventsourcing_env
from projections.store import ReadModelStore
from tests.support.books import Books, read_models


@pytest.fixture
def books(database_url: str) -> Iterator[Books]:
    with Ledger(eventsourcing_env(database_url)) as ledger:
        protect_event_table(database_url)
        with ReadModelStore(database_url) as store:
            yield Books(ledger, store, read_models(), batch_size=4)

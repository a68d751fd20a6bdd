"""Ledger fixtures: an in-memory ledger for domain tests, a stored one for storage tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import Ledger
from mentorpay.persistence import eventsourcing_env


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with Ledger(eventsourcing_env("memory://")) as app:
        yield app


@pytest.fixture
def stored_ledger(database_url: str) -> Iterator[Ledger]:
    """A ledger on a fresh SQLite file or PostgreSQL database (both, by parametrisation)."""
    with Ledger(eventsourcing_env(database_url)) as app:
        yield app

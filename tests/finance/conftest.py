"""Finance tests: the whole stack (from tests/flow) and a ledger with its read models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner, Result

from ledger import Ledger
from mentorpay.bootstrap import read_models as bootstrap_read_models
from mentorpay.cli import app as cli_app
from mentorpay.immutability import protect_event_table
from mentorpay.persistence import eventsourcing_env
from mentorpay.settings import get_settings
from projections.follower import Follower, Projection
from projections.store import ReadModelStore
from tests.flow.conftest import stack, stack_settings  # noqa: F401 - fixtures for this package


def read_models() -> list[Projection]:
    return bootstrap_read_models()  # the same read models ``ledger verify`` rebuilds


@dataclass
class Books:
    """A ledger and its read models in one store, projected on demand."""

    ledger: Ledger
    store: ReadModelStore
    projections: list[Projection]
    batch_size: int = 1000

    def project(self) -> None:
        for projection in self.projections:
            Follower(
                self.ledger, self.store, projection, batch_size=self.batch_size
            ).run_until_caught_up()


@pytest.fixture
def books(database_url: str) -> Iterator[Books]:
    with Ledger(eventsourcing_env(database_url)) as ledger:
        protect_event_table(database_url)
        with ReadModelStore(database_url) as store:
            yield Books(ledger, store, read_models(), batch_size=4)


def run_cli(monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str, **env: str) -> Result:
    """``mentorpay ARGS`` in-process, configured by the environment like a real run."""
    monkeypatch.setenv("MENTORPAY_DATABASE_URL", database_url)
    for name, value in env.items():
        monkeypatch.setenv(f"MENTORPAY_{name.upper()}", value)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, list(args))
    finally:
        get_settings.cache_clear()

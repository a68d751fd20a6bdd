"""A live sandbox on an ephemeral loopback port for each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from mentorpay.servers import BackgroundServer
from sandbox.app import create_app
from sandbox.state import SandboxState
from tests.sandbox.calcom_support import CalcomApi


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    state: SandboxState


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    state = SandboxState()
    with BackgroundServer(create_app(state)) as server:
        yield RunningSandbox(url=server.url, state=state)


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[CalcomApi]:
    """A Cal.com API client on the running sandbox (Stripe tests use the SDK instead)."""
    with CalcomApi(sandbox.url) as client:
        yield client

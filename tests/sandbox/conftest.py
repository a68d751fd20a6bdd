"""A live sandbox on an ephemeral loopback port for each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from mentorpay.servers import BackgroundServer
from sandbox.app import create_app
from sandbox.state import SandboxState


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    state: SandboxState


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    state = SandboxState()
    with BackgroundServer(create_app(state)) as server:
        yield RunningSandbox(url=server.url, state=state)

"""A live sandbox (Stripe and Cal.com emulators) on an ephemeral loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mentorpay.servers import BackgroundServer
from sandbox.app import create_app
from sandbox.state import SandboxState


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    state: SandboxState


@contextmanager
def running_sandbox() -> Iterator[RunningSandbox]:
    state = SandboxState()
    with BackgroundServer(create_app(state)) as server:
        yield RunningSandbox(url=server.url, state=state)

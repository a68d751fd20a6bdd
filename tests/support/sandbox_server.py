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


@contextmanager
def reset_for_one_test(shared: RunningSandbox) -> Iterator[RunningSandbox]:
    """The session's sandbox, as a fresh one would be: building its app takes about half a
    second, and hundreds of tests each want a sandbox of their own. The reset forgets every
    object, fault, clock offset and webhook endpoint; the webhook retry policy and the background
    work tests may change are put back too."""
    webhooks = shared.state.stripe.webhooks
    policy = webhooks.policy
    shared.state.reset(startup_endpoints_too=True)
    shared.state.stripe.start()  # its background work, should a test have stopped it
    try:
        yield shared
    finally:
        # Before the next test: deliveries queued for this test's receivers stop here.
        shared.state.reset(startup_endpoints_too=True)
        webhooks.policy = policy

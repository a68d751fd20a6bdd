"""Gateways are tested against the live sandbox: real HTTP on loopback, the official SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from processes.gateways.calcom_gateway import CalcomGateway
from processes.gateways.stripe_gateway import StripeGateway
from tests.support.gateway_keys import CALCOM_TEST_KEY, STRIPE_TEST_KEY
from tests.support.sandbox_server import RunningSandbox


@pytest.fixture
def stripe_gateway(sandbox: RunningSandbox) -> Iterator[StripeGateway]:
    gateway = StripeGateway(STRIPE_TEST_KEY, sandbox.url, timeout=5, max_network_retries=2)
    yield gateway
    gateway.close()


@pytest.fixture
def calcom(sandbox: RunningSandbox) -> Iterator[CalcomGateway]:
    with CalcomGateway(CALCOM_TEST_KEY, sandbox.url, timeout=2) as gateway:
        yield gateway

"""Sandbox fixtures: a Cal.com client on the live sandbox (``sandbox`` is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.calcom_sandbox import CalcomApi
from tests.support.sandbox_server import RunningSandbox


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[CalcomApi]:
    """A Cal.com API client on the running sandbox (Stripe tests use the SDK instead)."""
    with CalcomApi(sandbox.url) as client:
        yield client

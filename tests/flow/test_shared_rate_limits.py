"""Checkout rate limits shared by every API process through Redis (``CHECKOUT_RATE_STORAGE``),
and a storage that fails letting checkouts through with an ERROR and a counter in /metrics
rather than stopping sales."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from prometheus_client import generate_latest
from pydantic import ValidationError

from api.metrics import Metrics
from api.problems import Problem
from api.rate_limits import CheckoutRateLimits
from mentorpay.settings import Settings
from tests.support.stack import Stack, running_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

# Database 15: out of the way of anything else on the machine's Redis.
REDIS_URL = os.environ.get("MENTORPAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis must be reachable in CI: {error}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {error}")
    return REDIS_URL


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Stack]:
    url = f"sqlite:///{tmp_path_factory.mktemp('shared-limits')}/mentorpay.db"
    with running_stack(
        url, checkout_rate_per_user="3/minute", checkout_rate_storage=redis_url
    ) as running:
        yield running


def _checkout(stack: Stack, user: str) -> httpx.Response:
    body = {
        "eventTypeId": 999_999,  # unknown: counted by the limits, then refused (404)
        "start": stack.free_slot(skip=0).isoformat(),
        "attendee": {"name": "Burst", "email": "b@example.com", "timeZone": "UTC"},
    }
    with stack.client(user) as client:
        return client.post("/api/checkout-sessions", json=body)


def test_another_api_process_s_checkouts_count_toward_the_same_limit(
    stack: Stack, redis_url: str
) -> None:
    user = f"user-{uuid.uuid4().hex}"  # the window outlives the test in Redis
    # Another API process, with limits of its own on the same Redis, took two of the three.
    other_process = CheckoutRateLimits("3/minute", "10000/minute", redis_url)
    other_process.hit(user, "192.0.2.7")
    other_process.hit(user, "192.0.2.7")

    assert _checkout(stack, user).status_code == 404  # the third: allowed, then refused
    refused = _checkout(stack, user)
    assert refused.status_code == 429, refused.text
    assert "user" in refused.json()["detail"] and int(refused.headers["retry-after"]) >= 1
    with pytest.raises(Problem):  # and the other process sees the same count
        other_process.hit(user, "192.0.2.7")
    assert _checkout(stack, f"user-{uuid.uuid4().hex}").status_code == 404  # others are not


def test_a_storage_that_fails_lets_checkouts_through_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as unused:  # a port nothing listens on once this closes
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    dead = f"redis://127.0.0.1:{port}/0"
    limits = CheckoutRateLimits("1/minute", "1/minute", dead)
    with caplog.at_level(logging.ERROR, logger="api.rate_limits"):
        for _ in range(3):
            limits.hit("user-during-an-outage", "192.0.2.8")  # beyond 1/minute: not refused
    # Said once: the storage is left alone for a while, not asked again for each checkout.
    (said,) = [r.getMessage() for r in caplog.records if "rate limits not applied" in r.message]
    assert "for 5 s" in said
    # Operations see it in /metrics, counted once per attempt let through.
    scraped = generate_latest(Metrics(checkout_limits=limits).registry).decode()
    assert "mentorpay_checkout_rate_limits_unapplied_total 3.0" in scraped

    # Once the while is over, the storage is asked again (here it fails again: said again).
    briefly = CheckoutRateLimits("1/minute", "1/minute", dead, storage_retry_seconds=0.05)
    caplog.clear()

    def said_twice() -> bool:
        briefly.hit("user-during-an-outage", "192.0.2.8")
        return caplog.text.count("rate limits not applied") >= 2

    with caplog.at_level(logging.ERROR, logger="api.rate_limits"):
        wait_until(said_twice, timeout=10)


def test_the_setting_takes_memory_or_redis_and_names_itself_otherwise() -> None:
    assert Settings().checkout_rate_storage == "memory://"
    assert Settings(checkout_rate_storage="redis://cache:6379/2").checkout_rate_storage
    for wrong in ("memcached://cache:11211", "async+redis://cache:6379", "cache:6379"):
        with pytest.raises(ValidationError, match="checkout_rate_storage"):
            Settings(checkout_rate_storage=wrong)

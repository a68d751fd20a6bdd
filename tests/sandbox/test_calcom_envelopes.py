"""Auth, cal-api-version and Cal.com's envelopes on every emulated endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.calcom_sandbox import (
    API_KEY,
    BOOKINGS_VERSION,
    MENTORING,
    SLOTS_VERSION,
    assert_error,
)
from tests.support.http import http_client
from tests.support.sandbox_server import RunningSandbox

# (method, path, version, json body): every /v2 endpoint the emulator serves.
ENDPOINTS: list[tuple[str, str, str, Any]] = [
    (
        "GET",
        f"/v2/slots?eventTypeId={MENTORING}&start=2030-01-07&end=2030-01-08",
        SLOTS_VERSION,
        None,
    ),
    (
        "POST",
        "/v2/slots/reservations",
        SLOTS_VERSION,
        {"eventTypeId": MENTORING, "slotStart": "2030-01-07T10:00:00Z"},
    ),
    ("GET", "/v2/slots/reservations/some-uid", SLOTS_VERSION, None),
    (
        "PATCH",
        "/v2/slots/reservations/some-uid",
        SLOTS_VERSION,
        {"eventTypeId": MENTORING, "slotStart": "2030-01-07T10:00:00Z"},
    ),
    ("DELETE", "/v2/slots/reservations/some-uid", SLOTS_VERSION, None),
    ("POST", "/v2/bookings", BOOKINGS_VERSION, {}),
    ("GET", "/v2/bookings", BOOKINGS_VERSION, None),
    ("GET", "/v2/bookings/some-uid", BOOKINGS_VERSION, None),
    ("POST", "/v2/bookings/some-uid/cancel", BOOKINGS_VERSION, {}),
]


@pytest.fixture
def http(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with http_client(base_url=sandbox.url, timeout=15) as client:
        yield client


def call(
    http: httpx.Client, endpoint: tuple[str, str, str, Any], headers: dict[str, str]
) -> httpx.Response:
    method, path, _, body = endpoint
    return http.request(method, path, json=body, headers=headers)


def test_without_credentials_every_endpoint_is_401(http: httpx.Client) -> None:
    for endpoint in ENDPOINTS:
        response = call(http, endpoint, {"cal-api-version": endpoint[2]})

        message = assert_error(response, 401, "UnauthorizedException")
        assert message.startswith("ApiAuthStrategy - No authentication method provided"), endpoint


def test_a_key_that_is_not_a_cal_api_key_is_401(http: httpx.Client) -> None:
    for authorization in ("Bearer sk_test_123", "Bearer cal_", "Basic cal_live_abc", "cal_live"):
        headers = {"Authorization": authorization, "cal-api-version": BOOKINGS_VERSION}

        response = http.get("/v2/bookings", headers=headers)

        message = assert_error(response, 401, "UnauthorizedException")
        assert message == "ApiAuthStrategy - api key - Your api key is not valid", authorization


def test_every_endpoint_requires_its_own_cal_api_version(http: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    for endpoint in ENDPOINTS:
        other = BOOKINGS_VERSION if endpoint[2] == SLOTS_VERSION else SLOTS_VERSION

        missing = call(http, endpoint, auth)
        wrong = call(http, endpoint, {**auth, "cal-api-version": other})

        for response in (missing, wrong):
            message = assert_error(response, 400, "BadRequestException")
            assert f"cal-api-version: {endpoint[2]}" in message, endpoint


def test_success_envelopes(http: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "cal-api-version": BOOKINGS_VERSION}

    response = http.get("/v2/bookings", headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert (body["status"], body["data"]) == ("success", [])
    assert body["pagination"]["totalItems"] == 0


def test_unknown_routes_are_404_envelopes(http: httpx.Client) -> None:
    for method, path in (("GET", "/v2/me"), ("PUT", "/v2/bookings"), ("DELETE", "/v2/bookings/x")):
        response = http.request(method, path)

        assert assert_error(response, 404, "NotFoundException") == f"Cannot {method} {path}"

"""The sandbox's test-only controls (``/_sandbox/...``), as the tests drive them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.http import http_client

TEST_CARD = "4242424242424242"


def control(base_url: str, method: str, path: str, body: Any = None) -> Any:
    with http_client(timeout=10) as client:
        response = client.request(method, f"{base_url}/_sandbox{path}", json=body)
    response.raise_for_status()
    return response.json() if response.content else None


def arm_fault(
    base_url: str,
    *,
    service: str,
    path: str,
    method: str | None = None,
    status: int | None = None,
    times: int = 1,
    delay_ms: int = 0,
    message: str | None = None,
) -> None:
    """The next ``times`` matching calls fail with ``status`` (0: dropped) after ``delay_ms``."""
    body = {
        "service": service,
        "method": method,
        "path": path,
        "status": status,
        "times": times,
        "delayMs": delay_ms,
        "message": message,
    }
    control(base_url, "POST", "/faults", body)


def pay(base_url: str, session_id: str, card: str = TEST_CARD) -> httpx.Response:
    """What the customer does in the embedded form."""
    with http_client(timeout=10) as client:
        return client.post(
            f"{base_url}/_sandbox/checkout/sessions/{session_id}/pay", json={"card": card}
        )


def add_event_type(base_url: str, event_type_id: int, length_minutes: int = 30) -> None:
    """A Cal.com event type bookable around the clock, every day, in UTC."""
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    control(
        base_url,
        "POST",
        "/calcom/event-types",
        {
            "id": event_type_id,
            "title": f"Gateway test {event_type_id}",
            "lengthInMinutes": length_minutes,
            "hostName": "Ada Lovelace",
            "timeZone": "UTC",
            "availability": [{"days": days, "startTime": "00:00", "endTime": "24:00"}],
        },
    )

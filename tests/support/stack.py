"""The whole product on loopback: the sandbox, the API with its workers, on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from mentorpay.auth_tokens import issue_token
from mentorpay.bootstrap import Container, build_container
from mentorpay.servers import BackgroundServer
from mentorpay.settings import Settings
from projections.catalog_file import read_catalog_file
from projections.follower import RetryPolicy
from projections.work_pool import WorkSettings
from sandbox.state import SandboxState
from tests.support.http import http_client
from tests.support.sandbox_server import RunningSandbox, running_sandbox
from tests.support.waiting import wait_until

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "mentorpay" / "demo_catalog.yaml"
WEBHOOK_SECRET = "whsec_flow_tests"
JWT_SECRET = "flow-tests-jwt-secret-0123456789abcdef"
# Quick retries and a short lease, so recovery after a simulated crash takes seconds.
FLOW_WORK = WorkSettings(
    threads=4,
    lease_seconds=3.0,
    poll_interval=0.2,
    retry=RetryPolicy(attempts=4, initial_delay=0.05, max_delay=0.2),
)


@dataclass
class Stack:
    api_url: str
    sandbox_url: str
    container: Container
    sandbox: SandboxState

    def token(self, sub: str = "user-1", role: str = "user") -> str:
        return issue_token(JWT_SECRET, sub, role)

    def client(self, sub: str = "user-1", role: str = "user") -> httpx.Client:
        return http_client(
            base_url=self.api_url,
            timeout=30,
            headers={"Authorization": f"Bearer {self.token(sub, role)}"},
        )

    def sandbox_client(self) -> httpx.Client:
        return http_client(base_url=self.sandbox_url, timeout=30)

    def free_slot(self, event_type_id: int = 1001, skip: int = 0) -> datetime:
        now = datetime.now(UTC)
        with self.client() as client:
            response = client.get(
                f"/api/event-types/{event_type_id}/slots",
                params={
                    "start": (now + timedelta(days=1)).isoformat(),
                    "end": (now + timedelta(days=8)).isoformat(),
                },
            )
        assert response.status_code == 200, response.text
        return datetime.fromisoformat(response.json()[skip]["start"])

    def start_checkout(self, start: datetime, sub: str = "user-1", **overrides: Any) -> dict:
        body = {
            "eventTypeId": 1001,
            "start": start.isoformat(),
            "attendee": {
                "name": "Alan Turing",
                "email": "alan@example.com",
                "timeZone": "Europe/London",
            },
        }
        body.update(overrides)
        with self.client(sub) as client:
            response = client.post("/api/checkout-sessions", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def pay(self, checkout_session_id: str, card: str = "4242424242424242") -> httpx.Response:
        with self.sandbox_client() as client:
            return client.post(
                f"/_sandbox/checkout/sessions/{checkout_session_id}/pay", json={"card": card}
            )

    def confirmed_booking(self) -> str:
        """A session checked out, paid and confirmed through the API, then booked: its id."""
        checkout = self.start_checkout(self.free_slot())
        assert self.pay(checkout["checkoutSessionId"]).status_code == 200
        with self.client() as client:
            response = client.post(
                "/api/bookings/confirm", json={"checkoutSessionId": checkout["checkoutSessionId"]}
            )
        assert response.status_code in (200, 202), response.text
        booking_id = str(checkout["bookingId"])
        wait_until(lambda: self.booking(booking_id)["status"] == "ACCEPTED", timeout=20)
        return booking_id

    def booking(self, booking_id: str, sub: str = "user-1") -> dict:
        with self.client(sub) as client:
            response = client.get(f"/api/bookings/{booking_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def calcom_bookings(self) -> list[dict]:
        with self.sandbox_client() as client:
            response = client.get("/_sandbox/calcom/bookings")
        assert response.status_code == 200, response.text
        return response.json()["bookings"]


def settings_for(database_url: str, sandbox_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "stripe_api_base": sandbox_url,
        "calcom_api_base": sandbox_url,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "jwt_secret": JWT_SECRET,
        "smtp_url": None,
        # Flow tests open many checkouts from one address; the limits have tests of their own.
        "checkout_rate_per_user": "10000/minute",
        "checkout_rate_per_client": "10000/minute",
        "max_open_checkouts": 1000,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_stack(
    database_url: str,
    work: WorkSettings = FLOW_WORK,
    *,
    sandbox: RunningSandbox | None = None,
    **settings: Any,
) -> Iterator[Stack]:
    """The API and its workers on ``database_url``, torn down on exit, against ``sandbox`` (a
    fresh one of its own when not given)."""
    with ExitStack() as resources:
        if sandbox is None:
            sandbox = resources.enter_context(running_sandbox())
        container = build_container(
            settings_for(database_url, sandbox.url, **settings), poll_interval=0.2, work=work
        )
        resources.callback(container.close)
        container.catalog.load(read_catalog_file(DEMO_CATALOG))
        container.start_workers()
        api_server = resources.enter_context(BackgroundServer(create_app(container.api_services())))
        # Goes with the sandbox's next reset, when the sandbox is shared.
        sandbox.state.stripe.add_webhook_endpoint(
            f"{api_server.url}/api/webhooks/stripe", WEBHOOK_SECRET, keep_on_reset=False
        )
        yield Stack(api_server.url, sandbox.url, container, sandbox.state)

"""A webhook the sandbox actually delivers over HTTP parses with our endpoint secret."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mentorpay.servers import BackgroundServer
from processes.gateways.stripe_gateway import WebhookSignatureInvalid, parse_webhook
from tests.support.sandbox_controls import control
from tests.support.stripe_gateway_checkouts import paid_checkout
from tests.support.waiting import wait_until

SECRET = "whsec_gateway_delivery"


@dataclass
class Inbox:
    """Raw deliveries as a web framework hands them over: body bytes and signature header."""

    deliveries: list[tuple[bytes, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_type(self, event_type: str) -> list[tuple[bytes, str | None]]:
        with self.lock:
            return [d for d in self.deliveries if f'"{event_type}"'.encode() in d[0]]


@pytest.fixture
def inbox(sandbox) -> Iterator[Inbox]:
    box = Inbox()

    async def receive(request: Request) -> Response:
        body = await request.body()
        with box.lock:
            box.deliveries.append((body, request.headers.get("stripe-signature")))
        return Response(status_code=200)

    app = Starlette(routes=[Route("/webhooks/stripe", receive, methods=["POST"])])
    with BackgroundServer(app) as receiver:
        control(
            sandbox.url,
            "POST",
            "/webhook-endpoints",
            {"url": f"{receiver.url}/webhooks/stripe", "secret": SECRET},
        )
        yield box


def test_a_delivered_checkout_completion_verifies_and_names_the_booking(
    sandbox, stripe_gateway, inbox
):
    paid = paid_checkout(stripe_gateway, sandbox.url)

    body, signature = wait_until(lambda: inbox.of_type("checkout.session.completed"), timeout=10)[0]
    event = parse_webhook(body, signature, SECRET)

    assert event.type == "checkout.session.completed"
    assert event.id.startswith("evt_")
    assert event.object["id"] == paid.session_id
    assert event.object["payment_status"] == "paid"
    assert event.object["metadata"]["booking_id"] == str(paid.booking_id)
    with pytest.raises(WebhookSignatureInvalid):
        parse_webhook(body, signature, "whsec_not_ours")

"""Helpers shared by the Stripe sandbox tests (this module holds no tests itself)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import stripe
from fastapi import FastAPI, Request, Response

from mentorpay.servers import BackgroundServer
from tests.support.http import http_client

if TYPE_CHECKING:
    from tests.support.sandbox_server import RunningSandbox

API_KEY = "sk_test_sandbox_tests"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
DEMO_ACCOUNT = "acct_sandboxmentor01"
RETURN_URL = "https://mentorpay.example/return?session_id={CHECKOUT_SESSION_ID}"

# One client for the whole run: making an httpx client (its TLS context) costs ~30 ms.
HTTP = http_client(timeout=10)


def sdk(sandbox: RunningSandbox, api_key: str = API_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(api_key, base_addresses={"api": sandbox.url}, max_network_retries=0)


def api(
    sandbox: RunningSandbox, method: str, path: str, *, api_key: str | None = API_KEY, **kwargs: Any
) -> httpx.Response:
    """A raw call to the emulated API, for what the SDK would never send."""
    headers = dict(kwargs.pop("headers", {}))
    if api_key is not None:
        headers.setdefault("Authorization", f"Bearer {api_key}")
    return HTTP.request(method, f"{sandbox.url}{path}", headers=headers, **kwargs)


def session_params(
    *,
    amount: int = 7500,
    currency: str = "usd",
    name: str = "30-minute mentoring",
    **overrides: Any,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "ui_mode": "embedded_page",
        "return_url": RETURN_URL,
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": name},
                },
                "quantity": 1,
            }
        ],
        "metadata": {"booking_id": "booking-1"},
        "payment_intent_data": {
            "metadata": {"booking_id": "booking-1"},
            "transfer_group": "booking-1",
        },
    }
    params.update(overrides)
    return params


def create_session(client: stripe.StripeClient, **overrides: Any) -> stripe.checkout.Session:
    return client.v1.checkout.sessions.create(params=session_params(**overrides))


def pay(
    sandbox: RunningSandbox, session_id: str, card: str = GOOD_CARD, **extra: Any
) -> httpx.Response:
    return HTTP.post(
        f"{sandbox.url}/_sandbox/checkout/sessions/{session_id}/pay", json={"card": card, **extra}
    )


def paid_intent(
    sandbox: RunningSandbox, client: stripe.StripeClient, **overrides: Any
) -> stripe.PaymentIntent:
    """A PaymentIntent paid through a Checkout Session, as a customer would."""
    session = create_session(client, **overrides)
    assert pay(sandbox, session.id).status_code == 200
    paid = client.v1.checkout.sessions.retrieve(session.id)
    return client.v1.payment_intents.retrieve(paid.payment_intent)


def control(sandbox: RunningSandbox, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return HTTP.request(method, f"{sandbox.url}/_sandbox{path}", **kwargs)


def deliveries(sandbox: RunningSandbox, **filters: str) -> list[dict[str, Any]]:
    response = control(sandbox, "GET", "/webhook-deliveries", params=filters)
    assert response.status_code == 200
    return response.json()["data"]


@dataclass
class Delivery:
    body: bytes
    signature: str | None

    @property
    def event_id(self) -> str:
        return json.loads(self.body)["id"]


@dataclass
class Receiver:
    """A webhook receiver on loopback that records what it gets and answers as planned."""

    url: str = ""
    received: list[Delivery] = field(default_factory=list)
    planned_statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.received.append(Delivery(body, request.headers.get("stripe-signature")))
                status = self.planned_statuses.pop(0) if self.planned_statuses else 200
            return Response(status_code=status)

        return app

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            bodies = [d.body for d in self.received]
        events = [json.loads(body) for body in bodies]
        return [e for e in events if type_ is None or e["type"] == type_]


@contextmanager
def receiver(planned_statuses: list[int] | None = None, port: int = 0) -> Iterator[Receiver]:
    hook = Receiver(planned_statuses=list(planned_statuses or []))
    with BackgroundServer(hook.app(), port=port) as server:
        hook.url = f"{server.url}/hook"
        yield hook


def register(sandbox: RunningSandbox, url: str, secret: str = "whsec_test_secret") -> None:
    response = control(sandbox, "POST", "/webhook-endpoints", json={"url": url, "secret": secret})
    assert response.status_code == 201, response.text

"""The Stripe gateway: every Stripe call this project makes, through the official SDK.

It turns Stripe objects into small typed values and Stripe failures into typed outcomes;
it decides nothing and stores nothing. Every POST takes the caller's deterministic
idempotency key: the SDK's random default would not survive a process restart, so a retry
after a crash could charge, refund or transfer twice.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote_plus
from uuid import UUID

import stripe

from ledger.money import Money
from processes.gateways import stripe_objects as objects
from processes.gateways.stripe_errors import (
    CardDeclined,
    StripeAuthError,
    StripeGatewayError,
    StripeRequestRefused,
    StripeTransientError,
    StripeUnexpectedResponse,
    stripe_errors,
)
from processes.gateways.stripe_objects import (
    AccountInfo,
    ChargeInfo,
    CheckoutSession,
    PaymentIntentInfo,
    RefundInfo,
    ReversalInfo,
    TransferInfo,
)
from processes.gateways.stripe_webhooks import (
    WebhookEvent,
    WebhookPayloadInvalid,
    WebhookRejected,
    WebhookSignatureInvalid,
    parse_webhook,
)
from processes.gateways.timestamps import to_unix

if TYPE_CHECKING:
    from stripe.params import (
        RefundCreateParams,
        RefundListParams,
        TransferCreateParams,
        TransferListParams,
    )
    from stripe.params.checkout import SessionCreateParams

__all__ = [
    "STRIPE_API_VERSION",
    "AccountInfo",
    "CardDeclined",
    "ChargeInfo",
    "CheckoutSession",
    "PaymentIntentInfo",
    "RefundInfo",
    "ReversalInfo",
    "StripeAuthError",
    "StripeGateway",
    "StripeGatewayError",
    "StripeRequestRefused",
    "StripeTransientError",
    "StripeUnexpectedResponse",
    "TransferInfo",
    "WebhookEvent",
    "WebhookPayloadInvalid",
    "WebhookRejected",
    "WebhookSignatureInvalid",
    "parse_webhook",
]

# Pinned rather than "whatever the SDK sends": object shapes change between API versions
# (e.g. ui_mode ``embedded`` became ``embedded_page``). This is the version stripe 16 speaks.
STRIPE_API_VERSION: Final = "2026-10-28.endive"

# Stripe's own limit on the Idempotency-Key header.
_MAX_IDEMPOTENCY_KEY = 255
_PAGE_SIZE = 100

T = TypeVar("T")


def _options(idempotency_key: str) -> stripe.RequestOptions:
    if not idempotency_key or len(idempotency_key) > _MAX_IDEMPOTENCY_KEY:
        raise ValueError(f"idempotency_key must be 1..{_MAX_IDEMPOTENCY_KEY} characters")
    return {"idempotency_key": idempotency_key}


def _id(object_id: str) -> str:
    """An id as one path segment (the SDK's resource methods quote it the same way)."""
    return quote_plus(object_id)


def _plain(obj: stripe.StripeObject) -> dict[str, Any]:
    return obj.to_dict()


class _RequestsClientWithHook(stripe.RequestsClient):
    """The SDK's requests-based client, calling the current thread's hook (if any) before
    every attempt it makes: the SDK's own retries go through ``request`` too, after a wait of
    their own that knows nothing of ours."""

    def __init__(self, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._hooks = threading.local()

    @contextmanager
    def before_each_request(self, hook: Callable[[], None]) -> Iterator[None]:
        previous = getattr(self._hooks, "before", None)
        self._hooks.before = hook
        try:
            yield
        finally:
            self._hooks.before = previous

    # RequestsClient's own signature, which already differs from its base class's (no
    # ``_usage``, bytes not str): the SDK calls it so.
    def request(  # type: ignore[override]
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        hook: Callable[[], None] | None = getattr(self._hooks, "before", None)
        if hook is not None:
            hook()
        return super().request(method, url, headers, post_data)


class StripeGateway:
    def __init__(
        self,
        secret_key: str,
        api_base: str | None = None,
        *,
        timeout: float = 15,
        max_network_retries: int = 2,
        allow_promotion_codes: bool = False,
    ) -> None:
        # Checkout lets the customer enter a Stripe promotion code (the ledger records the
        # discount it gave, from the session's ``total_details``).
        self._allow_promotion_codes = allow_promotion_codes
        # The SDK's default (requests-based) client, given our timeout instead of its 80 s.
        self._http_client = _RequestsClientWithHook(timeout=timeout)
        self._client = stripe.StripeClient(
            secret_key,
            stripe_version=STRIPE_API_VERSION,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=self._http_client,
        )

    def close(self) -> None:
        self._http_client.close()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated

    def paced(self, wait: Callable[[], None]) -> contextlib.AbstractContextManager[None]:
        """Within it, on this thread, every HTTP request to Stripe first calls ``wait``: each
        attempt, the SDK's own retries of a dropped connection, a 409 or a 5xx included."""
        return self._http_client.before_each_request(wait)

    # --- Checkout -------------------------------------------------------------------------

    def create_checkout_session(
        self,
        *,
        booking_id: UUID,
        price: Money,
        product_name: str,
        customer_email: str,
        return_url: str,
        expires_at: datetime,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> CheckoutSession:
        """An embedded Checkout session for one booking; its ``client_secret`` goes to the browser.

        The booking id travels in the session's and the PaymentIntent's metadata and as the
        transfer group, so every later Stripe object leads back to the booking.
        """
        if "{CHECKOUT_SESSION_ID}" not in return_url:
            raise ValueError("return_url must contain {CHECKOUT_SESSION_ID}")
        tagged = {**metadata, "booking_id": str(booking_id)}
        params: SessionCreateParams = {
            "mode": "payment",
            "ui_mode": "embedded_page",
            "return_url": return_url,
            "customer_email": customer_email,
            "client_reference_id": str(booking_id),
            "line_items": [
                {
                    "price_data": {
                        "currency": price.currency.lower(),
                        "unit_amount": price.amount,
                        "product_data": {"name": product_name},
                    },
                    "quantity": 1,
                }
            ],
            "metadata": tagged,
            "payment_intent_data": {"metadata": tagged, "transfer_group": str(booking_id)},
            "expires_at": to_unix(expires_at, "expires_at"),
        }
        if self._allow_promotion_codes:
            params["allow_promotion_codes"] = True
        options = _options(idempotency_key)
        session = self._call("post", "/v1/checkout/sessions", params, options)
        return objects.checkout_session(session)

    def retrieve_checkout_session(self, session_id: str) -> CheckoutSession:
        return objects.checkout_session(
            self._call("get", f"/v1/checkout/sessions/{_id(session_id)}")
        )

    def expire_checkout_session(self, session_id: str, *, idempotency_key: str) -> CheckoutSession:
        """End an open session; one that is already expired or complete is returned as it is."""
        options = _options(idempotency_key)
        try:
            session = self._call(
                "post", f"/v1/checkout/sessions/{_id(session_id)}/expire", None, options
            )
        except StripeRequestRefused as refused:
            if refused.code == "resource_missing":
                raise
            # Stripe refuses to expire a session that is not open; that end state is our answer.
            current = self.retrieve_checkout_session(session_id)
            if current.status == "open":
                raise
            return current
        return objects.checkout_session(session)

    # --- Payments -------------------------------------------------------------------------

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentInfo:
        intent = self._call("get", f"/v1/payment_intents/{_id(payment_intent_id)}")
        return objects.payment_intent(intent)

    def list_payment_intents(self) -> list[PaymentIntentInfo]:
        """Every PaymentIntent, for reconciliation."""
        return self._all(
            lambda: self._client.v1.payment_intents.list(params={"limit": _PAGE_SIZE}),
            objects.payment_intent,
        )

    def retrieve_charge(self, charge_id: str) -> ChargeInfo:
        return objects.charge(self._call("get", f"/v1/charges/{_id(charge_id)}"))

    # --- Refunds --------------------------------------------------------------------------

    def create_refund(
        self,
        *,
        payment_intent_id: str,
        amount: Money,
        reason: str | None,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> RefundInfo:
        """Refund part or all of a payment. Stripe refuses (``StripeRequestRefused``) a refund
        that would exceed what is left of the charge. ``reason`` is one of Stripe's
        (``duplicate``, ``fraudulent``, ``requested_by_customer``) or None."""
        params: RefundCreateParams = {
            "payment_intent": payment_intent_id,
            "amount": amount.amount,
            "metadata": dict(metadata),
        }
        if reason is not None:
            params["reason"] = reason
        options = _options(idempotency_key)
        return objects.refund(self._call("post", "/v1/refunds", params, options))

    def list_refunds(self, payment_intent_id: str | None = None) -> list[RefundInfo]:
        params: RefundListParams = {"limit": _PAGE_SIZE}
        if payment_intent_id is not None:
            params["payment_intent"] = payment_intent_id
        return self._all(lambda: self._client.v1.refunds.list(params=params), objects.refund)

    # --- Connect payouts ------------------------------------------------------------------

    def create_transfer(
        self,
        *,
        amount: Money,
        destination: str,
        source_transaction: str | None,
        transfer_group: str | None,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> TransferInfo:
        """Move money from the platform to a connected account. With ``source_transaction``
        (the charge) it succeeds even before the charge's funds are available."""
        params: TransferCreateParams = {
            "amount": amount.amount,
            "currency": amount.currency.lower(),
            "destination": destination,
            "metadata": dict(metadata),
        }
        if source_transaction is not None:
            params["source_transaction"] = source_transaction
        if transfer_group is not None:
            params["transfer_group"] = transfer_group
        options = _options(idempotency_key)
        return objects.transfer(self._call("post", "/v1/transfers", params, options))

    def list_transfers(self, transfer_group: str | None = None) -> list[TransferInfo]:
        params: TransferListParams = {"limit": _PAGE_SIZE}
        if transfer_group is not None:
            params["transfer_group"] = transfer_group
        return self._all(lambda: self._client.v1.transfers.list(params=params), objects.transfer)

    def create_transfer_reversal(
        self, transfer_id: str, *, amount: Money, idempotency_key: str
    ) -> ReversalInfo:
        """Take money back from a connected account (only while it has the balance)."""
        options = _options(idempotency_key)
        reversal = self._call(
            "post",
            f"/v1/transfers/{_id(transfer_id)}/reversals",
            {"amount": amount.amount},
            options,
        )
        return objects.transfer_reversal(reversal)

    def retrieve_account(self, account_id: str) -> AccountInfo:
        return objects.account(self._call("get", f"/v1/accounts/{_id(account_id)}"))

    # --- helpers --------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        options: stripe.RequestOptions | None = None,
    ) -> dict[str, Any]:
        """One API call through the SDK's requestor (its HTTP client, retries, headers and
        error classes), answered as the plain JSON dict the parsers read. The typed resource
        methods would build a ``StripeObject`` tree only for us to turn it back into a dict:
        that round trip was most of the SDK's CPU per call."""
        with stripe_errors():
            response = self._client.raw_request(method, path, **(params or {}), **(options or {}))
            body = response.data
        if not isinstance(body, dict):
            raise StripeUnexpectedResponse(f"{method.upper()} {path}: not a JSON object")
        return body

    def _all(
        self,
        first_page: Callable[[], stripe.ListObject[Any]],
        parse: Callable[[dict[str, Any]], T],
    ) -> list[T]:
        """Every item of a list endpoint: the SDK fetches the following pages as we iterate."""
        with stripe_errors():
            items: Iterable[Any] = first_page().auto_paging_iter()
            return [parse(_plain(item)) for item in items]

"""Stripe failures as typed outcomes: callers decide on ``retryable``, never on SDK classes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import stripe


class StripeGatewayError(Exception):
    """Base of every Stripe outcome that is not a result."""

    retryable: bool = False

    def __init__(
        self, message: str, *, http_status: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.request_id = request_id


class StripeTransientError(StripeGatewayError):
    """Network failure, timeout, 5xx, rate limit or 409 conflict: the same call may succeed later
    (with the same idempotency key, so a retry never does the thing twice)."""

    retryable = True


class StripeRequestRefused(StripeGatewayError):
    """Stripe refused the request for good (invalid parameters, missing resource, over-refund,
    idempotency key reused with other parameters...): retrying cannot help."""

    def __init__(
        self,
        code: str | None,
        message: str,
        param: str | None = None,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status, request_id=request_id)
        self.code = code
        self.param = param


class CardDeclined(StripeGatewayError):
    """The card was declined (402 ``card_error``)."""

    def __init__(
        self,
        decline_code: str | None,
        message: str,
        *,
        code: str | None = "card_declined",
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status, request_id=request_id)
        self.decline_code = decline_code
        self.code = code


class StripeAuthError(StripeGatewayError):
    """The API key is wrong or lacks permission: a configuration problem, not retryable."""


class StripeUnexpectedResponse(StripeGatewayError):
    """A Stripe answer lacks a field this project relies on (API version drift or a bug)."""


def _error_body(error: stripe.StripeError) -> dict[str, Any]:
    body = error.json_body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return cast(dict[str, Any], body["error"])
    return {}


def translate(error: stripe.StripeError) -> StripeGatewayError:
    """The typed outcome for an SDK exception (the SDK has already done its own retries)."""
    body = _error_body(error)
    message = str(body.get("message") or error.user_message or type(error).__name__)
    status = error.http_status
    context: dict[str, Any] = {"http_status": status, "request_id": error.request_id}
    if isinstance(error, stripe.CardError):
        return CardDeclined(body.get("decline_code"), message, code=error.code, **context)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return StripeAuthError(message, **context)
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return StripeTransientError(message, **context)
    # 409 (a concurrent request with the same key, a lock) and 5xx are worth another try;
    # the SDK maps 409 to APIError, so decide on the status rather than the class.
    if status is None or status >= 500 or status in (409, 429):
        return StripeTransientError(message, **context)
    code = body.get("code") or error.code
    if isinstance(error, stripe.IdempotencyError):
        code = code or "idempotency_error"
    return StripeRequestRefused(code, message, body.get("param"), **context)


@contextmanager
def stripe_errors() -> Iterator[None]:
    """Run SDK calls inside this to see only typed gateway errors."""
    try:
        yield
    except stripe.StripeError as error:
        raise translate(error) from error

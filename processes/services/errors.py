"""Typed refusals of the service layer; the API maps each to a problem document."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    title = "Bad Request"
    retry_after: int | None = None  # seconds, sent as Retry-After


class NotFound(ServiceError):
    status = 404
    title = "Not Found"


class Unprocessable(ServiceError):
    status = 422
    title = "Unprocessable"


class SlotTaken(ServiceError):
    status = 409
    title = "Slot unavailable"

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PaymentMismatch(ServiceError):
    status = 409
    title = "Payment does not match the booking"


class UpstreamUnavailable(ServiceError):
    """Transient: the same request (same Idempotency-Key) may succeed shortly."""

    status = 503
    title = "Payment or calendar provider unavailable"
    retry_after = 5


class UpstreamRefused(ServiceError):
    """The provider refused our request for good (a bug or a configuration problem)."""

    status = 502
    title = "Payment or calendar provider refused the request"


class CheckoutClosed(ServiceError):
    """The checkout of this Idempotency-Key expired or was abandoned: start another."""

    status = 409
    title = "Checkout no longer available"


class IdempotencyKeyReused(ServiceError):
    """The key names an earlier request with a different body (IETF Idempotency-Key draft: 422)."""

    status = 422
    title = "Idempotency-Key reused"


class TooManyOpenCheckouts(ServiceError):
    """The caller already has the most open (unpaid, unexpired) checkouts allowed."""

    status = 429
    title = "Too many open checkouts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

"""Typed refusals of the service layer; the API maps each to a problem document."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    title = "Bad Request"


class NotFound(ServiceError):
    status = 404
    title = "Not Found"


class Unprocessable(ServiceError):
    status = 422
    title = "Unprocessable"


class SlotTaken(ServiceError):
    status = 409
    title = "Slot unavailable"


class PaymentMismatch(ServiceError):
    status = 409
    title = "Payment does not match the booking"


class UpstreamUnavailable(ServiceError):
    status = 503
    title = "Payment or calendar provider unavailable"


class IdempotencyKeyReused(ServiceError):
    """The key names an earlier request with a different body (IETF Idempotency-Key draft: 422)."""

    status = 422
    title = "Idempotency-Key reused"

"""Stripe-shaped API errors: ``{"error": {"type", "code", "message", "param", ...}}``."""

from __future__ import annotations

from typing import Any

DOCS = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """An error the emulator answers with, in Stripe's body shape and HTTP status.

    ``saved`` is False for errors found while checking the parameters, before the endpoint
    began executing: Stripe does not store those under an Idempotency-Key, so a client may
    fix its request and retry with the same key.
    """

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
        saved: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}
        self.saved = saved

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOCS + self.code.replace("_", "-")
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        error.update(self.extra)
        return {"error": error}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> StripeError:
    """A refusal found while executing (saved under the Idempotency-Key)."""
    return StripeError(status, "invalid_request_error", message, code=code, param=param)


def param_error(message: str, param: str | None, *, code: str | None = None) -> StripeError:
    """A refusal of the parameters themselves, before execution (not saved)."""
    return StripeError(400, "invalid_request_error", message, code=code, param=param, saved=False)


def unknown_parameter(param: str) -> StripeError:
    return param_error(f"Received unknown parameter: {param}", param, code="parameter_unknown")


def missing_parameter(param: str) -> StripeError:
    return param_error(f"Missing required param: {param}.", param, code="parameter_missing")


def resource_missing(kind: str, object_id: str, param: str, *, status: int = 404) -> StripeError:
    """404 for the object named by the URL; 400 for an object a parameter refers to."""
    return StripeError(
        status,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def authentication_error(message: str) -> StripeError:
    return StripeError(401, "invalid_request_error", message, saved=False)


def idempotency_error(message: str) -> StripeError:
    return StripeError(400, "idempotency_error", message, saved=False)


def card_error(
    message: str, code: str, decline_code: str | None = None, extra: dict[str, Any] | None = None
) -> StripeError:
    return StripeError(
        402, "card_error", message, code=code, decline_code=decline_code, extra=extra
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        "invalid_request_error",
        f"Unrecognized request URL ({method}: {path}). The sandbox emulates only part of "
        "Stripe's API: see sandbox/README.md.",
        saved=False,
    )

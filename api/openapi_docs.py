"""The API's OpenAPI document, in one place: the problem+json schema, error responses for route
decorators, stable operation ids and examples.

A route documents the errors it can answer with a small hunk on its decorator::

    @router.get("/bookings/{booking_id}", responses=responses(404))

and ``install_openapi`` adds what every route shares: 401 wherever a Bearer token is required,
400 (not JSON) and 413 wherever there is a body, FastAPI's 422 rewritten as problem+json, and a
``default`` problem+json response so a status nobody documented yet is still typed.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from api.problems import PROBLEM_JSON

PROBLEM_REF = "#/components/schemas/Problem"


class FieldError(BaseModel):
    field: str = Field(description="The offending field as a dotted path, e.g. attendee.email")
    loc: list[str | int] = Field(description="Where it is: body, query, path or header, then keys")
    msg: str = Field(description="What is wrong with it, in words")


class Problem(BaseModel):
    """An RFC 9457 problem document: every error the API answers has this shape."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem; about:blank if none")
    title: str = Field(description="A short summary of the kind of problem")
    status: int = Field(description="The HTTP status code")
    detail: str | None = Field(None, description="What happened, for a person to read")
    code: str | None = Field(None, description="A machine-readable code, where there is one")
    errors: list[FieldError] | None = Field(
        None, description="For 422 validation errors: each field that was refused"
    )


# Each status: its description and an example problem document.
_STATUS: dict[int, tuple[str, str, str]] = {
    400: ("Bad Request", "The request cannot be processed as sent.", "Bad Request"),
    401: (
        "No valid credentials",
        "A Bearer token is required.",
        "Unauthorized",
    ),
    403: ("The caller's role may not do this", "Your role may not do this.", "Forbidden"),
    404: ("No such resource, or not the caller's", "no such booking", "Not Found"),
    409: (
        "Conflicts with the current state (slot taken, payment mismatch, cannot cancel)",
        "that time is not a free slot of this event type",
        "Slot unavailable",
    ),
    413: (
        "The body is larger than 64 KiB",
        "request bodies are limited to 65536 bytes",
        "Content Too Large",
    ),
    422: (
        "The request did not validate; `errors` names each field",
        "attendee.email: value is not a valid email address",
        "Invalid request",
    ),
    429: ("Too many requests; retry after the Retry-After header", "Slow down.", "Too Many"),
    500: ("An unexpected error", "An unexpected error occurred.", "Internal Server Error"),
    503: (
        "A dependency (database, Stripe, Cal.com) is unavailable; retry later",
        "Cal.com could not list slots",
        "Service Unavailable",
    ),
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    summary, detail, title = _STATUS.get(status, ("Error", "An error occurred.", "Error"))
    example: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if status == 422:
        example["errors"] = [
            {
                "field": "attendee.email",
                "loc": ["body", "attendee", "email"],
                "msg": "value is not a valid email address",
            }
        ]
    return {
        "description": description or summary,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}, "example": example}},
    }


def responses(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """Problem+json responses for a route decorator: ``responses(404, 409)``.

    ``described`` overrides a description by status, e.g. ``responses(404, s404="no booking")``.
    """
    return {status: problem_response(status, described.get(f"s{status}")) for status in statuses}


# -- the document as a whole ----------------------------------------------------------------

EXAMPLES: dict[str, dict[str, Any]] = {
    "CheckoutSessionRequest": {
        "eventTypeId": 1001,
        "start": "2026-12-02T09:00:00Z",
        "attendee": {
            "name": "Alan Turing",
            "email": "alan@example.com",
            "timeZone": "Europe/London",
        },
    },
    "CheckoutSessionResponse": {
        "client_secret": "cs_test_a1b2c3_secret_d4e5f6",
        "checkoutSessionId": "cs_test_a1b2c3",
        "bookingId": "7c0f5c1e-4a9b-4bd1-9a51-3f0d3c4e2b10",
        "amount": 7500,
        "currency": "usd",
        "expiresAt": "2026-12-01T20:45:00Z",
    },
    "ConfirmRequest": {"checkoutSessionId": "cs_test_a1b2c3"},
    "ConfirmResponse": {
        "success": True,
        "bookingId": "7c0f5c1e-4a9b-4bd1-9a51-3f0d3c4e2b10",
        "status": "ACCEPTED",
        "error": None,
    },
    "SlotView": {"start": "2026-12-02T09:00:00Z", "end": "2026-12-02T09:30:00Z"},
    "CancelRequest": {"reason": "I can no longer make it"},
}


# OpenAPI links: what a client (and schemathesis's stateful run) can do next with an answer.
_BOOKING = {"booking_id": "$response.body#/bookingId"}
LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("listEventTypes", "200"): {
        "ListSlots": {
            "operationId": "listSlots",
            "parameters": {"event_type_id": "$response.body#/0/id"},
        },
        "CreateCheckoutSession": {
            "operationId": "createCheckoutSession",
            "requestBody": {"eventTypeId": "$response.body#/0/id"},
        },
    },
    ("createCheckoutSession", "201"): {
        "GetBooking": {"operationId": "getBooking", "parameters": _BOOKING},
        "ConfirmBooking": {
            "operationId": "confirmBooking",
            "requestBody": {"checkoutSessionId": "$response.body#/checkoutSessionId"},
        },
        "CancelBooking": {"operationId": "cancelBooking", "parameters": _BOOKING},
        "BookingHistory": {"operationId": "bookingHistory", "parameters": _BOOKING},
    },
    ("confirmBooking", "200"): {
        "GetBooking": {"operationId": "getBooking", "parameters": _BOOKING},
        "CancelBooking": {"operationId": "cancelBooking", "parameters": _BOOKING},
    },
}


def operation_id(route: APIRoute) -> str:
    """camelCase of the handler's name (``create_checkout_session`` -> ``createCheckoutSession``):
    stable across path changes, and the name the generated client's callers see."""
    head, *rest = route.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` document problem+json errors for every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                servers=app.servers,
            )
            app.openapi_schema = complete(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for optional in ("detail", "code", "errors"):  # absent when there is none, never null
        problem["properties"][optional].pop("default", None)
        problem["properties"][optional] = _not_null(problem["properties"][optional])
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem
    for name, example in EXAMPLES.items():
        if name in components:
            components[name]["examples"] = [example]
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            _complete_operation(operation)
    return schema


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    variants = [v for v in schema.pop("anyOf", []) if v.get("type") != "null"]
    return {**schema, **variants[0]} if len(variants) == 1 else schema


def _complete_operation(operation: dict[str, Any]) -> None:
    answers: dict[str, Any] = operation.setdefault("responses", {})
    for status, answer in answers.items():
        links = LINKS.get((operation.get("operationId", ""), status))
        if links:
            answer["links"] = links
    if "422" in answers:
        answers["422"] = problem_response(422)
    if operation.get("security"):
        answers.setdefault("401", problem_response(401))
    if "requestBody" in operation:
        answers.setdefault("400", problem_response(400, "The body is not JSON"))
        answers.setdefault("413", problem_response(413))
    answers["default"] = problem_response(500, "Any other error, as a problem document")
    operation["responses"] = dict(sorted(answers.items(), key=lambda item: _order(item[0])))


def _order(status: str) -> tuple[int, str]:
    return (int(status), "") if re.fullmatch(r"\d+", status) else (1000, status)


# -- the operations' own documents -----------------------------------------------------------

_READY = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ready", "lagging", "unavailable"]},
        "head": {"type": "integer"},
        "lag": {"type": "object", "additionalProperties": {"type": "integer"}},
        "error": {"type": "string"},
    },
    "required": ["status"],
}
READYZ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Ready: the database answers and every read model is close behind",
        "content": {"application/json": {"schema": _READY}},
    },
    503: {
        "description": "Not ready: the database is unreachable or a read model lags",
        "content": {"application/json": {"schema": _READY}},
    },
}
METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus text exposition format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


def document() -> dict[str, Any]:
    """The OpenAPI document without a running service: nothing in it depends on the wiring."""
    from api.app import create_app

    return create_app(None).openapi()  # type: ignore[arg-type]


if __name__ == "__main__":  # python -m api.openapi_docs > openapi.json
    import json
    import sys

    json.dump(document(), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")

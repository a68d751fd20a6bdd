"""Route classes that give every /v2 response Cal.com's envelope, auth and version checks.

FastAPI's exception handlers belong to the app, which the sandbox shares with the Stripe
emulator; a custom ``APIRoute`` keeps Cal.com's error shape on Cal.com's routes only, and runs
the auth and ``cal-api-version`` checks before the body is even parsed, as Cal.com's guards do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from sandbox.calcom.envelopes import CalcomError, bad_request, error_envelope, unauthorized

logger = logging.getLogger(__name__)

SLOTS_VERSION = "2024-09-04"
BOOKINGS_VERSION = "2024-08-13"
# Which cal-api-version each family of endpoints is emulated at.
VERSIONS = (("/v2/slots", SLOTS_VERSION), ("/v2/bookings", BOOKINGS_VERSION))

NO_CREDENTIALS = (
    "ApiAuthStrategy - No authentication method provided. Either pass an API key as 'Bearer' "
    "header or OAuth client credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers"
)
INVALID_KEY = "ApiAuthStrategy - api key - Your api key is not valid"

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def required_version(path: str) -> str | None:
    for prefix, version in VERSIONS:
        if path == prefix or path.startswith(prefix + "/"):
            return version
    return None


def check_api_key(authorization: str | None, expected: str | None) -> None:
    """``Authorization: Bearer cal_...``; any ``cal_`` key unless one was configured."""
    if not authorization:
        raise unauthorized(NO_CREDENTIALS)
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith("cal_") or len(key) <= len("cal_"):
        raise unauthorized(INVALID_KEY)
    if expected is not None and key != expected:
        raise unauthorized(INVALID_KEY)


def check_version(sent: str | None, required: str) -> None:
    if sent is None:
        raise bad_request(
            f"Missing cal-api-version header: this endpoint needs cal-api-version: {required}"
        )
    if sent.strip() != required:
        raise bad_request(
            f"Unsupported cal-api-version {sent!r}: this endpoint needs cal-api-version: {required}"
        )


def describe_validation(errors: Sequence[Any]) -> str:
    """One readable sentence naming each offending field, e.g. ``attendee.email: ...``."""
    parts: list[str] = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in ("body", "query", "path", "header"):
            location = location[1:]
        if error.get("type") == "json_invalid":
            reason = error.get("ctx", {}).get("error", "malformed JSON")
            return f"Request body is not valid JSON: {reason}"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{'.'.join(location) or 'body'}: {message}")
    return "; ".join(parts) or "Invalid request"


def _render(error: CalcomError, request: Request, now: datetime) -> JSONResponse:
    return JSONResponse(error_envelope(error, request.url.path, now), status_code=error.status)


def calcom_route_class(
    now: Callable[[], datetime], api_key: str | None, *, guarded: bool = True
) -> type[APIRoute]:
    """An ``APIRoute`` that renders Cal.com's envelopes; ``guarded`` adds auth and version."""

    class CalcomRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()
            version = required_version(self.path)

            async def handle(request: Request) -> Response:
                try:
                    if guarded:
                        check_api_key(request.headers.get("authorization"), api_key)
                        if version is not None:
                            check_version(request.headers.get("cal-api-version"), version)
                    return await handler(request)
                except CalcomError as error:
                    return _render(error, request, now())
                except RequestValidationError as error:
                    refusal = bad_request(describe_validation(error.errors()))
                    return _render(refusal, request, now())
                except HTTPException as error:
                    refusal = CalcomError(error.status_code, str(error.detail))
                    return _render(refusal, request, now())
                except Exception:
                    logger.exception("Cal.com emulator failed on %s", request.url.path)
                    failure = CalcomError(500, "Something went wrong. Please try again later.")
                    return _render(failure, request, now())

            return handle

    return CalcomRoute

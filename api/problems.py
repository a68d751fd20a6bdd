"""RFC 9457 problem details: every error the API returns is ``application/problem+json``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("mentorpay.api")


class Problem(Exception):
    """Raise from an endpoint to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.headers = headers
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.extensions = extensions


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({key: value for key, value in extensions.items() if value is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only field, location and message: echoing the rejected input could leak what was sent.
    errors = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        names = loc[1:] if loc and loc[0] in _LOCATIONS else loc
        field = ".".join(str(part) for part in names) or (str(loc[0]) if loc else "")
        errors.append({"field": field, "loc": loc, "msg": error.get("msg", "")})
    return errors


def _validation_detail(errors: list[dict[str, Any]]) -> str:
    """The first refused field in words, so a client that shows only ``detail`` still says
    which field to fix."""
    if not errors:
        return "The request did not validate."
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{first['field']}: {first['msg']}{more}" if first["field"] else first["msg"] + more


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.title, exc.detail, exc.type, exc.headers, **exc.extensions
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            405: "Method Not Allowed",
            413: "Content Too Large",
        }.get(exc.status_code, "Error")
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, title, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        return problem_response(422, "Invalid request", _validation_detail(errors), errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(500, "Internal Server Error", "An unexpected error occurred.")

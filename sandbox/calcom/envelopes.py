"""Cal.com's success and error envelopes, and the exception that produces the latter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.calcom.times import iso_utc

# Cal.com (NestJS) names the error after the exception class that the HTTP status maps to.
_CODES = {
    400: "BadRequestException",
    401: "UnauthorizedException",
    403: "ForbiddenException",
    404: "NotFoundException",
    409: "ConflictException",
    422: "UnprocessableEntityException",
    500: "InternalServerErrorException",
}


class CalcomError(Exception):
    """A refusal with Cal.com's status code and message; rendered as the error envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def code(self) -> str:
        return _CODES.get(self.status, "HttpException")


def bad_request(message: str) -> CalcomError:
    return CalcomError(400, message)


def unauthorized(message: str) -> CalcomError:
    return CalcomError(401, message)


def not_found(message: str) -> CalcomError:
    return CalcomError(404, message)


def unprocessable(message: str) -> CalcomError:
    return CalcomError(422, message)


def error_envelope(error: CalcomError, path: str, now: datetime) -> dict[str, Any]:
    return {
        "status": "error",
        "timestamp": iso_utc(now),
        "path": path,
        "error": {"code": error.code, "message": error.message},
    }


def success(data: Any, **extra: Any) -> dict[str, Any]:
    return {"status": "success", "data": data, **extra}

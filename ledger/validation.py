"""Up-front checks of command input. Each returns the normalised value or raises
``LedgerValidationError``, so a command decides only on well-formed data."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache
from uuid import UUID
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email

from ledger.errors import LedgerValidationError
from ledger.money import Money

MAX_TEXT_LENGTH = 1000
_MULTILINE_WHITESPACE = frozenset("\n\r\t")


def require_uuid(value: object, field: str) -> UUID:
    if not isinstance(value, UUID):
        raise LedgerValidationError(f"{field} must be a UUID, not {type(value).__name__}")
    return value


def require_text(
    value: object, field: str, *, max_length: int = MAX_TEXT_LENGTH, multiline: bool = False
) -> str:
    """A non-blank string of bounded length (ids, names, reasons) that every store can keep:
    no NUL or other control characters (line breaks and tabs only if ``multiline``), no lone
    surrogates."""
    if not isinstance(value, str):
        raise LedgerValidationError(f"{field} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise LedgerValidationError(f"{field} must not be empty")
    if len(value) > max_length:
        raise LedgerValidationError(f"{field} is longer than {max_length} characters")
    for index, char in enumerate(value):
        category = unicodedata.category(char)
        if category == "Cs":
            raise LedgerValidationError(f"{field} has a lone surrogate at character {index}")
        if category == "Cc" and not (multiline and char in _MULTILINE_WHITESPACE):
            raise LedgerValidationError(
                f"{field} has control character U+{ord(char):04X} at character {index}"
            )
    return value


def require_reason(value: object, field: str) -> str:
    """Free text (reasons, error messages): as ``require_text``, line breaks allowed."""
    return require_text(value, field, multiline=True)


def require_optional_text(value: object, field: str) -> str | None:
    return None if value is None else require_text(value, field)


def require_int(value: object, field: str, *, minimum: int) -> int:
    if type(value) is not int:  # not bool, not float
        raise LedgerValidationError(f"{field} must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise LedgerValidationError(f"{field} must be at least {minimum}, got {value}")
    return value


def require_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise LedgerValidationError(f"{field} must be true or false")
    return value


def require_utc(value: object, field: str) -> datetime:
    """A timezone-aware datetime, converted to UTC; naive datetimes are ambiguous."""
    if not isinstance(value, datetime):
        raise LedgerValidationError(f"{field} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise LedgerValidationError(f"{field} must be timezone-aware")
    return value.astimezone(UTC)


def require_hold(value: object, field: str) -> timedelta:
    if not isinstance(value, timedelta):
        raise LedgerValidationError(f"{field} must be a timedelta")
    if value < timedelta(0):
        raise LedgerValidationError(f"{field} must not be negative")
    return value


def require_money(value: object, field: str, *, allow_zero: bool = False) -> Money:
    if not isinstance(value, Money):
        raise LedgerValidationError(f"{field} must be Money, not {type(value).__name__}")
    if value.amount == 0 and not allow_zero:
        raise LedgerValidationError(f"{field} must be more than zero")
    return value


def require_email(value: object, field: str) -> str:
    """The normalised address; deliverability is not checked (no I/O in the domain)."""
    address = require_text(value, field, max_length=320)
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise LedgerValidationError(f"{field} is not a valid email address: {error}") from None


def require_time_zone(value: object, field: str) -> str:
    """An IANA time zone name that this system's tz database knows."""
    name = require_text(value, field, max_length=64)
    # A lookup in the known names, not ZoneInfo(name): that would also try odd file paths.
    if name not in _known_time_zones():
        raise LedgerValidationError(f"{field} is not an IANA time zone: {name!r}")
    return name


@cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def require_choice(value: object, field: str, choices: frozenset[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise LedgerValidationError(f"{field} must be one of {sorted(choices)}, got {value!r}")
    return value

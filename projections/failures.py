"""One place that decides whether a failure is worth another try.

Every worker (read-model followers, the work pool of the process managers) asks ``classify``:

- **transient**: the same call may succeed later (network, timeouts, 5xx, 429, lock timeouts,
  a lost optimistic-concurrency race, a database that is briefly away). Retried with backoff,
  a bounded number of times, without blocking other work.
- **permanent**: the same input fails the same way every time (validation, a domain refusal,
  a 4xx that is not a rate limit, data the database cannot store, a bug). Never retried: the
  work is parked, or the read model halts, where operations see it.

An exception may decide for itself with a boolean ``retryable`` attribute (the gateways' typed
errors and ``StoreError`` do); otherwise its type decides. Unknown exceptions count as
transient, so they get the bounded retries before they are parked.
"""

from __future__ import annotations

import enum
import sqlite3

from eventsourcing import persistence as es
from eventsourcing.utils import TopicError

from ledger.errors import LedgerError


class Failure(enum.StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


_PERMANENT_TYPES: tuple[type[BaseException], ...] = (
    LedgerError,  # validation and domain refusals are deterministic
    es.DataError,
    es.ProgrammingError,
    es.NotSupportedError,
    es.MapperDeserialisationError,
    TopicError,
    sqlite3.DataError,
    sqlite3.ProgrammingError,
    ValueError,  # bad data or a bug: the same input fails again
    TypeError,
    KeyError,
    AttributeError,
    LookupError,
    AssertionError,
    NotImplementedError,
    UnicodeError,
    ArithmeticError,  # e.g. an integer too large for the column
)
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    es.IntegrityError,  # an optimistic-concurrency race lost beyond the command's own retries
    es.OperationalError,
    es.InterfaceError,
    es.ConnectionUnavailableError,
    sqlite3.OperationalError,  # "database is locked"
    ConnectionError,
    TimeoutError,
    OSError,
)


def classify(error: BaseException) -> Failure:
    """Transient or permanent; see the module's docstring for the rules."""
    retryable = getattr(error, "retryable", None)
    if isinstance(retryable, bool):
        return Failure.TRANSIENT if retryable else Failure.PERMANENT
    # Transient types first: OSError subclasses such as ConnectionError are not ValueErrors,
    # but UnicodeError is a ValueError, so the order of the two checks matters only there.
    if isinstance(error, _TRANSIENT_TYPES) and not isinstance(error, UnicodeError):
        return Failure.TRANSIENT
    if isinstance(error, _PERMANENT_TYPES):
        return Failure.PERMANENT
    return Failure.TRANSIENT


def is_permanent(error: BaseException) -> bool:
    return classify(error) is Failure.PERMANENT


def describe(error: BaseException, limit: int = 2000) -> str:
    """``Type: message``, bounded, with NUL and other control characters made visible, so the
    text can always be stored and shown (the error may be about exactly such a character)."""
    text = f"{type(error).__name__}: {error}"
    cleaned = "".join(
        ch
        if ch in "\n\t" or (ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF)
        else f"\\x{ord(ch):02x}"
        if ord(ch) < 0x100
        else f"\\u{ord(ch):04x}"
        for ch in text
    )
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"

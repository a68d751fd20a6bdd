"""Typed errors of the ledger, each with a stable ``code`` for problem+json responses."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    code = "ledger_error"


class LedgerValidationError(LedgerError, ValueError):
    """A command's input is malformed; nothing was recorded."""

    code = "invalid_input"


class CurrencyMismatch(LedgerValidationError):
    """Two amounts that must share a currency do not."""

    code = "currency_mismatch"


class InvalidTransition(LedgerError):
    """The command is not allowed in the aggregate's current status."""

    code = "invalid_transition"


class BookingNotFound(LedgerError, LookupError):
    code = "booking_not_found"


class PaymentNotFound(LedgerError, LookupError):
    code = "payment_not_found"


class RefundExceedsPayment(LedgerError):
    """Refunds would add up to more than was paid."""

    code = "refund_exceeds_payment"


class RefundRequiresReversal(LedgerError):
    """The mentor's share has left (or is leaving) with a transfer: reverse it first."""

    code = "refund_requires_reversal"


class PayoutNotAllowed(LedgerError):
    """The payment may not be paid out (yet, or at all)."""

    code = "payout_not_allowed"


class ConflictingRecord(LedgerError):
    """The same identifier was already recorded with different data."""

    code = "conflicting_record"

"""The event-sourced ledger: bookings, payments, money and the chart of accounts."""

from ledger.accounts import (
    BOOKINGS_CLEARING,
    PLATFORM_FEES,
    STRIPE_BALANCE,
    Posting,
    balances,
    is_balanced,
    mentor_payable,
    postings_for,
)
from ledger.application import Ledger, PaymentRecorded
from ledger.attention import Attention
from ledger.booking import Booking, BookingRequest
from ledger.checkout_intent import CheckoutFacts, CheckoutIntent, intent_id_for
from ledger.currencies import ISO_4217_CURRENCIES, ZERO_DECIMAL_CURRENCIES, minor_unit_exponent
from ledger.errors import (
    BookingNotFound,
    ConflictingRecord,
    CurrencyMismatch,
    InvalidTransition,
    LedgerError,
    LedgerValidationError,
    PaymentNotFound,
    PayoutNotAllowed,
    RefundExceedsPayment,
    RefundRequiresReversal,
)
from ledger.money import Money
from ledger.payment import Payment, RefundSplit, split_refund
from ledger.statuses import CANCELLERS, BookingStatus, Disposition, PaymentStatus

__all__ = [
    "BOOKINGS_CLEARING",
    "CANCELLERS",
    "ISO_4217_CURRENCIES",
    "PLATFORM_FEES",
    "STRIPE_BALANCE",
    "ZERO_DECIMAL_CURRENCIES",
    "Attention",
    "Booking",
    "BookingNotFound",
    "BookingRequest",
    "BookingStatus",
    "CheckoutFacts",
    "CheckoutIntent",
    "ConflictingRecord",
    "CurrencyMismatch",
    "Disposition",
    "InvalidTransition",
    "Ledger",
    "LedgerError",
    "LedgerValidationError",
    "Money",
    "Payment",
    "PaymentNotFound",
    "PaymentRecorded",
    "PaymentStatus",
    "PayoutNotAllowed",
    "Posting",
    "RefundExceedsPayment",
    "RefundRequiresReversal",
    "RefundSplit",
    "balances",
    "intent_id_for",
    "is_balanced",
    "mentor_payable",
    "minor_unit_exponent",
    "postings_for",
    "split_refund",
]

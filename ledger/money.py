"""``Money``: an integer amount in a currency's minor unit. Never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from typing import Self

from ledger.currencies import ISO_4217_CURRENCIES, ZERO_DECIMAL_CURRENCIES, minor_unit_exponent
from ledger.errors import CurrencyMismatch, LedgerValidationError

__all__ = ["ZERO_DECIMAL_CURRENCIES", "Money", "minor_unit_exponent", "normalise_currency"]

_MAJOR_AMOUNT = re.compile(r"\d{1,30}(?:\.\d{1,30})?")


def normalise_currency(currency: object) -> str:
    """The lower-case ISO 4217 code, or ``LedgerValidationError``."""
    if not isinstance(currency, str):
        raise LedgerValidationError(f"currency must be a string, not {type(currency).__name__}")
    code = currency.strip().lower()
    if code not in ISO_4217_CURRENCIES:
        raise LedgerValidationError(f"unknown currency {currency!r}")
    return code


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass, and Decimal/float amounts are exactly what this type prevents.
        if type(self.amount) is not int:
            raise LedgerValidationError(
                f"amount must be an integer of minor units, not {type(self.amount).__name__}"
            )
        if self.amount < 0:
            raise LedgerValidationError(f"amount must not be negative: {self.amount}")
        object.__setattr__(self, "currency", normalise_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(0, currency)

    @classmethod
    def from_major(cls, text: str, currency: str) -> Self:
        """Parse "75.00" (major units, up to 30 digits) exactly; more decimals than the
        currency has is an error."""
        code = normalise_currency(currency)
        if not isinstance(text, str) or not _MAJOR_AMOUNT.fullmatch(text.strip()):
            raise LedgerValidationError(f"not a plain non-negative decimal amount: {text!r}")
        exponent = minor_unit_exponent(code)
        try:
            value = Decimal(text.strip())
        except InvalidOperation as error:  # pragma: no cover - the pattern already excludes it
            raise LedgerValidationError(f"not a decimal amount: {text!r}") from error
        decimals = -value.as_tuple().exponent  # type: ignore[operator]  # int: pattern bars NaN/Inf
        if decimals > exponent:
            raise LedgerValidationError(
                f"{code.upper()} has {exponent} decimal(s); {text!r} has {decimals}"
            )
        with localcontext() as context:
            # Room for 30 + 3 digits, and a loud failure rather than any silent rounding.
            context.prec = 40
            context.traps[Inexact] = True
            return cls(int(value.scaleb(exponent)), code)

    def format(self) -> str:
        """ "75.00 USD", "5000 JPY": built from integers so no rounding can creep in."""
        exponent = minor_unit_exponent(self.currency)
        code = self.currency.upper()
        if exponent == 0:
            return f"{self.amount} {code}"
        major, minor = divmod(self.amount, 10**exponent)
        return f"{major}.{minor:0{exponent}d} {code}"

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency.upper()} and {other.currency.upper()} differ")
        return other

    def __add__(self, other: object) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: object) -> Money:
        result = self.amount - self._same_currency(other).amount
        if result < 0:
            raise LedgerValidationError(f"{self.format()} minus {other} would be negative")
        return Money(result, self.currency)

    def __str__(self) -> str:
        return self.format()

"""Money: integer minor units in a known currency, exact parsing and formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import (
    ISO_4217_CURRENCIES,
    ZERO_DECIMAL_CURRENCIES,
    CurrencyMismatch,
    LedgerValidationError,
    Money,
    minor_unit_exponent,
)


@pytest.mark.parametrize("amount", [True, 75.0, Decimal("75"), "7500", None, -1])
def test_amount_must_be_a_non_negative_int(amount: object) -> None:
    with pytest.raises(LedgerValidationError):
        Money(amount, "usd")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["usx", "", "us", "XTS", "bgn", 840, None])
def test_currency_must_be_a_known_iso_code(currency: object) -> None:
    with pytest.raises(LedgerValidationError):
        Money(100, currency)  # type: ignore[arg-type]


def test_currency_is_normalised_to_lower_case() -> None:
    assert Money(100, "EUR") == Money(100, "eur")
    assert Money(100, "EUR").currency == "eur"


def test_iso_list_holds_the_currencies_people_pay_in() -> None:
    assert {"usd", "eur", "gbp", "jpy", "chf", "inr", "brl", "xcg", "sle"} <= ISO_4217_CURRENCIES
    assert "ang" not in ISO_4217_CURRENCIES  # withdrawn in 2025 for XCG


def test_zero_decimal_currencies_are_stripes_list() -> None:
    stripe_list = "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF"
    assert {code.lower() for code in stripe_list.split()} == ZERO_DECIMAL_CURRENCIES
    assert ZERO_DECIMAL_CURRENCIES <= ISO_4217_CURRENCIES


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("usd", 2), ("EUR", 2), ("jpy", 0), ("krw", 0), ("mga", 0), ("kwd", 3), ("isk", 2)],
)
def test_minor_unit_exponent_follows_stripe(currency: str, exponent: int) -> None:
    assert minor_unit_exponent(currency) == exponent


def test_minor_unit_exponent_of_an_unknown_currency_is_an_error() -> None:
    with pytest.raises(KeyError):
        minor_unit_exponent("usx")


def test_add_and_subtract_in_one_currency() -> None:
    assert Money(7500, "usd") + Money(250, "usd") == Money(7750, "usd")
    assert Money(7500, "usd") - Money(7500, "usd") == Money(0, "usd")


def test_mixing_currencies_is_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        Money(1, "usd") + Money(1, "eur")
    with pytest.raises(CurrencyMismatch):
        Money(1, "usd") - Money(1, "eur")
    with pytest.raises(TypeError):
        Money(1, "usd") + 1


def test_subtracting_below_zero_is_refused() -> None:
    with pytest.raises(LedgerValidationError):
        Money(100, "usd") - Money(101, "usd")


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(7500, "usd"), "75.00 USD"),
        (Money(5, "eur"), "0.05 EUR"),
        (Money(0, "gbp"), "0.00 GBP"),
        (Money(5000, "jpy"), "5000 JPY"),
        (Money(1234, "kwd"), "1.234 KWD"),
        (Money(10**20 + 1, "usd"), "1000000000000000000.01 USD"),
    ],
)
def test_format(money: Money, text: str) -> None:
    assert money.format() == text
    assert str(money) == text


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        ("75.00", "usd", 7500),
        ("75", "usd", 7500),
        ("75.5", "usd", 7550),
        ("0.01", "usd", 1),
        ("5000", "jpy", 5000),
        ("1.234", "kwd", 1234),
        ("123456789012345678.99", "usd", 12345678901234567899),
    ],
)
def test_from_major_is_exact(text: str, currency: str, amount: int) -> None:
    assert Money.from_major(text, currency) == Money(amount, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("75.001", "usd"),  # more decimals than the currency has
        ("5000.5", "jpy"),
        ("5000.0", "jpy"),
        ("-1.00", "usd"),
        ("1e3", "usd"),
        ("NaN", "usd"),
        ("1,00", "usd"),
        ("", "usd"),
        ("75.00", "usx"),
    ],
)
def test_from_major_rejects_what_is_not_an_exact_amount(text: str, currency: str) -> None:
    with pytest.raises(LedgerValidationError):
        Money.from_major(text, currency)


@given(
    amount=st.integers(min_value=0, max_value=10**30 - 1),
    currency=st.sampled_from(sorted(ISO_4217_CURRENCIES)),
)
def test_format_and_from_major_round_trip(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    number, code = money.format().split(" ")
    assert code == currency.upper()
    assert Money.from_major(number, code) == money

"""Currency exponents and human-readable amounts (amounts are integers in minor units)."""

from __future__ import annotations

# Stripe takes these amounts in the major unit: there is no minor unit.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


def minor_digits(currency: str) -> int:
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """``7500, "usd"`` → ``"75.00 USD"``; ``1000, "jpy"`` → ``"1,000 JPY"``."""
    digits = minor_digits(currency)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**digits)
    text = f"{major:,}" if digits == 0 else f"{major:,}.{minor:0{digits}d}"
    return f"{sign}{text} {currency.upper()}"

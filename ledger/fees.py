"""The platform's fee on a session's price."""

from __future__ import annotations

from ledger.money import Money


def platform_fee(price: Money, fee_bps: int) -> Money:
    """``fee_bps`` basis points of ``price``, rounded down to the minor unit."""
    return Money(price.amount * fee_bps // 10_000, price.currency)

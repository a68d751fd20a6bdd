"""Small typed values read from Stripe objects (shapes as in Stripe's ``fixtures3.json``).

Parsers take plain dicts (``StripeObject.to_dict()``), so they know Stripe's JSON and
nothing of the SDK's classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.money import Money
from processes.gateways.stripe_errors import StripeUnexpectedResponse
from processes.gateways.timestamps import from_unix


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    client_secret: str | None  # only on the create response: the browser mounts Checkout with it
    status: str  # open | complete | expired
    payment_status: str  # paid | unpaid | no_payment_required
    payment_intent_id: str | None  # set once the customer paid
    amount: Money
    metadata: dict[str, str]
    expires_at: datetime
    # A promotion code's discount (``total_details.amount_discount``): ``amount`` is the price
    # less it, and the PaymentIntent's amount is that too.
    amount_discount: int = 0


@dataclass(frozen=True)
class PaymentIntentInfo:
    id: str
    status: str
    amount: Money
    metadata: dict[str, str]
    latest_charge_id: str | None
    created: datetime


@dataclass(frozen=True)
class ChargeInfo:
    id: str
    amount: Money
    amount_refunded: Money
    status: str
    paid: bool
    payment_intent_id: str | None
    created: datetime  # what the ledger records as ``paid_at``


@dataclass(frozen=True)
class RefundInfo:
    id: str
    amount: Money
    status: str  # pending | succeeded | failed | canceled | requires_action
    payment_intent_id: str | None
    reason: str | None
    metadata: dict[str, str]
    created: datetime


@dataclass(frozen=True)
class TransferInfo:
    id: str
    amount: Money
    destination: str
    source_transaction: str | None
    transfer_group: str | None
    reversed: bool
    amount_reversed: Money
    metadata: dict[str, str]
    created: datetime


@dataclass(frozen=True)
class ReversalInfo:
    id: str
    amount: Money
    transfer_id: str
    created: datetime


@dataclass(frozen=True)
class AccountInfo:
    id: str
    charges_enabled: bool
    payouts_enabled: bool
    transfers_active: bool  # the ``transfers`` capability is ``active``: it can receive transfers


def _require(obj: Mapping[str, Any], key: str) -> Any:
    value = obj.get(key)
    if value is None:
        kind = obj.get("object", "object")
        raise StripeUnexpectedResponse(f"Stripe {kind} {obj.get('id')!r} has no {key!r}")
    return value


def _money(obj: Mapping[str, Any], amount_key: str = "amount") -> Money:
    amount, currency = _require(obj, amount_key), _require(obj, "currency")
    try:
        return Money(amount=int(amount), currency=str(currency))
    except ValueError as error:  # Money refuses an unknown currency or a negative amount
        message = f"Stripe {amount_key} {amount!r} {currency!r}: {error}"
        raise StripeUnexpectedResponse(message) from error


def _id_of(value: Any) -> str | None:
    """An id from a field that holds either the id or, when expanded, the object."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return str(value["id"])
    return str(value)


def _metadata(obj: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}


def checkout_session(obj: Mapping[str, Any]) -> CheckoutSession:
    return CheckoutSession(
        id=str(_require(obj, "id")),
        client_secret=obj.get("client_secret"),
        status=str(_require(obj, "status")),
        payment_status=str(_require(obj, "payment_status")),
        payment_intent_id=_id_of(obj.get("payment_intent")),
        amount=_money(obj, "amount_total"),
        metadata=_metadata(obj),
        expires_at=from_unix(int(_require(obj, "expires_at"))),
        amount_discount=int((obj.get("total_details") or {}).get("amount_discount") or 0),
    )


def payment_intent(obj: Mapping[str, Any]) -> PaymentIntentInfo:
    return PaymentIntentInfo(
        id=str(_require(obj, "id")),
        status=str(_require(obj, "status")),
        amount=_money(obj),
        metadata=_metadata(obj),
        latest_charge_id=_id_of(obj.get("latest_charge")),
        created=from_unix(int(_require(obj, "created"))),
    )


def charge(obj: Mapping[str, Any]) -> ChargeInfo:
    return ChargeInfo(
        id=str(_require(obj, "id")),
        amount=_money(obj),
        amount_refunded=_money(obj, "amount_refunded"),
        status=str(_require(obj, "status")),
        paid=bool(obj.get("paid")),
        payment_intent_id=_id_of(obj.get("payment_intent")),
        created=from_unix(int(_require(obj, "created"))),
    )


def refund(obj: Mapping[str, Any]) -> RefundInfo:
    return RefundInfo(
        id=str(_require(obj, "id")),
        amount=_money(obj),
        status=str(_require(obj, "status")),
        payment_intent_id=_id_of(obj.get("payment_intent")),
        reason=obj.get("reason"),
        metadata=_metadata(obj),
        created=from_unix(int(_require(obj, "created"))),
    )


def transfer(obj: Mapping[str, Any]) -> TransferInfo:
    return TransferInfo(
        id=str(_require(obj, "id")),
        amount=_money(obj),
        destination=str(_id_of(_require(obj, "destination"))),
        source_transaction=_id_of(obj.get("source_transaction")),
        transfer_group=obj.get("transfer_group"),
        reversed=bool(obj.get("reversed")),
        amount_reversed=_money(
            {**obj, "amount_reversed": obj.get("amount_reversed") or 0}, "amount_reversed"
        ),
        metadata=_metadata(obj),
        created=from_unix(int(_require(obj, "created"))),
    )


def transfer_reversal(obj: Mapping[str, Any]) -> ReversalInfo:
    return ReversalInfo(
        id=str(_require(obj, "id")),
        amount=_money(obj),
        transfer_id=str(_id_of(_require(obj, "transfer"))),
        created=from_unix(int(_require(obj, "created"))),
    )


def account(obj: Mapping[str, Any]) -> AccountInfo:
    capabilities = obj.get("capabilities") or {}
    return AccountInfo(
        id=str(_require(obj, "id")),
        charges_enabled=bool(obj.get("charges_enabled")),
        payouts_enabled=bool(obj.get("payouts_enabled")),
        transfers_active=capabilities.get("transfers") == "active",
    )

"""Request parameters of each endpoint, validated the way Stripe validates them.

Models forbid unknown keys, so a misspelt parameter is a 400 naming it (``param``), as on
Stripe. :func:`validate` turns pydantic's first error into Stripe's error shape, with the
parameter in bracket form (``line_items[0][price_data][currency]``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from sandbox.stripe.errors import StripeError, missing_parameter, param_error, unknown_parameter
from sandbox.stripe.formcodec import as_list

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_INTEGER = re.compile(r"-?\d{1,15}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _form_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    raise PydanticCustomError(
        "parameter_invalid_integer", "Invalid integer: {value}", {"value": value}
    )


def _form_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise PydanticCustomError(
        "stripe_invalid_boolean", "Invalid boolean: {value}", {"value": value}
    )


def _currency(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise PydanticCustomError(
            "stripe_invalid_currency",
            "Invalid currency: {value}. Use a three-letter ISO code.",
            {"value": value},
        )
    return value.lower()


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise PydanticCustomError(
            "stripe_invalid_country",
            "Invalid country: {value}. Use a two-letter ISO code.",
            {"value": value},
        )
    return value.upper()


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise PydanticCustomError(
            "email_invalid", "Invalid email address: {value}", {"value": value}
        )
    return value


def _metadata(value: dict[str, str]) -> dict[str, str]:
    # Stripe's limits; an empty value means "unset", so a new object simply lacks the key.
    if len(value) > 50:
        raise PydanticCustomError("stripe_metadata", "Metadata can have at most 50 keys.")
    for key, item in value.items():
        if len(key) > 40:
            raise PydanticCustomError(
                "stripe_metadata", "Metadata keys can be at most 40 characters: {key}", {"key": key}
            )
        if len(item) > 500:
            raise PydanticCustomError(
                "stripe_metadata",
                "Metadata values can be at most 500 characters (key {key}).",
                {"key": key},
            )
    return {key: item for key, item in value.items() if item != ""}


FormInt = Annotated[int, BeforeValidator(_form_int)]
FormBool = Annotated[bool, BeforeValidator(_form_bool)]
FormList = Annotated[list[T], BeforeValidator(as_list)]
Currency = Annotated[str, AfterValidator(_currency)]
Country = Annotated[str, AfterValidator(_country)]
Email = Annotated[str, Field(max_length=800), AfterValidator(_email)]
Metadata = Annotated[dict[str, str], AfterValidator(_metadata)]
Text = Annotated[str, Field(max_length=5000)]
Amount = Annotated[FormInt, Field(ge=1, le=99_999_999)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Params(Strict):
    """Top-level parameters of a call: every endpoint takes ``expand``."""

    expand: FormList[Text] = []


class ListParams(Params):
    limit: Annotated[FormInt, Field(ge=1, le=100)] = 10
    starting_after: Text | None = None
    ending_before: Text | None = None


# Checkout Sessions -------------------------------------------------------------------------


class ProductData(Strict):
    name: Annotated[str, Field(min_length=1, max_length=250)]
    description: Text | None = None
    metadata: Metadata = {}


class PriceData(Strict):
    currency: Currency
    unit_amount: Annotated[FormInt, Field(ge=0, le=99_999_999)]
    product_data: ProductData


class LineItemParams(Strict):
    price: Text | None = None
    price_data: PriceData | None = None
    quantity: Annotated[FormInt, Field(ge=1, le=999_999)]


class PaymentIntentData(Strict):
    description: Text | None = None
    metadata: Metadata = {}
    transfer_group: Text | None = None
    receipt_email: Email | None = None


UiMode = Literal["embedded_page", "embedded", "hosted_page", "hosted"]


class SessionCreate(Params):
    mode: Literal["payment"]
    ui_mode: UiMode = "hosted_page"
    line_items: Annotated[FormList[LineItemParams], Field(min_length=1, max_length=100)]
    return_url: Text | None = None
    success_url: Text | None = None
    cancel_url: Text | None = None
    metadata: Metadata = {}
    payment_intent_data: PaymentIntentData | None = None
    expires_at: FormInt | None = None
    customer_email: Email | None = None
    client_reference_id: Annotated[str, Field(max_length=200)] | None = None
    payment_method_types: FormList[Literal["card"]] | None = None
    allow_promotion_codes: FormBool | None = None


class SessionList(ListParams):
    payment_intent: Text | None = None
    status: Literal["open", "complete", "expired"] | None = None


# Payments ----------------------------------------------------------------------------------


class ChargeList(ListParams):
    payment_intent: Text | None = None


class RefundCreate(Params):
    payment_intent: Text | None = None
    charge: Text | None = None
    amount: Amount | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    metadata: Metadata = {}


class RefundList(ListParams):
    charge: Text | None = None
    payment_intent: Text | None = None


class DisputeList(ListParams):
    charge: Text | None = None
    payment_intent: Text | None = None


# Connect -----------------------------------------------------------------------------------


class CapabilityRequest(Strict):
    requested: FormBool


class Capabilities(Strict):
    card_payments: CapabilityRequest | None = None
    transfers: CapabilityRequest | None = None


class BusinessProfile(Strict):
    name: Text | None = None
    url: Text | None = None
    product_description: Text | None = None
    support_email: Email | None = None
    mcc: Annotated[str, Field(pattern=r"^\d{4}$")] | None = None


class AccountCreate(Params):
    type: Literal["express", "custom", "standard"]
    country: Country = "US"
    email: Email | None = None
    business_type: Literal["individual", "company", "non_profit", "government_entity"] | None = None
    business_profile: BusinessProfile | None = None
    capabilities: Capabilities | None = None
    default_currency: Currency | None = None
    metadata: Metadata = {}


class TransferCreate(Params):
    amount: Amount
    currency: Currency
    destination: Text
    transfer_group: Text | None = None
    source_transaction: Text | None = None
    description: Text | None = None
    metadata: Metadata = {}


class TransferList(ListParams):
    destination: Text | None = None
    transfer_group: Text | None = None


class ReversalCreate(Params):
    amount: Amount | None = None
    description: Text | None = None
    metadata: Metadata = {}


class EventList(ListParams):
    type: Text | None = None
    types: FormList[Text] | None = None


# Validation --------------------------------------------------------------------------------


def format_param(loc: tuple[int | str, ...]) -> str:
    """``("line_items", 0, "quantity")`` → ``"line_items[0][quantity]"``."""
    head, *rest = (str(part) for part in loc)
    return head + "".join(f"[{part}]" for part in rest)


def validate(model: type[M], data: dict[str, Any]) -> M:
    _reject_empty_strings(data, ())
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _stripe_error(exc.errors(include_url=False)[0]) from None


def _reject_empty_strings(value: Any, loc: tuple[str, ...]) -> None:
    """Stripe reads ``x=`` as "unset x", which a create or list call cannot do (metadata aside)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "metadata":
                _reject_empty_strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_empty_strings(item, (*loc, str(index)))
    elif value == "":
        param = format_param(loc)
        raise param_error(
            f"You passed an empty string for '{param}'. We assume empty values are an attempt "
            f"to unset a parameter; however '{param}' cannot be unset. You should remove "
            f"'{param}' from your request or supply a non-empty value.",
            param,
            code="parameter_invalid_empty",
        )


_KIND = {
    "string_type": "a string",
    "dict_type": "a hash (e.g. {param}[key]=value)",
    "model_type": "a hash (e.g. {param}[key]=value)",
    "model_attributes_type": "a hash (e.g. {param}[key]=value)",
    "list_type": "an array (e.g. {param}[0]=value)",
}


def _stripe_error(error: Any) -> StripeError:
    loc = tuple(error["loc"]) or ("body",)
    param = format_param(loc)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return unknown_parameter(param)
    if kind == "missing":
        return missing_parameter(param)
    if kind in _KIND:
        return param_error(f"Invalid {param}: must be {_KIND[kind].format(param=param)}.", param)
    if kind == "literal_error":
        return param_error(f"Invalid {param}: must be one of {ctx['expected']}.", param)
    if kind in ("greater_than_equal", "greater_than"):
        return param_error(
            f"Invalid {param}: must be at least {ctx.get('ge', ctx.get('gt'))}.", param
        )
    if kind in ("less_than_equal", "less_than"):
        return param_error(
            f"Invalid {param}: must be at most {ctx.get('le', ctx.get('lt'))}.", param
        )
    if kind in ("too_short", "string_too_short"):
        return param_error(f"Invalid {param}: must not be empty.", param)
    if kind == "too_long":
        return param_error(f"Invalid {param}: at most {ctx['max_length']} items.", param)
    if kind == "string_too_long":
        return param_error(
            f"Invalid {param}: must be at most {ctx['max_length']} characters.", param
        )
    code = kind if kind.startswith(("parameter_", "email_")) else None
    return param_error(error["msg"], param, code=code)


# Coupons and promotion codes ---------------------------------------------------------------


class CouponCreate(Params):
    id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    name: Annotated[str, Field(max_length=40)] | None = None
    percent_off: Annotated[float, Field(gt=0, le=100)] | None = None
    amount_off: Amount | None = None
    currency: Currency | None = None
    duration: Literal["once", "repeating", "forever"] = "once"
    duration_in_months: Annotated[FormInt, Field(ge=1)] | None = None
    max_redemptions: Annotated[FormInt, Field(ge=1)] | None = None
    redeem_by: FormInt | None = None
    metadata: Metadata = {}


class PromotionParams(Strict):
    type: Literal["coupon"]
    coupon: Text


class PromotionCodeCreate(Params):
    # Since 2025-09-30.clover the coupon is named under ``promotion`` (type ``coupon``).
    promotion: PromotionParams
    code: (
        Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[A-Za-z0-9_-]+$")] | None
    ) = None
    active: FormBool = True
    max_redemptions: Annotated[FormInt, Field(ge=1)] | None = None
    expires_at: FormInt | None = None
    metadata: Metadata = {}


class PromotionCodeList(ListParams):
    code: Text | None = None
    active: FormBool | None = None
    coupon: Text | None = None

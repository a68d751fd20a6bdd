"""Coupons and promotion codes, and a code applied to a Checkout Session by its customer.

Shapes as at API 2025-09-30.clover and later: a promotion code names its coupon under
``promotion: {type: "coupon", coupon: <id>}`` (not expanded). A session created with
``allow_promotion_codes`` takes a customer-facing code; the discount is then in
``total_details.amount_discount`` and ``discounts``, ``amount_total`` (and the PaymentIntent's
``amount``) is the discounted total, ``amount_subtotal`` the price.
"""

from __future__ import annotations

from typing import Any

from sandbox.clock import SandboxClock
from sandbox.stripe.errors import invalid_request, param_error, resource_missing
from sandbox.stripe.ids import new_id
from sandbox.stripe.listing import paginate
from sandbox.stripe.money import format_amount
from sandbox.stripe.params import CouponCreate, ListParams, PromotionCodeCreate, PromotionCodeList
from sandbox.stripe.payments import MINIMUM_CHARGE
from sandbox.stripe.store import Store

JSON = dict[str, Any]


class Promotions:
    def __init__(self, store: Store, clock: SandboxClock) -> None:
        self._store = store
        self._clock = clock

    # Coupons -------------------------------------------------------------------------------

    def create_coupon(self, p: CouponCreate) -> JSON:
        if (p.percent_off is None) == (p.amount_off is None):
            raise param_error(
                "You must pass exactly one of percent_off or amount_off.", "percent_off"
            )
        if p.amount_off is not None and p.currency is None:
            raise param_error(
                "You must pass currency when passing amount_off.",
                "currency",
                code="parameter_missing",
            )
        if p.duration == "repeating" and p.duration_in_months is None:
            raise param_error(
                "You must pass duration_in_months when duration is repeating.",
                "duration_in_months",
                code="parameter_missing",
            )
        coupon_id = p.id or new_id("", 8)
        if self._store.find("coupon", coupon_id) is not None:
            raise invalid_request(
                "Coupon already exists.", param="id", code="resource_already_exists"
            )
        now = self._clock.timestamp()
        coupon = {
            "id": coupon_id,
            "object": "coupon",
            "amount_off": p.amount_off,
            "created": now,
            "currency": p.currency if p.amount_off is not None else None,
            "duration": p.duration,
            "duration_in_months": p.duration_in_months,
            "livemode": False,
            "max_redemptions": p.max_redemptions,
            "metadata": dict(p.metadata),
            "name": p.name,
            "percent_off": p.percent_off,
            "redeem_by": p.redeem_by,
            "times_redeemed": 0,
            "valid": True,
        }
        return self._store.add(coupon)

    def coupon(self, coupon_id: str) -> JSON:
        coupon = self._store.get("coupon", coupon_id, param="coupon")
        coupon["valid"] = self._coupon_valid(coupon)
        return coupon

    def list_coupons(self, p: ListParams) -> JSON:
        return paginate(self._store.all("coupon"), p, url="/v1/coupons", kind="coupon")

    def _coupon_valid(self, coupon: JSON) -> bool:
        if coupon["redeem_by"] is not None and coupon["redeem_by"] <= self._clock.timestamp():
            return False
        limit = coupon["max_redemptions"]
        return limit is None or coupon["times_redeemed"] < limit

    # Promotion codes -----------------------------------------------------------------------

    def create_promotion_code(self, p: PromotionCodeCreate) -> JSON:
        coupon = self._store.find("coupon", p.promotion.coupon)
        if coupon is None:
            raise resource_missing("coupon", p.promotion.coupon, "promotion[coupon]", status=400)
        code = p.code or new_id("", 8).upper()
        if any(
            c["code"].lower() == code.lower() and c["active"]
            for c in self._store.all("promotion_code")
        ):
            raise invalid_request(
                f"An active promotion code with `code: {code}` already exists.",
                param="code",
            )
        promotion_code = {
            "id": new_id("promo_"),
            "object": "promotion_code",
            "active": p.active,
            "code": code,
            "created": self._clock.timestamp(),
            "customer": None,
            "customer_account": None,
            "expires_at": p.expires_at,
            "livemode": False,
            "max_redemptions": p.max_redemptions,
            "metadata": dict(p.metadata),
            "promotion": {"coupon": coupon["id"], "type": "coupon"},
            "restrictions": {
                "first_time_transaction": False,
                "minimum_amount": None,
                "minimum_amount_currency": None,
            },
            "times_redeemed": 0,
        }
        return self._store.add(promotion_code)

    def promotion_code(self, promotion_code_id: str) -> JSON:
        return self._store.get("promotion_code", promotion_code_id, param="promotion_code")

    def list_promotion_codes(self, p: PromotionCodeList) -> JSON:
        codes = [
            c
            for c in self._store.all("promotion_code")
            if (p.code is None or c["code"].lower() == p.code.lower())
            and (p.active is None or c["active"] == p.active)
            and (p.coupon is None or c["promotion"]["coupon"] == p.coupon)
        ]
        return paginate(codes, p, url="/v1/promotion_codes", kind="promotion_code")

    # The customer entering a code on the checkout page -------------------------------------

    def apply_to_session(self, session: JSON, code: str) -> None:
        """Apply a customer-facing code to an open session (replacing any earlier one)."""
        if not session["allow_promotion_codes"]:
            raise invalid_request(
                "This Checkout Session does not accept promotion codes.", param="promotion_code"
            )
        promotion_code = self._redeemable(code)
        coupon = self._store.get("coupon", promotion_code["promotion"]["coupon"], param="coupon")
        subtotal = session["amount_subtotal"]
        currency = session["currency"]
        if coupon["amount_off"] is not None:
            if coupon["currency"] != currency:
                raise invalid_request(
                    f"This promotion code cannot be applied to a {currency.upper()} checkout.",
                    param="promotion_code",
                    code="promotion_code_invalid",
                )
            discount = min(coupon["amount_off"], subtotal)
        else:
            # Stripe rounds a percentage discount to the nearest minor unit.
            discount = int(subtotal * coupon["percent_off"] / 100 + 0.5)
        total = subtotal - discount
        minimum = MINIMUM_CHARGE.get(currency, 1)
        if total < minimum:  # a free session (100 % off) is not emulated
            raise invalid_request(
                "This promotion code cannot be applied: the amount due would be below "
                f"{format_amount(minimum, currency)}.",
                param="promotion_code",
                code="amount_too_small",
            )
        session["amount_total"] = total
        session["total_details"] = {**session["total_details"], "amount_discount": discount}
        session["discounts"] = [{"coupon": None, "promotion_code": promotion_code["id"]}]

    def redeemed(self, session: JSON) -> None:
        """Count the redemption once the session is paid."""
        for discount in session["discounts"]:
            promotion_code = self._store.find("promotion_code", discount["promotion_code"])
            if promotion_code is None:
                continue
            promotion_code["times_redeemed"] += 1
            coupon = self._store.find("coupon", promotion_code["promotion"]["coupon"])
            if coupon is not None:
                coupon["times_redeemed"] += 1
                coupon["valid"] = self._coupon_valid(coupon)

    def _redeemable(self, code: str) -> JSON:
        now = self._clock.timestamp()
        for promotion_code in self._store.all("promotion_code"):
            if promotion_code["code"].lower() != code.strip().lower():
                continue
            coupon = self._store.find("coupon", promotion_code["promotion"]["coupon"])
            limit = promotion_code["max_redemptions"]
            expired = (
                promotion_code["expires_at"] is not None and promotion_code["expires_at"] <= now
            )
            used_up = limit is not None and promotion_code["times_redeemed"] >= limit
            if not promotion_code["active"] or expired or used_up or coupon is None:
                break
            if not self._coupon_valid(coupon):
                break
            return promotion_code
        raise invalid_request(
            f"The promotion code `{code}` is invalid or cannot be redeemed.",
            param="promotion_code",
            code="promotion_code_invalid",
        )

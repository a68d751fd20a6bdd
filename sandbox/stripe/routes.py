"""The ``/v1`` endpoints the emulator serves: method, path, parameters, result type, operation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.stripe.params import (
    AccountCreate,
    ChargeList,
    CouponCreate,
    DisputeList,
    EventList,
    ListParams,
    Params,
    PromotionCodeCreate,
    PromotionCodeList,
    RefundCreate,
    RefundList,
    ReversalCreate,
    SessionCreate,
    SessionList,
    TransferCreate,
    TransferList,
)

if TYPE_CHECKING:
    from sandbox.stripe.emulator import StripeEmulator

JSON = dict[str, Any]


@dataclass(frozen=True)
class Call:
    params: Any  # the route's validated Params model
    path: dict[str, str]
    base_url: str
    stripe_account: str | None


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    model: type[Params]
    returns: str  # the object type, for ``expand[]``
    handler: Callable[[Call], JSON]
    is_list: bool = False
    account_scoped: bool = False  # honours the Stripe-Account header


def stripe_routes(emulator: StripeEmulator) -> list[Route]:
    em = emulator
    routes = [
        Route(
            "POST",
            "/v1/checkout/sessions",
            SessionCreate,
            "checkout.session",
            lambda c: em.payments.create_session(c.params, base_url=c.base_url),
        ),
        Route(
            "GET",
            "/v1/checkout/sessions",
            SessionList,
            "checkout.session",
            lambda c: em.payments.list_sessions(c.params),
            is_list=True,
        ),
        Route(
            "GET",
            "/v1/checkout/sessions/{session}",
            Params,
            "checkout.session",
            lambda c: em.payments.session(c.path["session"]),
        ),
        Route(
            "POST",
            "/v1/checkout/sessions/{session}/expire",
            Params,
            "checkout.session",
            lambda c: em.payments.expire_session(c.path["session"]),
        ),
        Route(
            "GET",
            "/v1/payment_intents",
            ListParams,
            "payment_intent",
            lambda c: em.payments.list_payment_intents(c.params),
            is_list=True,
        ),
        Route(
            "GET",
            "/v1/payment_intents/{intent}",
            Params,
            "payment_intent",
            lambda c: em.payments.payment_intent(c.path["intent"]),
        ),
        Route(
            "GET",
            "/v1/charges",
            ChargeList,
            "charge",
            lambda c: em.payments.list_charges(c.params),
            is_list=True,
        ),
        Route(
            "GET",
            "/v1/charges/{charge}",
            Params,
            "charge",
            lambda c: em.payments.charge(c.path["charge"]),
        ),
        Route(
            "POST",
            "/v1/refunds",
            RefundCreate,
            "refund",
            lambda c: em.payments.create_refund(c.params),
        ),
        Route(
            "GET",
            "/v1/refunds",
            RefundList,
            "refund",
            lambda c: em.payments.list_refunds(c.params),
            is_list=True,
        ),
        Route(
            "GET",
            "/v1/refunds/{refund}",
            Params,
            "refund",
            lambda c: em.payments.refund(c.path["refund"]),
        ),
        Route(
            "GET",
            "/v1/disputes",
            DisputeList,
            "dispute",
            lambda c: em.payments.list_disputes(c.params),
            is_list=True,
        ),
        Route(
            "GET",
            "/v1/disputes/{dispute}",
            Params,
            "dispute",
            lambda c: em.payments.dispute(c.path["dispute"]),
        ),
        Route(
            "POST",
            "/v1/accounts",
            AccountCreate,
            "account",
            lambda c: em.connect.create_account(c.params),
        ),
        Route(
            "GET",
            "/v1/accounts",
            ListParams,
            "account",
            lambda c: em.connect.list_accounts(c.params),
            is_list=True,
        ),
        Route(
            "GET",
            "/v1/accounts/{account}",
            Params,
            "account",
            lambda c: em.connect.account(c.path["account"]),
        ),
        Route(
            "POST",
            "/v1/transfers",
            TransferCreate,
            "transfer",
            lambda c: em.connect.create_transfer(c.params),
        ),
        Route(
            "GET",
            "/v1/transfers",
            TransferList,
            "transfer",
            lambda c: em.connect.list_transfers(c.params),
            is_list=True,
        ),
        Route(
            "GET",
            "/v1/transfers/{transfer}",
            Params,
            "transfer",
            lambda c: em.connect.transfer(c.path["transfer"]),
        ),
        Route(
            "POST",
            "/v1/transfers/{transfer}/reversals",
            ReversalCreate,
            "transfer_reversal",
            lambda c: em.connect.create_reversal(c.path["transfer"], c.params),
        ),
        Route(
            "GET",
            "/v1/transfers/{transfer}/reversals",
            ListParams,
            "transfer_reversal",
            lambda c: em.connect.list_reversals(c.path["transfer"], c.params),
            is_list=True,
        ),
        Route(
            "GET",
            "/v1/transfers/{transfer}/reversals/{reversal}",
            Params,
            "transfer_reversal",
            lambda c: em.connect.reversal(c.path["transfer"], c.path["reversal"]),
        ),
        Route(
            "GET",
            "/v1/balance",
            Params,
            "balance",
            lambda c: em.connect.balance(c.stripe_account),
            account_scoped=True,
        ),
        Route(
            "GET",
            "/v1/events",
            EventList,
            "event",
            lambda c: em.events.list_events(c.params),
            is_list=True,
        ),
        Route(
            "GET", "/v1/events/{event}", Params, "event", lambda c: em.events.event(c.path["event"])
        ),
        Route(
            "POST",
            "/v1/coupons",
            CouponCreate,
            "coupon",
            lambda c: em.promotions.create_coupon(c.params),
        ),
        Route(
            "GET",
            "/v1/coupons",
            ListParams,
            "coupon",
            lambda c: em.promotions.list_coupons(c.params),
            is_list=True,
        ),
        Route(
            "GET",
            "/v1/coupons/{coupon}",
            Params,
            "coupon",
            lambda c: em.promotions.coupon(c.path["coupon"]),
        ),
        Route(
            "POST",
            "/v1/promotion_codes",
            PromotionCodeCreate,
            "promotion_code",
            lambda c: em.promotions.create_promotion_code(c.params),
        ),
        Route(
            "GET",
            "/v1/promotion_codes",
            PromotionCodeList,
            "promotion_code",
            lambda c: em.promotions.list_promotion_codes(c.params),
            is_list=True,
        ),
        Route(
            "GET",
            "/v1/promotion_codes/{promotion_code}",
            Params,
            "promotion_code",
            lambda c: em.promotions.promotion_code(c.path["promotion_code"]),
        ),
    ]
    return routes

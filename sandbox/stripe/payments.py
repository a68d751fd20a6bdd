"""Checkout Sessions, the PaymentIntents and Charges a payment makes, Refunds and Disputes.

Every operation checks everything it can refuse before it changes anything, so a refusal
leaves no trace. Callers hold the emulator's lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sandbox.clock import SandboxClock
from sandbox.stripe import objects
from sandbox.stripe.cards import card_for
from sandbox.stripe.errors import card_error, invalid_request, param_error, resource_missing
from sandbox.stripe.events import EventLog
from sandbox.stripe.ids import new_id
from sandbox.stripe.listing import paginate
from sandbox.stripe.money import format_amount
from sandbox.stripe.params import (
    ChargeList,
    DisputeList,
    ListParams,
    RefundCreate,
    RefundList,
    SessionCreate,
    SessionList,
)
from sandbox.stripe.store import LineItem, SessionExtras, Store, snapshot

JSON = dict[str, Any]

MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 3600
MAX_AMOUNT = 99_999_999
# Stripe's minimum charge for the currencies this project is likely to use (minor units).
if TYPE_CHECKING:
    from sandbox.stripe.promotions import Promotions

MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50, "jpy": 50}
EMBEDDED_UI_MODES = ("embedded_page", "embedded")


class Payments:
    def __init__(
        self,
        store: Store,
        events: EventLog,
        clock: SandboxClock,
        promotions: Promotions | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._clock = clock
        self._promotions = promotions

    # Checkout Sessions ---------------------------------------------------------------------

    def create_session(self, p: SessionCreate, *, base_url: str) -> JSON:
        now = self._clock.timestamp()
        _check_urls(p)
        expires_at = p.expires_at if p.expires_at is not None else now + MAX_EXPIRY_SECONDS
        if expires_at < now + MIN_EXPIRY_SECONDS:
            raise param_error(
                "The `expires_at` timestamp must be at least 30 minutes from "
                "Checkout Session creation.",
                "expires_at",
            )
        if expires_at > now + MAX_EXPIRY_SECONDS:
            raise param_error(
                "The `expires_at` timestamp must be less than 24 hours from "
                "Checkout Session creation.",
                "expires_at",
            )
        items = self._line_items(p)
        currency = items[0].currency
        total = sum(item.unit_amount * item.quantity for item in items)
        minimum = MINIMUM_CHARGE.get(currency, 1)
        if total < minimum:
            raise param_error(
                f"The Checkout Session's total amount due must add up to at least "
                f"{format_amount(minimum, currency)}.",
                "line_items",
                code="amount_too_small",
            )
        if total > MAX_AMOUNT:
            raise param_error(
                f"The Checkout Session's total amount due must be no more than "
                f"{format_amount(MAX_AMOUNT, currency)}.",
                "line_items",
                code="amount_too_large",
            )

        session_id = new_id("cs_test_", 58)
        hosted = p.ui_mode not in EMBEDDED_UI_MODES
        session = objects.checkout_session(
            session_id=session_id,
            created=now,
            expires_at=expires_at,
            currency=currency,
            amount_total=total,
            ui_mode=p.ui_mode,
            return_url=p.return_url,
            success_url=p.success_url,
            cancel_url=p.cancel_url,
            url=f"{base_url}/_sandbox/checkout/{session_id}" if hosted else None,
            customer_email=p.customer_email,
            client_reference_id=p.client_reference_id,
            metadata=dict(p.metadata),
        )
        if p.allow_promotion_codes is not None:
            session["allow_promotion_codes"] = p.allow_promotion_codes
        intent_data = p.payment_intent_data.model_dump() if p.payment_intent_data else {}
        self._store.session_extras[session_id] = SessionExtras(items, intent_data)
        return self._store.add(session)

    def _line_items(self, p: SessionCreate) -> list[LineItem]:
        items = []
        for index, item in enumerate(p.line_items):
            if item.price is not None:
                # The sandbox has no Prices API, so every price id is unknown.
                raise resource_missing(
                    "price", item.price, f"line_items[{index}][price]", status=400
                )
            data = item.price_data
            if data is None:
                raise param_error(
                    "You must specify either `price` or `price_data` for each line item.",
                    f"line_items[{index}][price_data]",
                    code="parameter_missing",
                )
            items.append(
                LineItem(
                    data.product_data.name,
                    data.product_data.description,
                    data.unit_amount,
                    item.quantity,
                    data.currency,
                )
            )
        if len({item.currency for item in items}) > 1:
            raise param_error("All line items must use the same currency.", "line_items")
        return items

    def session(self, session_id: str) -> JSON:
        return self._store.get("checkout.session", session_id, param="session")

    def line_items(self, session_id: str) -> list[LineItem]:
        return self._store.session_extras[self.session(session_id)["id"]].line_items

    def list_sessions(self, p: SessionList) -> JSON:
        sessions = [
            s
            for s in self._store.all("checkout.session")
            if (p.payment_intent is None or s["payment_intent"] == p.payment_intent)
            and (p.status is None or s["status"] == p.status)
        ]
        return paginate(sessions, p, url="/v1/checkout/sessions", kind="checkout.session")

    def expire_session(self, session_id: str) -> JSON:
        session = self.session(session_id)
        if session["status"] != "open":
            raise invalid_request(
                'Only Checkout Sessions with a status in ["open"] can be expired. This '
                f'Checkout Session has a status of "{session["status"]}".',
                param="session",
            )
        self._expire(session)
        return session

    def expire_due_sessions(self) -> int:
        """Expire every open session whose ``expires_at`` has passed on the sandbox clock."""
        now = self._clock.timestamp()
        due = [
            s
            for s in self._store.all("checkout.session")
            if s["status"] == "open" and s["expires_at"] <= now
        ]
        for session in due:
            self._expire(session)
        return len(due)

    def _expire(self, session: JSON) -> None:
        previous = {"status": session["status"], "url": session["url"]}
        session.update(status="expired", url=None)
        if session["payment_intent"]:
            # An attempt that failed left a PaymentIntent behind: Stripe cancels it.
            intent = self._store.get(
                "payment_intent", session["payment_intent"], param="payment_intent"
            )
            if intent["status"] == "requires_payment_method":
                intent.update(
                    status="canceled",
                    canceled_at=self._clock.timestamp(),
                    cancellation_reason="abandoned",
                )
                self._events.emit(
                    "payment_intent.canceled", intent, {"status": "requires_payment_method"}
                )
        self._events.emit("checkout.session.expired", session, previous)

    # The customer paying (the sandbox's stand-in for Stripe's embedded form) --------------

    def pay_session(
        self,
        session_id: str,
        card_number: str,
        email: str | None,
        name: str | None,
        promotion_code: str | None = None,
    ) -> JSON:
        session = self.session(session_id)
        if session["status"] == "open" and session["expires_at"] <= self._clock.timestamp():
            self._expire(session)
        if session["status"] != "open":
            raise invalid_request(
                f"This Checkout Session is {session['status']}: it can no longer be paid.",
                param="session",
            )
        card = card_for(card_number)
        email = email or session["customer_email"]
        if promotion_code is not None and self._promotions is not None:
            self._promotions.apply_to_session(session, promotion_code)
        intent = self._intent_for(session)
        if intent["amount"] != session["amount_total"]:
            # A code entered after an earlier declined attempt: the intent follows the total.
            intent["amount"] = session["amount_total"]
        now = self._clock.timestamp()
        exp_year = self._clock.now().year + 3
        method = objects.payment_method(
            method_id=new_id("pm_"),
            created=now,
            card=card,
            exp_year=exp_year,
            email=email,
            name=name,
        )
        charge = self._store.add(
            objects.charge(
                charge_id=new_id("ch_"),
                created=now,
                amount=intent["amount"],
                currency=intent["currency"],
                intent=intent,
                method=method,
                card=card,
                exp_year=exp_year,
            )
        )
        previous = {"status": intent["status"], "latest_charge": intent["latest_charge"]}
        intent["latest_charge"] = charge["id"]

        if card.decline is not None:
            intent.update(
                status="requires_payment_method",
                payment_method=None,
                last_payment_error=objects.last_payment_error(card.decline, charge["id"], method),
            )
            self._events.emit("charge.failed", charge)
            self._events.emit("payment_intent.payment_failed", intent, previous)
            raise card_error(
                card.decline.message,
                card.decline.code,
                card.decline.decline_code,
                extra={
                    "charge": charge["id"],
                    "payment_intent": snapshot(intent),
                    "payment_method": method,
                },
            )

        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            payment_method=method["id"],
            last_payment_error=None,
        )
        previous_session = {"status": "open", "payment_status": "unpaid", "customer_details": None}
        session.update(
            status="complete",
            payment_status="paid",
            customer_details=objects.customer_details(email, name),
            collected_information=objects.collected_information(name),
        )
        if self._promotions is not None:
            self._promotions.redeemed(session)
        self._events.emit("charge.succeeded", charge)
        self._events.emit("payment_intent.succeeded", intent, previous)
        self._events.emit("checkout.session.completed", session, previous_session)
        return session

    def _intent_for(self, session: JSON) -> JSON:
        """The session's PaymentIntent, made at the customer's first attempt to pay."""
        if session["payment_intent"]:
            return self._store.get(
                "payment_intent", session["payment_intent"], param="payment_intent"
            )
        data = self._store.session_extras[session["id"]].payment_intent_data
        intent = self._store.add(
            objects.payment_intent(
                intent_id=new_id("pi_"),
                created=self._clock.timestamp(),
                amount=session["amount_total"],
                currency=session["currency"],
                description=data.get("description"),
                metadata=dict(data.get("metadata") or {}),
                transfer_group=data.get("transfer_group"),
                receipt_email=data.get("receipt_email"),
            )
        )
        session["payment_intent"] = intent["id"]
        self._events.emit("payment_intent.created", intent)
        return intent

    # PaymentIntents and Charges ------------------------------------------------------------

    def payment_intent(self, intent_id: str) -> JSON:
        return self._store.get("payment_intent", intent_id, param="intent")

    def list_payment_intents(self, p: ListParams) -> JSON:
        return paginate(
            self._store.all("payment_intent"), p, url="/v1/payment_intents", kind="payment_intent"
        )

    def charge(self, charge_id: str) -> JSON:
        return self._store.get("charge", charge_id, param="charge")

    def list_charges(self, p: ChargeList) -> JSON:
        charges = [
            c
            for c in self._store.all("charge")
            if p.payment_intent is None or c["payment_intent"] == p.payment_intent
        ]
        return paginate(charges, p, url="/v1/charges", kind="charge")

    # Refunds -------------------------------------------------------------------------------

    def create_refund(self, p: RefundCreate) -> JSON:
        if p.charge and p.payment_intent:
            raise param_error(
                "You may only specify one of these parameters: charge, payment_intent.",
                "charge",
                code="parameters_exclusive",
            )
        if not p.charge and not p.payment_intent:
            raise param_error(
                "One of the following params should be provided for this "
                "request: payment_intent or charge.",
                "payment_intent",
                code="parameter_missing",
            )
        charge = self._refundable_charge(p)
        remaining = charge["amount"] - charge["amount_refunded"]
        if charge["disputed"]:
            raise invalid_request(
                f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
        if remaining == 0:
            raise invalid_request(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = remaining if p.amount is None else p.amount
        if amount > remaining:
            currency = charge["currency"]
            raise invalid_request(
                f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded "
                f"amount on charge ({format_amount(remaining, currency)})",
                param="amount",
                code="amount_too_large",
            )

        refund = self._store.add(
            objects.refund(
                refund_id=new_id("re_"),
                created=self._clock.timestamp(),
                amount=amount,
                of_charge=charge,
                reason=p.reason,
                metadata=dict(p.metadata),
            )
        )
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, snapshot(refund))
        self._events.emit("charge.refunded", charge, previous)
        self._events.emit("refund.created", refund)
        return refund

    def _refundable_charge(self, p: RefundCreate) -> JSON:
        if p.payment_intent:
            intent = self._store.get(
                "payment_intent", p.payment_intent, param="payment_intent", status=400
            )
            if intent["status"] != "succeeded":
                raise invalid_request(
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge "
                    "to refund.",
                    param="payment_intent",
                    code="charge_not_refundable",
                )
            return self._store.get("charge", intent["latest_charge"], param="charge")
        charge = self._store.get("charge", p.charge or "", param="charge", status=400)
        if charge["status"] != "succeeded":
            raise invalid_request(
                f"Charge {charge['id']} did not succeed; there is nothing to refund.",
                param="charge",
                code="charge_not_refundable",
            )
        return charge

    def refund(self, refund_id: str) -> JSON:
        return self._store.get("refund", refund_id, param="refund")

    def list_refunds(self, p: RefundList) -> JSON:
        refunds = [
            r
            for r in self._store.all("refund")
            if (p.charge is None or r["charge"] == p.charge)
            and (p.payment_intent is None or r["payment_intent"] == p.payment_intent)
        ]
        return paginate(refunds, p, url="/v1/refunds", kind="refund")

    # Disputes (opened by the cardholder's bank: a sandbox control) -------------------------

    def create_dispute(self, charge_id: str, reason: str, amount: int | None) -> JSON:
        charge = self.charge(charge_id)
        if charge["status"] != "succeeded":
            raise invalid_request(f"Charge {charge_id} did not succeed; it cannot be disputed.")
        if charge["disputed"]:
            raise invalid_request(f"Charge {charge_id} is already disputed.")
        disputable = charge["amount"] - charge["amount_refunded"]
        if disputable == 0:
            raise invalid_request(f"Charge {charge_id} is fully refunded; it cannot be disputed.")
        amount = disputable if amount is None else amount
        if amount > disputable:
            raise invalid_request(
                f"A dispute cannot exceed the unrefunded amount of the charge "
                f"({format_amount(disputable, charge['currency'])}).",
                param="amount",
            )
        now = self._clock.timestamp()
        dispute = self._store.add(
            objects.dispute(
                dispute_id=new_id("dp_"),
                created=now,
                amount=amount,
                of_charge=charge,
                reason=reason,
                due_by=now + 7 * 24 * 3600,
            )
        )
        charge["disputed"] = True
        self._events.emit("charge.dispute.created", dispute)
        return dispute

    def dispute(self, dispute_id: str) -> JSON:
        return self._store.get("dispute", dispute_id, param="dispute")

    def list_disputes(self, p: DisputeList) -> JSON:
        disputes = [
            d
            for d in self._store.all("dispute")
            if (p.charge is None or d["charge"] == p.charge)
            and (p.payment_intent is None or d["payment_intent"] == p.payment_intent)
        ]
        return paginate(disputes, p, url="/v1/disputes", kind="dispute")


def redirect_url(session: JSON) -> str | None:
    """Where the customer goes after paying, with ``{CHECKOUT_SESSION_ID}`` filled in."""
    target = session["return_url"] or session["success_url"]
    return target.replace("{CHECKOUT_SESSION_ID}", session["id"]) if target else None


def _check_urls(p: SessionCreate) -> None:
    embedded = p.ui_mode in EMBEDDED_UI_MODES
    required, forbidden = (
        ("return_url", ("success_url", "cancel_url"))
        if embedded
        else ("success_url", ("return_url",))
    )
    for name in forbidden:
        if getattr(p, name) is not None:
            raise param_error(f"You cannot pass `{name}` when `ui_mode` is `{p.ui_mode}`.", name)
    if getattr(p, required) is None:
        raise param_error(
            f"You must pass `{required}` when `ui_mode` is `{p.ui_mode}`.",
            required,
            code="parameter_missing",
        )
    for name in ("return_url", "success_url", "cancel_url"):
        value = getattr(p, name)
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise param_error(f"Not a valid URL: {value}", name, code="url_invalid")

"""Builders of Stripe-shaped JSON objects.

Each returns a full object with at least the keys of Stripe's example object of its type
(``fixtures3.json``, checked by tests/sandbox/test_stripe_contract.py), filled the way
Stripe fills them for a card payment in test mode; fields the sandbox does not model are
null where Stripe documents them as nullable.
"""

from __future__ import annotations

from typing import Any

from sandbox.stripe.cards import Decline, TestCard
from sandbox.stripe.ids import new_id, new_secret

JSON = dict[str, Any]


def _address() -> JSON:
    return {
        "city": None,
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


def list_object(data: list[JSON], url: str, has_more: bool = False) -> JSON:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def checkout_session(
    *,
    session_id: str,
    created: int,
    expires_at: int,
    currency: str,
    amount_total: int,
    ui_mode: str,
    return_url: str | None,
    success_url: str | None,
    cancel_url: str | None,
    url: str | None,
    customer_email: str | None,
    client_reference_id: str | None,
    metadata: dict[str, str],
) -> JSON:
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "client_secret": new_secret(session_id) if url is None else None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_account": None,
        "customer_creation": "if_required",
        "customer_details": None,
        "customer_email": customer_email,
        "discounts": [],
        "expires_at": expires_at,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "locale": None,
        "managed_payments": {"enabled": False},
        "metadata": metadata,
        "mode": "payment",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "redirect_on_completion": "always" if return_url else None,
        "return_url": return_url,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": ui_mode,
        "url": url,
        "wallet_options": None,
    }


def customer_details(email: str | None, name: str | None) -> JSON:
    return {
        "address": _address(),
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def collected_information(name: str | None) -> JSON:
    return {"business_name": None, "individual_name": name, "shipping_details": None}


def payment_intent(
    *,
    intent_id: str,
    created: int,
    amount: int,
    currency: str,
    description: str | None,
    metadata: dict[str, str],
    transfer_group: str | None,
    receipt_email: str | None,
) -> JSON:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": new_secret(intent_id),
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": None,
        "customer_account": None,
        "description": description,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": transfer_group,
    }


def last_payment_error(decline: Decline, charge_id: str, payment_method: JSON) -> JSON:
    return {
        "type": "card_error",
        "charge": charge_id,
        "code": decline.code,
        "decline_code": decline.decline_code,
        "doc_url": "https://stripe.com/docs/error-codes/" + decline.code.replace("_", "-"),
        "message": decline.message,
        "payment_method": payment_method,
    }


def payment_method(
    *,
    method_id: str,
    created: int,
    card: TestCard,
    exp_year: int,
    email: str | None,
    name: str | None,
) -> JSON:
    return {
        "id": method_id,
        "object": "payment_method",
        "billing_details": {
            "address": _address(),
            "email": email,
            "name": name,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": card.brand,
            "country": card.country,
            "exp_month": 12,
            "exp_year": exp_year,
            "fingerprint": card.fingerprint,
            "funding": card.funding,
            "last4": card.last4,
        },
        "created": created,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def _card_details(card: TestCard, amount: int, exp_year: int, approved: bool) -> JSON:
    return {
        "amount_authorized": amount if approved else None,
        "authorization_code": new_id("", 6).upper() if approved else None,
        "brand": card.brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass" if approved else None,
        },
        "country": card.country,
        "exp_month": 12,
        "exp_year": exp_year,
        "extended_authorization": {"status": "disabled"},
        "fingerprint": card.fingerprint,
        "funding": card.funding,
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": card.last4,
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": card.brand,
        "network_token": {"used": False},
        "network_transaction_id": new_id("", 15) if approved else None,
        "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "transaction_link_id": None,
        "wallet": None,
    }


def charge(
    *,
    charge_id: str,
    created: int,
    amount: int,
    currency: str,
    intent: JSON,
    method: JSON,
    card: TestCard,
    exp_year: int,
) -> JSON:
    decline = card.decline
    approved = decline is None
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if approved else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": new_id("txn_") if approved else None,
        "billing_details": method["billing_details"],
        "calculated_statement_descriptor": "MENTORPAY SANDBOX",
        "captured": approved,
        "created": created,
        "currency": currency,
        "customer": None,
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if decline is None else decline.code,
        "failure_message": None if decline is None else decline.message,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network" if approved else "declined_by_network",
            "reason": None if decline is None else decline.decline_code,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "Payment complete."
            if approved
            else "The bank did not return any further details with this decline.",
            "type": "authorized" if approved else "issuer_declined",
        },
        "paid": approved,
        "payment_intent": intent["id"],
        "payment_method": method["id"],
        "payment_method_details": {
            "card": _card_details(card, amount, exp_year, approved),
            "type": "card",
        },
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": list_object([], f"/v1/charges/{charge_id}/refunds"),
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded" if approved else "failed",
        "transfer_data": None,
        "transfer_group": intent["transfer_group"],
    }


def refund(
    *,
    refund_id: str,
    created: int,
    amount: int,
    of_charge: JSON,
    reason: str | None,
    metadata: dict[str, str],
) -> JSON:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn_"),
        "charge": of_charge["id"],
        "created": created,
        "currency": of_charge["currency"],
        "customer": None,
        "customer_account": None,
        "destination_details": {
            "card": {
                "reference": None,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": metadata,
        "payment_intent": of_charge["payment_intent"],
        "payment_method": of_charge["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def dispute(
    *, dispute_id: str, created: int, amount: int, of_charge: JSON, reason: str, due_by: int
) -> JSON:
    card = of_charge["payment_method_details"]["card"]
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": of_charge["id"],
        "created": created,
        "currency": of_charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {key: None for key in _EVIDENCE_FIELDS} | {"enhanced_evidence": {}},
        "evidence_details": {
            "due_by": due_by,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": of_charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": card["brand"],
                "case_type": "chargeback",
                "network": card["network"],
                "network_reason_code": "10.4",
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }


_EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)


def transfer(
    *,
    transfer_id: str,
    created: int,
    amount: int,
    currency: str,
    destination: str,
    transfer_group: str | None,
    source_transaction: str | None,
    description: str | None,
    metadata: dict[str, str],
) -> JSON:
    return {
        "id": transfer_id,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": new_id("txn_"),
        "created": created,
        "currency": currency,
        "description": description,
        "destination": destination,
        "destination_payment": new_id("py_", 14),
        "livemode": False,
        "metadata": metadata,
        "reversals": list_object([], f"/v1/transfers/{transfer_id}/reversals"),
        "reversed": False,
        "source_transaction": source_transaction,
        "source_type": "card",
        "transfer_group": transfer_group,
    }


def transfer_reversal(
    *, reversal_id: str, created: int, amount: int, of_transfer: JSON, metadata: dict[str, str]
) -> JSON:
    return {
        "id": reversal_id,
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": new_id("txn_"),
        "created": created,
        "currency": of_transfer["currency"],
        "destination_payment_refund": new_id("pyr_"),
        "metadata": metadata,
        "source_refund": None,
        "transfer": of_transfer["id"],
    }


# What a freshly created account still has to provide before Stripe enables it.
ONBOARDING_REQUIREMENTS = (
    "business_profile.url",
    "external_account",
    "tos_acceptance.date",
    "tos_acceptance.ip",
)


def requirements(currently_due: list[str]) -> JSON:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(currently_due),
        "disabled_reason": "requirements.past_due" if currently_due else None,
        "errors": [],
        "eventually_due": list(currently_due),
        "past_due": list(currently_due),
        "pending_verification": [],
    }


def account(
    *,
    account_id: str,
    created: int,
    type_: str,
    country: str,
    email: str | None,
    business_type: str | None,
    business_name: str | None,
    business_url: str | None,
    default_currency: str,
    capabilities: dict[str, str],
    enabled: bool,
    metadata: dict[str, str],
) -> JSON:
    profile = {
        "annual_revenue": None,
        "estimated_worker_count": None,
        "mcc": None,
        "minority_owned_business_designation": None,
        "name": business_name,
        "product_description": None,
        "support_address": None,
        "support_email": None,
        "support_phone": None,
        "support_url": None,
        "url": business_url,
    }
    due = [] if enabled else list(ONBOARDING_REQUIREMENTS)
    return {
        "id": account_id,
        "object": "account",
        "business_profile": profile,
        "business_type": business_type,
        "capabilities": capabilities,
        "charges_enabled": enabled,
        "controller": _controller(type_),
        "country": country,
        "created": created,
        "default_currency": default_currency,
        "details_submitted": enabled,
        "email": email,
        "external_accounts": list_object([], f"/v1/accounts/{account_id}/external_accounts"),
        "future_requirements": requirements([]),
        "metadata": metadata,
        "payouts_enabled": enabled,
        "requirements": requirements(due),
        "settings": _account_settings(business_name),
        "tos_acceptance": {"date": created if enabled else None, "ip": None, "user_agent": None},
        "type": type_,
    }


def _controller(type_: str) -> JSON:
    if type_ == "standard":
        return {"is_controller": True, "type": "application"}
    dashboard = "express" if type_ == "express" else "none"
    return {
        "fees": {"payer": "application"},
        "is_controller": True,
        "losses": {"payments": "application"},
        "requirement_collection": "stripe" if type_ == "express" else "application",
        "stripe_dashboard": {"type": dashboard},
        "type": "application",
    }


def _account_settings(display_name: str | None) -> JSON:
    return {
        "bacs_debit_payments": {"display_name": None, "service_user_number": None},
        "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
        "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
        "card_payments": {
            "decline_on": {"avs_failure": False, "cvc_failure": False},
            "statement_descriptor_prefix": None,
            "statement_descriptor_prefix_kana": None,
            "statement_descriptor_prefix_kanji": None,
        },
        "dashboard": {"display_name": display_name, "timezone": "Etc/UTC"},
        "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": None},
        "payments": {
            "statement_descriptor": None,
            "statement_descriptor_kana": None,
            "statement_descriptor_kanji": None,
            "statement_descriptor_prefix_kana": None,
            "statement_descriptor_prefix_kanji": None,
        },
        "payouts": {
            "debit_negative_balances": True,
            "schedule": {"delay_days": 2, "interval": "daily"},
            "statement_descriptor": None,
        },
        "sepa_debit_payments": {},
    }


def event(
    *,
    event_id: str,
    type_: str,
    created: int,
    api_version: str,
    data_object: JSON,
    previous_attributes: JSON | None,
    request_id: str | None,
    idempotency_key: str | None,
) -> JSON:
    data: JSON = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id,
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": type_,
    }


def balance(available: dict[str, int], currencies: list[str]) -> JSON:
    return {
        "object": "balance",
        "available": [
            {
                "amount": available.get(c, 0),
                "currency": c,
                "source_types": {"card": available.get(c, 0)},
            }
            for c in currencies
        ],
        "connect_reserved": [{"amount": 0, "currency": c} for c in currencies],
        "livemode": False,
        "pending": [{"amount": 0, "currency": c, "source_types": {"card": 0}} for c in currencies],
    }

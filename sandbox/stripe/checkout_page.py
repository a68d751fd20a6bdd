"""The HTML page standing in for Stripe's embedded checkout form (``/_sandbox/checkout/{id}``).

Self-contained (inline CSS and JS, no external assets). The page posts the card to the pay
control, shows the card error on a decline, and follows the session's return URL on success.
"""

from __future__ import annotations

import json
from html import escape
from importlib.resources import files
from string import Template
from typing import Any

from sandbox.stripe.money import format_amount
from sandbox.stripe.payments import redirect_url
from sandbox.stripe.store import LineItem

_TEMPLATE = Template(files("sandbox.stripe").joinpath("checkout_page.html").read_text("utf-8"))
# Served at /_sandbox/stripe.js: mounts this page in an iframe for embedded Checkout.
STRIPE_JS = files("sandbox.stripe").joinpath("stripe_js.js").read_text("utf-8")

_FORM = """<form id="pay-form">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="email" value="$email">
    <label for="card">Card number</label>
    <input id="card" name="card" inputmode="numeric" autocomplete="cc-number"
           value="4242 4242 4242 4242" required>
    <p class="hint">4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined;
      4000 0000 0000 9995 has insufficient funds.</p>
    $promotion
    <button type="submit">Pay $total</button>
    <p id="error" role="alert"></p>
  </form>"""


_PROMOTION = """<label for="promotion">Promotion code</label>
    <input id="promotion" name="promotion" autocomplete="off" placeholder="Add promotion code">"""


def render_checkout_page(session: dict[str, Any], items: list[LineItem]) -> str:
    currency = session["currency"]
    total = format_amount(session["amount_total"], currency)
    rows = "".join(
        f"<li><span>{escape(item.name)}{_quantity(item)}</span>"
        f"<span>{escape(format_amount(item.unit_amount * item.quantity, currency))}</span></li>"
        for item in items
    )
    target = redirect_url(session)
    if session["status"] == "open":
        body = Template(_FORM).substitute(
            email=escape(session["customer_email"] or ""),
            total=escape(total),
            promotion=_PROMOTION if session.get("allow_promotion_codes") else "",
        )
    elif session["status"] == "complete":
        link = f' <a href="{escape(target)}" target="_top">Continue</a>' if target else ""
        body = f'<p class="status">This checkout is paid.{link}</p>'
    else:
        body = '<p class="status">This checkout session has expired.</p>'
    config = {
        "sessionId": session["id"],
        "payUrl": f"sessions/{session['id']}/pay",
        "redirectUrl": target,
    }
    return _TEMPLATE.substitute(
        title=escape(items[0].name if len(items) == 1 else f"{len(items)} items"),
        items=rows,
        total=escape(total),
        body=body,
        config=_script_json(config),
    )


def render_missing_page(session_id: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>No such checkout</title></head><body><main><h1>No such checkout session</h1>"
        f"<p>{escape(session_id)} does not exist in this sandbox.</p></main></body></html>"
    )


def _quantity(item: LineItem) -> str:
    return f" &times; {item.quantity}" if item.quantity > 1 else ""


def _script_json(value: dict[str, Any]) -> str:
    # Inside <script>, "</" could close the element: escape "<", ">" and "&" as JSON does allow.
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

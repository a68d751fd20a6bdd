"""``GET /return``: where Stripe sends the customer after paying, for set-ups without a
frontend of their own (``CHECKOUT_RETURN_URL`` unset). It says the payment is being confirmed;
the booking itself is settled by the webhook and the workers, whatever the browser does."""

from __future__ import annotations

import html

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Payment received</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto">
<h1>Thank you</h1>
<p>Your payment is being confirmed and your session booked. You will receive a confirmation;
you can close this page.</p>
<p><small>Checkout reference: <code>{session_id}</code></small></p>
</body></html>
"""


def mount_return_page(app: FastAPI) -> None:
    @app.get("/return", response_class=HTMLResponse, include_in_schema=False)
    def return_page(session_id: str = Query(default="", max_length=255)) -> str:
        return _PAGE.format(session_id=html.escape(session_id))

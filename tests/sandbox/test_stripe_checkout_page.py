"""The demo checkout page (``/_sandbox/checkout/{id}``): what it shows and what its script does.

There is no browser here, so the page's script is checked through its contract: the config
it reads (pay URL, redirect URL), resolved the way a browser resolves them, and driven with
the same request the script makes.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest

from tests.support.stripe_sandbox import (
    DECLINED_CARD,
    HTTP,
    create_session,
    pay,
    sdk,
)


class _Page(HTMLParser):
    """Collects what a browser would load, the config script and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.config: dict | None = None
        self.text: list[str] = []
        self._in_config = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("src", "href"):
            if tag in ("script", "link", "img", "iframe") and attributes.get(name):
                self.external.append(attributes[name])
        self._in_config = tag == "script" and attributes.get("id") == "checkout-config"

    def handle_data(self, data):
        if self._in_config:
            self.config = json.loads(data)
            self._in_config = False
        else:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))


def page_of(sandbox, session_id: str) -> tuple[int, _Page, str]:
    url = f"{sandbox.url}/_sandbox/checkout/{session_id}"
    response = HTTP.get(url)
    parsed = _Page()
    parsed.feed(response.text)
    return response.status_code, parsed, url


def test_page_shows_the_item_and_its_amount_and_loads_nothing_external(sandbox):
    session = create_session(sdk(sandbox), amount=7500, name="30-minute mentoring")
    status, page, _ = page_of(sandbox, session.id)
    assert status == 200
    assert "30-minute mentoring" in page.visible
    assert "75.00 USD" in page.visible
    assert page.external == []


@pytest.mark.parametrize(
    ("currency", "amount", "shown"), [("jpy", 5000, "5,000 JPY"), ("eur", 123456, "1,234.56 EUR")]
)
def test_amounts_are_formatted_from_minor_units_zero_decimal_aware(
    sandbox, currency, amount, shown
):
    session = create_session(sdk(sandbox), amount=amount, currency=currency)
    assert shown in page_of(sandbox, session.id)[1].visible


def test_the_script_pays_through_the_control_and_then_follows_the_return_url(sandbox):
    client = sdk(sandbox)
    session = create_session(client)
    _, page, url = page_of(sandbox, session.id)

    assert page.config["redirectUrl"] == (
        f"https://mentorpay.example/return?session_id={session.id}"
    )
    response = HTTP.post(
        urljoin(url, page.config["payUrl"]), json={"card": "4242 4242 4242 4242", "email": None}
    )
    assert response.status_code == 200
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"


def test_the_script_gets_the_card_error_message_to_show_on_a_decline(sandbox):
    session = create_session(sdk(sandbox))
    _, page, url = page_of(sandbox, session.id)
    response = HTTP.post(urljoin(url, page.config["payUrl"]), json={"card": DECLINED_CARD})
    assert response.status_code == 402
    assert response.json()["error"]["message"] == "Your card was declined."


def test_names_are_escaped_so_the_page_cannot_be_scripted(sandbox):
    name = '</script><script>alert("x")</script><b>bold</b>'
    session = create_session(sdk(sandbox), name=name)
    response = HTTP.get(f"{sandbox.url}/_sandbox/checkout/{session.id}")
    assert "<script>alert" not in response.text and "<b>bold" not in response.text
    _, page, _ = page_of(sandbox, session.id)
    assert name in page.visible


def test_paid_and_expired_sessions_show_their_state_instead_of_a_form(sandbox):
    client = sdk(sandbox)
    paid, expired = create_session(client), create_session(client)
    pay(sandbox, paid.id)
    client.v1.checkout.sessions.expire(expired.id)
    assert "This checkout is paid." in page_of(sandbox, paid.id)[1].visible
    assert "expired" in page_of(sandbox, expired.id)[1].visible
    assert 'id="pay-form"' not in HTTP.get(f"{sandbox.url}/_sandbox/checkout/{paid.id}").text


def test_unknown_session_page_is_a_404(sandbox):
    status, page, _ = page_of(sandbox, "cs_test_nope")
    assert status == 404
    assert "cs_test_nope" in page.visible

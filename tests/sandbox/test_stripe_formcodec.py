"""The bracketed form decoder, the money formatter and the test-card table."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stripe._encode import _api_encode  # the SDK's own request encoder

from sandbox.stripe.cards import TEST_CARDS, card_for, luhn_valid
from sandbox.stripe.errors import StripeError
from sandbox.stripe.formcodec import FormDecodeError, as_list, decode_form
from sandbox.stripe.money import format_amount, minor_digits


def sdk_body(params: dict[str, Any]) -> str:
    """What the SDK puts on the wire for ``params`` (brackets left readable, as it does)."""
    return urlencode(list(_api_encode(params))).replace("%5B", "[").replace("%5D", "]")


def lists_restored(value: Any) -> Any:
    """The decoder keeps ``[0]`` as a hash key; a schema turns it back into a list."""
    if isinstance(value, dict):
        restored = as_list({k: lists_restored(v) for k, v in value.items()})
        return restored
    if isinstance(value, list):
        return [lists_restored(v) for v in value]
    return value


def test_decodes_what_the_sdk_sends_for_a_checkout_session():
    params = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 7500,
                    "product_data": {"name": "Mentoring & more"},
                },
                "quantity": 1,
            }
        ],
        "metadata": {"booking_id": "b=1&2"},
        "expand": ["payment_intent"],
    }
    decoded = decode_form(sdk_body(params))
    assert decoded == {
        "mode": "payment",
        "line_items": {
            "0": {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": "7500",
                    "product_data": {"name": "Mentoring & more"},
                },
                "quantity": "1",
            }
        },
        "metadata": {"booking_id": "b=1&2"},
        "expand": {"0": "payment_intent"},
    }


def test_empty_brackets_append_and_digit_keys_stay_hash_keys_until_a_schema_asks():
    decoded = decode_form("expand[]=a&expand[]=b&metadata[0]=zero&metadata[1]=one")
    assert decoded["expand"] == ["a", "b"]
    assert decoded["metadata"] == {"0": "zero", "1": "one"}
    assert as_list(decoded["metadata"]) == ["zero", "one"]
    assert as_list({"10": "b", "2": "a"}) == ["a", "b"]  # by index, not by text
    assert as_list({"01": "x"}) == {"01": "x"}  # not an index


def test_repeated_scalars_keep_the_last_value_and_blank_fields_are_ignored():
    assert decode_form("a=1&&a=2&") == {"a": "2"}
    assert decode_form("") == {}
    assert decode_form("note=") == {"note": ""}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("a=1&a[b]=2", "a[b]"),
        ("a[b]=1&a=2", "a"),
        ("a[]=1&a[b]=2", "a[b]"),
        ("a[b]=1&a[]=2", "a[]"),
        ("a[b=1", "a[b"),
        ("a]=1", "a]"),
        ("[a]=1", "[a]"),
        ("a[][b]=1", "a[][b]"),
        ("a[1][2][3][4][5][6][7][8]=x", "a[1][2][3][4][5][6][7][8]"),
    ],
)
def test_malformed_or_conflicting_keys_are_refused_naming_the_key(body, param):
    with pytest.raises(FormDecodeError) as caught:
        decode_form(body)
    assert caught.value.param == param


@pytest.mark.parametrize("body", ["no-equals-sign", "%ff=1", "a=%ff"])
def test_undecodable_bodies_are_refused(body):
    with pytest.raises(FormDecodeError):
        decode_form(body)


_KEYS = st.text(
    st.characters(blacklist_characters="[]", blacklist_categories=("Cs",)), min_size=1, max_size=6
)
_SCALARS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8) | st.integers(
    -(10**6), 10**6
).map(str)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.dictionaries(_KEYS, inner, min_size=1, max_size=3)
        | st.lists(inner, min_size=1, max_size=3)
    ),
    max_leaves=8,
)


@given(st.dictionaries(_KEYS, _VALUES, max_size=4))
def test_decoding_inverts_the_sdk_encoder(params):
    """Whatever the SDK encodes, decoding (plus the schema's list rule) gives it back."""
    # A hash whose keys all look like indexes is indistinguishable from a list on the wire.
    assert lists_restored(decode_form(sdk_body(params))) == lists_restored(params)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (7500, "usd", "75.00 USD"),
        (5, "eur", "0.05 EUR"),
        (123456789, "usd", "1,234,567.89 USD"),
        (1000, "jpy", "1,000 JPY"),
        (1000, "KRW", "1,000 KRW"),
        (1234, "kwd", "1.234 KWD"),
        (-250, "gbp", "-2.50 GBP"),
    ],
)
def test_amounts_are_shown_in_the_currencys_major_unit(amount, currency, shown):
    assert format_amount(amount, currency) == shown


def test_zero_decimal_currencies_have_no_minor_unit():
    assert [minor_digits(c) for c in ("jpy", "vnd", "usd", "bhd")] == [0, 0, 2, 3]


def test_every_test_card_is_a_valid_number_and_declines_carry_codes():
    for number, card in TEST_CARDS.items():
        assert luhn_valid(number), number
        if card.decline:
            assert card.decline.code and card.decline.decline_code and card.decline.message
    assert not luhn_valid("4242424242424241")


def test_card_numbers_may_be_typed_with_spaces_and_unknown_numbers_are_live_cards():
    assert card_for("4242 4242 4242 4242").decline is None
    assert card_for("4000-0000-0000-0002").decline.decline_code == "generic_decline"
    assert card_for("4111111111111111").decline.decline_code == "test_mode_live_card"
    with pytest.raises(StripeError) as caught:
        card_for("4242424242424241")
    assert (caught.value.status, caught.value.code) == (402, "incorrect_number")

"""The wire protocol: authentication, form bodies, idempotency keys, errors, faults."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.stripe_sandbox import (
    API_KEY,
    api,
    control,
    paid_intent,
    sdk,
    session_params,
)


def assert_stripe_error(response, status: int, type_: str = "invalid_request_error") -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == type_
    assert error["message"]
    assert response.headers["request-id"].startswith("req_")
    return error


# Authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer sk_live_abc123",
        "Bearer pk_test_abc123",
        "Token sk_test_abc",
        "Basic !!!not-base64",
    ],
)
def test_calls_without_a_test_secret_key_are_401(sandbox, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = api(sandbox, "GET", "/v1/balance", api_key=None, headers=headers)
    assert_stripe_error(response, 401)


def test_the_sdk_maps_a_bad_key_to_authentication_error(sandbox):
    with pytest.raises(stripe.AuthenticationError):
        sdk(sandbox, api_key="sk_live_real").v1.balance.retrieve()


def test_basic_auth_with_the_key_as_user_works_like_curl_u(sandbox):
    token = base64.b64encode(f"{API_KEY}:".encode()).decode()
    response = api(
        sandbox, "GET", "/v1/balance", api_key=None, headers={"Authorization": f"Basic {token}"}
    )
    assert response.status_code == 200
    assert response.json()["object"] == "balance"


# Bad input: always a Stripe-shaped 4xx -----------------------------------------------------


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("payment_intent=pi_1&amount=abc", "amount"),
        ("payment_intent=pi_1&amount=12.5", "amount"),
        ("payment_intent=pi_1&amount[x]=1", "amount"),
        ("payment_intent=pi_1&metadata=flat", "metadata"),
        ("payment_intent=pi_1&metadata[k][deep]=v", "metadata[k]"),
        ("payment_intent=pi_1&amount=", "amount"),
        ("payment_intent=pi_1&color=blue", "color"),
        ("payment_intent=pi_1&metadata[k=v", "metadata[k"),
        ("payment_intent=pi_1&amount=1&amount[x]=2", "amount[x]"),
    ],
)
def test_wrong_types_and_unknown_parameters_are_400_naming_the_parameter(sandbox, body, param):
    response = api(sandbox, "POST", "/v1/refunds", content=body, headers=FORM)
    error = assert_stripe_error(response, 400)
    assert error["param"] == param


def test_unknown_nested_parameter_is_named_in_bracket_form(sandbox):
    params = session_params()
    params["line_items"][0]["price_data"]["colour"] = "red"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk(sandbox).v1.checkout.sessions.create(params=params)
    assert caught.value.param == "line_items[0][price_data][colour]"
    assert caught.value.code == "parameter_unknown"


def test_missing_required_parameter_is_named(sandbox):
    params = session_params()
    del params["line_items"][0]["price_data"]["product_data"]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        sdk(sandbox).v1.checkout.sessions.create(params=params)
    assert caught.value.param == "line_items[0][price_data][product_data]"
    assert caught.value.code == "parameter_missing"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"payment_intent": "pi_1"}', "application/json"),
        (b"payment_intent=\xff\xfe", "application/x-www-form-urlencoded"),
        (b"just some words", "application/x-www-form-urlencoded"),
        (b"--boundary\r\n", "multipart/form-data; boundary=boundary"),
    ],
)
def test_malformed_bodies_are_400(sandbox, content, content_type):
    response = api(
        sandbox, "POST", "/v1/refunds", content=content, headers={"Content-Type": content_type}
    )
    assert_stripe_error(response, 400)


def test_unknown_query_parameter_on_a_get_is_400(sandbox):
    error = assert_stripe_error(api(sandbox, "GET", "/v1/charges?colour=red"), 400)
    assert error["param"] == "colour"


def test_limit_out_of_range_is_400(sandbox):
    error = assert_stripe_error(api(sandbox, "GET", "/v1/events?limit=101"), 400)
    assert error["param"] == "limit"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/customers"), ("DELETE", "/v1/refunds"), ("POST", "/v1/charges/ch_1")],
)
def test_unrecognised_urls_and_methods_are_a_stripe_shaped_404(sandbox, method, path):
    error = assert_stripe_error(api(sandbox, method, path), 404)
    assert f"({method}: {path})" in error["message"]


_NAMES = st.sampled_from(
    [
        "mode",
        "ui_mode",
        "line_items",
        "line_items[0]",
        "line_items[0][quantity]",
        "line_items[0][price_data][unit_amount]",
        "line_items[][x]",
        "metadata",
        "metadata[k]",
        "expand[]",
        "expand[0]",
        "return_url",
        "expires_at",
        "a[b",
        "x]",
    ]
) | st.text(max_size=12)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pairs=st.lists(st.tuples(_NAMES, st.text(max_size=12)), max_size=8))
def test_any_form_body_gets_an_answer_never_a_500(sandbox, pairs):
    response = api(sandbox, "POST", "/v1/checkout/sessions", content=urlencode(pairs), headers=FORM)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["type"] == "invalid_request_error"


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=64))
def test_any_bytes_get_an_answer_never_a_500(sandbox, body):
    response = api(sandbox, "POST", "/v1/transfers", content=body, headers=FORM)
    assert 400 <= response.status_code < 500, response.text


# Idempotency -------------------------------------------------------------------------------


def test_the_same_key_and_parameters_replay_the_first_response(sandbox):
    params = session_params()
    first = api(
        sandbox,
        "POST",
        "/v1/checkout/sessions",
        content=_form(params),
        headers={**FORM, "Idempotency-Key": "checkout:b1"},
    )
    again = api(
        sandbox,
        "POST",
        "/v1/checkout/sessions",
        content=_form(params),
        headers={**FORM, "Idempotency-Key": "checkout:b1"},
    )

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["original-request"] == first.headers["request-id"]
    assert len(sdk(sandbox).v1.checkout.sessions.list().data) == 1


def test_the_sdk_sees_the_same_object_for_a_replayed_key(sandbox):
    client = sdk(sandbox)
    options = {"idempotency_key": "refund:p1"}
    intent = paid_intent(sandbox, client)
    one = client.v1.refunds.create(params={"payment_intent": intent.id}, options=options)
    two = client.v1.refunds.create(params={"payment_intent": intent.id}, options=options)
    assert one.id == two.id
    assert client.v1.charges.retrieve(intent.latest_charge).amount_refunded == 7500


def test_the_same_key_with_other_parameters_is_an_idempotency_error(sandbox):
    client = sdk(sandbox)
    client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "k"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.checkout.sessions.create(
            params=session_params(amount=9900), options={"idempotency_key": "k"}
        )
    assert caught.value.http_status == 400
    with pytest.raises(stripe.IdempotencyError):  # another endpoint is another request
        client.v1.accounts.create(params={"type": "express"}, options={"idempotency_key": "k"})


def test_an_error_once_execution_began_is_replayed_too(sandbox):
    client = sdk(sandbox)
    intent = paid_intent(sandbox, client)
    body = _form({"payment_intent": intent.id, "amount": 9000})
    first = api(
        sandbox,
        "POST",
        "/v1/refunds",
        content=body,
        headers={**FORM, "Idempotency-Key": "too-much"},
    )
    second = api(
        sandbox,
        "POST",
        "/v1/refunds",
        content=body,
        headers={**FORM, "Idempotency-Key": "too-much"},
    )
    assert first.status_code == second.status_code == 400
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"


def test_a_request_refused_for_its_parameters_saves_nothing_under_its_key(sandbox):
    client = sdk(sandbox)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(
            params={**session_params(), "colour": "red"},
            options={"idempotency_key": "fix-and-retry"},
        )
    session = client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "fix-and-retry"}
    )
    assert session.status == "open"


def test_keys_belong_to_one_api_key(sandbox):
    one = sdk(sandbox, "sk_test_one").v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "shared"}
    )
    two = sdk(sandbox, "sk_test_two").v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "shared"}
    )
    assert one.id != two.id


def test_an_overlong_idempotency_key_is_refused(sandbox):
    response = api(
        sandbox,
        "POST",
        "/v1/checkout/sessions",
        content=_form(session_params()),
        headers={**FORM, "Idempotency-Key": "k" * 256},
    )
    assert_stripe_error(response, 400)


def test_keys_expire_after_24_hours_of_sandbox_time(sandbox):
    client = sdk(sandbox)
    kept = client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "old"}
    )
    control(sandbox, "POST", "/clock/advance", json={"seconds": 24 * 3600 + 1})
    fresh = client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "old"}
    )
    assert fresh.id != kept.id


# Fault injection on a Stripe path ----------------------------------------------------------


def test_injected_500_reaches_the_sdk_as_api_error_once(sandbox):
    client = sdk(sandbox)
    intent = paid_intent(sandbox, client)
    armed = control(
        sandbox,
        "POST",
        "/faults",
        json={
            "service": "stripe",
            "method": "POST",
            "path": "/v1/refunds",
            "status": 500,
            "times": 1,
        },
    )
    assert armed.status_code == 201

    with pytest.raises(stripe.APIError):
        client.v1.refunds.create(
            params={"payment_intent": intent.id}, options={"idempotency_key": "refund:fault"}
        )
    refund = client.v1.refunds.create(
        params={"payment_intent": intent.id}, options={"idempotency_key": "refund:fault"}
    )
    assert refund.amount == 7500


def test_injected_dropped_connection_is_an_api_connection_error(sandbox):
    client = sdk(sandbox)
    control(
        sandbox,
        "POST",
        "/faults",
        json={"service": "stripe", "path": "/v1/balance", "status": 0, "times": 1},
    )
    with pytest.raises(stripe.APIConnectionError):
        client.v1.balance.retrieve()
    assert client.v1.balance.retrieve().object == "balance"


def _form(params: dict) -> str:
    """Encode like the SDK: bracketed keys, indexed lists."""
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}[{key}]" if prefix else key, item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        else:
            pairs.append((prefix, str(value)))

    walk("", params)
    return urlencode(pairs)

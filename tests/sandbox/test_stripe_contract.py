"""Every object the emulator serves has the shape of Stripe's own example object.

The examples are Stripe's ``fixtures3.json`` (from the stripe/openapi repository, MIT,
copied beside this test). For each key of the example: the key must be present; where the
example's value is not null, ours has the same JSON type, or is null only where the official
SDK types the field as nullable (``Optional``) — a field Stripe documents as "null unless
...". Nested objects are checked the same way, all the way down.
"""

from __future__ import annotations

import importlib
import json
import typing
from pathlib import Path
from typing import Any

import pytest
import stripe
from stripe._object_classes import OBJECT_CLASSES

from tests.support.stripe_sandbox import (
    DECLINED_CARD,
    DEMO_ACCOUNT,
    api,
    control,
    create_session,
    pay,
    sdk,
)

FIXTURES = Path(__file__).parent / "fixtures" / "stripe_fixtures3.json"
SHARED_FIXTURES = Path(__file__).parents[3] / "shared" / "reference" / "stripe" / "fixtures3.json"
SERVED_TYPES = (
    "checkout.session",
    "payment_intent",
    "charge",
    "refund",
    "transfer",
    "transfer_reversal",
    "account",
    "event",
    "balance",
    "dispute",
)


def examples() -> dict[str, Any]:
    return json.loads(FIXTURES.read_text())["resources"]


def sdk_class(object_type: str) -> type:
    module, name = OBJECT_CLASSES[object_type]
    return getattr(importlib.import_module(module), name)


def _annotations(cls: type) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        merged.update(getattr(klass, "__annotations__", {}))
    return merged


def _nullable(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _nested_class(annotation: Any) -> type | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, stripe.StripeObject):
            return candidate
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", dict: "object", list: "array"}.get(type(value), repr(type(value)))


def shape_mismatches(
    example: dict[str, Any], actual: dict[str, Any], cls: type | None, path: str = ""
) -> list[str]:
    annotations = _annotations(cls) if cls else {}
    problems = []
    for key, expected in example.items():
        where = f"{path}{key}"
        if key not in actual:
            problems.append(f"{where}: missing")
            continue
        value, annotation = actual[key], annotations.get(key)
        if expected is None:
            continue
        if value is None:
            if annotation is None or not _nullable(annotation):
                problems.append(f"{where}: null, but the SDK types it as never null")
            continue
        if _json_type(value) != _json_type(expected):
            problems.append(f"{where}: {_json_type(value)}, Stripe's is {_json_type(expected)}")
            continue
        nested = _nested_class(annotation) if annotation is not None else None
        if nested is None:
            continue
        if isinstance(expected, dict):
            problems += shape_mismatches(expected, value, nested, f"{where}.")
        elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
            for index, item in enumerate(value):
                problems += shape_mismatches(expected[0], item, nested, f"{where}[{index}].")
    return problems


@pytest.fixture
def served(sandbox) -> dict[str, list[dict[str, Any]]]:
    """Objects of every served type, in every state a flow leaves them in, as raw JSON."""
    client = sdk(sandbox)

    def get(path: str) -> dict[str, Any]:
        response = api(sandbox, "GET", path)
        assert response.status_code == 200, response.text
        return response.json()

    open_session = create_session(client, customer_email="ada@example.com")
    hosted = create_session(
        client, ui_mode="hosted_page", return_url=None, success_url="https://x.example/ok"
    )
    declined = create_session(client)
    pay(sandbox, declined.id, card=DECLINED_CARD)
    paid = create_session(client)
    pay(sandbox, paid.id, name="Ada Lovelace")
    expired = create_session(client)
    pay(sandbox, expired.id, card=DECLINED_CARD)
    client.v1.checkout.sessions.expire(expired.id)

    intent = get(f"/v1/payment_intents/{get(f'/v1/checkout/sessions/{paid.id}')['payment_intent']}")
    refund = client.v1.refunds.create(params={"payment_intent": intent["id"], "amount": 100})
    transfer = client.v1.transfers.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "destination": DEMO_ACCOUNT,
            "source_transaction": intent["latest_charge"],
            "transfer_group": "g",
        }
    )
    reversal = client.v1.transfers.reversals.create(transfer.id, params={"amount": 10})
    account = client.v1.accounts.create(
        params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    control(sandbox, "POST", f"/accounts/{account.id}", json={"charges_enabled": True})
    dispute = control(sandbox, "POST", f"/charges/{intent['latest_charge']}/dispute").json()

    sessions = [
        get(f"/v1/checkout/sessions/{s.id}")
        for s in (open_session, hosted, declined, paid, expired)
    ]
    return {
        "checkout.session": sessions,
        "payment_intent": get("/v1/payment_intents?limit=100")["data"],
        "charge": get("/v1/charges?limit=100")["data"],
        "refund": [get(f"/v1/refunds/{refund.id}")],
        "transfer": [get(f"/v1/transfers/{transfer.id}")],
        "transfer_reversal": [get(f"/v1/transfers/{transfer.id}/reversals/{reversal.id}")],
        "account": get("/v1/accounts?limit=100")["data"],
        "event": get("/v1/events?limit=100")["data"],
        "balance": [get("/v1/balance")],
        "dispute": [get(f"/v1/disputes/{dispute['id']}")],
    }


def test_the_fixture_copy_is_stripes_file():
    copy = FIXTURES.read_bytes()
    assert (FIXTURES.parent / "LICENSE-fixtures3").read_text().startswith("The MIT License")
    if SHARED_FIXTURES.exists():  # the shared reference is outside the repo, when present
        assert copy == SHARED_FIXTURES.read_bytes()
    assert set(SERVED_TYPES) <= set(json.loads(copy)["resources"])


@pytest.mark.parametrize("object_type", SERVED_TYPES)
def test_served_objects_have_the_keys_and_types_of_stripes_example(served, object_type):
    objects = served[object_type]
    assert objects, f"no {object_type} was produced"
    example = examples()[object_type]
    for obj in objects:
        assert obj["object"] == object_type
        assert shape_mismatches(example, obj, sdk_class(object_type)) == [], obj.get("id")


def test_every_event_payload_is_a_served_type_with_its_shape(served):
    """Objects inside events (``data.object``) obey the same contract."""
    seen = set()
    for event in served["event"]:
        obj = event["data"]["object"]
        seen.add(obj["object"])
        assert obj["object"] in SERVED_TYPES
        problems = shape_mismatches(examples()[obj["object"]], obj, sdk_class(obj["object"]))
        assert problems == [], event["type"]
    assert {
        "checkout.session",
        "payment_intent",
        "charge",
        "refund",
        "transfer",
        "account",
        "dispute",
    } <= seen


def test_the_checker_catches_a_missing_key_a_wrong_type_and_a_wrong_null():
    example = {"amount": 100, "currency": "usd", "id": "ch_1", "refunded": False}
    assert shape_mismatches(
        example,
        {"amount": "100", "currency": "usd", "id": "ch_1", "refunded": False},
        stripe.Charge,
    ) == ["amount: string, Stripe's is number"]
    assert shape_mismatches(
        example, {"amount": 1, "currency": "usd", "id": "ch_1"}, stripe.Charge
    ) == ["refunded: missing"]
    assert shape_mismatches(
        example, {"amount": None, "currency": "usd", "id": "ch_1", "refunded": True}, stripe.Charge
    ) == ["amount: null, but the SDK types it as never null"]

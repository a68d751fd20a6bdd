"""Schemathesis over the API's own OpenAPI document, against the live product over HTTP: every
answer must be a documented status with a documented content type and body, and never a 5xx.

The ``default`` response is taken out of the document first: it types errors nobody has
documented yet for clients, but here it would hide exactly those.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from api.openapi_docs import document
from tests.contract.live_stack import CRON_SECRET, LiveStack, live_stack

load_all_checks()
ALL_CHECKS = CHECKS.get_all()


@pytest.fixture(scope="module")
def contract_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    database = tmp_path_factory.mktemp("contract") / "mentorpay.db"
    with live_stack(f"sqlite:///{database}") as stack:
        yield stack


def strict(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    for path_item in document["paths"].values():
        for operation in path_item.values():
            operation["responses"].pop("default", None)
    return document


# Valid by the schema is not always valid by the rules a schema cannot state (an IANA time-zone
# name, a slot Cal.com offers, a Stripe id that exists): such a request is a documented 422 or
# 404. A webhook is never valid without Stripe's signature over its body: 400. Unknown query
# parameters are ignored by design, and the test sends the credentials itself (valid tokens).
CONFIG = SchemathesisConfig.from_str(
    """
[generation]
allow-extra-parameters = false
with-security-parameters = false

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

[[operations]]
include-path = "/api/webhooks/stripe"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400"]
"""
)
schema = schemathesis.openapi.from_dict(strict(document()), config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25")),
    derandomize=True,  # a fixed seed: the same cases on every run
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_documented(case: Any, contract_stack: LiveStack) -> None:
    if case.path == "/api/cron/process-payouts":
        token = CRON_SECRET
    else:
        token = contract_stack.token("user-1", "admin")
    case.call_and_validate(
        base_url=contract_stack.api_url,
        headers={"Authorization": f"Bearer {token}"},
        checks=ALL_CHECKS,
        timeout=30,
    )


def test_a_refused_field_is_named(contract_stack: LiveStack) -> None:
    body = {
        "eventTypeId": 1001,
        "start": "2030-01-07T09:00:00Z",
        "attendee": {"name": "Alan Turing", "email": "not-an-email", "timeZone": "Europe/London"},
    }
    response = httpx.post(
        f"{contract_stack.api_url}/api/checkout-sessions",
        json=body,
        headers={"Authorization": f"Bearer {contract_stack.token()}"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == ["attendee.email"]
    assert problem["detail"].startswith("attendee.email: ")

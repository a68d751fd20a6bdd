"""Schemathesis over the API's own OpenAPI document, against the live product over HTTP: every
answer must be a documented status with a documented content type and body, and never a 5xx.

The ``default`` response is taken out of the document first: it types errors nobody has
documented yet for clients, but here it would hide exactly those.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from api.openapi_docs import document
from tests.support.live_stack import CRON_SECRET, LiveStack, live_stack

# Serves the API on loopback and sends it generated requests.
pytestmark = pytest.mark.integration

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


def credentials(path: str, stack: LiveStack) -> dict[str, str]:
    if path == "/api/cron/process-payouts":
        token = CRON_SECRET
    elif path == "/api/checkout-sessions":
        token = stack.token("user-1", "user")  # only attendees open checkouts
    else:
        token = stack.token("user-1", "admin")
    return {"Authorization": f"Bearer {token}"}


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
    case.call_and_validate(
        base_url=contract_stack.api_url,
        headers=credentials(case.path, contract_stack),
        checks=ALL_CHECKS,
        timeout=30,
    )


VALID_CHECKOUT = {
    "eventTypeId": 1001,
    "attendee": {"name": "Alan Turing", "email": "alan@example.com", "timeZone": "Europe/London"},
}


def free_slot(stack: LiveStack) -> str:
    now = datetime.now(UTC)
    window = {
        "start": (now + timedelta(days=1)).isoformat(),
        "end": (now + timedelta(days=30)).isoformat(),
    }
    response = httpx.get(
        f"{stack.api_url}/api/event-types/1001/slots",
        params=window,
        headers=credentials("/", stack),
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()[0]["start"])


def test_sequences_along_the_documented_links(contract_stack: LiveStack) -> None:
    """Stateful: list event types, open a checkout, then read, confirm, cancel it and read its
    history, as the document's links say (and the links schemathesis infers)."""

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            # A checkout needs a slot Cal.com offers now, which no schema can say: give the
            # generated body a free one, so that the links after a 201 are followed.
            checkout = case.method == "POST" and case.path == "/api/checkout-sessions"
            if checkout and isinstance(case.body, dict):
                case.body = {**VALID_CHECKOUT, "start": free_slot(contract_stack)}

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {
                "base_url": contract_stack.api_url,
                "headers": credentials(case.path, contract_stack),
                "timeout": 30,
            }

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=ALL_CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=int(os.environ.get("SCHEMATHESIS_STATEFUL_EXAMPLES", "15")),
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
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

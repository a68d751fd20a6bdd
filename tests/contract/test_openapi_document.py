"""What a client generated from ``/openapi.json`` relies on, read from the document itself."""

from __future__ import annotations

import re
from typing import Any

from api.openapi_docs import PROBLEM_REF, document
from api.problems import PROBLEM_JSON

DOC = document()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in DOC["paths"].items()
    for method, operation in item.items()
]
# Not problem documents: readiness reports its own JSON body on 503, by design.
OWN_BODIES = {("GET", "/readyz", "503")}


def test_operation_ids_are_unique_camel_case_names() -> None:
    ids = [operation["operationId"] for _, _, operation in OPERATIONS]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", name) for name in ids), ids
    names = {(method, path): operation["operationId"] for method, path, operation in OPERATIONS}
    assert names["POST", "/api/checkout-sessions"] == "createCheckoutSession"
    assert names["POST", "/api/bookings/confirm"] == "confirmBooking"


def test_every_error_is_a_problem_document() -> None:
    for method, path, operation in OPERATIONS:
        answers: dict[str, Any] = operation["responses"]
        assert "default" in answers, (method, path)
        for status, answer in answers.items():
            if status.startswith(("4", "5")) or status == "default":
                if (method, path, status) in OWN_BODIES:
                    continue
                content = answer["content"]
                assert list(content) == [PROBLEM_JSON], (method, path, status)
                assert content[PROBLEM_JSON]["schema"] == {"$ref": PROBLEM_REF}
                expected = 500 if status == "default" else int(status)
                assert content[PROBLEM_JSON]["example"]["status"] == expected


def test_secured_operations_document_401_and_bodies_document_400_413_422() -> None:
    for method, path, operation in OPERATIONS:
        answers = operation["responses"]
        if operation.get("security"):
            assert "401" in answers, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(answers), (method, path)


def test_the_problem_schema_names_the_refused_field() -> None:
    schemas = DOC["components"]["schemas"]
    problem = schemas["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}
    assert {"field", "loc", "msg"} <= set(schemas["FieldError"]["required"])
    assert "HTTPValidationError" not in schemas


def test_confirm_documents_pending_as_202_and_requests_carry_examples() -> None:
    confirm = DOC["paths"]["/api/bookings/confirm"]["post"]["responses"]
    assert confirm["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ConfirmResponse"
    }
    schemas = DOC["components"]["schemas"]
    assert schemas["CheckoutSessionRequest"]["examples"][0]["eventTypeId"] == 1001

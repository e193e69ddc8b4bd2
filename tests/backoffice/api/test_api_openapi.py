"""The OpenAPI document: valid 3.1, and the same routes as the router, both ways."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from api_testkit import DOC, PREFIX, Api, schema_errors
from openapi_spec_validator import validate

from backoffice.api.app import create_api
from backoffice.api.openapi import MONEY_PATTERN
from backoffice.api.operations import openapi_document
from backoffice.domain.endorsement import KINDS
from backoffice.services.policies import PAYMENT_METHODS, TRANSITIONS
from backoffice.store.db import Database

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def router_operations(tmp_path: Path) -> set[tuple[str, str]]:
    """(method, path template) of every route create_api registers, HEAD aside."""
    api = create_api(Database(f"sqlite:///{tmp_path / 'unused.db'}"), "token")
    return {
        (route.method.lower(), route.resource.canonical)
        for route in api.router.routes()
        if route.resource is not None and route.method not in ("HEAD", "*")
    }


def document_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m, path) for path, item in doc["paths"].items() for m in item if m in METHODS}


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node)) if node else set()
    return set()


def test_document_is_valid_openapi_3_1() -> None:
    doc = openapi_document()
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises OpenAPIValidationError with the first problem


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    routed = router_operations(tmp_path)
    documented = document_operations(DOC)
    assert routed, "no routes found in create_api"
    assert routed - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routed == set(), "documented operations with no route"


def test_servers_url_and_path_parameters_match_templates() -> None:
    assert DOC["servers"] == [{"url": PREFIX}]
    for path, item in DOC["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", [])
                        if p.get("in") == "path"}
            assert declared == names, (method, path)


def test_bearer_security_everywhere_except_the_document_and_signing_in() -> None:
    assert DOC["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": DOC["components"]["securitySchemes"]["bearerAuth"]["description"]}
    assert DOC["security"] == [{"bearerAuth": []}]
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            if (method, path) in (("get", "/openapi.json"), ("post", "/auth/token")):
                assert operation["security"] == []
            else:
                assert "security" not in operation, (method, path)  # the global one applies
                assert "401" in operation["responses"], (method, path)


def test_every_operation_answers_something_and_has_an_id() -> None:
    ids = []
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            ids.append(operation["operationId"])
            success = [s for s in operation["responses"] if s.startswith("2")]
            assert success, (method, path)
            assert operation["summary"], (method, path)
            if method in ("post", "patch") and path != "/group-policies/{policy_no}/roster":
                content = operation["requestBody"]["content"]
                upload = path == "/claims/{claim_no}/documents"
                assert ("multipart/form-data" if upload else "application/json") in content, (
                    method, path)
    assert len(ids) == len(set(ids))


def test_all_references_resolve() -> None:
    for reference in refs(DOC):
        node: Any = DOC
        assert reference.startswith("#/"), reference
        for part in reference[2:].split("/"):
            assert part in node, reference
            node = node[part]


def test_named_schemas_exist() -> None:
    schemas = DOC["components"]["schemas"]
    for name in ("Error", "PolicySummary", "PolicyDetail", "Apply", "Quote", "QuoteRequest",
                 "Endorse", "RecordPayment", "Transition", "Party", "UpdateParty",
                 "GroupPolicy", "RosterImportResult", "Outlet", "AuditEntry"):
        assert name in schemas, name
    error = schemas["Error"]["properties"]["error"]
    while "$ref" in error:
        error = schemas[error["$ref"].rsplit("/", 1)[-1]]
    assert set(error["required"]) == {"code", "message", "field"}
    roster = schemas["RosterImportResult"]
    assert set(roster["required"]) == {"imported", "skipped", "errors"}
    row = schemas[roster["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[-1]]
    assert set(row["required"]) == {"line", "field",
                                                                        "message"}


def test_an_endorsement_names_its_kind_from_the_domain() -> None:
    schemas = DOC["components"]["schemas"]
    request = {"$ref": "#/components/schemas/Endorse"}
    assert schemas["Endorse"]["properties"]["kind"]["enum"] == list(KINDS)
    assert "kind" in schemas["Endorse"]["required"]
    assert not schema_errors(request, {"kind": "surrender"})
    assert schema_errors(request, {"kind": "no_such_kind"})
    assert schema_errors(request, {"kind": "change_contact", "phone": 13900001111})


def test_enums_follow_the_services() -> None:
    schemas = DOC["components"]["schemas"]
    assert schemas["Transition"]["properties"]["action"]["enum"] == list(TRANSITIONS)
    assert schemas["RecordPayment"]["properties"]["method"]["enum"] == list(PAYMENT_METHODS)


def test_money_is_a_decimal_string_and_dates_are_dates() -> None:
    schemas = DOC["components"]["schemas"]
    assert schemas["Money"] == {**schemas["Money"], "type": "string", "pattern": MONEY_PATTERN}
    assert schemas["Date"]["format"] == "date"
    assert schemas["Timestamp"]["format"] == "date-time"
    money = {"$ref": "#/components/schemas/Money"}
    for good in ("0.00", "1234.50", "-12.30"):
        assert not schema_errors(money, good), good
    for bad in ("12", "12.5", "1,234.50", 12.5, "1e3"):
        assert schema_errors(money, bad), bad
    amount = {"$ref": "#/components/schemas/AmountInput"}
    for good in ("100", "100.5", "100.50", 100):
        assert not schema_errors(amount, good), good
    for bad in ("-1.00", 1.5, "1.001", "abc", -3):
        assert schema_errors(amount, bad), bad
    date = {"$ref": "#/components/schemas/Date"}
    assert not schema_errors(date, "2026-02-28")
    assert schema_errors(date, "2026-02-30")


def test_descriptions_are_english() -> None:
    def texts(node: Any) -> list[str]:
        if isinstance(node, dict):
            out = [v for k, v in node.items() if k in ("description", "summary")
                   and isinstance(v, str)]
            return out + [t for v in node.values() for t in texts(v)]
        if isinstance(node, list):
            return [t for v in node for t in texts(v)]
        return []

    # a few Chinese terms in parentheses are fine; whole sentences are not
    for text in texts(DOC):
        han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
        assert han <= 4, text


async def test_openapi_json_is_served_without_a_token(sqlite_api: Api) -> None:
    doc = await sqlite_api.get("/openapi.json", auth=False, expect=200)
    assert doc == openapi_document()
    with_token = await sqlite_api.get("/openapi.json", expect=200)
    assert with_token == doc

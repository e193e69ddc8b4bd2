"""The claims part of the OpenAPI document follows CONTRACTS.md and the claims service; the
platform keeps uploads where the settings say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_testkit import DOC, schema_errors

from backoffice.domain.endorsement import RELATIONS
from backoffice.domain.product import CLAIM_TYPES
from backoffice.services import claim_stats, claims
from xiaobao.config import Settings

SCHEMAS = DOC["components"]["schemas"]


def resolved(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema
CONTRACT_STATUSES = ["reported", "registered", "documents_pending", "under_review",
                     "investigating", "adjudicated", "pending_approval", "approved", "paid",
                     "closed", "rejected", "withdrawn"]


def test_named_claims_schemas_exist() -> None:
    for name in ("Claim", "ClaimSummary", "ClaimList", "ClaimProgress", "ClaimReport",
                 "ClaimTransition", "DocumentReceipt",
                 "AdjudicationPreviewRequest", "AdjudicationPreview", "ClaimStats",
                 "ClaimFacts"):
        assert name in SCHEMAS, name


def test_enums_follow_the_contract_and_the_service() -> None:
    assert set(SCHEMAS["ClaimTransition"]["properties"]["action"]["enum"]) == set(
        claims._ACTIONS)
    assert SCHEMAS["Claim"]["properties"]["status"]["enum"] == CONTRACT_STATUSES
    assert SCHEMAS["ClaimReport"]["properties"]["claim_type"]["enum"] == list(CLAIM_TYPES)
    assert list(CLAIM_TYPES) == ["death", "transport_death", "disability",
                                 "hospital_allowance", "medical"]
    relation = resolved(SCHEMAS["ClaimReport"]["properties"]["reporter"])["properties"][
        "relation"]
    assert relation["enum"] == list(RELATIONS) == ["self", "spouse", "child", "parent",
                                                   "sibling", "other"]
    assert SCHEMAS["ClaimReport"]["properties"]["channel"]["enum"] == list(claims.CHANNELS)
    sla = resolved(SCHEMAS["ClaimStats"]["properties"]["sla"]["items"])["properties"][
        "deadline"]
    assert sla["enum"] == list(claim_stats.DEADLINES)


def test_contract_fields_are_required() -> None:
    assert set(SCHEMAS["Claim"]["required"]) >= {
        "claim_no", "status", "claim_type", "missing_documents", "documents", "deadlines",
        "payable", "timeline"}
    assert set(SCHEMAS["ClaimProgress"]["required"]) == {
        "claim_no", "stage", "text", "missing_documents", "next_step", "expected_by"}
    assert set(SCHEMAS["ClaimSummary"]["required"]) == {"claim_no", "status", "claim_type",
                                                        "incident_date"}
    assert set(SCHEMAS["DocumentReceipt"]["required"]) == {"document_id", "doc_type",
                                                           "fields", "needs_review"}
    assert set(SCHEMAS["AdjudicationPreview"]["required"]) == {"payable", "lines"}
    timeline = resolved(SCHEMAS["Claim"]["properties"]["timeline"]["items"])
    assert set(timeline["required"]) == {"at", "status", "actor", "note"}
    deadline = SCHEMAS["ClaimDeadline"]
    assert {"due", "breached", "paused"} <= set(deadline["required"])


def test_operations() -> None:
    paths = DOC["paths"]
    report = paths["/claims"]["post"]
    assert {"200", "201", "409"} <= set(report["responses"])
    params = [DOC["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p
              else p for p in report["parameters"]]
    assert [p["name"] for p in params if p["in"] == "header"] == ["Idempotency-Key"]
    upload = paths["/claims/{claim_no}/documents"]["post"]
    content = upload["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    assert content["multipart/form-data"]["schema"]["required"] == ["file"]
    assert {"201", "400", "404", "413"} <= set(upload["responses"])
    assert "409" in paths["/claims/{claim_no}/transitions"]["post"]["responses"]
    assert "text/html" in paths["/stats/claims/charts"]["get"]["responses"]["200"]["content"]
    letter = paths["/claims/{claim_no}/letters/{letter_no}"]["get"]["responses"]["200"]
    assert "text/plain" in letter["content"]


def test_schemas_accept_good_and_refuse_bad_examples() -> None:
    report = {"$ref": "#/components/schemas/ClaimReport"}
    good = {"policy_no": "G202600000001", "insured_id_number": "440514195606221191",
            "claim_type": "death", "incident_date": "2026-05-20",
            "reporter": {"name": "陈小明", "relation": "child", "phone": "13912345678"},
            "facts": {"death_date": "2026-05-20"}}
    assert not schema_errors(report, good)
    assert schema_errors(report, {**good, "claim_type": "theft"})
    assert schema_errors(report, {**good, "facts": {"disability_levels": [11]}})
    move = {"$ref": "#/components/schemas/ClaimTransition"}
    # who acts and at which authority is the token's: no such fields to send
    assert not {"actor", "role"} & set(SCHEMAS["ClaimTransition"]["properties"])
    assert not schema_errors(move, {"action": "approve"})
    assert schema_errors(move, {"action": "explode", "actor": "x"})


def test_settings_place_uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = Settings(database_url="sqlite://", api_token="t", rasa_url="http://x",
                     log_level="INFO", var_dir=tmp_path)
    assert plain.files_dir == plain.files_root == tmp_path / "files"
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XIAOBAO_API_TOKEN", "t")
    monkeypatch.setenv("XIAOBAO_FILES_DIR", str(tmp_path / "elsewhere"))
    assert Settings.from_env().files_root == (tmp_path / "elsewhere").resolve()
    monkeypatch.delenv("XIAOBAO_FILES_DIR")
    assert Settings.from_env().files_root == tmp_path.resolve() / "files"

"""The documents a claim needs by what its report says: a traffic accident's police report and
scene photos, the ticket of a public-transport death (rules.md §6, seeds/004: 交通事故需有
相关的交警部门证明; 车票、船票、登机牌)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from backoffice.domain.adjudication import parse_facts
from backoffice.domain.errors import ValidationError
from backoffice.domain.product import Product, parse_product
from tests.backoffice.domain.test_domain_product import load, raw_product


def types(product: Product, claim_type: str, facts: dict[str, Any] | None = None) -> list[str]:
    return [d.type for d in product.documents_for(claim_type, facts)]


def names(product: Product, claim_type: str, facts: dict[str, Any] | None = None) -> list[str]:
    return [d.name for d in product.documents_for(claim_type, facts)]


@pytest.mark.parametrize("code", ["CN-ELDER-ACC", "PA-GUARD"])
def test_a_report_that_says_nothing_of_traffic_asks_only_the_types_documents(code: str) -> None:
    product = load(code)
    for claim_type, listed in product.claim_documents.items():
        if claim_type == "transport_death":  # a transport accident by its type
            continue
        assert product.documents_for(claim_type) == listed
        assert product.documents_for(claim_type, {"traffic_accident": False,
                                                  "police_report": True,
                                                  "scene_photos": True}) == listed


def test_a_traffic_accident_with_the_police_called_asks_the_accident_report() -> None:
    product = load("CN-ELDER-ACC")
    docs = names(product, "hospital_allowance",
                 {"traffic_accident": True, "police_report": True, "scene_photos": True})
    assert docs[:4] == ["出院小结", "住院医疗费用发票", "申请人身份证明", "领款人银行账户"]
    assert "交通事故认定书（交警出具）" in docs and "事故现场照片" in docs


def test_no_police_called_asks_a_certificate_to_be_obtained_and_no_photos_none() -> None:
    product = load("CN-ELDER-ACC")
    facts = {"traffic_accident": True, "police_report": False, "scene_photos": False}
    assert types(product, "disability", facts) == [
        "disability_assessment", "medical_records", "claimant_id", "bank_account",
        "accident_certificate"]
    assert any("未报警" in n and "补开" in n for n in names(product, "disability", facts))


def test_an_unanswered_police_question_still_asks_a_certificate() -> None:
    docs = names(load("CN-ELDER-ACC"), "hospital_allowance", {"traffic_accident": True})
    assert "交通事故认定书或事故证明" in docs and "事故现场照片" not in docs


def test_a_public_transport_death_is_a_transport_accident_and_keeps_its_ticket() -> None:
    product = load("CN-ELDER-ACC")
    bare = types(product, "transport_death")
    assert "transport_ticket" in bare and "accident_certificate" in bare
    lost = product.documents_for("transport_death", {"ticket": False, "police_report": True})
    ticket = [d for d in lost if d.type == "transport_ticket"]
    assert len(ticket) == 1 and "乘车记录" in ticket[0].name  # in place of, not beside
    assert [d.type for d in lost].count("accident_certificate") == 1
    # a lost ticket of an ordinary death asks no ticket at all
    assert "transport_ticket" not in types(product, "death", {"ticket": False})


def test_a_listed_document_of_the_same_type_is_named_precisely_not_asked_twice() -> None:
    product = load("PA-GUARD")  # lists 意外事故证明 for a death already
    docs = product.documents_for("death", {"traffic_accident": True, "police_report": True})
    certs = [d for d in docs if d.type == "accident_certificate"]
    assert [c.name for c in certs] == ["交通事故认定书（交警出具）"]
    assert [d.type for d in docs].index("accident_certificate") == 2  # where it was listed


def test_unknown_facts_and_other_values_change_nothing() -> None:
    product = load("CN-ELDER-ACC")
    listed = product.documents_for("hospital_allowance")
    for facts in ({"traffic_accident": "yes"}, {"police": True}, {"traffic_accident": 1},
                  {"traffic_accident": None}):
        assert product.documents_for("hospital_allowance", facts) == listed


@pytest.mark.parametrize("key", ["traffic_accident", "police_report", "scene_photos", "ticket"])
@pytest.mark.parametrize("bad", ["yes", 1, 0, "true", [], {}])
def test_report_facts_are_booleans_or_refused_naming_the_fact(key: str, bad: Any) -> None:
    assert parse_facts({key: True}) == {key: True}
    with pytest.raises(ValidationError) as err:
        parse_facts({key: bad})
    assert err.value.field == f"facts.{key}"


@pytest.mark.parametrize(("rule", "field"), [
    ({"when": {}, "type": "x", "name": "某材料"}, "when"),
    ({"when": {"drunk": True}, "type": "x", "name": "某材料"}, "when"),
    ({"when": {"police_report": "yes"}, "type": "x", "name": "某材料"}, "when"),
    ({"when": {"police_report": True}, "claim_types": ["car"], "type": "x", "name": "某材料"},
     "claim_types"),
    ({"when": {"police_report": True}, "type": "x", "name": "长" * 61}, "name"),
])
def test_a_malformed_rule_in_a_product_file_fails_loudly(rule: dict[str, Any],
                                                         field: str) -> None:
    raw = copy.deepcopy(raw_product("CN-ELDER-ACC"))
    raw["conditional_documents"] = [rule]
    with pytest.raises(ValidationError) as err:
        parse_product(raw)
    assert err.value.field == f"conditional_documents[0].{field}"

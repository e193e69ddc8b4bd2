"""Who is covered by what: individual and group policies by ID number."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import make_id_number
from backoffice.services import group, lookup, policies
from backoffice.store.db import Database

if TYPE_CHECKING:
    from conftest import Factory

HEADER = "name,gender,birth_date,id_number,phone,address\n"


def _find(db: Database, id_number: str) -> list[dict[str, Any]]:
    return lookup.policies_for_id_number(db, {"id_number": id_number}, "agent-1")


def test_individual_and_group_policies_of_one_person(db: Database, factory: Factory) -> None:
    person = factory.person(date(1958, 2, 20), area="440514")
    issued = factory.issued(insured=person)
    pending = factory.accepted(insured=person)  # not issued: not listed
    scheme = group.create_group_policy(db, {"product_code": "CN-ELDER-ACC",
                                            "applicant_name": "汕头市潮南区人民政府",
                                            "start_date": "2026-01-01"}, "admin")["policy_no"]
    row = (f"{person['name']},男,{person['birth_date']},{person['id_number']},"
           f"{person['phone']},{person['address']}\n")
    result = group.import_roster(db, scheme, [HEADER, row], "importer", date(2026, 3, 1))
    assert result.imported == 1

    items = _find(db, person["id_number"])
    assert [(i["policy_no"], i["kind"], i["product_code"]) for i in items] == [
        (issued["policy_no"], "individual", "PA-GUARD"),
        (scheme, "group", "CN-ELDER-ACC")]
    assert pending["application_no"] not in {i.get("application_no") for i in items}
    individual, member = items
    assert individual["status"] == "in_force"
    assert {c["code"] for c in individual["coverages"]} == {"accidental_death_disability",
                                                            "hospital_allowance"}
    assert member["status"] == "in_force" and member["covered"] is True
    assert member["enrolled_on"] == "2026-03-01"
    assert member["start_date"] == "2026-03-01"  # cover starts with the enrollment
    assert {c["code"]: c["sum_insured"] for c in member["coverages"]}["accidental_death"] == (
        "3000.00")
    for item in items:
        insured = item["insured"]
        assert insured["name"] == person["name"]
        assert insured["id_number"] == person["id_number"][:6] + "********" + person[
            "id_number"][-4:]
        assert insured["phone"] == person["phone"][:3] + "****" + person["phone"][-4:]
        assert person["id_number"] not in str(item)
        assert person["phone"] not in str(item)


def test_lowercase_x_is_the_same_person(db: Database, factory: Factory) -> None:
    seq = next(s for s in range(1, 999, 2)
               if make_id_number("110101", date(1980, 1, 1), s).endswith("X"))
    person = {**factory.person(), "id_number": make_id_number("110101", date(1980, 1, 1), seq),
              "birth_date": "1980-01-01", "gender": "male"}
    issued = factory.issued(insured=person)
    items = _find(db, person["id_number"].lower())
    assert [i["policy_no"] for i in items] == [issued["policy_no"]]
    assert items[0]["insured"]["id_number"].endswith("X")


def test_status_follows_the_policy(db: Database, factory: Factory) -> None:
    person = factory.person()
    issued = factory.issued(insured=person)
    end = issued["end_date"]
    policies.transition(db, {"policy_no": issued["policy_no"], "action": "expire",
                             "today": end}, "s")
    items = _find(db, person["id_number"])
    assert [i["status"] for i in items] == ["expired"]


def test_unknown_person_has_no_policies(db: Database, factory: Factory) -> None:
    factory.issued()
    assert _find(db, factory.person()["id_number"]) == []


def test_invalid_id_number_is_refused(db: Database) -> None:
    for bad in ("", "123", "11010119900101123Y"):
        with pytest.raises(ValidationError) as exc:
            _find(db, bad)
        assert exc.value.field == "id_number"

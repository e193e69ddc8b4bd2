"""Demo data: the 潮南区 scheme with a synthetic roster, outlets, and some individual policies.

Deterministic for a given seed: the same people, the same policies, the same numbers on an
empty database. Re-running adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select

from backoffice.demo.outlets import load_outlets
from backoffice.demo.people import Person, generate_people, generate_people_turning
from backoffice.services import group, outlets, policies, products
from backoffice.services.base import today_cn
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import Party, PolicyRow, Resident, RosterMember

SCHEME_PRODUCT = "CN-ELDER-ACC"
SCHEME_APPLICANT = "汕头市潮南区人民政府"
DEFAULT_MEMBERS = 215_864
AREA_CODE = "440514"
_GENDER_CN = {"male": "男", "female": "女"}


@dataclass(frozen=True, slots=True)
class SeedResult:
    group_policy_no: str
    product_code: str
    members: int
    sample_id_numbers: list[str]
    individual_policies: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"group_policy_no": self.group_policy_no, "product_code": self.product_code,
                "members": self.members, "sample_id_numbers": self.sample_id_numbers}


def is_empty(db: Database) -> bool:
    with db.read() as s:
        return s.execute(select(PolicyRow.id).limit(1)).first() is None


def _roster_lines(people: list[Person]) -> Iterator[str]:
    yield "name,gender,birth_date,id_number,phone,address\n"
    for p in people:
        yield (f"{p.name},{_GENDER_CN[p.gender]},{p.birth_date.isoformat()},{p.id_number},"
               f"{p.phone},{p.address}\n")


def _scheme_policy(db: Database, start: date) -> str:
    with db.read() as s:
        existing = s.execute(
            select(PolicyRow.policy_no).where(PolicyRow.product_code == SCHEME_PRODUCT,
                                              PolicyRow.applicant_name == SCHEME_APPLICANT)
        ).scalar()
    if existing:
        return existing
    return group.create_group_policy(db, {"product_code": SCHEME_PRODUCT,
                                          "applicant_name": SCHEME_APPLICANT,
                                          "start_date": start.isoformat()}, "demo")["policy_no"]


def _register_residents(db: Database, people: list[Person], registered_on: date) -> None:
    """The area's household registry: scheme members and those about to turn 60."""
    with db.transaction() as s:
        ids = {p.id_number for p in people}
        # by keyed hash: the ID numbers are sealed
        hashes = {p.id_number: keyed_hash("id_number", p.id_number) for p in people}
        by_hash = dict(s.execute(select(Party.id_number_hash, Party.id)).all())
        parties = {i: by_hash[h] for i, h in hashes.items() if h in by_hash}
        missing = [p for p in people if p.id_number not in parties]
        if missing:
            rows = [{"name": p.name, "gender": p.gender, "birth_date": p.birth_date,
                     "id_number": p.id_number, "phone": p.phone, "address": p.address,
                     "occupation": p.occupation, "occupation_class": p.occupation_class,
                     "id_number_hash": hashes[p.id_number],
                     "phone_hash": keyed_hash("phone", p.phone)}
                    for p in missing]
            idn_of = {h: i for i, h in hashes.items()}
            for pid, h in s.execute(insert(Party).returning(Party.id, Party.id_number_hash),
                                    rows):
                parties[idn_of[h]] = pid
        known = set(s.execute(select(Resident.party_id)).scalars())
        new = [{"party_id": parties[i], "area_code": AREA_CODE, "registered_on": registered_on}
               for i in ids if parties[i] not in known]
        if new:
            s.execute(insert(Resident), new)


def _sample_individual_policies(db: Database, people: list[Person]) -> list[str]:
    """A few PA-GUARD policies in different states, for the desk and the bot to show."""
    no_health = {"hospitalised_now": False, "disability_existing": False, "epilepsy": False,
                 "hypertension": False, "diabetes": False}
    plans = [
        ("single", "annual", {**no_health}, "1"),
        ("instalments", "monthly", {**no_health, "hypertension": True}, "2"),
        ("auto_debit", "quarterly", {**no_health}, "1"),
    ]
    issued = []
    for person, (mode, freq, health, occ) in zip(people, plans, strict=False):
        with db.read() as s:
            party = s.execute(select(Party.id).where(
                Party.id_number_hash == keyed_hash("id_number", person.id_number))).scalar()
            has = party is not None and s.execute(
                select(PolicyRow.id).where(PolicyRow.insured_party_id == party)).first()
        if has:
            continue
        request: dict[str, Any] = {
            "product_code": "PA-GUARD",
            "insured": {"name": person.name, "id_number": person.id_number,
                        "phone": person.phone, "address": person.address,
                        "occupation": "退休", "occupation_class": int(occ)},
            "coverages": [{"code": "accidental_death_disability", "sum_insured": "50000.00"},
                          {"code": "hospital_allowance", "sum_insured": "100.00"}],
            "payment_mode": mode, "frequency": freq, "health_declarations": health,
        }
        if mode == "auto_debit":
            request["debit_account"] = "6222020200112233446"  # demo-only, passes Luhn
        app = policies.apply(db, request, "demo")
        ref = {"application_no": app["application_no"]}
        uw = policies.run_underwriting(db, ref, "demo")
        if uw["status"] != "accepted":
            continue
        policies.record_payment(db, {**ref, "amount": uw["premium"]["instalment"],
                                     "method": "bank_transfer",
                                     "reference": f"DEMO-{app['application_no']}"}, "demo")
        issued.append(policies.issue(db, ref, "demo")["policy_no"])
    return issued


def seed(db: Database, members: int = DEFAULT_MEMBERS, seed_value: int = 1) -> SeedResult:
    today = today_cn()
    start = date(today.year, 1, 1)
    products.install_products(db, "demo")
    outlets.install_outlets(db, load_outlets())
    policy_no = _scheme_policy(db, start)
    people = list(generate_people(members, seed_value, start))
    # the scheme covers its founding roster from its first day
    group.import_roster(db, policy_no, _roster_lines(people), "demo", start)
    turning = list(generate_people_turning(20, seed_value, today))
    _register_residents(db, people + turning, start - timedelta(days=365))
    young = list(generate_people(3, seed_value + 1, today, min_age=35, max_age=55))
    individual = _sample_individual_policies(db, young + people[:1])
    with db.read() as s:
        count = s.execute(
            select(RosterMember.id).join(PolicyRow, PolicyRow.id == RosterMember.policy_id)
            .where(PolicyRow.policy_no == policy_no)
        ).all()
    samples = [p.id_number for p in people[:3]] + [p.id_number for p in young[:1]]
    return SeedResult(policy_no, SCHEME_PRODUCT, len(count), samples, individual)

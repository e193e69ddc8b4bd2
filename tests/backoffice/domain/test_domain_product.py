"""Product data files: they parse, and what they say agrees with rules.md."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import backoffice.products
from backoffice.domain.errors import ValidationError
from backoffice.domain.product import CLAIM_TYPES, Product, parse_product

PRODUCTS_DIR = Path(backoffice.products.__file__).parent


def raw_product(code: str) -> dict[str, Any]:
    return json.loads((PRODUCTS_DIR / f"{code}.json").read_text(encoding="utf-8"))


@cache
def load(code: str) -> Product:
    return parse_product(raw_product(code))


@pytest.mark.parametrize(
    ("code", "kind", "coverages"),
    [
        ("CN-ELDER-ACC", "group", 4),
        ("PA-GUARD", "individual", 3),
    ],
)
def test_product_files_parse(code: str, kind: str, coverages: int) -> None:
    product = load(code)
    assert product.code == code
    assert product.kind == kind
    assert product.line == "accident"
    assert product.term_months == 12
    assert len(product.coverages) == coverages
    assert product.name  # Chinese display name
    assert all(c.name for c in product.coverages)


@pytest.mark.parametrize("code", ["CN-ELDER-ACC", "PA-GUARD"])
def test_every_claim_type_of_a_coverage_has_its_documents(code: str) -> None:
    product = load(code)
    for cov in product.coverages:
        assert cov.claim_types, cov.code
        for ct in cov.claim_types:
            assert ct in CLAIM_TYPES
            assert product.documents_for(ct), f"{code}: no documents for {ct}"


@pytest.mark.parametrize("code", ["CN-ELDER-ACC", "PA-GUARD"])
def test_default_sum_insured_is_within_limits(code: str) -> None:
    for cov in load(code).coverages:
        cov.check_sum_insured(cov.default_sum_insured, "x")  # does not raise


@pytest.mark.parametrize("code", ["CN-ELDER-ACC", "PA-GUARD"])
def test_coverage_exclusions_are_defined(code: str) -> None:
    product = load(code)
    known = {e.code for e in product.exclusions}
    for cov in product.coverages:
        assert set(cov.exclusions) <= known


# rules.md §6: documents per claim type (a product may ask for more, never less).
RULE_DOCUMENTS = {
    "death": {
        "death_certificate", "household_cancellation", "claimant_id",
        "relationship_proof", "bank_account",
    },
    "transport_death": {
        "death_certificate", "household_cancellation", "claimant_id",
        "relationship_proof", "bank_account", "transport_ticket",
    },
    "disability": {"disability_assessment", "medical_records", "claimant_id", "bank_account"},
    "hospital_allowance": {"discharge_summary", "medical_invoice", "claimant_id", "bank_account"},
    "medical": {
        "medical_invoice", "itemised_bill", "medical_records", "claimant_id", "bank_account",
    },
}


@pytest.mark.parametrize(
    ("code", "claim_type"),
    [
        ("CN-ELDER-ACC", "death"),
        ("CN-ELDER-ACC", "transport_death"),
        ("CN-ELDER-ACC", "disability"),
        ("CN-ELDER-ACC", "hospital_allowance"),
        ("PA-GUARD", "death"),
        ("PA-GUARD", "disability"),
        ("PA-GUARD", "hospital_allowance"),
        ("PA-GUARD", "medical"),
    ],
)
def test_documents_cover_rules_md(code: str, claim_type: str) -> None:
    types = {d.type for d in load(code).documents_for(claim_type)}
    assert RULE_DOCUMENTS[claim_type] <= types


def test_unknown_claim_type_has_no_documents() -> None:
    assert load("PA-GUARD").documents_for("transport_death") == ()


def test_elder_scheme_matches_the_tender() -> None:
    """rules.md §4: 10 元 a head, 3,000 元 death/disability, transport amounts, 30 元/day."""
    p = load("CN-ELDER-ACC")
    assert p.flat_premium_per_insured == Decimal("10.00")
    assert p.eligibility["min_age"] == 60
    assert p.eligibility["area_codes"] == ["440514"]
    assert p.underwriting.min_entry_age == 60
    assert p.cooling_off_days == 0
    assert p.payment_modes == ("single",)
    assert p.coverage("accidental_death").default_sum_insured == Decimal(3000)
    assert p.coverage("accidental_disability").default_sum_insured == Decimal(3000)
    transport = p.coverage("transport_death").benefit
    assert {k: Decimal(v) for k, v in transport["amounts"].items()} == {
        "motor_vehicle": Decimal(30000),
        "rail": Decimal(30000),
        "ship": Decimal(50000),
        "aircraft": Decimal(100000),
    }
    assert transport["instead_of"] == "accidental_death"
    allowance = p.coverage("hospital_allowance")
    assert Decimal(allowance.benefit["daily_amount"]) == Decimal(30)
    assert allowance.benefit["max_days_per_stay"] == 90
    assert allowance.benefit["max_days_per_year"] == 180
    # 30 元 × 180 days = 5,400 元 a year
    assert allowance.default_sum_insured == Decimal(30) * 180 == Decimal(5400)
    for code in ("accidental_death", "transport_death", "accidental_disability"):
        assert p.coverage(code).benefit["within_days"] == 180
    assert all(c.required for c in p.coverages)
    assert {"sudden_death", "intentional_crime", "suicide", "fighting", "drunkenness"} <= {
        e.code for e in p.exclusions
    }


def test_pa_guard_rating_table_covers_every_insurable_age_and_class() -> None:
    p = load("PA-GUARD")
    uw = p.underwriting
    for cov in p.coverages:
        for age in range(uw.min_entry_age, uw.max_entry_age + 1):
            assert cov.band_for(age) is not None, (cov.code, age)
    for cls in range(1, uw.max_occupation_class + 1):
        assert cls in p.occupation_class_factors
    assert p.cooling_off_days == 15
    assert p.surrender_fee_pct == Decimal(25)
    assert p.grace_period_days == 60
    assert p.reinstatement_years == 2
    assert {q.if_yes for q in uw.health_questions} <= {"accept", "load", "postpone", "decline"}


@pytest.mark.parametrize(
    ("age", "rate"),
    [(17, None), (18, "0.60"), (40, "0.60"), (41, "0.80"), (50, "0.80"), (51, "1.10"),
     (60, "1.10"), (61, "1.60"), (70, "1.60"), (71, "2.40"), (76, "2.40"), (77, None)],
)
def test_age_bands(age: int, rate: str | None) -> None:
    band = load("PA-GUARD").coverage("accidental_death_disability").band_for(age)
    if rate is None:
        assert band is None
    else:
        assert band is not None and band.rate == Decimal(rate)


def test_coverage_lookup() -> None:
    p = load("PA-GUARD")
    assert p.coverage("accidental_medical").name == "意外医疗"
    with pytest.raises(ValidationError) as err:
        p.coverage("critical_illness")
    assert err.value.field == "coverages"
    with pytest.raises(ValidationError) as err:
        p.coverage("critical_illness", "coverages.critical_illness")
    assert err.value.field == "coverages.critical_illness"


@pytest.mark.parametrize(
    ("coverage", "amount", "ok"),
    [
        ("accidental_death_disability", "10000", True),
        ("accidental_death_disability", "20000.00", True),
        ("accidental_death_disability", "100000", True),
        ("accidental_death_disability", "500000", True),
        ("accidental_death_disability", "9999.99", False),
        ("accidental_death_disability", "0", False),
        ("accidental_death_disability", "510000", False),
        ("accidental_death_disability", "15000", False),  # not a multiple of the step
        ("accidental_death_disability", "100000.01", False),
        ("accidental_medical", "5000", True),
        ("accidental_medical", "15000", True),
        ("accidental_medical", "50000", True),
        ("accidental_medical", "7500", False),
        ("accidental_medical", "55000", False),
        ("hospital_allowance", "50", True),
        ("hospital_allowance", "300", True),
        ("hospital_allowance", "75", False),
        ("hospital_allowance", "350", False),
    ],
)
def test_sum_insured_limits_and_step(coverage: str, amount: str, ok: bool) -> None:
    cov = load("PA-GUARD").coverage(coverage)
    field = f"coverages.{coverage}.sum_insured"
    if ok:
        cov.check_sum_insured(Decimal(amount), field)
    else:
        with pytest.raises(ValidationError) as err:
            cov.check_sum_insured(Decimal(amount), field)
        assert err.value.field == field


def test_fixed_sum_insured_without_step() -> None:
    cov = load("CN-ELDER-ACC").coverage("accidental_death")
    cov.check_sum_insured(Decimal("3000.00"), "x")
    for amount in ("2999.99", "3000.01", "6000"):
        with pytest.raises(ValidationError):
            cov.check_sum_insured(Decimal(amount), "x")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("code"), "code"),
        (lambda r: r.pop("coverages"), "coverages"),
        (lambda r: r.update(kind="family"), "kind"),
        (lambda r: r["coverages"][0].update(claim_types=["funeral"]), "coverages[0].claim_types"),
        (lambda r: r.update(surrender_fee_pct="a quarter"), "surrender_fee_pct"),
    ],
)
def test_malformed_definition_fails_loudly(mutate: Any, field: str) -> None:
    raw = raw_product("PA-GUARD")
    mutate(raw)
    with pytest.raises(ValidationError) as err:
        parse_product(raw)
    assert err.value.field == field


def test_the_scheme_names_its_transport_modes_with_their_amounts() -> None:
    """rules.md: riding an operating motor vehicle / rail / ship / civil aircraft pays
    30,000 / 30,000 / 50,000 / 100,000; the product says which vehicles each mode means."""
    cov = load("CN-ELDER-ACC").coverage("transport_death")
    modes = {m.code: m for m in cov.transport_modes}
    assert {code: m.amount for code, m in modes.items()} == {
        "motor_vehicle": Decimal(30000), "rail": Decimal(30000), "ship": Decimal(50000),
        "aircraft": Decimal(100000)}
    assert "公交车" in modes["motor_vehicle"].includes
    assert "地铁" in modes["rail"].includes and modes["aircraft"].name == "民航客机"


def test_a_transport_mode_outside_the_contract_is_refused() -> None:
    raw = raw_product("CN-ELDER-ACC")
    raw["coverages"][1]["benefit"]["amounts"]["e_bike"] = "1000.00"
    with pytest.raises(ValidationError) as err:
        parse_product(raw)
    assert err.value.field == "coverages[1].benefit.amounts"


def test_disability_is_paid_by_the_named_scale() -> None:
    product = load("CN-ELDER-ACC")
    pcts = product.coverage("accidental_disability").disability_percentages()
    assert [pcts[level] for level in range(1, 11)] == [Decimal(p) for p in range(100, 0, -10)]
    assert product.coverage("hospital_allowance").disability_percentages() == {}
    raw = raw_product("CN-ELDER-ACC")
    raw["coverages"][2]["benefit"]["scale"] = "GB/T 99999"
    with pytest.raises(ValidationError):
        parse_product(raw)


def test_the_scheme_says_who_is_insured() -> None:
    rules = load("CN-ELDER-ACC").eligibility
    assert (rules["area_name"], rules["min_age"], rules["applicant"]) == (
        "汕头市潮南区", 60, "government")

"""Underwriting on PA-GUARD: accept, load, decline, postpone — always with reasons."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

import backoffice.products
from backoffice.domain.errors import ValidationError
from backoffice.domain.product import Product, parse_product
from backoffice.domain.underwriting import (
    ACCEPT,
    ACCEPT_WITH_LOADING,
    DECLINE,
    POSTPONE,
    check_declarations,
    underwrite,
)

PRODUCTS_DIR = Path(backoffice.products.__file__).parent
QUESTIONS = ("hospitalised_now", "disability_existing", "epilepsy", "hypertension", "diabetes")


@cache
def load(code: str) -> Product:
    return parse_product(json.loads((PRODUCTS_DIR / f"{code}.json").read_text("utf-8")))


def answers(*yes: str) -> dict[str, bool]:
    return {q: q in yes for q in QUESTIONS}


@pytest.mark.parametrize(
    ("age", "occ", "yes", "outcome", "loading"),
    [
        # standard
        (18, 1, (), ACCEPT, 0),
        (30, 1, (), ACCEPT, 0),
        (45, 2, (), ACCEPT, 0),
        (60, 3, (), ACCEPT, 0),
        (75, 1, (), ACCEPT, 0),
        # loadings: class 4 → 30 %, hypertension → 20 %, diabetes → 25 %, they add up
        (45, 4, (), ACCEPT_WITH_LOADING, 30),
        (45, 2, ("hypertension",), ACCEPT_WITH_LOADING, 20),
        (45, 4, ("hypertension",), ACCEPT_WITH_LOADING, 50),
        (45, 1, ("diabetes",), ACCEPT_WITH_LOADING, 25),
        (45, 4, ("hypertension", "diabetes"), ACCEPT_WITH_LOADING, 75),
        # declines
        (17, 1, (), DECLINE, 0),
        (76, 1, (), DECLINE, 0),
        (45, 5, (), DECLINE, 0),
        (45, 6, (), DECLINE, 0),
        (45, 1, ("epilepsy",), DECLINE, 0),
        (45, 1, ("disability_existing",), DECLINE, 0),
        (45, 4, ("epilepsy", "hypertension"), DECLINE, 0),  # decline beats loading
        # postpone
        (45, 1, ("hospitalised_now",), POSTPONE, 0),
        (45, 4, ("hospitalised_now", "hypertension"), POSTPONE, 0),  # postpone beats loading
        # decline beats postpone
        (45, 1, ("hospitalised_now", "epilepsy"), DECLINE, 0),
        (17, 1, ("hospitalised_now",), DECLINE, 0),
        (45, 5, ("hospitalised_now",), DECLINE, 0),
    ],
)
def test_pa_guard_decisions(
    age: int, occ: int, yes: tuple[str, ...], outcome: str, loading: int
) -> None:
    decision = underwrite(load("PA-GUARD"), age, occ, answers(*yes))
    assert decision.outcome == outcome
    assert decision.loading_pct == Decimal(loading)
    assert decision.reasons
    assert all(r.strip() for r in decision.reasons)
    assert decision.accepted == (outcome in (ACCEPT, ACCEPT_WITH_LOADING))


def test_every_reason_is_kept() -> None:
    d = underwrite(load("PA-GUARD"), 45, 4, answers("hypertension", "diabetes"))
    assert len(d.reasons) == 3
    assert any("职业类别 4" in r for r in d.reasons)
    assert any("高血压" in r for r in d.reasons)
    assert any("糖尿病" in r for r in d.reasons)

    d = underwrite(load("PA-GUARD"), 80, 6, answers("epilepsy", "disability_existing"))
    assert d.outcome == DECLINE
    assert len(d.reasons) == 4  # age, occupation, epilepsy, disability


def test_decline_reason_names_the_age() -> None:
    d = underwrite(load("PA-GUARD"), 17, 1, answers())
    assert any("17" in r and "18" in r and "75" in r for r in d.reasons)


def test_postpone_reason_is_the_products() -> None:
    d = underwrite(load("PA-GUARD"), 45, 1, answers("hospitalised_now"))
    assert d.reasons == ("正在住院或等待手术，待康复出院满 3 个月后可重新投保",)


def test_loading_over_the_cap_declines() -> None:
    product = load("PA-GUARD")
    capped = dataclasses.replace(
        product,
        underwriting=dataclasses.replace(product.underwriting, max_loading_pct=Decimal(40)),
    )
    assert underwrite(capped, 45, 4, answers()).outcome == ACCEPT_WITH_LOADING  # 30 ≤ 40
    d = underwrite(capped, 45, 4, answers("hypertension"))  # 50 > 40
    assert d.outcome == DECLINE
    assert d.loading_pct == 0
    assert len(d.reasons) == 3
    assert "40" in d.reasons[-1]


@pytest.mark.parametrize(("age", "outcome"), [(59, DECLINE), (60, ACCEPT), (105, ACCEPT)])
def test_elder_scheme_ages(age: int, outcome: str) -> None:
    assert underwrite(load("CN-ELDER-ACC"), age, 1, {}).outcome == outcome


def test_check_declarations_all_answered() -> None:
    result = check_declarations(load("PA-GUARD"), answers("diabetes"))
    assert result == answers("diabetes")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"smoker": False}, "health_declarations.smoker"),
        ({"hypertension": None}, "health_declarations.hypertension"),
        ({"hypertension": "no"}, "health_declarations.hypertension"),
        ({"hypertension": 0}, "health_declarations.hypertension"),
        ({"diabetes": 1}, "health_declarations.diabetes"),
        ({"epilepsy": "是"}, "health_declarations.epilepsy"),
    ],
)
def test_check_declarations_refusals(change: dict[str, object], field: str) -> None:
    raw: dict[str, object] = {**answers(), **change}
    with pytest.raises(ValidationError) as err:
        check_declarations(load("PA-GUARD"), raw)
    assert err.value.field == field


@pytest.mark.parametrize("missing", QUESTIONS)
def test_check_declarations_requires_every_question(missing: str) -> None:
    raw = answers()
    del raw[missing]
    with pytest.raises(ValidationError) as err:
        check_declarations(load("PA-GUARD"), raw)
    assert err.value.field == f"health_declarations.{missing}"


def test_check_declarations_empty_for_a_product_without_questions() -> None:
    assert check_declarations(load("CN-ELDER-ACC"), {}) == {}
    with pytest.raises(ValidationError):
        check_declarations(load("CN-ELDER-ACC"), {"hypertension": False})

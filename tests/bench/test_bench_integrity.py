"""The integrity benchmark's quick portfolio: every planted leak flagged, clean claims not,
and the real service's gather on a database gives the flags the pure run gives."""

from __future__ import annotations

from functools import lru_cache

from backoffice.services.base import today_cn
from backoffice.store.db import Database
from bench.integrity import (
    KINDS,
    TARGET_FALSE_FLAGS,
    Recall,
    load,
    make_portfolio,
    run_checks,
    service_sample,
)

QUICK_CLAIMS = 20_000


@lru_cache(maxsize=1)
def quick() -> tuple[object, Recall]:
    portfolio = make_portfolio(QUICK_CLAIMS, 1, today_cn())
    return portfolio, run_checks(portfolio)


def test_every_planted_leak_is_flagged_and_clean_claims_are_not() -> None:
    _, r = quick()
    assert set(r.planted) == set(KINDS)
    assert all(n == QUICK_CLAIMS // 100 for n in r.planted.values())
    assert r.caught == r.planted, r.missed
    assert r.clean > QUICK_CLAIMS // 2
    assert r.false_rate <= TARGET_FALSE_FLAGS, r.false_examples


def test_the_service_gathers_what_the_pure_run_checks(db: Database) -> None:
    portfolio, r = quick()
    load(db, portfolio, None, lambda _: None)  # type: ignore[arg-type]
    checked, same, diffs = service_sample(db, portfolio, r, 400, 1)  # type: ignore[arg-type]
    assert checked == 400 and same == checked, diffs

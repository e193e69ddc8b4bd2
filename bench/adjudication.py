"""Adjudication (理算) throughput: 100,000 claims of every type through the real rules.

Usage: python -m bench.adjudication [--claims N]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date, timedelta
from importlib import resources
from typing import Any

from backoffice.domain.adjudication import adjudicate
from backoffice.domain.product import parse_product

TRANSPORT = ("motor_vehicle", "rail", "ship", "aircraft")


def claim_mix(n: int, seed: int) -> list[tuple[str, date, dict[str, Any], dict[int, int]]]:
    """A realistic mix: mostly hospital allowances, some disability and death, a few exclusions."""
    rng = random.Random(seed)
    claims = []
    for _ in range(n):
        incident = date(2025, 1, 1) + timedelta(days=rng.randrange(700))
        pick = rng.random()
        used: dict[int, int] = {}
        if pick < 0.7:
            admission = incident + timedelta(days=rng.randrange(3))
            stay = rng.choice((0, 3, 7, 18, 45, 90, 91, 120))
            facts: dict[str, Any] = {"admission_date": admission.isoformat(),
                                     "discharge_date": (admission + timedelta(days=stay))
                                     .isoformat()}
            used = {admission.year: rng.choice((0, 0, 60, 170))}
            kind = "hospital_allowance"
        elif pick < 0.85:
            facts = {"disability_levels": rng.sample(range(1, 11), rng.randint(1, 3))}
            kind = "disability"
        elif pick < 0.95:
            facts = {"death_date": (incident + timedelta(days=rng.randrange(200))).isoformat()}
            kind = "death"
        else:
            facts = {"death_date": incident.isoformat(), "transport": rng.choice(TRANSPORT)}
            kind = "transport_death"
        if rng.random() < 0.03:
            facts["cause"] = rng.choice(("suicide", "fighting", "drunkenness", "sudden_death"))
        claims.append((kind, incident, facts, used))
    return claims


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    text = resources.files("backoffice.products").joinpath("CN-ELDER-ACC.json").read_text("utf-8")
    product = parse_product(json.loads(text))
    claims = claim_mix(args.claims, args.seed)
    started, cpu = time.perf_counter(), time.process_time()
    total = 0
    for kind, incident, facts, used in claims:
        total += adjudicate(product, kind, incident, facts, allowance_days_by_year=used).payable
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"adjudication: {args.claims:,} claims in {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"({args.claims / wall:,.0f} claims/s, {wall / args.claims * 1e6:.1f} µs each); "
          f"payable total {total:,.2f} 元")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

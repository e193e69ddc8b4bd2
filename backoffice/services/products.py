"""Products: shipped as JSON data files, installed into the database, read from there."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain.errors import NotFound, ValidationError
from backoffice.domain.product import Coverage, Product, parse_product
from backoffice.services.base import audit
from backoffice.store.db import Database
from backoffice.store.models import ProductRow, utcnow

_cache: dict[str, tuple[datetime, Product]] = {}


def shipped_definitions() -> list[dict[str, Any]]:
    files = resources.files("backoffice.products")
    return [
        json.loads(f.read_text(encoding="utf-8"))
        for f in sorted(files.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".json")
    ]


def install_products(db: Database, actor: str = "system") -> list[str]:
    """Insert or refresh the shipped products; returns the codes that changed."""
    changed = []
    with db.transaction() as s:
        for definition in shipped_definitions():
            product = parse_product(definition)  # refuse a malformed file before writing
            row = s.execute(select(ProductRow).where(ProductRow.code == product.code)).scalar()
            if row is None:
                s.add(ProductRow(code=product.code, name=product.name, kind=product.kind,
                                 definition=definition))
            elif row.definition != definition:
                row.definition, row.name, row.kind = definition, product.name, product.kind
                row.updated_at = utcnow()
            else:
                continue
            audit(s, actor, "product", product.code, "install", None, {"name": product.name})
            changed.append(product.code)
    return changed


def load_product(session: Session, code: object, field: str = "product_code") -> Product:
    if not isinstance(code, str) or not code:
        raise ValidationError(field, "请提供产品代码")  # missing is bad input, not unknown
    row = session.execute(select(ProductRow).where(ProductRow.code == code)).scalar()
    if row is None:
        raise NotFound(f"产品 {code} 不存在", field)
    return product_of(row)


def product_of(row: ProductRow) -> Product:
    """The parsed product of a row, parsed once per version (its `updated_at`)."""
    cached = _cache.get(row.code)
    if cached and cached[0] == row.updated_at:
        return cached[1]
    product = parse_product(row.definition)
    _cache[row.code] = (row.updated_at, product)
    return product


def _coverage_view(c: Coverage) -> dict[str, Any]:
    view: dict[str, Any] = {
        "code": c.code,
        "name": c.name,
        "claim_types": list(c.claim_types),
        "required": c.required,
        "sum_insured": {"default": f"{c.default_sum_insured:.2f}",
                        "min": f"{c.min_sum_insured:.2f}",
                        "max": f"{c.max_sum_insured:.2f}"},
        "benefit": dict(c.benefit),
        "exclusions": list(c.exclusions),
    }
    # spelled out for readers of the product (the bot's public answers), not only for its rules
    if c.transport_modes:
        view["transport_modes"] = [
            {"code": m.code, "name": m.name, "amount": f"{m.amount:.2f}",
             "includes": list(m.includes)} for m in c.transport_modes]
    if c.disability_percentages():
        view["disability_percentages"] = {
            str(level): str(pct) for level, pct in c.disability_percentages().items()}
    return view


def product_view(product: Product) -> dict[str, Any]:
    return {
        "code": product.code,
        "name": product.name,
        "kind": product.kind,
        "line": product.line,
        "term_months": product.term_months,
        "waiting_period_days": product.waiting_period_days,
        "cooling_off_days": product.cooling_off_days,
        "grace_period_days": product.grace_period_days,
        "entry_age": {"min": product.underwriting.min_entry_age,
                      "max": product.underwriting.max_entry_age},
        "payment_modes": list(product.payment_modes),
        "frequencies": list(product.frequency_factors),
        "coverages": [_coverage_view(c) for c in product.coverages],
        "time_bar_years": product.time_bar_years,
        "eligibility": dict(product.eligibility),
        **({"flat_premium_per_insured": f"{product.flat_premium_per_insured:.2f}"}
           if product.flat_premium_per_insured is not None else {}),
        "health_questions": [
            {"code": q.code, "text": q.text} for q in product.underwriting.health_questions
        ],
        "exclusions": [{"code": e.code, "text": e.text} for e in product.exclusions],
        "claim_documents": {
            ct: [{"type": d.type, "name": d.name} for d in docs]
            for ct, docs in product.claim_documents.items()
        },
    }


def list_products(db: Database) -> list[dict[str, Any]]:
    with db.read() as s:
        codes = s.execute(select(ProductRow.code).order_by(ProductRow.code)).scalars().all()
        return [product_view(load_product(s, c)) for c in codes]


def get_product(db: Database, code: str) -> dict[str, Any]:
    with db.read() as s:
        return product_view(load_product(s, code))

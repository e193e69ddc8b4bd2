"""Factories for the service tests: valid people, applications and issued policies."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from backoffice.domain.identity import make_id_number
from backoffice.services import policies
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, PolicyRow

NO_HEALTH = {"hospitalised_now": False, "disability_existing": False, "epilepsy": False,
             "hypertension": False, "diabetes": False}
SURNAMES = "张王李赵刘陈杨黄周吴"
GIVEN = "伟芳娜敏静强磊洋艳勇"


class Factory:
    """Makes distinct, valid people and drives policies through the services."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.count = 0

    def person(self, birth: date = date(1990, 5, 17), *, male: bool = True,
               area: str = "110101") -> dict[str, Any]:
        self.count += 1
        n = self.count
        seq = 2 * n + (1 if male else 2)
        return {
            "name": SURNAMES[n % 10] + GIVEN[(n // 10) % 10] + GIVEN[n % 10],
            "id_number": make_id_number(area, birth, seq),
            "gender": "male" if male else "female",
            "birth_date": birth.isoformat(),
            "phone": f"138{n:08d}",
            "address": f"北京市东城区测试路{n}号",
            "occupation": "文员",
            "occupation_class": 1,
        }

    def request(self, *, insured: dict[str, Any] | None = None, mode: str = "single",
                frequency: str = "annual", health: dict[str, bool] | None = None,
                coverages: list[dict[str, str]] | None = None) -> dict[str, Any]:
        return {
            "product_code": "PA-GUARD",
            "insured": insured or self.person(),
            "coverages": coverages or [
                {"code": "accidental_death_disability", "sum_insured": "100000.00"},
                {"code": "hospital_allowance", "sum_insured": "100.00"},
            ],
            "payment_mode": mode,
            "frequency": frequency,
            "health_declarations": {**NO_HEALTH, **(health or {})},
        }

    def apply(self, **kwargs: Any) -> dict[str, Any]:
        return policies.apply(self.db, self.request(**kwargs), "agent-1")

    def accepted(self, **kwargs: Any) -> dict[str, Any]:
        app = self.apply(**kwargs)
        return policies.run_underwriting(self.db, {"application_no": app["application_no"]},
                                         "underwriter-1")

    def issued(self, **kwargs: Any) -> dict[str, Any]:
        uw = self.accepted(**kwargs)
        assert uw["status"] == "accepted", uw["underwriting"]
        ref = {"application_no": uw["application_no"]}
        policies.record_payment(self.db, {**ref, "amount": uw["premium"]["instalment"],
                                          "method": "bank_transfer"}, "cashier-1")
        return policies.issue(self.db, ref, "underwriter-1")

    def audit_count(self, *entity_ids: str) -> int:
        with self.db.read() as s:
            return int(s.execute(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.entity_id.in_(entity_ids))).scalar_one())

    def audits(self, *entity_ids: str) -> list[AuditEntry]:
        with self.db.read() as s:
            return list(s.execute(select(AuditEntry).where(AuditEntry.entity_id.in_(entity_ids))
                                  .order_by(AuditEntry.id)).scalars())

    def row(self, ref: str) -> PolicyRow:
        """A detached snapshot of the policy row."""
        with self.db.read() as s:
            column = PolicyRow.application_no if ref.startswith("A") else PolicyRow.policy_no
            return s.execute(select(PolicyRow).where(column == ref)).scalar_one()


@pytest.fixture
def factory(db: Database) -> Factory:
    return Factory(db)

"""Helpers for the scheduler's tests: policies and claims made through the real services on a
settable clock, and a recording sender."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select

from backoffice.clock import ManualClock
from backoffice.domain.identity import luhn_ok, make_id_number
from backoffice.domain.staff import CLAIMS_ADJUSTER
from backoffice.services import claims, policies, staff
from backoffice.services.base import SHANGHAI
from backoffice.store.db import Database
from backoffice.store.models import Notification, Task

NO_HEALTH = {"hospitalised_now": False, "disability_existing": False, "epilepsy": False,
             "hypertension": False, "diabetes": False}


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A Beijing time on `day`."""
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def bank_card(prefix: str = "622202123456789012") -> str:
    return next(prefix + str(d) for d in range(10) if luhn_ok(prefix + str(d)))


class World:
    """Policies and claims through the services, on the manual clock `clock`."""

    def __init__(self, db: Database, clock: ManualClock) -> None:
        self.db = db
        self.clock = clock
        self.people = 0

    def on(self, day: date, hour: int = 10) -> None:
        self.clock.set(at(day, hour))

    def policy(self, *, phone: str = "13800001111", mode: str = "single",
               frequency: str = "annual") -> tuple[str, str]:
        """An issued PA-GUARD policy: (policy_no, the insured's ID number)."""
        self.people += 1
        birth = date(1980, 5, 17)
        idn = make_id_number("110101", birth, 2 * self.people + 1)
        app = policies.apply(self.db, {
            "product_code": "PA-GUARD",
            "insured": {"name": "张伟", "id_number": idn, "gender": "male",
                        "birth_date": birth.isoformat(), "phone": phone,
                        "address": "北京市东城区测试路1号", "occupation": "文员",
                        "occupation_class": 1},
            "coverages": [{"code": "accidental_death_disability", "sum_insured": "100000.00"},
                          {"code": "hospital_allowance", "sum_insured": "100.00"}],
            "payment_mode": mode, "frequency": frequency, "health_declarations": NO_HEALTH,
        }, "agent-1")
        ref = {"application_no": app["application_no"]}
        uw = policies.run_underwriting(self.db, ref, "underwriter-1")
        policies.record_payment(self.db, {
            **ref, "amount": uw["premium"]["instalment"], "method": "bank_transfer"}, "cashier-1")
        issued = policies.issue(self.db, ref, "underwriter-1")
        return issued["policy_no"], idn

    def claim(self, policy_no: str, idn: str, *, claim_type: str = "disability",
              incident: date, phone: str = "13912345678", channel: str = "phone",
              facts: dict[str, Any] | None = None) -> str:
        if claim_type == "hospital_allowance":  # an injury's stay in a level-2 hospital
            facts = {"diagnosis": "右桡骨远端骨折", "hospital_level": 2, **(facts or {})}
        _, view = claims.report(self.db, {
            "policy_no": policy_no, "insured_id_number": idn, "claim_type": claim_type,
            "incident_date": incident.isoformat(), "channel": channel,
            "reporter": {"name": "张伟", "relation": "self", "phone": phone},
            "facts": facts or {}, "bank_account": bank_card(),  # the insured's own card
        })
        return str(view["claim_no"])

    def act(self, claim_no: str, action: str, **raw: Any) -> dict[str, Any]:
        role = raw.pop("role", None)  # the rules' approval role, named by the test
        handler = raw.get("handler")
        if action == "assign" and handler and not staff.is_staff(self.db, handler):
            staff.add(self.db, handler, f"{handler}-password", CLAIMS_ADJUSTER)
        return claims.transition(self.db, {"claim_no": claim_no, "action": action, **raw},
                                 "adjuster-1", approval_role=role)

    def view(self, claim_no: str) -> dict[str, Any]:
        return claims.get_claim(self.db, claim_no)

    def notifications(self, template: str | None = None) -> list[Notification]:
        with self.db.read() as s:
            stmt = select(Notification).order_by(Notification.id)
            if template:
                stmt = stmt.where(Notification.template == template)
            return list(s.execute(stmt).scalars())

    def tasks(self, kind: str | None = None) -> list[Task]:
        with self.db.read() as s:
            stmt = select(Task).order_by(Task.id)
            if kind:
                stmt = stmt.where(Task.kind == kind)
            return list(s.execute(stmt).scalars())

    def count(self, model: type) -> int:
        with self.db.read() as s:
            return int(s.execute(select(func.count()).select_from(model)).scalar_one())


class Recorder:
    """A sender that keeps what it was given."""

    def __init__(self, via: str = "test") -> None:
        self.via = via
        self.sent: list[tuple[int, str, str]] = []

    def send(self, notification: Notification) -> str:
        self.sent.append((notification.id, notification.recipient, notification.text))
        return self.via

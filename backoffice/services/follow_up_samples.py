"""回访 samples of the scheme's insureds (the tender: in the first month after enrollment, and
quarterly and yearly), opened as `follow_up` tasks about a person by the scheduler's jobs.

How many is the product's data (backoffice.domain.follow_up_sample); who is deterministic for
the period. A period is sampled once per policy: when any task of that kind and period exists
for the policy nothing more is opened (the scheduler's JobRun guard already runs a firing
once; this keeps a re-run or a catch-up of the same period from adding a second sample when
the roster changed in between), and each task's dedupe key is unique besides.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.domain import follow_up_sample as fs
from backoffice.domain.identity import age_on
from backoffice.domain.policy import IN_FORCE
from backoffice.services.base import audit
from backoffice.services.products import load_product
from backoffice.store.db import Database
from backoffice.store.models import Party, PolicyRow, RosterMember, Task

ACTOR = "scheduler"


def key_prefix(kind: str, period: str, policy_id: int) -> str:
    return f"follow_up_sample:{kind}:{period}:{policy_id}:"


def open_samples(db: Database, kind: str, today: date) -> dict[str, int]:
    """The `kind` sample of every in-force group policy whose product asks for one, for the
    period `today` samples."""
    period = fs.period_of(kind, today)
    with db.read() as s:
        policies = list(s.execute(select(PolicyRow.id).where(
            PolicyRow.kind == "group", PolicyRow.status == IN_FORCE,
            PolicyRow.start_date <= today, PolicyRow.end_date >= today)
            .order_by(PolicyRow.id)).scalars())
    counts = {"opened": 0, "no_phone": 0, "policies": 0}
    for policy_id in policies:
        try:
            with db.transaction() as s:
                made = _sample_policy(s, kind, period, policy_id, today)
        except IntegrityError:  # another run sampled this period at the same moment (SQLite
            made = (0, 0)  # takes no row lock: the unique dedupe key stops the second)
        counts["opened"] += made[0]
        counts["no_phone"] += made[1]
        counts["policies"] += made[0] > 0
    return {**counts, "period": period}  # type: ignore[dict-item]


def _population(s: Session, kind: str, period: str, policy: PolicyRow, today: date
                ) -> list[int]:
    stmt = select(RosterMember.party_id).where(RosterMember.policy_id == policy.id,
                                               RosterMember.status == "active")
    if kind == fs.FIRST_MONTH:
        first, last = fs.enrolled_between(period)
        stmt = stmt.where(RosterMember.enrolled_on >= first, RosterMember.enrolled_on <= last)
    return list(s.execute(stmt).scalars())


def _sample_policy(s: Session, kind: str, period: str, policy_id: int, today: date
                   ) -> tuple[int, int]:
    policy = s.execute(select(PolicyRow).where(PolicyRow.id == policy_id)
                       .with_for_update()).scalar_one()  # two runs at once: one samples
    rule = load_product(s, policy.product_code).follow_up_samples.get(kind)
    prefix = key_prefix(kind, period, policy.id)
    if rule is None or s.execute(select(Task.id).where(
            Task.dedupe_key.startswith(prefix, autoescape=True)).limit(1)).first():
        return 0, 0
    population = _population(s, kind, period, policy, today)
    chosen = fs.pick(population, f"{kind}:{period}:{policy.id}", rule.size(len(population)))
    people = {p.id: p for p in s.execute(select(Party).where(Party.id.in_(chosen))).scalars()}
    no_phone = 0
    for party_id in chosen:
        person = people[party_id]
        how = fs.contact_note(age_on(person.birth_date, today), person.phone)
        no_phone += not person.phone
        note = f"{fs.KIND_NAMES[kind]}（{period}）" + (f"；{how}" if how else "")
        s.add(Task(kind="follow_up", policy_id=policy.id, party_id=party_id,
                   due_on=today + timedelta(days=fs.DUE_DAYS[kind]), note=note,
                   dedupe_key=(prefix + str(party_id))[:120]))
    if chosen:
        audit(s, ACTOR, "policy", policy.policy_no or str(policy.id), "follow_up_sample",
              None, {"kind": kind, "period": period, "sampled": len(chosen),
                     "population": len(population)})
    return len(chosen), no_phone


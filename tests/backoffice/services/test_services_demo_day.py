"""The demo's day of the scheme: claims in every state a claim rests in, complaints, appeals,
home visits, conversations with bot and agent turns, tasks and ratings — made through the use
cases, the same for the same seed, and made once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from backoffice.clock import manual_clock
from backoffice.demo.staff import seed_staff
from backoffice.domain import claim as cl
from backoffice.services import demo, demo_day
from backoffice.store.db import Database
from backoffice.store.migrate import upgrade
from backoffice.store.models import (
    AppealRow,
    AuditEntry,
    ClaimEvent,
    ClaimRow,
    ComplaintRow,
    Conversation,
    ConversationMessage,
    EndorsementRequestRow,
    HomeVisit,
    Party,
    SatisfactionRow,
    Task,
)

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 7 December, 10:00 in Beijing


@pytest.fixture
def day_db(db: Database) -> Iterator[tuple[Database, demo_day.DaySeed]]:
    with manual_clock(NOW):
        scheme = demo.seed(db, members=150, seed_value=4)
        seed_staff(db)
        made = demo_day.seed_day(db, scheme.group_policy_no, 4)
    yield db, made


def _count(db: Database, column: Any) -> Counter[str]:
    with db.read() as s:
        return Counter(dict(s.execute(select(column, func.count()).group_by(column)
                                      ).tuples().all()))


def test_the_day_has_claims_in_every_state_they_rest_in(
        day_db: tuple[Database, demo_day.DaySeed]) -> None:
    db, made = day_db
    states = _count(db, ClaimRow.status)
    # `registered` passes at once into documents_pending (the report asks for them)
    assert set(states) == set(cl.STATUSES) - {cl.REGISTERED}
    assert sum(states.values()) == sum(n for _, n in demo_day.CLAIM_PLAN) >= 50
    assert states[cl.CLOSED] >= 10 and states[cl.DOCUMENTS_PENDING] >= 5
    assert made.as_dict()["claims"]["closed"] == states[cl.CLOSED]
    with db.read() as s:
        # each claim got there by its steps: report, then the staff's, on the audit log
        steps = Counter(s.execute(select(ClaimEvent.action)).scalars())
        actors = set(s.execute(select(AuditEntry.actor).where(
            AuditEntry.entity_type == "claim")).scalars())
        kinds = _count(db, ClaimRow.claim_type)
        reported = list(s.execute(select(ClaimRow.reported_on)).scalars())
    assert {"report", "approve", "pay", "close", "reject", "withdraw", "investigate",
            "escalate"} <= set(steps)
    assert {"adjuster.chen", "adjuster.zhou", "supervisor.zhao"} <= actors
    assert {"disability", "hospital_allowance", "death", "transport_death"} <= set(kinds)
    assert len(set(reported)) > 10  # spread over the weeks, none in the future
    assert max(reported) <= NOW.date()


def test_the_rest_of_the_desk_is_busy_too(
        day_db: tuple[Database, demo_day.DaySeed]) -> None:
    db, made = day_db
    assert len(_count(db, ComplaintRow.status)) >= 5
    assert set(_count(db, AppealRow.status)) == {"open", "upheld", "reopened"}
    assert set(_count(db, HomeVisit.status)) == {"requested", "assigned", "contacted",
                                                 "scheduled", "visited"}
    assert set(_count(db, Conversation.state)) == {"bot", "queued", "agent", "closed"}
    assert {"user", "bot", "agent", "system"} <= set(_count(db, ConversationMessage.role))
    tasks = _count(db, Task.kind)
    assert {"follow_up", "registration_review", "approval_supervisor", "low_score"} <= set(tasks)
    with db.read() as s:
        scores = list(s.execute(select(SatisfactionRow.score, SatisfactionRow.subject_type)
                                .where(SatisfactionRow.score.is_not(None))).tuples())
        people = list(s.execute(select(Party.name, Party.address).join(
            ClaimRow, ClaimRow.insured_party_id == Party.id)).tuples())
    assert len(scores) >= 8 and {t for _, t in scores} >= {"claim", "conversation"}
    assert any(score <= 2 for score, _ in scores)  # an unhappy customer: a task for it
    assert made.ratings >= 7
    with db.read() as s:  # the underwriter's part: beneficiary changes, referred applications
        requests = s.execute(select(func.count()).select_from(EndorsementRequestRow)
                             ).scalar_one()
    assert requests >= 1 and made.policy_services == requests + 2
    # people as the district has them: Chinese names, addresses that name their town
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name) for name, _ in people)
    assert all(re.search(r"潮南区.+?(镇|街道)", address or "") for _, address in people)


def test_the_same_seed_gives_the_same_day_and_a_second_run_adds_nothing(
        sqlite_db: Database, tmp_path: Path) -> None:
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    try:
        days = []
        for db in (sqlite_db, other):
            with manual_clock(NOW):
                scheme = demo.seed(db, members=120, seed_value=9)
                seed_staff(db)
                days.append(demo_day.seed_day(db, scheme.group_policy_no, 9).as_dict())
        assert days[0] == days[1]
        rows = []
        for db in (sqlite_db, other):
            with db.read() as s:
                rows.append(s.execute(select(ClaimRow.claim_no, ClaimRow.status,
                                             ClaimRow.claim_type, ClaimRow.reported_on,
                                             ClaimRow.approved_fen).order_by(ClaimRow.claim_no)
                                      ).all())
        assert rows[0] == rows[1]
        with manual_clock(NOW):
            again = demo_day.seed_day(sqlite_db, scheme.group_policy_no, 9)
        assert again.as_dict()["claims"] == {}
        with sqlite_db.read() as s:
            assert s.execute(select(func.count()).select_from(ClaimRow)).scalar_one() == len(
                rows[0])
    finally:
        other.dispose()


def test_a_roster_too_small_for_a_day_gets_none(sqlite_db: Database) -> None:
    with manual_clock(NOW):
        scheme = demo.seed(sqlite_db, members=demo_day.PEOPLE - 1, seed_value=2)
        made = demo_day.seed_day(sqlite_db, scheme.group_policy_no, 2)
    assert made.as_dict()["claims"] == {} and not demo_day.has_activity(sqlite_db)

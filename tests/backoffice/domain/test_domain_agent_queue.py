"""Which agents' queue a handoff joins, and the names accepted from outside."""

from __future__ import annotations

import pytest

from backoffice.domain.agent_queue import (
    QUEUE_NAMES,
    QUEUES,
    check_queue,
    queue_figures,
    queue_for_handoff,
)
from backoffice.domain.errors import ValidationError


@pytest.mark.parametrize("reason", ["complaint", "anger"])
def test_complaints_and_anger_go_to_the_complaint_queue(reason: str) -> None:
    summary = {"claim_no": "R202612010001", "intent": "claim_progress"}
    assert queue_for_handoff(reason, summary, "ivr") == "complaints"


def test_a_complain_intent_goes_to_the_complaint_queue_whatever_the_reason() -> None:
    assert queue_for_handoff("user_request", {"intent": "complain"}, "wechat") == "complaints"


@pytest.mark.parametrize("summary", [
    {"claim_no": "R202612010001"},
    {"slots": {"claim_no": "R202612010001"}},
    {"intent": "report_incident", "slots": {}},
    {"intent": "claim_documents"},
])
def test_a_claim_in_the_handoff_goes_to_the_claims_queue(summary: dict[str, object]) -> None:
    assert queue_for_handoff("fallback", summary, "wechat") == "claims"
    assert queue_for_handoff("fallback", summary, "ivr") == "claims"


def test_a_phone_caller_goes_to_the_elderly_queue() -> None:
    assert queue_for_handoff("no_input", {"intent": "policy_query"}, "ivr") == "elderly"


@pytest.mark.parametrize("summary", [None, {}, {"text": "想问问", "slots": {"claim_no": None}}])
def test_anything_else_goes_to_general(summary: dict[str, object] | None) -> None:
    assert queue_for_handoff("user_request", summary, "wechat") == "general"
    assert queue_for_handoff(None, summary, "web") == "general"


def test_every_queue_has_a_chinese_name() -> None:
    assert set(QUEUE_NAMES) == set(QUEUES)
    assert QUEUE_NAMES["elderly"] == "长者/电话"


def test_check_queue_accepts_the_names_and_refuses_the_rest() -> None:
    assert check_queue(" claims ") == "claims"
    for bad in ("", "agents", "CLAIMS", None, 3, ["general"]):
        with pytest.raises(ValidationError) as err:
            check_queue(bad)
        assert err.value.field == "queue"
    with pytest.raises(ValidationError) as err:
        check_queue("nowhere", "target")
    assert err.value.field == "target"


def test_queue_figures_count_and_time_the_waiting_per_queue() -> None:
    waiting = [{"queue": "claims", "waiting_seconds": 30},
               {"queue": "claims", "waiting_seconds": 91},
               {"queue": "elderly", "waiting_seconds": None},
               {"waiting_seconds": 5},  # a queue not named: general
               {"queue": "unknown", "waiting_seconds": 999}]
    rows = {r["queue"]: r for r in queue_figures(waiting)}
    assert list(rows) == list(QUEUES)
    assert rows["claims"] == {"queue": "claims", "name": "理赔", "waiting": 2,
                              "longest_wait": 91, "average_wait": 60}
    assert rows["elderly"]["waiting"] == 1 and rows["elderly"]["longest_wait"] == 0
    assert rows["general"]["waiting"] == 1 and rows["general"]["average_wait"] == 5
    assert rows["complaints"] == {"queue": "complaints", "name": "投诉", "waiting": 0,
                                  "longest_wait": 0, "average_wait": 0}

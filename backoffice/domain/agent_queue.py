"""The agents' named queues (坐席队列) and which one a handed-off conversation joins.

A handoff is routed by what it is about, most pressing first: an angry customer or a
complaint goes to the complaint handlers; a claim the bot was told about to the claims agents;
a phone caller (often elderly, on the IVR) to the agents who take calls; anything else to
general service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backoffice.domain.errors import ValidationError

GENERAL = "general"
CLAIMS = "claims"
COMPLAINTS = "complaints"
ELDERLY = "elderly"
QUEUES = (GENERAL, CLAIMS, COMPLAINTS, ELDERLY)
QUEUE_NAMES = {
    GENERAL: "综合服务",
    CLAIMS: "理赔",
    COMPLAINTS: "投诉",
    ELDERLY: "长者/电话",
}
# who answers for a queue's service: a low satisfaction score opens a task for them. One
# supervising role (理赔主管, backoffice.domain.staff) answers for every queue of the desk and
# for the claims and complaints ratings (the queues of backoffice.services.satisfaction).
SUPERVISOR = "claims_supervisor"
SUPERVISORS = {GENERAL: SUPERVISOR, CLAIMS: SUPERVISOR, COMPLAINTS: SUPERVISOR,
               ELDERLY: SUPERVISOR, "agents": SUPERVISOR, "complaints": SUPERVISOR}
COMPLAINT_REASONS = ("complaint", "anger")
CLAIM_INTENTS = ("report_incident", "claim_progress", "claim_documents", "claim_process")


def check_queue(value: Any, field: str = "queue") -> str:
    """A queue's name as given from outside, or a ValidationError naming `field`."""
    if not isinstance(value, str) or value.strip() not in QUEUES:
        raise ValidationError(field, f"{field} 须为 {'|'.join(QUEUES)} 之一")
    return value.strip()


def _about_claim(summary: Mapping[str, Any]) -> bool:
    slots = summary.get("slots")
    return bool(summary.get("claim_no")
                or (isinstance(slots, Mapping) and slots.get("claim_no"))
                or summary.get("intent") in CLAIM_INTENTS)


def queue_for_handoff(reason: str | None, summary: Mapping[str, Any] | None,
                      channel: str | None) -> str:
    """The queue a handoff joins, from its reason, the bot's summary and the channel."""
    about = summary if isinstance(summary, Mapping) else {}
    if reason in COMPLAINT_REASONS or about.get("intent") == "complain":
        return COMPLAINTS
    if _about_claim(about):
        return CLAIMS
    if channel == "ivr":
        return ELDERLY
    return GENERAL


def queue_figures(waiting: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per queue, from the conversations waiting (each with `queue` and `waiting_seconds`):
    how many, the longest and the average wait in seconds. Every queue is listed."""
    figures = {name: {"queue": name, "name": QUEUE_NAMES[name], "waiting": 0,
                      "longest_wait": 0, "average_wait": 0, "_total": 0}
               for name in QUEUES}
    for item in waiting:
        row = figures.get(str(item.get("queue") or GENERAL))
        if row is None:
            continue
        seconds = item.get("waiting_seconds")
        wait = int(seconds) if isinstance(seconds, int | float) else 0
        row["waiting"] += 1
        row["_total"] += wait
        row["longest_wait"] = max(row["longest_wait"], wait)
    for row in figures.values():
        total = row.pop("_total")
        row["average_wait"] = total // row["waiting"] if row["waiting"] else 0
    return list(figures.values())


def supervisor_of(queue: str | None) -> str:
    """Who supervises a queue (a desk queue, or a ratings queue: claims, complaints, agents)."""
    return SUPERVISORS.get(queue or "", SUPERVISOR)

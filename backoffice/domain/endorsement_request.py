"""Endorsement requests (保全申请): policy services staff must decide. Pure: dates are passed in.

Some endorsements cannot be done by the customer alone — a new beneficiary needs the
policyholder's signature, a surrender or a change of cover the insurer's check. Such a request is
`submitted` with what the customer asked for, then staff `approve` it (the endorsement is applied
as asked, completed from the signed form) or `reject` it with a reason; the customer may
`withdraw` it while it waits. The decision clock is our own promise: 5 working days
(clocks.endorsement_request_deadline).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from backoffice.domain.clocks import Deadline, day_clock_text, endorsement_request_deadline
from backoffice.domain.endorsement import KIND_NAMES, KINDS, RELATIONS
from backoffice.domain.errors import IllegalTransition, ValidationError
from backoffice.domain.identity import parse_id_number

SUBMITTED = "submitted"
APPROVED = "approved"  # the endorsement was applied
REJECTED = "rejected"
WITHDRAWN = "withdrawn"

STATUSES = (SUBMITTED, APPROVED, REJECTED, WITHDRAWN)
STATUS_NAMES = {SUBMITTED: "待审核", APPROVED: "已批准并生效", REJECTED: "已驳回",
                WITHDRAWN: "已撤回"}
CHANNELS = ("bot", "wechat", "ivr", "web", "desk", "api", "counter", "phone")

_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "approve": ((SUBMITTED,), APPROVED),
    "reject": ((SUBMITTED,), REJECTED),
    "withdraw": ((SUBMITTED,), WITHDRAWN),
}
ACTIONS = tuple(_MOVES)
MAX_REASON = 1000


def allowed_actions(status: str) -> tuple[str, ...]:
    return tuple(a for a, (sources, _) in _MOVES.items() if status in sources)


@dataclass(slots=True)
class EndorsementRequest:
    """The parts of a request its rules look at."""

    status: str
    reason: str | None = None

    def _move(self, action: str, actor: str) -> None:
        sources, target = _MOVES[action]
        if self.status not in sources:
            raise IllegalTransition("保全申请", self.status, action, allowed_actions(self.status))
        if not actor:
            raise ValidationError("actor", "每一步都须记录操作人")
        self.status = target

    def approve(self, actor: str) -> None:
        self._move("approve", actor)

    def reject(self, reason: object, actor: str) -> None:
        """A rejection always says why: the customer is told the reason."""
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
            raise ValidationError("reason", f"驳回须写明原因（不超过 {MAX_REASON} 字）")
        self._move("reject", actor)
        self.reason = reason.strip()

    def withdraw(self, actor: str) -> None:
        self._move("withdraw", actor)


def check_kind(kind: object) -> str:
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValidationError("kind", f"保全项目须为 {', '.join(KINDS)} 之一")
    return kind


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


def parse_requested_beneficiaries(raw: object) -> list[dict[str, Any]]:
    """New beneficiaries as the customer gives them: name and relation at least. The ID number
    and the shares may come later from the signed form; shares left out are split equally."""
    if not isinstance(raw, list) or not raw or len(raw) > 10:
        raise ValidationError("beneficiaries", "请指定 1–10 位受益人")
    result: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        where = f"beneficiaries[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(where, "受益人信息格式不正确")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 40:
            raise ValidationError(f"{where}.name", "受益人姓名须为不超过 40 字的文本")
        relation = item.get("relation")
        if relation not in RELATIONS:
            raise ValidationError(f"{where}.relation", f"关系须为 {', '.join(RELATIONS)} 之一")
        entry: dict[str, Any] = {"name": name.strip(), "relation": relation}
        if item.get("id_number") is not None:
            entry["id_number"] = parse_id_number(item.get("id_number"),
                                                 f"{where}.id_number").value
        share = item.get("share_pct")
        if share is not None and (not isinstance(share, int) or isinstance(share, bool)
                                  or not 1 <= share <= 100):
            raise ValidationError(f"{where}.share_pct", "受益比例须为 1–100 的整数")
        entry["share_pct"] = share
        result.append(entry)
    return _split_shares(result)


def _split_shares(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    given = [b["share_pct"] for b in items if b["share_pct"] is not None]
    if given and len(given) != len(items):
        raise ValidationError("beneficiaries", "受益比例须全部填写或全部不填（不填则均分）")
    if not given:
        base, extra = divmod(100, len(items))
        for i, b in enumerate(items):
            b["share_pct"] = base + (1 if i < extra else 0)
    elif sum(given) != 100:
        raise ValidationError("beneficiaries", "受益比例合计须为 100%")
    return items


def missing_for_approval(kind: str, details: Mapping[str, Any]) -> list[str]:
    """What staff still have to fill in from the signed form before approving."""
    if kind != "change_beneficiary":
        return []
    return [f"beneficiaries[{i}].id_number"
            for i, b in enumerate(details.get("beneficiaries") or [])
            if isinstance(b, Mapping) and not b.get("id_number")]


def clock(submitted_on: date, today: date, decided_on: date | None = None) -> Deadline:
    return endorsement_request_deadline(submitted_on, today, decided_on=decided_on)


def due_date(submitted_on: date) -> date:
    return clock(submitted_on, submitted_on).due


def clock_text(d: Deadline, today: date) -> str:
    return day_clock_text(d, today, "办结")

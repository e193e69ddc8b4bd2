"""A customer's cases told in plain words: what happened, what is awaited and from whom, by when.

Pure: the service hands in plain values (statuses, dates, reasons) and gets short lines back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backoffice.domain import appeal as ap
from backoffice.domain import claim as cl
from backoffice.domain import complaint as cp
from backoffice.domain import endorsement_request as er
from backoffice.domain.product import CLAIM_TYPE_NAMES

CLAIM_YEARS = 2  # claims reported in the last two years are listed
MAX_CLAIMS = 5  # claim lines in one answer; the rest are counted
MAX_OTHERS = 3  # lines per kind of request (complaints, visits, endorsements)
# listed: open, rejected and closed claims; a withdrawn claim is the customer's own undoing
LISTED_CLAIMS = (*cl.OPEN, cl.REJECTED, cl.CLOSED)


def claims_since(today: date) -> date:
    """The first report date listed: the same day two years back (29 Feb → 28 Feb)."""
    try:
        return today.replace(year=today.year - CLAIM_YEARS)
    except ValueError:
        return today.replace(year=today.year - CLAIM_YEARS, day=28)


@dataclass(frozen=True)
class Journey:
    """One case's status: what happened, what is awaited (from whom), by when."""

    happened: str
    awaited: str | None = None
    due: date | None = None

    def text(self) -> str:
        out = self.happened
        if self.awaited:
            out += f"；{self.awaited}"
        if self.due:
            out += f"，预计 {self.due.isoformat()} 前"
        return out + "。"


def appeal_journey(appeal_no: str, status: str, due: date, decided_on: date | None,
                   note: str | None) -> str:
    """The appeal of a rejection (复核申请): received → under review → the result."""
    if status == ap.OPEN:
        return f"复核申请 {appeal_no} 已受理，正在复核，{due.isoformat()} 前答复您"
    when = f"{decided_on.isoformat()} " if decided_on else ""
    if status == ap.REOPENED:
        return f"复核申请 {appeal_no} 已于 {when}改为重新审核"
    why = f"（{note[:60]}）" if note else ""
    return f"复核申请 {appeal_no} 已于 {when}答复：维持原拒赔决定{why}"


def claim_journey(status: str, claim_type: str, incident: date, reasons: list[str],
                  missing: list[str], approved_yuan: str | None,
                  expected: date | None, appeal: str | None = None) -> Journey:
    """`appeal`: the line of the claim's latest appeal (appeal_journey), if any."""
    what = f"{CLAIM_TYPE_NAMES.get(claim_type, claim_type)}，出险 {incident.isoformat()}"
    if status == cl.REJECTED:
        why = "；".join(r.strip() for r in reasons if r.strip()) or "详见拒赔通知书"
        if appeal and "正在复核" in appeal:
            return Journey(f"{what}：未予赔付，原因：{why}", appeal)
        return Journey(f"{what}：未予赔付，原因：{why}",
                       (f"{appeal}；" if appeal else "")
                       + "如有异议，可以说“申请复核”并说明理由，或说“转人工”")
    if appeal:  # reopened on appeal: the claim's stage, with how it came back
        inner = claim_journey(status, claim_type, incident, reasons, missing, approved_yuan,
                              expected)
        return Journey(f"{inner.happened}（{appeal}）", inner.awaited, inner.due)
    if status == cl.CLOSED:
        paid = f"，赔付 {approved_yuan} 元" if approved_yuan else ""
        return Journey(f"{what}：已结案{paid}")
    if status == cl.DOCUMENTS_PENDING and missing:
        return Journey(f"{what}：{cl.STAGE_NAMES[status]}",
                       "等您提交：" + "、".join(missing))
    if status in (cl.APPROVED, cl.PAID) and approved_yuan:
        return Journey(f"{what}：{cl.STAGE_NAMES[status]}，核定赔付 {approved_yuan} 元",
                       "赔款转入您的银行账户" if status == cl.APPROVED else "请留意银行到账")
    return Journey(f"{what}：{cl.STAGE_NAMES.get(status, status)}",
                   "等理赔人员处理", expected)


_COMPLAINT_AWAITED = {
    cp.RECEIVED: "等我们受理",
    cp.ACKNOWLEDGED: "等处理人员调查",
    cp.ASSIGNED: "处理人员正在调查，等我们答复处理结果",
    cp.INVESTIGATING: "处理人员正在调查，等我们答复处理结果",
    cp.REOPENED: "已重新核查，等我们再次答复",
    cp.DECIDED: "处理结果将由工作人员告知您",
    cp.NOTIFIED: "欢迎您对处理结果作满意度评价",
}


def complaint_journey(status: str, category: str, outcome: str | None, decision: str | None,
                      due: date) -> Journey:
    kind = cp.CATEGORY_NAMES.get(category, category)
    happened = f"{kind}类投诉：{cp.STATUS_NAMES.get(status, status)}"
    if outcome and status not in cp.OPEN:
        happened += f"，结论：{cp.OUTCOME_NAMES.get(outcome, outcome)}"
        if decision:
            happened += f"（{decision[:60]}）"
    return Journey(happened, _COMPLAINT_AWAITED.get(status),
                   due if status in cp.OPEN else None)


def home_visit_journey(status: str, contact_by: date, visit_by: date,
                       scheduled_for: date | None) -> Journey:
    if status in ("requested", "assigned"):
        return Journey("上门服务：已收到申请", "等服务人员打电话联系您", contact_by)
    if status == "contacted":
        return Journey("上门服务：服务人员已联系您", "等约定上门时间", visit_by)
    if status == "scheduled":
        return Journey("上门服务：已约定上门时间", "等服务人员上门", scheduled_for or visit_by)
    return Journey("上门服务：" + ("已上门办理" if status == "visited" else "已取消"))


def endorsement_journey(status: str, kind: str, reason: str | None, due: date) -> Journey:
    what = f"{er.kind_name(kind)}申请"
    if status == er.SUBMITTED:
        return Journey(f"{what}：已提交", "等工作人员审核", due)
    if status == er.REJECTED:
        return Journey(f"{what}：未获批准" + (f"，原因：{reason[:60]}" if reason else ""))
    return Journey(f"{what}：{er.STATUS_NAMES.get(status, status)}")


def more_text(left: int, what: str) -> str:
    return f"另有 {left} 件{what}未列出，告诉我编号可以单独查询。" if left > 0 else ""


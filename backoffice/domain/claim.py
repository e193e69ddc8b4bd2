"""The claim lifecycle (理赔流程) as an explicit state machine.

report → registration (coverage check) → documents pending (one consolidated notice,
Art. 22) → review → investigation when needed → adjudication → approval within authority
limits (超权限上报) → payment → close. Also rejection with reasons (Art. 24), withdrawal and
reopening. Every move names its actor; an illegal move raises IllegalTransition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from backoffice.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    ValidationError,
)

REPORTED = "reported"
REGISTERED = "registered"
DOCUMENTS_PENDING = "documents_pending"
UNDER_REVIEW = "under_review"
INVESTIGATING = "investigating"
ADJUDICATED = "adjudicated"
PENDING_APPROVAL = "pending_approval"
APPROVED = "approved"
PAID = "paid"
CLOSED = "closed"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"

STATUSES = (REPORTED, REGISTERED, DOCUMENTS_PENDING, UNDER_REVIEW, INVESTIGATING, ADJUDICATED,
            PENDING_APPROVAL, APPROVED, PAID, CLOSED, REJECTED, WITHDRAWN)
OPEN = (REPORTED, REGISTERED, DOCUMENTS_PENDING, UNDER_REVIEW, INVESTIGATING, ADJUDICATED,
        PENDING_APPROVAL, APPROVED, PAID)
STAGE_NAMES = {
    REPORTED: "已报案",
    REGISTERED: "已立案",
    DOCUMENTS_PENDING: "待补充材料",
    UNDER_REVIEW: "材料审核中",
    INVESTIGATING: "调查核实中",
    ADJUDICATED: "已理算",
    PENDING_APPROVAL: "待审批",
    APPROVED: "已审批，待支付",
    PAID: "已支付",
    CLOSED: "已结案",
    REJECTED: "已拒赔",
    WITHDRAWN: "已撤案",
}



def awaiting(status: str, missing: list[str], approval_role: str | None = None,
             has_payee: bool = True) -> str | None:
    """What an open claim waits for and from whom, in plain words for the customer's progress
    notice; None once it is no longer open."""
    if status == DOCUMENTS_PENDING or (missing and status in (REGISTERED, REPORTED)):
        return "等您提交：" + "、".join(missing) if missing else "等您补充材料"
    if status == APPROVED and not has_payee:
        return "等您提供收款银行账户（户名须为受益人本人）"
    return {
        REPORTED: "等我们（理赔部）核对保单和承保信息",
        REGISTERED: "等我们（理赔部）列出所需材料",
        UNDER_REVIEW: "等理赔员审核您提交的材料",
        INVESTIGATING: "等理赔调查人员核实事故情况，可能会联系您",
        ADJUDICATED: "等理赔主管审批赔付金额",
        PENDING_APPROVAL: f"等{ROLE_NAMES.get(approval_role or '', '上级')}审批赔付金额",
        APPROVED: "等财务部门把赔款转入您的账户",
    }.get(status)


#: every step a claim's timeline names, in the staff's words
ACTION_NAMES = {
    "register": "立案", "decline_registration": "不予立案", "register_anyway": "核查未通过仍予立案",
    "request_documents": "通知补充材料", "documents_complete": "材料齐全，进入审核",
    "waive_documents": "豁免材料", "investigate": "转调查", "finish_investigation": "调查完毕",
    "enter_facts": "录入理算事实", "adjudicate": "理算", "approve": "审批通过", "pay": "支付赔款",
    "close": "结案", "reject": "拒赔", "withdraw": "撤案", "reopen": "重开案件",
    "advance_payment": "先予支付", "change_type": "更改理赔类型",
    "send_rejection_letter": "寄送拒赔通知书", "assign": "分派经办人",
    "special_case": "列为重大案件",
    "set_bank_account": "设置收款账户", "propose_bank_account": "申请收款账户",
    "confirm_bank_account": "确认收款账户", "clear_flag": "解除风险标记",
    "confirm_flag": "核实风险标记", "documents_reminder": "提醒补充材料", "document": "收到材料",
    "appeal": "客户申请复核", "appeal_upheld": "复核维持原结论", "escalate": "超时督办",
    "roster_change": "参保名单变更", "intake": "受理", "report": "报案",
}


_BEFORE_DECISION = (REGISTERED, DOCUMENTS_PENDING, UNDER_REVIEW, INVESTIGATING, ADJUDICATED,
                    PENDING_APPROVAL)
_ALLOWED: dict[str, tuple[str, ...]] = {
    "register": (REPORTED,),
    "decline_registration": (REPORTED,),
    "request_documents": (REGISTERED, UNDER_REVIEW, INVESTIGATING),
    "documents_complete": (REGISTERED, DOCUMENTS_PENDING),
    "investigate": (UNDER_REVIEW,),
    "finish_investigation": (INVESTIGATING,),
    "adjudicate": (UNDER_REVIEW,),
    "approve": (ADJUDICATED, PENDING_APPROVAL),
    "pay": (APPROVED,),
    "close": (PAID,),
    "reject": _BEFORE_DECISION,
    "withdraw": (REPORTED, REGISTERED, DOCUMENTS_PENDING, UNDER_REVIEW, INVESTIGATING),
    "reopen": (CLOSED, REJECTED, WITHDRAWN),
    "advance_payment": (UNDER_REVIEW, INVESTIGATING, ADJUDICATED, PENDING_APPROVAL),
    # the type decides the documents and the benefit: corrected before anything is decided
    "change_type": (REPORTED, REGISTERED, DOCUMENTS_PENDING, UNDER_REVIEW, INVESTIGATING),
    "register_anyway": (REPORTED,),
}
STAFF_ACTIONS = tuple(_ALLOWED)


def allowed_actions(status: str) -> tuple[str, ...]:
    return tuple(a for a, froms in _ALLOWED.items() if status in froms)


# ---- authority limits (审批权限) --------------------------------------------------------------

ROLES = ("adjuster", "supervisor", "branch_head")
ROLE_NAMES = {"system": "系统快速通道", "adjuster": "理赔员", "supervisor": "理赔主管",
              "branch_head": "分公司负责人"}
DEFAULT_LIMITS: dict[str, Decimal | None] = {
    "adjuster": Decimal("5000"), "supervisor": Decimal("50000"), "branch_head": None,
}


def required_role(amount: Decimal, limits: dict[str, Decimal | None] = DEFAULT_LIMITS) -> str:
    """The lowest role whose authority covers the amount."""
    for role in ROLES:
        limit = limits[role]
        if limit is None or amount <= limit:
            return role
    return ROLES[-1]


def within_authority(role: str, amount: Decimal,
                     limits: dict[str, Decimal | None] = DEFAULT_LIMITS) -> bool:
    if role not in limits:
        return False
    limit = limits[role]
    return limit is None or amount <= limit


# ---- coverage check at registration (立案) -----------------------------------------------------

@dataclass(frozen=True, slots=True)
class CoverageFacts:
    """What registration checks, gathered by the service from the policy and product."""

    incident_date: date
    reported_on: date
    policy_start: date | None
    policy_end: date | None
    policy_covered_on_incident: bool
    insured_matches: bool
    waiting_period_days: int
    time_bar_years: int
    claim_type_covered: bool
    product_line: str
    #: a group member taken off the roster: covered through this day, not after
    member_ended_on: date | None = None
    member_end_reason: str | None = None  # death / moved_away / correction


_END_REASONS = {"death": "身故", "moved_away": "迁出", "correction": "清单更正"}


def coverage_problems(f: CoverageFacts) -> list[str]:
    """Reasons a claim cannot be registered; empty when it can."""
    problems = []
    if not f.insured_matches:
        problems.append("出险人不是该保单的被保险人")
    if f.incident_date > f.reported_on:
        problems.append("出险日期晚于报案日期")
    if not f.policy_covered_on_incident:
        period = (f"{f.policy_start} 至 {f.policy_end}" if f.policy_start and f.policy_end
                  else "无有效保险期间")
        problems.append(f"出险日期 {f.incident_date} 不在保单有效期内（{period}）")
    elif f.member_ended_on is not None and f.incident_date > f.member_ended_on:
        why = _END_REASONS.get(f.member_end_reason or "", "退出清单")
        problems.append(f"被保险人已于 {f.member_ended_on} 因{why}退出被保险人清单，"
                        f"保障至当日终止，出险日期 {f.incident_date} 在其后")
    elif f.policy_start and f.waiting_period_days and (
            f.incident_date < f.policy_start + timedelta(days=f.waiting_period_days)):
        problems.append(f"出险日期在 {f.waiting_period_days} 天等待期内")
    bar = _years_after(f.incident_date, f.time_bar_years)
    if f.reported_on > bar:
        problems.append(f"已超过 {f.time_bar_years} 年诉讼时效（保险法第26条，至 {bar}）")
    if not f.claim_type_covered:
        problems.append("该保单不承保此类理赔")
    return problems


def _years_after(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 Feb
        return d.replace(year=d.year + years, day=28)


def is_late_report(incident_date: date, reported_on: date, days: int = 30) -> bool:
    """Art. 21 asks for prompt notice; a report this late is flagged, not refused."""
    return (reported_on - incident_date).days > days


# ---- four eyes on money (双人复核) -------------------------------------------------------------

SYSTEM = "system"  # the fast track's own decision
#: steps that shape the decision, with their names: whoever took one does not approve
DECIDING_STEPS = {"waive_documents": "豁免缺少的材料", "enter_facts": "录入或修改理算事实",
                  "adjudicate": "理算", "change_type": "更改理赔类型",
                  "register_anyway": "立案核查未通过仍予立案"}


def deciders(steps: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Who took which deciding step: {actor: [step names]} (the system is never barred)."""
    out: dict[str, list[str]] = {}
    for action, who in steps:
        if action in DECIDING_STEPS and who != SYSTEM:
            names = out.setdefault(who, [])
            if DECIDING_STEPS[action] not in names:
                names.append(DECIDING_STEPS[action])
    return out


#: steps that choose where the money goes: whoever took one does not pay
PAYEE_STEPS = ("propose_bank_account", "confirm_bank_account")


#: steps that shape a claim for good: a reopening starts a new round of decisions, but facts
#: typed, documents waived and the payee chosen stay in force, and so do their authors' hands
LASTING_STEPS = frozenset({"enter_facts", "waive_documents", "change_type", "register_anyway",
                           *PAYEE_STEPS})


def payee_choosers(steps: Sequence[tuple[str, str]]) -> set[str]:
    """Staff who proposed or confirmed the payee account of this round."""
    return {who for action, who in steps if action in PAYEE_STEPS}


def approver(steps: Sequence[tuple[str, str]]) -> str | None:
    """Who gave the approval in force (the last one of the round)."""
    return next((who for action, who in reversed(steps) if action == "approve"), None)


def payee_change(verified: str | None, pending: tuple[str, str] | None, account: str,
                 actor: str, staff: bool) -> str:
    """What setting the payee account does: `set` (an integration gives the first verified
    account), `propose` (a staff member's change waits for a second person) or `confirm`
    (another staff member confirms the same account). `pending` is (account, proposer)."""
    if not staff:
        if verified is not None and verified != account:
            raise Conflict("已有核实的收款账户，变更须由两名工作人员确认", "account")
        return "set"
    if pending is None or pending[0] != account:
        return "propose"
    if pending[1] == actor:
        raise Forbidden("收款账户变更须由另一名工作人员确认，不能本人确认", "action")
    return "confirm"


# ---- the claim -----------------------------------------------------------------------------------

@dataclass(slots=True)
class Claim:
    status: str
    payable: Decimal | None = None
    approved_amount: Decimal | None = None
    approval_role: str | None = None  # the role the pending approval waits for
    missing: tuple[str, ...] = ()
    rejection_reasons: tuple[str, ...] = ()
    advance_paid: Decimal = Decimal(0)
    reopen_count: int = 0
    history: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, actor)
    # (action, actor) of this round's steps, from the timeline: who did what (four eyes)
    steps: list[tuple[str, str]] = field(default_factory=list)
    payee: str | None = None  # the customer's verified bank account

    def _check(self, action: str, actor: str) -> None:
        if self.status not in _ALLOWED[action]:
            raise IllegalTransition("理赔案件", self.status, action, allowed_actions(self.status))
        if not actor:  # before anything changes, so a refused move leaves the claim as it was
            raise ValidationError("actor", "每一步都须记录操作人")

    def _move(self, to: str, actor: str) -> None:
        if not actor:
            raise ValidationError("actor", "每一步都须记录操作人")
        self.history.append((self.status, to, actor))
        self.status = to

    def waive_documents(self, actor: str) -> None:
        """材料豁免: recorded, so that whoever waived does not approve."""
        self._check("documents_complete", actor)
        self.steps.append(("waive_documents", actor))

    def change_type(self, actor: str) -> None:
        """更改理赔类型: staff correct the type before a decision; recorded, so that whoever
        changed it does not approve."""
        self._check("change_type", actor)
        self.steps.append(("change_type", actor))
        self._move(self.status, actor)

    def register(self, problems: Sequence[str], actor: str) -> None:
        """立案: a coverage check that finds nothing wrong."""
        self._check("register", actor)
        if problems:
            raise DomainError("不符合立案条件：" + "；".join(problems), "coverage")
        self._move(REGISTERED, actor)

    def register_anyway(self, problems: Sequence[str], reason: str, actor: str) -> None:
        """立案 although the coverage check found problems (问题件), with the reason — a
        supervisor's decision; whoever takes it does not approve the claim."""
        self._check("register_anyway", actor)
        if not problems:
            raise ValidationError("action", "立案核查已通过，请直接立案（register）")
        if not reason.strip():
            raise ValidationError("note", "核查未通过仍予立案须说明理由（note）")
        self.steps.append(("register_anyway", actor))
        self._move(REGISTERED, actor)

    def decline_registration(self, problems: Sequence[str], actor: str) -> None:
        """不予立案: a rejection with the coverage check's reasons."""
        self._check("decline_registration", actor)
        if not problems:
            raise ValidationError("reasons", "不予立案须说明理由")
        self.rejection_reasons = tuple(problems)
        self._move(REJECTED, actor)

    def request_documents(self, missing: Iterable[str], actor: str) -> None:
        """The one consolidated notice of everything missing (Art. 22)."""
        self._check("request_documents", actor)
        items = tuple(missing)
        if not items:
            raise ValidationError("missing_documents", "没有缺少的材料，无需发补材料通知")
        self.missing = items
        self._move(DOCUMENTS_PENDING, actor)

    def documents_complete(self, actor: str) -> None:
        self._check("documents_complete", actor)
        self.missing = ()
        self._move(UNDER_REVIEW, actor)

    def enter_facts(self, actor: str) -> None:
        """Facts typed by staff before adjudication: recorded, so that they do not approve."""
        self._check("adjudicate", actor)
        self.steps.append(("enter_facts", actor))

    def investigate(self, actor: str) -> None:
        self._check("investigate", actor)
        self._move(INVESTIGATING, actor)

    def finish_investigation(self, actor: str) -> None:
        self._check("finish_investigation", actor)
        self._move(UNDER_REVIEW, actor)

    def adjudicate(self, payable: Decimal, actor: str) -> None:
        self._check("adjudicate", actor)
        if payable < 0:
            raise ValidationError("payable", "赔付金额不能为负数")
        self.payable = payable
        self.steps.append(("adjudicate", actor))
        self._move(ADJUDICATED, actor)

    def revise(self, payable: Decimal, actor: str) -> None:
        """A risk confirmed before payment: the amount is adjudicated again and any approval
        given falls, so the revised amount is approved afresh (by someone else)."""
        if self.status not in (ADJUDICATED, PENDING_APPROVAL, APPROVED):
            raise IllegalTransition("理赔案件", self.status, "revise",
                                    allowed_actions(self.status))
        if payable < 0:
            raise ValidationError("payable", "赔付金额不能为负数")
        self.payable, self.approved_amount, self.approval_role = payable, None, None
        self.steps.append(("adjudicate", actor))
        if self.status != ADJUDICATED:
            self._move(ADJUDICATED, actor)

    def approve(self, role: str, actor: str,
                limits: dict[str, Decimal | None] = DEFAULT_LIMITS) -> bool:
        """Approve within the role's authority; beyond it the claim escalates (超权限上报).

        Returns True when approved, False when escalated to a higher role.
        """
        self._check("approve", actor)
        assert self.payable is not None
        if role != "system" and role not in limits:
            raise ValidationError("role", f"角色须为 {', '.join(ROLES)} 之一")
        done = deciders(self.steps).get(actor)
        if done:
            raise Forbidden(f"双人复核：{actor} 已{'、'.join(done)}，不能审批本案，"
                            "须由另一名理赔人员审批", "action")
        needed = required_role(self.payable, limits)
        if role == "system" or within_authority(role, self.payable, limits):
            self.approved_amount, self.approval_role = self.payable, None
            self.steps.append(("approve", actor))
            self._move(APPROVED, actor)
            return True
        self.approval_role = needed
        if self.status != PENDING_APPROVAL:
            self._move(PENDING_APPROVAL, actor)
        return False

    def pay(self, amount: Decimal, actor: str, account: str | None = None) -> str:
        """Pay what is due to the verified account; returns that account. The approver does
        not pay, unless the fast track (the system) approved."""
        self._check("pay", actor)
        assert self.approved_amount is not None
        approved_by = approver(self.steps)
        if approved_by not in (None, SYSTEM) and approved_by == actor:
            raise Forbidden(f"双人复核：{actor} 审批了本案，不能再支付，须由另一名工作人员支付",
                            "action")
        if actor in payee_choosers(self.steps):
            raise Forbidden(f"双人复核：{actor} 变更或确认了收款账户，不能再支付，"
                            "须由另一名工作人员支付", "action")
        payee = self.payee_for(account)
        due = self.approved_amount - self.advance_paid
        if amount != due:
            raise ValidationError("amount", f"应支付 {due} 元（核定 {self.approved_amount} 元，"
                                            f"已先予支付 {self.advance_paid} 元）")
        self._move(PAID, actor)
        return payee

    def payee_for(self, account: str | None) -> str:
        """The account money goes to: the verified one; another one named is refused."""
        if self.payee is None:
            raise DomainError("尚无核实的收款账户：须由客户提供银行卡并经核实"
                              "（客户确认的银行卡号，或两名工作人员确认）", "account")
        if account is not None and account != self.payee:
            raise Conflict("收款账户须为客户核实的账户，不能支付到其他账户", "account")
        return self.payee

    def advance(self, amount: Decimal, determinable: Decimal, actor: str,
                account: str | None = None) -> str:
        """先予支付 (Art. 25): pay the part that can already be determined."""
        self._check("advance_payment", actor)
        done = deciders(self.steps).get(actor)
        if done:
            raise Forbidden(f"双人复核：{actor} 已{'、'.join(done)}，不能先予支付，"
                            "须由另一名理赔人员支付", "action")
        if actor in payee_choosers(self.steps):
            raise Forbidden(f"双人复核：{actor} 选定了收款账户，不能再支付本案", "action")
        payee = self.payee_for(account)
        if amount <= 0 or self.advance_paid + amount > determinable:
            raise ValidationError("amount", f"先予支付不能超过可确定的金额 {determinable} 元")
        self.advance_paid += amount
        self.history.append((self.status, self.status, actor))
        return payee

    def close(self, actor: str) -> None:
        self._check("close", actor)
        self._move(CLOSED, actor)

    def reject(self, reasons: Sequence[str], actor: str) -> None:
        """拒赔 with reasons; the letter follows within 3 days (Art. 24)."""
        self._check("reject", actor)
        cleaned = tuple(r.strip() for r in reasons if r and r.strip())
        if not cleaned:
            raise ValidationError("reasons", "拒赔须书面说明理由")
        self.rejection_reasons = cleaned
        self._move(REJECTED, actor)

    def withdraw(self, actor: str) -> None:
        self._check("withdraw", actor)
        self._move(WITHDRAWN, actor)

    def reopen(self, actor: str) -> None:
        self._check("reopen", actor)
        if self.status == CLOSED and self.approved_amount is not None:
            self.advance_paid = self.approved_amount  # all paid already: only a top-up is due
        self.reopen_count += 1
        self.steps = []  # a new round: a new decision by whoever takes it
        self.approved_amount = self.approval_role = None
        self._move(UNDER_REVIEW, actor)

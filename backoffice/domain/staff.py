"""Staff roles and what each may see and do on the desk and through the API. Pure: a table
and its questions.

The server asks `allowed(role, permission)` on every desk page and API call; a role not listed
for a permission is refused. Personal data (ID numbers, phone numbers) is shown in full only to
the roles whose work needs it (`sees_pii`).
"""

from __future__ import annotations

import re

from backoffice.domain.errors import Forbidden, ValidationError

CS_AGENT = "cs_agent"  # 客服坐席
CLAIMS_ADJUSTER = "claims_adjuster"  # 理赔员
CLAIMS_SUPERVISOR = "claims_supervisor"  # 理赔主管
COMPLAINT_HANDLER = "complaint_handler"  # 投诉处理专员
UNDERWRITER = "underwriter"  # 核保员
ADMINISTRATOR = "administrator"  # 系统管理员

ROLES = (CS_AGENT, CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR, COMPLAINT_HANDLER, UNDERWRITER,
         ADMINISTRATOR)
ROLE_NAMES = {CS_AGENT: "客服坐席", CLAIMS_ADJUSTER: "理赔员", CLAIMS_SUPERVISOR: "理赔主管",
              COMPLAINT_HANDLER: "投诉处理专员", UNDERWRITER: "核保员",
              ADMINISTRATOR: "系统管理员"}

class Actor(str):
    """Who acts: the name the audit log records, with the staff role that gives authority
    (None for the platform's own integrations: the bot, the channels, the scheduler). A str,
    so every use case that records an actor takes one as it is."""

    role: str | None

    def __new__(cls, name: str, role: str | None = None) -> Actor:
        actor = super().__new__(cls, name)
        actor.role = role
        return actor

    @property
    def is_staff(self) -> bool:
        return self.role is not None

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role or "", "")

    def may(self, permission: str) -> bool:
        """Integrations hold every right (CONTRACTS.md); staff what their role allows."""
        return self.role is None or allowed(self.role, permission)


# the approval role of the claim rules (backoffice.domain.claim.ROLES) each staff role acts as
CLAIM_APPROVAL_ROLE = {CLAIMS_ADJUSTER: "adjuster", CLAIMS_SUPERVISOR: "supervisor"}

PERMISSIONS: dict[str, frozenset[str]] = {
    "desk.home": frozenset(ROLES),
    "handoff.view": frozenset({CS_AGENT, CLAIMS_SUPERVISOR}),
    "handoff.work": frozenset({CS_AGENT, CLAIMS_SUPERVISOR}),
    "complaints.view": frozenset({CS_AGENT, COMPLAINT_HANDLER, CLAIMS_SUPERVISOR}),
    "complaints.create": frozenset({CS_AGENT, COMPLAINT_HANDLER}),
    "complaints.work": frozenset({COMPLAINT_HANDLER}),
    "complaints.approve_extension": frozenset({CLAIMS_SUPERVISOR}),
    "claims.view": frozenset({CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR}),
    "claims.work": frozenset({CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR}),
    # confirming or clearing a risk flag (风险核查): the claim steps confirm_flag, clear_flag
    "claims.decide_risk": frozenset({CLAIMS_SUPERVISOR}),
    "home_visits.view": frozenset({CS_AGENT, COMPLAINT_HANDLER, CLAIMS_SUPERVISOR}),
    "home_visits.work": frozenset({CS_AGENT, COMPLAINT_HANDLER}),
    "supervisor.view": frozenset({CLAIMS_SUPERVISOR, ADMINISTRATOR}),
    # policy side: endorsement requests (保全申请) and underwriting referrals (核保)
    "endorsement_requests.work": frozenset({UNDERWRITER, ADMINISTRATOR}),
    "underwriting.work": frozenset({UNDERWRITER, ADMINISTRATOR}),
    "staff.manage": frozenset({ADMINISTRATOR}),
    # the API's own (routes → permission: backoffice.domain.api_access)
    "api.session": frozenset(ROLES),
    "products.view": frozenset(ROLES),
    "policies.view": frozenset({CS_AGENT, CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR, COMPLAINT_HANDLER,
                                UNDERWRITER}),
    "policies.apply": frozenset({CS_AGENT, UNDERWRITER}),
    "policies.service": frozenset({CS_AGENT, UNDERWRITER}),  # endorsements, contact changes
    "policies.underwrite": frozenset({UNDERWRITER}),  # underwriting, issue, premiums, schemes
    "policies.document": frozenset({UNDERWRITER, CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR,
                                    COMPLAINT_HANDLER}),  # unmasked: only roles that see PII
    "claims.report": frozenset({CS_AGENT, CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR}),
    # appeals of a rejection (复核申请): taken down for the customer, decided by a supervisor
    "appeals.file": frozenset({CS_AGENT, COMPLAINT_HANDLER, CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR}),
    "appeals.view": frozenset({CS_AGENT, COMPLAINT_HANDLER, CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR}),
    "appeals.decide": frozenset({CLAIMS_SUPERVISOR}),
    "claims.lookup": frozenset({CS_AGENT, COMPLAINT_HANDLER, CLAIMS_ADJUSTER,
                                CLAIMS_SUPERVISOR}),
    "complaints.act": frozenset({COMPLAINT_HANDLER, CLAIMS_SUPERVISOR}),
    # the queue's supervisor works the low-score follow-ups a bad rating opens
    "satisfaction.record": frozenset({CS_AGENT, COMPLAINT_HANDLER, CLAIMS_SUPERVISOR}),
    # the work queues (工作队列): seen and taken by whoever works a kind of them, given to a
    # named person by a supervisor
    "tasks.view": frozenset({CS_AGENT, COMPLAINT_HANDLER, CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR}),
    "tasks.take": frozenset({CS_AGENT, COMPLAINT_HANDLER, CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR}),
    "tasks.assign": frozenset({CLAIMS_SUPERVISOR}),
    # a registration review (问题件) is decided by the claim's supervisor steps
    "tasks.review": frozenset({CLAIMS_SUPERVISOR}),
    "bindings.manage": frozenset({CS_AGENT}),
    "audit.view": frozenset({CLAIMS_SUPERVISOR, ADMINISTRATOR}),
    # who looked at personal data (个人信息访问记录) and the unusual-access report: supervisors
    "privacy.audit": frozenset({CLAIMS_SUPERVISOR}),
    # requests of the data subject (查阅、复制、更正、删除): the roles that already see a
    # person's data unmasked and answer them on a legal clock — complaint handlers (a request
    # is often a grievance, worked like one) and claims supervisors (who read the access log);
    # not agents or adjusters: an export hands over everything held about a person
    "privacy.requests": frozenset({COMPLAINT_HANDLER, CLAIMS_SUPERVISOR}),
    "notifications.manage": frozenset({ADMINISTRATOR}),
    # the channels' port to the back office (/api/v1/channel/…): the service token's alone
    "channel.port": frozenset(),
}

# claim actions a role may take on the desk (approval beyond its limit escalates by the rules)
CLAIM_ACTIONS: dict[str, frozenset[str]] = {
    CLAIMS_ADJUSTER: frozenset({
        "register", "request_documents", "documents_complete", "investigate",
        "finish_investigation", "adjudicate", "approve", "pay", "close", "send_rejection_letter",
        "assign", "set_bank_account", "change_type"}),
    CLAIMS_SUPERVISOR: frozenset({
        "register", "decline_registration", "request_documents", "documents_complete",
        "investigate", "finish_investigation", "adjudicate", "approve", "pay", "close",
        "reject", "send_rejection_letter", "withdraw", "reopen", "assign", "special_case",
        "advance_payment", "set_bank_account", "clear_flag", "confirm_flag", "change_type",
        "register_anyway"}),
}

_PII_ROLES = frozenset({CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR, COMPLAINT_HANDLER})
_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")
MIN_PASSWORD = 10


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS.get(permission, frozenset())


def may_take_claim_action(role: str, action: str) -> bool:
    return action in CLAIM_ACTIONS.get(role, frozenset())


def authorize_complaint_step(actor: Actor, action: object) -> None:
    """A complaint step: an extension is a supervisor's approval (given as themself), the
    other steps are the handlers' work. Integrations (no role) keep every right."""
    needed = "complaints.approve_extension" if action == "extend" else "complaints.work"
    if not actor.may(needed):
        raise Forbidden(f"您的角色（{actor.role_name}）无权执行投诉操作 {str(action)[:40]}",
                        "action")


def authorize_claim_step(actor: Actor, action: str) -> None:
    """A staff member takes the claim actions of their role, on the desk and through the API
    alike; the platform's integrations are not limited here (the rules still are)."""
    if actor.role is not None and not may_take_claim_action(actor.role, action):
        raise Forbidden(f"您的角色（{actor.role_name}）无权执行理赔操作 {action[:40]}", "action")


def sees_pii(role: str, area: str = "") -> bool:
    """Full ID and phone numbers: claims and complaint staff; home-visit workers for visits
    (they must phone the customer); underwriters for policies and parties. Everyone else sees
    them masked."""
    if area == "home_visits" and allowed(role, "home_visits.work"):
        return True
    if area == "follow_ups" and allowed(role, "satisfaction.record"):  # they phone for 回访
        return True
    if area == "policies" and role == UNDERWRITER:
        return True
    return role in _PII_ROLES


def check_role(role: object) -> str:
    if role not in ROLES:
        raise ValidationError("role", f"角色须为 {', '.join(ROLES)} 之一")
    return str(role)


def check_username(name: object) -> str:
    if not isinstance(name, str) or not _USERNAME.match(name):
        raise ValidationError("username", "用户名须为 3–40 位小写字母、数字、下划线、点或连字符，"
                                          "以字母开头")
    return name


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD or len(password) > 200:
        raise ValidationError("password", f"密码长度须为 {MIN_PASSWORD}–200 个字符")
    return password

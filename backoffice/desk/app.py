"""The desk's pages and form posts. Every route is in ROUTES with the permission it needs;
the auth middleware enforces it before the handler runs (backoffice/desk/auth.py)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from backoffice.channel_hooks import ConversationHooks
from backoffice.desk import auth
from backoffice.desk.handoff import HandoffQueue
from backoffice.desk.live import LiveHub
from backoffice.domain import access_log as al
from backoffice.domain import agent_queue, integrity
from backoffice.domain import claim as cl
from backoffice.domain import complaint as cp
from backoffice.domain import customer_answer as ca
from backoffice.domain import endorsement_request as er
from backoffice.domain import privacy_request as pr
from backoffice.domain import staff as roles
from backoffice.domain.clocks import CLOCK_NAMES
from backoffice.domain.errors import Damaged, DomainError, Forbidden, NotFound, Unavailable
from backoffice.domain.identity import mask_id_number, mask_phone
from backoffice.domain.masking import mask_text
from backoffice.domain.product import CLAIM_TYPE_NAMES
from backoffice.domain.underwriting import OUTCOME_NAMES as UW_OUTCOME_NAMES
from backoffice.services import (
    agent_desk,
    appeals,
    claim_stats,
    claims,
    complaints,
    conversations,
    customer_answers,
    document_reading,
    endorsement_requests,
    exports,
    handler_stats,
    home_visits,
    policies,
    privacy_access,
    privacy_requests,
    risk_review,
    satisfaction,
    scheme,
    search,
    staff,
    tasks,
    work_queues,
)
from backoffice.services.base import SHANGHAI, today_cn
from backoffice.services.claim_stats import TRACK_NAMES
from backoffice.services.running import run_use_case
from backoffice.store.db import Database
from backoffice.store.files import DocumentStore
from backoffice.views import disclosure
from backoffice.views.charts import render_claim_charts

DB = web.AppKey("desk_db", Database)
FILES = web.AppKey("desk_files", DocumentStore)
HUB = web.AppKey("desk_hub", LiveHub)
HANDOFF = web.AppKey("desk_handoff", HandoffQueue)
HOOKS = web.AppKey("desk_conversation_hooks", ConversationHooks)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
)


def _local(value: str | datetime | None) -> str:
    if not value:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


_env.filters["local"] = _local
_env.globals.update(ROLE_NAMES=roles.ROLE_NAMES, STATUS_NAMES=cp.STATUS_NAMES,
                    CATEGORY_NAMES=cp.CATEGORY_NAMES, OUTCOME_NAMES=cp.OUTCOME_NAMES,
                    CLAIM_TYPE_NAMES=CLAIM_TYPE_NAMES)
_env.globals.update(  # the claim page
    ACTION_NAMES=cl.ACTION_NAMES, CLAIM_STAGE_NAMES=cl.STAGE_NAMES,
    APPROVAL_ROLE_NAMES=cl.ROLE_NAMES, TRACK_NAMES=TRACK_NAMES, DEADLINE_NAMES=CLOCK_NAMES,
    FLAG_NAMES=integrity.CODE_NAMES)
_env.globals.update(  # the handoff pages
    CHANNEL_NAMES={"wechat": "微信", "ivr": "电话", "web": "网页", "sms": "短信",
                   "desk": "柜面/坐席台", "api": "系统接口", "counter": "柜面", "phone": "电话"},
    STATE_NAMES={"bot": "小保接待", "queued": "排队中", "agent": "人工服务中", "closed": "已结束"},
    ROLE_LINE_NAMES={"user": "客户", "bot": "小保", "agent": "坐席", "system": "系统",
                     "note": "备注"},
    HANDOFF_REASON_NAMES={"user_request": "客户要求", "fallback": "无法理解", "anger": "客户不满",
                          "complaint": "投诉", "backoffice_down": "系统故障",
                          "unsure": "小保不确定", "bot_unavailable": "小保无应答",
                          "no_input": "无输入"},
    QUEUE_NAMES=agent_queue.QUEUE_NAMES,
    DISPOSITIONS=["已解决", "已转投诉", "已登记报案", "需回访", "客户无回应", "其他"])


async def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A use case `fn(db, …)` under the one policy of backoffice.services.running."""
    db = args[0] if args and hasattr(args[0], "is_sqlite") else None
    return await run_use_case(db, fn, *args, **kwargs)


SHOWN_ROWS = "desk_shown_rows"


def _rows_shown(ctx: Mapping[str, Any]) -> int | None:
    """How many records a list page shows (its `items` or `listed`, a search's result, the
    risk queue)."""
    for key in ("items", "listed"):
        if isinstance(ctx.get(key), list):
            return len(ctx[key])
    for key in ("result", "queue"):
        found = ctx.get(key)
        if isinstance(found, dict) and isinstance(found.get("items"), list):
            return len(found["items"])
    return None


def page(request: web.Request, template: str, http_status: int = 200,
         **ctx: Any) -> web.Response:
    user = request.get(auth.USER_KEY)
    request[SHOWN_ROWS] = _rows_shown(ctx)  # the access log's count for a list page
    html = _env.get_template(template).render(user=user, path=request.path,
                                              flash=_notice(request, "msg"),
                                              error=_notice(request, "err"), **ctx)
    return web.Response(text=html, status=http_status, content_type="text/html",
                        charset="utf-8",
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "SAMEORIGIN",
                                 "Referrer-Policy": "same-origin"})


def render_error(request: web.Request, status: int, message: str) -> web.Response:
    return page(request, "error.html", http_status=status, status_code=status, message=message)


#: what the login page may say without a session (it has none to sign with)
LOGIN_NOTICES = frozenset({"登录表单已失效，请重试", "用户名或密码错误"})


def _notice(request: web.Request, kind: str) -> str:
    """`?msg=` / `?err=` as the desk signed it for this session; anything else unshown."""
    text = request.query.get(kind, "")
    if not text:
        return ""
    user = request.get(auth.USER_KEY)
    if auth.notice_ok(user, kind, text, request.query.get("sig", "")):
        return text
    return text if user is None and kind == "err" and text in LOGIN_NOTICES else ""


def back(to: str, *, msg: str = "", err: str = "") -> web.HTTPFound:
    kind, text = ("msg", msg) if msg else ("err", err) if err else ("", "")
    if not kind:
        return web.HTTPFound(to)
    sig = auth.sign_notice(kind, text)
    return web.HTTPFound(f"{to}?{kind}={quote(text)}" + (f"&sig={sig}" if sig else ""))


def db_of(request: web.Request) -> Database:
    return request.app[DB]


def _form_text(form: MultiDictProxy[Any], key: str) -> str | None:
    value = form.get(key)
    if not isinstance(value, str):
        return None
    return value.strip() or None


# ---- login -------------------------------------------------------------------------------

def _safe_next(raw: str | None) -> str:
    """Only a path inside the desk: no open redirects."""
    if not raw or not raw.startswith("/desk") or urlsplit(raw).netloc or "\\" in raw:
        return "/desk/"
    return raw


async def login_page(request: web.Request) -> web.Response:
    return _login_form(request, request.query.get("err", ""),
                       _safe_next(request.query.get("next")))


def _login_form(request: web.Request, error: str, next_path: str,
                status: int = 200) -> web.Response:
    response = page(request, "login.html", next=next_path, csrf="")
    token = auth.login_csrf(request, response)
    response.text = _env.get_template("login.html").render(
        user=None, path=request.path, flash="", error=error, next=next_path, csrf=token)
    response.set_status(status)
    return response


async def login_post(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    if not auth.login_csrf_ok(request, str(form.get("csrf_token") or "")):
        raise back("/desk/login", err="登录表单已失效，请重试")
    try:
        result = await run(staff.login, db_of(request), str(form.get("username") or ""),
                           str(form.get("password") or ""), request.remote)
    except staff.TooManyLogins as exc:  # the form again, answered 429 with the wait
        answer = _login_form(request, exc.message, _safe_next(_form_text(form, "next")), 429)
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    if result is None:
        raise back("/desk/login", err="用户名或密码错误")
    token, _user = result
    response = web.HTTPFound(_safe_next(_form_text(form, "next")))
    auth.set_session_cookie(request, response, token)
    response.del_cookie(auth.LOGIN_CSRF_COOKIE, path="/desk")
    raise response


async def logout_post(request: web.Request) -> web.StreamResponse:
    await run(staff.logout, db_of(request), request.get(auth.TOKEN_KEY))
    response = web.HTTPFound("/desk/login")
    response.del_cookie(auth.SESSION_COOKIE, path="/desk")
    raise response


# ---- home and live ----------------------------------------------------------------------

async def home(request: web.Request) -> web.Response:
    user = auth.user_of(request)
    summary = await run(_summary, db_of(request), request.app[HANDOFF], user.role)
    return page(request, "home.html", summary=summary)


def _summary(db: Database, handoff: HandoffQueue, role: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if roles.allowed(role, "complaints.view"):
        items = complaints.search(db, {"open": True}, limit=1000)
        out["complaints_open"] = len(items)
        out["complaints_breached"] = sum(1 for c in items if c["clock"]["breached"])
        out["complaints_warn"] = sum(1 for c in items if c["clock"]["warn"])
    if roles.allowed(role, "claims.view"):
        out["claims_due"] = len(claims.search(db, due_before="2999-12-31", limit=500))
        out["claims_breached"] = len(claims.search(db, breached=True, limit=500))
    if roles.allowed(role, "home_visits.view"):
        out["home_visits_open"] = len(home_visits.search(db, {}, limit=1000))
    if roles.allowed(role, "handoff.view"):
        out["handoff_queued"] = len(handoff.list(db, "queued"))
    if roles.allowed(role, "endorsement_requests.work"):
        waiting = endorsement_requests.search(db, {"status": er.SUBMITTED, "limit": 1000})
        out["endorsement_requests_open"] = len(waiting)
        out["endorsement_requests_breached"] = sum(1 for r in waiting if r["clock"]["breached"])
    if roles.allowed(role, "underwriting.work"):
        out["underwriting_referrals"] = len(policies.referrals(db, limit=1000))
    return out


async def summary_api(request: web.Request) -> web.Response:
    user = auth.user_of(request)
    data = await run(_summary, db_of(request), request.app[HANDOFF], user.role)
    return web.json_response({"user": user.username, "role": user.role, **data})


async def live_ws(request: web.Request) -> web.StreamResponse:
    return await request.app[HUB].serve(request)


# ---- complaints ----------------------------------------------------------------------------

async def complaints_page(request: web.Request) -> web.Response:
    user = auth.user_of(request)
    q = request.query
    mine = q.get("mine") == "1"
    status = q.get("status") if q.get("status") in cp.STATUSES else None
    query = {"status": status, "handler": user.username if mine else None,
             "open": not status, "q": (q.get("q") or "")[:100] or None}
    fmt = _export_format(request)
    if isinstance(fmt, web.Response):
        return fmt
    items = await run(complaints.search, db_of(request), query, user.username,
                      pii=roles.sees_pii(user.role),
                      limit=exports.MAX_ROWS if fmt else 200)
    if fmt:
        return await _as_file(request, "complaints", items, fmt)
    return page(request, "complaints.html", items=items, mine=mine, status=status,
                channels=cp.CHANNELS, categories=cp.CATEGORIES, statuses=cp.STATUSES,
                live=True, export_query=_export_query(request))


async def complaint_create(request: web.Request) -> web.StreamResponse:
    user = auth.user_of(request)
    form = await request.post()
    raw = {"channel": _form_text(form, "channel") or "desk",
           "complainant": {"name": _form_text(form, "name"), "phone": _form_text(form, "phone")},
           "category": _form_text(form, "category"),
           "description": _form_text(form, "description"),
           "claim_no": _form_text(form, "claim_no"), "policy_no": _form_text(form, "policy_no")}
    try:
        made = await run(complaints.intake, db_of(request), raw,
                         roles.Actor(user.username, user.role))
    except DomainError as exc:
        raise back("/desk/complaints", err=f"{exc.field or ''} {exc.message}".strip()) from None
    raise back(f"/desk/complaints/{made['complaint_no']}", msg="投诉已受理并编号")


async def complaint_page(request: web.Request) -> web.Response:
    user = auth.user_of(request)
    no = request.match_info["complaint_no"]
    try:
        view = await run(complaints.get, db_of(request), {"complaint_no": no}, user.username,
                         pii=roles.sees_pii(user.role))
    except DomainError as exc:
        return render_error(request, 404, exc.message)
    supervisors = await run(staff.list_staff, db_of(request), roles.CLAIMS_SUPERVISOR)
    handlers = await run(staff.list_staff, db_of(request), roles.COMPLAINT_HANDLER)
    return page(request, "complaint.html", c=view, supervisors=supervisors, handlers=handlers,
                outcomes=cp.OUTCOMES, may_work=user.may("complaints.work"),
                may_extend=user.may("complaints.approve_extension"), live=True)


async def complaint_act(request: web.Request) -> web.StreamResponse:
    """A step on a complaint. An extension needs a supervisor, who approves it as themself."""
    user = auth.user_of(request)
    no = request.match_info["complaint_no"]
    form = await request.post()
    action = _form_text(form, "action") or ""
    actor = roles.Actor(user.username, user.role)
    try:
        roles.authorize_complaint_step(actor, action)
    except Forbidden as exc:
        return render_error(request, 403, exc.message)
    raw: dict[str, Any] = {k: _form_text(form, k) for k in (
        "handler", "note", "track", "decision", "outcome", "via")}
    raw = {k: v for k, v in raw.items() if v is not None}
    if action == "record_satisfaction":
        score = _form_text(form, "score") or ""
        raw["score"] = int(score) if score.isdigit() and len(score) == 1 else score
    raw.update(complaint_no=no, action=action)
    try:
        await run(complaints.transition, db_of(request), raw, actor)
    except DomainError as exc:
        raise back(f"/desk/complaints/{no}", err=exc.message) from None
    raise back(f"/desk/complaints/{no}", msg="已保存")


# ---- claims ------------------------------------------------------------------------------

async def claims_page(request: web.Request) -> web.Response:
    db = db_of(request)
    fmt = _export_format(request)
    if isinstance(fmt, web.Response):
        return fmt
    status = request.query.get("status") or None
    handler = (request.query.get("handler") or "")[:60] or None
    try:  # every claim by the filters: the list the export gives
        listed = await run(claims.search, db, status=status, handler=handler,
                           limit=exports.MAX_ROWS if fmt else 200)
    except DomainError as exc:
        return render_error(request, 400, f"{exc.field or ''} {exc.message}".strip())
    if fmt:
        return await _as_file(request, "claims", listed, fmt)
    due = await run(claims.search, db, due_before="2999-12-31", limit=300)
    waiting = []
    for st in ("reported", "documents_pending"):
        waiting += await run(claims.search, db, status=st, limit=100)
    return page(request, "claims.html", due=due, waiting=waiting, live=True, listed=listed,
                status=status or "", handler=handler or "", statuses=cl.STATUSES,
                export_query=_export_query(request))


def _mask_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, item in (fields or {}).items():
        value = item.get("value") if isinstance(item, Mapping) else item
        if isinstance(value, str) and name in ("id_number",):
            value = mask_id_number(value)
        elif isinstance(value, str) and name in ("phone", "card_number"):
            value = mask_phone(value) if name == "phone" else "****" + value[-4:]
        out[name] = {**item, "value": value} if isinstance(item, Mapping) else value
    return out


async def claim_page(request: web.Request) -> web.Response:
    user = auth.user_of(request)
    no = request.match_info["claim_no"]
    try:
        view = await run(claims.get_claim, db_of(request), no)
    except DomainError as exc:
        return render_error(request, 404, exc.message)
    if not roles.sees_pii(user.role):
        for doc in view["documents"]:
            doc["fields"] = _mask_fields(doc.get("fields") or {})
    actions = [a for a in view["allowed_actions"] if roles.may_take_claim_action(user.role, a)]
    steps = [(e["action"], e["actor"]) for e in view["timeline"]]
    return page(request, "claim.html", c=view, actions=actions, live=True,
                approval_role=roles.CLAIM_APPROVAL_ROLE.get(user.role),
                barred=cl.deciders(steps), payee_choosers=sorted(cl.payee_choosers(steps)))


#: what each step's form asks for, and nothing else (the form posts to the same handler)
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "register": (), "decline_registration": ("reasons",), "register_anyway": ("note",),
    "request_documents": ("documents", "note"), "documents_complete": ("waive_missing", "note"),
    "investigate": ("note",), "finish_investigation": ("note",), "adjudicate": ("note",),
    "approve": ("note",), "pay": ("amount", "account", "reference"), "close": ("note",),
    "reject": ("reasons",), "withdraw": ("note",), "reopen": ("note",),
    "advance_payment": ("amount", "note"), "change_type": ("claim_type", "note"),
}
_env.globals["STEP_FIELDS"] = STEP_FIELDS


async def claim_act(request: web.Request) -> web.StreamResponse:
    """A staff transition, with the authority of the logged-in role (never the form's)."""
    user = auth.user_of(request)
    no = request.match_info["claim_no"]
    form = await request.post()
    action = _form_text(form, "action") or ""
    actor = roles.Actor(user.username, user.role)
    try:
        roles.authorize_claim_step(actor, action)
    except Forbidden as exc:
        return render_error(request, 403, exc.message)
    raw: dict[str, Any] = {"claim_no": no, "action": action}
    for key in ("note", "amount", "account", "handler", "reference", "claim_type"):
        value = _form_text(form, key)
        if value is not None:
            raw[key] = value
    if action in ("reject", "decline_registration"):
        raw["reasons"] = [r.strip() for r in (_form_text(form, "reasons") or "").splitlines()
                          if r.strip()]
    if action == "request_documents":
        lines = (_form_text(form, "documents") or "").splitlines()
        raw["documents"] = [{"type": t.partition(":")[0].strip(),
                             "name": (t.partition(":")[2] or t).strip()}
                            for t in lines if t.strip()]
    if action == "documents_complete" and form.get("waive_missing"):
        raw["waive_missing"] = True
    try:
        await run(claims.transition, db_of(request), raw, actor)
    except DomainError as exc:
        raise back(f"/desk/claims/{no}", err=exc.message) from None
    raise back(f"/desk/claims/{no}", msg="已保存")


async def claim_document(request: web.Request) -> web.StreamResponse:
    """A claim document's file, for staff who work claims; each look is audited."""
    user = auth.user_of(request)
    files = request.app.get(FILES)
    no, doc = request.match_info["claim_no"], request.match_info["document_id"]
    if files is None:
        return render_error(request, 404, "材料文件未配置存储")
    purpose = "risk" if "/desk/risk" in request.headers.get("Referer", "") else "claim"
    try:
        kind, name, data = await run(document_reading.document_file, db_of(request), files,
                                     no, doc, user.username, purpose)
    except Unavailable as exc:  # the object store is down: nothing wrong with the request
        return render_error(request, 503, exc.message)
    except Damaged as exc:  # the stored file was changed: refused, said so, never a 500
        return render_error(request, 409, exc.message)
    except DomainError as exc:
        return render_error(request, 404, exc.message)
    shown = kind != "application/octet-stream"
    disposition = "inline" if shown else "attachment"
    return web.Response(body=data, content_type=kind, headers={
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Referrer-Policy": "same-origin"})


# ---- the risk review queue ---------------------------------------------------------------

async def risk_page(request: web.Request) -> web.Response:
    user = auth.user_of(request)
    outcome = request.query.get("outcome") or "open"
    code = request.query.get("code") or None
    try:
        found = await run(risk_review.queue, db_of(request),
                          {"outcome": outcome, "code": code, "limit": 100})
    except DomainError as exc:
        return render_error(request, 400, exc.message)
    return page(request, "risk.html", queue=found, outcome=outcome, code=code,
                codes=integrity.CODE_NAMES, outcomes=integrity.OUTCOME_NAMES,
                may_decide=user.may("claims.decide_risk"))


async def risk_act(request: web.Request) -> web.StreamResponse:
    """confirm_flag · clear_flag {flag, note}, as the logged-in claims supervisor."""
    user = auth.user_of(request)
    actor = roles.Actor(user.username, user.role)
    no = request.match_info["claim_no"]
    form = await request.post()
    action = _form_text(form, "action") or ""
    raw = {"claim_no": no, "action": action, "flag": _form_text(form, "flag"),
           "note": _form_text(form, "note")}
    try:
        if action not in ("confirm_flag", "clear_flag"):
            raise Forbidden("风险核查只能核实或解除标记", "action")
        roles.authorize_claim_step(actor, action)
    except Forbidden as exc:
        return render_error(request, 403, exc.message)
    try:
        await run(claims.transition, db_of(request), raw, actor)
    except DomainError as exc:
        raise back("/desk/risk", err=f"{no}：{exc.message}") from None
    done = "已核实" if action == "confirm_flag" else "已解除"
    raise back("/desk/risk", msg=f"{no} 风险标记{done}")


# ---- home visits -------------------------------------------------------------------------

async def home_visits_page(request: web.Request) -> web.Response:
    user = auth.user_of(request)
    fmt = _export_format(request)
    if isinstance(fmt, web.Response):
        return fmt
    items = await run(home_visits.search, db_of(request), {}, user.username,
                      pii=roles.sees_pii(user.role, "home_visits"),
                      limit=exports.MAX_ROWS if fmt else 200)
    if fmt:
        return await _as_file(request, "home_visits", items, fmt, area="home_visits")
    return page(request, "home_visits.html", items=items, live=True,
                may_work=user.may("home_visits.work"))


async def home_visit_act(request: web.Request) -> web.StreamResponse:
    user = auth.user_of(request)
    no = request.match_info["visit_no"]
    form = await request.post()
    raw: dict[str, Any] = {"visit_no": no, "action": _form_text(form, "action")}
    for key in ("handler", "note", "time"):
        if _form_text(form, key):
            raw[key] = _form_text(form, key)
    try:
        await run(home_visits.transition, db_of(request), raw,
                  roles.Actor(user.username, user.role))
    except DomainError as exc:
        raise back("/desk/home-visits", err=exc.message) from None
    raise back("/desk/home-visits", msg="已保存")


# ---- appeals of a rejection (复核申请) ------------------------------------------------------

async def appeals_page(request: web.Request) -> web.Response:
    """Open appeals, oldest first, each with the rejection's reasons beside the customer's."""
    user = auth.user_of(request)
    fmt = _export_format(request)
    if isinstance(fmt, web.Response):
        return fmt
    items = await run(appeals.search, db_of(request), {"limit": 1000 if fmt else 300})
    if fmt:
        return await _as_file(request, "appeals", items, fmt)
    return page(request, "appeals.html", items=items, may_decide=user.may("appeals.decide"),
                may_file=user.may("appeals.file"), working_days=appeals.working_days())


async def appeal_file(request: web.Request) -> web.StreamResponse:
    """An appeal taken down at the counter or on the phone, for the customer, as the staff
    member logged in."""
    user = auth.user_of(request)
    form = await request.post()
    raw = {"claim_no": _form_text(form, "claim_no"), "reasons": _form_text(form, "reasons"),
           "channel": _form_text(form, "channel") or "desk"}
    try:
        done = await run(appeals.file, db_of(request), raw,
                         roles.Actor(user.username, user.role))
    except DomainError as exc:
        raise back("/desk/appeals", err=exc.message) from None
    raise back("/desk/appeals", msg=f"复核申请 {done['appeal_no']} 已受理，{done['due_by']} 前答复")


async def appeal_act(request: web.Request) -> web.StreamResponse:
    """uphold {note} · reopen {note?}, as the logged-in claims supervisor."""
    user = auth.user_of(request)
    no = request.match_info["appeal_no"]
    form = await request.post()
    raw = {"appeal_no": no, "action": _form_text(form, "action"),
           "note": _form_text(form, "note")}
    try:
        done = await run(appeals.decide, db_of(request), raw,
                         roles.Actor(user.username, user.role))
    except DomainError as exc:
        raise back("/desk/appeals", err=f"{no}：{exc.message}") from None
    raise back("/desk/appeals", msg=f"{no} {done['status_name']}，已告知客户")


# ---- requests of the data subject (查阅、复制、更正、删除) ------------------------------------

LINK_SECRET = web.AppKey("desk_link_secret", str)
_PRIVACY_FILTERS = ("status", "kind", "overdue", "id_number")
_PRIVACY_FORM = ("id_number", "name", "kind", "channel", "verified_by", "phone", "policy_no",
                 "details")


async def privacy_requests_page(request: web.Request) -> web.Response:
    """The queue: open requests nearest due first, filtered by status, kind and overdue, each
    with its clock; and the form an outlet clerk or a handler takes one down with."""
    query = {k: request.query[k].strip() for k in _PRIVACY_FILTERS
             if request.query.get(k, "").strip()}
    try:
        items = await run(privacy_requests.search, db_of(request), query)
    except DomainError as exc:
        return render_error(request, 400, f"{exc.field or ''} {exc.message}".strip())
    return page(request, "privacy_requests.html", items=items, query=query, pr=pr)


async def privacy_request_create(request: web.Request) -> web.StreamResponse:
    user = auth.user_of(request)
    form = await request.post()
    raw: dict[str, Any] = {k: _form_text(form, k) for k in _PRIVACY_FORM}
    raw["id_card_checked"] = form.get("id_card_checked") == "1"
    try:
        done = await run(privacy_requests.create, db_of(request), raw,
                         roles.Actor(user.username, user.role))
    except DomainError as exc:
        raise back("/desk/privacy-requests", err=f"{exc.field or ''} {exc.message}".strip()
                   ) from None
    no = done["privacy_request_no"]
    raise back(f"/desk/privacy-requests/{no}", msg=f"{no} 已受理，{done['due_by']} 前答复")


async def privacy_request_page(request: web.Request) -> web.Response:
    """One request: the person, how they were verified, the clock, the steps, the answer and,
    for access and copy, the export's link to hand over."""
    no = request.match_info["privacy_request_no"]
    try:
        item = await run(privacy_requests.get, db_of(request), {"privacy_request_no": no})
    except DomainError as exc:
        status = 404 if isinstance(exc, NotFound) else 400
        return render_error(request, status, exc.message)
    url = privacy_requests.export_url(request.app[LINK_SECRET], item) \
        if LINK_SECRET in request.app else None
    return page(request, "privacy_request.html", r=item, export_url=url, pr=pr)


async def privacy_request_act(request: web.Request) -> web.StreamResponse:
    """start · complete {note} · refuse {note} · renew_link, as the logged-in staff member."""
    user = auth.user_of(request)
    no = request.match_info["privacy_request_no"]
    form = await request.post()
    raw = {"privacy_request_no": no, "action": _form_text(form, "action"),
           "note": _form_text(form, "note")}
    to = f"/desk/privacy-requests/{quote(no)}"
    try:
        done = await run(privacy_requests.step, db_of(request), raw,
                         roles.Actor(user.username, user.role), files=request.app.get(FILES))
    except DomainError as exc:
        raise back(to, err=exc.message) from None
    raise back(to, msg=f"{no} {done['status_name']}")


# ---- endorsement requests and underwriting (underwriters) ----------------------------------

RELATION_NAMES = {"self": "本人", "spouse": "配偶", "child": "子女", "parent": "父母",
                  "sibling": "兄弟姐妹", "other": "其他"}


async def endorsement_requests_page(request: web.Request) -> web.Response:
    status = request.query.get("status")
    status = status if status in er.STATUSES or status == "all" else er.SUBMITTED
    query = {"status": None if status == "all" else status, "limit": 300}
    items = await run(endorsement_requests.search, db_of(request), query)
    return page(request, "endorsement_requests.html", items=items, status=status,
                statuses=er.STATUSES, er_status_names=er.STATUS_NAMES, live=True)


async def endorsement_request_page(request: web.Request) -> web.Response:
    no = request.match_info["request_no"]
    try:
        view = await run(endorsement_requests.get, db_of(request), {"request_no": no})
    except DomainError as exc:
        return render_error(request, 404, exc.message)
    policy = await run(policies.get_policy, db_of(request), view["policy_no"])
    return page(request, "endorsement_request.html", r=view, policy=policy, live=True,
                relation_names=RELATION_NAMES)


def _signed_details(form: MultiDictProxy[Any], full: Mapping[str, Any]) -> dict[str, Any]:
    """Approval: the beneficiaries as asked, with the ID numbers read off the signed form."""
    details: dict[str, Any] = {}
    asked = full.get("beneficiaries")
    if isinstance(asked, list):
        details["beneficiaries"] = [
            {**b, "id_number": _form_text(form, f"id_number_{i}") or b.get("id_number")}
            for i, b in enumerate(asked) if isinstance(b, Mapping)]
    effective = _form_text(form, "effective_date")
    if effective:
        details["effective_date"] = effective
    return details


async def endorsement_request_act(request: web.Request) -> web.StreamResponse:
    """approve · reject {reason} · withdraw, as the logged-in underwriter."""
    user = auth.user_of(request)
    no = request.match_info["request_no"]
    form = await request.post()
    action = _form_text(form, "action") or ""
    raw: dict[str, Any] = {"request_no": no, "action": action,
                           "note": _form_text(form, "note"), "reason": _form_text(form, "reason")}
    try:
        if action == "approve":
            full = await run(endorsement_requests.details_in_full, db_of(request), no)
            raw["details"] = _signed_details(form, full)
        done = await run(endorsement_requests.transition, db_of(request), raw,
                         roles.Actor(user.username, user.role))
    except DomainError as exc:
        raise back(f"/desk/endorsement-requests/{no}",
                   err=f"{exc.message}（{exc.field}）" if exc.field else exc.message) from None
    raise back(f"/desk/endorsement-requests/{no}", msg=f"已{done['status_name']}")


async def underwriting_page(request: web.Request) -> web.Response:
    items = await run(policies.referrals, db_of(request))
    return page(request, "underwriting.html", items=items, outcomes=UW_OUTCOME_NAMES,
                live=True)


async def underwriting_decide(request: web.Request) -> web.StreamResponse:
    """The underwriter's decision on a referred application, always with reasons."""
    user = auth.user_of(request)
    no = request.match_info["application_no"]
    form = await request.post()
    raw = {"outcome": _form_text(form, "outcome"), "loading_pct": _form_text(form, "loading_pct"),
           "reasons": [r.strip() for r in (_form_text(form, "reasons") or "").splitlines()
                       if r.strip()]}
    if not no.startswith("A"):
        return render_error(request, 404, f"投保单 {no} 不存在")
    try:
        done = await run(policies.run_underwriting, db_of(request),
                         {**raw, "application_no": no}, user.username)
    except DomainError as exc:
        raise back("/desk/underwriting", err=f"{no}：{exc.message}") from None
    raise back("/desk/underwriting", msg=f"{no} 核保结论：{done['underwriting']['outcome_text']}")


# ---- supervisor ---------------------------------------------------------------------------

def _supervisor_data(db: Database, handoff: HandoffQueue) -> dict[str, Any]:
    open_complaints = complaints.search(db, {"open": True}, limit=1000)
    by_status: dict[str, int] = {}
    for c in open_complaints:
        by_status[c["status"]] = by_status.get(c["status"], 0) + 1
    visits = home_visits.search(db, {}, limit=1000)
    queued = handoff.list(db, "queued")
    per_queue = agent_queue.queue_figures(queued)
    waits = [int(c["waiting_seconds"]) for c in queued
             if isinstance(c.get("waiting_seconds"), int | float)]
    unassigned = [c for c in open_complaints if not c["handler"]]
    return {
        "handoff_longest_wait": max(waits, default=0),
        "unassigned": len(unassigned),
        "oldest_unassigned": min((c["received_on"] for c in unassigned), default=None),
        "complaints": open_complaints,
        "complaints_by_status": by_status,
        "complaints_breached": [c for c in open_complaints if c["clock"]["breached"]],
        "claims_breached": claims.search(db, breached=True, limit=200),
        "claims_due": len(claims.search(db, due_before="2999-12-31", limit=500)),
        "visits": visits,
        "visits_breached": [v for v in visits if any(
            d["breached"] for d in v["clocks"].values())],
        "handoff_available": handoff.available,
        "handoff_queued": queued,
        "handoff_per_queue": per_queue,
        "stats": claim_stats.claim_stats(db),
        "satisfaction": satisfaction.stats(db),
    }


async def supervisor_page(request: web.Request) -> web.Response:
    data = await run(_supervisor_data, db_of(request), request.app[HANDOFF])
    return page(request, "supervisor.html", live=True, **data)


async def supervisor_charts(request: web.Request) -> web.Response:
    db = db_of(request)
    stats = await run_use_case(db, claim_stats.claim_stats, db, heavy=True)
    return web.Response(text=render_claim_charts(stats), content_type="text/html",
                        charset="utf-8")


async def disclosure_page(request: web.Request) -> web.Response:
    """The quarterly disclosure: pick a scheme and a quarter, then view or download it."""
    db = db_of(request)
    schemes = await run(scheme.group_policies, db)
    today = today_cn()
    quarters = [f"{y}Q{q}" for y in (today.year, today.year - 1) for q in (4, 3, 2, 1)
                if (y, q) <= (today.year, (today.month + 2) // 3)]
    return page(request, "disclosure.html", schemes=schemes, quarters=quarters,
                chosen=request.query.get("policy_no") or "",
                quarter=request.query.get("quarter") or (quarters[0] if quarters else ""))


def _quarter_ref(request: web.Request) -> dict[str, str]:
    return {"policy_no": request.query.get("policy_no", ""),
            "quarter": request.query.get("quarter", "")}


async def _quarterly_report(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        return await run(scheme.quarterly_report, db_of(request), _quarter_ref(request))
    except DomainError as exc:
        status = 404 if isinstance(exc, NotFound) else 400
        return render_error(request, status, f"{exc.field or ''} {exc.message}".strip())


async def disclosure_html(request: web.Request) -> web.Response:
    report = await _quarterly_report(request)
    if isinstance(report, web.Response):
        return report
    return web.Response(text=disclosure.render_html(report), content_type="text/html",
                        charset="utf-8")


async def disclosure_xlsx(request: web.Request) -> web.Response:
    report = await _quarterly_report(request)
    if isinstance(report, web.Response):
        return report
    name = disclosure.file_name(report)
    return web.Response(body=disclosure.render_xlsx(report), content_type=disclosure.XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---- handoff (filled by the conversation router) ------------------------------------------

async def handoff_page(request: web.Request) -> web.Response:
    queue = request.app[HANDOFF]
    user = auth.user_of(request)
    wanted = request.query.get("queue") or None
    if wanted is not None and wanted not in agent_queue.QUEUES:
        return render_error(request, 400, "未知的坐席队列")
    items = await run(queue.list, db_of(request), "queued", wanted)
    serving = await run(queue.list, db_of(request), "agent")
    if not roles.sees_pii(user.role):
        for item in items:
            if isinstance(item.get("summary"), dict):
                item["summary"] = _masked_transcript(
                    {"messages": [], "handoff_summary": item["summary"]}, False)[
                        "handoff_summary"]
    return page(request, "handoff.html", items=items, serving=serving, queue_filter=wanted,
                available=queue.available, live=True, may_work=user.may("handoff.work"))


def _conversation_id(request: web.Request) -> int:
    raw = request.match_info["conversation_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:  # "²" is a digit to isdigit
        raise web.HTTPNotFound()
    return int(raw)


def _masked_transcript(view: dict[str, Any], pii: bool) -> dict[str, Any]:
    """Numbers the customer typed are masked for roles that do not need them."""
    if pii:
        return view
    for line in view["messages"]:
        line["text"] = mask_text(line["text"])
    summary = view.get("handoff_summary")
    if isinstance(summary, dict):
        view["handoff_summary"] = {k: mask_text(v) if isinstance(v, str) else v
                                   for k, v in summary.items()}
        if isinstance(summary.get("slots"), dict):
            view["handoff_summary"]["slots"] = {
                k: mask_text(v) if isinstance(v, str) else v
                for k, v in summary["slots"].items()}
    if view.get("channel") == "ivr":
        view["user"] = mask_text(view["user"])
    return view


async def _shown_conversation(request: web.Request
                              ) -> tuple[int, dict[str, Any], bool] | web.Response:
    """The conversation of the path, masked for the role: (id, view, sees PII), or a 404."""
    cid = _conversation_id(request)
    try:
        view = await run(conversations.get_conversation, db_of(request),
                         {"conversation_id": cid})
    except DomainError as exc:
        return render_error(request, 404, exc.message)
    pii = roles.sees_pii(auth.user_of(request).role)
    return cid, _masked_transcript(view, pii), pii


async def conversation_page(request: web.Request) -> web.Response:
    user = auth.user_of(request)
    shown = await _shown_conversation(request)
    if isinstance(shown, web.Response):
        return shown
    cid, view, pii = shown
    beside = await run(agent_desk.customer, db_of(request), cid, pii=pii)
    people = await run(agent_desk.agents, db_of(request))
    return page(request, "conversation.html", c=view, customer=beside, live=True,
                canned=canned_replies(), agents=[p for p in people if p != user.username],
                mine=view["agent"] == user.username, may_work=user.may("handoff.work"))


def canned_replies() -> list[str]:
    """The canned replies: one per line of $XIAOBAO_DESK_CANNED_REPLIES, else the defaults."""
    path = os.environ.get("XIAOBAO_DESK_CANNED_REPLIES", "").strip()
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
            return [line.strip() for line in lines if line.strip()][:50]
        except OSError:
            pass
    return DEFAULT_CANNED


DEFAULT_CANNED = [
    "您好，我是人工客服，很高兴为您服务。",
    "请稍等，我为您查询一下。",
    "您的理赔正在处理中，结果出来后我们会第一时间通知您。",
    "请问还有其他可以帮您的吗？",
    "感谢您的耐心等待，祝您生活愉快！",
]


async def _conversation_act(request: web.Request, cid: int, action: str,
                            form: MultiDictProxy[Any]) -> str:
    """One agent action; the message shown after it."""
    user = auth.user_of(request)
    db, hooks = db_of(request), request.app.get(HOOKS)
    actor, ref = roles.Actor(user.username, user.role), {"conversation_id": cid}
    if action == "take":
        await run(conversations.take, db, ref, actor)
        return "已接入会话"
    if action == "reply":
        text = _form_text(form, "text")
        if hooks is None:
            await run(conversations.agent_message, db, {**ref, "text": text}, actor)
            return "已记录（渠道未连接，未发送）"
        delivered = await hooks.agent_message(cid, user.username, text)
        return "已发送" if delivered else "已记录，渠道发送失败"
    if action == "note":
        await run(agent_desk.add_note, db, cid, user.username, _form_text(form, "note"))
        return "备注已保存（客户看不到）"
    if action == "transfer":
        done = await run(agent_desk.transfer, db, {**ref, "target": _form_text(form, "target")},
                         actor)
        if done["state"] == "queued":
            return f"已转入{agent_queue.QUEUE_NAMES[done['queue']]}队列"
        return f"已转给 {done['agent']}"
    if action == "handback":
        if hooks is None:
            await run(conversations.handback, db, ref, actor)
        else:
            await hooks.handback(cid, user.username)
        return "已交回小保"
    closed = await run(agent_desk.close, db,
                       {**ref, "disposition": _form_text(form, "disposition")}, actor)
    if hooks is not None and closed.get("satisfaction_asked") and closed["channel"] == "web":
        # the outbox has no way to the web chat: the question goes into the chat
        await hooks.tell("web", str(closed["user"]), satisfaction.ask_text("conversation"))
    return "会话已结束，已请客户评价"


def _conversation_action(action: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        cid = _conversation_id(request)
        form = await request.post()
        to = f"/desk/handoff/{cid}"
        try:
            msg = await _conversation_act(request, cid, action, form)
        except DomainError as exc:
            raise back(to, err=exc.message) from None
        raise back("/desk/handoff" if action in ("handback", "close", "transfer") else to,
                   msg=msg)

    handler.__name__ = f"conversation_{action}"
    return handler


# ---- the office's tools: search, conversation history, exports, per-handler figures --------

def _export_format(request: web.Request) -> str | None | web.Response:
    """`?format=csv|xlsx` as asked; None for the page; a 400 page for anything else."""
    try:
        return exports.wanted(request.query.get("format"))
    except DomainError as exc:
        return render_error(request, 400, f"{exc.field} {exc.message}")


def _export_query(request: web.Request) -> str:
    """The page's own filters, for its export links."""
    return urlencode([(k, v) for k, v in request.query.items()
                      if k not in ("format", "msg", "err", "sig")])


async def _as_file(request: web.Request, list_name: str, items: list[dict[str, Any]],
                   fmt: str, area: str = "") -> web.Response:
    """The list as shown to this role (masked as on the page), as a file; audited."""
    user = auth.user_of(request)
    db = db_of(request)
    done = await run_use_case(db, exports.export, db, list_name, items, fmt, user.username,
                              dict(request.query), pii=roles.sees_pii(user.role, area),
                              heavy=True)
    request[SHOWN_ROWS] = done.rows
    return web.Response(body=done.body, content_type=done.media, headers={
        "Content-Disposition": done.disposition, "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


async def search_page(request: web.Request) -> web.Response:
    """The one search box: people, policies, claims, complaints, conversations."""
    user = auth.user_of(request)
    fmt = _export_format(request)
    if isinstance(fmt, web.Response):
        return fmt
    q = request.query.get("q", "")
    raw = {"q": q, "party": request.query.get("party", ""), "limit": "50" if fmt else "20"}
    result: dict[str, Any] = {"items": [], "counts": {}, "query": q, "taken_as": ""}
    error = ""
    if q.strip() or raw["party"]:
        try:
            result = await run(search.search, db_of(request), raw,
                               roles.Actor(user.username, user.role))
        except DomainError as exc:
            error = exc.message
    if fmt and not error:
        return await _as_file(request, "search", result["items"], fmt)
    return page(request, "search.html", http_status=400 if error else 200, q=q[:100],
                result=result, search_error=error, kinds=search.KIND_NAMES,
                page_permission=search.PAGE_PERMISSION,
                export_query=_export_query(request))


async def conversations_page(request: web.Request) -> web.Response:
    """Conversation history, closed ones too, newest first: by state, channel, phone."""
    user = auth.user_of(request)
    fmt = _export_format(request)
    if isinstance(fmt, web.Response):
        return fmt
    q = request.query
    raw = {"state": q.get("state", ""), "channel": q.get("channel", ""),
           "phone": q.get("phone", ""), "order": "newest",
           "limit": str(conversations.HISTORY_LIMIT if fmt else 200)}
    try:
        items = await run(conversations.list_conversations, db_of(request), raw)
    except DomainError as exc:
        return render_error(request, 400, f"{exc.field or ''} {exc.message}".strip())
    pii = roles.sees_pii(user.role)
    if not pii:
        for item in items:
            item["user"] = mask_text(str(item["user"]))
    if fmt:
        return await _as_file(request, "conversations", items, fmt)
    return page(request, "conversations.html", items=items, filters=raw,
                states=conversations.STATES, channels=conversations.CHANNELS,
                export_query=_export_query(request))


async def transcript_page(request: web.Request) -> web.Response:
    """A conversation's whole transcript (closed ones too): who said what, the handoff's
    summary and how it ended."""
    shown = await _shown_conversation(request)
    if isinstance(shown, web.Response):
        return shown
    _, view, pii = shown
    if not pii:
        view["user"] = mask_text(str(view["user"]))
    return page(request, "transcript.html", c=view)


async def handlers_page(request: web.Request) -> web.Response:
    """Per staff member figures (绩效) over a window of dates."""
    q = request.query
    window = {"from": q.get("from", ""), "to": q.get("to", "")}
    try:
        figures = await run_use_case(db_of(request), handler_stats.handler_stats, db_of(request),
                                     {k: v for k, v in window.items() if v}, heavy=True)
    except DomainError as exc:
        return render_error(request, 400, f"{exc.field or ''} {exc.message}".strip())
    return page(request, "handlers.html", figures=figures)


# ---- who looked (个人信息访问记录) --------------------------------------------------------------

_ACCESS_FILTERS = ("staff", "record_kind", "record_id", "from", "to")


async def access_log_page(request: web.Request) -> web.Response:
    """The access log by staff member, record and days; this reading is logged too."""
    user = auth.user_of(request)
    query = {k: request.query[k].strip() for k in _ACCESS_FILTERS
             if request.query.get(k, "").strip()}
    try:
        found = await run(privacy_access.entries, db_of(request), query,
                          roles.Actor(user.username, user.role), door="desk",
                          purpose="/desk/supervisor/access-log")
    except DomainError as exc:
        return render_error(request, 400, f"{exc.field or ''} {exc.message}".strip())
    return page(request, "access_log.html", items=found["items"], query=query,
                kinds=al.KIND_NAMES, role_names=roles.ROLE_NAMES)


async def unusual_access_page(request: web.Request) -> web.Response:
    """Per staff member and day: records opened unmasked, flagged over the threshold or
    without work on them."""
    user = auth.user_of(request)
    query = {k: request.query[k].strip() for k in ("from", "to", "threshold")
             if request.query.get(k, "").strip()}
    try:
        report = await run(privacy_access.unusual, db_of(request), query,
                           roles.Actor(user.username, user.role), door="desk",
                           purpose="/desk/supervisor/unusual-access")
    except DomainError as exc:
        return render_error(request, 400, f"{exc.field or ''} {exc.message}".strip())
    return page(request, "unusual_access.html", report=report, role_names=roles.ROLE_NAMES)


#: desk GET routes that show personal data: (method, path) → (the path field naming the
#: record, or `al.LIST` for a list, a search or an export (`?format=csv|xlsx`); the area whose
#: `sees_pii` decides whether it is shown unmasked; None: the page masks nothing for any role
#: allowed on it). Each display is written to the access log by one middleware
#: (`_access_log_middleware`), never by the pages themselves.
SHOWS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("GET", "/claims/{claim_no}"): ("claim_no", ""),
    ("GET", "/claims/{claim_no}/documents/{document_id}"): ("document_id", None),
    ("GET", "/complaints/{complaint_no}"): ("complaint_no", ""),
    ("GET", "/conversations/{conversation_id}"): ("conversation_id", ""),
    ("GET", "/handoff/{conversation_id}"): ("conversation_id", ""),
    ("GET", "/tasks/{task_id}"): ("task_id", "follow_ups"),
    ("GET", "/endorsement-requests/{request_no}"): ("request_no", None),
    ("GET", "/privacy-requests/{privacy_request_no}"): ("privacy_request_no", None),
    ("GET", "/claims"): (al.LIST, ""),
    ("GET", "/complaints"): (al.LIST, ""),
    ("GET", "/risk"): (al.LIST, ""),
    ("GET", "/appeals"): (al.LIST, ""),
    ("GET", "/privacy-requests"): (al.LIST, None),
    ("GET", "/home-visits"): (al.LIST, "home_visits"),
    ("GET", "/endorsement-requests"): (al.LIST, None),
    ("GET", "/underwriting"): (al.LIST, None),
    ("GET", "/search"): (al.LIST, ""),
    ("GET", "/conversations"): (al.LIST, ""),
    ("GET", "/handoff"): (al.LIST, ""),
    ("GET", "/tasks"): (al.LIST, "follow_ups"),
    ("GET", "/queues/documents-overdue"): (al.LIST, ""),
}
#: desk GET routes that show no customer's personal data unmasked (figures, forms, staff, the
#: access log itself, which logs its own reading): declared, so no page is left undecided
SHOWS_NOTHING: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/login"), ("GET", "/"), ("GET", "/api/summary"), ("GET", "/ws"),
    ("GET", "/supervisor"), ("GET", "/supervisor/charts"), ("GET", "/supervisor/disclosure"),
    ("GET", "/supervisor/disclosure.html"), ("GET", "/supervisor/disclosure.xlsx"),
    ("GET", "/supervisor/handlers"), ("GET", "/supervisor/access-log"),
    ("GET", "/supervisor/unusual-access"), ("GET", "/queues/approvals"), ("GET", "/staff"),
})


def _route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    template = resource.canonical if resource is not None else ""
    return template[len(auth.PREFIX):] if template.startswith(auth.PREFIX) else template


def _access_log_middleware(db: Database) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        method = "GET" if request.method == "HEAD" else request.method
        template = _route_template(request)
        shown = SHOWS.get((method, template))
        user = request.get(auth.USER_KEY)
        if shown is None or user is None or response.status != 200:
            return response
        field, area = shown
        if area is not None and not roles.sees_pii(user.role, area):
            return response
        if field == al.LIST:
            filters = {k: v for k, v in request.query.items() if k != "format"}
            await run(privacy_access.list_shown, db, user.username, user.role,
                      f"/desk{template}", filters, request.get(SHOWN_ROWS), "desk")
            return response
        record = al.record_of({field: request.match_info.get(field, "")})
        if record is not None:
            await run(privacy_access.record_shown, db, user.username, user.role, record[0],
                      record[1], "desk", f"/desk{template}")
        return response

    return middleware


# ---- work queues (工作队列) -------------------------------------------------------------------

def _task_id(request: web.Request) -> int:
    raw = request.match_info["task_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise web.HTTPNotFound()
    return int(raw)


def _task_filters(request: web.Request) -> tuple[dict[str, Any], str]:
    """The queue's filters from the query: unknown values are dropped, not obeyed."""
    q = request.query
    owner = (q.get("owner") or "")[:40]
    query: dict[str, Any] = {"status": q.get("status") if q.get("status") in tasks.STATUSES
                             else "open", "overdue": q.get("overdue") == "1", "limit": 300}
    if q.get("kind") in tasks.KIND_NAMES:
        query["kind"] = q["kind"]
    if owner == "mine":
        query["mine"] = True
    elif owner:
        query["assigned_to"] = owner
    return query, owner


async def tasks_page(request: web.Request) -> web.Response:
    """Every task kind in one queue, with filters by kind, status, owner and overdue."""
    user = auth.user_of(request)
    query, owner = _task_filters(request)
    actor = roles.Actor(user.username, user.role)
    fmt = _export_format(request)
    if isinstance(fmt, web.Response):
        return fmt
    if fmt:
        query["limit"] = tasks.MAX_ITEMS
    try:
        items = await run(tasks.search, db_of(request), query, actor)
    except DomainError as exc:
        return render_error(request, 400, f"{exc.field or ''} {exc.message}".strip())
    if fmt:
        return await _as_file(request, "tasks", items, fmt, area="follow_ups")
    people = await run(staff.list_staff, db_of(request))
    return page(request, "tasks.html", items=items, query=query, owner=owner,
                kinds=tasks.KIND_NAMES, people=[p["username"] for p in people],
                export_query=_export_query(request))


async def task_page(request: web.Request) -> web.Response:
    user = auth.user_of(request)
    actor = roles.Actor(user.username, user.role)
    try:
        task = await run(tasks.get, db_of(request), {"task_id": _task_id(request)}, actor)
    except DomainError as exc:
        return render_error(request, 404, exc.message)
    people = await run(staff.list_staff, db_of(request)) if user.may("tasks.assign") else []
    review = [a for a in ("register_anyway", "decline_registration")
              if task["claim"] and a in task["claim"]["allowed_actions"]
              and roles.may_take_claim_action(user.role, a)]
    return page(request, "task.html", t=task, outcomes=ca.OUTCOME_NAMES, review=review,
                people=[p["username"] for p in people if p["active"]],
                may_record=user.may("satisfaction.record"), may_close=user.may("claims.work"),
                may_take=user.may("tasks.take"), may_assign=user.may("tasks.assign"))


def _task_action(name: str) -> Handler:
    """One action on a task, as the logged-in staff member; back to the task with a notice."""

    async def handler(request: web.Request) -> web.StreamResponse:
        user = auth.user_of(request)
        actor = roles.Actor(user.username, user.role)
        task_id = _task_id(request)
        form = await request.post()
        to = f"/desk/tasks/{task_id}"
        try:
            msg = await _act_on_task(request, name, task_id, form, actor)
        except Forbidden as exc:
            return render_error(request, 403, exc.message)
        except DomainError as exc:
            raise back(to, err=f"{exc.message}") from None
        raise back(to, msg=msg)

    handler.__name__ = f"task_{name}"
    return handler


async def _act_on_task(request: web.Request, name: str, task_id: int,
                       form: MultiDictProxy[Any], actor: roles.Actor) -> str:
    db = db_of(request)
    ref = {"task_id": task_id}
    if name == "take":
        await run(tasks.take, db, ref, actor)
        return "已领取"
    if name == "assign":
        done = await run(tasks.assign, db, {**ref, "assigned_to": _form_text(form, "assigned_to")},
                         actor)
        return f"已分派给 {done['assigned_to']}"
    if name == "follow-up":
        done = await run(customer_answers.record_follow_up, db, {
            **ref, "outcome": _form_text(form, "outcome"),
            "result": _form_text(form, "result")}, actor)
        extra = f"，已登记投诉 {done['complaint_no']}" if done.get("complaint_no") else ""
        return f"回访结果已登记：{done['outcome_name']}{extra}"
    if name == "close":
        await run(tasks.close, db, {**ref, "result": _form_text(form, "result")}, actor)
        return "任务已办结"
    return await _review_registration(db, task_id, form, actor)


async def _review_registration(db: Database, task_id: int, form: MultiDictProxy[Any],
                               actor: roles.Actor) -> str:
    """问题件: the claim's own step (register anyway: a supervisor, with a reason; decline
    with reasons for the letter), which closes the task with its outcome."""
    action = _form_text(form, "action") or ""
    if action not in ("register_anyway", "decline_registration"):
        raise Forbidden("问题件只能仍予立案或不予立案", "action")
    roles.authorize_claim_step(actor, action)
    task = await run(tasks.get, db, {"task_id": task_id}, actor)
    if task["kind"] != "registration_review" or task["claim"] is None:
        raise NotFound("该任务不是问题件", "task_id")
    raw: dict[str, Any] = {"claim_no": task["claim"]["claim_no"], "action": action}
    if action == "register_anyway":
        raw["note"] = _form_text(form, "note")
    else:
        raw["reasons"] = [r.strip() for r in (_form_text(form, "reasons") or "").splitlines()
                          if r.strip()]
    await run(claims.transition, db, raw, actor)
    return "已仍予立案" if action == "register_anyway" else "已不予立案，拒赔通知书已生成"


async def documents_overdue_page(request: web.Request) -> web.Response:
    after = request.query.get("after") if request.query.get("after") in work_queues.STAGES \
        else "second"
    items = await run(work_queues.documents_overdue, db_of(request), {"after": after})
    return page(request, "documents_overdue.html", items=items, after=after)


async def approvals_page(request: web.Request) -> web.Response:
    waiting = await run(work_queues.approvals_waiting, db_of(request), {})
    return page(request, "approvals.html", levels=waiting["levels"])


# ---- staff administration ------------------------------------------------------------------

async def staff_page(request: web.Request) -> web.Response:
    people = await run(staff.list_staff, db_of(request))
    return page(request, "staff.html", people=people, roles_list=roles.ROLES,
                permissions=roles.PERMISSIONS)


async def staff_add(request: web.Request) -> web.StreamResponse:
    user = auth.user_of(request)
    form = await request.post()
    try:
        await run(staff.add, db_of(request), _form_text(form, "username") or "",
                  str(form.get("password") or ""), _form_text(form, "role") or "",
                  _form_text(form, "display_name"), _form_text(form, "phone"), user.username)
    except DomainError as exc:
        raise back("/desk/staff", err=exc.message) from None
    raise back("/desk/staff", msg="已添加")


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/desk/")


# (method, path, handler, permission): the one table of what each desk route needs
ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", "/login", login_page, "public"),
    ("POST", "/login", login_post, "public"),
    ("POST", "/logout", logout_post, "desk.home"),
    ("GET", "/", home, "desk.home"),
    ("GET", "/api/summary", summary_api, "desk.home"),
    ("GET", "/ws", live_ws, "desk.home"),
    ("GET", "/complaints", complaints_page, "complaints.view"),
    ("POST", "/complaints", complaint_create, "complaints.create"),
    ("GET", "/complaints/{complaint_no}", complaint_page, "complaints.view"),
    ("POST", "/complaints/{complaint_no}/act", complaint_act, "complaints.view"),
    ("GET", "/claims", claims_page, "claims.view"),
    ("GET", "/claims/{claim_no}", claim_page, "claims.view"),
    ("POST", "/claims/{claim_no}/act", claim_act, "claims.work"),
    ("GET", "/claims/{claim_no}/documents/{document_id}", claim_document, "claims.view"),
    ("GET", "/risk", risk_page, "claims.view"),
    ("GET", "/appeals", appeals_page, "appeals.view"),
    ("POST", "/appeals", appeal_file, "appeals.file"),
    ("POST", "/appeals/{appeal_no}/act", appeal_act, "appeals.decide"),
    ("GET", "/privacy-requests", privacy_requests_page, "privacy.requests"),
    ("POST", "/privacy-requests", privacy_request_create, "privacy.requests"),
    ("GET", "/privacy-requests/{privacy_request_no}", privacy_request_page, "privacy.requests"),
    ("POST", "/privacy-requests/{privacy_request_no}/act", privacy_request_act,
     "privacy.requests"),
    ("POST", "/risk/{claim_no}/act", risk_act, "claims.decide_risk"),
    ("GET", "/home-visits", home_visits_page, "home_visits.view"),
    ("POST", "/home-visits/{visit_no}/act", home_visit_act, "home_visits.work"),
    ("GET", "/endorsement-requests", endorsement_requests_page, "endorsement_requests.work"),
    ("GET", "/endorsement-requests/{request_no}", endorsement_request_page,
     "endorsement_requests.work"),
    ("POST", "/endorsement-requests/{request_no}/act", endorsement_request_act,
     "endorsement_requests.work"),
    ("GET", "/underwriting", underwriting_page, "underwriting.work"),
    ("POST", "/underwriting/{application_no}/decide", underwriting_decide, "underwriting.work"),
    ("GET", "/supervisor", supervisor_page, "supervisor.view"),
    ("GET", "/supervisor/charts", supervisor_charts, "supervisor.view"),
    ("GET", "/supervisor/disclosure", disclosure_page, "supervisor.view"),
    ("GET", "/supervisor/disclosure.html", disclosure_html, "supervisor.view"),
    ("GET", "/supervisor/disclosure.xlsx", disclosure_xlsx, "supervisor.view"),
    ("GET", "/supervisor/handlers", handlers_page, "supervisor.view"),
    ("GET", "/supervisor/access-log", access_log_page, "privacy.audit"),
    ("GET", "/supervisor/unusual-access", unusual_access_page, "privacy.audit"),
    ("GET", "/search", search_page, "desk.home"),
    ("GET", "/conversations", conversations_page, "handoff.view"),
    ("GET", "/conversations/{conversation_id}", transcript_page, "handoff.view"),
    ("GET", "/handoff", handoff_page, "handoff.view"),
    ("GET", "/handoff/{conversation_id}", conversation_page, "handoff.view"),
    *[("POST", f"/handoff/{{conversation_id}}/{action}", _conversation_action(action),
       "handoff.work")
      for action in ("take", "reply", "note", "transfer", "handback", "close")],
    ("GET", "/tasks", tasks_page, "tasks.view"),
    ("GET", "/tasks/{task_id}", task_page, "tasks.view"),
    ("POST", "/tasks/{task_id}/take", _task_action("take"), "tasks.take"),
    ("POST", "/tasks/{task_id}/assign", _task_action("assign"), "tasks.assign"),
    ("POST", "/tasks/{task_id}/follow-up", _task_action("follow-up"), "satisfaction.record"),
    ("POST", "/tasks/{task_id}/close", _task_action("close"), "claims.work"),
    ("POST", "/tasks/{task_id}/review", _task_action("review"), "tasks.review"),
    ("GET", "/queues/documents-overdue", documents_overdue_page, "claims.view"),
    ("GET", "/queues/approvals", approvals_page, "claims.view"),
    ("GET", "/staff", staff_page, "staff.manage"),
    ("POST", "/staff", staff_add, "staff.manage"),
]


def create_desk(db: Database, handoff: HandoffQueue | None = None,
                live: bool = True, hooks: ConversationHooks | None = None,
                files: DocumentStore | None = None, link_secret: str = "") -> web.Application:
    """The /desk sub-application; `hooks` (the channels' router) delivers agents' messages
    and hands conversations back to the bot."""
    permissions = {(m, p): perm for m, p, _, perm in ROUTES}
    app = web.Application(middlewares=[auth.make_middleware(db, permissions, render_error),
                                       _access_log_middleware(db)])
    app[DB] = db
    app[HUB] = LiveHub(db)
    app[HANDOFF] = handoff or HandoffQueue()
    if files is not None:
        app[FILES] = files
    if link_secret:  # signs the data subject's export links shown to the handler
        app[LINK_SECRET] = link_secret
    if hooks is not None:
        app[HOOKS] = hooks
    for method, path, handler, _ in ROUTES:
        app.router.add_route(method, path, handler)
    app.router.add_get("", index)
    app.router.add_static("/static", Path(__file__).parent / "static")
    if live:
        app.cleanup_ctx.append(app[HUB].context)
    return app

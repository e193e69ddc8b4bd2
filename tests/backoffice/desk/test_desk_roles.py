"""Every role against every desk page and form, with the refusals; login, sessions, CSRF,
passwords and the masking of personal data."""

from __future__ import annotations

import io
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from desk_testkit import CSRF, PASSWORDS, World, login
from openpyxl import load_workbook
from sqlalchemy import select

from backoffice.clock import ManualClock
from backoffice.desk.app import ROUTES
from backoffice.domain import staff as roles
from backoffice.services import privacy_requests, staff
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import ClaimRow, Party, PrivacyRequestRow, StaffRow, Task

Desk = Callable[[str | None], Awaitable[TestClient]]


def cases(world: World) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, form, the permission that decides) for every desk route but login/ws."""
    c, k, h = world.complaint_no, world.claim_no, world.conversation_id
    r, a = world.request_no, world.application_no
    t = _task(world)
    return [
        ("GET", "/desk/", {}, "desk.home"),
        ("GET", "/desk/api/summary", {}, "desk.home"),
        ("GET", "/desk/complaints", {}, "complaints.view"),
        ("POST", "/desk/complaints", {"channel": "desk", "name": "周先生", "phone": "13900001111",
                                      "category": "service", "description": "电话打不通"},
         "complaints.create"),
        ("GET", f"/desk/complaints/{c}", {}, "complaints.view"),
        ("POST", f"/desk/complaints/{c}/act", {"action": "classify", "track": "standard"},
         "complaints.work"),
        ("POST", f"/desk/complaints/{c}/act", {"action": "extend"},
         "complaints.approve_extension"),
        ("GET", "/desk/claims", {}, "claims.view"),
        ("GET", f"/desk/claims/{k}", {}, "claims.view"),
        ("GET", f"/desk/claims/{k}/documents/{world.document_id}", {}, "claims.view"),
        ("POST", f"/desk/claims/{k}/act", {"action": "assign", "handler": "adjuster.chen"},
         "claims.work"),
        ("GET", "/desk/risk", {}, "claims.view"),
        ("POST", f"/desk/risk/{k}/act", {"action": "clear_flag", "flag": "frequent",
                                         "note": "核实无误"}, "claims.decide_risk"),
        ("GET", "/desk/appeals", {}, "appeals.view"),
        ("POST", "/desk/appeals", {"claim_no": k, "reasons": "不服拒赔"}, "appeals.file"),
        ("POST", "/desk/appeals/FH0/act", {"action": "uphold", "note": "维持"}, "appeals.decide"),
        ("GET", "/desk/privacy-requests?status=all&overdue=1", {}, "privacy.requests"),
        ("POST", "/desk/privacy-requests", {"id_number": world.members[1], "name": "nobody",
                                            "kind": "access", "channel": "outlet",
                                            "verified_by": "id_card_seen"}, "privacy.requests"),
        ("GET", f"/desk/privacy-requests/{_privacy_request(world)}", {}, "privacy.requests"),
        ("POST", f"/desk/privacy-requests/{_privacy_request(world)}/act", {"action": "start"},
         "privacy.requests"),
        ("GET", "/desk/home-visits", {}, "home_visits.view"),
        ("POST", "/desk/home-visits/V0/act", {"action": "contact"}, "home_visits.work"),
        ("GET", "/desk/endorsement-requests", {}, "endorsement_requests.work"),
        ("GET", f"/desk/endorsement-requests/{r}", {}, "endorsement_requests.work"),
        ("POST", f"/desk/endorsement-requests/{r}/act", {"action": "reject",
                                                         "reason": "未见投保人签字"},
         "endorsement_requests.work"),
        ("GET", "/desk/underwriting", {}, "underwriting.work"),
        ("POST", f"/desk/underwriting/{a}/decide", {"outcome": "accept",
                                                    "reasons": "职业类别可承保"},
         "underwriting.work"),
        ("GET", "/desk/supervisor", {}, "supervisor.view"),
        ("GET", "/desk/supervisor/charts", {}, "supervisor.view"),
        ("GET", "/desk/supervisor/disclosure", {}, "supervisor.view"),
        ("GET", f"/desk/supervisor/disclosure.html?policy_no={world.group_policy_no}"
                "&quarter=2026Q2", {}, "supervisor.view"),
        ("GET", f"/desk/supervisor/disclosure.xlsx?policy_no={world.group_policy_no}"
                "&quarter=2026Q2", {}, "supervisor.view"),
        ("GET", "/desk/supervisor/handlers", {}, "supervisor.view"),
        ("GET", "/desk/supervisor/access-log?staff=adjuster.chen", {}, "privacy.audit"),
        ("GET", "/desk/supervisor/unusual-access", {}, "privacy.audit"),
        ("GET", "/desk/search?q=13811112222", {}, "desk.home"),
        ("GET", "/desk/conversations", {}, "handoff.view"),
        ("GET", f"/desk/conversations/{h}", {}, "handoff.view"),
        ("GET", "/desk/handoff", {}, "handoff.view"),
        ("GET", f"/desk/handoff/{h}", {}, "handoff.view"),
        ("POST", f"/desk/handoff/{h}/take", {}, "handoff.work"),
        ("POST", f"/desk/handoff/{h}/reply", {"text": "您好，我来帮您查。"}, "handoff.work"),
        ("POST", f"/desk/handoff/{h}/note", {"note": "客户着急"}, "handoff.work"),
        ("POST", f"/desk/handoff/{h}/transfer", {"target": "queue"}, "handoff.work"),
        ("POST", f"/desk/handoff/{h}/handback", {}, "handoff.work"),
        ("POST", f"/desk/handoff/{h}/close", {"disposition": "已解决"}, "handoff.work"),
        ("GET", "/desk/tasks?kind=follow_up&owner=mine&overdue=1", {}, "tasks.view"),
        ("GET", f"/desk/tasks/{t}", {}, "tasks.view"),
        ("POST", f"/desk/tasks/{t}/take", {}, "tasks.take"),
        ("POST", f"/desk/tasks/{t}/assign", {"assigned_to": "agent.li"}, "tasks.assign"),
        ("POST", f"/desk/tasks/{t}/follow-up", {"outcome": "not_reached", "result": "无人接听"},
         "satisfaction.record"),
        ("POST", f"/desk/tasks/{t}/close", {"result": "已处理"}, "claims.work"),
        ("POST", f"/desk/tasks/{t}/review", {"action": "decline_registration",
                                             "reasons": "不在保险期间"}, "tasks.review"),
        ("GET", "/desk/queues/documents-overdue?after=first", {}, "claims.view"),
        ("GET", "/desk/queues/approvals", {}, "claims.view"),
        ("GET", "/desk/staff", {}, "staff.manage"),
        ("POST", "/desk/staff", {"username": "new.person", "password": "a-long-password",
                                 "role": "cs_agent"}, "staff.manage"),
        ("POST", "/desk/logout", {}, "desk.home"),
    ]


def _privacy_request(world: World) -> str:
    """An access request of the world's first member (made once)."""
    with world.db.read() as s:
        party = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", world.members[0]))).scalar_one()
        found = s.execute(select(PrivacyRequestRow.request_no).where(
            PrivacyRequestRow.party_id == party.id)).scalar()
    if found is None:
        found = privacy_requests.create(world.db, {
            "id_number": party.id_number, "name": party.name, "kind": "access",
            "channel": "phone", "verified_by": "phone", "phone": party.phone},
            "handler.wang")["privacy_request_no"]
    return str(found)


def _task(world: World) -> int:
    """A 回访 task of the world's claim (made once)."""
    key = "follow_up:desk-roles"
    with world.db.transaction() as s:
        found = s.execute(select(Task.id).where(Task.dedupe_key == key)).scalar()
        if found is None:
            claim_id = s.execute(select(ClaimRow.id).where(
                ClaimRow.claim_no == world.claim_no)).scalar()
            task = Task(kind="follow_up", claim_id=claim_id, due_on=date(2026, 6, 1),
                        note="结案后一周内回访", dedupe_key=key)
            s.add(task)
            s.flush()
            found = task.id
        return int(found)


def test_every_route_is_covered(world: World) -> None:
    """Each desk route (but login and the websocket) is walked by the role test below."""
    walked = [(m, p.split("?")[0]) for m, p, _, _ in cases(world)]
    for method, template, _, permission in ROUTES:
        if permission == "public" or template == "/ws":
            continue
        pattern = re.compile("^/desk" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$")
        assert any(m == method and pattern.match(p) for m, p in walked), (method, template)
    assert set(roles.PERMISSIONS) >= {perm for *_, perm in ROUTES if perm != "public"}


@pytest.mark.parametrize("role", roles.ROLES)
async def test_each_role_against_each_page_and_form(desk: Desk, world: World,
                                                    role: str) -> None:
    client = await desk(role)
    token = ""
    for method, path, form, permission in cases(world):
        if method == "GET":
            resp = await client.get(path, allow_redirects=False)
            text = (await resp.read()).decode("utf-8", "replace")  # a document is bytes
            expected = 200 if roles.allowed(role, permission) else 403
            assert resp.status == expected, (role, path, resp.status, text[:300])
            if expected == 403:
                assert "无权" in text
            elif resp.content_type == "text/html" and "csrf_token" in text:
                found = CSRF.search(text)
                token = found.group(1) if found else token
        else:
            if path == "/desk/logout":
                continue
            resp = await client.post(path, data={**form, "csrf_token": token},
                                     allow_redirects=False)
            expected = 302 if roles.allowed(role, permission) else 403
            assert resp.status == expected, (role, method, path, resp.status,
                                             (await resp.text())[:300])
    resp = await client.post("/desk/logout", data={"csrf_token": token}, allow_redirects=False)
    assert resp.status == 302
    after = await client.get("/desk/", allow_redirects=False)
    assert after.status == 302 and after.headers["Location"].startswith("/desk/login")


async def test_strangers_are_sent_to_login_and_refused(desk: Desk, world: World) -> None:
    client = await desk(None)
    for method, path, form, _ in cases(world):
        resp = await client.request(method, path, data=form or None, allow_redirects=False)
        if method == "GET":
            assert resp.status == 302 and "/desk/login?next=" in resp.headers["Location"]
        else:
            assert resp.status == 401
    resp = await client.get("/desk/ws", allow_redirects=False)
    assert resp.status == 401
    resp = await client.get("/desk/nowhere", allow_redirects=False)
    assert resp.status == 404


async def test_csrf_and_wrong_passwords(desk: Desk, world: World) -> None:
    client = await desk("complaint_handler")
    resp = await client.post(f"/desk/complaints/{world.complaint_no}/act",
                             data={"action": "take"}, allow_redirects=False)
    assert resp.status == 403 and "CSRF" in await resp.text()
    resp = await client.post(f"/desk/complaints/{world.complaint_no}/act",
                             data={"action": "take", "csrf_token": "forged"},
                             allow_redirects=False)
    assert resp.status == 403
    stranger = await desk(None)
    page = await stranger.get("/desk/login")
    token = CSRF.search(await page.text())
    assert token
    for user, password in (("handler.wang", "wrong-password"), ("nobody", "x"),
                           ("handler.wang", PASSWORDS["handler.wang"] + "x")):
        resp = await stranger.post("/desk/login", data={
            "csrf_token": token.group(1), "username": user, "password": password},
            allow_redirects=False)
        assert resp.status == 302 and "err=" in resp.headers["Location"]
    resp = await stranger.post("/desk/login", data={
        "csrf_token": "forged", "username": "handler.wang",
        "password": PASSWORDS["handler.wang"]}, allow_redirects=False)
    assert "err=" in resp.headers["Location"]
    assert (await stranger.get("/desk/", allow_redirects=False)).status == 302
    # an open redirect through ?next= leads back into the desk only
    resp = await stranger.post("/desk/login", data={
        "csrf_token": token.group(1), "username": "handler.wang",
        "password": PASSWORDS["handler.wang"], "next": "//evil.example/"},
        allow_redirects=False)
    assert resp.headers["Location"] == "/desk/"


async def test_wrong_passwords_slow_down_that_address_not_the_account(
        desk: Desk, world: World, clock: ManualClock) -> None:
    stranger = await desk(None)
    found = CSRF.search(await (await stranger.get("/desk/login")).text())
    assert found
    form_token = [found.group(1)]

    async def sign_in(password: str) -> tuple[int, str]:
        resp = await stranger.post("/desk/login", data={
            "csrf_token": form_token[0], "username": "handler.wang", "password": password},
            allow_redirects=False)
        if resp.status == 302:
            return 302, urllib.parse.unquote(resp.headers["Location"])
        if resp.status == 429:  # when to come back, in seconds, for browsers and proxies
            assert resp.headers["Retry-After"] == "60"
        text = await resp.text()
        again = CSRF.search(text)  # the refusal is the form again, with a fresh token
        assert again
        form_token[0] = again.group(1)
        return resp.status, text

    for n in range(staff.ACCOUNT_LIMIT.free):
        status, where = await sign_in(f"guess-{n}")
        assert status == 302 and "用户名或密码错误" in where
    # this address now waits, right password or not, and is told for how long
    status, text = await sign_in(PASSWORDS["handler.wang"])
    assert status == 429 and "请 1 分钟后再试" in text
    # the API's door counts the same failures for this address …
    with pytest.raises(staff.TooManyLogins):
        staff.issue_api_token(world.db, "handler.wang", PASSWORDS["handler.wang"],
                              source="127.0.0.1")
    # … while from another address the account signs in as usual
    assert staff.issue_api_token(world.db, "handler.wang", PASSWORDS["handler.wang"],
                                 source="10.1.2.3") is not None
    other = await desk("claims_adjuster")  # another username signs in as usual
    assert (await other.get("/desk/", allow_redirects=False)).status == 200
    clock.advance(minutes=1)  # the delay passes
    assert await sign_in(PASSWORDS["handler.wang"]) == (302, "/desk/")


async def test_sessions_expire(desk: Desk, world: World, clock: ManualClock) -> None:
    client = await desk("complaint_handler")
    clock.advance(minutes=50)
    assert (await client.get("/desk/complaints", allow_redirects=False)).status == 200
    clock.advance(minutes=50)  # active: the idle limit counts from the last request
    assert (await client.get("/desk/complaints", allow_redirects=False)).status == 200
    clock.advance(minutes=61)
    resp = await client.get("/desk/complaints", allow_redirects=False)
    assert resp.status == 302 and "/desk/login" in resp.headers["Location"]
    again = await desk("complaint_handler")
    for _ in range(14):  # active every 55 minutes, still ends after the 12-hour lifetime
        clock.advance(minutes=55)
        last = await again.get("/desk/", allow_redirects=False)
    assert last.status == 302


def test_passwords_are_argon2id_hashes(world: World) -> None:
    with world.db.read() as s:
        row = s.execute(select(StaffRow).where(StaffRow.username == "handler.wang")).scalar_one()
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORDS["handler.wang"] not in row.password_hash
    assert staff.verify_password(PASSWORDS["handler.wang"], row.password_hash)
    assert not staff.verify_password("demo-handler-2027", row.password_hash)
    assert not staff.verify_password("x", "md5$abc")
    assert staff.hash_password("same-password") != staff.hash_password("same-password")


async def test_personal_data_is_masked_unless_the_role_needs_it(desk: Desk,
                                                               world: World) -> None:
    handler = await desk("complaint_handler")
    assert "13811112222" in await (await handler.get("/desk/complaints")).text()
    agent = await desk("cs_agent")
    text = await (await agent.get("/desk/complaints")).text()
    assert "13811112222" not in text and "138****2222" in text
    text = await (await agent.get(f"/desk/complaints/{world.complaint_no}")).text()
    assert "13811112222" not in text


async def test_claim_actions_follow_the_role(desk: Desk, world: World) -> None:
    adjuster = await desk("claims_adjuster")
    page = await adjuster.get(f"/desk/claims/{world.claim_no}")
    token = CSRF.search(await page.text())
    assert token
    refused = await adjuster.post(f"/desk/claims/{world.claim_no}/act", data={
        "csrf_token": token.group(1), "action": "withdraw"}, allow_redirects=False)
    assert refused.status == 403  # a supervisor's action
    supervisor = await desk("claims_supervisor")
    page = await supervisor.get(f"/desk/claims/{world.claim_no}")
    token = CSRF.search(await page.text())
    assert token
    done = await supervisor.post(f"/desk/claims/{world.claim_no}/act", data={
        "csrf_token": token.group(1), "action": "special_case", "note": "重大案件"},
        allow_redirects=False)
    assert done.status == 302 and "msg=" in done.headers["Location"]
    detail = await (await supervisor.get(f"/desk/claims/{world.claim_no}")).text()
    assert "重大案件" in detail and world.complaint_no in detail


async def test_a_new_login_after_a_password_change_is_needed(desk: Desk, world: World) -> None:
    client = await desk("cs_agent")
    staff.set_password(world.db, "agent.li", "a-brand-new-password")
    assert (await client.get("/desk/", allow_redirects=False)).status == 302
    fresh = await desk(None)
    await login(fresh, "agent.li", "a-brand-new-password")


async def test_a_link_cannot_put_words_on_the_desk(desk: Desk, world: World) -> None:
    """Notices after a form (`?msg=`, `?err=`) are shown only as the desk signed them for the
    session: a link carrying its own text shows nothing of it."""
    client = await desk("claims_supervisor")
    bait = "请将赔款转至账户 6222020200112233445"
    for query in (f"err={bait}", f"msg={bait}", f"err={bait}&sig=" + "0" * 32):
        page = await (await client.get(f"/desk/claims?{query}")).text()
        assert bait not in page, query
    # a real step's notice is shown, to its own session only
    form = await (await client.get(f"/desk/claims/{world.claim_no}")).text()
    token = CSRF.search(form)
    assert token
    resp = await client.post(f"/desk/claims/{world.claim_no}/act",
                             data={"action": "assign", "handler": "adjuster.chen",
                                   "csrf_token": token.group(1)}, allow_redirects=False)
    where = resp.headers["Location"]
    assert "sig=" in where
    assert "已保存" in await (await client.get(where)).text()
    other = await desk("claims_adjuster")
    assert "已保存" not in await (await other.get(where)).text()


async def test_a_supervisor_downloads_the_quarterly_disclosure_as_a_workbook(
        desk: Desk, world: World) -> None:
    client = await desk("claims_supervisor")
    form = await client.get("/desk/supervisor/disclosure")
    text = await form.text()
    assert form.status == 200 and world.group_policy_no in text
    query = urllib.parse.urlencode({"policy_no": world.group_policy_no, "quarter": "2026Q2"})
    resp = await client.get(f"/desk/supervisor/disclosure.xlsx?{query}")
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(await resp.read()))
    overview = {r[0]: r[1] for r in book["概况"].iter_rows(min_row=4, values_only=True)}
    page = await (await client.get(f"/desk/supervisor/disclosure.html?{query}")).text()
    assert f"<td>本季报案</td><td class=\"n\">{overview['本季报案']}</td>" in page
    bad = await client.get(f"/desk/supervisor/disclosure.xlsx?policy_no="
                           f"{world.group_policy_no}&quarter=2026Q7")
    assert bad.status == 400 and "quarter" in await bad.text()
    for query in ("policy_no=G209900009999&quarter=2026Q2", "quarter=2026Q2", "",
                  f"policy_no={world.group_policy_no}&quarter=%00"):
        resp = await client.get(f"/desk/supervisor/disclosure.html?{query}")
        assert resp.status in (400, 404), (query, resp.status)


async def test_the_claim_page_speaks_the_staffs_language_one_form_per_step(
        desk: Desk, world: World) -> None:
    client = await desk("claims_supervisor")
    text = await (await client.get(f"/desk/claims/{world.claim_no}")).text()
    # codes shown by their Chinese names, never as the codes (in what is read, not markup)
    seen = re.sub(r"<[^>]+>", " ", text)
    for code in ("hospital_allowance", "documents_complete", "request_documents", "manual",
                 "undecided", "pay / advance_payment", "under_review"):
        assert code not in seen, code
    assert "住院津贴" in text or "意外伤残" in text or "意外身故" in text
    forms = re.findall(r'<form method="post" action="/desk/claims/[^"]+/act" class="claim-step"'
                       r' id="step-([a-z_]+)">(.*?)</form>', text, re.S)
    assert forms, text[:500]
    for action, body in forms:  # each step asks only for its own fields
        assert f'name="action" value="{action}"' in body
        if action not in ("pay", "advance_payment"):
            assert 'name="amount"' not in body, action
        if action not in ("reject", "decline_registration"):
            assert 'name="reasons"' not in body, action

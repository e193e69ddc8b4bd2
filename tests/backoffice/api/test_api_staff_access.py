"""Staff on the API: signing in for a token that expires and can be revoked, every role
against every endpoint (refusals included), acting as themself with their role's authority,
personal data masked unless the role needs it; the service token keeps every right."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from api_testkit import Api, id_number, issue_policy
from sqlalchemy import select

from backoffice.api.app import create_api
from backoffice.api.declare import PUBLIC
from backoffice.api.operations import OPERATIONS
from backoffice.clock import ManualClock, manual_clock
from backoffice.demo.staff import DEMO_STAFF, USER_OF_ROLE, seed_staff
from backoffice.domain import claim as cl
from backoffice.domain import staff as roles
from backoffice.domain.staff import Actor
from backoffice.services import claims, complaints, conversations, staff
from backoffice.services.base import SHANGHAI
from backoffice.services.demo import seed
from backoffice.store.db import Database
from backoffice.store.models import ApiToken, AttemptLimit, Notification, SatisfactionRow
from xiaobao.config import Settings
from xiaobao.platform import create_app

PASSWORDS = {username: password for username, _, _, _, password in DEMO_STAFF}
START = datetime(2026, 6, 1, 9, 30, tzinfo=SHANGHAI)


class World:
    """A seeded scheme, the demo staff, a claim, a complaint and a handed-off conversation."""

    def __init__(self, db: Database) -> None:
        result = seed(db, members=20, seed_value=5)
        seed_staff(db)
        self.db = db
        self.group_policy_no = result.group_policy_no
        self.members = result.sample_id_numbers
        _, claim = claims.report(db, {
            "policy_no": result.group_policy_no, "insured_id_number": self.members[0],
            "claim_type": "hospital_allowance", "incident_date": "2026-05-20",
            "incident_place": "峡山街道", "description": "摔倒住院", "channel": "wechat",
            "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}})
        self.claim_no = claim["claim_no"]
        self.complaint_no = complaints.intake(db, {
            "channel": "wechat", "complainant": {"name": "林小红", "phone": "13811112222"},
            "category": "claims", "description": "材料交了很久没有消息",
            "claim_no": self.claim_no})["complaint_no"]
        self.conversation_id = handed_off(db, "oStaffApiWorld000000000000001")


def handed_off(db: Database, openid: str) -> int:
    turn = conversations.user_message(db, "wechat", openid, "我要转人工")
    conversations.bot_messages(db, turn.conversation_id, [
        {"text": "好的，正在为您转接人工客服。"},
        {"custom": {"handoff": {"reason": "user_request",
                                "summary": {"text": "客户要求转人工"}}}}])
    return turn.conversation_id


@pytest.fixture
def clock() -> Any:
    with manual_clock(START) as c:
        yield c


@pytest.fixture
def world(db: Database, clock: ManualClock) -> World:
    return World(db)


async def sign_in(api: Api, role: str) -> str:
    username = USER_OF_ROLE[role]
    answer = await api.post("/auth/token", {"username": username,
                                            "password": PASSWORDS[username]},
                            auth=False, expect=201)
    assert answer["staff"] == {"username": username, "role": role,
                               "role_name": roles.ROLE_NAMES[role],
                               "display_name": answer["staff"]["display_name"]}
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 8 * 3600
    return str(answer["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def as_staff(api: Api, token: str, method: str, path: str, body: Any = None,
                   expect: int | None = None) -> Any:
    return await api.call(method, path, json_body=body, auth=False, headers=bearer(token),
                          expect=expect)


# ---- the table ---------------------------------------------------------------------------

PERMISSION = {(op.method, op.path): op.permission for op in OPERATIONS}


def staff_may(role: str, method: str, template: str) -> bool:
    permission = PERMISSION.get(("GET" if method == "HEAD" else method, template))
    return permission is not None and roles.Actor("x", role).may(permission)


def test_every_registered_route_is_in_the_table_and_the_table_has_no_others(
        tmp_path: Path) -> None:
    app = create_api(Database(f"sqlite:///{tmp_path / 'unused.db'}"), "token")
    routed = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.method not in ("HEAD", "*")}
    assert routed == set(PERMISSION)
    for permission in set(PERMISSION.values()) - {PUBLIC}:
        assert permission in roles.PERMISSIONS, permission


def test_the_table_refuses_what_it_does_not_list() -> None:
    assert not staff_may(roles.ADMINISTRATOR, "GET", "/no-such-route")
    assert not staff_may(roles.CS_AGENT, "GET", "/claims/{claim_no}")
    assert staff_may(roles.CS_AGENT, "HEAD", "/claims/{claim_no}/progress")


# ---- every role against every endpoint ------------------------------------------------------

def calls(w: World, role: str) -> list[tuple[str, str, str, Any]]:
    """(method, template, path, body) for every route of the table but signing in and out."""
    fill = {"code": "PA-GUARD", "application_no": "A000000", "policy_no": w.group_policy_no,
            "id_number": w.members[0], "claim_no": w.claim_no, "document_id": "999999",
            "letter_no": "L000000", "complaint_no": w.complaint_no, "visit_no": "V000000",
            "conversation_id": str(w.conversation_id), "channel": "wechat", "user": "o-nobody",
                "request_no": "BQ2026000000", "appeal_no": "FH2026000000",
                "privacy_request_no": "GR2026000000", "task_id": "999999"}
    bodies: dict[str, Any] = {
        "/claims/{claim_no}/transitions": {"action": "assign", "handler": "adjuster.chen"},
        # the step each role's permission is for (an extension is a supervisor's)
        "/complaints/{complaint_no}/transitions": {
            "action": "extend" if role == roles.CLAIMS_SUPERVISOR else "note",
            "note": "核实中"},
        "/conversations/{conversation_id}/close": {"disposition": "已解决"},
    }
    out = []
    for (method, template), permission in sorted(PERMISSION.items()):
        if template == "/auth/token" or permission == PUBLIC:
            continue
        body = bodies.get(template, {}) if method in ("POST", "PATCH") else None
        out.append((method, template, template.format(**fill), body))
    return out


@pytest.mark.parametrize("role", roles.ROLES)
async def test_each_role_against_each_endpoint(api: Api, world: World, role: str) -> None:
    token = await sign_in(api, role)
    seen = {"allowed": 0, "refused": 0}
    for method, template, path, body in calls(world, role):
        allowed = staff_may(role, method, template)
        headers = bearer(token)
        if body is not None:
            headers["Content-Type"] = "application/json"
        async with api.client.request(method, "/api/v1" + path, headers=headers,
                                      json=body) as resp:
            status = resp.status
            answer = await resp.json() if resp.content_type == "application/json" else None
        assert status < 500, (role, method, path, status, answer)
        if allowed:
            assert status not in (401, 403), (role, method, path, status, answer)
            seen["allowed"] += 1
        else:
            assert status == 403, (role, method, path, status, answer)
            assert answer is not None and set(answer["error"]) == {"code", "message", "field"}
            assert answer["error"]["code"] == "forbidden" and roles.ROLE_NAMES[role] in \
                answer["error"]["message"]
            assert answer["error"]["field"] == "Authorization"  # the token's role is refused
            seen["refused"] += 1
    # every role can do something and is refused something
    assert seen["allowed"] >= 2 and seen["refused"] >= 2, (role, seen)


async def test_the_service_token_keeps_every_right(api: Api, world: World) -> None:
    for method, _template, path, _ in calls(world, roles.ADMINISTRATOR):
        if method == "GET":
            await api.call("GET", path, check_doc=False)  # never a 403 (call checks < 500)
    assert (await api.get("/notifications/dead", expect=200))["items"] == []
    assert (await api.get(f"/claims/{world.claim_no}", expect=200))["claim_no"] == \
        world.claim_no
    await api.error("DELETE", "/auth/token", 400, "invalid", "Authorization")


# ---- signing in, expiry, revocation -----------------------------------------------------------

async def test_wrong_password_unknown_user_and_disabled_staff_get_the_same_answer(
        api: Api, world: World) -> None:
    refusals = []
    for username, password in (("handler.wang", "wrong-password"),
                               ("nobody.here", "whatever-password"),
                               ("handler.wang", PASSWORDS["handler.wang"] + "x")):
        refusals.append(await api.error("POST", "/auth/token", 401, "invalid_credentials",
                                        "password", {"username": username,
                                                     "password": password},
                                        auth=False))
    token = await sign_in(api, roles.COMPLAINT_HANDLER)
    await as_staff(api, token, "GET", "/complaints", expect=200)
    staff.set_active(world.db, "handler.wang", False)
    refusals.append(await api.error("POST", "/auth/token", 401, "invalid_credentials", "password",
                                    {"username": "handler.wang",
                                     "password": PASSWORDS["handler.wang"]}, auth=False))
    assert len({r["message"] for r in refusals}) == 1
    # the token handed out before the account was disabled no longer works
    await api.error("GET", "/complaints", 401, "unauthorized", "Authorization", auth=False,
                    headers=bearer(token))
    await api.error("POST", "/auth/token", 400, "invalid", "username", {"password": "x"},
                    auth=False)
    await api.error("POST", "/auth/token", 400, "invalid", "password",
                    {"username": "handler.wang", "password": 12345}, auth=False)


async def test_tokens_expire_and_are_kept_only_hashed(api: Api, world: World,
                                                      clock: ManualClock) -> None:
    token = await sign_in(api, roles.CS_AGENT)
    with world.db.read() as s:
        stored = s.execute(select(ApiToken.token_hash)).scalars().all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64
    clock.advance(hours=7, minutes=59)
    await as_staff(api, token, "GET", "/products", expect=200)
    clock.advance(minutes=2)
    await api.error("GET", "/products", 401, "unauthorized", "Authorization", auth=False,
                    headers=bearer(token))
    with world.db.read() as s:
        assert s.execute(select(ApiToken)).first() is None  # the expired row went
    # the rest are purged by the scheduler's nightly prune, with aged-out failed sign-ins
    await sign_in(api, roles.CS_AGENT)
    await api.error("POST", "/auth/token", 401, "invalid_credentials", "password",
                    {"username": "agent.li", "password": "not-the-password"}, auth=False)
    clock.advance(hours=9)
    assert staff.purge_api_tokens(world.db) == 1
    with world.db.read() as s:
        assert s.execute(select(ApiToken)).first() is None
        assert s.execute(select(AttemptLimit)).first() is None


async def test_the_lifetime_is_configurable(aiohttp_client: Any, world: World,
                                            clock: ManualClock, tmp_path: Path) -> None:
    settings = Settings(database_url=world.db.url, api_token="t" * 20,
                        rasa_url="http://127.0.0.1:9", log_level="INFO", var_dir=tmp_path,
                        staff_token_ttl=timedelta(minutes=5))
    client: TestClient = await aiohttp_client(create_app(settings, world.db))
    api = Api(client)
    answer = await api.post("/auth/token", {"username": "agent.li",
                                            "password": PASSWORDS["agent.li"]},
                            auth=False, expect=201)
    assert answer["expires_in"] == 300
    token = answer["access_token"]
    clock.advance(minutes=4)
    await as_staff(api, token, "GET", "/products", expect=200)
    clock.advance(minutes=2)
    await api.error("GET", "/products", 401, "unauthorized", "Authorization", auth=False,
                    headers=bearer(token))


async def test_signing_out_revokes_the_token(api: Api, world: World) -> None:
    token = await sign_in(api, roles.UNDERWRITER)
    other = await sign_in(api, roles.UNDERWRITER)
    assert await as_staff(api, token, "DELETE", "/auth/token", expect=200) == {"revoked": True}
    await api.error("GET", "/products", 401, "unauthorized", "Authorization", auth=False,
                    headers=bearer(token))
    await as_staff(api, other, "GET", "/products", expect=200)  # only that token ends
    await api.error("GET", "/products", 401, "unauthorized", "Authorization", auth=False,
                    headers=bearer("xbs_" + "x" * 43))


# ---- acting as themself, with their role's authority --------------------------------------

async def test_the_actor_of_a_write_is_the_staff_member_not_the_body(api: Api,
                                                                     world: World) -> None:
    handler = await sign_in(api, roles.COMPLAINT_HANDLER)
    await as_staff(api, handler, "POST", f"/complaints/{world.complaint_no}/transitions",
                   {"action": "take", "actor": "someone.else"}, expect=200)
    view = complaints.get(world.db, {"complaint_no": world.complaint_no})
    assert view["handler"] == "handler.wang"
    assert view["timeline"][-1]["actor"] == "handler.wang"
    adjuster = await sign_in(api, roles.CLAIMS_ADJUSTER)
    await as_staff(api, adjuster, "POST", f"/claims/{world.claim_no}/transitions",
                   {"action": "assign", "handler": "adjuster.chen", "actor": "forged"},
                   expect=200)
    assert claims.get_claim(world.db, world.claim_no)["timeline"][-1]["actor"] == \
        "adjuster.chen"
    agent = await sign_in(api, roles.CS_AGENT)
    made = await as_staff(api, agent, "POST", "/complaints", {
        "channel": "desk", "complainant": {"name": "周先生", "phone": "13900001111"},
        "category": "service", "description": "电话打不通", "actor": "forged"}, expect=201)
    view = complaints.get(world.db, {"complaint_no": made["complaint_no"]})
    assert view["timeline"][0]["actor"] == "agent.li"


async def test_claim_and_complaint_steps_follow_the_role(api: Api, world: World) -> None:
    adjuster = await sign_in(api, roles.CLAIMS_ADJUSTER)
    err = await as_staff(api, adjuster, "POST", f"/claims/{world.claim_no}/transitions",
                         {"action": "withdraw", "actor": "claims_supervisor"}, expect=403)
    assert (err["error"]["code"], err["error"]["field"]) == ("forbidden", "action")
    handler = await sign_in(api, roles.COMPLAINT_HANDLER)
    await as_staff(api, handler, "POST", f"/complaints/{world.complaint_no}/transitions",
                   {"action": "extend", "approved_by": "supervisor.zhao"}, expect=403)
    supervisor = await sign_in(api, roles.CLAIMS_SUPERVISOR)
    await as_staff(api, supervisor, "POST", f"/complaints/{world.complaint_no}/transitions",
                   {"action": "note", "note": "x"}, expect=403)


async def test_approval_uses_the_authority_limit_of_the_role(
        api: Api, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # the demo scheme's death benefit is 3,000 元: lower the adjuster's limit below it
    monkeypatch.setitem(cl.DEFAULT_LIMITS, "adjuster", Decimal("1000"))
    _, claim = claims.report(world.db, {
        "policy_no": world.group_policy_no, "insured_id_number": world.members[1],
        "claim_type": "death", "incident_date": "2026-05-20", "incident_place": "峡山",
        "description": "交通事故", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"},
        "facts": {"death_date": "2026-05-20", "cause": "accident"}})
    no = claim["claim_no"]
    adjuster = await sign_in(api, roles.CLAIMS_ADJUSTER)
    move = f"/claims/{no}/transitions"
    # four eyes: another adjuster waives and adjudicates, this one approves
    colleague = Actor("adjuster.li", roles.CLAIMS_ADJUSTER)
    claims.transition(world.db, {"claim_no": no, "action": "documents_complete",
                                 "waive_missing": True}, colleague)
    claims.transition(world.db, {"claim_no": no, "action": "adjudicate"}, colleague)
    # the body's role and actor are ignored: the adjuster's limit applies and it escalates
    after = await as_staff(api, adjuster, "POST", move,
                           {"action": "approve", "role": "branch_head",
                            "actor": "supervisor.zhao"}, expect=200)
    assert (after["status"], after["approval_role"]) == ("pending_approval", "supervisor")
    supervisor = await sign_in(api, roles.CLAIMS_SUPERVISOR)
    done = await as_staff(api, supervisor, "POST", move, {"action": "approve"}, expect=200)
    assert done["status"] == "approved" and done["approved"] == "3000.00"
    timeline = claims.get_claim(world.db, no)["timeline"]
    assert [t["actor"] for t in timeline[-2:]] == ["adjuster.chen", "supervisor.zhao"]


# ---- personal data --------------------------------------------------------------------------

async def test_personal_data_is_masked_unless_the_role_needs_it(api: Api,
                                                               world: World) -> None:
    policy = await issue_policy(api)
    insured = id_number(date(1980, 5, 6))  # the insured of api_testkit's policy
    path = f"/policies?id_number={insured}"
    agent = await sign_in(api, roles.CS_AGENT)
    found = (await as_staff(api, agent, "GET", path, expect=200))["items"][0]
    assert found["insured"]["id_number"] == insured[:6] + "********" + insured[-4:]
    # the policy document link is a capability to the unmasked document: not for the agent
    detail = await as_staff(api, agent, "GET", f"/policies/{policy['policy_no']}", expect=200)
    assert "document_url" not in detail and insured not in str(detail)
    underwriter = await sign_in(api, roles.UNDERWRITER)
    seen = await as_staff(api, underwriter, "GET", f"/policies/{policy['policy_no']}",
                          expect=200)
    assert seen == await api.get(f"/policies/{policy['policy_no']}", expect=200)
    assert "document_url" in seen
    # what the customer typed in a conversation: masked for the agent, not for a supervisor
    turn = conversations.user_message(world.db, "wechat", "oStaffApiMasking00000000001",
                                      f"我的电话13811112222，身份证{insured}")
    talk = f"/conversations/{turn.conversation_id}"
    text = str(await as_staff(api, agent, "GET", talk, expect=200))
    assert "13811112222" not in text and insured not in text and "138****2222" in text
    supervisor = await sign_in(api, roles.CLAIMS_SUPERVISOR)
    text = str(await as_staff(api, supervisor, "GET", talk, expect=200))
    assert "13811112222" in text and insured in text
    # complaints: the handler sees the complainant's phone, the agent a masked one
    handler = await sign_in(api, roles.COMPLAINT_HANDLER)
    c = f"/complaints/{world.complaint_no}"
    assert "13811112222" in str(await as_staff(api, handler, "GET", c, expect=200))
    shown = str(await as_staff(api, agent, "GET", c, expect=200))
    assert "13811112222" not in shown and "138****2222" in shown
    # claims staff see what they need
    adjuster = await sign_in(api, roles.CLAIMS_ADJUSTER)
    view = await as_staff(api, adjuster, "GET", f"/claims/{world.claim_no}", expect=200)
    assert view == await api.get(f"/claims/{world.claim_no}", expect=200)


async def test_numbers_written_in_groups_are_masked_for_the_agent(api: Api,
                                                                  world: World) -> None:
    """Spaces, dashes and full-width digits do not get a number past the agent's masking."""
    insured = "440514195811271307"
    written = {"4405 1419 5811 2713 07": "1419 5811", "440514-19581127-1307": "19581127",
               "１５１５１７４２９３８": "５１７４", "151-5174-2938": "5174",
               "151 5174 2938": "5174", "6222 0212 3456 7890 123": "0212 3456"}
    turn = conversations.user_message(world.db, "wechat", "oStaffApiMasking00000000002",
                                      "；".join([*written, "理赔 R202612345678 金额 1,234.50 元"
                                                 " 2026-11-22 10:15"]))
    talk = f"/conversations/{turn.conversation_id}"
    agent = await sign_in(api, roles.CS_AGENT)
    shown = str(await as_staff(api, agent, "GET", talk, expect=200))
    for secret in written.values():
        assert secret not in shown, shown
    assert "440514-********-1307" in shown and "１５１****２９３８" in shown
    assert "R202612345678 金额 1,234.50 元 2026-11-22 10:15" in shown
    supervisor = await sign_in(api, roles.CLAIMS_SUPERVISOR)
    whole = str(await as_staff(api, supervisor, "GET", talk, expect=200))
    assert all(w in whole for w in written) and insured not in shown


# ---- closing a conversation asks for a rating -------------------------------------------

async def test_closing_a_conversation_through_the_api_asks_for_a_rating(
        api: Api, world: World) -> None:
    agent = await sign_in(api, roles.CS_AGENT)
    cid = world.conversation_id
    taken = await as_staff(api, agent, "POST", f"/conversations/{cid}/take",
                           {"agent": "someone.else"}, expect=200)
    assert taken["agent"] == "agent.li"
    closed = await as_staff(api, agent, "POST", f"/conversations/{cid}/close",
                            {"disposition": "已解决"}, expect=200)
    assert closed["state"] == "closed" and closed["satisfaction_asked"] is True
    # the service token (the channels' integration) gets the same
    other = handed_off(world.db, "oStaffApiWorld000000000000002")
    await api.post(f"/conversations/{other}/take", {"agent": "agent.li"}, expect=200)
    assert (await api.post(f"/conversations/{other}/close", {"disposition": "已解决"},
                           expect=200))["satisfaction_asked"] is True
    with world.db.read() as s:
        asked = s.execute(select(SatisfactionRow).where(
            SatisfactionRow.subject_type == "conversation")).scalars().all()
        sent = s.execute(select(Notification).where(
            Notification.template == "satisfaction_request")).scalars().all()
    assert {(r.subject_id, r.agent, r.channel) for r in asked} == {
        (str(cid), "agent.li", "wechat"), (str(other), "agent.li", "wechat")}
    assert {n.recipient for n in sent} == {"oStaffApiWorld000000000000001",
                                           "oStaffApiWorld000000000000002"}


async def test_revoking_document_links_is_audited_as_the_underwriter(api: Api,
                                                                     world: World) -> None:
    no = (await issue_policy(api))["policy_no"]
    underwriter = await sign_in(api, roles.UNDERWRITER)
    answer = await as_staff(api, underwriter, "POST",
                            f"/policies/{no}/document-links/revocation", expect=200)
    assert answer["document_link_revision"] == 1
    entries = (await api.get(f"/audit?entity_type=policy&entity_id={no}",
                             expect=200))["items"]
    revoked = [e for e in entries if e["action"] == "revoke_document_links"]
    assert [e["actor"] for e in revoked] == [USER_OF_ROLE[roles.UNDERWRITER]]
    agent = await sign_in(api, roles.CS_AGENT)
    await as_staff(api, agent, "POST", f"/policies/{no}/document-links/revocation",
                   expect=403)

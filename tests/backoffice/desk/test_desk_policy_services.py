"""Underwriters on the desk: the endorsement-request queue and a request completed from the
signed form and approved (or refused and left as it was), a rejection told to the customer;
the underwriting referrals decided with a loading. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from urllib.parse import unquote

from aiohttp.test_utils import TestClient
from desk_testkit import CSRF, World, application
from sqlalchemy import select

from backoffice.domain.identity import make_id_number
from backoffice.services import endorsement_requests, policies
from backoffice.store.models import Notification

Desk = Callable[[str | None], Awaitable[TestClient]]
SIGNED_ID = make_id_number("440514", date(1990, 3, 3), 18)


async def csrf(client: TestClient, path: str) -> tuple[str, str]:
    text = await (await client.get(path)).text()
    found = CSRF.search(text)
    assert found
    return found.group(1), text


async def test_an_underwriter_completes_and_approves_a_beneficiary_change(
        desk: Desk, world: World) -> None:
    client = await desk("underwriter")
    token, queue = await csrf(client, "/desk/endorsement-requests")
    assert world.request_no in queue and "变更受益人" in queue
    path = f"/desk/endorsement-requests/{world.request_no}"
    token, page = await csrf(client, path)
    assert "林小红" in page and "待按签字申请书补全" in page
    before = policies.get_policy(world.db, world.individual_policy_no)

    refused = await client.post(f"{path}/act", data={"csrf_token": token, "action": "approve",
                                                     "id_number_0": "440514199003031234"},
                                allow_redirects=False)
    assert refused.status == 302 and "err=" in refused.headers["Location"]
    assert "身份证" in unquote(refused.headers["Location"])
    assert policies.get_policy(world.db, world.individual_policy_no) == before
    ref = {"request_no": world.request_no}
    assert endorsement_requests.get(world.db, ref)["status"] == "submitted"

    done = await client.post(f"{path}/act", data={"csrf_token": token, "action": "approve",
                                                  "id_number_0": SIGNED_ID},
                             allow_redirects=False)
    assert done.status == 302 and "msg=" in done.headers["Location"]
    view = endorsement_requests.get(world.db, {"request_no": world.request_no})
    assert view["status"] == "approved" and view["decided_by"] == "underwriter.sun"
    after = policies.get_policy(world.db, world.individual_policy_no)
    assert [(b["name"], b["relation"]) for b in after["beneficiaries"]] == [("林小红", "child")]
    page = await (await client.get(path)).text()
    assert view["endorsement_no"] in page and "已批准并生效" in page
    with world.db.read() as s:
        told = s.execute(select(Notification).where(
            Notification.template == "endorsement_request_approved")).scalar_one()
    assert (told.channel, told.recipient) == ("wechat", "oEndorseWorld")


async def test_a_rejection_and_a_referral_decided_with_a_loading(desk: Desk,
                                                                 world: World) -> None:
    client = await desk("administrator")
    path = f"/desk/endorsement-requests/{world.request_no}"
    token, _ = await csrf(client, path)
    await client.post(f"{path}/act", data={"csrf_token": token, "action": "reject",
                                           "reason": "申请书未见投保人签字"})
    rejected = endorsement_requests.get(world.db, {"request_no": world.request_no})
    assert rejected["reason"] == "申请书未见投保人签字"

    other = policies.apply(world.db, application("吴海涛", 62, hypertension=True), "test")
    token, page = await csrf(client, "/desk/underwriting")
    assert world.application_no in page and other["application_no"] in page
    assert "加费承保" in page  # the rules' suggestion for the one with high blood pressure
    bad = await client.post(f"/desk/underwriting/{other['application_no']}/decide", data={
        "csrf_token": token, "outcome": "accept_with_loading", "loading_pct": "999",
        "reasons": "高血压"}, allow_redirects=False)
    assert "err=" in bad.headers["Location"]
    assert policies.get_policy(world.db, other["application_no"])["status"] == "applied"
    await client.post(f"/desk/underwriting/{other['application_no']}/decide", data={
        "csrf_token": token, "outcome": "accept_with_loading", "loading_pct": "30",
        "reasons": "高血压，控制良好\n职业类别3类"})
    decided = policies.get_policy(world.db, other["application_no"])
    assert decided["status"] == "accepted"
    assert decided["underwriting"]["loading_pct"] == "30"
    assert decided["underwriting"]["reasons"] == ["高血压，控制良好", "职业类别3类"]
    page = await (await client.get("/desk/underwriting")).text()
    assert other["application_no"] not in page and world.application_no in page

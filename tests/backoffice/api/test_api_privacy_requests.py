"""Requests of the data subject (查阅、复制、更正、删除) through the API and the export's signed
link: identity checked as the channels do, the 15-working-day clock, the steps and who may
take them, the ZIP opened and read, and the hostile cases (wrong role, bad input, a person
who does not exist, a tampered, expired or replayed link)."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from api_testkit import Api
from sqlalchemy import func, select
from test_api_claims_kit import Scheme, clock, report, report_body, scheme, staff_headers, upload

from backoffice.services import conversations, personal_data
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import AccessLogEntry, Party
from tests.backoffice.services.test_privacy_erasure import cover_ended

__all__ = ["clock", "scheme"]  # fixtures

SUPERVISOR = "supervisor.zhou"  # claims supervisors may work these requests
PHOTO = b"\xff\xd8\xff\xe0JFIF-privacy-export-original-bytes\xff\xd9"


def person(db: Database, id_number: str) -> Party:
    with db.read() as s:
        return s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", id_number))).scalar_one()


def body(p: Party, kind: str = "access", **extra: Any) -> dict[str, Any]:
    return {"id_number": p.id_number, "name": p.name, "kind": kind, "channel": "phone",
            "verified_by": "phone", "phone": p.phone, **extra}


async def as_staff(api: Api, method: str, path: str, payload: Any = None, *,
                   who: str = SUPERVISOR, expect: int | None = 200) -> Any:
    return await api.call(method, path, json_body=payload,
                          headers=await staff_headers(api, who), auth=False, expect=expect)


async def new_request(api: Api, p: Party, kind: str = "access", **extra: Any) -> dict[str, Any]:
    made: dict[str, Any] = await as_staff(api, "POST", "/privacy-requests",
                                          body(p, kind, **extra), expect=201)
    return made


async def step(api: Api, no: str, action: str, expect: int = 200, **fields: Any) -> Any:
    return await as_staff(api, "POST", f"/privacy-requests/{no}/steps",
                          {"action": action, **fields}, expect=expect)


def access_entries(db: Database, no: str) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(AccessLogEntry).where(
            AccessLogEntry.record_kind == "privacy_request", AccessLogEntry.record_id == no,
            AccessLogEntry.door == "link")).scalar_one())


async def test_access_request_clock_steps_and_the_export(api: Api, scheme: Scheme,
                                                         db: Database) -> None:
    me, other = person(db, scheme.members[0]), person(db, scheme.members[1])
    mine = await report(api, report_body(scheme, insured=me.id_number))
    theirs = await report(api, report_body(scheme, insured=other.id_number))
    await upload(api, mine["claim_no"], "discharge_summary", content=PHOTO,
                 filename="../../出院小结.jpg")
    await api.post("/bindings", {"channel": "wechat", "user": "o-privacy-me",
                                 "id_number": me.id_number, "phone": me.phone}, expect=200)
    conversations.user_message(db, "wechat", "o-privacy-me", "我想查一下我的理赔进度")
    conversations.user_message(db, "wechat", "o-privacy-other", "别人的对话内容")

    made = await new_request(api, me)
    no = made["privacy_request_no"]
    # received Monday 2026-06-01: 15 working days skip two weekends and 端午 (19–21 June)
    assert made["due_by"] == "2026-06-23" and made["status"] == "received"
    assert made["clock"]["breached"] is False and made["overdue"] is False
    assert made["export_url"] is None
    await step(api, no, "complete", expect=409)  # not started: the steps name what is allowed
    started = await step(api, no, "start")
    assert started["handler"] == SUPERVISOR and started["status"] == "in_progress"
    done = await step(api, no, "complete", note="已通过链接提供")
    assert done["status"] == "done" and done["export_url"]
    assert [s["action"] for s in done["steps"]] == ["receive", "start", "complete"]

    url = done["export_url"]
    resp = await api.client.get(url)
    assert resp.status == 200 and resp.content_type == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(await resp.read()))
    data = json.loads(z.read("data.json"))
    tables = data["tables"]
    assert [p["id_number"] for p in tables["parties"]] == [me.id_number]
    assert [c["claim_no"] for c in tables["claims"]] == [mine["claim_no"]]
    texts = [m["text"] for m in tables["conversation_messages"]]
    assert "我想查一下我的理赔进度" in texts and "别人的对话内容" not in texts
    dumped = json.dumps(data, ensure_ascii=False)
    assert theirs["claim_no"] not in dumped and other.id_number not in dumped
    [doc] = tables["claim_documents"]
    [name] = [n for n in z.namelist() if n.startswith("documents/")]
    assert name == f"documents/{doc['id']}-出院小结.jpg"  # no path climbs out of the folder
    assert z.read(name) == PHOTO  # opened through the file store, not the sealed bytes
    assert access_entries(db, no) == 1

    again = await api.client.get(url)  # a replay within the expiry works, and is logged again
    assert again.status == 200 and access_entries(db, no) == 2
    assert zipfile.ZipFile(io.BytesIO(await again.read())).read(name) == PHOTO

    path, query = urlsplit(url).path, urlsplit(url).query
    for forged in (url[:-1] + ("0" if url[-1] != "0" else "1"),
                   f"{path}?{query.replace('v=1', 'v=2')}",
                   url.replace(no, no[:-1] + "9"), path, f"{path}?exp=x&v=1&sig=a"):
        refused = await api.client.get(forged)
        assert refused.status == 403, forged
        assert me.id_number not in await refused.text()
    assert access_entries(db, no) == 2  # nothing logged for a refused link

    scheme.clock.advance(days=7, seconds=1)  # past the 7 days the link opens
    expired = await api.client.get(url)
    assert expired.status == 410 and access_entries(db, no) == 2
    await staff_headers(api, SUPERVISOR, fresh=True)  # the staff token outlived too
    renewed = await step(api, no, "renew_link")
    assert renewed["export_url"] != url
    assert (await api.client.get(renewed["export_url"])).status == 200
    assert (await api.client.get(url)).status in (403, 410)  # the old one never opens again

    seen = await as_staff(api, "GET", f"/privacy-requests/{no}")
    assert seen["party"]["id_number"] == me.id_number


async def test_queue_filters_and_the_overdue_clock(api: Api, scheme: Scheme,
                                                   db: Database) -> None:
    me = person(db, scheme.members[0])
    late = await new_request(api, me, "copy")
    scheme.clock.advance(days=30)
    await staff_headers(api, SUPERVISOR, fresh=True)
    fresh = await new_request(api, me, "access")
    queue = await as_staff(api, "GET", "/privacy-requests?overdue=true")
    assert [i["privacy_request_no"] for i in queue["items"]] == [late["privacy_request_no"]]
    assert queue["items"][0]["overdue"] is True and queue["items"][0]["clock"]["breached"]
    kinds = await as_staff(api, "GET", "/privacy-requests?kind=access")
    assert [i["privacy_request_no"] for i in kinds["items"]] == [fresh["privacy_request_no"]]
    await step(api, fresh["privacy_request_no"], "refuse", expect=400)  # a reason is needed
    refused = await step(api, fresh["privacy_request_no"], "refuse", note="非本人申请")
    assert refused["status"] == "refused" and refused["answer"] == "非本人申请"
    done = await as_staff(api, "GET", "/privacy-requests?status=refused")
    assert [i["status"] for i in done["items"]] == ["refused"]


async def test_correction_and_deletion(api: Api, scheme: Scheme, db: Database) -> None:
    me = person(db, scheme.members[0])
    fix = await new_request(api, me, "correction", verified_by="id_card_seen",
                            channel="outlet", id_card_checked=True, phone=None,
                            details="地址应为峡山街道新安路8号")
    assert fix["verified_by"] == "id_card_seen"
    no = fix["privacy_request_no"]
    await step(api, no, "start")
    blank = await step(api, no, "complete", expect=400)
    assert blank["error"]["field"] == "note"
    done = await step(api, no, "complete", note="地址已更正为峡山街道新安路8号")
    assert done["status"] == "done" and done["export"] is None

    gone = await new_request(api, me, "deletion")
    await step(api, gone["privacy_request_no"], "start")
    # still insured: the erasure is refused naming the policy, the request stays open
    covered = await step(api, gone["privacy_request_no"], "complete", expect=409)
    assert covered["error"]["field"] == "party_id"
    assert scheme.policy_no in covered["error"]["message"]
    cover_ended(db, me.id)
    # completing a deletion erases the person; the answer says what is kept and until when
    erased = await step(api, gone["privacy_request_no"], "complete")
    assert erased["status"] == "done" and "保留" in erased["answer"]
    with db.read() as s:
        left = s.get(Party, me.id)
        assert left is not None and me.id_number not in left.id_number
        assert left.name != me.name and left.phone != me.phone
    again = await step(api, gone["privacy_request_no"], "complete", expect=409)
    assert again["error"]["field"] == "action"  # done once: not erased twice


async def test_refusals_wrong_role_bad_input_and_nobody(api: Api, scheme: Scheme,
                                                        db: Database) -> None:
    me = person(db, scheme.members[0])
    await as_staff(api, "POST", "/privacy-requests", body(me), who="adjuster.li", expect=403)
    await as_staff(api, "GET", "/privacy-requests", who="adjuster.li", expect=403)
    for spoiled, field in ((body(me, kind="erase"), "kind"),
                           (body(me, channel="fax"), "channel"),
                           (body(me, phone=None), "phone"),
                           (body(me, verified_by="policy_no", phone=None), "policy_no"),
                           (body(me, verified_by="id_card_seen"), "verified_by"),
                           (body(me, verified_by="id_card_seen", channel="outlet"),
                            "id_card_checked"),
                           (body(me, "correction"), "details"),
                           ({**body(me), "id_number": "44051419500315002X"}, "id_number"),
                           ({**body(me), "name": ""}, "name")):
        refused = await as_staff(api, "POST", "/privacy-requests", spoiled, expect=400)
        assert refused["error"]["field"] == field, (spoiled, refused)
    nobody = "110101199003070011"
    missing = await as_staff(api, "POST", "/privacy-requests",
                             {**body(me), "id_number": nobody}, expect=404)
    assert missing["error"]["field"] == "id_number"
    for wrong in ({"phone": "13000000000"}, {"name": "张冒名"}):
        mismatch = await as_staff(api, "POST", "/privacy-requests", {**body(me), **wrong},
                                  expect=403)
        assert mismatch["error"]["code"] == "identity_mismatch"
    await as_staff(api, "GET", "/privacy-requests/GR2026999999", expect=404)
    await step(api, "GR2026999999", "start", expect=404)
    queue = await as_staff(api, "GET", "/privacy-requests?status=all")
    assert queue["items"] == []  # nothing was taken down by any refusal
    unknown = await api.client.get("/privacy-exports/GR2026999999?exp=9999999999&v=1&sig=00")
    assert unknown.status == 403


def test_a_shared_phone_brings_no_one_elses_words(scheme: Scheme, db: Database) -> None:
    """Rows found only by a phone number count as the person's when no one else has it."""
    me, other = person(db, scheme.members[0]), person(db, scheme.members[1])
    conversations.user_message(db, "ivr", "call-privacy-1", "家里电话打来的", phone=me.phone)

    def transcript() -> list[str]:
        with db.read() as s:
            found = personal_data.holdings(s, s.get(Party, me.id))
        return [m.text for h in found if h.table == "conversation_messages" for m in h.rows]

    assert transcript() == ["家里电话打来的"]
    with db.transaction() as s:
        s.get(Party, other.id).phone = me.phone  # the household shares one number
    assert transcript() == []


def test_due_date_counts_working_days_only() -> None:
    from datetime import date

    from backoffice.domain import privacy_request as pr
    # Friday 2026-09-18: a working Sunday (20 Sep), 中秋 (25–27 Sep), 国庆 (1–7 Oct), a
    # working Saturday (10 Oct)
    assert pr.due_date(date(2026, 9, 18)) == date(2026, 10, 15)
    d = pr.deadline(date(2026, 6, 23), date(2026, 6, 23))
    assert not d.breached and pr.clock_text(d, date(2026, 6, 23)) == "今日到期"
    assert pr.deadline(date(2026, 6, 23), date(2026, 6, 24)).breached
    assert pr.deadline(date(2026, 6, 23), date(2026, 6, 30), date(2026, 6, 22)).breached is False
    assert timedelta(days=7) == pr.LINK_LIFETIME


async def test_two_completions_of_one_deletion_at_once_erase_once(api: Api, scheme: Scheme,
                                                                  db: Database) -> None:
    me = person(db, scheme.members[0])
    gone = await new_request(api, me, "deletion")
    no = gone["privacy_request_no"]
    await step(api, no, "start")
    cover_ended(db, me.id)
    headers = {**await staff_headers(api, SUPERVISOR), "Content-Type": "application/json"}

    async def complete() -> tuple[int, Any]:
        async with api.client.post(f"/api/v1/privacy-requests/{no}/steps", headers=headers,
                                   data=json.dumps({"action": "complete"})) as resp:
            return resp.status, await resp.json()

    answers = sorted(await asyncio.gather(complete(), complete()), key=lambda a: a[0])
    assert [status for status, _ in answers] == [200, 409], answers
    assert answers[0][1]["status"] == "done"
    assert answers[1][1]["error"]["code"] == "illegal_transition"
    with db.read() as s:
        left = s.get(Party, me.id)
        assert left is not None and me.id_number not in left.id_number

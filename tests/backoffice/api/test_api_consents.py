"""Separate consent to sensitive personal information, recorded by the bot through the
channels' port: the notice and its hash, given / refused / withdrawn, the latest counts, the
party filled in when the channel user identifies, staff reading a person's history. Forged,
missing and staff tokens; bad input naming the field; a hash of another text; a second user."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from api_testkit import Api, application, issue_policy, person
from sqlalchemy import func, select
from test_api_claims_kit import STAFF_PASSWORD

from backoffice.domain import consent as cs
from backoffice.domain import staff as roles
from backoffice.services import staff
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, ConsentRecord

USER = "o-consent-1"


async def notice(api: Api, channel: str = "wechat") -> dict[str, Any]:
    answer: dict[str, Any] = await api.get(f"/channel/consent-notice?channel={channel}",
                                           expect=200)
    return answer


async def decide(api: Api, decision: str, user: str = USER, channel: str = "wechat",
                 expect: int | None = 201, **body: Any) -> dict[str, Any]:
    shown = await notice(api, channel)
    answer: dict[str, Any] = await api.post("/channel/consents", {
        "channel": channel, "user": user, "decision": decision,
        "notice_version": shown["version"], "notice_sha256": shown["sha256"], **body},
        expect=expect)
    return answer


async def adjuster(api: Api, db: Database) -> dict[str, str]:
    staff.add(db, "adjuster.wang", STAFF_PASSWORD, roles.CLAIMS_ADJUSTER)
    answer = await api.post("/auth/token", {"username": "adjuster.wang",
                                            "password": STAFF_PASSWORD}, auth=False, expect=201)
    return {"Authorization": f"Bearer {answer['access_token']}"}


async def refused(api: Api, body: dict[str, Any], field: str) -> None:
    err = (await api.call("POST", "/channel/consents", json_body=body, expect=400))["error"]
    assert err["field"] == field and err["message"], err


def rows(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(ConsentRecord)).scalar_one())


async def test_the_notice_names_who_what_why_how_long_the_rights_and_the_full_text(
        api: Api) -> None:
    chat = await notice(api)
    text = chat["text"]
    for words in ("保险公司", "身份证", "病历", "银行卡", "理赔", "保存", "查阅", "删除",
                  "撤回授权", "/privacy", "同意"):
        assert words in text, words
    assert chat["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert "第十三条" in chat["family_text"]
    voice = await notice(api, "ivr")
    assert voice["version"] == chat["version"] and len(voice["text"]) < len(text)
    assert "http" not in voice["text"]  # read aloud: no link


async def test_given_then_withdrawn_the_latest_counts_and_each_is_kept(
        api: Api, db: Database) -> None:
    current = await api.get(f"/channel/consents/wechat/{USER}", expect=200)
    assert current["decision"] is None and current["consent_given"] is False
    given = await decide(api, "given")
    assert given["consent_given"] is True and given["decided_at"]
    assert (await api.get(f"/channel/consents/wechat/{USER}"))["decision"] == "given"
    # another user of the same channel, or the same id on another channel, has none
    assert (await api.get("/channel/consents/wechat/o-consent-2"))["decision"] is None
    assert (await api.get(f"/channel/consents/web/{USER}"))["decision"] is None
    await decide(api, "withdrawn")
    now = await api.get(f"/channel/consents/wechat/{USER}")
    assert now["decision"] == "withdrawn" and now["consent_given"] is False
    assert rows(db) == 2
    with db.read() as s:
        audited = s.execute(select(AuditEntry.actor, AuditEntry.action).where(
            AuditEntry.entity_type == "consent").order_by(AuditEntry.id)).all()
    assert [tuple(a) for a in audited] == [("bot", "consent.given"), ("bot", "consent.withdrawn")]


async def test_a_refusal_is_recorded_on_the_phone_with_the_spoken_texts_hash(
        api: Api, db: Database) -> None:
    refused = await decide(api, "refused", user="call-1", channel="ivr")
    spoken = (await notice(api, "ivr"))["sha256"]
    assert refused["decision"] == "refused" and refused["notice_sha256"] == spoken


async def test_the_party_is_filled_in_when_the_channel_user_identifies(
        api: Api, db: Database) -> None:
    insured = person(name="林阿婆", seq=771)
    policy = await issue_policy(api, application(insured))
    await decide(api, "given", user="o-consent-bind")
    await api.post("/bindings", {"channel": "wechat", "user": "o-consent-bind",
                                 "id_number": insured["id_number"],
                                 "policy_no": policy["policy_no"]}, expect=200)
    await decide(api, "withdrawn", user="o-consent-bind")
    await decide(api, "given", user="o-someone-else")
    with db.read() as s:
        parties = list(s.execute(select(ConsentRecord.party_id).where(
            ConsentRecord.channel_user == "o-consent-bind")).scalars())
    assert len(parties) == 2 and None not in parties and len(set(parties)) == 1
    headers = await adjuster(api, db)
    history = await api.get(f"/parties/{insured['id_number']}/consents", headers=headers,
                            expect=200)
    assert [i["decision"] for i in history["items"]] == ["withdrawn", "given"]
    assert {i["user"] for i in history["items"]} == {"o-consent-bind"}
    assert history["items"][1]["decision_name"] == "同意"


async def test_a_missing_forged_or_staff_token_is_refused_and_nothing_is_recorded(
        api: Api, db: Database) -> None:
    shown = await notice(api)
    body = {"channel": "wechat", "user": USER, "decision": "given",
            "notice_version": shown["version"], "notice_sha256": shown["sha256"]}
    await api.call("POST", "/channel/consents", json_body=body, auth=False, expect=401)
    await api.call("POST", "/channel/consents", json_body=body, expect=401,
                   headers={"Authorization": "Bearer forged-token-0123456789"})
    staff = await adjuster(api, db)
    await api.call("POST", "/channel/consents", json_body=body, headers=staff, expect=403)
    await api.call("GET", f"/channel/consents/wechat/{USER}", headers=staff, expect=403)
    await api.call("GET", f"/channel/consents/wechat/{USER}", auth=False, expect=401)
    assert rows(db) == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"decision": "maybe"}, "decision"),
    ({"decision": None}, "decision"),
    ({"channel": "fax"}, "channel"),
    ({"user": ""}, "user"),
    ({"user": "x" * 129}, "user"),
    ({"notice_version": "1999-v0"}, "notice_version"),
    ({"notice_version": ""}, "notice_version"),
    ({"notice_sha256": "abc"}, "notice_sha256"),
    ({"notice_sha256": hashlib.sha256("我同意一切".encode()).hexdigest()}, "notice_sha256"),
    ({"notice_sha256": 12345}, "notice_sha256"),
])
async def test_bad_input_names_the_field_and_records_nothing(
        api: Api, db: Database, change: dict[str, Any], field: str) -> None:
    shown = await notice(api)
    body = {"channel": "wechat", "user": USER, "decision": "given",
            "notice_version": shown["version"], "notice_sha256": shown["sha256"], **change}
    await refused(api, body, field)
    assert rows(db) == 0


async def test_hostile_bodies_never_yield_a_5xx(api: Api, db: Database) -> None:
    for raw in ("", "null", "[]", "{", '{"channel": {"a": 1}}', json.dumps({"user": "\x00"}),
                "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")):
        await api.call("POST", "/channel/consents", data=raw,
                       headers={"Content-Type": "application/json"})
    await api.call("GET", "/channel/consent-notice?channel=fax", expect=400)
    assert rows(db) == 0


async def test_a_withdrawal_may_name_the_version_consented_to(api: Api, db: Database) -> None:
    """A consent given on an earlier notice can still be withdrawn by naming it."""
    with db.transaction() as s:
        s.add(ConsentRecord(channel="wechat", channel_user=USER, notice_version="2025-old",
                            notice_sha256="a" * 64, decision="given"))
    await api.post("/channel/consents", {
        "channel": "wechat", "user": USER, "decision": "withdrawn",
        "notice_version": "2025-old", "notice_sha256": "a" * 64}, expect=201)
    # but nobody gives a new consent on an old notice
    await refused(api, {
        "channel": "wechat", "user": USER, "decision": "given",
        "notice_version": "2025-old", "notice_sha256": "a" * 64}, "notice_version")


async def test_the_operators_notice_file_and_link(api: Api, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "notice.json"
    own.write_text(json.dumps({"version": "op-7", "chat": "本公司告知…全文见 {privacy_url}"},
                              ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("XIAOBAO_CONSENT_NOTICE_FILE", str(own))
    monkeypatch.setenv("XIAOBAO_PRIVACY_URL", "https://bx.example.cn/privacy")
    shown = await notice(api)
    assert shown["version"] == "op-7"
    assert shown["text"] == "本公司告知…全文见 https://bx.example.cn/privacy"
    assert shown["family_text"] == cs.packaged().family  # keys not given stay packaged
    await decide(api, "given")


def test_a_notice_file_with_an_unknown_key_or_no_link_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="colour"):
        cs.notice_from({"colour": "red"}, cs.packaged())
    with pytest.raises(ValueError, match="privacy_url"):
        cs.notice_from({"chat": "没有链接"}, cs.packaged())


async def test_two_decisions_at_once_are_both_kept_in_order(api: Api, db: Database) -> None:
    await asyncio.gather(decide(api, "given"), decide(api, "withdrawn"))
    assert rows(db) == 2
    last = (await api.get(f"/channel/consents/wechat/{USER}"))["decision"]
    with db.read() as s:
        newest = s.execute(select(ConsentRecord.decision).order_by(
            ConsentRecord.id.desc()).limit(1)).scalar()
    assert last == newest

"""All the identified customer's cases (GET /bindings/{channel}/{user}/cases), over HTTP:
their claims of the last two years (open, rejected with the reasons, closed), complaints and
home visits, and nobody else's."""

from __future__ import annotations

from datetime import date
from typing import Any

from api_testkit import Api, application, id_number, issue_policy, person
from sqlalchemy import select, update
from test_api_claims_kit import Scheme, act, clock, scheme  # noqa: F401 (fixtures)

from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import ClaimRow, Party

BIRTH = date(1956, 3, 4)
PHONE = "13822223333"
CHILD_PHONE = "13955556666"


async def _policy(api: Api, name: str, seq: int, phone: str) -> tuple[str, str]:
    policy = await issue_policy(api, application(person(name, BIRTH, seq, phone=phone)))
    return id_number(BIRTH, seq), str(policy["policy_no"])


async def _claim(api: Api, idn: str, policy_no: str, day: str,
                 reporter_phone: str = CHILD_PHONE) -> str:
    claim = await api.post("/claims", {
        "policy_no": policy_no, "insured_id_number": idn, "claim_type": "medical",
        "incident_date": day, "incident_place": "家里", "description": "摔倒",
        "reporter": {"name": "陈小明", "relation": "child", "phone": reporter_phone},
        "channel": "wechat"}, expect=201)
    return str(claim["claim_no"])


def _set(db: Database, claim_no: str, **values: Any) -> None:
    """A state the API reaches only after weeks of steps: written straight to the store."""
    with db.transaction() as s:
        s.execute(update(ClaimRow).where(ClaimRow.claim_no == claim_no).values(**values)
                  .execution_options(synchronize_session=False))


async def _bind(api: Api, user: str, idn: str, phone: str) -> None:
    await api.post("/bindings", {"channel": "wechat", "user": user, "id_number": idn,
                                 "phone": phone}, expect=200)


async def test_open_rejected_closed_newest_first_with_reasons(api: Api, db: Database,
                                                              clock) -> None:  # noqa: F811
    api.client.__dict__["db"] = db  # claims staff are added when they first act
    idn, policy_no = await _policy(api, "陈秀兰", 317, PHONE)
    closed = await _claim(api, idn, policy_no, "2026-05-02")
    _set(db, closed, status="closed", approved_fen=123400, closed_on=date(2026, 5, 20))
    clock.advance(days=1)
    rejected = await _claim(api, idn, policy_no, "2026-05-10")
    await act(api, rejected, "decline_registration", reasons=["出险时不在保险期间内"])
    clock.advance(days=1)
    withdrawn = await _claim(api, idn, policy_no, "2026-05-12")
    await act(api, withdrawn, "withdraw", note="家属决定不再申请")
    clock.advance(days=1)
    old = await _claim(api, idn, policy_no, "2026-05-15")
    _set(db, old, reported_on=date(2024, 5, 31))  # two years and a day ago: not listed
    clock.advance(days=1)
    open_no = await _claim(api, idn, policy_no, "2026-05-28")

    await _bind(api, "o-me", idn, PHONE)
    cases = await api.get("/bindings/wechat/o-me/cases", expect=200)
    assert [c["number"] for c in cases["claims"]] == [open_no, rejected, closed]
    assert cases["more"]["claims"] == 0
    by_no = {c["number"]: c for c in cases["claims"]}
    assert by_no[rejected]["reasons"] == ["出险时不在保险期间内"]
    assert "原因：出险时不在保险期间内" in by_no[rejected]["text"]
    assert "复核" in by_no[rejected]["text"]
    assert "已结案，赔付 1234.00 元" in by_no[closed]["text"]
    assert withdrawn not in cases["text"] and old not in cases["text"]
    text = cases["text"]
    assert text.index(open_no) < text.index(rejected) < text.index(closed)
    assert "没有进行中" not in text and "如果需要报案" not in text
    assert idn not in text and PHONE not in text and "陈秀兰" not in text


async def test_the_list_is_capped_and_says_how_many_more(api: Api, clock) -> None:  # noqa: F811
    idn, policy_no = await _policy(api, "陈秀兰", 317, PHONE)
    numbers = []
    for day in range(1, 9):
        numbers.append(await _claim(api, idn, policy_no, f"2026-05-{day:02d}"))
        clock.advance(hours=1)
    await _bind(api, "o-me", idn, PHONE)
    cases = await api.get("/bindings/wechat/o-me/cases", expect=200)
    assert [c["number"] for c in cases["claims"]] == numbers[::-1][:5]
    assert cases["more"]["claims"] == 3
    assert "另有 3 件理赔未列出" in cases["text"]


async def test_someone_elses_cases_are_never_listed(api: Api, clock) -> None:  # noqa: F811
    idn, policy_no = await _policy(api, "陈秀兰", 317, PHONE)
    mine = await _claim(api, idn, policy_no, "2026-05-20")
    # the insured's child has a policy of their own, reported the mother's claim and complains
    # about it: bound with their own ID, they see nothing of the mother's cases
    child, child_policy = await _policy(api, "陈小明", 318, CHILD_PHONE)
    await api.post("/complaints", {"channel": "wechat", "user": "o-child",
                                   "complainant": {"name": "陈小明", "phone": CHILD_PHONE},
                                   "category": "claims", "description": "理赔太慢",
                                   "claim_no": mine}, expect=201)
    await api.post("/home-visits", {"channel": "wechat", "user": "o-child", "name": "陈秀兰",
                                    "phone": PHONE, "address": "峡山街道1号", "reason": "行动不便",
                                    "id_number": idn}, expect=201)
    await _bind(api, "o-child", child, CHILD_PHONE)
    seen = await api.get("/bindings/wechat/o-child/cases", expect=200)
    assert mine not in str(seen) and seen["claims"] == []
    # what the child filed on this WeChat is theirs to follow, told without the mother's data
    assert len(seen["complaints"]) == 1 and len(seen["home_visits"]) == 1
    assert idn not in str(seen) and PHONE not in str(seen)

    # the mother sees her claim, the complaint about it and the visit asked with her ID number
    await _bind(api, "o-me", idn, PHONE)
    own = await api.get("/bindings/wechat/o-me/cases", expect=200)
    assert [c["number"] for c in own["claims"]] == [mine]
    assert len(own["complaints"]) == 1 and len(own["home_visits"]) == 1
    # a third person with a claim of their own sees none of it
    other, other_policy = await _policy(api, "林阿妹", 319, "13700001111")
    theirs = await _claim(api, other, other_policy, "2026-05-21")
    await _bind(api, "o-other", other, "13700001111")
    third = await api.get("/bindings/wechat/o-other/cases", expect=200)
    assert [c["number"] for c in third["claims"]] == [theirs]
    assert third["complaints"] == [] and third["home_visits"] == []
    assert mine not in str(third) and theirs not in str(own)
    assert child_policy not in str(own)


async def test_no_binding_no_cases(api: Api) -> None:
    idn, policy_no = await _policy(api, "陈秀兰", 317, PHONE)
    await _claim(api, idn, policy_no, "2026-05-20")
    for channel, user in (("wechat", "o-nobody"), ("ivr", PHONE), ("web", idn),
                          ("wechat", "o-me%2F..%2Fcases")):
        await api.error("GET", f"/bindings/{channel}/{user}/cases", 404, "not_found", "user")
    await api.error("GET", "/bindings/sms/o-me/cases", 400, "invalid", "channel")
    await _bind(api, "o-me", idn, PHONE)
    await api.call("DELETE", "/bindings/wechat/o-me", expect=200)
    await api.error("GET", "/bindings/wechat/o-me/cases", 404, "not_found", "user")


async def test_a_complaints_status_journey(api: Api, clock) -> None:  # noqa: F811
    idn, policy_no = await _policy(api, "陈秀兰", 317, PHONE)
    claim_no = await _claim(api, idn, policy_no, "2026-05-20")
    made = await api.post("/complaints", {
        "channel": "web", "user": "w-1", "category": "claims", "claim_no": claim_no,
        "complainant": {"name": "陈秀兰", "phone": PHONE},
        "description": f"我的电话 {PHONE}，身份证 {idn}，理赔太慢"}, expect=201)
    await _bind(api, "o-me", idn, PHONE)
    cases = await api.get("/bindings/wechat/o-me/cases", expect=200)
    line = cases["complaints"][0]
    assert line["number"] == made["complaint_no"]
    assert "理赔类投诉：已受理；等处理人员调查" in line["text"]
    assert "预计 2026-" in line["text"]  # the complaint clock's due date
    assert PHONE not in str(cases) and idn not in str(cases)


async def test_a_group_policys_number_names_nobody(api: Api, db: Database,
                                                   scheme: Scheme) -> None:  # noqa: F811
    """A complaint naming the scheme's policy number is not every member's case."""
    with db.read() as s:
        members = list(s.execute(select(Party).where(
            Party.id_number_hash.in_([keyed_hash("id_number", v) for v in scheme.members]),
            Party.phone.is_not(None))).scalars())
    first, second = members[:2]
    made = await api.post("/complaints", {
        "channel": "web", "user": "w-1", "category": "policy_service",
        "policy_no": scheme.policy_no, "complainant": {"name": "陈小明", "phone": CHILD_PHONE},
        "description": "统保名单有误"}, expect=201)
    for k, member in enumerate((first, second)):
        await _bind(api, f"o-{k}", member.id_number, str(member.phone))
        seen = await api.get(f"/bindings/wechat/o-{k}/cases", expect=200)
        assert seen["complaints"] == [] and made["complaint_no"] not in seen["text"]

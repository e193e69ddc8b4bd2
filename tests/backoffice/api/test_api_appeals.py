"""Appeals of a rejection (复核申请) through the API: the customer's own claim through the
channels' port or staff on their behalf, one open appeal per claim, a 10-working-day clock, a
supervisor other than the rejecting one deciding, the customer told; and the hostile cases."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from api_testkit import Api
from sqlalchemy import select
from test_api_claims_kit import (
    CARD,
    Scheme,
    act,
    advance_to,
    clock,
    report,
    report_body,
    scheme,
    staff_headers,
    supply_all,
)

from backoffice.domain.calendar import CN_CALENDAR
from backoffice.domain.errors import DomainError
from backoffice.services import appeals
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import AppealRow, Notification, Party

__all__ = ["clock", "scheme"]  # fixtures

REASONS = ["猝死，属于责任免除"]
WHY = "我父亲是在家中摔倒后送医不治，不是猝死，有120出车记录为证"


async def rejected(api: Api, scheme: Scheme, insured: str | None = None) -> str:
    """A death claim rejected by supervisor.zhou."""
    claim = await supply_all(api, await report(api, report_body(scheme, "death",
                                                                insured=insured)))
    done = await act(api, claim["claim_no"], "reject", actor="supervisor.zhou", reasons=REASONS)
    assert done["status"] == "rejected"
    return str(claim["claim_no"])


async def bind(api: Api, db: Database, id_number: str, user: str) -> None:
    """The customer identifies themself on WeChat, as the bot does it."""
    with db.read() as s:
        phone = s.execute(select(Party.phone).where(
                Party.id_number_hash == keyed_hash("id_number", id_number))).scalar()
    await api.post("/bindings", {"channel": "wechat", "user": user, "id_number": id_number,
                                 "phone": phone}, expect=200)


async def customer_appeal(api: Api, claim_no: str, user: str, reasons: Any = WHY,
                          expect: int | None = 201) -> dict[str, Any]:
    answer: dict[str, Any] = await api.call(
        "POST", "/channel/appeals", json_body={"channel": "wechat", "user": user,
                                               "claim_no": claim_no, "reasons": reasons},
        expect=expect)
    return answer


async def staff_appeal(api: Api, claim_no: str, reasons: Any = WHY, who: str = "adjuster.li",
                       expect: int | None = 201) -> dict[str, Any]:
    answer: dict[str, Any] = await api.call(
        "POST", f"/claims/{claim_no}/appeals", json_body={"reasons": reasons,
                                                          "channel": "counter"},
        headers=await staff_headers(api, who), auth=False, expect=expect)
    return answer


async def decide(api: Api, appeal_no: str, action: str, who: str = "supervisor.zhao",
                 expect: int | None = 200, **fields: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await api.call(
        "POST", f"/appeals/{appeal_no}/decision", json_body={"action": action, **fields},
        headers=await staff_headers(api, who), auth=False, expect=expect)
    return answer


def told(db: Database, appeal_no: str) -> list[Notification]:
    with db.read() as s:
        return list(s.execute(select(Notification).where(
            Notification.dedupe_key.like(f"appeal:{appeal_no}:%")).order_by(Notification.id)
        ).scalars())


def appeal_count(db: Database, claim_no: str) -> int:
    with db.read() as s:
        return len(s.execute(select(AppealRow.id).where(AppealRow.claim_no == claim_no)).all())


async def test_customer_appeals_and_another_supervisor_upholds_with_reasons(
        api: Api, scheme: Scheme, db: Database) -> None:
    claim_no = await rejected(api, scheme)
    await bind(api, db, scheme.members[0], "o-appeal-1")
    made = await customer_appeal(api, claim_no, "o-appeal-1")
    assert made["status"] == "open" and made["reasons"] == WHY
    assert made["rejected_by"] == "supervisor.zhou"
    assert made["rejection_reasons"] == REASONS
    due = CN_CALENDAR.add_working_days(scheme.today(), 10)
    assert made["due_by"] == due.isoformat() and made["clock"]["breached"] is False
    again = await customer_appeal(api, claim_no, "o-appeal-1", "再申请一次", expect=409)
    assert again["error"]["field"] == "claim_no"

    queue = await api.get("/appeals", headers=await staff_headers(api, "supervisor.zhao"),
                          auth=False)
    [item] = [i for i in queue["items"] if i["claim_no"] == claim_no]
    assert item["reasons"] == WHY and item["rejection_reasons"] == REASONS

    no = made["appeal_no"]
    own = await decide(api, no, "uphold", "supervisor.zhou", 403, note="维持")
    assert own["error"]["code"] == "forbidden"  # four eyes: not their own rejection
    await decide(api, no, "uphold", "adjuster.li", 403, note="维持")
    blank = await decide(api, no, "uphold", expect=400, note="   ")
    assert blank["error"]["field"] == "note"
    note = "120出车记录显示到达时已无生命体征，死亡证明记载死因为心源性猝死"
    done = await decide(api, no, "uphold", note=note)
    assert done["status"] == "upheld" and done["decided_by"] == "supervisor.zhao"
    assert done["clock"]["done_on"] == scheme.today().isoformat()
    replay = await decide(api, no, "uphold", expect=409, note=note)
    assert replay["error"]["code"] == "illegal_transition"

    claim = await api.get(f"/claims/{claim_no}")
    assert claim["status"] == "rejected"
    actions = [(e["action"], e["actor"]) for e in claim["timeline"]]
    assert ("appeal", "customer") in actions and ("appeal_upheld", "supervisor.zhao") in actions
    result = told(db, no)[-1]
    assert result.channel == "wechat" and result.recipient == "o-appeal-1"
    assert "维持原拒赔决定" in result.text and note in result.text
    audit = await api.get(f"/audit?entity_type=appeal&entity_id={no}")
    assert [(e["action"], e["actor"]) for e in audit["items"]] == [
        ("file", "customer"), ("uphold", "supervisor.zhao")]
    # decided: a new appeal may be filed (the rejection still stands)
    await customer_appeal(api, claim_no, "o-appeal-1", "补充新的证据：住院病历")


async def test_staff_file_and_a_supervisor_reopens_the_claim(
        api: Api, scheme: Scheme, db: Database) -> None:
    claim_no = await rejected(api, scheme)
    made = await staff_appeal(api, claim_no)
    assert made["filed_by"] == "adjuster.li" and made["channel"] == "counter"
    done = await decide(api, made["appeal_no"], "reopen", note="证据表明为意外摔伤，重新审核")
    assert done["status"] == "reopened" and done["claim_status"] == "under_review"
    claim = await api.get(f"/claims/{claim_no}")
    assert claim["status"] == "under_review"
    reopen = [e for e in claim["timeline"] if e["action"] == "reopen"]
    assert reopen[-1]["actor"] == "supervisor.zhao"
    result = told(db, made["appeal_no"])[-1]
    assert result.channel == "sms" and result.recipient == "13912345678"
    assert "重新" in result.text and claim_no in result.text
    # the claim is no longer rejected: no appeal of it now
    refused = await staff_appeal(api, claim_no, "再次复核", expect=409)
    assert refused["error"]["field"] == "claim_no"


async def test_only_a_rejected_claim_with_visible_reasons(
        api: Api, scheme: Scheme, db: Database) -> None:
    open_claim = await report(api, report_body(scheme, "death"))
    refused = await staff_appeal(api, open_claim["claim_no"], expect=409)
    assert refused["error"]["field"] == "claim_no"
    paid = await supply_all(api, await report(api, report_body(
        scheme, insured=scheme.members[1])))
    assert paid["status"] == "approved"
    await act(api, paid["claim_no"], "pay", actor="adjuster.wang", amount="300.00",
              account=CARD, reference="TX-APPEAL-1")
    assert (await staff_appeal(api, paid["claim_no"], expect=409))["error"]["field"] \
        == "claim_no"
    claim_no = await rejected(api, scheme, insured=scheme.members[2])
    for bad in ("", "   ", "\u200b\u3000", None, 42, ["理由"], "x" * 2001):
        answer = await staff_appeal(api, claim_no, bad, expect=400)
        assert answer["error"]["field"] == "reasons", bad
    missing = await api.call("POST", f"/claims/{claim_no}/appeals", json_body={},
                             headers=await staff_headers(api, "adjuster.li"), auth=False,
                             expect=400)
    assert missing["error"]["field"] == "reasons"
    await staff_appeal(api, "R20269999999", expect=404)
    assert appeal_count(db, claim_no) == 0

    no = (await staff_appeal(api, claim_no))["appeal_no"]
    for action in (None, 42, "approve", ["uphold"], "x" * 5000, "UPHOLD"):
        answer = await decide(api, no, action, expect=400, note="维持")  # type: ignore[arg-type]
        assert answer["error"]["field"] == "action", action
    assert (await decide(api, no, "uphold", expect=400, note="长" * 2001))["error"]["field"] \
        == "note"
    await decide(api, "FH2026999999", "uphold", expect=404, note="维持")
    assert (await api.get(f"/appeals/{no}"))["status"] == "open"  # refusals change nothing


async def test_another_customers_claim_is_not_theirs_to_appeal(
        api: Api, scheme: Scheme, db: Database) -> None:
    claim_no = await rejected(api, scheme)  # insured: members[0]
    await bind(api, db, scheme.members[1], "o-stranger")
    other = await customer_appeal(api, claim_no, "o-stranger", expect=404)
    assert other["error"]["field"] == "claim_no"
    unbound = await customer_appeal(api, claim_no, "o-nobody", expect=404)
    assert unbound["error"]["field"] == "user"
    assert appeal_count(db, claim_no) == 0
    # the port is the service token's: a staff token is refused there
    await api.call("POST", "/channel/appeals", json_body={
        "channel": "wechat", "user": "o-stranger", "claim_no": claim_no, "reasons": WHY},
        headers=await staff_headers(api, "adjuster.li"), auth=False, expect=403)
    # and the service token decides nothing
    made = await staff_appeal(api, claim_no)
    await api.post(f"/appeals/{made['appeal_no']}/decision",
                   {"action": "reopen", "note": "x"}, expect=403)


async def test_the_clock_shows_a_late_appeal_as_breached(api: Api, scheme: Scheme) -> None:
    claim_no = await rejected(api, scheme)
    made = await staff_appeal(api, claim_no)
    due = CN_CALENDAR.add_working_days(scheme.today(), 10)
    advance_to(scheme.clock, due)
    item = await api.get(f"/appeals/{made['appeal_no']}")
    assert item["clock"]["breached"] is False
    advance_to(scheme.clock, due + timedelta(days=1))
    queue = await api.get("/appeals?status=open")
    [late] = [i for i in queue["items"] if i["appeal_no"] == made["appeal_no"]]
    assert late["clock"]["breached"] is True and "超时" in late["clock"]["text"]
    done = await decide(api, made["appeal_no"], "uphold", note="维持")
    assert done["clock"]["breached"] is True and done["clock"]["done_on"] is not None
    bad = await api.get("/appeals?status=maybe", expect=400)
    assert bad["error"]["field"] == "status"


def _race(calls: list[Any]) -> list[Any]:
    """Run the calls in threads released together; each result or the error it raised."""
    gate = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        gate.wait()
        try:
            out[i] = calls[i]()
        except DomainError as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


@pytest.mark.parametrize("second", ["uphold", "reopen"])
async def test_two_decisions_at_once_exactly_one_wins(
        api: Api, scheme: Scheme, db: Database, second: str) -> None:
    claim_no = await rejected(api, scheme)
    no = (await staff_appeal(api, claim_no))["appeal_no"]
    out = _race([
        lambda: appeals.decide(db, {"appeal_no": no, "action": "reopen", "note": "重审"},
                               "supervisor.zhao"),
        lambda: appeals.decide(db, {"appeal_no": no, "action": second, "note": "维持"},
                               "supervisor.wu")])
    wins = [o for o in out if isinstance(o, dict)]
    assert len(wins) == 1, out
    claim = await api.get(f"/claims/{claim_no}")
    decisions = [e for e in claim["timeline"] if e["action"] in ("reopen", "appeal_upheld")]
    assert len(decisions) == 1
    assert len([n for n in told(db, no) if n.template != "appeal_filed"]) == 1


async def test_two_appeals_at_once_one_is_filed(api: Api, scheme: Scheme, db: Database) -> None:
    claim_no = await rejected(api, scheme)
    out = _race([lambda i=i: appeals.file(db, {"claim_no": claim_no, "reasons": f"理由{i}"},
                                          f"agent.{i}") for i in range(3)])
    assert len([o for o in out if isinstance(o, dict)]) == 1, out
    assert appeal_count(db, claim_no) == 1

"""The customer's own steps on their claim through the channels' port: withdrawal (撤案) and the
payout bank account (收款账户), typed or read from a bank card photo by the real OCR. Another
customer's claim, replays, bad input, missing or staff tokens, two confirmations at once."""

from __future__ import annotations

import threading
from typing import Any

from api_testkit import Api
from sqlalchemy import select
from test_api_appeals import bind
from test_api_claim_documents_ocr import upload_photo
from test_api_claims_kit import (
    CARD,
    OTHER_CARD,
    Scheme,
    act,
    clock,
    report,
    report_body,
    scheme,
    staff_headers,
    supply_all,
)

from backoffice.domain.errors import DomainError
from backoffice.services import customer_claims
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, ClaimEvent, ClaimRow
from bench.ocr_synth import make_sample

__all__ = ["clock", "scheme"]  # fixtures

USER = "o-cases-1"
TYPED = "6222 0202-0011 2233 446"  # CARD as a customer types it


async def withdraw(api: Api, claim_no: str, user: str = USER, expect: int | None = 200,
                   **body: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await api.call(
        "POST", f"/channel/claims/{claim_no}/withdrawal",
        json_body={"channel": "wechat", "user": user, **body}, expect=expect)
    return answer


async def set_account(api: Api, claim_no: str, user: str = USER, expect: int | None = 200,
                      **body: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await api.call(
        "POST", f"/channel/claims/{claim_no}/bank-account",
        json_body={"channel": "wechat", "user": user, **body}, expect=expect)
    return answer


def steps(db: Database, claim_no: str, *actions: str) -> list[tuple[str, str]]:
    with db.read() as s:
        return [(a, w) for a, w in s.execute(
            select(ClaimEvent.action, ClaimEvent.actor).join(
                ClaimRow, ClaimRow.id == ClaimEvent.claim_id)
            .where(ClaimRow.claim_no == claim_no, ClaimEvent.action.in_(actions))
            .order_by(ClaimEvent.id)).all()]


def stored_account(db: Database, claim_no: str) -> str | None:
    with db.read() as s:
        return s.execute(select(ClaimRow.bank_account).where(
            ClaimRow.claim_no == claim_no)).scalar()


async def unpaid_claim(api: Api, scheme: Scheme, insured: str | None = None) -> str:
    """A claim reported without a bank account (the customer gives it later)."""
    body = report_body(scheme, insured=insured)
    del body["bank_account"]
    return str((await report(api, body))["claim_no"])


# ---- withdrawal ----------------------------------------------------------------------------------

async def test_the_customer_withdraws_their_claim_once(api: Api, scheme: Scheme,
                                                       db: Database) -> None:
    claim_no = str((await report(api, report_body(scheme)))["claim_no"])
    await bind(api, db, scheme.members[0], USER)
    done = await withdraw(api, claim_no, reason="已经出院了，不想赔了")
    assert done["status"] == "withdrawn" and done["replay"] is False
    assert "已撤案" in done["text"]
    again = await withdraw(api, claim_no)  # a retried turn: the same answer, no second step
    assert again["status"] == "withdrawn" and again["replay"] is True
    assert steps(db, claim_no, "withdraw") == [("withdraw", "customer")]
    claim = await api.get(f"/claims/{claim_no}")
    [event] = [e for e in claim["timeline"] if e["action"] == "withdraw"]
    assert "微信" in event["note"] and "不想赔了" in event["note"]
    with db.read() as s:
        audited = s.execute(select(AuditEntry.actor).where(
            AuditEntry.entity_id == claim_no, AuditEntry.action == "withdraw")).scalars().all()
    assert list(audited) == ["customer"]


async def test_another_customers_claim_is_a_404_and_unchanged(api: Api, scheme: Scheme,
                                                              db: Database) -> None:
    mine = str((await report(api, report_body(scheme)))["claim_no"])
    body = report_body(scheme, insured=scheme.members[1])
    body["reporter"] = {**body["reporter"], "phone": "13700001111"}
    theirs = str((await report(api, body))["claim_no"])
    await bind(api, db, scheme.members[0], USER)
    for claim_no in (theirs, "C2026999999"):
        err = await withdraw(api, claim_no, expect=404)
        assert err["error"]["field"] == "claim_no"
        err = await set_account(api, claim_no, account=OTHER_CARD, expect=404)
        assert err["error"]["field"] == "claim_no"
    assert (await api.get(f"/claims/{theirs}"))["status"] != "withdrawn"
    unbound = await withdraw(api, mine, user="o-nobody", expect=404)
    assert unbound["error"]["field"] == "user"
    assert (await api.get(f"/claims/{mine}"))["status"] != "withdrawn"


async def test_a_decided_claim_is_not_withdrawn(api: Api, scheme: Scheme, db: Database) -> None:
    claim = await supply_all(api, await report(api, report_body(scheme, "death")))
    claim_no = str(claim["claim_no"])
    await act(api, claim_no, "reject", actor="supervisor.zhou", reasons=["猝死，属于责任免除"])
    await bind(api, db, scheme.members[0], USER)
    err = await withdraw(api, claim_no, expect=409)
    assert err["error"]["field"] == "claim_no" and "复核" in err["error"]["message"]
    assert (await api.get(f"/claims/{claim_no}"))["status"] == "rejected"
    assert steps(db, claim_no, "withdraw") == []
    # the way it points to: an appeal, whose status the customer's cases then show
    made = await api.post("/channel/appeals", {
        "channel": "wechat", "user": USER, "claim_no": claim_no, "reasons": "不是猝死，是摔倒"},
        expect=201)
    cases = await api.get(f"/bindings/wechat/{USER}/cases")
    [line] = [c["text"] for c in cases["claims"] if c["number"] == claim_no]
    assert f"复核申请 {made['appeal_no']} 已受理，正在复核，{made['due_by']} 前答复您" in line
    assert "原因：猝死，属于责任免除" in line


async def test_bad_input_names_the_field(api: Api, scheme: Scheme, db: Database) -> None:
    claim_no = await unpaid_claim(api, scheme)
    await bind(api, db, scheme.members[0], USER)
    for body, where in (({"channel": "fax"}, "channel"), ({"user": ""}, "user"),
                        ({"user": "x" * 500}, "user"), ({"reason": "长" * 600}, "reason")):
        err = await withdraw(api, claim_no, expect=400, **body)
        assert err["error"]["field"] == where, (body, err)
    err = await withdraw(api, "C2026'--", expect=400)
    assert err["error"]["field"] == "claim_no"
    for body, where in (({}, "account"), ({"account": CARD, "document_id": 1}, "account"),
                        ({"account": "6222020200112233447"}, "account"),
                        ({"account": "62220202"}, "account"), ({"account": 12}, "account"),
                        ({"document_id": "abc"}, "document_id"),
                        ({"document_id": -3}, "document_id")):
        err = await set_account(api, claim_no, expect=400, **body)
        assert err["error"]["field"] == where, (body, err)
    assert stored_account(db, claim_no) is None and steps(db, claim_no, "withdraw") == []


async def test_only_the_service_token_calls_them(api: Api, scheme: Scheme, db: Database) -> None:
    claim_no = await unpaid_claim(api, scheme)
    await bind(api, db, scheme.members[0], USER)
    for path, body in ((f"/channel/claims/{claim_no}/withdrawal", {}),
                       (f"/channel/claims/{claim_no}/bank-account", {"account": CARD})):
        full = {"channel": "wechat", "user": USER, **body}
        await api.call("POST", path, json_body=full, auth=False, expect=401)
        await api.call("POST", path, json_body=full, auth=False, expect=401,
                       headers={"Authorization": "Bearer forged-token"})
        await api.call("POST", path, json_body=full, auth=False, expect=403,
                       headers=await staff_headers(api, "supervisor.zhou"))
    assert stored_account(db, claim_no) is None
    assert (await api.get(f"/claims/{claim_no}"))["status"] != "withdrawn"


def _race(calls: list[Any]) -> list[Any]:
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


async def test_two_confirmations_at_once_take_one_step(api: Api, scheme: Scheme,
                                                       db: Database) -> None:
    withdrawn = str((await report(api, report_body(scheme)))["claim_no"])
    paid_to = await unpaid_claim(api, scheme)
    await bind(api, db, scheme.members[0], USER)
    who = {"channel": "wechat", "user": USER}
    out = _race([lambda: customer_claims.withdraw(db, {**who, "claim_no": withdrawn})
                 for _ in range(3)])
    assert sorted(o["replay"] for o in out) == [False, True, True], out
    assert steps(db, withdrawn, "withdraw") == [("withdraw", "customer")]
    out = _race([lambda: customer_claims.set_bank_account(
        db, {**who, "claim_no": paid_to, "account": TYPED}) for _ in range(3)])
    assert sorted(o["replay"] for o in out) == [False, True, True], out
    assert steps(db, paid_to, "set_bank_account") == [("set_bank_account", "customer")]


# ---- the payout bank account ---------------------------------------------------------------------

async def test_a_typed_account_is_set_masked_and_paid_to(api: Api, scheme: Scheme,
                                                         db: Database) -> None:
    claim_no = await unpaid_claim(api, scheme)
    await bind(api, db, scheme.members[0], USER)
    done = await set_account(api, claim_no, account=TYPED)
    assert done["bank_account"] == "*" * 15 + CARD[-4:] and done["replay"] is False
    assert CARD not in str(done) and stored_account(db, claim_no) == CARD
    again = await set_account(api, claim_no, account=CARD)
    assert again["replay"] is True
    # a different account: a change of a verified one is two staff members' work
    other = await set_account(api, claim_no, account=OTHER_CARD, expect=409)
    assert other["error"]["field"] == "account" and "转人工" in other["error"]["message"]
    assert stored_account(db, claim_no) == CARD
    # payment goes to it: a death claim walked to approval, then paid without naming an account
    body = report_body(scheme, "death", insured=scheme.members[0])
    del body["bank_account"]
    death = str((await report(api, body))["claim_no"])
    await act(api, death, "documents_complete", actor="adjuster.li", waive_missing=True)
    await act(api, death, "adjudicate", actor="adjuster.li", facts={"death_date": "2026-05-20"})
    await act(api, death, "approve", actor="adjuster.wang")
    err = await act(api, death, "pay", actor="adjuster.li", amount="3000.00", expect=422)
    assert err["error"]["field"] == "account"  # no verified account yet: nothing paid
    await set_account(api, death, account=TYPED)
    paid = await act(api, death, "pay", actor="adjuster.li", amount="3000.00")
    assert paid["status"] == "paid"
    [note] = [e["note"] for e in paid["timeline"] if e["action"] == "pay"]
    assert note.endswith("*" * 15 + CARD[-4:])


async def test_a_bank_card_photo_is_proposed_then_set_when_confirmed(
        api: Api, scheme: Scheme, db: Database) -> None:
    claim_no = await unpaid_claim(api, scheme)
    await bind(api, db, scheme.members[0], USER)
    sample = make_sample("bank_card", 3, variant="png")
    receipt = await upload_photo(api, claim_no, sample.image, "bank_account")
    number = sample.truth["card_number"]
    read = receipt["fields"]["card_number"]["value"]
    assert number not in str(receipt) and read.endswith(number[-4:])  # masked
    assert stored_account(db, claim_no) is None  # proposed, never set silently
    done = await set_account(api, claim_no, document_id=receipt["document_id"])
    assert done["bank_account"].endswith(number[-4:]) and stored_account(db, claim_no) == number
    # another claim's document is not this claim's
    other = await unpaid_claim(api, scheme, insured=scheme.members[0])
    err = await set_account(api, other, document_id=receipt["document_id"], expect=404)
    assert err["error"]["field"] == "document_id" and stored_account(db, other) is None

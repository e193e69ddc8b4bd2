"""Helpers of the desk tests: the seeded world, the demo staff's passwords, logging in."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from aiohttp.test_utils import TestClient

from backoffice.demo.staff import DEMO_STAFF, seed_staff
from backoffice.domain.identity import make_id_number
from backoffice.services import claims, complaints, conversations, endorsement_requests, policies
from backoffice.services.demo import seed
from backoffice.store.db import Database
from backoffice.store.files import FileStore

PASSWORDS = {username: password for username, _, _, _, password in DEMO_STAFF}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class World:
    """A seeded database: the demo staff, a claim and a complaint linked to it."""

    def __init__(self, db: Database, files: Path | None = None) -> None:
        result = seed(db, members=20, seed_value=5)
        seed_staff(db)
        self.db = db
        self.group_policy_no = result.group_policy_no
        self.members = result.sample_id_numbers
        _, claim = claims.report(db, {
            "policy_no": result.group_policy_no,
            "insured_id_number": result.sample_id_numbers[0], "claim_type": "hospital_allowance",
            "incident_date": "2026-05-20", "incident_place": "峡山街道",
            "description": "摔倒住院", "channel": "wechat",
            "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}})
        self.claim_no = claim["claim_no"]
        self.document_id = 0
        if files is not None:  # the desk's file store (var_dir/files)
            self.document_id = claims.upload_document(
                db, FileStore(files), self.claim_no, "scan.jpg", "image/jpeg",
                b"\xff\xd8\xff\xe0world-scan\xff\xd9", "other", "customer")["document_id"]
        made = complaints.intake(db, {
            "channel": "wechat", "complainant": {"name": "林小红", "phone": "13811112222"},
            "category": "claims", "description": "材料交了很久没有消息",
            "claim_no": self.claim_no})
        self.complaint_no = made["complaint_no"]
        self.openid = "oHandoffWorld0000000000000001"
        turn = conversations.user_message(db, "wechat", self.openid, "我要转人工，电话13811112222")
        conversations.bot_messages(db, turn.conversation_id, [
            {"text": "好的，正在为您转接人工客服。"},
            {"custom": {"handoff": {"reason": "user_request", "summary": {
                "text": "客户询问理赔进度，要求转人工", "intent": "human_handoff",
                "slots": {"claim_no": self.claim_no, "phone": "13811112222"},
                "claim_no": self.claim_no}}}}])
        self.conversation_id = turn.conversation_id
        self.individual_policy_no = result.individual_policies[0]
        self.request_no = endorsement_requests.submit(db, {
            "channel": "wechat", "user": "oEndorseWorld", "policy_no": self.individual_policy_no,
            "kind": "change_beneficiary",
            "details": {"beneficiaries": [{"name": "林小红", "relation": "child"}]}})["request_no"]
        self.application_no = policies.apply(db, application("陈建国", 61), "test")[
            "application_no"]


def application(name: str, seq: int, **health: bool) -> dict[str, object]:
    """A PA-GUARD application waiting for underwriting."""
    return {"product_code": "PA-GUARD",
            "insured": {"name": name, "id_number": make_id_number("440514", date(1968, 8, 8), seq),
                        "phone": "13622223333", "occupation": "司机", "occupation_class": 3},
            "coverages": [{"code": "accidental_death_disability", "sum_insured": "80000.00"}],
            "health_declarations": {"hospitalised_now": False, "disability_existing": False,
                                    "epilepsy": False, "hypertension": False, "diabetes": False,
                                    **health}}


async def login(client: TestClient, username: str, password: str) -> str:
    """Log in through the form; the session's CSRF token."""
    page = await client.get("/desk/login")
    token = CSRF.search(await page.text())
    assert token
    resp = await client.post("/desk/login", data={
        "csrf_token": token.group(1), "username": username, "password": password,
        "next": "/desk/"}, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/desk/", await resp.text()
    home = await client.get("/desk/")
    assert home.status == 200
    found = CSRF.search(await home.text())
    assert found
    return found.group(1)

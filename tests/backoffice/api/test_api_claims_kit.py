"""Shared pieces of the claims API tests: a seeded scheme on a manual clock, report bodies,
multipart uploads and small walks. (No tests here; the other test_api_claims_* use it.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import pytest
from api_testkit import PREFIX, Api

from backoffice.clock import ManualClock, manual_clock
from backoffice.domain import staff as roles
from backoffice.services import staff
from backoffice.services.base import SHANGHAI, today_cn
from backoffice.services.demo import seed
from backoffice.store.db import Database

START = datetime(2026, 6, 1, 9, 30, tzinfo=SHANGHAI)  # a Monday, no holiday near
CARD = "6222020200112233446"  # passes Luhn
OTHER_CARD = "6222020200112233453"  # passes Luhn too: not the customer's card
BOUNDARY = "----xiaobao-test-boundary-7MA4YWxk"

#: The documents of the demo scheme's product, by claim type (CN-ELDER-ACC.json).
DOCS = {
    "hospital_allowance": ["discharge_summary", "medical_invoice", "claimant_id",
                           "bank_account"],
    "death": ["death_certificate", "household_cancellation", "claimant_id",
              "relationship_proof", "bank_account"],
    "transport_death": ["death_certificate", "household_cancellation", "claimant_id",
                        "relationship_proof", "bank_account", "transport_ticket",
                        "accident_certificate"],
    "disability": ["disability_assessment", "medical_records", "claimant_id", "bank_account"],
}


@dataclass
class Scheme:
    """The demo 潮南区 scheme (50 members) and a few individual policies."""

    policy_no: str
    members: list[str]  # ID numbers of scheme members
    outsider: str  # insured of an individual policy, not on the scheme
    individual_policies: list[str]
    clock: ManualClock

    def today(self) -> date:
        return today_cn()


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    with manual_clock(START) as c:
        yield c


#: The claims staff of the tests: adjusters and supervisors (their authority differs).
CLAIMS_STAFF = {"adjuster.li": roles.CLAIMS_ADJUSTER, "adjuster.wang": roles.CLAIMS_ADJUSTER,
                "supervisor.zhou": roles.CLAIMS_SUPERVISOR,
                "supervisor.zhao": roles.CLAIMS_SUPERVISOR}
STAFF_PASSWORD = "claims-staff-password-1"  # test accounts only


@pytest.fixture
def scheme(db: Database, clock: ManualClock, api: Api) -> Scheme:
    result = seed(db, members=50, seed_value=11)
    api.client.__dict__["db"] = db  # claims staff are added when they first act
    return Scheme(policy_no=result.group_policy_no, members=result.sample_id_numbers[:3],
                  outsider=result.sample_id_numbers[3],
                  individual_policies=result.individual_policies, clock=clock)


def advance_to(clock: ManualClock, day: date) -> None:
    clock.set(datetime.combine(day, time(10, 0), SHANGHAI))


def report_body(scheme: Scheme, claim_type: str = "hospital_allowance", *,
                insured: str | None = None, incident: str = "2026-05-20",
                facts: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    default_facts: dict[str, Any] = {
        "hospital_allowance": {"admission_date": incident, "discharge_date": "2026-05-30",
                               "hospital_level": 2, "diagnosis": "右桡骨远端骨折"},
        "death": {"death_date": incident},
        "transport_death": {"death_date": incident, "transport": "motor_vehicle"},
        "disability": {"disability_levels": [8], "assessment_date": "2026-05-28"},
    }.get(claim_type, {})
    return {
        "policy_no": scheme.policy_no,
        "insured_id_number": insured or scheme.members[0],
        "claim_type": claim_type,
        "incident_date": incident,
        "incident_place": "汕头市潮南区峡山街道",
        "description": "在家中浴室滑倒受伤" if claim_type != "transport_death"
        else "乘坐公交车时发生交通事故",
        "reporter": {"name": "陈小明", "relation": "child", "phone": "13912345678"},
        "channel": "wechat",
        "facts": default_facts if facts is None else facts,
        "bank_account": CARD,  # the customer's own statement: the verified payee
        **extra,
    }


def multipart(parts: list[tuple[str, bytes, str | None]], boundary: str = BOUNDARY
              ) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body: (field name, content, file name or None) per part."""
    out = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: image/jpeg\r\n"
        out += b"\r\n" + content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def scan(doc_type: str) -> bytes:
    """A stand-in for a photographed document: a few bytes that differ per type."""
    return b"\xff\xd8\xff\xe0JFIF-" + doc_type.encode() + b"-\xff\xd9"


async def upload(api: Api, claim_no: str, doc_type: str | None, *, content: bytes | None = None,
                 filename: str = "scan.jpg", expect: int = 201) -> dict[str, Any]:
    # by default a photo of this claim's own document: another claim's would be a reuse
    own = scan(doc_type or "x") + claim_no.encode()
    parts = [("file", own if content is None else content, filename)]
    if doc_type is not None:
        parts.append(("doc_type", doc_type.encode(), None))
    data, headers = multipart(parts)
    answer: dict[str, Any] = await api.call("POST", f"/claims/{claim_no}/documents", data=data,
                                            headers=headers, expect=expect)
    return answer


async def report(api: Api, body: dict[str, Any], key: str | None = None,
                 expect: int = 201) -> dict[str, Any]:
    headers = {"Idempotency-Key": key} if key else None
    answer: dict[str, Any] = await api.call("POST", "/claims", json_body=body, headers=headers,
                                            expect=expect)
    return answer


async def staff_headers(api: Api, username: str, fresh: bool = False,
                        password: str = STAFF_PASSWORD) -> dict[str, str]:
    """A claims staff member's bearer token, signed in once per client (again when `fresh`:
    the tests move the clock past a token's lifetime)."""
    tokens: dict[str, str] = api.__dict__.setdefault("staff_tokens", {})
    db = api.client.__dict__.get("db")
    if username in CLAIMS_STAFF and db is not None and not staff.is_staff(db, username):
        staff.add(db, username, STAFF_PASSWORD, CLAIMS_STAFF[username])
    if fresh or username not in tokens:
        answer = await api.post("/auth/token", {"username": username, "password": password},
                                auth=False, expect=201)
        tokens[username] = answer["access_token"]
    return {"Authorization": f"Bearer {tokens[username]}"}


async def act(api: Api, claim_no: str, action: str, actor: str | None = None,
              expect: int = 200, **fields: Any) -> dict[str, Any]:
    """A claims staff member's step, with their own token: who acts and at which authority
    is the token's (`actor` names the staff member; by default an adjuster, or a supervisor
    for the steps only supervisors take). Four eyes: by default another adjuster approves
    than the one who adjudicates and pays."""
    if actor is None:
        adjuster = roles.may_take_claim_action(roles.CLAIMS_ADJUSTER, action)
        actor = ("adjuster.wang" if action == "approve" else "adjuster.li") if adjuster \
            else "supervisor.zhou"
    headers = await staff_headers(api, actor)
    async with api.client.get(PREFIX + "/products", headers=headers) as probe:
        if probe.status == 401:  # the clock moved past the token's lifetime
            headers = await staff_headers(api, actor, fresh=True)
    answer: dict[str, Any] = await api.call(
        "POST", f"/claims/{claim_no}/transitions", json_body={"action": action, **fields},
        headers=headers, expect=expect)
    return answer


async def supply_all(api: Api, claim: dict[str, Any]) -> dict[str, Any]:
    """Upload every missing document; the claim afterwards."""
    for item in claim["missing_documents"]:
        await upload(api, claim["claim_no"], item["type"])
    answer: dict[str, Any] = await api.get(f"/claims/{claim['claim_no']}", expect=200)
    return answer


def statuses(claim: dict[str, Any]) -> list[str]:
    """The timeline's statuses, consecutive repeats folded."""
    out: list[str] = []
    for event in claim["timeline"]:
        if not out or out[-1] != event["status"]:
            out.append(event["status"])
    return out

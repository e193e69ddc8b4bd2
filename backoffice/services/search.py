"""The desk's one search box: people, policies, claims, complaints and conversations found by
a name, an ID number, a phone number or one of our numbers, each hit with its desk page.

Every lookup is an equality or a prefix range on an indexed column (never LIKE '%…%', so `%`
and `_` are plain characters and no big table is scanned); a query shorter than MIN_LENGTH is
refused and each kind is cut at the query's limit. What a role may not see is left out, and ID
and phone numbers are masked for roles that need not see them. Looking a person up by ID or
phone number is written to the audit log (under the person, or under `search` when no one
matched).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydantic import field_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain import complaint as cp
from backoffice.domain import policy as pol
from backoffice.domain import staff as roles
from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import mask_id_number, mask_name, mask_phone
from backoffice.domain.masking import mask_text
from backoffice.domain.product import CLAIM_TYPE_NAMES
from backoffice.services.base import audit
from backoffice.services.commands import Command, Count, RowId, Text, takes
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    ChannelBinding,
    ClaimRow,
    ComplaintRow,
    Conversation,
    Party,
    PolicyRow,
    RosterMember,
)

MIN_LENGTH = 2
MAX_LIMIT = 50
KINDS = ("person", "policy", "claim", "complaint", "conversation")
KIND_NAMES = {"person": "客户", "policy": "保单", "claim": "理赔", "complaint": "投诉",
              "conversation": "会话"}
# what a role must hold to be shown each kind of hit
KIND_PERMISSION = {"person": "policies.view", "policy": "policies.view",
                   "claim": "claims.lookup", "complaint": "complaints.view",
                   "conversation": "handoff.view"}
# what a role must hold to open a hit's desk page (a claim's hit is shown to the customer
# service, who may not open the claim's page)
PAGE_PERMISSION = {"person": "desk.home", "policy": "desk.home", "claim": "claims.view",
                   "complaint": "complaints.view", "conversation": "handoff.view"}
CONVERSATION_STATE_NAMES = {"bot": "小保接待", "queued": "排队中", "agent": "人工服务中",
                            "closed": "已结束"}

_ID = re.compile(r"^\d{17}[\dX]$")
_PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_REFERENCE = re.compile(r"^[A-Z]{1,4}\d{4,26}$")
_CONVERSATION = re.compile(r"^#?(\d{1,12})$")
_NUMBER_NOISE = re.compile(r"[\s\-()]")


class SearchQuery(Command):
    """`q`: a name (or its beginning), an ID number, a phone number, a policy, claim or
    complaint number, or a conversation's number; `party`: one person's everything."""

    q: Text(100) | None = None  # type: ignore[valid-type]
    party: RowId | None = None  # type: ignore[valid-type]
    limit: Count(MAX_LIMIT) = 20  # type: ignore[valid-type]

    @field_validator("q", mode="after")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and any(unicodedata.category(ch) == "Cc" for ch in value):
            raise ValueError("含有不允许的控制字符")
        return value

    @field_validator("party", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


def classify(q: str) -> tuple[str, str]:
    """(what the query looks like, its normal form): id_number, phone, reference,
    conversation or name."""
    compact = _NUMBER_NOISE.sub("", q).upper()
    if _ID.match(compact):
        return "id_number", compact
    phone = _PHONE.match(compact)
    if phone:
        return "phone", phone.group(1).replace("-", "")
    if _REFERENCE.match(compact):
        return "reference", compact
    conv = _CONVERSATION.match(compact)
    if conv:
        return "conversation", conv.group(1)
    return "name", q.strip()


class _Finder:
    """One search: the session, who asks, and the hits so far (each kind at most `limit`)."""

    def __init__(self, s: Session, actor: str, limit: int) -> None:
        self.s = s
        self.role = getattr(actor, "role", None)
        self.pii = self.role is None or roles.sees_pii(self.role)
        self.limit = limit
        self.hits: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}

    def may(self, kind: str) -> bool:
        return self.role is None or roles.allowed(self.role, KIND_PERMISSION[kind])

    def _room(self, kind: str) -> int:
        return self.limit - len(self.hits[kind]) if self.may(kind) else 0

    def _add(self, kind: str, ref: str, hit: dict[str, Any]) -> None:
        if self._room(kind) > 0 and ref not in self.hits[kind]:
            self.hits[kind][ref] = {"kind": kind, "kind_name": KIND_NAMES[kind], "ref": ref,
                                    **hit}

    def _id(self, value: str | None) -> str | None:
        return value if self.pii or not value else mask_id_number(value)

    def _phone(self, value: str | None) -> str | None:
        return value if self.pii or not value else mask_phone(value)

    def _text(self, value: str | None) -> str | None:
        return value if self.pii or not value else mask_text(value)

    # ---- what is added ------------------------------------------------------------------

    def person(self, p: Party) -> None:
        self._add("person", str(p.id), {
            "title": p.name, "id_number": self._id(p.id_number), "phone": self._phone(p.phone),
            "status": "", "link": f"/desk/search?party={p.id}"})

    def policy(self, row: PolicyRow) -> None:
        no = row.policy_no or row.application_no
        self._add("policy", no, {
            "title": f"{row.applicant_name} · {row.product_code}",
            "status": pol.STATUS_NAMES.get(row.status, row.status),
            "link": f"/desk/search?q={no}"})

    def claim(self, row: ClaimRow) -> None:
        self._add("claim", row.claim_no, {
            "title": f"{CLAIM_TYPE_NAMES.get(row.claim_type, row.claim_type)} · "
                     f"{row.incident_date.isoformat()}",
            "status": cl.STAGE_NAMES.get(row.status, row.status),
            "phone": self._phone(row.reporter_phone), "link": f"/desk/claims/{row.claim_no}"})

    def complaint(self, row: ComplaintRow) -> None:
        self._add("complaint", row.complaint_no, {
            "title": f"{row.complainant_name if self.pii else mask_name(row.complainant_name)}"
                     f" · {cp.CATEGORY_NAMES.get(row.category, row.category)}",
            "status": cp.STATUS_NAMES.get(row.status, row.status),
            "phone": self._phone(row.complainant_phone),
            "link": f"/desk/complaints/{row.complaint_no}"})

    def conversation(self, row: Conversation) -> None:
        self._add("conversation", str(row.id), {
            "title": f"{row.channel} · {self._text(row.user_id)}",
            "status": CONVERSATION_STATE_NAMES.get(row.state, row.state),
            "phone": self._phone(row.phone), "link": f"/desk/conversations/{row.id}"})

    # ---- lookups, each on an index ----------------------------------------------------------

    def _rows(self, kind: str, stmt: Any) -> list[Any]:
        room = self._room(kind)
        return list(self.s.execute(stmt.limit(room)).scalars()) if room > 0 else []

    def everything_of(self, p: Party) -> None:
        """A person, their policies, claims, complaints and conversations."""
        self.person(p)
        for row in self._rows("policy", select(PolicyRow).where(
                PolicyRow.insured_party_id == p.id).order_by(PolicyRow.id.desc())):
            self.policy(row)
        for row in self._rows("policy", select(PolicyRow).join(
                RosterMember, RosterMember.policy_id == PolicyRow.id).where(
                RosterMember.party_id == p.id).order_by(PolicyRow.id.desc())):
            self.policy(row)
        for row in self._rows("claim", select(ClaimRow).where(
                ClaimRow.insured_party_id == p.id).order_by(ClaimRow.id.desc())):
            self.claim(row)
        if p.phone:
            self.by_phone_cases(p.phone)
        bound = self.s.execute(select(ChannelBinding.channel, ChannelBinding.user).where(
            ChannelBinding.party_id == p.id).limit(20)).tuples().all()
        if bound and self._room("conversation") > 0:
            users = {user for _, user in bound}
            for row in self._rows("conversation", select(Conversation).where(
                    Conversation.user_id.in_(users)).order_by(Conversation.id.desc())):
                if (row.channel, row.user_id) in bound:
                    self.conversation(row)

    def by_phone_cases(self, phone: str) -> None:
        """Claims reported, complaints made and conversations held from a phone number."""
        for row in self._rows("claim", select(ClaimRow).where(
                ClaimRow.reporter_phone_hash == keyed_hash("phone", phone))
                .order_by(ClaimRow.id.desc())):
            self.claim(row)
        for row in self._rows("complaint", select(ComplaintRow).where(
                ComplaintRow.complainant_phone_hash == keyed_hash("phone", phone))
                .order_by(ComplaintRow.id.desc())):
            self.complaint(row)
        for column in (Conversation.phone, Conversation.user_id):  # the caller's number
            for row in self._rows("conversation", select(Conversation).where(
                    column == phone).order_by(Conversation.id.desc())):
                self.conversation(row)

    def people(self, stmt: Any) -> list[Party]:
        return list(self.s.execute(stmt.order_by(Party.id).limit(self.limit)).scalars())

    def reference(self, no: str) -> None:
        policy = self.s.execute(select(PolicyRow).where(or_(
            PolicyRow.policy_no == no, PolicyRow.application_no == no))).scalar()
        if policy is not None:
            self.policy(policy)
            for row in self._rows("claim", select(ClaimRow).where(
                    ClaimRow.policy_id == policy.id).order_by(ClaimRow.id.desc())):
                self.claim(row)
        for row in self._rows("claim", select(ClaimRow).where(ClaimRow.claim_no == no)):
            self.claim(row)
        for row in self._rows("complaint", select(ComplaintRow).where(or_(
                ComplaintRow.complaint_no == no, ComplaintRow.claim_no == no,
                ComplaintRow.policy_no == no)).order_by(ComplaintRow.id.desc())):
            self.complaint(row)


def _run(f: _Finder, cmd: SearchQuery) -> tuple[str, list[Party]]:
    """What the query was taken for, and the people found by an ID or phone number."""
    if cmd.party is not None:
        p = f.s.get(Party, cmd.party)
        if p is not None and f.may("person"):
            f.everything_of(p)
        return "party", [p] if p is not None else []
    q = cmd.q or ""
    if len(q) < MIN_LENGTH:
        raise ValidationError("q", f"请输入至少 {MIN_LENGTH} 个字符")
    kind, value = classify(q)
    people: list[Party] = []
    if kind == "id_number":
        people = f.people(select(Party).where(
            Party.id_number_hash == keyed_hash("id_number", value)))
    elif kind == "phone":
        people = f.people(select(Party).where(Party.phone_hash == keyed_hash("phone", value)))
        f.by_phone_cases(value)
    elif kind == "reference":
        f.reference(value)
    elif kind == "conversation":
        row = f.s.get(Conversation, int(value))
        if row is not None:
            f.conversation(row)
    else:  # a name, exactly or its beginning: a range on the name's index
        people = f.people(select(Party).where(Party.name >= value,
                                              Party.name < value + "\U0010ffff"))
        people = [p for p in people if p.name.startswith(value)]
    if f.may("person"):
        for p in people:
            f.everything_of(p)
    return kind, people


def _audit(s: Session, actor: str, kind: str, q: str, people: list[Party], hits: int) -> None:
    """Who looked a person up by ID or phone number (or opened their search page)."""
    if kind not in ("id_number", "phone", "party"):
        return
    shown = mask_id_number(q) if kind == "id_number" else mask_phone(q) if kind == "phone" else q
    after = {"by": kind, "query": shown, "hits": hits}
    for p in people[:MAX_LIMIT]:
        audit(s, actor, "party", str(p.id), "searched", after=after)
    if not people:
        audit(s, actor, "search", kind, "searched", after=after)


@takes(SearchQuery)
def search(db: Database, cmd: SearchQuery, actor: str) -> dict[str, Any]:
    """The hits by kind (people, policies, claims, complaints, conversations), each with its
    desk page; `items` all of them in that order."""
    with db.transaction() as s:
        finder = _Finder(s, actor, cmd.limit)
        kind, people = _run(finder, cmd)
        items = [hit for k in KINDS for hit in finder.hits[k].values()]
        shown_q = cmd.q if cmd.party is None else str(cmd.party)
        _audit(s, str(actor), kind, classify(cmd.q)[1] if cmd.q and kind != "party" else
               shown_q or "", people, len(items))
    if not finder.pii and kind in ("id_number", "phone"):
        shown_q = mask_id_number(shown_q or "") if kind == "id_number" else mask_phone(
            classify(shown_q or "")[1])
    return {"query": shown_q, "taken_as": kind, "items": items,
            "counts": {k: len(finder.hits[k]) for k in KINDS}}

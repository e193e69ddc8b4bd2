"""Separate consent to sensitive personal information in the chat (个人信息保护法 第二十九条):
the bot shows the short notice, and records the customer's decision — given, refused or
withdrawn — with the notice's version and the SHA-256 of the text it showed.

The notice texts are settings: `backoffice/domain/consent_notice.json`, overridden key by key
by the operator's JSON file named by XIAOBAO_CONSENT_NOTICE_FILE; the chat text's
`{privacy_url}` becomes XIAOBAO_PRIVACY_URL (the platform's public `/privacy` page).

A decision must name the notice version in force and the hash of one of its texts (written or
spoken): a hash of anything else is refused, so a record always proves what was shown. The
channel user's binding, when there is one, gives the party. Each decision is one row (the
history is kept) and one audit entry; the latest decision counts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain import consent as cs
from backoffice.domain.errors import NotFound, ValidationError
from backoffice.services import bindings
from backoffice.services.base import audit
from backoffice.services.commands import Command, IdNumber, OneOf, Text, takes
from backoffice.services.parties import find_party
from backoffice.store.db import Database
from backoffice.store.models import ConsentRecord, Party

DEFAULT_PRIVACY_URL = "http://127.0.0.1:8000/privacy"
SHA256_LENGTH = 64
HISTORY = 50  # decisions shown to staff, newest first


def load_notice(path: str | None = None) -> cs.Notice:
    """The packaged notice, overridden key by key by XIAOBAO_CONSENT_NOTICE_FILE (or `path`),
    with the link to the full notice filled in."""
    path = os.environ.get("XIAOBAO_CONSENT_NOTICE_FILE", "") if path is None else path
    notice = cs.packaged()
    if path:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("XIAOBAO_CONSENT_NOTICE_FILE: a JSON object of texts")
        notice = cs.notice_from(raw, notice)
    url = os.environ.get("XIAOBAO_PRIVACY_URL", "").strip() or DEFAULT_PRIVACY_URL
    return notice.with_link(url[:300])


class NoticeRequest(Command):
    channel: OneOf(bindings.CHANNELS) = "wechat"


class ChannelUser(Command):
    channel: OneOf(bindings.CHANNELS)
    user: Text(128, blank_ok=False)


def _sha256(value: Any, field: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if len(text) != SHA256_LENGTH or any(c not in "0123456789abcdef" for c in text):
        raise ValidationError(field or "notice_sha256", "notice_sha256 须为64位十六进制 SHA-256")
    return text


class ConsentDecision(ChannelUser):
    """The channel user's decision on the notice they were shown (its version and hash)."""

    decision: OneOf(cs.DECISIONS)
    notice_version: Text(40, blank_ok=False)
    notice_sha256: Text(64, blank_ok=False)


@takes(NoticeRequest)
def notice(db: Database, cmd: NoticeRequest, actor: str = "bot") -> dict[str, Any]:
    """GET /channel/consent-notice: the texts to show, the version and the hashes to name."""
    n = load_notice()
    voice = cmd.channel == "ivr"
    text = n.text(voice)
    return {"version": n.version, "channel": cmd.channel, "text": text,
            "sha256": cs.sha256(text),
            "family_text": n.family_voice if voice else n.family,
            "refused_text": n.refused, "withdrawn_text": n.withdrawn}


def _latest(s: Session, channel: str, user: str) -> ConsentRecord | None:
    return s.execute(select(ConsentRecord).where(
        ConsentRecord.channel == channel, ConsentRecord.channel_user == user)
        .order_by(ConsentRecord.id.desc()).limit(1)).scalar()


def _view(row: ConsentRecord | None, channel: str, user: str) -> dict[str, Any]:
    if row is None:
        return {"channel": channel, "user": user, "decision": None, "consent_given": False,
                "notice_version": None, "notice_sha256": None, "decided_at": None}
    return {"channel": row.channel, "user": row.channel_user, "decision": row.decision,
            "consent_given": row.decision == cs.GIVEN, "notice_version": row.notice_version,
            "notice_sha256": row.notice_sha256, "decided_at": row.decided_at.isoformat()}


@takes(ChannelUser)
def current(db: Database, cmd: ChannelUser, actor: str = "bot") -> dict[str, Any]:
    """GET /channel/consents/{channel}/{user}: the decision that counts (none: `decision` null)."""
    with db.read() as s:
        return _view(_latest(s, cmd.channel, cmd.user), cmd.channel, cmd.user)


@takes(ConsentDecision)
def record(db: Database, cmd: ConsentDecision, actor: str = "bot") -> dict[str, Any]:
    """POST /channel/consents: one decision. Given or refused must name the version in force
    and the hash of a text of it; a withdrawal names what the person withdraws from (the
    version and hash of their consent, or the current notice's)."""
    digest = _sha256(cmd.notice_sha256, "notice_sha256")
    n = load_notice()
    with db.transaction() as s:
        before = _latest(s, cmd.channel, cmd.user)
        if cmd.decision == cs.WITHDRAWN and before is not None and before.decision == cs.GIVEN:
            known = {before.notice_version: {before.notice_sha256}}
        else:
            known = {}
        known.setdefault(n.version, set()).update(n.digests())
        if cmd.notice_version not in known:
            raise ValidationError("notice_version", f"notice_version 须为现行告知版本 {n.version}")
        if digest not in known[cmd.notice_version]:
            raise ValidationError("notice_sha256", "notice_sha256 与该版本告知文本不符")
        party = bindings.bound_party(s, cmd.channel, cmd.user)
        row = ConsentRecord(channel=cmd.channel, channel_user=cmd.user,
                            party_id=party.id if party is not None else None,
                            notice_version=cmd.notice_version, notice_sha256=digest,
                            decision=cmd.decision)
        s.add(row)
        s.flush()
        audit(s, actor, "consent", str(row.id), f"consent.{cmd.decision}",
              _view(before, cmd.channel, cmd.user) if before else None,
              {"channel": cmd.channel, "decision": cmd.decision,
               "notice_version": cmd.notice_version,
               "party_id": row.party_id})
        return _view(row, cmd.channel, cmd.user)


class PartyConsents(Command):
    id_number: IdNumber


@takes(PartyConsents)
def of_party(db: Database, cmd: PartyConsents, actor: Any = None) -> dict[str, Any]:
    """GET /parties/{id_number}/consents: the person's decisions, newest first (those of a
    channel user while or before it was bound to them)."""
    with db.read() as s:
        party = find_party(s, cmd.id_number)
        if party is None:
            raise NotFound("没有此身份证号码的客户", "id_number")
        return {"items": history(s, party)}


def history(s: Session, party: Party) -> list[dict[str, Any]]:
    rows = s.execute(select(ConsentRecord).where(ConsentRecord.party_id == party.id)
                     .order_by(ConsentRecord.id.desc()).limit(HISTORY)).scalars()
    return [{**_view(r, r.channel, r.channel_user),
             "decision_name": cs.DECISION_NAMES[r.decision]} for r in rows]

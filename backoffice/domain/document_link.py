"""Links to a policy's electronic document: a capability the customer may share, signed over
the policy number, an expiry and the policy's revocation counter (revoking bumps it, so every
earlier link stops working while a new one opens)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta

LINK_LIFETIME = timedelta(days=30)
INVALID = "链接无效"
EXPIRED = "链接已过期，请重新获取"
REVOKED = "链接已被撤销，请重新获取"


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"policy-document:" + secret.encode()).digest()


def signature(secret: str, policy_no: str, expires: int, revision: int) -> str:
    data = f"{policy_no}\n{expires}\n{revision}".encode()
    return hmac.new(_key(secret), data, hashlib.sha256).hexdigest()[:32]


def link(secret: str, policy_no: str, revision: int, now: datetime,
         lifetime: timedelta = LINK_LIFETIME) -> str:
    expires = int((now + lifetime).timestamp())
    sig = signature(secret, policy_no, expires, revision)
    return f"/documents/policies/{policy_no}?exp={expires}&v={revision}&sig={sig}"


def refusal(secret: str, policy_no: str, query: Mapping[str, str], revision: int | None,
            now: datetime) -> str | None:
    """None when the link opens; else why not. `revision` is the policy's counter, None for
    a policy that does not exist (refused as invalid: a link says nothing about others)."""
    exp, v, sig = query.get("exp", ""), query.get("v", ""), query.get("sig", "")
    if not (exp.isascii() and exp.isdigit() and v.isascii() and v.isdigit()
            and len(exp) <= 12 and len(v) <= 9):
        return INVALID
    expected = signature(secret, policy_no, int(exp), int(v))
    if revision is None or not hmac.compare_digest(sig.encode(), expected.encode()):
        return INVALID
    if int(v) != revision:
        return REVOKED
    if now.timestamp() >= int(exp):
        return EXPIRED
    return None

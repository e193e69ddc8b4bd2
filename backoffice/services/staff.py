"""Staff accounts and desk sessions.

Passwords are kept as argon2id hashes with argon2-cffi's recommended parameters (RFC 9106's
low-memory profile). Hashes from before (scrypt, n=2^14, r=8, p=1) still verify and are replaced
by argon2id at the next successful sign-in, desk or API. XIAOBAO_CHEAP_PASSWORD_HASHES=1 (tests
only) hashes with argon2's cheapest parameters so a suite that creates many staff stays fast.
A login creates a server-side session: the browser holds a random token in a cookie, the table
only its SHA-256, with a CSRF token for the session's forms. Sessions expire after a fixed
lifetime and after a spell of inactivity; logging out deletes the row.

The API has its own sign-in (`issue_api_token`): the same accounts and KDF, a bearer token that
expires after a configurable lifetime (the table keeps only its SHA-256), revoked on sign-out,
and the same limits on guessing as the desk.

Guessing is limited per source address and per account *at that address*, with delays that
grow per failure (backoffice.domain.limits), never a lock shared by everyone: a stranger's wrong
passwords slow down the stranger's address only, and the right password from anywhere else
still works. There is deliberately no limit per account across all addresses: whatever it were,
a crowd of addresses could use it to keep the administrator out; a spread-out guesser is held
back by the per-address limit at every address and by the cost of the KDF. Unknown usernames
are counted exactly like known ones, so the answer says nothing about who exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backoffice.domain import staff as roles
from backoffice.domain.errors import Conflict, NotFound, Throttled, ValidationError
from backoffice.domain.identity import parse_phone
from backoffice.domain.limits import Limit, source_key, wait_seconds, wait_text
from backoffice.domain.party import parse_name
from backoffice.services import limits
from backoffice.services.base import audit
from backoffice.store.db import Database
from backoffice.store.models import (
    ApiToken,
    StaffRow,
    StaffSession,
    utcnow,
)

SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(minutes=60)
API_TOKEN_LIFETIME = timedelta(hours=8)
# an account tried from one address: 5 tries, then 1 min, 2, 4, … up to 15 min between tries
ACCOUNT_LIMIT = Limit("login.account", free=5, first_delay=timedelta(minutes=1),
                      cap=timedelta(minutes=15), forget=timedelta(hours=1))
# one address, whatever accounts it tries: looser, since an office may sign in behind one NAT
SOURCE_LIMIT = Limit("login.source", free=10, first_delay=timedelta(seconds=30),
                     cap=timedelta(minutes=15), forget=timedelta(hours=1))


@cache
def _hasher() -> PasswordHasher:
    if os.environ.get("XIAOBAO_CHEAP_PASSWORD_HASHES") == "1":
        return PasswordHasher.from_parameters(CHEAPEST)
    return PasswordHasher()  # argon2-cffi's defaults: RFC 9106 low-memory argon2id


@cache
def _dummy() -> str:
    """A hash to compare against when the user does not exist, so both cases take the same
    time."""
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, stored: str) -> bool:
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True for a hash of an older scheme or with other parameters than today's."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _verify_scrypt(password: str, stored: str) -> bool:
    """The scheme before argon2id: `scrypt$n$r$p$salt$key`, base64."""
    try:
        _scheme, n, r, p, salt, key = stored.split("$")
        expected = base64.b64decode(key)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


@dataclass(frozen=True)
class StaffUser:
    """The logged-in person, as the desk sees them."""

    id: int
    username: str
    display_name: str
    role: str
    csrf_token: str

    @property
    def role_name(self) -> str:
        return roles.ROLE_NAMES[self.role]

    def may(self, permission: str) -> bool:
        return roles.allowed(self.role, permission)


def add(db: Database, username: str, password: str, role: str, display_name: str | None = None,
        phone: str | None = None, actor: str = "admin") -> dict[str, Any]:
    username = roles.check_username(username)
    roles.check_password(password)
    role = roles.check_role(role)
    name = parse_name(display_name, "display_name") if display_name else username
    phone = parse_phone(phone) if phone else None
    with db.transaction() as s:
        if s.execute(select(StaffRow.id).where(StaffRow.username == username)).first():
            raise Conflict(f"用户名 {username} 已存在", "username")
        row = StaffRow(username=username, display_name=name, role=role, phone=phone,
                       password_hash=hash_password(password))
        s.add(row)
        audit(s, actor, "staff", username, "add", None, {"role": role})
        s.flush()
        return view(row)


def set_password(db: Database, username: str, password: str, actor: str = "admin") -> None:
    roles.check_password(password)
    with db.transaction() as s:
        row = s.execute(select(StaffRow).where(StaffRow.username == username)).scalar()
        if row is None:
            raise NotFound(f"用户 {username} 不存在", "username")
        row.password_hash = hash_password(password)
        _end_logins(s, row.id)
        audit(s, actor, "staff", username, "set_password")


def set_active(db: Database, username: str, active: bool, actor: str = "admin") -> None:
    """Enable or disable an account; disabling ends its desk sessions and API tokens."""
    with db.transaction() as s:
        row = s.execute(select(StaffRow).where(StaffRow.username == username)).scalar()
        if row is None:
            raise NotFound(f"用户 {username} 不存在", "username")
        row.active = active
        if not active:
            _end_logins(s, row.id)
        audit(s, actor, "staff", username, "enable" if active else "disable")


def _end_logins(s: Session, staff_id: int) -> None:
    s.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    s.execute(delete(ApiToken).where(ApiToken.staff_id == staff_id))


def view(row: StaffRow) -> dict[str, Any]:
    return {"username": row.username, "display_name": row.display_name, "role": row.role,
            "role_name": roles.ROLE_NAMES.get(row.role, row.role), "active": row.active,
            "phone": row.phone}


def list_staff(db: Database, role: str | None = None) -> list[dict[str, Any]]:
    with db.read() as s:
        stmt = select(StaffRow).order_by(StaffRow.role, StaffRow.username)
        if role:
            stmt = stmt.where(StaffRow.role == role)
        return [view(r) for r in s.execute(stmt).scalars()]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TooManyLogins(Throttled):
    code = "too_many_attempts"


def login(db: Database, username: str, password: str,
          source: str | None = None) -> tuple[str, StaffUser] | None:
    """A new session token and the user, or None (the same answer for any wrong part).
    `source` is the request's remote address. Too many failures → TooManyLogins."""
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    name = username.strip()[:40]
    keys = _reserve(db, name, source)
    with db.transaction() as s:
        row = _signed_in(s, name, password, keys, "login_failed")
        if row is None:
            return None
        now = utcnow()
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        s.add(StaffSession(token_hash=_digest(token), staff_id=row.id, csrf_token=csrf,
                           created_at=now, expires_at=now + SESSION_LIFETIME, last_seen_at=now))
        row.last_login_at = now
        audit(s, row.username, "staff", row.username, "login")
        return token, StaffUser(row.id, row.username, row.display_name, row.role, csrf)


def _reserve(db: Database, name: str, source: str | None) -> list[limits.Key]:
    """Count this try before the password is looked at (its own short transaction, so that
    concurrent guesses are all counted), or refuse it while the address or the account at this
    address waits out its delay. The desk and the API count together."""
    address = source_key(source)
    keys = [limits.key(SOURCE_LIMIT, address), limits.key(ACCOUNT_LIMIT, name, address)]
    try:
        with db.transaction() as s:
            limits.reserve(s, keys)
    except limits.Blocked as blocked:
        raise TooManyLogins(f"登录尝试过于频繁，请 {wait_text(blocked.until, blocked.now)}后再试",
                            "username", wait_seconds(blocked.until, blocked.now)) from None
    return keys


def _signed_in(s: Session, name: str, password: str, keys: list[limits.Key],
               failed: str) -> StaffRow | None:
    """The active staff member whose password this is, or None (audited as `failed`; the try
    stays counted). Right: the account's count at this address is cleared and the address's
    count given back."""
    row = s.execute(select(StaffRow).where(StaffRow.username == name)).scalar()
    ok = len(password) <= 200 and verify_password(
        password, row.password_hash if row else _dummy())
    if row is None or not ok or not row.active:
        audit(s, name or "-", "staff", name or "-", failed)
        return None
    source, account = keys
    limits.release(s, [source])
    limits.clear(s, [account])
    if needs_rehash(row.password_hash):  # the password is at hand only now
        row.password_hash = hash_password(password)
        audit(s, row.username, "staff", row.username, "rehash_password")
    return row


def session_user(db: Database, token: str | None) -> StaffUser | None:
    """The user of a live session; an expired or idle session is deleted and answers None."""
    if not token or len(token) > 100:
        return None
    with db.transaction() as s:
        sess = s.get(StaffSession, _digest(token))
        if sess is None:
            return None
        now = utcnow()
        if now >= sess.expires_at or now - sess.last_seen_at > SESSION_IDLE:
            s.delete(sess)
            return None
        row = s.get(StaffRow, sess.staff_id)
        if row is None or not row.active:
            s.delete(sess)
            return None
        sess.last_seen_at = now
        return StaffUser(row.id, row.username, row.display_name, row.role, sess.csrf_token)


def logout(db: Database, token: str | None) -> None:
    if token:
        with db.transaction() as s:
            s.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))


def purge_sessions(db: Database) -> int:
    with db.transaction() as s:
        result = s.execute(delete(StaffSession).where(StaffSession.expires_at <= utcnow()))
        return int(getattr(result, "rowcount", 0) or 0)


def is_staff(db: Database, username: str, role: str | None = None) -> bool:
    with db.read() as s:
        row = s.execute(select(StaffRow).where(StaffRow.username == username)).scalar()
    return row is not None and row.active and (role is None or row.role == role)


def require_known(db: Database, username: str) -> None:
    if not is_staff(db, username):
        raise ValidationError("username", f"没有名为 {username} 的工作人员")


# ---- API bearer tokens -------------------------------------------------------------------

@dataclass(frozen=True)
class ApiGrant:
    token: str
    expires_at: datetime
    user: StaffUser


def issue_api_token(db: Database, username: object, password: object,
                    lifetime: timedelta = API_TOKEN_LIFETIME,
                    source: str | None = None) -> ApiGrant | None:
    """A new API token for a staff member, or None: the same answer for an unknown user, a
    wrong password and a disabled account. `source` is the request's remote address; too
    many failures from it → TooManyLogins."""
    if not isinstance(username, str) or not username.strip():
        raise ValidationError("username", "请提供用户名 username")
    if not isinstance(password, str) or not password:
        raise ValidationError("password", "请提供密码 password")
    name = username.strip()[:40]
    keys = _reserve(db, name, source)
    with db.transaction() as s:
        row = _signed_in(s, name, password, keys, "api_login_failed")
        if row is None:
            return None
        now = utcnow()
        token = "xbs_" + secrets.token_urlsafe(32)
        expires = now + lifetime
        s.add(ApiToken(token_hash=_digest(token), staff_id=row.id, created_at=now,
                       expires_at=expires))
        row.last_login_at = now
        audit(s, row.username, "staff", row.username, "api_login")
        return ApiGrant(token, expires, StaffUser(row.id, row.username, row.display_name,
                                                  row.role, ""))


def api_token_user(db: Database, token: str) -> StaffUser | None:
    """The staff member of a live API token; an expired token is deleted and answers None,
    as does one whose account was disabled."""
    if not token.startswith("xbs_") or len(token) > 100 or not token.isascii():
        return None
    with db.transaction() as s:
        grant = s.get(ApiToken, _digest(token))
        if grant is None:
            return None
        if utcnow() >= grant.expires_at:
            s.delete(grant)
            return None
        row = s.get(StaffRow, grant.staff_id)
        if row is None or not row.active:
            s.delete(grant)
            return None
        return StaffUser(row.id, row.username, row.display_name, row.role, "")


def revoke_api_token(db: Database, token: str, actor: str) -> bool:
    with db.transaction() as s:
        result = s.execute(delete(ApiToken).where(ApiToken.token_hash == _digest(token)))
        if getattr(result, "rowcount", 0):
            audit(s, actor, "staff", actor, "api_logout")
            return True
        return False


def purge_api_tokens(db: Database) -> int:
    """Expired tokens and aged-out failed sign-ins (their rows serve no purpose any more)."""
    with db.transaction() as s:
        now = utcnow()
        result = s.execute(delete(ApiToken).where(ApiToken.expires_at <= now))
        limits.purge(s, now - max(ACCOUNT_LIMIT.forget, SOURCE_LIMIT.forget))
        return int(getattr(result, "rowcount", 0) or 0)

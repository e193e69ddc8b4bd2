"""Requests of the data subject (个人信息主体请求: 查阅、复制、更正、删除, PIPL Art. 44–47).
Pure: dates, actors and settings are passed in.

A person asks to see (access), to get a copy of (copy), to correct (correction) or to delete
(deletion) what the platform holds about them, at an outlet, on the phone, in the chat or by
letter. Staff check who they are as the channels do (the ID number plus the phone on file or
one of their policy numbers), or an outlet clerk records that they saw the ID card. The request
is `received`, then `in_progress` with its handler, then `done` or `refused` with the reason
told to the person. The answer is due 15 working days after receipt (the project's promise,
within PIPL Art. 50's "及时"; the PRC working-day calendar).

The export of an access or copy request is delivered through a link signed with HMAC-SHA256
over the request, its expiry and the link's revision; the link is the credential, so it says
nothing about other requests and a tampered one is refused before anything is read.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from backoffice.domain.calendar import CN_CALENDAR, WorkingCalendar
from backoffice.domain.clocks import Deadline, day_clock_text
from backoffice.domain.errors import IllegalTransition, ValidationError

KINDS = ("access", "copy", "correction", "deletion")
KIND_NAMES = {"access": "查阅", "copy": "复制", "correction": "更正", "deletion": "删除"}
CHANNELS = ("outlet", "phone", "chat", "letter")
CHANNEL_NAMES = {"outlet": "服务网点", "phone": "电话", "chat": "在线咨询", "letter": "信函"}
RECEIVED, IN_PROGRESS, DONE, REFUSED = "received", "in_progress", "done", "refused"
STATUSES = (RECEIVED, IN_PROGRESS, DONE, REFUSED)
STATUS_NAMES = {RECEIVED: "已受理", IN_PROGRESS: "处理中", DONE: "已办结", REFUSED: "不予办理"}
OPEN = (RECEIVED, IN_PROGRESS)
# how identity was checked: the channels' rule (phone on file, own policy number) or, at an
# outlet, the ID card seen by the clerk (the name must match it)
VERIFICATIONS = ("phone", "policy_no", "id_card_seen")
VERIFICATION_NAMES = {"phone": "身份证号＋预留手机号一致", "policy_no": "身份证号＋本人保单号一致",
                      "id_card_seen": "柜员已核验身份证原件"}
# step → (from statuses, to status)
STEPS: dict[str, tuple[tuple[str, ...], str]] = {
    "start": ((RECEIVED,), IN_PROGRESS),
    "complete": ((IN_PROGRESS,), DONE),
    "refuse": (OPEN, REFUSED),
    "renew_link": ((DONE,), DONE),
}
ACTIONS = tuple(STEPS)
WORKING_DAYS = 15
MAX_TEXT = 2000
LINK_LIFETIME = timedelta(days=7)
DEFAULT_ARCHIVE_YEARS = 5
INVALID = "链接无效"
EXPIRED = "链接已过期，请联系客服重新获取"


def archive_years(raw: str | None) -> int:
    """The claims archive's years after close (XIAOBAO_CLAIMS_ARCHIVE_YEARS): 1–30, else 5."""
    try:
        n = int(raw or "")
    except ValueError:
        return DEFAULT_ARCHIVE_YEARS
    return n if 1 <= n <= 30 else DEFAULT_ARCHIVE_YEARS


def link_days(raw: str | None) -> int:
    """How long an export link opens (XIAOBAO_PRIVACY_EXPORT_LINK_DAYS): 1–30, else 7."""
    try:
        n = int(raw or "")
    except ValueError:
        return LINK_LIFETIME.days
    return n if 1 <= n <= 30 else LINK_LIFETIME.days


def check_text(value: object, field: str, required: bool) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    if required and not any(ch.isprintable() and not ch.isspace() for ch in text):
        raise ValidationError(field, "请填写此项")
    if len(text) > MAX_TEXT:
        raise ValidationError(field, f"不超过 {MAX_TEXT} 字")
    return text or None


def next_status(status: str, action: str) -> str:
    """The status a step leads to, or IllegalTransition naming the steps allowed."""
    if action not in STEPS:
        raise ValidationError("action", f"action 须为 {', '.join(ACTIONS)} 之一")
    sources, target = STEPS[action]
    if status not in sources:
        raise IllegalTransition("个人信息请求", status, action, allowed_actions(status))
    return target


def allowed_actions(status: str, kind: str = "") -> tuple[str, ...]:
    found = tuple(a for a, (src, _) in STEPS.items() if status in src)
    if kind not in ("access", "copy"):
        found = tuple(a for a in found if a != "renew_link")
    return found


def due_date(received_on: date, calendar: WorkingCalendar = CN_CALENDAR) -> date:
    """15 working days after receipt: the day of receipt is not counted."""
    return calendar.add_working_days(received_on, WORKING_DAYS)


def deadline(due: date, today: date, done_on: date | None = None) -> Deadline:
    basis = f"受理后{WORKING_DAYS}个工作日内答复（个人信息保护法第50条，服务承诺）"
    if done_on is not None:
        return Deadline("privacy_request", due, done_on > due, False, basis, done_on)
    return Deadline("privacy_request", due, today > due, False, basis, None)


def clock_text(d: Deadline, today: date) -> str:
    return day_clock_text(d, today)


# ---- the export's signed link -----------------------------------------------------------------

def _key(secret: str) -> bytes:
    # a key of its own, derived from the installation's secret: a policy-document signature
    # never opens an export
    return hashlib.sha256(b"privacy-export:" + secret.encode()).digest()


def signature(secret: str, request_no: str, expires: int, revision: int) -> str:
    data = f"{request_no}\n{expires}\n{revision}".encode()
    return hmac.new(_key(secret), data, hashlib.sha256).hexdigest()


def link(secret: str, request_no: str, revision: int, expires: datetime) -> str:
    exp = int(expires.timestamp())
    sig = signature(secret, request_no, exp, revision)
    return f"/privacy-exports/{request_no}?exp={exp}&v={revision}&sig={sig}"


def link_refusal(secret: str, request_no: str, query: Mapping[str, str],
                 revision: int | None, now: datetime) -> tuple[int, str] | None:
    """None when the link opens; else (403, why) for a link that is not ours — tampered,
    another revision, a request that does not exist or has no export — or (410, why) for an
    authentic one past its expiry."""
    exp, v, sig = query.get("exp", ""), query.get("v", ""), query.get("sig", "")
    if not (exp.isascii() and exp.isdigit() and v.isascii() and v.isdigit()
            and len(exp) <= 12 and len(v) <= 9 and len(sig) <= 128):
        return 403, INVALID
    expected = signature(secret, request_no, int(exp), int(v))
    if revision is None or not hmac.compare_digest(sig.encode(), expected.encode()):
        return 403, INVALID
    if int(v) != revision:
        return 403, INVALID
    if now.timestamp() >= int(exp):
        return 410, EXPIRED
    return None


def retention_text(claims: list[tuple[str, date | None]], years: int, today: date) -> str:
    """What a deletion keeps and until when: a claim's records stay in the insurer's archive
    for `years` after it closes (an open claim: until `years` after it will close), the access
    log 3 years; everything else is deleted."""
    lines = ["删除范围：聊天记录、会话转写、上门服务、回访与满意度、渠道绑定，以及与理赔无关的"
             "个人信息，由保留期限任务删除。"]
    for claim_no, closed_on in claims:
        if closed_on is None:
            lines.append(f"保留：赔案 {claim_no} 的理赔档案（尚未结案，结案后保留 {years} 年）。")
        else:
            until = _add_years(closed_on, years)
            lines.append(f"保留：赔案 {claim_no} 的理赔档案，保留至 {until}"
                         f"（结案后 {years} 年，保险档案管理要求）。")
    lines.append("保留：员工查看您个人信息的访问记录，自记录之日起保留 3 年（法定审计要求）。")
    if not claims:
        lines.append(f"您名下无理赔案件（截至 {today}）。")
    return "\n".join(lines)


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)

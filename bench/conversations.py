"""Whole conversations, held out: each one played through the platform's real channel doors
against the real bot, then its expected end state checked in the back office and the replies.

The conversations are YAML files under data/eval/conversations/ (one per journey group; none
of them is training data). Each names its channel (`web`: POST /chat/messages with a session
credential; `wechat`: signed XML pushes to /wechat, answered passively; `ivr`: signed JSON
events to /ivr/events), the demo customer it plays (`customer: N`, the N-th member of the
seeded scheme roster), what the back office holds before (`setup`), the user's turns, and what
a person would expect at the end (`expect`). The format is described in
data/eval/conversations/README.md.

The stack is started once per run on a fresh temporary SQLite database with the demo seed:
`xiaobao serve` (back office and channels), the action server and Rasa with the trained model
(the model matching the training data, or `--model`). Conversations run one after another,
each on its own customer; what a conversation created is what appeared in the database while
it ran.

Usage: .venv/bin/python -m bench.conversations [--only NAME] [--json] [--model PATH] [--dir DIR]
`--dir data/dev/conversations` plays the development set instead: conversations written to
develop the bot against, whose failures and transcripts are for reading (the held-out set's
are not: it gives the figure only).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backoffice.domain import consent  # noqa: E402
from backoffice.services import satisfaction  # noqa: E402
from backoffice.store.db import Database  # noqa: E402
from backoffice.store.fieldseal import keyed_hash  # noqa: E402
from backoffice.store.models import (  # noqa: E402
    AppealRow,
    ClaimRow,
    ComplaintRow,
    Conversation,
    HomeVisit,
    Party,
    PolicyRow,
    RosterMember,
    SatisfactionRow,
)
from bench.common import field_keys_for_run  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONVERSATIONS = ROOT / "data" / "eval" / "conversations"
CHANNELS = ("web", "wechat", "ivr")
WECHAT_TOKEN = "bench-wechat-token"
WECHAT_APPID = "wxbenchappid"
IVR_SECRET = "bench-ivr-secret"
TOKEN = "bench-conversations-token"
RASA_TOKEN = "bench-conversations-rasa"
XIAOBAO = Path(sys.executable).parent / "xiaobao"
MEMBERS = 90  # the seeded roster: more members than conversations, each its own customer
SEED = 16

# What the bot's question is about, read from its last line (first match wins: the more
# specific words first). A person answers what is asked; the topics are theirs, not the bot's.
TOPICS: list[tuple[str, tuple[str, ...]]] = [
    ("confirm", ("对吗", "对不对", "是否正确", "确认一下", "没问题吗", "确认无误", "请确认",
                 "提交吗", "“是”或“不是”")),
    ("id_last6", ("后6位", "后六位", "最后6位", "最后六位")),
    ("second_factor", ("手机号码或保单号", "手机号或保单号", "保单号或手机")),
    ("id_number", ("身份证",)),
    ("relation", ("本人", "家人", "什么关系", "您是他", "您是她", "哪位家人")),
    ("claim_type", ("哪一种", "哪一类", "理赔类型", "属于哪", "哪种情况")),
    ("rating", ("打分", "评分", "满意")),
    ("police", ("报警", "报案回执", "交警")),
    ("bank", ("银行", "卡号", "账户", "账号")),  # before photos: "…卡号，也可以拍一张银行卡照片"
    ("photos", ("照片", "相片", "拍")),
    ("ticket", ("车票", "船票", "机票", "票据")),
    ("reasons", ("复核的理由", "理由", "为什么不同意", "哪里不同意", "原因")),
    ("category", ("哪方面", "哪一方面", "什么方面")),
    ("wish", ("怎么处理", "希望", "诉求")),
    ("address", ("地址", "住在哪")),
    ("date", ("哪天", "哪一天", "什么时候", "日期", "几号", "时间")),
    ("hospital", ("医院", "就诊", "住院")),
    ("story", ("经过", "怎么回事", "怎么发生", "发生了什么", "怎么摔", "怎么出")),
    ("injury", ("伤得", "受伤", "伤情", "伤到", "哪里伤")),
    ("place", ("什么地方", "在哪里", "在哪儿", "地点", "哪里")),
    ("name", ("称呼", "姓名", "名字", "叫什么")),
    ("phone", ("电话", "手机", "联系方式", "号码")),
]
MAX_ANSWERS = 3  # the same topic answered at most this often in one answer block
MAX_SAME_QUESTION = 3  # issue 16: no form asks the same question more than three times

CN_DIGITS = "零一二三四五六七八九"


def is_question(line: str) -> bool:
    """A question or a request ("请提供…"), not a statement such as a claim listed with the
    documents it waits for ("…申请人身份证明…") or a hint ("可以直接拍照发给我")."""
    if line.lstrip().startswith(("·", "-", "•")):
        return False
    return "？" in line or "?" in line or re.search(r"(^|[，。；！：\s])请", line) is not None


def topic_of(question: str) -> str | None:
    if not is_question(question):
        return None
    for topic, words in TOPICS:
        if any(w in question for w in words):
            return topic
    return None


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def joined_digits(text: str) -> str:
    """The phone reads long numbers digit by digit ("R 2 0 2 6…"): joined again for checks."""
    return re.sub(r"(?<=[0-9A-Z]) (?=[0-9A-Z])", "", text)


# ---- the customers and the words people use for their numbers -----------------------------

def spoken(digits: str, yao: bool = False) -> str:
    """A number read out digit by digit as an ASR transcribes it: 四四零五一四…; with `yao`
    a 1 is said 幺 as on the phone."""
    out = []
    for ch in digits:
        if ch.isdigit():
            out.append("幺" if yao and ch == "1" else CN_DIGITS[int(ch)])
        else:
            out.append(ch)
    return "".join(out)


def grouped(digits: str, sizes: tuple[int, ...]) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at:at + size])
        at += size
    if at < len(digits):
        parts.append(digits[at:])
    return " ".join(p for p in parts if p)


@dataclass
class Customer:
    id_number: str
    name: str
    phone: str

    def words(self) -> dict[str, str]:
        return {"id": self.id_number, "name": self.name, "surname": self.name[0],
                "phone": self.phone, "id_last6": self.id_number[-6:],
                "id_cn": spoken(self.id_number), "id_yao": spoken(self.id_number, yao=True),
                "id_spaced": grouped(self.id_number, (6, 4, 4, 4)),
                "phone_cn": spoken(self.phone), "phone_yao": spoken(self.phone, yao=True),
                "phone_spaced": grouped(self.phone, (3, 4, 4)),
                "phone_dashed": grouped(self.phone, (3, 4, 4)).replace(" ", "-"),
                "id_last6_cn": spoken(self.id_number[-6:])}


PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(text: str, words: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1) not in words:
            raise KeyError(f"unknown placeholder {{{m.group(1)}}}")
        return words[m.group(1)]
    return PLACEHOLDER.sub(one, text)


def fill_all(value: Any, words: dict[str, str]) -> Any:
    if isinstance(value, str):
        return fill(value, words)
    if isinstance(value, list):
        return [fill_all(v, words) for v in value]
    if isinstance(value, dict):
        return {k: fill_all(v, words) for k, v in value.items()}
    return value


# ---- dates as people say them, resolved against the run's Asia/Shanghai date ---------------

def resolve_date(spec: Any, today: date) -> date:
    """`today`, `today-N`, `M-D` (the latest such day not after today), `last_month:D`,
    or an ISO date."""
    text = str(spec).strip()
    if text == "today":
        return today
    if m := re.fullmatch(r"today-(\d+)", text):
        return today - timedelta(days=int(m.group(1)))
    if m := re.fullmatch(r"last_month:(\d+)", text):
        first = today.replace(day=1) - timedelta(days=1)
        return first.replace(day=int(m.group(1)))
    if m := re.fullmatch(r"(\d{1,2})-(\d{1,2})", text):
        day = date(today.year, int(m.group(1)), int(m.group(2)))
        return day if day <= today else date(today.year - 1, day.month, day.day)
    return date.fromisoformat(text)


# ---- the conversations --------------------------------------------------------------------

@dataclass
class Script:
    name: str
    group: str
    channel: str
    customer: int
    turns: list[Any]
    expect: list[dict[str, Any]]
    setup: list[dict[str, Any]] = field(default_factory=list)
    caller: str | None = None  # the phone: the number calling ({phone}: the customer's)
    note: str = ""


def load(directory: Path = CONVERSATIONS) -> list[Script]:
    scripts: list[Script] = []
    for path in sorted(directory.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("conversations", []):
            scripts.append(Script(
                name=str(item["name"]), group=path.stem, channel=str(item["channel"]),
                customer=int(item.get("customer", 0)), turns=list(item["turns"]),
                expect=list(item.get("expect", [])), setup=list(item.get("setup", [])),
                caller=item.get("caller"), note=str(item.get("note", ""))))
    names = [s.name for s in scripts]
    doubles = {n for n in names if names.count(n) > 1}
    if doubles:
        raise ValueError(f"conversation names used twice: {sorted(doubles)}")
    for s in scripts:
        if s.channel not in CHANNELS:
            raise ValueError(f"{s.name}: channel must be one of {CHANNELS}")
    return scripts


# ---- the stack ----------------------------------------------------------------------------

@dataclass
class Stack:
    """A running platform with its bot: where to reach it and its database."""
    platform_url: str
    database_url: str
    group_policy_no: str
    api_token: str = TOKEN
    wechat_token: str = WECHAT_TOKEN
    ivr_secret: str = IVR_SECRET

    def url(self, path: str) -> str:
        return f"{self.platform_url}{path}"

    def api(self, method: str, path: str, body: Any = None) -> Any:
        req = urllib.request.Request(
            self.url(f"/api/v1{path}"), method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.api_token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read())

    def customer(self, k: int) -> Customer:
        db = Database(self.database_url)
        try:
            with db.read() as s:
                row = s.execute(
                    select(Party.id_number, Party.name, Party.phone)
                    .join(RosterMember, RosterMember.party_id == Party.id)
                    .join(PolicyRow, PolicyRow.id == RosterMember.policy_id)
                    .where(PolicyRow.policy_no == self.group_policy_no)
                    .order_by(RosterMember.id).offset(k).limit(1)).one()
        finally:
            db.dispose()
        return Customer(str(row[0]), str(row[1]), str(row[2] or ""))


def _post(url: str, data: bytes, headers: dict[str, str], timeout: float = 400
          ) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class WebUser:
    """The web chat as its page uses it: a session, then POST /chat/messages."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        status, body = _post(stack.url("/chat/session"), b"", {})
        if status != 201:
            raise RuntimeError(f"/chat/session answered {status}")
        session = json.loads(body)
        self.user, self.token = session["user"], session["token"]

    def say(self, text: str) -> str:
        status, body = _post(self.stack.url("/chat/messages"),
                             json.dumps({"text": text}, ensure_ascii=False).encode(),
                             {"Authorization": f"Bearer {self.token}",
                              "Content-Type": "application/json"})
        if status != 200:
            return f"（HTTP {status}）"
        return "\n".join(str(m.get("text")) for m in json.loads(body)["messages"]
                         if m.get("text"))


class WeChatUser:
    """A follower of the Official Account, as WeChat's servers push: signed XML, the passive
    reply read back (the stack waits for the bot before answering passively)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.user = "o" + uuid.uuid4().hex[:27]

    def say(self, text: str) -> str:
        ts, nonce = str(int(time.time())), str(random.randint(10**8, 10**9))
        signature = hashlib.sha1("".join(sorted((self.stack.wechat_token, ts, nonce)))
                                 .encode()).hexdigest()
        query = urllib.parse.urlencode({"signature": signature, "timestamp": ts,
                                        "nonce": nonce, "openid": self.user})
        content = text.replace("]]>", "]]]]><![CDATA[>")
        xml = (f"<xml><ToUserName><![CDATA[gh_xiaobao0001]]></ToUserName>"
               f"<FromUserName><![CDATA[{self.user}]]></FromUserName>"
               f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
               f"<Content><![CDATA[{content}]]></Content>"
               f"<MsgId>{random.getrandbits(62)}</MsgId></xml>")
        status, body = _post(self.stack.url(f"/wechat?{query}"), xml.encode(),
                             {"Content-Type": "text/xml"})
        reply = body.decode("utf-8", "replace")
        if status != 200:
            return f"（HTTP {status}）"
        if not reply.startswith("<xml>"):
            return ""  # `success`: nothing answered in the push's time
        return ElementTree.fromstring(reply).findtext("Content") or ""


class Caller:
    """One call, as a telephony platform reports it: signed JSON events; what is heard."""

    def __init__(self, stack: Stack, number: str) -> None:
        self.stack = stack
        self.call_id = uuid.uuid4().hex
        self.number = number
        self.user = ""
        self.actions: list[dict[str, Any]] = []

    def event(self, event: str, **fields: Any) -> str:
        data = {"call_id": self.call_id, "event": event, "from": self.number, "to": "95500",
                "event_id": uuid.uuid4().hex, "timestamp": int(time.time()), **fields}
        body = json.dumps(data, ensure_ascii=False).encode()
        signature = hmac.new(self.stack.ivr_secret.encode(), body, hashlib.sha256).hexdigest()
        status, answer = _post(self.stack.url("/ivr/events"), body,
                               {"Content-Type": "application/json",
                                "X-Xiaobao-Signature": signature})
        if status != 200:
            return f"（HTTP {status}）"
        actions = list(json.loads(answer)["actions"])
        self.actions += actions
        return joined_digits("\n".join(a["text"] for a in actions if a.get("type") == "say"))

    def say(self, text: str) -> str:
        return self.event("speech", text=text, confidence=0.9)

    def key(self, digits: str) -> str:
        return self.event("dtmf", digits=digits)


# ---- playing one conversation --------------------------------------------------------------

@dataclass
class Played:
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (user, bot)
    turn_failures: list[str] = field(default_factory=list)

    @property
    def bot_text(self) -> str:
        return "\n".join(b for _, b in self.transcript)


@dataclass
class Result:
    name: str
    group: str
    channel: str
    passed: bool
    unmet: list[str]
    transcript: list[tuple[str, str]]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "group": self.group, "channel": self.channel,
                "passed": self.passed, "unmet": self.unmet,
                "transcript": [{"user": u, "bot": b} for u, b in self.transcript]}


def _alternatives(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _check_reply(reply: str, turn: dict[str, Any], where: str) -> list[str]:
    unmet = []
    for want in turn.get("reply_has", []):
        if not any(a in reply for a in _alternatives(want)):
            unmet.append(f"{where}: the reply should say {' / '.join(_alternatives(want))}")
    for unwanted in turn.get("reply_lacks", []):
        if unwanted in reply:
            unmet.append(f"{where}: the reply should not say {unwanted}")
    return unmet


# the consent notice (actions/consent.py): how it starts and the question that ends it
_NOTICE = consent.packaged()
NOTICE_STARTS = (_NOTICE.chat[:8], _NOTICE.voice[:8])
CONSENT_ASKED = (_NOTICE.chat.strip().splitlines()[-1][-12:], _NOTICE.voice.strip()[-12:])
AGREE = "同意"


class Player:
    def __init__(self, stack: Stack, script: Script, today: date) -> None:
        self.stack = stack
        self.script = script
        self.today = today
        self.customer = stack.customer(script.customer)
        self.words = self.customer.words() | {"group_policy_no": stack.group_policy_no}
        for n in range(8):  # {d1_iso} = yesterday as 2026-12-06, {d1_md} as 12月6日
            day = today - timedelta(days=n)
            self.words[f"d{n}_iso"] = day.isoformat()
            self.words[f"d{n}_md"] = f"{day.month}月{day.day}日"
        self.played = Played()
        if script.channel == "web":
            self.client: WebUser | WeChatUser | Caller = WebUser(stack)
        elif script.channel == "wechat":
            self.client = WeChatUser(stack)
        else:
            self.client = Caller(stack, fill(script.caller or "{phone}", self.words))
        self.setup_claims: list[str] = []
        self.last = ""

    # the setup: what the back office holds before the conversation
    def prepare(self) -> None:
        for step in self.script.setup:
            step = fill_all(step, self.words)
            if "claim" in step:
                self._claim(step["claim"])
            elif "satisfaction_asked" in step:
                self._ask_rating(step["satisfaction_asked"])
            elif "complaint" in step:
                self._complaint(step["complaint"])
            else:
                raise ValueError(f"{self.script.name}: unknown setup step {step}")

    def _claim(self, spec: dict[str, Any]) -> None:
        incident = resolve_date(spec.get("incident_date", "today-20"), self.today)
        made = self.stack.api("POST", "/claims", {
            "policy_no": self.stack.group_policy_no,
            "insured_id_number": self.customer.id_number,
            "claim_type": spec.get("type", "hospital_allowance"),
            "incident_date": incident.isoformat(),
            "incident_place": spec.get("place", "家里"),
            "description": spec.get("description", "在家摔倒住院"),
            "reporter": {"name": "本人", "relation": "self", "phone": self.customer.phone},
            "channel": spec.get("channel", "wechat")})
        claim_no = str(made["claim_no"])
        self.setup_claims.append(claim_no)
        self.words[f"claim_no{len(self.setup_claims)}"] = claim_no
        self.words.setdefault("claim_no", claim_no)
        state = {k: v for k, v in spec.items() if k in (
            "status", "rejection_reasons", "approved_fen", "bank_account")}
        for day_field in ("rejected_on", "closed_on", "decided_on", "paid_on"):
            if day_field in spec:
                state[day_field] = resolve_date(spec[day_field], self.today)
        if state:  # a decision reached over weeks on the desk, written straight to the store
            db = Database(self.stack.database_url)
            try:
                with db.transaction() as s:
                    row = s.execute(select(ClaimRow).where(
                        ClaimRow.claim_no == claim_no)).scalar_one()
                    for key, value in state.items():
                        setattr(row, key, value)
            finally:
                db.dispose()

    def _ask_rating(self, spec: dict[str, Any]) -> None:
        subject = spec.get("subject", "claim")
        subject_id = self.setup_claims[-1] if subject == "claim" else str(spec["subject_id"])
        # WeChat asks the openid; the others by SMS to the customer's phone
        wechat = self.script.channel == "wechat"
        channel = "wechat" if wechat else "sms"
        recipient = self.client.user if wechat else self.customer.phone
        db = Database(self.stack.database_url)
        try:
            with db.transaction() as s:
                satisfaction.ask(s, subject, subject_id, channel, recipient)
        finally:
            db.dispose()

    def _complaint(self, spec: dict[str, Any]) -> None:
        made = self.stack.api("POST", "/complaints", {
            "channel": spec.get("channel", "phone"), "category": spec.get("category", "claims"),
            "complainant": {"name": self.customer.name, "phone": self.customer.phone},
            "description": spec.get("description", "理赔太慢"),
            **({"claim_no": self.setup_claims[-1]} if self.setup_claims else {})})
        self.words["complaint_no"] = str(made["complaint_no"])

    # the turns
    def send(self, text: str, key: bool = False) -> str:
        if isinstance(self.client, Caller):
            reply = self.client.key(text) if key else self.client.say(text)
        else:
            reply = self.client.say(text)
        self.played.transcript.append((("按键 " if key else "") + text, reply))
        self.last = reply
        if text != AGREE and any(m in reply for m in CONSENT_ASKED):
            # asked for consent to sensitive data: a person agrees
            starts = [reply.index(m) for m in NOTICE_STARTS if m in reply]
            before = reply[:min(starts)].strip() if starts else ""
            return (before + "\n" if before else "") + self.send(AGREE)
        return reply

    def answer_block(self, answers: dict[str, str], before: str | None, limit: int = 16
                     ) -> None:
        """Answer what the bot asks, by topic, until it asks something not in `answers`, asks
        the topic `before` (left for the next turn), or stops asking."""
        counts: dict[str, int] = {}
        for _ in range(limit):
            topic = topic_of(last_line(self.last))
            if topic is None or topic == before or topic not in answers:
                return
            counts[topic] = counts.get(topic, 0) + 1
            if counts[topic] > MAX_ANSWERS:
                return
            self.send(answers[topic])

    def play(self) -> Played:
        if isinstance(self.client, Caller):
            greeting = self.client.event("start")
            self.played.transcript.append(("（来电）", greeting))
            self.last = greeting
        for n, raw in enumerate(self.script.turns, 1):
            turn = fill_all(raw if isinstance(raw, dict) else {"say": raw}, self.words)
            if "answer" in turn:
                self.answer_block(turn["answer"], turn.get("before"))
                reply = self.last
            elif "key" in turn:
                reply = self.send(str(turn["key"]), key=True)
            else:
                reply = self.send(str(turn["say"]))
            self.played.turn_failures += _check_reply(reply, turn, f"turn {n}")
        if isinstance(self.client, Caller):
            self.client.event("hangup")
        return self.played


# ---- the end state -------------------------------------------------------------------------

@dataclass
class Marks:
    """Row ids before the conversation: what it created is above them."""
    claim: int
    complaint: int
    appeal: int
    conversation: int
    visit: int

    @classmethod
    def take(cls, db: Database) -> Marks:
        with db.read() as s:
            def top(col: Any) -> int:
                return int(s.execute(select(func.coalesce(func.max(col), 0))).scalar_one())
            return cls(top(ClaimRow.id), top(ComplaintRow.id), top(AppealRow.id),
                       top(Conversation.id), top(HomeVisit.id))


def _contains(value: str | None, wanted: Any, what: str) -> str | None:
    text = value or ""
    for want in wanted if isinstance(wanted, list) else [wanted]:
        if not any(a in text for a in _alternatives(want)):
            return f"{what} should contain {' / '.join(_alternatives(want))} (is {text!r})"
    return None


class Judge:
    def __init__(self, player: Player, db: Database, marks: Marks) -> None:
        self.player = player
        self.db = db
        self.marks = marks
        self.customer = player.customer
        self.today = player.today

    def unmet(self, expectation: dict[str, Any]) -> str | None:
        [(kind, spec)] = expectation.items()
        spec = fill_all(spec, self.player.words)
        check = getattr(self, f"_{kind}", None)
        if check is None:
            raise ValueError(f"unknown expectation {kind}")
        return check(spec)

    def _new_claims(self) -> list[ClaimRow]:
        with self.db.read() as s:
            rows = list(s.execute(select(ClaimRow).where(ClaimRow.id > self.marks.claim)
                                  .order_by(ClaimRow.id)).scalars())
            s.expunge_all()
        return rows

    def _party_id(self, id_number: str) -> int | None:
        with self.db.read() as s:
            return s.execute(select(Party.id).where(
                Party.id_number_hash == keyed_hash("id_number", id_number))).scalar()

    def _claim(self, spec: dict[str, Any]) -> str | None:
        claims = self._new_claims()
        if len(claims) != 1:
            return f"one claim should have been reported, {len(claims)} were"
        claim = claims[0]
        insured = spec.get("insured", self.customer.id_number)
        if claim.insured_party_id != self._party_id(insured):
            return "the claim's insured is not the customer named"
        if "type" in spec and claim.claim_type not in _alternatives(spec["type"]):
            return f"claim type should be {spec['type']} (is {claim.claim_type})"
        if "incident_date" in spec:
            wanted = resolve_date(spec["incident_date"], self.today)
            if claim.incident_date != wanted:
                return f"incident date should be {wanted} (is {claim.incident_date})"
        if "reporter_phone" in spec and claim.reporter_phone != str(spec["reporter_phone"]):
            return f"contact phone should be {spec['reporter_phone']} " \
                   f"(is {claim.reporter_phone})"
        if "reporter_relation" in spec and \
                claim.reporter_relation not in _alternatives(spec["reporter_relation"]):
            return f"reporter relation should be {spec['reporter_relation']} " \
                   f"(is {claim.reporter_relation})"
        if "reporter_name" in spec and claim.reporter_name != spec["reporter_name"]:
            return f"reporter name should be {spec['reporter_name']} (is {claim.reporter_name})"
        if "channel" in spec and claim.channel != spec["channel"]:
            return f"claim channel should be {spec['channel']} (is {claim.channel})"
        if "place_has" in spec and (why := _contains(claim.incident_place, spec["place_has"],
                                                     "incident place")):
            return why
        if "description_has" in spec:
            text = f"{claim.description or ''} {json.dumps(claim.facts, ensure_ascii=False)}"
            if why := _contains(text, spec["description_has"], "description"):
                return why
        return None

    def _no_claim(self, spec: Any) -> str | None:
        claims = self._new_claims()
        return f"no claim should have been reported, {len(claims)} were" if claims else None

    def _no_claim_type(self, spec: Any) -> str | None:
        wrong = [c.claim_no for c in self._new_claims() if c.claim_type in _alternatives(spec)]
        return f"no {spec} claim expected, {len(wrong)} reported" if wrong else None

    def _conversations(self) -> list[Conversation]:
        client = self.player.client
        with self.db.read() as s:
            query = select(Conversation).where(Conversation.id > self.marks.conversation,
                                               Conversation.channel == self.player.script
                                               .channel)
            if not isinstance(client, Caller):
                query = query.where(Conversation.user_id == client.user)
            rows = list(s.execute(query).scalars())
            s.expunge_all()
        return rows

    def _handoff(self, spec: dict[str, Any] | None) -> str | None:
        spec = spec or {}
        handed = [c for c in self._conversations() if c.handoff_reason]
        if not handed:
            return "the conversation should have been handed to a person"
        summary = json.dumps(handed[-1].handoff_summary or {}, ensure_ascii=False)
        if "summary_has" in spec:
            return _contains(summary, spec["summary_has"], "the handoff summary")
        return None

    def _no_handoff(self, spec: Any) -> str | None:
        handed = [c for c in self._conversations() if c.handoff_reason]
        return f"no handoff expected (reason {handed[0].handoff_reason})" if handed else None

    def _reply_has(self, spec: Any) -> str | None:
        said = self.player.played.bot_text
        for want in spec if isinstance(spec, list) else [spec]:
            if not any(a in said for a in _alternatives(want)):
                return f"the bot should have said {' / '.join(_alternatives(want))}"
        return None

    def _reply_lacks(self, spec: Any) -> str | None:
        said = self.player.played.bot_text
        for unwanted in spec if isinstance(spec, list) else [spec]:
            if str(unwanted) in said:
                return f"the bot should not have said {unwanted}"
        return None

    def _complaint(self, spec: dict[str, Any]) -> str | None:
        with self.db.read() as s:
            rows = list(s.execute(select(ComplaintRow).where(
                ComplaintRow.id > self.marks.complaint)).scalars())
            s.expunge_all()
        if len(rows) != 1:
            return f"one complaint should have been filed, {len(rows)} were"
        row = rows[0]
        if "category" in spec and row.category not in _alternatives(spec["category"]):
            return f"complaint category should be {spec['category']} (is {row.category})"
        if "phone" in spec and row.complainant_phone != str(spec["phone"]):
            return f"complainant phone should be {spec['phone']} (is {row.complainant_phone})"
        if "name" in spec and row.complainant_name != spec["name"]:
            return f"complainant should be {spec['name']} (is {row.complainant_name})"
        if "claim_no" in spec and row.claim_no != spec["claim_no"]:
            return f"the complaint should name claim {spec['claim_no']} (is {row.claim_no})"
        if "description_has" in spec:
            return _contains(row.description, spec["description_has"], "complaint description")
        return None

    def _no_complaint(self, spec: Any) -> str | None:
        with self.db.read() as s:
            n = s.execute(select(func.count()).select_from(ComplaintRow).where(
                ComplaintRow.id > self.marks.complaint)).scalar_one()
        return f"no complaint expected, {n} filed" if n else None

    def _appeal(self, spec: dict[str, Any]) -> str | None:
        with self.db.read() as s:
            rows = list(s.execute(select(AppealRow).where(
                AppealRow.id > self.marks.appeal)).scalars())
            s.expunge_all()
        if len(rows) != 1:
            return f"one appeal should have been filed, {len(rows)} were"
        row = rows[0]
        if "claim_no" in spec and row.claim_no != spec["claim_no"]:
            return f"the appeal should be on {spec['claim_no']} (is {row.claim_no})"
        if "reasons_has" in spec:
            return _contains(row.reasons, spec["reasons_has"], "the appeal's reasons")
        return None

    def _no_appeal(self, spec: Any) -> str | None:
        with self.db.read() as s:
            n = s.execute(select(func.count()).select_from(AppealRow).where(
                AppealRow.id > self.marks.appeal)).scalar_one()
        return f"no appeal expected, {n} filed" if n else None

    def _setup_claim(self, claim_no: str) -> ClaimRow:
        with self.db.read() as s:
            row = s.execute(select(ClaimRow).where(ClaimRow.claim_no == claim_no)).scalar_one()
            s.expunge(row)
        return row

    def _claim_status(self, spec: dict[str, Any]) -> str | None:
        row = self._setup_claim(spec.get("claim_no") or self.player.setup_claims[-1])
        if row.status not in _alternatives(spec["status"]):
            return f"claim {row.claim_no} should be {spec['status']} (is {row.status})"
        return None

    def _bank_account(self, spec: dict[str, Any]) -> str | None:
        row = self._setup_claim(spec.get("claim_no") or self.player.setup_claims[-1])
        held = {row.bank_account, row.pending_bank_account}
        if str(spec["account"]) not in held:
            return f"the payout account {spec['account']} should be on claim {row.claim_no}"
        return None

    def _rating(self, spec: dict[str, Any]) -> str | None:
        subject_id = spec.get("subject_id") or self.player.setup_claims[-1]
        with self.db.read() as s:
            row = s.execute(select(SatisfactionRow).where(
                SatisfactionRow.subject_type == spec.get("subject", "claim"),
                SatisfactionRow.subject_id == subject_id)).scalar()
        if row is None or row.score is None:
            return "the customer's rating should have been recorded"
        if "score" in spec and row.score != int(spec["score"]):
            return f"the rating should be {spec['score']} (is {row.score})"
        return None

    def _home_visit(self, spec: dict[str, Any]) -> str | None:
        with self.db.read() as s:
            rows = list(s.execute(select(HomeVisit).where(
                HomeVisit.id > self.marks.visit)).scalars())
            s.expunge_all()
        if len(rows) != 1:
            return f"one home visit should have been requested, {len(rows)} were"
        if "phone" in spec and rows[0].phone != str(spec["phone"]):
            return f"home visit phone should be {spec['phone']} (is {rows[0].phone})"
        if "address_has" in spec:
            return _contains(rows[0].address, spec["address_has"], "home visit address")
        return None

    def repeats(self) -> str | None:
        """Issue 16: no question asked more than three times in a row."""
        run, previous = 0, None
        for _, bot in self.player.played.transcript:
            question = last_line(bot)
            run = run + 1 if question and question == previous else 1
            previous = question
            if run > MAX_SAME_QUESTION:
                return f"the bot asked the same question more than {MAX_SAME_QUESTION} " \
                       f"times: {question}"
        return None


def run_one(stack: Stack, script: Script, today: date | None = None) -> Result:
    today = today or datetime.now(SHANGHAI).date()
    db = Database(stack.database_url)
    player: Player | None = None
    try:
        player = Player(stack, script, today)
        player.prepare()
        marks = Marks.take(db)
        player.play()
        judge = Judge(player, db, marks)
        unmet = list(player.played.turn_failures)
        for expectation in script.expect:
            if (why := judge.unmet(expectation)) is not None:
                unmet.append(why)
        if (why := judge.repeats()) is not None:
            unmet.append(why)
    except Exception as exc:  # one broken conversation is a failure, not the end of the run
        unmet = [f"could not be played: {type(exc).__name__}: {exc}"]
    finally:
        db.dispose()
    transcript = player.played.transcript if player else []
    return Result(script.name, script.group, script.channel, not unmet, unmet, transcript)


def run_all(stack: Stack, scripts: list[Script]) -> Iterator[Result]:
    for script in scripts:
        yield run_one(stack, script)


# ---- starting the real stack ---------------------------------------------------------------

def start_stack(tmp: Path, model: Path) -> tuple[Stack, list[subprocess.Popen[bytes]], Any]:
    """Platform, action server and Rasa on free ports, a fresh SQLite database with the demo
    seed, WeChat's API as the tests' stand-in (the account's token, custom messages)."""
    from tests.bot_stack import ThreadedStandIn, free_port  # the tests' WeChat API stand-in
    from xiaobao import bot

    wechat = ThreadedStandIn()
    wechat.start()
    api_port, rasa_port, action_port = free_port(), free_port(), free_port()
    platform_url = f"http://127.0.0.1:{api_port}"
    env = {**os.environ, "XIAOBAO_FILES_DEMO_KEY": "1",  # documents under a demo key
           "XIAOBAO_DATABASE_URL": f"sqlite:///{tmp / 'xiaobao.db'}",
           "XIAOBAO_VAR_DIR": str(tmp), "XIAOBAO_API_TOKEN": TOKEN,
           "XIAOBAO_LOG_LEVEL": "WARNING", "XIAOBAO_RASA_URL": f"http://127.0.0.1:{rasa_port}",
           "XIAOBAO_RASA_TOKEN": RASA_TOKEN,
           "XIAOBAO_ACTIONS_URL": f"http://127.0.0.1:{action_port}",
           "XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_WECHAT_APPID": "wxtestappid",
           "XIAOBAO_WECHAT_SECRET": "test-secret", "XIAOBAO_WECHAT_API_BASE": wechat.base,
           "XIAOBAO_WECHAT_AES_KEY": "", "XIAOBAO_IVR_SECRET": IVR_SECRET,
           "XIAOBAO_REDIS_URL": "", "XIAOBAO_WECHAT_PASSIVE_WAIT": "300",
           "XIAOBAO_BACKOFFICE_URL": platform_url}
    seeded = subprocess.run([str(XIAOBAO), "demo", "seed", "--members", str(MEMBERS),
                             "--seed", str(SEED)], env=env, capture_output=True, text=True,
                            check=True)
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    procs = [subprocess.Popen([str(XIAOBAO), "serve", "--port", str(api_port),
                               "--no-scheduler"], env=env, stdout=subprocess.DEVNULL)]
    procs += bot.start_bot(model, rasa_port, action_port, platform_url, TOKEN, tmp,
                           rasa_token=RASA_TOKEN)
    for url, wait in ((f"http://127.0.0.1:{action_port}/health", 300),
                      (bot.with_token(f"http://127.0.0.1:{rasa_port}/status", RASA_TOKEN), 900),
                      (f"{platform_url}/healthz", 300)):
        if not bot.wait_ready(url, wait, procs):
            bot.stop(procs)
            wechat.stop()
            raise SystemExit(f"{url} did not come up")
    return Stack(platform_url, env["XIAOBAO_DATABASE_URL"], seed["group_policy_no"]), procs, \
        wechat


def choose_model(given: str | None) -> Path:
    from xiaobao import bot

    if given:
        return Path(given)
    exact = bot.model_path()
    if exact.exists():
        return exact
    found = sorted(bot.MODELS.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit("no model in models/: run `xiaobao train` or pass --model")
    print(f"note: no model for the current training data; using {found[-1].name}",
          file=sys.stderr)
    return found[-1]


def report(results: list[Result], as_json: bool, run_on: date) -> None:
    passed = sum(r.passed for r in results)
    share = passed / len(results) if results else 0.0
    if as_json:
        print(json.dumps({"date": run_on.isoformat(), "conversations": len(results),
                          "reached": passed, "share": round(share, 4),
                          "results": [r.as_dict() for r in results]}, ensure_ascii=False))
        return
    groups = sorted({r.group for r in results})
    for g in groups:
        mine = [r for r in results if r.group == g]
        print(f"{g}: {sum(r.passed for r in mine)} of {len(mine)}")
    print(f"\nexpected end state reached: {passed} of {len(results)} "
          f"({share:.1%}; Asia/Shanghai date {run_on})")
    failures = [r for r in results if not r.passed]
    if failures:
        print("\nfailures (first unmet expectation):")
        for r in failures:
            print(f"- {r.name} [{r.channel}]: {r.unmet[0]}")


def main() -> int:
    field_keys_for_run()  # the processes started share this run's column keys
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", help="run this conversation (repeatable)")
    parser.add_argument("--json", action="store_true", help="results and transcripts as JSON")
    parser.add_argument("--model", help="the Rasa model (default: the one for the data)")
    parser.add_argument("--dir", default=str(CONVERSATIONS), help="the conversations' folder")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args()
    scripts = load(Path(args.dir))
    if args.only:
        unknown = set(args.only) - {s.name for s in scripts}
        if unknown:
            raise SystemExit(f"no conversation named {', '.join(sorted(unknown))}")
        scripts = [s for s in scripts if s.name in args.only]
    model = choose_model(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        stack, procs, wechat = start_stack(Path(tmp), model)
        try:
            results = []
            for result in run_all(stack, scripts):
                results.append(result)
                if not args.quiet:
                    print(f"{'ok  ' if result.passed else 'FAIL'} {result.name}",
                          file=sys.stderr, flush=True)
        finally:
            from xiaobao import bot
            bot.stop(procs)
            wechat.stop()
    report(results, args.json, datetime.now(SHANGHAI).date())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A day of the scheme for the demo: what an office of the 潮南区 scheme has on its desk on an
ordinary day — claims in every state, complaints, appeals, home visits, conversations with
the bot and with agents, tasks, satisfaction ratings.

Everything is made through the use cases (report, the claim steps, intake, the conversation
service…), on a settable clock walked through the last weeks, so the clocks, timelines,
notices and audit entries are the ones the platform itself would have written. Deterministic
for a seed and a "today"; run once (a database that has claims is left alone).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from backoffice import clock
from backoffice.domain.identity import luhn_ok, make_id_number
from backoffice.domain.staff import CLAIMS_ADJUSTER, CLAIMS_SUPERVISOR, COMPLAINT_HANDLER, Actor
from backoffice.services import (
    appeals,
    claims,
    complaints,
    customer_answers,
    endorsement_requests,
    home_visits,
    policies,
    reminders,
    satisfaction,
)
from backoffice.services import conversations as conv
from backoffice.services.base import SHANGHAI
from backoffice.store.db import Database
from backoffice.store.models import ClaimRow, Party, PolicyRow, RosterMember, SatisfactionRow

ADJUSTER = Actor("adjuster.chen", CLAIMS_ADJUSTER)
SECOND_ADJUSTER = Actor("adjuster.zhou", CLAIMS_ADJUSTER)  # approves and pays: four eyes
SUPERVISOR = Actor("supervisor.zhao", CLAIMS_SUPERVISOR)
HANDLER = Actor("handler.wang", COMPLAINT_HANDLER)
AGENT = "agent.li"

# how many claims end the day in each state (the held ones failed their coverage check)
CLAIM_PLAN: tuple[tuple[str, int], ...] = (
    ("held", 3), ("documents_pending", 8), ("under_review", 6), ("investigating", 3),
    ("adjudicated", 4), ("pending_approval", 3), ("approved", 4), ("paid", 4),
    ("closed", 14), ("rejected", 4), ("withdrawn", 3),
)
PEOPLE = sum(n for _, n in CLAIM_PLAN) + 10 + 5 + 12  # claims, complaints, visits, chats
PLACES = ("家中", "菜市场", "村道", "祠堂门口", "自家楼梯", "田间小路", "公交站", "镇卫生院门口")
HOW = ("不慎滑倒", "下楼梯踩空", "被电动车撞倒", "骑单车摔倒", "晾衣服时从凳子上跌落",
       "雨天路滑摔倒", "被门槛绊倒")
INJURIES = ("右手腕骨折", "左股骨颈骨折", "腰椎压缩性骨折", "右踝关节骨折", "头皮裂伤",
            "左肱骨骨折")
HOSPITALS = ("潮南区人民医院", "峡山医院", "陈店医院", "两英医院", "汕头大学医学院第一附属医院")
RELATIONS = (("child", "儿子"), ("child", "女儿"), ("spouse", "老伴"), ("self", "本人"))
COMPLAINTS = (
    ("claims", "理赔材料交齐一个多星期了还没有人联系，打电话也说不清楚进度。"),
    ("service", "客服电话等了二十分钟才接通，老人家不会用公众号。"),
    ("claims", "住院津贴只赔了三天，医院住了五天，想问清楚怎么算的。"),
    ("service", "上门服务约好了上午，结果下午才来，家里人白等。"),
    ("claims", "伤残鉴定费用要自己出，之前没有人告诉我们。"),
    ("other", "短信通知里的报案号和电话里说的不一样，担心弄错。"),
    ("claims", "拒赔理由写得太简单，看不懂为什么不赔。"),
    ("service", "网点工作人员态度不好，让老人来回跑了两趟。"),
    ("policy_service", "老人搬到女儿家住了，不知道还保不保。"),
    ("claims", "赔款到账比说的晚了好几天。"),
)
VISIT_REASONS = ("老人行动不便，需要上门收取理赔材料", "卧床在家，想当面了解伤残鉴定怎么办",
                 "子女在外地，老人不会用手机上传照片", "需要上门核实身份并签字")
BOT_CHATS = (
    ("我妈妈在家摔倒了，住院了，怎么报案？",
     "您好，我是小保。很抱歉听到这个消息。报案可以直接在这里说，请告诉我出险人的身份证号和出险日期。"),
    ("我的理赔到哪一步了", "请告诉我您的报案号，例如 R2026…，我帮您查进度。"),
    ("政府统保要自己交钱吗",
     "潮南区老年人意外伤害保险的保费由区政府统一承担，60 周岁以上户籍老人无需缴费。"),
    ("附近哪里可以交材料",
     "峡山街道的服务网点在峡山街道办事处一楼便民服务窗口，工作日 8:30–17:30。"),
)
AGENT_CHATS = (
    ("我爸的理赔一直没消息，转人工", "您好，我是坐席小李，已经看到您父亲的案件，材料还差病历资料，"
     "补齐后三个工作日内审核。"),
    ("人工客服", "您好，这里是小保人工客服，请问有什么可以帮您？"),
    ("拒赔我不服，我要找人",
     "理解您的心情，我先帮您登记复核申请，理赔主管会在 10 个工作日内答复。"),
    ("老人不会上传照片怎么办", "可以预约上门服务，工作人员会到家里收取材料，我现在帮您登记。"),
)


@dataclass
class DaySeed:
    """What the day made, by kind and state."""

    claims: dict[str, list[str]] = field(default_factory=dict)
    complaints: dict[str, int] = field(default_factory=dict)
    appeals: int = 0
    home_visits: dict[str, int] = field(default_factory=dict)
    conversations: dict[str, int] = field(default_factory=dict)
    ratings: int = 0
    policy_services: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"claims": {k: len(v) for k, v in self.claims.items()},
                "complaints": self.complaints, "appeals": self.appeals,
                "home_visits": self.home_visits, "conversations": self.conversations,
                "ratings": self.ratings, "policy_services": self.policy_services}


@dataclass
class _Member:
    name: str
    id_number: str
    phone: str
    address: str


def has_activity(db: Database) -> bool:
    with db.read() as s:
        return s.execute(select(ClaimRow.id).limit(1)).first() is not None


def seed_day(db: Database, policy_no: str, seed_value: int = 1) -> DaySeed:
    """A day of the scheme on `policy_no`, ending now; nothing when claims exist already."""
    made = DaySeed()
    if has_activity(db):
        return made
    now = clock.utcnow()
    today = now.astimezone(SHANGHAI).date()
    rng = random.Random(seed_value * 7919)
    members = _members(db, policy_no, PEOPLE)
    if len(members) < PEOPLE:  # a roster too small for an office's day: none
        return made
    start = _policy_start(db, policy_no)
    span = max(1, min(40, (today - start).days - 2))  # the weeks the claims come from
    with clock.manual_clock(now) as walk:
        day = _Day(db, policy_no, rng, walk, today, span)
        picked = iter(rng.sample(members, len(members)))
        for state, count in CLAIM_PLAN:
            for _ in range(count):
                made.claims.setdefault(state, []).append(day.claim(state, next(picked)))
        made.appeals = day.appeals(made.claims["rejected"])
        made.ratings = day.rated
        walk.set(now)
        customer_answers.ask_follow_ups(db, today)  # 回访 of the claims closed 3 days ago
        made.complaints = day.complaints([next(picked) for _ in range(len(COMPLAINTS))])
        made.home_visits = day.home_visits([next(picked) for _ in range(5)])
        made.conversations = day.conversations([next(picked) for _ in range(12)])
        made.policy_services = day.policy_services(rng.randrange(10**6))
        walk.set(now)
        # today's firings of the daily jobs: notices due today, warnings and escalations
        reminders.progress_notices(db, today)
        reminders.documents_reminders(db, today)
        reminders.deadline_checks(db, today)
    return made


def _members(db: Database, policy_no: str, n: int) -> list[_Member]:
    with db.read() as s:
        rows = s.execute(select(Party.name, Party.id_number, Party.phone, Party.address)
                         .join(RosterMember, RosterMember.party_id == Party.id)
                         .join(PolicyRow, PolicyRow.id == RosterMember.policy_id)
                         .where(PolicyRow.policy_no == policy_no,
                                RosterMember.status == "active", Party.phone.is_not(None))
                         .order_by(RosterMember.id).limit(n)).all()
    return [_Member(*r) for r in rows]


def _policy_start(db: Database, policy_no: str) -> date:
    with db.read() as s:
        return s.execute(select(PolicyRow.start_date).where(PolicyRow.policy_no == policy_no)
                         ).scalar_one()


def bank_card(rng: random.Random) -> str:
    body = "62170" + "".join(str(rng.randrange(10)) for _ in range(13))
    return next(body + str(d) for d in range(10) if luhn_ok(body + str(d)))


class _Day:
    """The steps of the day, each at its own moment on the walked clock."""

    def __init__(self, db: Database, policy_no: str, rng: random.Random,
                 walk: clock.ManualClock, today: date, span: int) -> None:
        self.db, self.policy_no, self.rng, self.walk = db, policy_no, rng, walk
        self.today, self.span = today, span
        self.end = walk()  # now: the day ends here
        self.closed = self.rated = 0

    def at(self, day: date, hour: int | None = None) -> None:
        """Move the clock to `day` (never past today), in office hours."""
        day = min(day, self.today)
        hour = hour if hour is not None else self.rng.randint(8, 17)
        moment = datetime.combine(day, time(hour, self.rng.randrange(60)), SHANGHAI)
        self.walk.set(min(moment, self.end))

    def tick(self) -> None:
        """A turn of a conversation later (never past now)."""
        self.walk.set(min(self.walk() + timedelta(seconds=self.rng.randint(40, 150)),
                          self.end))

    def later(self, day: date) -> None:
        """The claim's next step: on `day`, never before its previous step."""
        before = self.walk()
        self.at(day)
        if self.walk() <= before:
            self.walk.set(min(before + timedelta(minutes=self.rng.randint(5, 50)), self.end))

    # ---- claims ------------------------------------------------------------------------------

    def claim(self, state: str, who: _Member) -> str:
        """A claim reported some days ago and taken to `state` by the steps that lead there."""
        recent = state in ("held", "documents_pending", "under_review", "approved")
        ago = self.rng.randint(1, min(6, self.span)) if recent \
            else self.rng.randint(min(8, self.span), self.span)
        reported = self.today - timedelta(days=ago)
        kind = self._kind(state)
        self.at(reported)
        claim_no = self._report(who, kind, reported, state)
        steps = _STEPS[state]
        for n, step in enumerate(steps, 1):
            self.later(reported + timedelta(days=min(ago, max(1, n * ago // (len(steps) + 1)))))
            step(self, claim_no)
        return claim_no

    def _kind(self, state: str) -> str:
        if state == "held":
            return "medical"  # not covered by the scheme: held for a person (问题件)
        if state == "pending_approval":
            return "transport_death"  # 30,000 元: beyond an adjuster's authority
        if state in ("approved", "paid", "closed"):
            return self.rng.choice(("hospital_allowance", "hospital_allowance", "disability"))
        if state in ("documents_pending", "withdrawn"):
            return self.rng.choice(("disability", "hospital_allowance", "death"))
        return self.rng.choice(("disability", "disability", "death"))  # people decide these

    def _report(self, who: _Member, kind: str, reported: date, state: str) -> str:
        incident = reported - timedelta(days=self.rng.randint(1, 5))
        relation, called = self.rng.choice(RELATIONS)
        if kind in ("death", "transport_death") and relation == "self":
            relation, called = "child", "儿子"
        facts: dict[str, Any] = {}
        if kind == "hospital_allowance":
            stay = self.rng.randint(2, 6)
            facts = {"admission_date": incident.isoformat(),
                     "discharge_date": min(incident + timedelta(days=stay), reported).isoformat(),
                     "diagnosis": self.rng.choice(INJURIES), "hospital_level": 2}
        if kind == "transport_death":
            facts = {"transport": "motor_vehicle", "death_date": incident.isoformat()}
        surname = who.name[0]
        reporter = who.name if relation == "self" else surname + self.rng.choice(
            ("小明", "建华", "丽华", "志强", "秀珍", "伟东"))
        place = self.rng.choice(PLACES)
        _, view = claims.report(self.db, {
            "policy_no": self.policy_no, "insured_id_number": who.id_number,
            "claim_type": kind, "incident_date": incident.isoformat(),
            "incident_place": f"{_town(who.address)}{place}",
            "description": f"{self.rng.choice(HOW)}，{self.rng.choice(INJURIES)}，"
                           f"送{self.rng.choice(HOSPITALS)}治疗（{called}报案）",
            "channel": self.rng.choice(("wechat", "ivr", "web", "ivr")),
            "reporter": {"name": reporter, "relation": relation, "phone": who.phone},
            "facts": facts, "bank_account": bank_card(self.rng)})
        return str(view["claim_no"])

    def step(self, claim_no: str, action: str, actor: str, **raw: Any) -> dict[str, Any]:
        return claims.transition(self.db, {"claim_no": claim_no, "action": action, **raw},
                                 actor)

    def documents_in(self, claim_no: str) -> None:
        self.step(claim_no, "assign", SUPERVISOR, handler=str(ADJUSTER))
        self.step(claim_no, "documents_complete", ADJUSTER, waive_missing=True,
                  note="材料经网点核对原件，电子件后补")

    def investigate(self, claim_no: str) -> None:
        self.step(claim_no, "investigate", ADJUSTER, note="需向医院调取住院病历核实伤情")

    def adjudicate(self, claim_no: str) -> None:
        view = claims.get_claim(self.db, claim_no)
        if view["status"] == "investigating":
            self.step(claim_no, "finish_investigation", ADJUSTER, note="病历与报案情况一致")
        facts = _FACTS.get(view["claim_type"], {})
        incident = date.fromisoformat(view["incident_date"])
        self.step(claim_no, "adjudicate", ADJUSTER, facts={
            k: (v(incident) if callable(v) else v) for k, v in facts.items()})

    def approve(self, claim_no: str) -> None:
        if claims.get_claim(self.db, claim_no)["status"] == "under_review":
            self.adjudicate(claim_no)
        if claims.get_claim(self.db, claim_no)["status"] == "adjudicated":
            self.step(claim_no, "approve", SUPERVISOR)  # the adjuster decided: four eyes

    def escalate(self, claim_no: str) -> None:
        """A second adjuster approves beyond their authority: up to the supervisor."""
        self.step(claim_no, "approve", SECOND_ADJUSTER)

    def pay(self, claim_no: str) -> None:
        view = claims.get_claim(self.db, claim_no)
        self.step(claim_no, "pay", SECOND_ADJUSTER, amount=view["approved"],
                  reference=f"CN{self.rng.randrange(10**9, 10**10)}")

    def close(self, claim_no: str) -> None:
        self.step(claim_no, "close", ADJUSTER)

    def reject(self, claim_no: str) -> None:
        self.step(claim_no, "reject", ADJUSTER, reasons=[self.rng.choice((
            "事故发生在保险期间开始前", "伤情为疾病所致，不属于意外伤害保险责任",
            "伤残鉴定等级未达到保险合同约定的评残标准"))])

    def send_letter(self, claim_no: str) -> None:
        self.step(claim_no, "send_rejection_letter", ADJUSTER, note="拒赔通知书已挂号寄出")

    def withdraw(self, claim_no: str) -> None:
        self.step(claim_no, "withdraw", ADJUSTER, note="家属来电撤案：已由其他保险赔付")

    # ---- the rest of the day -----------------------------------------------------------------

    def appeals(self, rejected: list[str]) -> int:
        for n, claim_no in enumerate(rejected[:3]):
            self.at(self.today - timedelta(days=3 - n))
            made = appeals.file(self.db, {
                "claim_no": claim_no, "channel": "counter",
                "reasons": "家属认为摔倒是意外，不是疾病，提供了村委会的证明，申请复核。"},
                ADJUSTER)
            if n == 0:
                appeals.decide(self.db, {"appeal_no": made["appeal_no"], "action": "uphold",
                                         "note": "复核维持：病历记载为突发脑梗后跌倒"},
                               SUPERVISOR)
            elif n == 1:
                appeals.decide(self.db, {"appeal_no": made["appeal_no"], "action": "reopen",
                                         "note": "村委会证明与监控一致，重新审核"}, SUPERVISOR)
        return min(3, len(rejected))

    def rate(self, claim_no: str) -> None:
        """Most customers answer the satisfaction question the day it comes (by SMS or
        WeChat, where it was asked); the fourth is unhappy, one in four does not answer."""
        self.closed += 1
        if self.closed % 4 == 0:
            return
        with self.db.read() as s:
            asked = s.execute(select(SatisfactionRow.reply_channel, SatisfactionRow.recipient)
                              .where(SatisfactionRow.subject_type == "claim",
                                     SatisfactionRow.subject_id == claim_no)).first()
        if asked is None or not asked[1]:
            return
        said = ("2 等了好久才赔，打电话也没人回" if self.closed == 3 else
                self.rng.choice(("5", "5 谢谢小保", "4", "非常满意", "4 速度还可以")))
        if customer_answers.reply(self.db, asked[0] or "sms", asked[1], said) is not None:
            self.rated += 1

    def complaints(self, people: list[_Member]) -> dict[str, int]:
        counts: dict[str, int] = {}
        plan = ("acknowledged", "assigned", "investigating", "investigating", "decided",
                "notified", "closed", "closed", "acknowledged", "decided")
        for n, (who, target) in enumerate(zip(people, plan, strict=False)):
            category, text = COMPLAINTS[n]
            self.at(self.today - timedelta(days=self.rng.randint(0, 12)))
            made = complaints.intake(self.db, {
                "channel": self.rng.choice(("wechat", "ivr", "phone", "counter")),
                "complainant": {"name": who.name, "phone": who.phone},
                "category": category, "description": text}, "customer")
            no = made["complaint_no"]
            steps = _COMPLAINT_STEPS[target]
            for step in steps:
                complaints.transition(self.db, {"complaint_no": no, **step}, HANDLER)
            counts[target] = counts.get(target, 0) + 1
        return counts

    def home_visits(self, people: list[_Member]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n, who in enumerate(people):
            target = ("requested", "assigned", "scheduled", "visited", "contacted")[n % 5]
            self.at(self.today - timedelta(days=n % 3), 9 + n)
            made = home_visits.request(self.db, {
                "channel": self.rng.choice(("bot", "ivr", "desk")), "name": who.name,
                "phone": who.phone, "address": who.address,
                "reason": VISIT_REASONS[n % len(VISIT_REASONS)],
                "preferred_time": self.rng.choice(("上午", "下午三点以后", "周末"))})
            no = made["visit_no"]
            if target != "requested":
                home_visits.transition(self.db, {"visit_no": no, "action": "assign",
                                                 "handler": AGENT}, AGENT)
            if target in ("contacted", "scheduled"):
                home_visits.transition(self.db, {"visit_no": no, "action": "contact",
                                                 "note": "已电话联系家属"}, AGENT)
            if target == "scheduled":
                when = datetime.combine(self.today + timedelta(days=2), time(10), SHANGHAI)
                home_visits.transition(self.db, {"visit_no": no, "action": "schedule",
                                                 "time": when.isoformat()}, AGENT)
            if target == "visited":
                home_visits.transition(self.db, {"visit_no": no, "action": "visit",
                                                 "note": "已上门收取材料并拍照上传"}, AGENT)
            counts[target] = counts.get(target, 0) + 1
        return counts

    def policy_services(self, salt: int) -> int:
        """The underwriter's day: beneficiary changes the bot took, applications referred
        (declared hypertension) waiting for a decision."""
        made = 0
        for n, policy_no in enumerate(_individual_policies(self.db)):
            self.at(self.today - timedelta(days=n + 1))
            endorsement_requests.submit(self.db, {
                "channel": "wechat", "user": f"oDemoHolder{n}", "policy_no": policy_no,
                "kind": "change_beneficiary", "note": "客户经小保申请，待投保人签字确认",
                "details": {"beneficiaries": [{"name": ("郑晓燕", "陈伟杰")[n],
                                               "relation": "child"}]}}, "bot")
            made += 1
        for n, (name, gender, birth, job, cls, phone) in enumerate(_APPLICANTS):
            self.at(self.today, 9 + n)
            seq = 2 * (salt % 400 + n) + (1 if gender == "男" else 2)
            policies.apply(self.db, {
                "product_code": "PA-GUARD", "payment_mode": "single",
                "insured": {"name": name, "id_number": make_id_number("440514", birth, seq),
                            "phone": phone, "occupation": job, "occupation_class": cls,
                            "address": "广东省汕头市潮南区峡山街道南中路18号"},
                "health_declarations": {**_NO_HEALTH, "hypertension": True},
                "coverages": [{"code": "accidental_death_disability",
                               "sum_insured": "80000.00"}]}, AGENT)
            made += 1
        return made

    def conversations(self, people: list[_Member]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n, who in enumerate(people):
            target = ("bot", "queued", "agent", "closed")[n % 4]
            channel = ("wechat", "web")[n % 2]
            user = (f"oDemo{self.rng.randrange(16**20):020x}" if channel == "wechat"
                    else f"web-{self.rng.randrange(16**16):016x}")
            # the last hour and a half, a conversation every few minutes, a minute a turn
            self.walk.set(self.end - timedelta(minutes=7 * (12 - n)))
            if target == "bot":
                for said, answer in self.rng.sample(BOT_CHATS, 2):
                    turn = conv.user_message(self.db, channel, user, said, phone=who.phone)
                    conv.bot_messages(self.db, turn.conversation_id, [{"text": answer}])
                    self.tick()
            else:
                said, answer = AGENT_CHATS[n % len(AGENT_CHATS)]
                first, reply = self.rng.choice(BOT_CHATS)
                turn = conv.user_message(self.db, channel, user, first, phone=who.phone)
                conv.bot_messages(self.db, turn.conversation_id, [{"text": reply}])
                self.tick()
                turn = conv.user_message(self.db, channel, user, said, phone=who.phone)
                conv.bot_messages(self.db, turn.conversation_id, [
                    {"text": "好的，正在为您转接人工客服，请稍候。"},
                    {"custom": {"handoff": {"reason": "user_request", "summary": {
                        "text": f"客户要求人工：{said}", "intent": "human_handoff",
                        "slots": {}}}}}])
                if target in ("agent", "closed"):
                    self.tick()
                    conv.take(self.db, {"conversation_id": turn.conversation_id,
                                        "agent": AGENT}, "channels")
                    conv.agent_message(self.db, turn.conversation_id, AGENT, answer)
                    self.tick()
                    conv.user_message(self.db, channel, user, "好的，谢谢", phone=who.phone)
                if target == "closed":
                    conv.close(self.db, turn.conversation_id, "已解决", AGENT)
                    satisfaction.ask_after_conversation(
                        self.db, str(turn.conversation_id), channel, user, AGENT)
                    if n % 8 == 3:
                        customer_answers.reply(self.db, channel, user, "5")
            counts[target] = counts.get(target, 0) + 1
        return counts


def _individual_policies(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.execute(select(PolicyRow.policy_no).where(
            PolicyRow.kind != "group", PolicyRow.status == "in_force",
            PolicyRow.policy_no.is_not(None)).order_by(PolicyRow.id).limit(2)).scalars())


_NO_HEALTH = {"hospitalised_now": False, "disability_existing": False, "epilepsy": False,
              "hypertension": False, "diabetes": False}
_APPLICANTS = (("黄志明", "男", date(1968, 8, 8), "货车司机", 3, "13622223333"),
               ("郑秀兰", "女", date(1972, 3, 15), "个体商户", 2, "13622224444"))


def _town(address: str) -> str:
    for marker in ("街道", "镇"):
        at = address.find(marker)
        if at > 0:
            start = address.rfind("区", 0, at) + 1
            return address[start:at + len(marker)]
    return ""


_FACTS: dict[str, dict[str, Any]] = {
    "disability": {"disability_levels": [8]},
    "death": {"death_date": lambda d: d.isoformat()},
    "transport_death": {"transport": "motor_vehicle", "death_date": lambda d: d.isoformat()},
    "hospital_allowance": {},
}

_D = _Day
_STEPS: dict[str, tuple[Callable[[_Day, str], None], ...]] = {
    "held": (),
    "documents_pending": (),
    "under_review": (_D.documents_in,),
    "investigating": (_D.documents_in, _D.investigate),
    "adjudicated": (_D.documents_in, _D.adjudicate),
    "pending_approval": (_D.documents_in, _D.adjudicate, _D.escalate),
    "approved": (_D.documents_in, _D.approve),
    "paid": (_D.documents_in, _D.approve, _D.pay),
    "closed": (_D.documents_in, _D.approve, _D.pay, _D.close, _D.rate),
    "rejected": (_D.documents_in, _D.reject, _D.send_letter),
    "withdrawn": (_D.withdraw,),
}

_COMPLAINT_STEPS: dict[str, tuple[dict[str, Any], ...]] = {
    "acknowledged": (),
    "assigned": ({"action": "take"},),
    "investigating": ({"action": "take"},
                      {"action": "note", "note": "已调取通话录音和案件记录，正在核实。"}),
    "decided": ({"action": "take"}, {"action": "note", "note": "已核实经过。"},
                {"action": "decide", "outcome": "partially_upheld",
                 "decision": "向客户致歉并说明理算依据，案件转加急处理。"}),
    "notified": ({"action": "take"}, {"action": "note", "note": "已核实经过。"},
                 {"action": "decide", "outcome": "upheld",
                  "decision": "向客户致歉，督促经办人当日回电。"},
                 {"action": "notify", "via": "phone"}),
    "closed": ({"action": "take"}, {"action": "note", "note": "已核实经过。"},
               {"action": "decide", "outcome": "not_upheld",
                "decision": "经核实处理符合合同约定，已向客户详细解释。"},
               {"action": "notify", "via": "phone"},
               {"action": "record_satisfaction", "score": 4}, {"action": "close"}),
}


def count_claims(db: Database) -> dict[str, int]:
    with db.read() as s:
        return dict(s.execute(select(ClaimRow.status, func.count()).group_by(ClaimRow.status)
                              ).tuples().all())

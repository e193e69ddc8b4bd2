"""Public answers about a product, built from its data as the back office's API gives it
(`GET /api/v1/products/{code}`): amounts, limits, exclusions, who is insured, documents.

A scheme's benefits are public: nothing here needs to know who is asking. Pure (no I/O, no
Rasa): the action server calls it with the product's JSON and the user's words; it runs in
either venv, so the tests check it against the real product files.

The question's subject is read from its words (`subjects`): a transport mode, a disability
level, an exclusion… The answer fits it — a bus question gets the bus amount and one line on
the other modes, "保什么" a short summary. Every figure comes from the product.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from actions.dates import chinese_number

Product = Mapping[str, Any]

# --- what the question is about ------------------------------------------------------------

#: Words for the public-transport modes (codes as in CONTRACTS.md `facts.transport`).
MODE_WORDS: Mapping[str, tuple[str, ...]] = {
    "motor_vehicle": ("营运机动车", "营运车", "公交", "巴士", "大巴", "中巴", "客车", "班车",
                      "长途车", "出租车", "的士", "打的", "打车"),
    "rail": ("火车", "高铁", "动车", "地铁", "轻轨", "城轨", "列车"),
    "ship": ("轮船", "客轮", "客船", "渡轮", "轮渡", "游轮", "坐船", "乘船", "搭船"),
    "aircraft": ("飞机", "航班", "民航", "客机"),
}
#: Vehicles that are not public transport (and words that would otherwise read as one:
#: 电动车 holds 动车, 机动车 too).
PRIVATE_VEHICLES = ("电动自行车", "电动车", "电瓶车", "电单车", "摩托", "自行车", "单车", "三轮",
                    "私家车", "自家车", "自己开车", "开车", "骑车", "拖拉机", "代步车", "老头乐",
                    "顺风车", "货车", "农用车")
_NEUTRAL_VEHICLES = ("非机动车", "机动车")
_OWN_RIDE = ("骑", "自己开", "我开", "开着")  # one rides a bike, drives a car: never a bus
_RIDING = ("坐", "乘", "搭", "车上", "船上", "机上", "上车", "下车")
_HIT = ("撞", "碾", "轧", "刮倒")
_TRANSPORT = ("公共交通", "交通工具", "坐车", "乘车", "搭车", "营运")

#: Words naming an exclusion (the product's exclusion codes); checked in this order.
EXCLUSION_WORDS: Mapping[str, tuple[str, ...]] = {
    "drunk_driving": ("酒驾", "酒后驾", "醉驾", "无证驾", "没驾照", "没有驾照", "无照驾"),
    "sudden_death": ("猝死",),
    # illnesses that cause the event; not the ones most old people live with (高血压…)
    "disease": ("猝死", "生病", "疾病", "得病", "病死", "病故", "中风", "脑梗", "脑溢血", "脑出血",
                "心梗", "心脏病发", "癌", "肿瘤", "肺炎", "感冒", "发烧", "老死", "自然死亡",
                "病逝"),
    "drunkenness": ("醉酒", "喝醉", "喝酒", "酒后", "吸毒", "毒品"),
    "fighting": ("打架", "斗殴", "殴斗", "打群架"),
    "suicide": ("自杀", "轻生", "寻短见"),
    "intentional_crime": ("犯罪", "犯法", "拒捕"),
    "dental": ("牙",),
}
_EXCLUSIONS_ASKED = ("不赔", "不保", "不管", "免责", "责任免除", "除外", "不在保障", "不能赔",
                     "不给赔", "拒赔")

SUBJECT_WORDS: Mapping[str, tuple[str, ...]] = {
    "documents": ("材料", "资料", "证件", "单证", "要带什么", "带什么", "准备什么", "准备哪些",
                  "需要什么东西", "要什么东西", "要交什么"),
    "report": ("怎么报案", "如何报案", "怎样报案", "报案怎么", "去哪报案", "哪里报案", "在哪报案",
               "去哪里报案", "报案电话", "报案方式", "报案渠道", "报案期限", "几天内报案",
               "多久报案", "多久内报案", "多长时间内报案", "怎么申请理赔", "怎么办理理赔",
               "出事了怎么办", "出险了怎么办"),
    "within_days": ("180天", "一百八十天", "半年", "多久以内", "多长时间以内", "多久之内",
                    "多长时间内", "几个月内", "过了多久", "过了半年", "几天内去世"),
    "eligibility": ("谁能保", "谁可以保", "谁能参保", "谁可以参保", "哪些人", "什么人", "多大",
                    "几岁", "年龄", "年纪", "参保", "投保", "怎么买", "要不要买", "自己买",
                    "在哪买", "怎么加入", "户口", "户籍", "满60", "60岁", "六十岁",
                    "什么时候开始", "从什么时候", "哪天开始", "何时开始", "生效", "起保",
                    "开始保", "有效期", "保多久", "要不要交钱", "自己交钱", "用不用交钱"),
    "disability": ("伤残", "残疾", "残废", "致残", "瘫痪", "级伤", "鉴定"),
    "allowance": ("住院", "津贴", "住一天", "出院"),
    "death": ("身故", "去世", "死亡", "过世", "死了", "丧命", "遇难", "身亡", "没了命"),
    "medical": ("医疗费", "医药费", "药费", "门诊", "手术费", "报销", "看病的钱", "治疗费"),
    "deductible": ("免赔", "赔付比例", "报销比例", "赔多少比例", "自付"),
}
_INJURY = ("摔", "跌", "骨折", "扭伤", "烫", "烧伤", "咬", "撞", "车祸", "受伤", "伤到",
           "砸", "割伤", "触电", "溺水")
_REPORT_HOW = ("多久", "几天", "期限", "时效", "怎么", "如何", "怎样", "哪里", "哪儿", "在哪",
               "去哪", "电话", "方式", "渠道", "流程")

#: Words of a personal request beside a public question, and the action that answers it.
PERSONAL_WORDS: Mapping[str, tuple[str, ...]] = {
    "action_claim_progress": ("进度", "到哪一步", "到哪了", "到哪步", "我的理赔", "理赔到",
                              "审核到", "批下来", "赔下来没", "赔了没", "到账了没", "钱到了没",
                              "报案号"),
    "action_policy_query": ("我的保单", "查保单", "查一下保单", "查下保单", "保单号",
                            "保单状态", "保单还有效"),
}
_QUESTION = ("多少", "几", "赔不赔", "保不保", "能不能", "能赔", "可以赔", "赔吗", "保吗",
             "怎么赔", "管不管", "管吗", "算不算", "算意外", "哪些", "什么情况", "怎么报案",
             "材料", "资料", "谁能", "什么时候开始")
_CLAIM_TYPE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("disability", ("伤残", "残疾", "致残", "鉴定", "瘫痪")),
    ("death", SUBJECT_WORDS["death"] + ("走了",)),
    ("hospital_allowance", ("住院", "津贴", "出院", "医院")),
    ("medical", SUBJECT_WORDS["medical"]),
)
_NUM = r"([0-9]{1,3}|[一二三四五六七八九十]{1,2})"
_LEVEL_RES = (re.compile(_NUM + r"\s*级\s*(?:伤残|残疾|伤|残)"),
              re.compile(r"(?:伤残|残疾)(?:等级)?(?:是|为|评了|评定)?\s*" + _NUM + r"\s*级"))
_HOSPITAL_LEVELS = {1: "一级", 2: "二级", 3: "三级"}
_CLAIM_SUBJECTS = ("transport", "ordinary", "disability", "allowance", "death", "medical")


def _has(text: str, words: Sequence[str]) -> bool:
    return any(w in text for w in words)


def transport_mode(text: str) -> str | None:
    """The public-transport mode the person rode; `private` for a vehicle that is none."""
    if _has(text, ("营运机动车", "营运车")):
        return "motor_vehicle"
    rest = text
    for word in (*PRIVATE_VEHICLES, *_NEUTRAL_VEHICLES):  # 电动车 and 机动车 hold 动车
        rest = rest.replace(word, "　")
    if not _has(text, _OWN_RIDE):
        for mode, words in MODE_WORDS.items():
            if _has(rest, words):
                return mode
    return "private" if _has(text, PRIVATE_VEHICLES) else None


def hit_by_vehicle(text: str) -> bool:
    """Struck by a vehicle (as a pedestrian), not riding in it: 被公交车撞了."""
    return _has(text, _HIT) and not _has(text, _RIDING)


def exclusions_named(text: str) -> list[str]:
    found = [code for code, words in EXCLUSION_WORDS.items() if _has(text, words)]
    if "drunk_driving" in found and not _has(text.replace("酒后驾", ""), ("醉酒", "喝醉")):
        found = [c for c in found if c != "drunkenness"]
    return found


def disability_level(text: str) -> int | None:
    for pattern in _LEVEL_RES:
        match = pattern.search(text)
        if match:
            return chinese_number(match.group(1))
    return None


def subjects(text: str) -> list[str]:
    """What the question asks about, most specific first; `summary` when nothing specific."""
    found: list[str] = []
    if _has(text, SUBJECT_WORDS["documents"]):
        found.append("documents")
    if _has(text, SUBJECT_WORDS["report"]) or ("报案" in text and _has(text, _REPORT_HOW)):
        found.append("report")
    if exclusions_named(text):
        found.append("exclusion")
    elif _has(text, _EXCLUSIONS_ASKED) and not _has(text, ("赔不赔", "保不保", "管不管")):
        found.append("exclusions")
    mode = transport_mode(text)
    if mode == "private" or (mode and hit_by_vehicle(text)):
        found.append("ordinary")
    elif mode or _has(text, _TRANSPORT):
        found.append("transport")
    for subject in ("within_days", "eligibility", "disability", "allowance", "death",
                    "medical", "deductible"):
        if _has(text, SUBJECT_WORDS[subject]) and not _said_already(subject, found, text):
            found.append(subject)
    if disability_level(text) and "disability" not in found:
        found.append("disability")
    if not found and _has(text, _INJURY):
        found.append("ordinary")
    if "documents" in found:  # the rest only says which claim type's documents
        found = [s for s in found if s not in _CLAIM_SUBJECTS]
    return found or ["summary"]


def _said_already(subject: str, found: list[str], text: str) -> bool:
    """A death already answered: as a transport or an ordinary accident, or excluded."""
    if subject != "death":
        return False
    excluded = {"sudden_death", "disease", "suicide"} & set(exclusions_named(text))
    return "transport" in found or "ordinary" in found or bool(excluded)


def asks_public(text: str) -> bool:
    """A public question in the words (beside a personal one): a subject and a question."""
    return subjects(text) != ["summary"] and _has(text, _QUESTION)


# a report that also asks what the scheme pays: "住院了，能赔吗", "医药费能报吗"
_ASKS_PAY = ("能报", "能赔", "可以报", "可以赔", "报销", "赔不赔", "报不报", "赔多少", "能不能赔",
             "能不能报", "管不管", "给不给赔", "赔吗", "报吗")


def asks_about_cover(text: str) -> bool:
    """An incident told together with a question on what is paid for it: answered from the
    product before the report goes on."""
    return _has(text, _ASKS_PAY) and bool(set(subjects(text)) - {"report", "summary"})


def asks_where_to_report(text: str) -> bool:
    """"出了意外去哪里报案": the report can be made right here."""
    return "report" in subjects(text) and _has(text, ("哪里", "哪儿", "去哪", "怎么", "如何"))


def asks_how_to_report(text: str) -> bool:
    """How to report, with no incident told: 怎么报案, 去哪里报案 — not 我妈摔倒了怎么报案."""
    told = _has(text, (*_INJURY, *SUBJECT_WORDS["death"], "住院", "医院", "出事了", "出险了",
                       "出了事", "出了意外", "出意外了"))
    return "report" in subjects(text) and not told and not _has(text, ("我要报案", "帮我报案"))


def personal_request(text: str) -> str | None:
    """The personal answer also asked for (my claim's progress, my policy), if any."""
    return next((action for action, words in PERSONAL_WORDS.items() if _has(text, words)), None)


# --- the product's figures -----------------------------------------------------------------

def figure(amount: Any) -> str:
    """'30000.00' → '30000'; '12.50' → '12.5'."""
    value = Decimal(str(amount))
    return f"{value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()}"


def yuan(amount: Any) -> str:
    return f"{figure(amount)} 元"


def span(amounts: Sequence[Decimal]) -> str:
    """'300–3000 元' (or one amount when they are all the same)."""
    low, high = min(amounts), max(amounts)
    return yuan(low) if low == high else f"{figure(low)}–{yuan(high)}"


def coverage_for(product: Product, claim_type: str) -> Mapping[str, Any] | None:
    return next((c for c in product.get("coverages") or []
                 if claim_type in (c.get("claim_types") or [])), None)


def sum_insured(coverage: Mapping[str, Any]) -> Decimal:
    return Decimal(str((coverage.get("sum_insured") or {}).get("default") or 0))


def per_policy(coverage: Mapping[str, Any]) -> bool:
    """The sum insured is chosen per policy (a range): the product alone gives no amount."""
    si = coverage.get("sum_insured") or {}
    return si.get("min", si.get("default")) != si.get("max", si.get("default"))


def _sum_text(coverage: Mapping[str, Any]) -> str:
    return "保单约定的保额" if per_policy(coverage) else yuan(sum_insured(coverage))


def exclusion_text(product: Product, code: str) -> str | None:
    return next((str(e.get("text")) for e in product.get("exclusions") or []
                 if e.get("code") == code), None)


def _within(coverage: Mapping[str, Any] | None) -> int | None:
    days = ((coverage or {}).get("benefit") or {}).get("within_days")
    return int(days) if days else None


def _death_line(product: Product) -> str | None:
    cov = coverage_for(product, "death")
    if cov is None:
        return None
    days = _within(cov)
    when = f"事故后 {days} 天内身故" if days else "意外身故"
    return f"{cov['name']}：{when}，赔 {_sum_text(cov)}"


def _percentages(cov: Mapping[str, Any]) -> list[tuple[int, Decimal]]:
    table = cov.get("disability_percentages") or {}
    return sorted((int(k), Decimal(str(v))) for k, v in table.items())


def _disability_cov(product: Product) -> Mapping[str, Any] | None:
    cov = coverage_for(product, "disability")
    return cov if cov and cov.get("disability_percentages") else None


def _disability_range(product: Product) -> str | None:
    cov = _disability_cov(product)
    if cov is None:
        return None
    return f"{cov['name']}：按伤残等级赔 {_disability_pay(cov)}"


def _disability_pay(cov: Mapping[str, Any]) -> str:
    """'300–3000 元', or '保额的 10%–100%' when the sum insured is the policy's."""
    pcts = [pct for _, pct in _percentages(cov)]
    if per_policy(cov):
        return f"保额的 {figure(min(pcts))}%–{figure(max(pcts))}%"
    return span([sum_insured(cov) * pct / 100 for pct in pcts])


def _allowance_brief(product: Product) -> str | None:
    cov = coverage_for(product, "hospital_allowance")
    if cov is None:
        return None
    benefit = cov.get("benefit") or {}
    daily = benefit.get("daily_amount")
    per_day = f"每天 {yuan(daily)}" if daily else "按保单约定的日额每天给付"
    limits = []
    if benefit.get("max_days_per_stay"):
        limits.append(f"每次住院最多 {benefit['max_days_per_stay']} 天")
    if benefit.get("max_days_per_year"):
        limits.append(f"每年最多 {benefit['max_days_per_year']} 天")
    return f"{cov['name']}：{per_day}" + (f"（{'、'.join(limits)}）" if limits else "")


def _transport_cov(product: Product) -> Mapping[str, Any] | None:
    cov = coverage_for(product, "transport_death")
    return cov if cov and cov.get("transport_modes") else None


def _instead_of(product: Product, cov: Mapping[str, Any]) -> str:
    other = (cov.get("benefit") or {}).get("instead_of")
    instead = next((c for c in product.get("coverages") or [] if c.get("code") == other), None)
    if instead is None:
        return ""
    return f"，代替 {_sum_text(instead)}的{instead['name']}金，不重复赔"


def _mode_name(mode: Mapping[str, Any]) -> str:
    includes = "、".join(mode.get("includes") or [])
    return f"{mode['name']}（{includes}等）" if includes else str(mode["name"])


def _mode_text(mode: Mapping[str, Any], with_includes: bool = True) -> str:
    return f"{_mode_name(mode) if with_includes else mode['name']} {yuan(mode['amount'])}"


# --- answers by subject --------------------------------------------------------------------

def answer(product: Product, text: str) -> str:
    """The public answer to `text` about `product`, one paragraph per subject asked."""
    parts: list[str] = []
    for subject in subjects(text):
        part = _BUILDERS[subject](product, text)
        if part and part not in parts:
            parts.append(part)
    return "\n".join(parts) or summary(product, text)


def summary(product: Product, text: str = "") -> str:
    lines = [line for line in (_death_line(product), _transport_brief(product),
                               _disability_range(product), _allowance_brief(product))
             if line]
    medical = coverage_for(product, "medical")
    if medical:
        lines.append(f"{medical['name']}：{_reimbursement(medical)}")
    head = f"{product.get('name')}" + ("只保意外伤害：" if product.get("line") == "accident"
                                        else "的保障：")
    disease = exclusion_text(product, "disease")
    tail = f"不赔：{disease}等。" if disease else ""
    return (head + "\n" + "\n".join(f"· {line}" for line in lines) + "\n" + tail
            + "想了解哪一项可以直接问我，比如“坐公交出事赔多少”“哪些情况不赔”。")


def _transport_brief(product: Product) -> str | None:
    cov = _transport_cov(product)
    if cov is None:
        return None
    amounts = [Decimal(str(m["amount"])) for m in cov["transport_modes"]]
    return f"{cov['name']}：乘坐公共交通工具身故，按交通方式赔 {span(amounts)}"


def transport(product: Product, text: str) -> str:
    cov = _transport_cov(product)
    if cov is None:
        death = _death_line(product)
        return ("本保险没有单独的公共交通意外身故保障" + (f"，按{death}。" if death else "。"))
    modes = list(cov["transport_modes"])
    asked = transport_mode(text)
    days = _within(cov)
    when = f"发生意外、{days} 天内身故" if days else "发生意外身故"
    chosen = next((m for m in modes if m["code"] == asked), None)
    if chosen is None:
        if asked in MODE_WORDS:  # a mode this product does not name
            return f"本保险的{cov['name']}不包括这种交通工具。" + ordinary(product, text)
        listed = "、".join(_mode_text(m) for m in modes)
        return f"乘坐公共交通工具{when}，按交通方式赔：{listed}{_instead_of(product, cov)}。"
    others = "、".join(_mode_text(m, with_includes=False) for m in modes if m is not chosen)
    lines = [f"乘坐{_mode_name(chosen)}{when}，赔 {yuan(chosen['amount'])}"
             f"{_instead_of(product, cov)}。"]
    if others:
        lines.append(f"其他公共交通工具：{others}。")
    injured = _injury_line(product)
    if injured and not _has(text, SUBJECT_WORDS["death"]):
        lines.append(f"只是受伤的话按普通意外：{injured}。")
    return "\n".join(lines)


def _injury_line(product: Product) -> str:
    parts = []
    allowance = coverage_for(product, "hospital_allowance")
    daily = ((allowance or {}).get("benefit") or {}).get("daily_amount")
    if daily:
        parts.append(f"住院津贴每天 {yuan(daily)}")
    cov = _disability_cov(product)
    if cov:
        parts.append(f"致残按等级赔 {_disability_pay(cov)}")
    return "，".join(parts)


def ordinary(product: Product, text: str) -> str:
    """An accident that is not a public-transport one: the ordinary benefits."""
    mode = transport_mode(text)
    lines = []
    if mode == "private":
        vehicle = next(w for w in PRIVATE_VEHICLES if w in text)
        lines.append(f"{vehicle}不属于公共交通工具，按普通意外保障：")
    elif mode and hit_by_vehicle(text):
        lines.append("被车撞伤不属于乘坐公共交通工具，按普通意外保障：")
    else:
        lines.append("属于意外伤害的，按普通意外保障：")
    lines += [f"· {line}" for line in (_allowance_brief(product), _disability_range(product),
                                        _death_line(product)) if line]
    if mode == "private":
        drunk = exclusion_text(product, "drunk_driving")
        if drunk:
            lines.append(f"注意：{drunk}，不赔。")
    return "\n".join(lines)


def disability(product: Product, text: str) -> str:
    cov = _disability_cov(product)
    if cov is None:
        return "本保险没有按伤残等级给付的保障。"
    table = _percentages(cov)
    scale = (cov.get("benefit") or {}).get("scale")
    level = disability_level(text)
    days = _within(cov)
    rule = f"须在事故后 {days} 天内致残。" if days else ""
    base, fixed = sum_insured(cov), not per_policy(cov)
    if level is not None:
        pct = dict(table).get(level)
        if pct is None:
            return f"伤残等级只有 {table[0][0]}–{table[-1][0]} 级（{scale}），请核对等级。"
        paid = f"，即 {yuan(base * pct / 100)}" if fixed else ""
        return f"{cov['name']} {level} 级：按{_sum_text(cov)}的 {figure(pct)}% 赔{paid}。{rule}"
    if fixed:
        levels = "、".join(f"{lv}级 {figure(base * pct / 100)}" for lv, pct in table)
        unit = "（元）"
    else:
        levels, unit = "、".join(f"{lv}级 {figure(pct)}%" for lv, pct in table), ""
    return (f"{cov['name']}按伤残等级（{scale}）赔{_sum_text(cov)}的一定比例："
            f"{levels}{unit}。{rule}")


def allowance(product: Product, text: str) -> str:
    cov = coverage_for(product, "hospital_allowance")
    if cov is None:
        return "本保险没有住院津贴。"
    benefit = cov.get("benefit") or {}
    lines = [f"{_allowance_brief(product)}。"]
    level = benefit.get("min_hospital_level")
    if level:
        lines.append(f"须因意外在{_HOSPITAL_LEVELS.get(int(level), f'{level}级')}及以上医院住院。")
    daily, per_year = benefit.get("daily_amount"), benefit.get("max_days_per_year")
    if daily and per_year:
        lines.append(f"一年最多赔 {yuan(Decimal(str(daily)) * int(per_year))}。")
    first_days = benefit.get("deductible_days")
    lines.append(f"住院前 {first_days} 天不赔。" if first_days
                 else "住院天数 = 出院日期 − 入院日期，没有免赔天数。")
    excluded = [exclusion_text(product, code) for code in cov.get("exclusions") or []]
    disease = exclusion_text(product, "disease")
    named = [t for t in (disease, *excluded) if t]
    if named:
        lines.append(f"\n不赔：{'；'.join(named)}。")
    return "".join(lines)


def death(product: Product, text: str) -> str:
    line = _death_line(product)
    lines = [f"{line}。" if line else "本保险没有意外身故保障。"]
    cov = _transport_cov(product)
    if cov:
        lines.append(f"{_transport_brief(product)}{_instead_of(product, cov)}。")
    disease = exclusion_text(product, "disease")
    if disease:
        lines.append(f"不赔：{disease}。")
    return "\n".join(lines)


def exclusion(product: Product, text: str) -> str:
    texts = [t for t in (exclusion_text(product, c) for c in exclusions_named(text)) if t]
    if not texts:
        return exclusions(product, text)
    lines = [f"以下情况不赔（{product.get('name')}的责任免除）：{'；'.join(texts)}。"
             "是否属于这种情况，以报案后的审核为准。"]
    injured = _injury_line(product)
    if injured and _has(text, _INJURY):
        lines.append(f"如果是意外受伤（不是上面这些原因引起的），按普通意外保障：{injured}。")
    return "\n".join(lines)


def exclusions(product: Product, text: str) -> str:
    items = [str(e.get("text")) for e in product.get("exclusions") or []]
    if not items:
        return "本保险没有列明的责任免除。"
    return "以下情况不赔（责任免除）：\n" + "\n".join(f"· {t}" for t in items)


def within_days(product: Product, text: str) -> str:
    limited = [c for c in product.get("coverages") or [] if _within(c)]
    if not limited:
        return "本保险对身故、伤残没有事故后天数的限制。"
    days = _within(limited[0])
    names = "、".join(c["name"] for c in limited)
    free = [c["name"] for c in product.get("coverages") or [] if not _within(c)]
    text_ = (f"{names}：须在意外发生后 {days} 天内导致身故或伤残才赔。"
             f"到第 {days} 天治疗还没结束的，按第 {days} 天的身体状况评定伤残，"
             f"鉴定日期晚于 {days} 天也可以。")
    return text_ + (f"{'、'.join(free)}不受这个天数限制。" if free else "")


def eligibility(product: Product, text: str) -> str:
    rules = product.get("eligibility") or {}
    area, min_age = rules.get("area_name"), rules.get("min_age")
    if not area or min_age is None:
        ages = product.get("entry_age") or {}
        return (f"{product.get('name')}：{ages.get('min', '')}–{ages.get('max', '')} 周岁可以投保，"
                "需要投保人申请、核保通过并交费后生效。")
    where = f"户籍在{area}" if rules.get("residence") == "household_registration" else area
    lines = [f"{where}、年满 {min_age} 周岁的老人都在{product.get('name')}保障范围内。"]
    if rules.get("applicant") == "government":
        premium = product.get("flat_premium_per_insured")
        paid = f"（每人每年 {yuan(premium)}）" if premium else ""
        lines.append(f"由政府统一投保并交保费{paid}，个人不用申请、不用交钱。")
    if rules.get("auto_enrollment"):
        lines.append(f"新满 {min_age} 周岁的，从符合条件后的次月1日起自动纳入保障。")
    lines.append("想确认某位老人是否在保，可以说“查保单”。")
    return "".join(lines)


def report(product: Product, text: str) -> str:
    years = product.get("time_bar_years")
    limit = f"最迟在知道出险之日起 {years} 年内提出，过期不再受理" if years else "越早越好"
    return ("报案可以直接在这里说“我要报案”，我会问清出险人、时间、地点、经过和伤情，"
            "马上给您报案号；也可以到服务网点办理，行动不便的老人可以预约上门。"
            f"出险后请尽快报案，{limit}。报案后我会一次性告诉您需要哪些材料。")


def medical(product: Product, text: str) -> str:
    cov = coverage_for(product, "medical")
    if cov:
        return f"{cov['name']}：{_reimbursement(cov)}。"
    daily = _allowance_brief(product)
    return "本保险不报销医疗费。" + (f"意外住院可领{daily}。" if daily else "")


def _reimbursement(cov: Mapping[str, Any]) -> str:
    benefit = cov.get("benefit") or {}
    parts = ["报销意外医疗费用"]
    if benefit.get("deductible"):
        parts.append(f"免赔额 {yuan(benefit['deductible'])}")
    if benefit.get("coinsurance_ratio"):
        parts.append(f"赔付比例 {Decimal(str(benefit['coinsurance_ratio'])) * 100:.0f}%")
    return "，".join(parts)


def deductible(product: Product, text: str) -> str:
    cov = coverage_for(product, "medical")
    if cov and (cov.get("benefit") or {}).get("rule") == "reimbursement":
        return f"{cov['name']}：{_reimbursement(cov)}。"
    return "没有免赔额，也没有赔付比例：各项保障按固定金额给付。"


def documents_of(product: Product, claim_type: str) -> list[str]:
    return [str(d.get("name")) for d in (product.get("claim_documents") or {}).get(claim_type, [])]


def claim_type_asked(text: str, incident_type: str | None = None) -> str | None:
    """The claim type a documents question is about: from the words, else the entity."""
    for claim_type, words in _CLAIM_TYPE_WORDS:
        if _has(text, words):
            if claim_type == "death" and transport_mode(text) in MODE_WORDS:
                return "transport_death"
            return claim_type
    return {"death": "death", "fall": "hospital_allowance"}.get(incident_type or "")


def documents(product: Product, text: str, incident_type: str | None = None) -> str:
    names = {ct: (coverage_for(product, ct) or {}).get("name") for ct in
             (product.get("claim_documents") or {})}
    asked = claim_type_asked(text, incident_type)
    after = "报案后我会把还缺的材料一次性告诉您。"
    if asked:
        docs = documents_of(product, asked)
        if not docs:
            return f"{product.get('name')}不含这类保障，不用准备这类材料。" + medical(product, text)
        return f"{names.get(asked) or asked}需要：{'、'.join(docs)}。{after}"
    lines = []
    death_docs = documents_of(product, "death")
    for claim_type, label in names.items():
        docs = documents_of(product, claim_type)
        extra = [d for d in docs if d not in death_docs]
        if claim_type == "transport_death" and death_docs and len(extra) < len(docs):
            lines.append(f"· {label}：同{names.get('death')}，另加{'、'.join(extra)}")
        else:
            lines.append(f"· {label or claim_type}：{'、'.join(docs)}")
    return "不同理赔类型需要的材料：\n" + "\n".join(lines) + f"\n请问您是哪种情况？{after}"


_BUILDERS = {
    "documents": documents, "report": report, "exclusion": exclusion,
    "exclusions": exclusions, "transport": transport, "ordinary": ordinary,
    "within_days": within_days, "eligibility": eligibility, "disability": disability,
    "allowance": allowance, "death": death, "medical": medical, "deductible": deductible,
    "summary": summary,
}

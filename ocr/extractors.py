"""Document type detection and one extractor per document type.

Each extractor turns recognised lines into the fields of CONTRACTS.md (plus the back of the ID
card), each with a confidence, and lists the checks that failed as warnings. A field whose
check fails keeps its value with half the confidence, so the back office sends it to review.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ocr import validate as v
from ocr.engine import Line
from ocr.layout import Labels, Value, compact, continuation, find_values, first_value

FIELDS: dict[str, tuple[str, ...]] = {
    "id_card": ("name", "gender", "ethnicity", "birth_date", "address", "id_number"),
    "medical_invoice": ("payer_name", "hospital", "invoice_code", "invoice_number",
                        "issue_date", "total_amount"),
    "discharge_summary": ("patient_name", "hospital", "admission_date", "discharge_date",
                          "hospital_days", "diagnosis"),
    "bank_card": ("card_number", "bank_name"),
    "death_certificate": ("name", "id_number", "death_date", "cause"),
    "disability_assessment": ("name", "id_number", "disability_level", "assessment_date"),
    "accident_certificate": ("accident_date", "location", "parties"),
}
ID_CARD_BACK_FIELDS = ("issuing_authority", "valid_from", "valid_until")
DOC_TYPES = tuple(FIELDS)

FAILED_CHECK = 0.5  # a value that fails its check is kept at half the confidence

LABELS_OF = {
    "name": "姓名", "gender": "性别", "ethnicity": "民族", "birth_date": "出生日期",
    "address": "住址", "id_number": "身份证号", "payer_name": "交款人", "hospital": "医院",
    "invoice_code": "票据代码", "invoice_number": "票据号码", "issue_date": "开票日期",
    "total_amount": "金额合计", "patient_name": "患者姓名", "admission_date": "入院日期",
    "discharge_date": "出院日期", "hospital_days": "住院天数", "diagnosis": "出院诊断",
    "card_number": "卡号", "bank_name": "开户银行", "death_date": "死亡日期", "cause": "死亡原因",
    "disability_level": "伤残等级", "assessment_date": "鉴定日期", "accident_date": "事故日期",
    "location": "事故地点", "parties": "当事人", "issuing_authority": "签发机关",
    "valid_from": "有效期起", "valid_until": "有效期止",
}


@dataclass
class Extraction:
    doc_type: str
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    side: str | None = None

    def put(self, name: str, value: Any, confidence: float) -> None:
        self.fields[name] = {"value": value, "confidence": round(max(0.0, min(confidence, 1.0)),
                                                                   3)}

    def value(self, name: str) -> Any:
        return self.fields.get(name, {}).get("value")

    def doubt(self, name: str, warning: str) -> None:
        """A failed check: warn and halve the field's confidence."""
        self.warnings.append(warning)
        if name in self.fields:
            self.fields[name]["confidence"] = round(self.fields[name]["confidence"]
                                                    * FAILED_CHECK, 3)

    def complete(self, names: tuple[str, ...]) -> None:
        """Every field of the type is in the answer; the ones not read are null."""
        for name in names:
            if name not in self.fields:
                self.put(name, None, 0.0)
                self.warnings.append(f"未识别到{LABELS_OF.get(name, name)}")
        self.fields = {n: self.fields[n] for n in names} | {
            n: f for n, f in self.fields.items() if n not in names}


# ---- type detection --------------------------------------------------------------------------

KEYWORDS: dict[str, tuple[tuple[str, float], ...]] = {
    "id_card": (("公民身份号码", 3), ("住址", 1), ("民族", 1), ("出生", 0.5), ("签发机关", 3),
                ("有效期限", 2), ("居民身份证", 2)),
    "medical_invoice": (("票据", 2), ("收费", 1.5), ("交款人", 2), ("大写", 1.5), ("小写", 1),
                        ("收款单位", 1.5), ("发票", 2)),
    "discharge_summary": (("出院记录", 3), ("出院小结", 3), ("入院日期", 1.5), ("出院日期", 1.5),
                          ("出院诊断", 2), ("住院号", 1), ("出院医嘱", 1)),
    "bank_card": (("银联", 2.5), ("UnionPay", 2.5), ("借记卡", 2), ("储蓄卡", 2), ("信用卡", 2),
                  ("DEBIT", 1.5), ("银行", 1)),
    "death_certificate": (("死亡医学证明", 4), ("死亡原因", 2), ("死亡日期", 2), ("死亡", 1)),
    "disability_assessment": (("伤残", 2), ("鉴定意见", 2), ("被鉴定人", 2.5), ("鉴定", 1)),
    "accident_certificate": (("事故认定书", 4), ("事故证明", 4), ("事故时间", 2), ("事故地点", 2),
                             ("当事人", 1.5), ("事故", 1)),
}
CARD_DIGITS = re.compile(r"(?<!\d)(?:\d[ ]?){15,18}\d(?!\d)")


def detect_type(lines: list[Line]) -> str | None:
    text = compact("".join(ln.text for ln in lines))
    scores = {t: sum(w for kw, w in kws if kw in text) for t, kws in KEYWORDS.items()}
    if any(CARD_DIGITS.search(ln.text) and len(compact(ln.text)) <= 24 for ln in lines) \
            and not re.search(r"\d{17}[\dXx]", text):
        scores["bank_card"] += 2
    best = max(scores, key=lambda t: scores[t])
    return best if scores[best] >= 2 else None


def id_card_side(lines: list[Line]) -> str:
    text = compact("".join(ln.text for ln in lines))
    back = sum(k in text for k in ("签发机关", "有效期限", "中华人民共和国", "居民身份证"))
    front = sum(k in text for k in ("姓名", "性别", "民族", "住址", "公民身份号码", "出生"))
    return "back" if back > front else "front"


# ---- value clean-up --------------------------------------------------------------------------

CJK_NAME = re.compile(r"[\u4e00-\u9fff·]{2,6}")


def clean_name(text: str) -> str | None:
    text = re.split(r"[之的，,（(]", text)[0]
    found = CJK_NAME.search(text)
    return found.group(0) if found else None


PERSON = re.compile(r"[\u4e00-\u9fff·]{2,4}")
# common surnames: where a separator between two names was lost, the second name starts here
SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘"
               "袁蔡蒋余杜叶程魏苏吕丁沈任姚卢钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯"
               "江尹薛闫段雷龙史陶贺顾毛郝龚邵万钱严覃武戴莫孔向汤")


def split_names(token: str) -> list[str]:
    """Person names in a token; two names run together (a lost 、) are split at a surname."""
    token = re.sub(r"[^\u4e00-\u9fff·]", "", token)
    if PERSON.fullmatch(token) and len(token) <= 3:
        return [token]
    if len(token) >= 4:
        for cut in (2, 3, len(token) - 2, len(token) - 3):
            head, tail = token[:cut], token[cut:]
            if 2 <= len(head) <= 3 and 2 <= len(tail) <= 3 and tail[0] in SURNAMES \
                    and head[0] in SURNAMES:
                return [head, tail]
    return [token] if PERSON.fullmatch(token) else []


def clean_text(text: str) -> str:
    return re.sub(r"^[（(]?章[）)]?", "", text).strip(" ：:;；,，。.")


# Medical words the recogniser gets wrong with a look-alike character (桡 is rare in its
# training text). Applied to diagnoses and causes of death only.
MEDICAL_FIXES = {"烧骨": "桡骨", "桃骨": "桡骨", "挠骨": "桡骨", "饶骨": "桡骨", "胫排骨": "胫腓骨",
                 "径骨": "胫骨", "股骨胫": "股骨颈", "胧骨": "肱骨", "肪骨": "肋骨", "腰推": "腰椎",
                 "颈推": "颈椎", "胸推": "胸椎", "骨拆": "骨折", "骨析": "骨折", "脑震汤": "脑震荡",
                 "颅脑损份": "颅脑损伤"}


def medical_text(text: str) -> str | None:
    cleaned = clean_text(text)
    for wrong, right in MEDICAL_FIXES.items():
        cleaned = cleaned.replace(wrong, right)
    return cleaned or None


def digits(text: str) -> str:
    return re.sub(r"\D", "", text.replace("O", "0").replace("o", "0").replace("l", "1"))


def _put_text(ex: Extraction, name: str, found: Value | None,
              clean: Callable[[str], str | None] = clean_text) -> None:
    if found is not None:
        value = clean(found.text)
        if value:
            ex.put(name, value, found.score)


def _put_date(ex: Extraction, name: str, found: Value | None) -> None:
    if found is not None:
        value = v.normalise_date(found.text)
        if value:
            ex.put(name, value, found.score)
        else:
            ex.warnings.append(f"{LABELS_OF[name]}不是有效日期：{found.text}")


def _put_id(ex: Extraction, found: Value | None, lines: list[Line]) -> None:
    """The ID number by its label, else any 18-character ID-shaped string on the page."""
    candidates = [(found.text, found.score)] if found else []
    candidates += [(ln.text, ln.score) for ln in lines]
    for text, score in candidates:
        value = v.repair_id_number(text)
        if value:
            ex.put("id_number", value, score)
            return


def _check_id(ex: Extraction, birth: str | None = None, gender: str | None = None) -> None:
    value = ex.value("id_number")
    if not value:
        return
    for problem in v.id_problems(value, birth, gender):
        target = {"出生日期与身份证号不一致": "birth_date",
                  "性别与身份证号不一致": "gender"}.get(problem, "id_number")
        ex.doubt(target, problem)


# ---- the extractors --------------------------------------------------------------------------

ID_FRONT = Labels({"name": ["姓名"], "gender": ["性别"], "ethnicity": ["民族"],
                   "birth_date": ["出生日期", "出生"], "address": ["住址"],
                   "id_number": ["公民身份号码", "身份证号码", "公民身份号", "身份号码"]})
ID_BACK = Labels({"issuing_authority": ["签发机关"], "validity": ["有效期限", "有效期"]},
                 stops=["中华人民共和国", "居民身份证"])


def extract_id_card(lines: list[Line]) -> Extraction:
    side = id_card_side(lines)
    ex = Extraction("id_card", side=side)
    if side == "back":
        return _id_back(ex, lines)
    vals = find_values(lines, ID_FRONT)
    _put_text(ex, "name", first_value(vals, "name"), clean_name)
    gender = first_value(vals, "gender")
    if gender and (g := re.search(r"[男女]", gender.text)):
        ex.put("gender", g.group(0), gender.score)
    eth = first_value(vals, "ethnicity")
    if eth and (e := re.match(r"[\u4e00-\u9fff]+", eth.text)):
        group, known = v.ethnic_group(e.group(0))
        ex.put("ethnicity", group, eth.score)
        if not known:
            ex.doubt("ethnicity", f"民族“{group}”不在56个民族之列")
    _put_date(ex, "birth_date", first_value(vals, "birth_date"))
    addr = first_value(vals, "address")
    if addr is not None:
        more = continuation(addr, lines, ID_FRONT)
        text = clean_text(addr.text + "".join(compact(ln.text) for ln in more))
        ex.put("address", text, min([addr.score] + [ln.score for ln in more]))
    _put_id(ex, first_value(vals, "id_number"), lines)
    _fill_from_id(ex)
    _check_id(ex, ex.value("birth_date"), ex.value("gender"))
    ex.complete(FIELDS["id_card"])
    return ex


def _fill_from_id(ex: Extraction) -> None:
    """Birth date and gender not read on the card are what a valid ID number says."""
    value = ex.value("id_number")
    if not value or v.id_problems(value):
        return
    conf = ex.fields["id_number"]["confidence"] * 0.9
    if ex.value("birth_date") is None:
        ex.put("birth_date", v.id_birth_date(value), conf)
    if ex.value("gender") is None:
        ex.put("gender", v.id_gender(value), conf)


def _id_back(ex: Extraction, lines: list[Line]) -> Extraction:
    vals = find_values(lines, ID_BACK)
    _put_text(ex, "issuing_authority", first_value(vals, "issuing_authority"))
    validity = first_value(vals, "validity")
    if validity is not None:
        text = validity.text
        first = v.find_date(text)
        if first:
            ex.put("valid_from", first[0], validity.score)
            rest = text[first[2]:]
            second = v.find_date(rest)
            if second:
                ex.put("valid_until", second[0], validity.score)
            elif "长期" in rest:
                ex.put("valid_until", "长期", validity.score)
    if ex.value("valid_from") and ex.value("valid_until") not in (None, "长期") \
            and ex.value("valid_until") <= ex.value("valid_from"):
        ex.doubt("valid_until", "有效期限的截止日期早于起始日期")
    ex.complete(ID_CARD_BACK_FIELDS)
    return ex


INVOICE = Labels(
    {"payer_name": ["交款人", "患者姓名"], "hospital": ["收款单位（章）", "收款单位(章)",
                                                    "收款单位", "开票单位", "医疗机构名称"],
     "invoice_code": ["票据代码", "发票代码"], "invoice_number": ["票据号码", "发票号码"],
     "issue_date": ["开票日期"], "words": ["金额合计（大写）", "金额合计(大写)", "合计（大写）",
                                          "合计(大写)", "（大写）", "(大写)", "大写"],
     "figures": ["（小写）", "(小写)", "小写"]},
    stops=["交款人统一社会信用代码", "复核人", "收款人", "项目名称", "金额（元）", "校验码"])


def extract_invoice(lines: list[Line]) -> Extraction:
    ex = Extraction("medical_invoice")
    vals = find_values(lines, INVOICE)
    _put_text(ex, "payer_name", first_value(vals, "payer_name"), clean_name)
    _put_text(ex, "hospital", first_value(vals, "hospital"))
    for name in ("invoice_code", "invoice_number"):
        found = first_value(vals, name)
        if found and digits(found.text):
            ex.put(name, digits(found.text), found.score)
    _put_date(ex, "issue_date", first_value(vals, "issue_date"))
    _invoice_total(ex, first_value(vals, "words"), first_value(vals, "figures"))
    if ex.value("invoice_code") and len(ex.value("invoice_code")) not in (8, 12):
        ex.doubt("invoice_code", "票据代码位数不对")
    ex.complete(FIELDS["medical_invoice"])
    return ex


def _invoice_total(ex: Extraction, words: Value | None, figures: Value | None) -> None:
    in_words = v.words_to_amount(words.text) if words else None
    in_figures = v.parse_amount(figures.text) if figures else None
    if in_figures is not None and figures is not None:
        ex.put("total_amount", f"{in_figures:.2f}", figures.score)
    elif in_words is not None and words is not None:
        ex.put("total_amount", f"{in_words:.2f}", words.score * 0.9)
    if in_words is None or in_figures is None:
        if ex.value("total_amount"):
            ex.doubt("total_amount", "无法核对大写金额与小写金额")
    elif in_words != in_figures:
        ex.doubt("total_amount", f"大写金额 {in_words:.2f} 与小写金额 {in_figures:.2f} 不一致")


DISCHARGE = Labels(
    {"patient_name": ["患者姓名", "姓名"], "admission_date": ["入院日期", "入院时间"],
     "discharge_date": ["出院日期", "出院时间"], "days": ["实际住院天数", "住院天数"],
     "diagnosis": ["出院诊断"]},
    stops=["性别", "年龄", "科室", "住院号", "床号", "入院诊断", "诊疗经过", "出院情况",
           "出院医嘱", "医师签名", "病案号"])
HOSPITAL_NAME = re.compile(r"[\u4e00-\u9fff（）()]{2,30}(?:医院|卫生院|医疗中心|保健院|诊所)")


def extract_discharge(lines: list[Line]) -> Extraction:
    ex = Extraction("discharge_summary")
    vals = find_values(lines, DISCHARGE)
    _put_text(ex, "patient_name", first_value(vals, "patient_name"), clean_name)
    for ln in sorted(lines, key=lambda ln: ln.y0)[:4]:
        found = HOSPITAL_NAME.search(compact(ln.text))
        if found:
            ex.put("hospital", found.group(0), ln.score)
            break
    _put_date(ex, "admission_date", first_value(vals, "admission_date"))
    _put_date(ex, "discharge_date", first_value(vals, "discharge_date"))
    _put_text(ex, "diagnosis", first_value(vals, "diagnosis"), medical_text)
    printed = first_value(vals, "days")
    printed_days = int(m.group(0)) if printed and (m := re.search(r"\d+", printed.text)) else None
    start, end = ex.value("admission_date"), ex.value("discharge_date")
    if start and end:
        conf = min(ex.fields["admission_date"]["confidence"],
                   ex.fields["discharge_date"]["confidence"])
        if end < start:
            ex.put("hospital_days", None, 0.0)
            ex.doubt("discharge_date", "出院日期早于入院日期")
        else:
            ex.put("hospital_days", v.days_between(start, end), conf)
            if printed_days is not None and printed_days != ex.value("hospital_days"):
                ex.doubt("hospital_days", f"住院天数 {printed_days} 与出入院日期不符")
    elif printed_days is not None and printed is not None:
        ex.put("hospital_days", printed_days, printed.score * FAILED_CHECK)
        ex.warnings.append("住院天数无法由出入院日期核对")
    ex.complete(FIELDS["discharge_summary"])
    return ex


BANK_PRINTED = re.compile(r"[\u4e00-\u9fff]{2,12}银行")


def extract_bank_card(lines: list[Line]) -> Extraction:
    ex = Extraction("bank_card")
    # an ID number on the same page is 18 digits too, but never a card number
    candidates = [(n, sc) for n, sc in _card_numbers(lines) if v.id_problems(n)]
    valid = [(n, s) for n, s in candidates if v.luhn_ok(n)]
    if valid or candidates:
        number, score = (valid or candidates)[0]
        ex.put("card_number", number, score)
        if not valid:
            ex.doubt("card_number", "银行卡号校验（Luhn）未通过")
    printed = next(((m.group(0), ln.score) for ln in lines
                    if (m := BANK_PRINTED.search(compact(ln.text)))), None)
    by_bin = v.bank_of(ex.value("card_number") or "")
    if by_bin:
        ex.put("bank_name", by_bin, ex.fields["card_number"]["confidence"])
        if printed and by_bin not in printed[0] and printed[0] not in by_bin:
            ex.doubt("bank_name", f"卡面银行“{printed[0]}”与卡号所属银行“{by_bin}”不一致")
    elif printed:
        ex.put("bank_name", _known_bank(printed[0]), printed[1])
    ex.complete(FIELDS["bank_card"])
    return ex


def _known_bank(printed: str) -> str:
    return next((b for b in v.BANK_NAMES if b in printed), printed)


def _card_numbers(lines: list[Line]) -> list[tuple[str, float]]:
    """Digit runs of card length; groups split into several boxes on one row are joined."""
    out: list[tuple[str, float]] = []
    digit_lines = [ln for ln in lines if re.fullmatch(r"[\d\s]{3,}", ln.text.strip())]
    rows: list[list[Line]] = []
    for ln in sorted(digit_lines, key=lambda ln: ln.cy):
        if rows and abs(rows[-1][-1].cy - ln.cy) < 0.5 * ln.height:
            rows[-1].append(ln)
        else:
            rows.append([ln])
    for row in rows:
        row.sort(key=lambda ln: ln.x0)
        joined = digits("".join(ln.text for ln in row))
        if 15 <= len(joined) <= 19:
            out.append((joined, min(ln.score for ln in row)))
    for ln in lines:
        for m in CARD_DIGITS.finditer(ln.text):
            joined = digits(m.group(0))
            if all(joined != n for n, _ in out):
                out.append((joined, ln.score))
    return out


DEATH = Labels(
    {"name": ["死者姓名", "姓名"],
     "id_number": ["有效身份证件号码", "身份证件号码", "身份证号码", "身份证号"],
     "death_date": ["死亡日期", "死亡时间"], "root_cause": ["根本死亡原因"],
     "direct_cause": ["直接死亡原因"], "cause": ["死亡原因"]},
    stops=["性别", "民族", "死亡地点", "医师签名", "填报日期", "年龄", "证件类型"])


def extract_death(lines: list[Line]) -> Extraction:
    ex = Extraction("death_certificate")
    vals = find_values(lines, DEATH)
    _put_text(ex, "name", first_value(vals, "name"), clean_name)
    _put_id(ex, first_value(vals, "id_number"), lines)
    _put_date(ex, "death_date", first_value(vals, "death_date"))
    cause = next((c for key in ("root_cause", "direct_cause", "cause")
                  if (c := first_value(vals, key))), None)
    _put_text(ex, "cause", cause, medical_text)
    _check_id(ex)
    ex.complete(FIELDS["death_certificate"])
    return ex


DISABILITY = Labels(
    {"name": ["被鉴定人", "姓名"], "id_number": ["身份证号码", "身份证号", "身份证件号码"],
     "assessment_date": ["鉴定日期", "鉴定时间", "意见日期"], "opinion": ["鉴定意见", "鉴定结论"]},
    stops=["性别", "委托事项", "委托人", "年龄"])


def extract_disability(lines: list[Line]) -> Extraction:
    ex = Extraction("disability_assessment")
    vals = find_values(lines, DISABILITY)
    _put_text(ex, "name", first_value(vals, "name"), clean_name)
    _put_id(ex, first_value(vals, "id_number"), lines)
    _put_date(ex, "assessment_date", first_value(vals, "assessment_date"))
    for ln in lines:
        if "伤残" in ln.text and (level := v.cn_level(compact(ln.text))):
            ex.put("disability_level", level, ln.score)
            break
    _check_id(ex)
    ex.complete(FIELDS["disability_assessment"])
    return ex


ACCIDENT = Labels(
    {"accident_date": ["事故时间", "事故日期", "发生时间"], "location": ["事故地点", "发生地点"],
     "parties": ["当事人"]},
    stops=["出具单位", "事故基本事实", "天气", "交通方式"])


def extract_accident(lines: list[Line]) -> Extraction:
    ex = Extraction("accident_certificate")
    vals = find_values(lines, ACCIDENT)
    _put_date(ex, "accident_date", first_value(vals, "accident_date"))
    _put_text(ex, "location", first_value(vals, "location"))
    parties = first_value(vals, "parties")
    if parties is not None:
        names = [n for part in re.split(r"[、丶,，;；\s]+", parties.text)
                 for n in split_names(part)]
        if names:
            ex.put("parties", names, parties.score)
    ex.complete(FIELDS["accident_certificate"])
    return ex


EXTRACTORS: dict[str, Callable[[list[Line]], Extraction]] = {
    "id_card": extract_id_card,
    "medical_invoice": extract_invoice,
    "discharge_summary": extract_discharge,
    "bank_card": extract_bank_card,
    "death_certificate": extract_death,
    "disability_assessment": extract_disability,
    "accident_certificate": extract_accident,
}

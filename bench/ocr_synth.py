"""Synthetic claim documents with their ground truth, for OCR tests and the OCR bench.

Draws every document type of CONTRACTS.md (both sides of the ID card) with PIL in several
layouts and fonts, then takes a "phone photo" of it: a table behind it, perspective, rotation,
blur, noise, glare, JPEG artefacts, and some pictures turned a quarter or upside down, tiny or
huge. The same seed draws the same documents.

Needs Chinese fonts (Debian: fonts-wqy-zenhei, fonts-wqy-microhei, fonts-arphic-uming; `make
fonts` installs them): without them it stops with a clear error.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ocr.validate import BINS, amount_to_words, id_check_char

FONT_FILES = {
    "wqy-zenhei": "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "wqy-microhei": "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "uming": "/usr/share/fonts/truetype/arphic/uming.ttc",
}
FONTS_HINT = ("没有中文字体：请安装 Debian 包 fonts-wqy-zenhei fonts-wqy-microhei "
              "fonts-arphic-uming（`make fonts` 以 root 运行时自动安装）")

DOC_TYPES = ("id_card", "id_card_back", "medical_invoice", "discharge_summary", "bank_card",
             "death_certificate", "disability_assessment", "accident_certificate")


class FontsMissing(RuntimeError):
    pass


def available_fonts() -> list[str]:
    found = [p for p in FONT_FILES.values() if Path(p).is_file()]
    if not found:
        raise FontsMissing(FONTS_HINT)
    return found


@dataclass
class Sample:
    kind: str  # one of DOC_TYPES (id_card_back is an id_card)
    doc_type: str
    truth: dict[str, Any]
    image: bytes  # the photo as a JPEG (or PNG / PDF for some)
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


# ---- people, places, numbers -----------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁沈任姚卢钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙史陶贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红玉梅林文辉斌燕海鹏飞宇俊浩然子涵欣怡佳琪梓萱雨轩思远晓东春生秋菊冬梅振华德胜少雄桂香淑珍惠玲"  # noqa: E501
ETHNIC = ["汉"] * 8 + ["壮", "回", "满", "苗", "畲", "瑶", "土家"]
AREAS = {"440514": "广东省汕头市潮南区", "440513": "广东省汕头市潮阳区",
         "440507": "广东省汕头市龙湖区", "445202": "广东省揭阳市榕城区",
         "440106": "广东省广州市天河区"}
TOWNS = ["峡山街道", "陈店镇", "两英镇", "司马浦镇", "胪岗镇", "成田镇", "井都镇", "仙城镇"]
STREETS = ["和平路", "中山路", "建设路", "人民路", "新兴街", "东风路", "兴华路", "振兴路"]
HOSPITALS = ["汕头市潮南区人民医院", "汕头市中心医院", "汕头大学医学院第一附属医院",
             "潮南区峡山医院", "汕头市第二人民医院", "潮南民生医院", "揭阳市人民医院"]
DIAGNOSES = ["左桡骨远端骨折", "右股骨颈骨折", "腰椎压缩性骨折", "脑震荡", "多发肋骨骨折",
             "左踝关节扭伤", "头皮裂伤", "右胫腓骨骨折", "肺部感染", "高血压病3级"]
CAUSES = ["颅脑损伤", "多器官功能衰竭", "失血性休克", "呼吸循环衰竭", "急性心肌梗死",
          "溺水", "重型颅脑损伤"]
DEPARTMENTS = ["骨科", "神经外科", "普外科", "急诊科", "内科", "创伤外科"]
POLICE = ["汕头市公安局潮南分局", "汕头市公安局潮阳分局", "揭阳市公安局榕城分局"]
ITEMS = ["西药费", "中成药费", "检查费", "化验费", "治疗费", "床位费", "手术费", "材料费",
         "护理费"]


def person(rng: random.Random) -> dict[str, Any]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 60))
    area = rng.choice(list(AREAS))
    seq = rng.randrange(0, 1000)
    gender = rng.choice(("男", "女"))
    parity = rng.choice((1, 3, 5, 7, 9)) if gender == "男" else rng.choice((0, 2, 4, 6, 8))
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"[:16] + str(parity)
    id_number = first17 + id_check_char(first17)
    address = (AREAS[area] + rng.choice(TOWNS) + rng.choice(STREETS)
               + f"{rng.randrange(1, 300)}号")
    return {"name": name, "gender": gender, "ethnicity": rng.choice(ETHNIC),
            "birth_date": born, "id_number": id_number, "address": address}


def card_number(rng: random.Random) -> tuple[str, str]:
    bin6, bank = rng.choice(sorted(BINS.items()))
    length = rng.choice((16, 19))
    body = bin6 + "".join(str(rng.randrange(10)) for _ in range(length - 7))
    total = 0
    for i, ch in enumerate(reversed(body + "0")):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10), bank


def some_day(rng: random.Random, start: date = date(2023, 1, 1), span: int = 900) -> date:
    return start + timedelta(days=rng.randrange(span))


def cn_date(d: date, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"{d.year}年{d.month}月{d.day}日"
    if style == 1:
        return f"{d.year}年{d.month:02d}月{d.day:02d}日"
    if style == 2:
        return d.isoformat()
    return f"{d.year}.{d.month:02d}.{d.day:02d}"


# ---- drawing ---------------------------------------------------------------------------------

class Canvas:
    def __init__(self, size: tuple[int, int], rng: random.Random, fonts: list[str],
                 paper: tuple[int, int, int] = (250, 249, 244)) -> None:
        self.img = Image.new("RGB", size, paper)
        self.draw = ImageDraw.Draw(self.img)
        self.rng = rng
        self.font_file = rng.choice(fonts)
        self.ink = tuple(rng.randrange(0, 50) for _ in range(3))

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(self.font_file, size)

    def text(self, xy: tuple[float, float], text: str, size: int,
             fill: tuple[int, ...] | None = None) -> float:
        font = self.font(size)
        self.draw.text(xy, text, font=font, fill=fill or self.ink)
        return self.draw.textlength(text, font=font)

    def centred(self, y: float, text: str, size: int) -> None:
        width = self.draw.textlength(text, font=self.font(size))
        self.text(((self.img.width - width) / 2, y), text, size)

    def rule(self, y: float, x0: float = 60, x1: float | None = None) -> None:
        self.draw.line((x0, y, x1 or self.img.width - 60, y), fill=(90, 90, 90), width=2)

    def stamp(self, xy: tuple[float, float], text: str) -> None:
        x, y = xy
        red = (210, 40, 40)
        self.draw.ellipse((x, y, x + 170, y + 170), outline=red, width=4)
        self.text((x + 85 - 13 * len(text), y + 70), text, 26, fill=red)


def labelled(c: Canvas, x: float, y: float, label: str, value: str, size: int,
             sep: str | None = None) -> float:
    sep = c.rng.choice(("：", ":", " ", "：")) if sep is None else sep
    return c.text((x, y), f"{label}{sep}{value}", size)


# ---- the document types ----------------------------------------------------------------------

def draw_id_front(rng: random.Random, fonts: list[str], tamper: bool = False
                  ) -> tuple[Image.Image, dict[str, Any]]:
    p = person(rng)
    if tamper:  # a wrong check character
        last = p["id_number"][-1]
        p["id_number"] = p["id_number"][:-1] + ("0" if last != "0" else "1")
    c = Canvas((1012, 638), rng, fonts, paper=(236, 242, 240))
    # the card's pale pattern
    for i in range(0, 1012, 24):
        c.draw.line((i, 0, i + 300, 638), fill=(222, 232, 230), width=1)
    lab = (40, 90, 150)
    size = 30
    c.text((70, 70), "姓名", size, lab)
    c.text((170, 66), p["name"], 36)
    c.text((70, 140), "性别", size, lab)
    c.text((170, 140), p["gender"], size)
    c.text((300, 140), "民族", size, lab)
    c.text((400, 140), p["ethnicity"], size)
    b = p["birth_date"]
    c.text((70, 210), "出生", size, lab)
    c.text((170, 210), f"{b.year}  年  {b.month}  月  {b.day}  日", size)
    c.text((70, 280), "住址", size, lab)
    addr = p["address"]
    cut = rng.choice((11, 12, 13))
    c.text((170, 280), addr[:cut], size)
    if addr[cut:]:
        c.text((170, 325), addr[cut:], size)
    c.text((70, 520), "公民身份号码", size, lab)
    c.text((330, 518), p["id_number"], 36)
    c.draw.rectangle((700, 90, 940, 400), fill=(200, 205, 210))
    truth = {"name": p["name"], "gender": p["gender"], "ethnicity": p["ethnicity"],
             "birth_date": b.isoformat(), "address": addr, "id_number": p["id_number"]}
    return c.img, truth


def draw_id_back(rng: random.Random, fonts: list[str], tamper: bool = False
                 ) -> tuple[Image.Image, dict[str, Any]]:
    c = Canvas((1012, 638), rng, fonts, paper=(236, 242, 240))
    c.draw.ellipse((70, 60, 230, 220), outline=(200, 60, 60), width=6)
    c.text((330, 90), "中华人民共和国", 52)
    c.text((360, 190), "居民身份证", 60)
    police = rng.choice(POLICE)
    start = some_day(rng, date(2010, 1, 1), 4000)
    years = rng.choice((10, 20))
    end = start.replace(year=start.year + years)
    c.text((150, 430), "签发机关", 30, (40, 90, 150))
    c.text((320, 430), police, 30)
    c.text((150, 500), "有效期限", 30, (40, 90, 150))
    c.text((320, 500), f"{start:%Y.%m.%d}-{end:%Y.%m.%d}", 30)
    truth = {"issuing_authority": police, "valid_from": start.isoformat(),
             "valid_until": end.isoformat()}
    return c.img, truth


def draw_invoice(rng: random.Random, fonts: list[str], tamper: bool = False
                 ) -> tuple[Image.Image, dict[str, Any]]:
    p = person(rng)
    c = Canvas((1240, 874), rng, fonts)
    hospital = rng.choice(HOSPITALS)
    kind = rng.choice(("门诊", "住院"))
    c.centred(40, f"广东省医疗{kind}收费票据（电子）", 40)
    code = f"{rng.randrange(44000000, 44999999)}"
    number = f"{rng.randrange(10**9):010d}"
    issued = some_day(rng)
    size = 26
    layout = rng.randrange(2)
    if layout == 0:
        labelled(c, 70, 120, "票据代码", code, size)
        labelled(c, 700, 120, "票据号码", number, size)
        labelled(c, 70, 170, "交款人", p["name"], size)
        labelled(c, 700, 170, "开票日期", cn_date(issued, rng), size)
    else:
        labelled(c, 70, 120, "交款人", p["name"], size)
        labelled(c, 700, 120, "票据代码", code, size)
        labelled(c, 70, 170, "开票日期", cn_date(issued, rng), size)
        labelled(c, 700, 170, "票据号码", number, size)
    c.rule(220)
    c.text((90, 235), "项目名称", size)
    c.text((420, 235), "金额（元）", size)
    c.text((700, 235), "项目名称", size)
    c.text((1000, 235), "金额（元）", size)
    items = rng.sample(ITEMS, rng.randrange(3, 7))
    total = Decimal(0)
    for i, item in enumerate(items):
        amount = Decimal(rng.randrange(500, 300000)) / 100
        total += amount
        col, row = divmod(i, 3)
        x, y = 90 + col * 610, 285 + row * 50
        c.text((x, y), item, size)
        c.text((x + 330, y), f"{amount:.2f}", size)
    c.rule(450)
    words = amount_to_words(total + (100 if tamper else 0))  # tampered: words say 100 more
    c.text((70, 480), f"金额合计（大写）{words}", size)
    c.text((820, 480), f"（小写）{total:.2f}", size)
    c.rule(540)
    labelled(c, 70, 570, "收款单位（章）", hospital, size)
    c.text((70, 640), "复核人：" + rng.choice(SURNAMES) + "某", size)
    c.text((500, 640), "收款人：" + rng.choice(SURNAMES) + "某", size)
    c.stamp((900, 560), "财务专用章")
    truth = {"payer_name": p["name"], "hospital": hospital, "invoice_code": code,
             "invoice_number": number, "issue_date": issued.isoformat(),
             "total_amount": f"{total:.2f}"}
    return c.img, truth


def draw_discharge(rng: random.Random, fonts: list[str], tamper: bool = False, *,
                   name: str | None = None, admitted: date | None = None,
                   discharged: date | None = None) -> tuple[Image.Image, dict[str, Any]]:
    p = person(rng)
    if name:
        p["name"] = name
    c = Canvas((1240, 1000), rng, fonts)
    hospital = rng.choice(HOSPITALS)
    admitted = admitted or some_day(rng)
    discharged = discharged or admitted + timedelta(days=rng.randrange(1, 40))
    days = (discharged - admitted).days
    diagnosis = rng.choice(DIAGNOSES)
    title = rng.choice(("出院记录", "出院小结"))
    c.centred(40, hospital, 40)
    c.centred(100, title, 36)
    size = 26
    age = 2025 - p["birth_date"].year
    labelled(c, 70, 180, "姓名", p["name"], size)
    labelled(c, 330, 180, "性别", p["gender"], size)
    labelled(c, 520, 180, "年龄", f"{age}岁", size)
    labelled(c, 720, 180, "科室", rng.choice(DEPARTMENTS), size)
    labelled(c, 950, 180, "住院号", str(rng.randrange(100000, 999999)), size)
    c.rule(225)
    if tamper or rng.random() < 0.5:
        labelled(c, 70, 250, "入院日期", cn_date(admitted, rng), size)
        labelled(c, 640, 250, "出院日期", cn_date(discharged, rng), size)
        labelled(c, 70, 300, "住院天数", f"{days + 3 if tamper else days}天", size)
        y = 350
    else:
        labelled(c, 70, 250, "入院日期", cn_date(admitted, rng), size)
        labelled(c, 70, 300, "出院日期", cn_date(discharged, rng), size)
        y = 350
    labelled(c, 70, y, "入院诊断", diagnosis, size)
    labelled(c, 70, y + 50, "出院诊断", diagnosis, size)
    c.text((70, y + 110), "诊疗经过：患者入院后完善相关检查，予对症支持治疗，病情好转。", size)
    c.text((70, y + 160), "出院情况：一般情况可，伤口愈合良好。", size)
    c.text((70, y + 210), "出院医嘱：注意休息，定期门诊复查，不适随诊。", size)
    c.text((760, y + 300), "医师签名：" + rng.choice(SURNAMES) + "医生", size)
    truth = {"patient_name": p["name"], "hospital": hospital,
             "admission_date": admitted.isoformat(), "discharge_date": discharged.isoformat(),
             "hospital_days": days, "diagnosis": diagnosis}
    return c.img, truth


def draw_bank_card(rng: random.Random, fonts: list[str], tamper: bool = False
                   ) -> tuple[Image.Image, dict[str, Any]]:
    number, bank = card_number(rng)
    if tamper:  # one digit off: the Luhn check fails
        number = number[:-1] + str((int(number[-1]) + 5) % 10)
    base = rng.choice(((30, 70, 140), (150, 30, 40), (20, 110, 80), (60, 60, 70), (190, 150, 60)))
    c = Canvas((1012, 638), rng, fonts, paper=base)
    for i in range(638):
        shade = tuple(min(255, v + i // 12) for v in base)
        c.draw.line((0, i, 1012, i), fill=shade)
    white = (250, 250, 250)
    c.text((60, 50), bank, 48, white)
    c.draw.rounded_rectangle((80, 200, 210, 290), radius=12, fill=(212, 180, 90))
    groups = [number[i:i + 4] for i in range(0, len(number), 4)]
    digit_font = 50 if len(number) == 16 else 44
    c.text((70, 350), " ".join(groups), digit_font, white)
    c.text((70, 450), rng.choice(("借记卡", "储蓄卡", "DEBIT")), 30, white)
    c.text((800, 540), "银联", 40, white)
    truth = {"card_number": number, "bank_name": bank}
    return c.img, truth


def draw_death(rng: random.Random, fonts: list[str], tamper: bool = False
               ) -> tuple[Image.Image, dict[str, Any]]:
    p = person(rng)
    c = Canvas((1240, 900), rng, fonts)
    died = some_day(rng)
    cause = rng.choice(CAUSES)
    c.centred(40, "居民死亡医学证明（推断）书", 40)
    size = 26
    labelled(c, 70, 130, "姓名", p["name"], size)
    labelled(c, 400, 130, "性别", p["gender"], size)
    labelled(c, 600, 130, "民族", p["ethnicity"], size)
    labelled(c, 70, 190, "有效身份证件号码", p["id_number"], size)
    labelled(c, 70, 250, "死亡日期", f"{cn_date(died, rng)} {rng.randrange(24)}时", size)
    labelled(c, 640, 250, "死亡地点", rng.choice(("医疗卫生机构", "家中", "途中")), size)
    c.rule(300)
    labelled(c, 70, 330, "直接死亡原因", cause, size)
    labelled(c, 70, 390, "根本死亡原因", cause, size)
    labelled(c, 70, 450, "医师签名", rng.choice(SURNAMES) + "医生", size)
    labelled(c, 640, 450, "填报日期", cn_date(died + timedelta(days=1), rng), size)
    c.stamp((900, 560), "医疗机构章")
    truth = {"name": p["name"], "id_number": p["id_number"], "death_date": died.isoformat(),
             "cause": cause}
    return c.img, truth


LEVELS = "一二三四五六七八九十"


def draw_disability(rng: random.Random, fonts: list[str], tamper: bool = False
                    ) -> tuple[Image.Image, dict[str, Any]]:
    p = person(rng)
    c = Canvas((1240, 900), rng, fonts)
    level = rng.randrange(1, 11)
    assessed = some_day(rng)
    c.centred(40, rng.choice(("伤残鉴定意见书", "司法鉴定意见书")), 40)
    size = 26
    labelled(c, 70, 140, "被鉴定人", p["name"], size)
    labelled(c, 420, 140, "性别", p["gender"], size)
    labelled(c, 70, 200, "身份证号", p["id_number"], size)
    labelled(c, 70, 260, "委托事项", "伤残等级评定", size)
    c.rule(310)
    c.text((70, 340), "鉴定意见：", size)
    c.text((70, 390), f"被鉴定人{p['name']}之损伤构成{LEVELS[level - 1]}级伤残。", size)
    labelled(c, 70, 470, "鉴定日期", cn_date(assessed, rng), size)
    c.stamp((880, 560), "鉴定专用章")
    truth = {"name": p["name"], "id_number": p["id_number"], "disability_level": level,
             "assessment_date": assessed.isoformat()}
    return c.img, truth


def draw_accident(rng: random.Random, fonts: list[str], tamper: bool = False
                  ) -> tuple[Image.Image, dict[str, Any]]:
    people = [person(rng)["name"] for _ in range(rng.choice((1, 2)))]
    c = Canvas((1240, 900), rng, fonts)
    when = some_day(rng)
    place = "汕头市潮南区" + rng.choice(TOWNS) + rng.choice(STREETS) + "路口"
    c.centred(40, rng.choice(("道路交通事故认定书", "事故证明")), 40)
    size = 26
    labelled(c, 70, 140, "事故时间", f"{cn_date(when, rng)} {rng.randrange(24)}时"
             f"{rng.randrange(60):02d}分", size)
    labelled(c, 70, 200, "事故地点", place, size)
    labelled(c, 70, 260, "当事人", "、".join(people), size)
    c.rule(310)
    c.text((70, 340), "事故基本事实：当事人驾驶车辆行经该处时发生事故，致人受伤。", size)
    labelled(c, 70, 420, "出具单位", rng.choice(POLICE), size)
    c.stamp((880, 560), "事故处理专用章")
    truth = {"accident_date": when.isoformat(), "location": place, "parties": people}
    return c.img, truth


Drawer = Callable[[random.Random, list[str], bool], tuple[Image.Image, dict[str, Any]]]
DRAWERS: dict[str, tuple[str, Drawer]] = {
    "id_card": ("id_card", draw_id_front),
    "id_card_back": ("id_card", draw_id_back),
    "medical_invoice": ("medical_invoice", draw_invoice),
    "discharge_summary": ("discharge_summary", draw_discharge),
    "bank_card": ("bank_card", draw_bank_card),
    "death_certificate": ("death_certificate", draw_death),
    "disability_assessment": ("disability_assessment", draw_disability),
    "accident_certificate": ("accident_certificate", draw_accident),
}


# ---- the phone photo -------------------------------------------------------------------------

def photo(doc: Image.Image, rng: random.Random, *, turns: int = 0, long_side: int = 1600,
          quality: int | None = None) -> Image.Image:
    """A phone picture of the document: on a table, at an angle, a little blurred and noisy."""
    import cv2

    w, h = doc.size
    pad = int(max(w, h) * rng.uniform(0.05, 0.15))
    table = tuple(rng.randrange(60, 200) for _ in range(3))
    canvas = Image.new("RGB", (w + 2 * pad, h + 2 * pad), table)
    canvas.paste(doc, (pad, pad))
    arr = np.asarray(canvas).astype(np.float32)
    cw, ch = canvas.size
    # perspective: each corner of the document moves a little
    src = np.float32([[pad, pad], [pad + w, pad], [pad + w, pad + h], [pad, pad + h]])
    jitter = 0.04 * min(w, h)
    dst = src + np.float32([[rng.uniform(-jitter, jitter), rng.uniform(-jitter, jitter)]
                            for _ in range(4)])
    matrix = cv2.getPerspectiveTransform(src, dst)
    arr = cv2.warpPerspective(arr, matrix, (cw, ch), borderMode=cv2.BORDER_REPLICATE)
    # skew
    angle = rng.uniform(-6, 6)
    rot = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle, 1.0)
    arr = cv2.warpAffine(arr, rot, (cw, ch), borderMode=cv2.BORDER_REPLICATE)
    # light falling across the page, a spot of glare
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    light = 0.85 + 0.2 * (xx / cw) * rng.uniform(0.3, 1.0)
    gx, gy = rng.uniform(0, cw), rng.uniform(0, ch)
    glare = 40 * np.exp(-(((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (0.15 * cw) ** 2)))
    arr = arr * light[..., None] + glare[..., None] * rng.uniform(0.2, 1.0)
    arr += np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(2, 7), arr.shape)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.1)))
    scale = long_side / max(img.size)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
    if turns:
        img = img.rotate(90 * turns, expand=True)
    if quality:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        img = Image.open(io.BytesIO(buf.getvalue()))
    return img


def encode(img: Image.Image, fmt: str = "JPEG", quality: int = 80,
           exif_orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        exif = Image.Exif()
        if exif_orientation:
            exif[0x0112] = exif_orientation
        img.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    elif fmt == "PDF":
        img.save(buf, "PDF", resolution=150)
    else:
        img.save(buf, fmt)
    return buf.getvalue()


def make_sample(kind: str, seed: int, *, variant: str | None = None,
                tamper: bool = False) -> Sample:
    """One document photo: `variant` picks the way it was taken (random from the seed if None).

    Variants: photo (the common case), turned (a quarter or half turn), exif (the camera's
    orientation tag instead of turned pixels), small (a thumbnail), large (12 megapixels),
    pdf (a scan as PDF), png (a screenshot). `tamper` draws a document that must fail its
    check (ID check character, amount in words, printed days, Luhn).
    """
    rng = random.Random(f"{kind}:{seed}")
    fonts = available_fonts()
    doc_type, draw = DRAWERS[kind]
    doc, truth = draw(rng, fonts, tamper)
    variant = variant or rng.choice(("photo",) * 5 + ("turned", "exif", "small", "large",
                                                       "pdf", "png"))
    meta: dict[str, Any] = {"variant": variant}
    if variant == "turned":
        turns = rng.choice((1, 2, 3))
        meta["turns"] = turns
        data = encode(photo(doc, rng, turns=turns), quality=rng.randrange(55, 90))
    elif variant == "exif":
        # pixels as the sensor saw them (turned a quarter clockwise) + tag 6 (rotate 90 CW)
        img = photo(doc, rng).rotate(90, expand=True)
        data = encode(img, quality=80, exif_orientation=6)
    elif variant == "small":
        data = encode(photo(doc, rng, long_side=rng.randrange(820, 1000)), quality=90)
    elif variant == "large":
        data = encode(photo(doc, rng, long_side=4000), quality=85)
    elif variant == "pdf":
        data = encode(doc, "PDF")
    elif variant == "png":
        data = encode(doc, "PNG")
    else:
        data = encode(photo(doc, rng), quality=rng.randrange(40, 90))
    return Sample(kind, doc_type, truth, data, f"{kind}-{seed}-{variant}", meta)


def samples(per_kind: int, seed: int = 0, kinds: tuple[str, ...] = DOC_TYPES) -> list[Sample]:
    return [make_sample(k, seed + i) for k in kinds for i in range(per_kind)]


def discharge_photo(seed: int, name: str, admitted: date, discharged: date) -> bytes:
    """A phone photo of a discharge summary for a given patient and stay (claim walks)."""
    rng = random.Random(f"discharge-for:{seed}")
    doc, _ = draw_discharge(rng, available_fonts(), name=name, admitted=admitted,
                            discharged=discharged)
    return encode(photo(doc, rng), quality=85)


def invoice_photo(seed: int, shot: int) -> bytes:
    """Phone photo number `shot` of one invoice: each shot a different file of the same
    invoice code and number (a reused invoice, photographed again)."""
    doc, _ = draw_invoice(random.Random(f"invoice-for:{seed}"), available_fonts())
    return encode(photo(doc, random.Random(f"invoice-shot:{seed}:{shot}")), quality=85)


def phone_photo_a5(seed: int) -> bytes:
    """A 12-megapixel phone photo of an A5 discharge summary (the bench's timing case)."""
    rng = random.Random(f"a5:{seed}")
    doc, _ = draw_discharge(rng, available_fonts())
    return encode(photo(doc, rng, long_side=4000), quality=88)

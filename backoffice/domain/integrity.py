"""Claims integrity (理赔风险核查): checks of one claim against the insured's other claims.

Each claim is adjudicated correctly on its own; what this module catches is money paid twice
(the same stay, the same death, the same invoice), for the dead, for illness, or beyond the
yearly allowance cap counted across claims still in progress. Pure: the service gathers the
facts (`IntegrityFacts`) in its transaction; `check` returns the flags, each with the claim
numbers it relates to. A flag sends the claim to people; only a supervisor clears it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from importlib import resources

CODES = ("duplicate_stay", "overlapping_stay", "duplicate_incident", "death_benefit_paid",
         "after_death", "allowance_cap", "document_reused", "name_mismatch", "not_accident",
         "frequent", "hospital_level")
#: statuses of a claim that no longer counts against another
DEAD_STATUSES = frozenset({"rejected", "withdrawn"})
#: statuses whose amount is decided (in progress or settled): deducted from a later claim
DECIDED_STATUSES = frozenset({"adjudicated", "pending_approval", "approved", "paid", "closed"})
SETTLED_STATUSES = frozenset({"approved", "paid", "closed"})
DEATH_TYPES = frozenset({"death", "transport_death"})
STAY_TYPES = frozenset({"hospital_allowance", "medical"})
FREQUENT_CLAIMS = 3  # incidents claimed by one insured within a year (this one included)
FREQUENT_WINDOW = timedelta(days=365)
#: insureds one reporter phone reports for within a year (this one included): more than a
#: family's two parents and two parents-in-law
FREQUENT_INSUREDS = 5
MIN_HOSPITAL_LEVEL = 2
LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级"}
CODE_NAMES = {
    "duplicate_stay": "重复住院", "overlapping_stay": "住院期间重叠",
    "duplicate_incident": "重复报案", "death_benefit_paid": "身故保险金已给付",
    "after_death": "身故后出险", "allowance_cap": "超年度津贴天数",
    "document_reused": "材料重复使用",
    "name_mismatch": "材料姓名不符", "not_accident": "疑似疾病", "frequent": "频繁出险",
    "hospital_level": "医院等级不符",
}
#: the risk review queue's order: 3 = money paid twice or to nobody entitled, 1 = a pattern
SEVERITY = {
    "duplicate_stay": 3, "death_benefit_paid": 3, "after_death": 3, "document_reused": 3,
    "overlapping_stay": 2, "duplicate_incident": 2, "allowance_cap": 2, "not_accident": 2,
    "hospital_level": 2, "name_mismatch": 1, "frequent": 1,
}
SEVERITY_NAMES = {3: "高", 2: "中", 1: "低"}
#: a confirmed flag of these codes takes off what another claim pays for the same days or the
#: same death; a confirmed flag of any other code means the claim is not payable as reported:
#: it is rejected, never approved
DEDUCTING = frozenset({"duplicate_stay", "overlapping_stay", "death_benefit_paid",
                       "allowance_cap"})
STAY_FLAGS = frozenset({"duplicate_stay", "overlapping_stay"})
#: a flag's outcome: open until a claims supervisor confirms or clears it
OPEN, CONFIRMED, CLEARED = "open", "confirmed", "cleared"
OUTCOME_NAMES = {OPEN: "待核实", CONFIRMED: "已核实", CLEARED: "已解除"}
#: documents that prove who claims and where the money goes, not the loss: the same photo of
#: a child's ID card, bank card or household register rightly comes with each parent's claim
IDENTITY_DOCUMENTS = frozenset({"claimant_id", "id_card", "bank_account", "bank_card",
                                "relationship_proof"})


@dataclass(frozen=True, slots=True)
class Flag:
    code: str
    text: str
    related: tuple[str, ...] = ()

    def to_api(self) -> dict[str, object]:
        return {"code": self.code, "text": self.text, "related": list(self.related)}


@dataclass(frozen=True, slots=True)
class Stay:
    """A hospital stay: the admission day counts, the discharge day does not."""

    admission: date
    discharge: date

    def days(self) -> set[int]:
        return set(range(self.admission.toordinal(), self.discharge.toordinal()))


@dataclass(frozen=True, slots=True)
class OtherClaim:
    """Another claim of the same insured, as far as the checks need it."""

    claim_no: str
    status: str
    claim_type: str
    incident_date: date
    stay: Stay | None = None
    amount: Decimal | None = None  # approved, else adjudicated
    allowance_days_by_year: Mapping[int, int] = field(default_factory=dict)
    death_date: date | None = None


@dataclass(frozen=True, slots=True)
class DocumentFact:
    """A document's identity: its content hash and, for invoices, code + number."""

    claim_no: str
    doc_type: str
    sha256: str
    invoice: tuple[str, str] | None = None
    name: str | None = None  # the person the document names (payer, patient, deceased)


@dataclass(frozen=True, slots=True)
class IntegrityFacts:
    claim_no: str
    claim_type: str
    incident_date: date
    reported_on: date
    insured_name: str
    reporter_name: str
    stay: Stay | None = None
    diagnosis: str | None = None
    hospital: str | None = None
    hospital_level: int | None = None
    #: the insured's recorded death (a death certificate reading, the roster), if any
    death_date: date | None = None
    other_claims: Sequence[OtherClaim] = ()
    documents: Sequence[DocumentFact] = ()
    #: documents of OTHER claims sharing a hash or an invoice with `documents`
    matching_documents: Sequence[DocumentFact] = ()
    #: (claim_no, insured) of other claims the reporter phone reported for other insureds
    reporter_other_insureds: Sequence[tuple[str, int]] = ()
    max_allowance_days_per_year: int | None = None


def check(f: IntegrityFacts) -> tuple[Flag, ...]:
    """Every flag the facts raise, in the order of CODES."""
    live = [o for o in f.other_claims if o.status not in DEAD_STATUSES and o.claim_no != f.claim_no]
    found: list[Flag] = []
    for rule in _RULES:
        found.extend(rule(f, live))
    return tuple(sorted(found, key=lambda fl: CODES.index(fl.code)))


# ---- stays --------------------------------------------------------------------------------------

def _stays(f: IntegrityFacts, live: list[OtherClaim]) -> Iterable[Flag]:
    if f.stay is None or f.claim_type not in STAY_TYPES:
        return
    mine = f.stay.days()
    same, overlap = [], []
    for o in live:
        if o.stay is None or o.claim_type != f.claim_type:
            continue
        if o.stay == f.stay:
            same.append(o.claim_no)
        elif mine & o.stay.days():
            overlap.append(o.claim_no)
    if same:
        yield Flag("duplicate_stay", f"同一住院（{f.stay.admission} 至 {f.stay.discharge}）"
                   f"已在案件 {'、'.join(same)} 中申请，不重复给付", tuple(same))
    if overlap:
        yield Flag("overlapping_stay", f"住院期间与案件 {'、'.join(overlap)} 的住院期间重叠，"
                   "重叠的天数不重复给付", tuple(overlap))


def overlapping_days(stay: Stay, others: Iterable[Stay]) -> set[int]:
    """The days (ordinals) of `stay` already in another stay."""
    mine = stay.days()
    out: set[int] = set()
    for other in others:
        out |= mine & other.days()
    return out


# ---- incidents and deaths ----------------------------------------------------------------------

def _duplicate_incident(f: IntegrityFacts, live: list[OtherClaim]) -> Iterable[Flag]:
    if f.claim_type in STAY_TYPES and f.stay is not None:
        # a second stay after the same accident is normal; the same stay is caught above
        return
    # a person dies once: a second claim of a death type is a duplicate whatever its date
    same = [o.claim_no for o in live if o.claim_type == f.claim_type and (
        o.incident_date == f.incident_date or f.claim_type in DEATH_TYPES)]
    if same:
        yield Flag("duplicate_incident", f"同一被保险人、同一出险日期 {f.incident_date}、"
                   f"同一理赔类型已有案件 {'、'.join(same)}", tuple(same))


def _death_benefit(f: IntegrityFacts, live: list[OtherClaim]) -> Iterable[Flag]:
    if f.claim_type not in DEATH_TYPES:
        return
    # one death, whatever accident date each claim gives: its benefit is paid once
    paid = [o for o in live if o.claim_type in DEATH_TYPES and o.status in DECIDED_STATUSES]
    if paid:
        total = sum((o.amount or Decimal(0) for o in paid), Decimal(0))
        yield Flag("death_benefit_paid", f"被保险人的身故保险金已核定或给付 {total:.2f} 元"
                   f"（案件 {'、'.join(o.claim_no for o in paid)}），身故与交通身故只给付其一，"
                   "只补差额", tuple(o.claim_no for o in paid))


def recorded_death(f: IntegrityFacts) -> tuple[date, tuple[str, ...]] | None:
    """The insured's earliest known death date and the claims that record it."""
    known: list[tuple[date, str]] = [(f.death_date, "")] if f.death_date else []
    known += [(o.death_date, o.claim_no) for o in f.other_claims
              if o.death_date and o.claim_type in DEATH_TYPES and o.status in SETTLED_STATUSES]
    if not known:
        return None
    day = min(d for d, _ in known)
    return day, tuple(no for d, no in known if no and d == day)


def _after_death(f: IntegrityFacts, live: list[OtherClaim]) -> Iterable[Flag]:
    death = recorded_death(f)
    if death is None:
        return
    if f.incident_date > death[0]:
        yield Flag("after_death", f"出险日期 {f.incident_date} 晚于被保险人身故日期 {death[0]}",
                   death[1])
    elif f.stay is not None and f.stay.discharge > death[0] and f.claim_type in STAY_TYPES:
        # an accident before the death, but days in hospital after it: nobody is treated dead
        yield Flag("after_death", f"住院期间（{f.stay.admission} 至 {f.stay.discharge}）"
                   f"晚于被保险人身故日期 {death[0]}", death[1])


# ---- the yearly allowance cap, counted over claims in progress ---------------------------------

def _allowance_cap(f: IntegrityFacts, live: list[OtherClaim]) -> Iterable[Flag]:
    cap = f.max_allowance_days_per_year
    if f.claim_type != "hospital_allowance" or f.stay is None or cap is None:
        return
    mine: dict[int, int] = {}
    for day in f.stay.days():
        year = date.fromordinal(day).year
        mine[year] = mine.get(year, 0) + 1
    for year, n in sorted(mine.items()):
        users = [o for o in live if o.status in DECIDED_STATUSES
                 and o.allowance_days_by_year.get(year)]
        used = sum(o.allowance_days_by_year[year] for o in users)
        in_progress = [o.claim_no for o in users if o.status not in SETTLED_STATUSES]
        if in_progress and used + n > cap:
            yield Flag("allowance_cap", f"{year} 年度已核定住院津贴 {used} 天（含处理中的案件 "
                       f"{'、'.join(in_progress)}），加上本次 {n} 天超过每年 {cap} 天的上限",
                       tuple(o.claim_no for o in users))


# ---- documents -------------------------------------------------------------------------------

def _documents(f: IntegrityFacts, live: list[OtherClaim]) -> Iterable[Flag]:
    mine = [d for d in f.documents if d.doc_type not in IDENTITY_DOCUMENTS]
    hashes = {d.sha256 for d in mine}
    invoices = {d.invoice for d in mine if d.invoice}
    # one accident gives several benefits: its claims may show the same summary or invoice
    same_accident = {o.claim_no for o in f.other_claims if o.incident_date == f.incident_date
                     and o.claim_type != f.claim_type}
    theirs = [d for d in f.matching_documents if d.claim_no != f.claim_no
              and d.doc_type not in IDENTITY_DOCUMENTS and d.claim_no not in same_accident]
    by_hash = sorted({d.claim_no for d in theirs if d.sha256 in hashes})
    by_invoice = sorted({d.claim_no for d in theirs if d.invoice and d.invoice in invoices})
    if by_hash:
        yield Flag("document_reused", f"同一份材料文件（内容相同）已用于案件 {'、'.join(by_hash)}",
                   tuple(by_hash))
    rest = [no for no in by_invoice if no not in by_hash]
    if rest:
        yield Flag("document_reused", f"同一张医疗发票（票据代码及号码相同）已用于案件 "
                   f"{'、'.join(rest)}", tuple(rest))


def _names(f: IntegrityFacts, live: list[OtherClaim]) -> Iterable[Flag]:
    allowed = {_plain(f.insured_name), _plain(f.reporter_name)}
    wrong = sorted({d.name for d in f.documents if d.name and _plain(d.name) not in allowed})
    if wrong:
        yield Flag("name_mismatch", f"材料上的姓名（{'、'.join(wrong)}）既不是被保险人也不是报案人")


def _plain(name: str) -> str:
    return "".join(name.split())


# ---- accident or illness -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DiagnosisReading:
    injuries: tuple[tuple[str, str], ...]  # (term, ICD-10 code) of chapter S/T
    illnesses: tuple[tuple[str, str], ...]  # (term, ICD-10 code) of any other chapter
    #: the illnesses among them that can bring about an accident (stroke, faint, fit…)
    causes: tuple[tuple[str, str], ...] = ()

    @property
    def verdict(self) -> str:
        """injury | illness | injury_with_illness | unknown

        An injury beside an illness that may have caused it is `injury_with_illness`; beside
        comorbidities only (高血压, 糖尿病, 骨质疏松: listed on most old people's summaries) it
        is an injury.
        """
        if self.injuries and self.causes:
            return "injury_with_illness"
        if self.injuries:
            return "injury"
        return "illness" if self.illnesses else "unknown"


@lru_cache(maxsize=1)
def _diagnosis_list() -> tuple[tuple[str, str, bool], ...]:
    raw = json.loads(resources.files(__package__).joinpath("diagnoses.json")
                     .read_text(encoding="utf-8"))
    terms = [(t["term"], t["icd10"], bool(t.get("may_cause_injury"))) for t in raw["terms"]]
    return tuple(sorted(terms, key=lambda t: -len(t[0])))


def diagnosis_terms() -> tuple[tuple[str, str], ...]:
    """(term, ICD-10 code), longest term first, from the maintained list."""
    return tuple((term, code) for term, code, _ in _diagnosis_list())


def is_injury_code(icd10: str) -> bool:
    """ICD-10 chapter XIX (S00–T98) and the external causes of chapter XX (V01–Y98)."""
    return icd10[:1] in ("S", "T", "V", "W", "X", "Y")


def read_diagnosis(text: str) -> DiagnosisReading:
    """Every listed term in the diagnosis, the longest match winning (脑梗死 before 脑梗)."""
    rest = text
    injuries: list[tuple[str, str]] = []
    illnesses: list[tuple[str, str]] = []
    causes: list[tuple[str, str]] = []
    for term, code, cause in _diagnosis_list():
        if term in rest:
            rest = rest.replace(term, "\0")
            (injuries if is_injury_code(code) else illnesses).append((term, code))
            if cause and not is_injury_code(code):
                causes.append((term, code))
    return DiagnosisReading(tuple(injuries), tuple(illnesses), tuple(causes))


def _not_accident(f: IntegrityFacts, live: list[OtherClaim]) -> Iterable[Flag]:
    if not f.diagnosis or f.claim_type not in STAY_TYPES | {"disability"}:
        return
    reading = read_diagnosis(f.diagnosis)
    shown = f.diagnosis[:100]
    ill = "、".join(f"{t}（{c}）" for t, c in reading.illnesses)
    if reading.verdict == "illness":
        yield Flag("not_accident", f"出院诊断“{shown}”为疾病（{ill}），"
                   "不属意外伤害，须人工核实事故经过")
    elif reading.verdict == "injury_with_illness":
        hurt = "、".join(f"{t}（{c}）" for t, c in reading.injuries)
        ill = "、".join(f"{t}（{c}）" for t, c in reading.causes)
        yield Flag("not_accident", f"出院诊断“{shown}”含损伤（{hurt}）及可致意外的疾病（{ill}），"
                   "损伤可能由疾病引起，须人工复核")


# ---- frequency -------------------------------------------------------------------------------

def _frequent(f: IntegrityFacts, live: list[OtherClaim]) -> Iterable[Flag]:
    # incidents, not claims: one accident may rightly give a stay, a disability and a death;
    # three within one 12-month period that holds this one (not within a year either side)
    window = FREQUENT_WINDOW.days
    near = [o for o in live if abs((o.incident_date - f.incident_date).days) < window]
    days = sorted({o.incident_date for o in near} | {f.incident_date})
    best = max(([d for d in days if 0 <= (d - start).days < window] for start in days
                if 0 <= (f.incident_date - start).days < window), key=len)
    if len(best) >= FREQUENT_CLAIMS:
        first, last = best[0], best[-1]
        yield Flag("frequent", f"被保险人 12 个月内共有 {len(best)} 次出险理赔申请",
                   tuple(sorted(o.claim_no for o in near if first <= o.incident_date <= last)))
    insureds = {who for _, who in f.reporter_other_insureds}
    if len(insureds) + 1 >= FREQUENT_INSUREDS:
        claims = tuple(sorted({no for no, _ in f.reporter_other_insureds}))
        yield Flag("frequent", f"同一报案电话已为其他 {len(insureds)} 位被保险人报案", claims)


# ---- hospital level --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def hospital_list() -> tuple[tuple[str, int], ...]:
    """(name or alias, level), longest first, from the maintained list."""
    raw = json.loads(resources.files(__package__).joinpath("hospitals.json")
                     .read_text(encoding="utf-8"))
    names = [(n, h["level"]) for h in raw["hospitals"] for n in (h["name"], *h["aliases"])]
    return tuple(sorted(names, key=lambda n: -len(n[0])))


def hospital_level(name: str) -> int | None:
    """The level of the hospital named (a listed name or alias within it); None if unknown."""
    plain = _plain(name)
    return next((level for known, level in hospital_list() if known in plain), None)


def known_level(hospital: str | None, reported: int | None) -> int | None:
    """The hospital's level: the list's for a listed hospital, else the one reported."""
    listed = hospital_level(hospital) if hospital else None
    return listed if listed is not None else reported


def fast_track_evidence(diagnosis: str | None, hospital: str | None,
                        reported_level: int | None) -> tuple[bool, bool]:
    """(the diagnosis reads as an injury alone, the hospital is known to be level 2 or up)."""
    injury = bool(diagnosis) and read_diagnosis(diagnosis or "").verdict == "injury"
    level = known_level(hospital, reported_level)
    return injury, level is not None and level >= MIN_HOSPITAL_LEVEL


def _hospital_level(f: IntegrityFacts, live: list[OtherClaim]) -> Iterable[Flag]:
    if f.claim_type != "hospital_allowance":
        return
    # the list's level of a known hospital outranks a level typed in or reported
    level = known_level(f.hospital, f.hospital_level)
    if level is not None and level < MIN_HOSPITAL_LEVEL:
        where = f"“{f.hospital[:60]}”" if f.hospital else "住院医院"
        yield Flag("hospital_level", f"{where}为{LEVEL_NAMES.get(level, str(level))}医院，"
                   "住院津贴限二级及以上医院住院，不予给付")


def held_back(codes: Iterable[str], payable: Decimal | None,
              unchecked: Decimal | None) -> Decimal:
    """What confirmed flags keep from being paid: the whole amount when one of them means the
    claim is not payable, else what the other claims' days and deaths took off the amount the
    claim would have had on its own (`unchecked`)."""
    codes = set(codes)
    if not codes or payable is None:
        return Decimal(0)
    if codes - DEDUCTING:
        return payable
    return max(Decimal(0), (unchecked or payable) - payable)


_RULES = (_stays, _duplicate_incident, _death_benefit, _after_death, _allowance_cap, _documents,
          _names, _not_accident, _frequent, _hospital_level)

"""Products as data: a product definition (JSON) parsed into immutable value objects.

A product names its coverages (benefits with limits), how it is rated, who may buy it,
its waiting period, exclusions, and the documents each claim type needs. Adding a product
is adding a data file, not code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from backoffice.domain.errors import ValidationError
from backoffice.domain.follow_up_sample import SampleRule, parse_samples

CLAIM_TYPES = ("death", "transport_death", "disability", "hospital_allowance", "medical")
#: the types in plain words, as customers and staff say them
CLAIM_TYPE_NAMES = {
    "death": "意外身故",
    "transport_death": "公共交通意外身故",
    "disability": "意外伤残",
    "hospital_allowance": "住院津贴",
    "medical": "医疗费用",
}
PAYMENT_FREQUENCIES = ("annual", "semiannual", "quarterly", "monthly")
INSTALMENTS_PER_YEAR = {"annual": 1, "semiannual": 2, "quarterly": 4, "monthly": 12}
FREQUENCY_NAMES = {"annual": "年缴", "semiannual": "半年缴", "quarterly": "季缴", "monthly": "月缴"}

#: The public-transport modes a `transport` benefit may pay by (CONTRACTS.md `facts.transport`).
TRANSPORT_MODES: Mapping[str, str] = MappingProxyType(
    {
        "motor_vehicle": "营运机动车",
        "rail": "轨道交通",
        "ship": "客运轮船",
        "aircraft": "民航客机",
    }
)

#: Payout percentage of the sum insured by disability level, per scale named in the product.
DISABILITY_SCALES: Mapping[str, Mapping[int, Decimal]] = MappingProxyType(
    {
        "JR/T 0083-2013": MappingProxyType(
            {level: Decimal(110 - 10 * level) for level in range(1, 11)}
        ),
    }
)
DEFAULT_SCALE = "JR/T 0083-2013"
_SCALE_RULES = ("disability_scale", "death_or_disability_scale")


@dataclass(frozen=True, slots=True)
class AgeBandRate:
    min_age: int
    max_age: int
    rate: Decimal  # per rate unit of sum insured, per year

    def covers(self, age: int) -> bool:
        return self.min_age <= age <= self.max_age


@dataclass(frozen=True, slots=True)
class TransportMode:
    """One mode of a transport death benefit: what it pays and which vehicles it means."""

    code: str
    name: str
    amount: Decimal
    includes: tuple[str, ...]  # the vehicles the product counts as this mode, e.g. 公交车


@dataclass(frozen=True, slots=True)
class Coverage:
    """One benefit (保险责任) with its limits and rating."""

    code: str
    name: str
    claim_types: tuple[str, ...]
    benefit: Mapping[str, Any]
    required: bool
    default_sum_insured: Decimal
    min_sum_insured: Decimal
    max_sum_insured: Decimal
    sum_insured_step: Decimal
    rate_unit: Decimal  # sum insured per rate, e.g. 1000 → rate is per mille
    rate_unit_text: str
    age_band_rates: tuple[AgeBandRate, ...]
    exclusions: tuple[str, ...] = ()
    transport_modes: tuple[TransportMode, ...] = ()

    def disability_percentages(self) -> Mapping[int, Decimal]:
        """Level → percentage of the sum insured, for a benefit paid by a disability scale."""
        if self.benefit.get("rule") not in _SCALE_RULES:
            return {}
        return DISABILITY_SCALES[str(self.benefit.get("scale", DEFAULT_SCALE))]

    def band_for(self, age: int) -> AgeBandRate | None:
        return next((b for b in self.age_band_rates if b.covers(age)), None)

    def check_sum_insured(self, amount: Decimal, field_name: str) -> None:
        if amount < self.min_sum_insured or amount > self.max_sum_insured:
            raise ValidationError(
                field_name,
                f"{self.name}保额须在 {self.min_sum_insured} 至 {self.max_sum_insured} 元之间",
            )
        if self.sum_insured_step and (amount - self.min_sum_insured) % self.sum_insured_step:
            raise ValidationError(
                field_name, f"{self.name}保额须按 {self.sum_insured_step} 元递增"
            )


@dataclass(frozen=True, slots=True)
class HealthQuestion:
    code: str
    text: str
    if_yes: str  # "accept" | "load" | "postpone" | "decline"
    reason: str
    loading_pct: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class UnderwritingRules:
    min_entry_age: int
    max_entry_age: int
    max_occupation_class: int
    occupation_loading_pct: Mapping[int, Decimal]
    health_questions: tuple[HealthQuestion, ...]
    max_loading_pct: Decimal


@dataclass(frozen=True, slots=True)
class DocumentRequirement:
    type: str
    name: str


#: What a report may say about how the accident happened (facts of the claim, each optional):
#: a traffic or transport accident, whether the police were called, scene photos, the ticket.
REPORT_FACTS = ("traffic_accident", "police_report", "scene_photos", "ticket")
#: claim types that are a transport accident whatever the report says
TRANSPORT_CLAIM_TYPES = frozenset({"transport_death"})


@dataclass(frozen=True, slots=True)
class ConditionalDocument:
    """A document a claim needs by what its report says (a traffic accident's police report):
    needed when every fact in `when` has that value, for `claim_types` (empty: every type).
    It replaces a listed document of the same type (its name is the more precise one)."""

    when: Mapping[str, Any]
    claim_types: tuple[str, ...]
    document: DocumentRequirement

    def applies(self, claim_type: str, facts: Mapping[str, Any]) -> bool:
        if self.claim_types and claim_type not in self.claim_types:
            return False
        # `is`: only a real boolean counts (1 == True in Python)
        return all(facts.get(k) is v for k, v in self.when.items())


def report_facts(claim_type: str, facts: Mapping[str, Any] | None) -> dict[str, Any]:
    """The report facts a document rule reads: a public-transport death is a transport
    accident even when the report did not say so."""
    known = {k: v for k, v in (facts or {}).items() if k in REPORT_FACTS}
    if claim_type in TRANSPORT_CLAIM_TYPES:
        known["traffic_accident"] = True
    return known


@dataclass(frozen=True, slots=True)
class Exclusion:
    code: str
    text: str


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    kind: str  # "individual" | "group"
    line: str  # "accident" | "health"
    term_months: int
    waiting_period_days: int
    cooling_off_days: int
    grace_period_days: int
    reinstatement_years: int
    time_bar_years: int
    surrender_fee_pct: Decimal
    flat_premium_per_insured: Decimal | None
    occupation_class_factors: Mapping[int, Decimal]
    frequency_factors: Mapping[str, Decimal]
    payment_modes: tuple[str, ...]
    coverages: tuple[Coverage, ...]
    underwriting: UnderwritingRules
    exclusions: tuple[Exclusion, ...]
    claim_documents: Mapping[str, tuple[DocumentRequirement, ...]]
    eligibility: Mapping[str, Any] = field(default_factory=dict)
    conditional_documents: tuple[ConditionalDocument, ...] = ()
    #: 回访 samples of the scheme's insureds (backoffice.domain.follow_up_sample)
    follow_up_samples: Mapping[str, SampleRule] = field(default_factory=dict)

    def coverage(self, code: str, field_name: str = "coverages") -> Coverage:
        for cov in self.coverages:
            if cov.code == code:
                return cov
        known = "、".join(c.code for c in self.coverages)
        raise ValidationError(field_name, f"产品 {self.code} 没有保险责任 {code}（可选：{known}）")

    def documents_for(self, claim_type: str, facts: Mapping[str, Any] | None = None
                      ) -> tuple[DocumentRequirement, ...]:
        """The documents the claim type needs, and those its report facts add (the first
        matching rule per document type; in place of a listed one of that type)."""
        if claim_type not in self.claim_documents:  # a type the product does not pay
            return ()
        said = report_facts(claim_type, facts)
        extra: dict[str, DocumentRequirement] = {}
        for rule in self.conditional_documents:
            if rule.document.type not in extra and rule.applies(claim_type, said):
                extra[rule.document.type] = rule.document
        base = self.claim_documents.get(claim_type, ())
        listed = tuple(extra.pop(d.type, d) for d in base)
        return listed + tuple(extra.values())


def _dec(raw: Any, where: str) -> Decimal:
    try:
        return Decimal(str(raw))
    except Exception:
        raise ValidationError(where, f"产品定义中 {where} 不是数字：{raw!r}") from None


def _coverage(raw: Mapping[str, Any], where: str) -> Coverage:
    si = raw.get("sum_insured", {})
    rating = raw.get("rating", {})
    default = _dec(si.get("default", 0), f"{where}.sum_insured.default")
    bands = tuple(
        AgeBandRate(int(b["min_age"]), int(b["max_age"]), _dec(b["rate"], f"{where}.rating"))
        for b in rating.get("age_bands", ())
    )
    claim_types = tuple(raw.get("claim_types", ()))
    for ct in claim_types:
        if ct not in CLAIM_TYPES:
            raise ValidationError(f"{where}.claim_types", f"未知的理赔类型 {ct}")
    benefit = raw.get("benefit", {})
    scale = benefit.get("scale")
    if benefit.get("rule") in _SCALE_RULES and str(scale or DEFAULT_SCALE) not in DISABILITY_SCALES:
        raise ValidationError(f"{where}.benefit.scale", f"不支持的伤残评定标准 {scale}")
    return Coverage(
        code=raw["code"],
        name=raw["name"],
        claim_types=claim_types,
        benefit=dict(raw.get("benefit", {})),
        required=bool(raw.get("required", False)),
        default_sum_insured=default,
        min_sum_insured=_dec(si.get("min", default), f"{where}.sum_insured.min"),
        max_sum_insured=_dec(si.get("max", default), f"{where}.sum_insured.max"),
        sum_insured_step=_dec(si.get("step", 0), f"{where}.sum_insured.step"),
        rate_unit=_dec(rating.get("unit", 1000), f"{where}.rating.unit"),
        rate_unit_text=rating.get("unit_text", "每千元保额"),
        age_band_rates=bands,
        exclusions=tuple(raw.get("exclusions", ())),
        transport_modes=_transport_modes(benefit, f"{where}.benefit"),
    )


def _transport_modes(benefit: Mapping[str, Any], where: str) -> tuple[TransportMode, ...]:
    """The modes of a transport benefit: `amounts` by mode, `includes` the vehicles of each."""
    includes = benefit.get("includes", {})
    modes = []
    for code, amount in benefit.get("amounts", {}).items():
        if code not in TRANSPORT_MODES:
            raise ValidationError(f"{where}.amounts", f"未知的交通方式 {code}")
        modes.append(TransportMode(code, TRANSPORT_MODES[code], _dec(amount, f"{where}.amounts"),
                                   tuple(str(v) for v in includes.get(code, ()))))
    return tuple(modes)


def _conditional(raw: Mapping[str, Any], where: str) -> ConditionalDocument:
    when = raw.get("when") or {}
    if not isinstance(when, Mapping) or not when:
        raise ValidationError(f"{where}.when", "条件材料须写明条件 when")
    for key, value in when.items():
        if key not in REPORT_FACTS or not isinstance(value, bool):
            raise ValidationError(f"{where}.when", f"未知的报案事实条件 {key}={value!r}")
    claim_types = tuple(raw.get("claim_types", ()))
    for ct in claim_types:
        if ct not in CLAIM_TYPES:
            raise ValidationError(f"{where}.claim_types", f"未知的理赔类型 {ct}")
    name = str(raw["name"])
    if not 1 <= len(name) <= 60:  # the length a claim's requirement keeps
        raise ValidationError(f"{where}.name", "材料名称须为 1–60 个字")
    return ConditionalDocument(dict(when), claim_types, DocumentRequirement(raw["type"], name))


def _underwriting(raw: Mapping[str, Any]) -> UnderwritingRules:
    return UnderwritingRules(
        min_entry_age=int(raw.get("min_entry_age", 0)),
        max_entry_age=int(raw.get("max_entry_age", 120)),
        max_occupation_class=int(raw.get("max_occupation_class", 6)),
        occupation_loading_pct={
            int(k): _dec(v, "underwriting.occupation_loading_pct")
            for k, v in raw.get("occupation_loading_pct", {}).items()
        },
        health_questions=tuple(
            HealthQuestion(
                code=q["code"],
                text=q["text"],
                if_yes=q["if_yes"],
                reason=q["reason"],
                loading_pct=_dec(q.get("loading_pct", 0), "underwriting.health_questions"),
            )
            for q in raw.get("health_questions", ())
        ),
        max_loading_pct=_dec(raw.get("max_loading_pct", 100), "underwriting.max_loading_pct"),
    )


def parse_product(raw: Mapping[str, Any]) -> Product:
    """Build a Product from its JSON definition; a malformed definition fails loudly."""
    try:
        rating = raw.get("rating", {})
        flat = rating.get("flat_premium_per_insured")
        product = Product(
            code=raw["code"],
            name=raw["name"],
            kind=raw["kind"],
            line=raw["line"],
            term_months=int(raw.get("term_months", 12)),
            waiting_period_days=int(raw.get("waiting_period_days", 0)),
            cooling_off_days=int(raw.get("cooling_off_days", 0)),
            grace_period_days=int(raw.get("grace_period_days", 60)),
            reinstatement_years=int(raw.get("reinstatement_years", 2)),
            time_bar_years=int(raw.get("time_bar_years", 2)),
            surrender_fee_pct=_dec(raw.get("surrender_fee_pct", 0), "surrender_fee_pct"),
            flat_premium_per_insured=None if flat is None else _dec(flat, "rating.flat"),
            occupation_class_factors={
                int(k): _dec(v, "rating.occupation_class_factors")
                for k, v in rating.get("occupation_class_factors", {}).items()
            },
            frequency_factors={
                k: _dec(v, "rating.frequency_factors")
                for k, v in rating.get("frequency_factors", {"annual": 1}).items()
            },
            payment_modes=tuple(raw.get("payment_modes", ("single",))),
            coverages=tuple(
                _coverage(c, f"coverages[{i}]") for i, c in enumerate(raw["coverages"])
            ),
            underwriting=_underwriting(raw.get("underwriting", {})),
            exclusions=tuple(Exclusion(e["code"], e["text"]) for e in raw.get("exclusions", ())),
            claim_documents={
                ct: tuple(DocumentRequirement(d["type"], d["name"]) for d in docs)
                for ct, docs in raw.get("claim_documents", {}).items()
            },
            eligibility=dict(raw.get("eligibility", {})),
            conditional_documents=tuple(
                _conditional(c, f"conditional_documents[{i}]")
                for i, c in enumerate(raw.get("conditional_documents", ()))
            ),
            follow_up_samples=parse_samples(raw.get("follow_up_samples")),
        )
    except KeyError as exc:
        raise ValidationError(str(exc.args[0]), f"产品定义缺少字段 {exc.args[0]}") from None
    if product.kind not in ("individual", "group"):
        raise ValidationError("kind", f"产品类型 {product.kind} 无效")
    return product

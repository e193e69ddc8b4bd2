"""Individual policies: application, underwriting, premium, issue and lifecycle moves.

Each public function is one use case in one transaction. The rules live in
backoffice.domain; this module loads, calls the domain, and writes back with an audit entry.
A use case is called `fn(db, cmd, actor)`: `cmd` is its typed command (declared below; a
mapping is validated into it, a refusal naming the field), `actor` who acts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import Field, StrictBool, WithJsonSchema
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backoffice.domain.endorsement import RELATIONS, check_beneficiaries
from backoffice.domain.endorsement import Beneficiary as Named
from backoffice.domain.errors import DomainError, NotFound, ValidationError
from backoffice.domain.identity import age_on, mask_bank_card, parse_bank_card
from backoffice.domain.money import fmt, from_fen, to_fen
from backoffice.domain.party import PersonData
from backoffice.domain.policy import (
    ACCEPTED,
    APPLICANT_RELATIONS,
    APPLIED,
    COVERED,
    GRACE_PERIOD,
    IN_FORCE,
    LAPSED,
    PAYMENT_METHODS,
    PREMIUM_DUE,
    STATUS_NAMES,
    TRANSITIONS,
    Instalment,
    Policy,
    payment_schedule,
)
from backoffice.domain.product import PAYMENT_FREQUENCIES, Product
from backoffice.domain.rating import PAYMENT_MODES, PremiumQuote, quote
from backoffice.domain.underwriting import (
    MAX_REASON_LENGTH,
    MAX_REASONS,
    OUTCOME_NAMES,
    check_declarations,
    manual_decision,
    underwrite,
)
from backoffice.services.base import audit, business_date, emit, number, today_cn
from backoffice.services.commands import (
    Command,
    Count,
    Day,
    IdNumber,
    OneOf,
    PositiveAmount,
    Reference,
    Text,
    domain_rule,
    takes,
)
from backoffice.services.parties import OccupationClass, PersonIn, ensure_party, party_view
from backoffice.services.products import load_product
from backoffice.store.db import Database
from backoffice.store.models import (
    Beneficiary,
    Endorsement,
    Payment,
    PolicyCoverage,
    PolicyRow,
    PremiumInstalment,
    utcnow,
)

# ---- what the use cases take -------------------------------------------------------------------

ProductCode = Text(40, blank_ok=False)


def _bank_card(value: Any, field: str) -> str:
    # the domain's pattern uses \d, which also matches "８" and other Unicode digits
    if isinstance(value, str) and not value.isascii():
        raise ValidationError(field, "银行卡号应为12–19位数字")
    return parse_bank_card(value, field)


def _loading_pct(value: Any, _field: str) -> Decimal | None:
    """A percentage as text or a whole number; the product's rules bound it."""
    refused = ValidationError("", "加费比例须为不小于 0 的数（百分比），如 \"25\"")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or (
            isinstance(value, int) and not 0 <= value <= 10_000):
        raise refused
    if isinstance(value, str) and (not value.isascii() or len(value) > 12):
        raise refused
    try:
        pct = Decimal(str(value).strip())
    except InvalidOperation:
        raise refused from None
    if not pct.is_finite() or pct < 0:
        raise refused
    return pct


BankCard = Annotated[str, domain_rule(_bank_card),
                     WithJsonSchema({"type": "string", "pattern": r"^[0-9 -]{12,23}$",
                                     "description": "Bank card number (Luhn-checked)."})]
LoadingPct = Annotated[Decimal | None, domain_rule(_loading_pct),
                       WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$"})]
# {question code: true/false}; the product decides which questions there are
Declarations = Annotated[dict[Text(40, blank_ok=False), StrictBool], Field(max_length=50)]


class CoverageChoice(Command):
    """A coverage of the product and its sum insured (default: the product's)."""

    code: Text(40, blank_ok=False)
    sum_insured: PositiveAmount | None = None


Coverages = Annotated[list[CoverageChoice], Field(min_length=1, max_length=20)]


class BeneficiaryIn(Command):
    """A named death beneficiary and their whole-percent share."""

    name: Text(40, blank_ok=False)
    relation: OneOf(RELATIONS)
    id_number: IdNumber
    share_pct: Count(100)


Beneficiaries = Annotated[list[BeneficiaryIn], Field(max_length=10)]


def beneficiaries_of(given: Sequence[BeneficiaryIn]) -> tuple[Named, ...]:
    """The beneficiaries as the domain keeps them; its rules (shares add up to 100, nobody
    twice) decide."""
    return check_beneficiaries([Named(b.name, b.relation, b.id_number, b.share_pct)
                                for b in given])


class Insured(PersonIn):
    """The insured of an application: the occupation class rates the premium."""

    occupation_class: OccupationClass


class QuoteRequest(Command):
    """A premium quote: who (birth date, occupation class), what (product, coverages), how
    it is paid; the age is taken on `on` (default today)."""

    birth_date: Day
    occupation_class: OccupationClass
    product_code: ProductCode
    on: Day | None = None
    coverages: Coverages | None = None
    payment_mode: OneOf(PAYMENT_MODES) = "single"
    frequency: OneOf(PAYMENT_FREQUENCIES) = "annual"


class Apply(Command):
    """投保: the insured (and the applicant unless the same person), product, coverages,
    beneficiaries, payment and health declarations."""

    # an absent insured is refused by its first field, as an empty one is
    insured: Insured = Field(default_factory=dict, validate_default=True)
    applicant_relation: OneOf(APPLICANT_RELATIONS) = "self"
    applicant: PersonIn | None = None
    application_date: Day | None = None
    start_date: Day | None = None
    beneficiaries: Beneficiaries | None = None
    payment_mode: OneOf(PAYMENT_MODES) = "single"
    frequency: OneOf(PAYMENT_FREQUENCIES) | None = None  # default: annual if single, else monthly
    debit_account: BankCard | None = None  # needed for auto_debit
    product_code: ProductCode
    health_declarations: Declarations | None = None
    coverages: Coverages | None = None


class Underwrite(Command):
    """核保 of an application: the product's rules, or with `outcome` the underwriter's own
    decision (always with reasons)."""

    application_no: Reference
    outcome: OneOf(tuple(OUTCOME_NAMES)) | None = None
    loading_pct: LoadingPct = None
    reasons: Annotated[list[Text(MAX_REASON_LENGTH, blank_ok=False)],
                       Field(max_length=MAX_REASONS)] | None = None


class Issue(Command):
    """承保出单 of an accepted application."""

    application_no: Reference


class PaymentIn(Command):
    """A premium payment: exactly what the next instalment (or the arrears) comes to."""

    amount: PositiveAmount
    method: OneOf(PAYMENT_METHODS) = "bank_transfer"
    reference: Text(60) = None


class RecordPayment(PaymentIn):
    """收费 on an application or a policy (one of the two numbers)."""

    application_no: Reference | None = None
    policy_no: Reference | None = None

    @property
    def ref(self) -> str:
        ref = self.policy_no or self.application_no
        if ref is None:
            raise ValidationError("policy_no", "请提供保单号或投保单号")
        return ref


class Transition(Command):
    """A lifecycle move on a policy; a reinstatement brings the arrears and a fresh health
    declaration."""

    policy_no: Reference
    action: OneOf(TRANSITIONS)
    today: Day | None = None
    payment: PaymentIn | None = None
    health_declarations: Declarations | None = None

    @classmethod
    def of(cls, raw: Any) -> Transition:
        try:
            return super().of(raw)
        except ValidationError as exc:
            # the arrears are refused as any payment is: "amount", "method" (as always)
            if exc.field and exc.field.startswith("payment."):
                raise ValidationError(exc.field.removeprefix("payment."), exc.message) from None
            raise



# ---- loading and views -------------------------------------------------------------------

def load_policy(session: Session, ref: str, *, lock: bool = False) -> PolicyRow:
    """A policy by policy number or application number."""
    column = PolicyRow.application_no if ref.startswith("A") else PolicyRow.policy_no
    stmt = select(PolicyRow).where(column == ref).options(
        selectinload(PolicyRow.coverages), selectinload(PolicyRow.insured)
    )
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar()
    if row is None:
        field = "application_no" if ref.startswith("A") else "policy_no"
        raise NotFound(f"保单 {ref} 不存在", field)
    return row


def load_issued(session: Session, policy_no: str, *, lock: bool = False) -> PolicyRow:
    """A policy by its policy number: an application number is not one."""
    if policy_no.startswith("A"):
        raise NotFound(f"保单 {policy_no} 不存在", "policy_no")
    return load_policy(session, policy_no, lock=lock)


def to_domain(row: PolicyRow, product: Product) -> Policy:
    return Policy(
        status=row.status, term_months=row.term_months,
        cooling_off_days=product.cooling_off_days,
        grace_period_days=product.grace_period_days,
        reinstatement_years=product.reinstatement_years,
        start_date=row.start_date, end_date=row.end_date,
        loading_pct=Decimal(row.loading_pct), due_date=row.due_date,
        grace_ends_on=row.grace_ends_on, lapsed_on=row.lapsed_on, ended_on=row.ended_on,
    )


def write_back(row: PolicyRow, policy: Policy) -> None:
    row.status = policy.status
    row.start_date, row.end_date = policy.start_date, policy.end_date
    row.loading_pct = str(policy.loading_pct)
    row.due_date, row.grace_ends_on = policy.due_date, policy.grace_ends_on
    row.lapsed_on, row.ended_on = policy.lapsed_on, policy.ended_on


def _state(row: PolicyRow) -> dict[str, Any]:
    return {"status": row.status, "start_date": _iso(row.start_date),
            "end_date": _iso(row.end_date), "due_date": _iso(row.due_date)}


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def active_coverages(row: PolicyRow) -> list[PolicyCoverage]:
    return [c for c in row.coverages if c.removed_on is None]


def coverage_view(c: PolicyCoverage) -> dict[str, Any]:
    return {"code": c.code, "name": c.name, "sum_insured": fmt(from_fen(c.sum_insured_fen))}


def policy_summary(row: PolicyRow, product: Product) -> dict[str, Any]:
    return {
        "policy_no": row.policy_no,
        "application_no": row.application_no,
        "product_code": row.product_code,
        "product_name": product.name,
        "kind": row.kind,
        "status": row.status,
        "status_text": STATUS_NAMES[row.status],
        "start_date": _iso(row.start_date),
        "end_date": _iso(row.end_date),
        "insured": party_view(row.insured) if row.insured else None,
        "coverages": [coverage_view(c) for c in active_coverages(row)],
    }


def policy_detail(session: Session, row: PolicyRow, product: Product) -> dict[str, Any]:
    instalments = session.execute(
        select(PremiumInstalment).where(PremiumInstalment.policy_id == row.id)
        .order_by(PremiumInstalment.seq)
    ).scalars().all()
    payments = session.execute(
        select(Payment).where(Payment.policy_id == row.id).order_by(Payment.id)
    ).scalars().all()
    endorsements = session.execute(
        select(Endorsement).where(Endorsement.policy_id == row.id).order_by(Endorsement.id)
    ).scalars().all()
    beneficiaries = session.execute(
        select(Beneficiary).where(Beneficiary.policy_id == row.id).order_by(Beneficiary.id)
    ).scalars().all()
    view = policy_summary(row, product)
    view.update({
        "applicant": party_view(row.applicant) if row.applicant else {"name": row.applicant_name},
        "applicant_relation": row.applicant_relation,
        "application_date": row.application_date.isoformat(),
        "underwriting": {
            "outcome": row.underwriting_outcome,
            "outcome_text": OUTCOME_NAMES.get(row.underwriting_outcome or "", None),
            "loading_pct": row.loading_pct,
            "reasons": row.underwriting_reasons,
        },
        "premium": {
            "annual": fmt(from_fen(row.annual_premium_fen)),
            "instalment": fmt(from_fen(row.instalment_fen)),
            "instalments": row.instalments,
            "payment_mode": row.payment_mode,
            "frequency": row.frequency,
            "debit_account": mask_bank_card(row.debit_account) if row.debit_account else None,
            "lines": row.premium_lines,
        },
        "premium_schedule": [
            {"seq": i.seq, "due_date": i.due_date.isoformat(),
             "amount": fmt(from_fen(i.amount_fen)),
             "period_start": i.period_start.isoformat(), "period_end": i.period_end.isoformat(),
             "status": i.status, "paid_at": i.paid_at.isoformat() if i.paid_at else None}
            for i in instalments
        ],
        "payments": [
            {"kind": p.kind, "amount": fmt(from_fen(p.amount_fen)), "method": p.method,
             "reference": p.reference, "paid_at": p.paid_at.isoformat()}
            for p in payments
        ],
        "beneficiaries": [
            {"name": b.name, "relation": b.relation, "share_pct": b.share_pct}
            for b in beneficiaries
        ],
        "endorsements": [
            {"endorsement_no": e.endorsement_no, "kind": e.kind, "status": e.status,
             "effective_date": e.effective_date.isoformat(), "before": e.before, "after": e.after,
             "premium_difference": fmt(from_fen(e.premium_difference_fen)),
             "explanation": e.explanation, "actor": e.actor, "created_at": e.created_at.isoformat()}
            for e in endorsements
        ],
        "cooling_off_days": product.cooling_off_days,
        "grace_period_days": product.grace_period_days,
        "grace_ends_on": _iso(row.grace_ends_on),
        "lapsed_on": _iso(row.lapsed_on),
        "ended_on": _iso(row.ended_on),
    })
    return view


def get_policy(db: Database, ref: str) -> dict[str, Any]:
    with db.read() as s:
        row = load_policy(s, ref)
        return policy_detail(s, row, load_product(s, row.product_code))


# ---- application and underwriting ----------------------------------------------------------

def _sums_insured(product: Product, chosen: Sequence[CoverageChoice] | None
                  ) -> dict[str, Decimal]:
    """Sums insured by coverage code: the product's required coverages at their defaults
    when none are chosen."""
    if chosen is None:
        return {c.code: c.default_sum_insured for c in product.coverages if c.required}
    sums: dict[str, Decimal] = {}
    for i, item in enumerate(chosen):
        cov = product.coverage(item.code, f"coverages[{i}].code")
        if cov.code in sums:
            raise ValidationError(f"coverages[{i}].code", f"{cov.name}重复")
        sums[cov.code] = item.sum_insured or cov.default_sum_insured
    return sums


def _declarations(product: Product, answers: Mapping[str, bool] | None) -> dict[str, bool]:
    return check_declarations(product, answers or {})


def price(product: Product, age: int, occupation_class: int, sums: Mapping[str, Decimal],
          loading: Decimal, payment_mode: str, frequency: str) -> PremiumQuote:
    return quote(product, age, occupation_class, sums, loading, payment_mode, frequency)


@takes(QuoteRequest)
def quote_request(db: Database, cmd: QuoteRequest, actor: str) -> dict[str, Any]:
    """A premium quote with its explanation, without applying (`actor` is not needed)."""
    with db.read() as s:
        product = load_product(s, cmd.product_code)
    on = cmd.on or today_cn()
    q = quote(product, age_on(cmd.birth_date, on), cmd.occupation_class,
              _sums_insured(product, cmd.coverages), Decimal(0), cmd.payment_mode,
              cmd.frequency)
    return quote_view(q)


def quote_view(q: PremiumQuote) -> dict[str, Any]:
    return {
        "annual_premium": fmt(q.annual_premium),
        "instalment_amount": fmt(q.instalment_amount),
        "instalments": q.instalments,
        "total_premium": fmt(q.total_premium),
        "lines": [{"text": ln.text, "amount": fmt(ln.amount)} for ln in q.lines],
    }


def _applicant(cmd: Apply, insured: PersonData) -> PersonData:
    if cmd.applicant_relation == "self":
        return insured
    if cmd.applicant is None:
        raise ValidationError("applicant", "投保人不是被保险人本人时，请提供投保人信息")
    return cmd.applicant.data()


def _debit_account(cmd: Apply) -> str | None:
    if cmd.payment_mode != "auto_debit":
        return None
    if cmd.debit_account is None:
        raise ValidationError("debit_account", "自动扣款须提供银行卡号")
    return cmd.debit_account


@takes(Apply)
def apply(db: Database, cmd: Apply, actor: str) -> dict[str, Any]:
    """投保: validate everything, price it, and file the application (status applied)."""
    insured = cmd.insured.data()
    relation = cmd.applicant_relation
    applicant = _applicant(cmd, insured)
    today = today_cn()
    application_date = business_date(cmd.application_date, "application_date") \
        if cmd.application_date else today
    start = business_date(cmd.start_date, "start_date") if cmd.start_date \
        else application_date + timedelta(days=1)
    if start <= application_date:
        raise ValidationError("start_date", "保险起期须晚于投保日期")
    beneficiaries = beneficiaries_of(cmd.beneficiaries) if cmd.beneficiaries else ()
    payment_mode = cmd.payment_mode
    frequency = cmd.frequency or ("annual" if payment_mode == "single" else "monthly")
    debit_account = _debit_account(cmd)

    with db.transaction() as s:
        product = load_product(s, cmd.product_code)
        if product.kind != "individual":
            raise ValidationError("product_code", f"{product.name}为团体产品，不接受个人投保")
        answers = _declarations(product, cmd.health_declarations)
        sums = _sums_insured(product, cmd.coverages)
        age = age_on(insured.birth_date, start)
        assert insured.occupation_class is not None  # Insured requires it
        q = price(product, age, insured.occupation_class, sums, Decimal(0),
                  payment_mode, frequency)
        insured_party = ensure_party(s, insured, actor, "insured")
        applicant_party = insured_party if relation == "self" else ensure_party(
            s, applicant, actor, "applicant")
        row = PolicyRow(
            application_no=number(s, "A", today.year, 8),
            product_code=product.code, kind="individual", status="applied",
            applicant_party_id=applicant_party.id, applicant_name=applicant_party.name,
            insured_party_id=insured_party.id, applicant_relation=relation,
            application_date=application_date, requested_start=start,
            term_months=product.term_months, payment_mode=payment_mode, frequency=frequency,
            debit_account=debit_account, health_declarations=answers,
            annual_premium_fen=to_fen(q.annual_premium), instalment_fen=to_fen(q.instalment_amount),
            instalments=q.instalments, premium_lines=quote_view(q)["lines"],
        )
        s.add(row)
        s.flush()
        for code, si in sums.items():
            cov = product.coverage(code)
            s.add(PolicyCoverage(policy_id=row.id, code=code, name=cov.name,
                                 sum_insured_fen=to_fen(si),
                                 annual_premium_fen=to_fen(q.coverage_premiums[code])))
        for b in beneficiaries:
            s.add(Beneficiary(policy_id=row.id, name=b.name, relation=b.relation,
                              id_number=b.id_number, share_pct=b.share_pct))
        audit(s, actor, "policy", row.application_no, "apply", None, _state(row))
        s.flush()
        s.refresh(row)
        return policy_detail(s, row, product)


@takes(Underwrite)
def run_underwriting(db: Database, cmd: Underwrite, actor: str) -> dict[str, Any]:
    """核保: the product's rules decide; or, with `outcome`, the underwriter does (a referred
    case). Loading reprices; an accepted case gets its schedule."""
    with db.transaction() as s:
        row = load_policy(s, cmd.application_no, lock=True)
        product = load_product(s, row.product_code)
        insured = row.insured
        assert insured is not None
        age = age_on(insured.birth_date, row.requested_start)
        occ = insured.occupation_class or 1
        manual = cmd.outcome is not None
        decision = (manual_decision(product, cmd.outcome, cmd.loading_pct,
                                    None if cmd.reasons is None else list(cmd.reasons))
                    if manual else underwrite(product, age, occ, row.health_declarations))
        policy = to_domain(row, product)
        before = _state(row)
        policy.underwrite(decision)
        write_back(row, policy)
        row.underwriting_outcome = decision.outcome
        row.underwriting_reasons = list(decision.reasons)
        if policy.status == ACCEPTED:
            _reprice(row, product, age, occ, decision.loading_pct)
            _build_schedule(s, row, row.requested_start)
        audit(s, actor, "policy", row.application_no, "underwrite", before,
              {**_state(row), "outcome": decision.outcome, "reasons": list(decision.reasons),
               "by": "underwriter" if manual else "rules"})
        emit(s, "policy.underwritten", {"application_no": row.application_no,
                                        "outcome": decision.outcome})
        return policy_detail(s, row, product)


def referrals(db: Database, limit: int = 200) -> list[dict[str, Any]]:
    """Applications waiting for an underwriting decision, oldest first, each with what the
    product's rules would decide (the underwriter's starting point)."""
    with db.read() as s:
        rows = s.execute(select(PolicyRow).where(PolicyRow.status == APPLIED)
                         .options(selectinload(PolicyRow.insured))
                         .order_by(PolicyRow.application_date, PolicyRow.id).limit(limit)
                         ).scalars().all()
        out = []
        for row in rows:
            product = load_product(s, row.product_code)
            insured = row.insured
            assert insured is not None
            rules = underwrite(product, age_on(insured.birth_date, row.requested_start),
                               insured.occupation_class or 1, row.health_declarations)
            out.append({**policy_summary(row, product),
                        "application_date": row.application_date.isoformat(),
                        "applicant_name": row.applicant_name,
                        "suggested": {"outcome": rules.outcome,
                                      "loading_pct": str(rules.loading_pct),
                                      "reasons": list(rules.reasons)},
                        "max_loading_pct": str(product.underwriting.max_loading_pct)})
        return out


def _reprice(row: PolicyRow, product: Product, age: int, occ: int, loading: Decimal) -> None:
    sums = {c.code: from_fen(c.sum_insured_fen) for c in active_coverages(row)}
    q = price(product, age, occ, sums, loading, row.payment_mode, row.frequency)
    row.annual_premium_fen = to_fen(q.annual_premium)
    row.instalment_fen = to_fen(q.instalment_amount)
    row.instalments = q.instalments
    row.premium_lines = quote_view(q)["lines"]
    for c in active_coverages(row):
        c.annual_premium_fen = to_fen(q.coverage_premiums[c.code])


def _build_schedule(s: Session, row: PolicyRow, start: date) -> None:
    """(Re)date the schedule from the start date; paid lines keep their money."""
    existing = {i.seq: i for i in s.execute(
        select(PremiumInstalment).where(PremiumInstalment.policy_id == row.id)).scalars()}
    for inst in payment_schedule(start, row.term_months, row.instalments,
                                 from_fen(row.instalment_fen)):
        line = existing.get(inst.seq)
        if line is None:
            s.add(PremiumInstalment(policy_id=row.id, seq=inst.seq, amount_fen=to_fen(inst.amount),
                                    due_date=inst.due_date, period_start=inst.period_start,
                                    period_end=inst.period_end))
        else:
            line.due_date, line.period_start, line.period_end = (
                inst.due_date, inst.period_start, inst.period_end)
            if line.status == "due":
                line.amount_fen = to_fen(inst.amount)
    s.flush()


def unpaid_instalments(s: Session, row: PolicyRow) -> list[PremiumInstalment]:
    return list(s.execute(
        select(PremiumInstalment)
        .where(PremiumInstalment.policy_id == row.id, PremiumInstalment.status == "due")
        .order_by(PremiumInstalment.seq)
    ).scalars())


def paid_instalments(s: Session, row: PolicyRow) -> list[Instalment]:
    lines = s.execute(
        select(PremiumInstalment)
        .where(PremiumInstalment.policy_id == row.id, PremiumInstalment.status == "paid")
        .order_by(PremiumInstalment.seq)
    ).scalars()
    return [Instalment(i.seq, i.due_date, from_fen(i.amount_fen), i.period_start, i.period_end)
            for i in lines]


# ---- premium and issue -------------------------------------------------------------------------

def _pay(s: Session, row: PolicyRow, lines: list[PremiumInstalment], paid: PaymentIn) -> None:
    owed = sum((from_fen(i.amount_fen) for i in lines), Decimal(0))
    if paid.amount != owed:
        raise ValidationError("amount", f"应缴金额为 {fmt(owed)} 元，收到 {fmt(paid.amount)} 元")
    now = utcnow()
    for line in lines:
        line.status, line.paid_at = "paid", now
        s.add(Payment(policy_id=row.id, instalment_id=line.id, kind="premium",
                      amount_fen=line.amount_fen, method=paid.method, reference=paid.reference))


@takes(RecordPayment)
def record_payment(db: Database, cmd: RecordPayment, actor: str) -> dict[str, Any]:
    """收费: pays the next unpaid instalment; clears premium-due and grace states."""
    ref, amount = cmd.ref, cmd.amount
    with db.transaction() as s:
        row = load_policy(s, ref, lock=True)
        product = load_product(s, row.product_code)
        if row.status not in (ACCEPTED, *COVERED):
            raise DomainError(f"保单状态为 {STATUS_NAMES[row.status]}，不能缴费", "policy_no")
        unpaid = unpaid_instalments(s, row)
        if not unpaid:
            raise DomainError("本保险期间的保费已全部缴清", "amount")
        before = _state(row)
        _pay(s, row, unpaid[:1], cmd)
        if row.status in (PREMIUM_DUE, GRACE_PERIOD):
            policy = to_domain(row, product)
            policy.premium_paid()
            write_back(row, policy)
        audit(s, actor, "policy", row.policy_no or row.application_no, "premium_paid", before,
              {**_state(row), "amount": fmt(amount), "seq": unpaid[0].seq})
        emit(s, "policy.premium_paid", {"ref": row.policy_no or row.application_no,
                                        "amount": fmt(amount)})
        return policy_detail(s, row, product)


@takes(Issue)
def issue(db: Database, cmd: Issue, actor: str) -> dict[str, Any]:
    """承保出单: a policy number; cover starts on the requested date, or tomorrow if later."""
    with db.transaction() as s:
        row = load_policy(s, cmd.application_no, lock=True)
        product = load_product(s, row.product_code)
        policy = to_domain(row, product)
        today = today_cn()
        start = max(row.requested_start, today + timedelta(days=1))
        first = s.execute(select(PremiumInstalment).where(
            PremiumInstalment.policy_id == row.id, PremiumInstalment.seq == 1)).scalar()
        before = _state(row)
        policy.issue(start, first_premium_paid=first is not None and first.status == "paid")
        write_back(row, policy)
        row.policy_no = number(s, "P", today.year, 10)
        row.issued_at = utcnow()
        if start != row.requested_start:
            _build_schedule(s, row, start)
        audit(s, actor, "policy", row.policy_no, "issue", before,
              {**_state(row), "application_no": row.application_no})
        emit(s, "policy.issued", {"policy_no": row.policy_no})
        return policy_detail(s, row, product)


# ---- lifecycle moves ------------------------------------------------------------------------

class RevokeDocumentLinks(Command):
    """Every link to the policy's document given out so far stops working."""

    policy_no: Reference


@takes(RevokeDocumentLinks)
def revoke_document_links(db: Database, cmd: RevokeDocumentLinks, actor: str) -> dict[str, Any]:
    with db.transaction() as s:
        row = load_issued(s, cmd.policy_no, lock=True)
        before = row.document_link_revision
        row.document_link_revision = before + 1
        audit(s, actor, "policy", cmd.policy_no, "revoke_document_links",
              {"document_link_revision": before},
              {"document_link_revision": row.document_link_revision})
        return {"policy_no": cmd.policy_no, "document_link_revision": row.document_link_revision}


def document_link_revision(db: Database, policy_no: str) -> int | None:
    """The counter signed into the policy's document links; None when there is no such
    issued policy."""
    with db.read() as s:
        return s.execute(select(PolicyRow.document_link_revision)
                         .where(PolicyRow.policy_no == policy_no)).scalar()


@takes(Transition)
def transition(db: Database, cmd: Transition, actor: str) -> dict[str, Any]:
    """Staff (or the scheduler) move a policy along its lifecycle."""
    action = cmd.action
    today = business_date(cmd.today, "today") if cmd.today else today_cn()
    with db.transaction() as s:
        row = load_issued(s, cmd.policy_no, lock=True)
        product = load_product(s, row.product_code)
        policy = to_domain(row, product)
        before = _state(row)
        extra: dict[str, Any] = {}
        if action == "premium_due":
            unpaid = unpaid_instalments(s, row)
            if not unpaid and row.status == IN_FORCE:  # other states: the illegal move's 409
                raise DomainError("没有未缴的续期保费", "action")
            policy.premium_falls_due(unpaid[0].due_date if unpaid else today)
        elif action == "start_grace":
            policy.start_grace(today)
        elif action == "lapse":
            policy.lapse(today)
        elif action == "reinstate":
            extra = _reinstate(s, row, product, policy, cmd, today)
        elif action == "expire":
            policy.expire(today)
        elif action == "cancel":
            policy.cancel(today)
            extra = _refund_all(s, row)
        write_back(row, policy)
        audit(s, actor, "policy", row.policy_no or row.application_no, action, before,
              {**_state(row), **extra})
        emit(s, f"policy.{action}", {"policy_no": row.policy_no, "status": row.status})
        return policy_detail(s, row, product)


def _reinstate(s: Session, row: PolicyRow, product: Product, policy: Policy,
               cmd: Transition, today: date) -> dict[str, Any]:
    """复效: the arrears in one payment and a fresh health declaration that still passes."""
    if row.status != LAPSED:
        policy.reinstate(today, arrears_paid=False, health_ok=False)  # raises the clear error
    owed = [i for i in unpaid_instalments(s, row) if i.due_date <= today]
    answers = _declarations(product, cmd.health_declarations)
    insured = row.insured
    assert insured is not None
    decision = underwrite(product, age_on(insured.birth_date, today),
                          insured.occupation_class or 1, answers)
    health_ok = decision.accepted and decision.loading_pct <= Decimal(row.loading_pct)
    if owed and cmd.payment is None:
        raise ValidationError("payment", "复效须补缴欠缴保费：payment {amount, method}")
    policy.reinstate(today, arrears_paid=True, health_ok=health_ok)
    if owed:
        assert cmd.payment is not None
        _pay(s, row, owed, cmd.payment)
    row.health_declarations = answers
    return {"arrears_paid": fmt(sum((from_fen(i.amount_fen) for i in owed), Decimal(0)))}


def _refund_all(s: Session, row: PolicyRow) -> dict[str, Any]:
    paid = sum((i.amount for i in paid_instalments(s, row)), Decimal(0))
    if paid:
        s.add(Payment(policy_id=row.id, kind="refund", amount_fen=-to_fen(paid),
                      method="bank_transfer", reference=None))
    for line in unpaid_instalments(s, row):
        line.status = "cancelled"
    return {"refund": fmt(paid)}


def policy_clock(db: Database, today: date, actor: str = "scheduler") -> dict[str, int]:
    """The daily sweep the scheduler runs: premium due → grace → lapse, and expiry."""
    counts = {"premium_due": 0, "start_grace": 0, "lapse": 0, "expire": 0}
    with db.read() as s:
        candidates = s.execute(
            select(PolicyRow.policy_no, PolicyRow.status, PolicyRow.due_date,
                   PolicyRow.grace_ends_on, PolicyRow.end_date)
            .where(PolicyRow.kind == "individual", PolicyRow.status.in_(COVERED))
        ).all()
        due_soon = set(s.execute(
            select(PolicyRow.policy_no).join(PremiumInstalment,
                                             PremiumInstalment.policy_id == PolicyRow.id)
            .where(PremiumInstalment.status == "due", PremiumInstalment.due_date <= today)
        ).scalars())
    for no, status, due, grace_end, end in candidates:
        action = None
        if end is not None and today >= end:
            action = "expire"
        elif status == IN_FORCE and no in due_soon:
            action = "premium_due"
        elif status == PREMIUM_DUE and due is not None and today > due:
            action = "start_grace"
        elif status == GRACE_PERIOD and grace_end is not None and today > grace_end:
            action = "lapse"
        if action:
            transition(db, {"policy_no": no, "action": action, "today": today.isoformat()},
                       actor)
            counts[action] += 1
    return counts

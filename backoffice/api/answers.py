"""The answers of /api/v1 as pydantic v2 types: one model per response component schema.

Names, properties and `required` lists are those of the OpenAPI document's components, so
clients keep what they rely on. Answers are open (`extra="allow"`): a client must tolerate
more fields. Value lists come from the domain and the services, never re-typed here.

`answer_schemas()` gives the models as OpenAPI 3.1 component schemas; `ANSWERS` names the
success status and the answer model of every operation (None: not a JSON model).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from backoffice.domain import appeal as ap
from backoffice.domain import claim as cl
from backoffice.domain import complaint as cp
from backoffice.domain import consent as cs
from backoffice.domain import endorsement_request as er
from backoffice.domain import integrity
from backoffice.domain import privacy_request as pr
from backoffice.domain.agent_queue import QUEUES
from backoffice.domain.clocks import ComplaintTrack
from backoffice.domain.endorsement import KINDS as ENDORSEMENT_KINDS
from backoffice.domain.endorsement import RELATIONS
from backoffice.domain.home_visit import STATUSES as HOME_VISIT_STATUSES
from backoffice.domain.party import GENDERS
from backoffice.domain.policy import STATUS_NAMES as POLICY_STATUS_NAMES
from backoffice.domain.product import CLAIM_TYPES
from backoffice.domain.underwriting import OUTCOME_NAMES
from backoffice.services import claim_stats
from backoffice.services import conversations as conversations_service


def one_of(values: Iterable[str]) -> Any:
    """A Literal of the given values (a domain tuple), so the list lives in one place."""
    return Literal.__getitem__(tuple(values))


def absent(description: str | None = None, **constraints: Any) -> Any:
    """A field the answer may leave out, but never sends as null. (Its default None is never
    validated nor shown in the schema; build answers with `model_dump(exclude_unset=True)`.)"""
    if description is not None:  # else the value type's own description stays
        constraints["description"] = description
    return Field(None, **constraints)


# ---- reusable value types --------------------------------------------------------------------

MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
PERCENT_PATTERN = r"^[0-9]+\.[0-9]{2}$"
RATIO_PATTERN = r"^[0-9]+\.[0-9]{4}$"
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# RFC 3339 date-time (what JSON Schema's `date-time` means), with a numeric offset or Z
_TIMESTAMP = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")


def _date(value: str) -> str:
    # the pattern first: fromisoformat alone also takes 20260520 and 2026-W21-3
    if not _DATE.match(value):
        raise ValueError("a date is YYYY-MM-DD")
    date.fromisoformat(value)
    return value


def _timestamp(value: str) -> str:
    if not _TIMESTAMP.match(value):
        raise ValueError("a timestamp is ISO 8601 with an offset (YYYY-MM-DDThh:mm:ss+hh:mm)")
    datetime.fromisoformat(value)
    return value


# Kept as strings, not date/datetime: an answer is checked as sent, never reformatted.
Money = Annotated[str, Field(pattern=MONEY_PATTERN, examples=["1234.50"],
                             description="Amount in yuan as a decimal string with two decimals.")]
Date = Annotated[str, AfterValidator(_date),
                 Field(description="A date, YYYY-MM-DD.", json_schema_extra={"format": "date"})]
Timestamp = Annotated[str, AfterValidator(_timestamp),
                      Field(description="ISO 8601 with offset.",
                            json_schema_extra={"format": "date-time"})]
Count = Annotated[int, Field(ge=0)]
Days = Annotated[float, Field(ge=0)]
Score = Annotated[int, Field(ge=1, le=5)]
Percent = Annotated[str, Field(pattern=PERCENT_PATTERN, description="Percent with two decimals.")]
# an amount as it was sent in and kept: a decimal string (at most two decimals) or a whole number
AmountSent = Annotated[str, Field(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")] | Annotated[
    int, Field(ge=0)]

# Value lists with a public name in the domain or the services.
ClaimStatus = one_of(cl.STATUSES)
ClaimType = one_of(CLAIM_TYPES)
ApprovalRole = one_of(cl.ROLES)
ComplaintStatus = one_of(cp.STATUSES)
# the policy statuses are the keys of their names; a listed group member may be `removed`
ListedPolicyStatus = one_of((*POLICY_STATUS_NAMES, "removed"))
UnderwritingOutcome = one_of(OUTCOME_NAMES)
EndorsementKind = one_of(ENDORSEMENT_KINDS)
Queue = one_of(QUEUES)
ConversationChannel = one_of(conversations_service.CHANNELS)
ConversationState = one_of(conversations_service.STATES)
Gender = one_of(GENDERS)
Relation = one_of(RELATIONS)
StatsTrack = one_of(claim_stats.TRACKS)
ClaimClock = one_of(claim_stats.DEADLINES)
ComplaintClockTrack = one_of(t.value for t in ComplaintTrack)
FlagCode = one_of(integrity.CODES)
FlagOutcome = one_of((integrity.OPEN, integrity.CONFIRMED, integrity.CLEARED))
ComplaintChannel = one_of(cp.CHANNELS)
ComplaintOutcome = one_of(cp.OUTCOMES)
HomeVisitStatus = one_of(HOME_VISIT_STATUSES)
RequestStatus = one_of(er.STATUSES)
RequestChannel = one_of(er.CHANNELS)
RequestAction = one_of(er.ACTIONS)
# No name in the domain for these: the values as the services write them.
ProductKind = Literal["individual", "group"]  # product.kind / PolicyRow.kind
ClaimTrack = Literal["fast", "manual"]  # ClaimRow.track ("undecided" only in the statistics)
InstalmentStatus = Literal["due", "paid", "cancelled"]  # PremiumInstalment.status
PaymentKind = Literal["premium", "additional_premium", "refund"]  # Payment.kind
ReadingStatus = Literal["received", "read", "needs_review", "unreadable", "failed"]
MessageRole = Literal["user", "bot", "agent", "system"]  # ConversationMessage.role


class Answer(BaseModel):
    """An answer: clients must tolerate fields they do not know."""

    model_config = ConfigDict(extra="allow")


# ---- errors ---------------------------------------------------------------------------------

class ErrorDetail(Answer):
    code: str = Field(description="Machine-readable code: invalid, not_found, conflict, "
                                  "illegal_transition, domain_error, unauthorized, too_large, "
                                  "http_error.")
    message: str = Field(description="What went wrong, in Chinese.")
    field: str | None = Field(description="The request field concerned, if any.")


class Error(Answer):
    """Every 4xx answer."""

    error: ErrorDetail


# ---- products, quotes, policies ---------------------------------------------------------------

class PremiumLine(Answer):
    text: str = Field(description="Explanation, in Chinese.")
    amount: Money


class SumInsuredRange(Answer):
    default: Money = absent()
    min: Money = absent()
    max: Money = absent()


class TransportMode(Answer):
    """A mode a transport death benefit pays by, with the vehicles the product counts as it."""

    code: str = absent("motor_vehicle, rail, ship or aircraft.")
    name: str = absent("Name, in Chinese.")
    amount: Money = absent()
    includes: list[str] = absent("Vehicles counted as this mode, in Chinese.")


class ProductCoverage(Answer):
    code: str
    name: str
    claim_types: list[ClaimType] = absent()
    required: bool
    sum_insured: SumInsuredRange
    benefit: dict[str, Any] = absent()
    exclusions: list[str] = absent("Codes of the product's exclusions that apply to this cover.")
    transport_modes: list[TransportMode] = absent("A transport death benefit: each mode.")
    disability_percentages: dict[str, str] = absent(
        "A benefit paid by a disability scale: level (1-10) → percentage of the sum insured.")


class EntryAge(Answer):
    min: int = absent()
    max: int = absent()


class CodedText(Answer):
    """A health question or an exclusion: a code and its text."""

    code: str = absent()
    text: str = absent()


class DocumentType(Answer):
    """A claim document a product asks for."""

    type: str = absent("Document type code.")
    name: str = absent("Name, in Chinese.")


class MissingDocument(Answer):
    type: str = Field(description="Document type code.")
    name: str = Field(description="Name, in Chinese.")


class Product(Answer):
    """A product with its coverages, rules and claim documents."""

    code: str
    name: str
    kind: ProductKind
    line: str = absent()
    term_months: int = absent()
    waiting_period_days: int = absent()
    cooling_off_days: int = absent()
    grace_period_days: int = absent()
    entry_age: EntryAge = absent()
    payment_modes: list[str] = absent()
    frequencies: list[str] = absent()
    coverages: list[ProductCoverage]
    time_bar_years: int = absent("Claims are refused this many years after the incident.")
    eligibility: dict[str, Any] = absent(
        "Who is insured (a group scheme): area_name, area_codes, min_age, auto_enrollment, "
        "applicant, residence.")
    flat_premium_per_insured: Money = absent()
    health_questions: list[CodedText] = absent()
    exclusions: list[CodedText] = absent()
    claim_documents: dict[str, list[DocumentType]] = absent(
        "The documents each claim type needs.")


class ProductList(Answer):
    items: list[Product]


class Quote(Answer):
    """A premium quote with a line-by-line explanation."""

    annual_premium: Money
    instalment_amount: Money
    instalments: int = Field(ge=1)
    total_premium: Money
    lines: list[PremiumLine]


class Party(Answer):
    """A party (person) as shown to staff, with personal data masked."""

    name: str
    gender: Gender
    birth_date: Date
    id_number: str = Field(description="Masked: area code and last four characters.")
    phone: str | None = Field(description="Masked.")
    address: str | None = None
    occupation: str | None = None
    occupation_class: int | None = None


class Coverage(Answer):
    code: str
    name: str
    sum_insured: Money


class ListedApplicant(Answer):
    name: str = absent()


class PolicyApplicant(Answer):
    name: str


class PolicySummary(Answer):
    """A policy as listed; group memberships carry enrollment fields."""

    policy_no: str | None = Field(description="Set when issued.")
    application_no: str = absent()
    product_code: str
    product_name: str = absent()
    kind: ProductKind = absent()
    status: ListedPolicyStatus = Field(
        description="Policy status; `removed` for a group member taken off the roster.")
    status_text: str = absent("Status in Chinese.")
    start_date: Date | None = None
    end_date: Date | None = None
    insured: Party | None
    coverages: list[Coverage]
    applicant: ListedApplicant = absent()
    enrolled_on: Date = absent("Group members: the enrollment date.")
    covered: bool = absent("Group members: covered now.")
    end_reason: RemovalReason = absent(
        "Group members taken off the roster: why (death, moved_away, correction).")
    covered_until: Date = absent(
        "Group members taken off the roster: the last day covered (the removal date).")


class PolicyList(Answer):
    items: list[PolicySummary]


class Instalment(Answer):
    seq: int = Field(ge=1)
    due_date: Date
    amount: Money
    period_start: Date
    period_end: Date
    status: InstalmentStatus
    paid_at: Timestamp | None


class PaymentRecord(Answer):
    kind: PaymentKind
    amount: Money = Field(description="Negative for a refund.")
    method: str
    reference: str | None = None
    paid_at: Timestamp


class Endorsement(Answer):
    """One endorsement (保全) with its before and after."""

    endorsement_no: str
    kind: EndorsementKind
    status: str = absent()
    effective_date: Date
    before: dict[str, Any]
    after: dict[str, Any]
    premium_difference: Money = Field(description="To collect (positive) or refund (negative).")
    explanation: list[PremiumLine] = absent()
    actor: str
    created_at: Timestamp


class Underwriting(Answer):
    outcome: UnderwritingOutcome | None
    outcome_text: str | None = None
    loading_pct: str = absent("Loading in percent, decimal text.")
    reasons: list[str]


class PremiumTerms(Answer):
    annual: Money
    instalment: Money
    instalments: int
    payment_mode: str
    frequency: str = absent()
    debit_account: str | None = Field(None, description="Masked bank card.")
    lines: list[PremiumLine]


class PolicyBeneficiary(Answer):
    name: str = absent()
    relation: str = absent()
    share_pct: int = absent()


class PolicyDetail(PolicySummary):
    """One policy or application with coverages, premium schedule, payments, beneficiaries
    and endorsements."""

    application_no: str
    applicant: PolicyApplicant
    applicant_relation: str = absent()
    application_date: Date
    underwriting: Underwriting
    premium: PremiumTerms
    premium_schedule: list[Instalment]
    payments: list[PaymentRecord]
    beneficiaries: list[PolicyBeneficiary]
    endorsements: list[Endorsement]
    cooling_off_days: int = absent()
    grace_period_days: int = absent()
    grace_ends_on: Date | None = None
    lapsed_on: Date | None = None
    ended_on: Date | None = None
    document_url: str = absent(
        "Signed link to the electronic policy document (HTML), openable "
                          "without a token; on GET of an issued policy and on issue.")


class EndorsementResult(PolicyDetail):
    """The policy after the endorsement, and the endorsement itself."""

    endorsement: Endorsement


# ---- parties, group policies, outlets, audit, notifications ----------------------------------

class PartyChange(Answer):
    field: str
    before: str | None
    after: str | None
    actor: str
    source: str
    at: Timestamp


class PartyRecord(Answer):
    """A party and the history of its updates (phones masked)."""

    party: Party
    updates: list[PartyChange]


class PartyUpdateResult(Answer):
    party: Party
    changed: list[str]


class GroupPolicy(Answer):
    """A group policy, issued in force; insureds come by roster."""

    policy_no: str
    product_code: str
    start_date: Date
    end_date: Date


class RosterError(Answer):
    line: int = Field(ge=1, description="Line in the file; the header is line 1.")
    field: str
    message: str


RemovalReason = Literal["death", "moved_away", "correction"]


class RosterRemoval(Answer):
    """A member taken off a group roster; the row stays, cover ends after `covered_until`."""

    policy_no: str
    status: Literal["removed"]
    outcome: Literal["removed", "corrected", "unchanged"] = Field(
        description="`unchanged`: the same reason and date were already recorded (a replay); "
        "`corrected`: another reason or date replaced the recorded one.")
    reason: RemovalReason
    reason_text: str = Field(description="The reason in Chinese.")
    date: Date
    covered_until: Date = Field(description="Covered through this day (an accident on the "
                                "day of death is covered), not after.")
    enrolled_on: Date
    note: str | None
    claims_to_review: list[str] = Field(
        description="Undecided claims of the member for an incident after the date: a line "
        "on their timeline; a death raises `after_death` on them.")
    premium: Money = Field(description="The group policy's annual premium after the change.")


class RosterImportResult(Answer):
    imported: Count
    skipped: Count = Field(description="Already on the roster.")
    errors: list[RosterError]


class AutoEnrollmentResult(Answer):
    enrolled: Count


class SchemeRenewal(Answer):
    """Next year's group policy, issued from this year's roster."""

    policy_no: str
    renewal_of: str
    start_date: Date
    end_date: Date
    members: Count = Field(description="Members carried over: on the roster on the renewal "
                           "day, with no removal and no death claim.")
    not_renewed: Count
    premium_per_insured: Money
    annual_premium: Money


class MonthPaid(Answer):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    paid: Money


class DisclosureGroup(Answer):
    name: str
    claim_type: str = absent()
    town: str = absent()
    reported: Count
    approved: Count
    approved_amount: Money


class DisclosureClock(Answer):
    deadline: str
    name: str
    met: Count
    breached: Count
    open: Count
    compliance_pct: str | None


class Disclosure(Answer):
    """A scheme's quarterly disclosure (信息披露)."""

    policy_no: str
    applicant_name: str
    quarter: str = Field(pattern=r"^\d{4}Q[1-4]$")
    from_: Date = Field(alias="from")
    to: Date
    insureds: dict[str, int]
    claims: dict[str, Any]
    by_type: list[DisclosureGroup]
    by_town: list[DisclosureGroup]
    paid_in_quarter: dict[str, Any]
    sla: list[DisclosureClock]
    complaints: dict[str, Any]
    satisfaction: dict[str, Any]


class SchemeLossRatio(Answer):
    """The scheme year's loss ratio (赔付率): paid + reserved over premium."""

    policy_no: str
    premium: Money
    paid: Money
    reserved: Money = Field(description="Open claims' approved or adjudicated amounts, else "
                            "the average paid per claim of their type.")
    ratio: str | None = Field(description="Decimal, 4 places; null without premium.")
    projected: str | None = Field(description="Year-end ratio at this year's pace so far.")
    alert: Literal["low", "high"] | None = Field(
        description="`low` below the floor, `high` above the ceiling, once 90 days have run.")
    floor: str
    ceiling: str
    by_month: list[MonthPaid]


class Outlet(Answer):
    """A service outlet (服务网点)."""

    code: str
    name: str
    town: str
    address: str
    phone: str
    opening_hours: dict[str, Any] = absent()
    opening_hours_text: str = absent()
    services: list[str]
    latitude: float | None = None
    longitude: float | None = None


class OutletList(Answer):
    items: list[Outlet]


class AuditEntry(Answer):
    """Who changed what, when."""

    at: Timestamp
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditList(Answer):
    items: list[AuditEntry]


class AccessLogItem(Answer):
    """One display of a record's personal data, unmasked, to a staff member."""

    id: int
    at: Timestamp
    staff: str
    role: str
    record_kind: str
    record_id: str
    door: str = Field(description="`desk` or `api`")
    purpose: str = Field(description="The desk route or the API operation")
    with_work: bool = Field(description="The record was theirs or their queue's to work on")


class AccessLog(Answer):
    items: list[AccessLogItem]


class UnusualAccessDay(Answer):
    staff: str
    role: str
    day: Date
    records: Count
    lists: Count = Field(description="Lists, searches and exports shown unmasked (once each)")
    without_work: Count
    without_work_records: list[str]
    flags: list[Literal["over_threshold", "no_work"]]
    flag_names: list[str]


class UnusualAccess(Answer):
    """Per staff member and day; flagged days first."""

    from_: Date = Field(alias="from")
    to: Date
    threshold: int
    items: list[UnusualAccessDay]


class DeadLetter(Answer):
    """A notification that used up its tries (recipient masked)."""

    id: int
    channel: str
    recipient: str
    template: str
    attempts: int
    last_error: str | None
    created_at: Timestamp


class DeadLetterList(Answer):
    items: list[DeadLetter]


class Requeued(Answer):
    requeued: int


# ---- claims ---------------------------------------------------------------------------------

class ClaimDocument(Answer):
    document_id: int
    doc_type: str
    filename: str = absent()
    size: int = absent(ge=1)
    uploaded_at: Timestamp = absent()
    fields: dict[str, Any] = Field(description="Recognised fields (OCR), if any.")
    needs_review: bool


class ClaimDeadline(Answer):
    due: Date = Field(description="Provisional while paused.")
    breached: bool
    paused: bool = Field(
        description="Stopped while the claimant supplies requested documents.")
    done_on: Date | None
    basis: str = absent("The rule, in Chinese.")


class ClaimLetter(Answer):
    letter_no: str
    kind: str
    body: str
    sent_at: Timestamp | None


class LinkedComplaint(Answer):
    complaint_no: str
    status: ComplaintStatus
    due_by: Date
    category: str = absent()


class ClaimEvent(Answer):
    at: Timestamp
    status: ClaimStatus
    action: str = absent()
    actor: str
    note: str | None


class ClaimFlag(Answer):
    """A risk flag of the cross-claim checks, open until a claims supervisor clears it."""

    code: Literal[integrity.CODES] = Field(  # type: ignore[valid-type]
        description="duplicate_stay, overlapping_stay, duplicate_incident, "
                    "death_benefit_paid, after_death, allowance_cap, document_reused, "
                    "name_mismatch, not_accident, frequent or hospital_level.")
    text: str = Field(description="What was found, in Chinese.")
    related: list[str] = Field(description="Report numbers of the claims it relates to.")
    outcome: FlagOutcome = Field(
        description="open until a claims supervisor decides; confirmed: the risk is real (a "
                    "deduction is taken off the amount, any other code means the claim is "
                    "rejected, never approved). Cleared flags are not shown on the claim.")


class Claim(Answer):
    """One claim with its documents, clocks and timeline."""

    claim_no: str = Field(description="Report number (报案号).")
    status: ClaimStatus = Field(
        description="Claim status; a reopened claim returns to under_review.")
    stage: str = absent("Status in Chinese.")
    claim_type: ClaimType
    policy_no: str | None = None
    product_code: str = absent()
    incident_date: Date = absent()
    incident_place: str | None = None
    reported_on: Date = absent()
    late_report: bool = absent()
    channel: str = absent()
    handler: str | None = None
    track: ClaimTrack = absent()
    track_rule: str = absent("The rule that chose the track, in Chinese.")
    special_case: bool = absent()
    missing_documents: list[MissingDocument]
    documents: list[ClaimDocument]
    deadlines: dict[str, ClaimDeadline] = Field(
        description="Clocks by name: review, special_case, decision, payment, "
                    "rejection_letter, advance_payment; from the report while open: "
                    "progress_notice (the next notice), and while documents are awaited "
                    "documents_reminder (the next reminder) and time_bar (the customer's "
                    "2-year bar, never breached).")
    payable: Money | None
    approved: Money | None = None
    advance_paid: Money = absent()
    approval_role: ApprovalRole | None = None
    adjudication_lines: list[PremiumLine] = absent()
    rejection_reasons: list[str] = absent()
    letters: list[ClaimLetter] = absent()
    allowed_actions: list[str] = absent()
    complaints: list[LinkedComplaint] = absent("Complaints linked to this claim.")
    flags: list[ClaimFlag] = Field(
        description="Open risk flags of the cross-claim checks; empty when clean. A flagged "
                    "claim is never decided by the fast track.")
    timeline: list[ClaimEvent]


class ClaimSummary(Answer):
    claim_no: str
    status: ClaimStatus
    claim_type: ClaimType
    incident_date: Date
    handler: str | None = None
    track: ClaimTrack = absent()
    next_due: Date | None = Field(
        None, description="With due_before or breached: the nearest open clock.")
    breached: bool = absent("With due_before or breached: an open clock is late.")


class ClaimList(Answer):
    items: list[ClaimSummary]


class ClaimProgress(Answer):
    """The customer's view of a claim."""

    claim_no: str
    stage: str = Field(description="In Chinese.")
    status: ClaimStatus = absent()
    text: str = Field(description="The whole answer for the customer, in Chinese.")
    missing_documents: list[MissingDocument]
    next_step: str = Field(description="In Chinese.")
    awaiting: str | None = absent("What the open claim waits for and from whom, in Chinese; "
                                  "null once it is no longer open.")
    expected_by: Date | None


class ReadField(Answer):
    value: Any = Field(description="String, integer (days, levels) or list of strings "
                                   "(parties); null when not read.")
    confidence: float = Field(ge=0, le=1)


class _DocumentReading(Answer):
    """A claim document as read by OCR (document_reading.receipt); not a component."""

    document_id: int
    doc_type: str = Field(
        description="The requirement type it was stored as (e.g. discharge_summary).")
    detected_type: str | None = Field(None, description="The document type OCR recognised.")
    fields: dict[str, ReadField] = Field(
        description="Field name (CONTRACTS.md OCR field names) → value.")
    needs_review: list[str] = Field(
        description="Fields a person must check before they are trusted: low confidence, a "
                    "failed check, or at odds with the claim.")
    status: ReadingStatus = absent(
        "received = stored unread; unreadable = not an image or PDF.")
    warnings: list[str] = absent()
    problems: dict[str, list[str]] = absent("Why each field needs review.")
    filename: str = absent()
    uploaded_at: Timestamp = absent()


class DocumentReceipt(_DocumentReading):
    """The stored document and what OCR read on it (read before the answer)."""

    claim_status: ClaimStatus = absent()


class ClaimDocumentReading(_DocumentReading):
    """One claim document with what OCR read on it."""

    status: ReadingStatus = Field(
        description="received = stored unread; unreadable = not an image or PDF.")


class AdjudicationPreview(Answer):
    """What the claim would pay, with the calculation statement."""

    payable: Money
    lines: list[PremiumLine] = Field(description="The last line states the total.")
    excluded: bool = absent()
    reasons: list[str] = absent()


class ClaimCounts(Answer):
    total: Count
    open: Count


class StageCount(Answer):
    status: ClaimStatus
    stage: str
    count: Count


class ClaimTypeCount(Answer):
    claim_type: ClaimType
    name: str
    count: Count


class TrackCount(Answer):
    track: StatsTrack
    name: str
    count: Count


class CycleBucket(Answer):
    bucket: str
    min_days: Count
    max_days: Count | None
    count: Count


class CycleTime(Answer):
    """Days; p50/p90 interpolate linearly between ranks; null without claims."""

    count: Count
    mean: Days | None
    p50: Days | None
    p90: Days | None
    min: Count | None = None
    max: Count | None = None
    distribution: list[CycleBucket]


class CycleTimes(Answer):
    report_to_close: CycleTime
    report_to_payment: CycleTime


class SlaLine(Answer):
    deadline: ClaimClock
    name: str = absent()
    met: Count
    breached: Count
    open: Count
    total: Count = absent()
    compliance_pct: Percent | None = Field(description="met / (met + breached).")


class LossRatio(Answer):
    product_code: str
    product_name: str = absent()
    kind: ProductKind = absent()
    premium: Money
    claims_paid: Money
    loss_ratio: Annotated[str, Field(pattern=RATIO_PATTERN)] | None = Field(
        description="Claims paid / premium, 4 decimals; null without premium.")
    premium_basis: str = absent()


class Payouts(Answer):
    total: Money
    count: Count
    final: Money = absent()
    advance: Money = absent()
    claims: Count = absent()


class RiskMonth(Answer):
    month: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$")
    raised: Count = Field(description="Flags raised in the month.")
    confirmed: Count = Field(description="Flags a supervisor confirmed in the month.")
    cleared: Count = Field(description="Flags a supervisor cleared in the month.")
    held_back: Money = Field(description="What the flags confirmed in the month kept from "
                                         "being paid.")


class RiskCodeCount(Answer):
    code: FlagCode
    code_name: str
    raised: Count
    confirmed: Count
    cleared: Count


class RiskFigures(Answer):
    """The risk review in the window: flags raised by month raised; confirmed, cleared and
    held back by month decided (decisions by people, not the system's own retirements)."""

    by_month: list[RiskMonth]
    by_code: list[RiskCodeCount]


class ClaimStats(Answer):
    """Claims reported in the window by stage, type and track; their cycle times and clocks
    (met on time, breached, open); claim payments made in the window, and per product the loss
    ratio: payments / premium (individual: premium received in the window; group: annual
    premium of policies overlapping the window)."""

    from_: Date = Field(alias="from")
    to: Date
    as_of: Date = absent()
    claims: ClaimCounts = absent()
    by_stage: list[StageCount]
    by_claim_type: list[ClaimTypeCount]
    by_track: list[TrackCount]
    cycle_time_days: CycleTimes
    sla: list[SlaLine]
    loss_ratio: list[LossRatio]
    payouts: Payouts
    integrity: RiskFigures = absent()


# ---- complaints, home visits, satisfaction ----------------------------------------------------

class ComplaintClock(Answer):
    due: Date
    days_left: int
    breached: bool
    warn: bool = absent()
    track: ComplaintClockTrack
    done_on: Date | None = None
    text: str = Field(description="In Chinese.")
    basis: str = absent()


class ComplainantView(Answer):
    name: str
    phone: str


class ComplaintSummary(Answer):
    complaint_no: str
    status: ComplaintStatus
    status_name: str = absent()
    channel: ComplaintChannel = absent()
    category: str = absent()
    complainant: ComplainantView = absent()
    claim_no: str | None = None
    policy_no: str | None = None
    handler: str | None = None
    received_on: Date = absent()
    due_by: Date = Field(description="The decision clock's due date (rules.md §2).")
    clock: ComplaintClock


class ComplaintEvent(Answer):
    at: Timestamp
    action: str
    status: ComplaintStatus
    actor: str
    note: str | None = None


class Complaint(ComplaintSummary):
    description: str = absent()
    decision: str | None = None
    outcome: ComplaintOutcome | None = None
    decided_on: Date | None = None
    told_on: Date | None = None
    told_via: str | None = None
    satisfaction: Score | None = None
    extension_approved_by: str | None = None
    escalated_on: Date | None = None
    closed_on: Date | None = None
    reopen_count: int = absent()
    allowed_actions: list[str] = absent()
    timeline: list[ComplaintEvent]


class ComplaintList(Answer):
    items: list[ComplaintSummary]


class VisitClock(Answer):
    due: Timestamp
    breached: bool
    done_at: Timestamp | None = None


class VisitClocks(Answer):
    home_visit_contact: VisitClock = absent()
    home_visit: VisitClock = absent()


class HomeVisit(Answer):
    visit_no: str
    status: HomeVisitStatus
    status_name: str = absent()
    channel: str = absent()
    name: str = absent()
    phone: str = absent()
    id_number: str | None = None
    address: str = absent()
    reason: str = absent()
    preferred_time: str | None = None
    requested_at: Timestamp = absent()
    contact_by: Timestamp
    visit_by: Timestamp
    assigned_to: str | None = None
    scheduled_for: Timestamp | None = None
    contacted_at: Timestamp | None = None
    visited_at: Timestamp | None = None
    note: str | None = None
    clocks: VisitClocks = absent()


class HomeVisitList(Answer):
    items: list[HomeVisit]


class Satisfaction(Answer):
    subject_type: str
    subject_id: str
    score: Score
    channel: str = absent()
    comment: str | None = None
    agent: str | None = None
    queue: str | None = None
    rated_at: Timestamp | None = None


class FollowUpTask(Answer):
    """A 回访 (follow-up) task and its result."""

    task_id: int
    claim_no: str | None = None
    status: str
    due_on: str
    asked_at: Timestamp | None = None
    outcome: str | None = None
    outcome_name: str | None = None
    result: str | None = None
    done_by: str | None = None
    done_at: Timestamp | None = None
    complaint_no: str | None = Field(default=None, description="The complaint opened when the "
                                     "outcome is complaint_raised.")


class TaskPerson(Answer):
    """The insured a sampled 回访 is about (the phone masked for roles that need not see it)."""

    name: str
    phone: str | None
    age: int


class WorkTask(Answer):
    """A task of a work queue: its kind, owner, due day, result and outcome."""

    task_id: int
    kind: str
    kind_name: str = Field(description="In Chinese.")
    claim_no: str | None
    policy_no: str | None
    due_on: Date
    overdue: bool
    assigned_to: str | None
    status: Literal["open", "done"]
    note: str | None
    outcome: str | None
    result: str | None
    done_by: str | None
    status_name: str = Field(default="", description="In Chinese.")
    outcome_name: str | None = Field(default=None, description="In Chinese.")
    done_at: Timestamp | None = None
    person: TaskPerson | None = None


class WorkTaskList(Answer):
    items: list[WorkTask]


class TaskClaim(Answer):
    claim_no: str
    status: str
    stage: str = Field(description="In Chinese.")
    allowed_actions: list[str]


class WorkTaskDetail(WorkTask):
    """A task with what its action needs."""

    claim: TaskClaim | None = None
    failed_checks: list[str] = Field(default_factory=list, description="A registration "
                                     "review's failed coverage checks, in Chinese.")


class DocumentsOverdue(Answer):
    """An open claim still missing documents past the reminder clock."""

    claim_no: str
    status: str
    stage: str
    handler: str | None
    asked_on: Date
    reminders_sent: int
    reminder_days: list[Date]
    overdue_since: Date
    days_waiting: int
    missing: list[str]
    time_bar: Date


class DocumentsOverdueList(Answer):
    items: list[DocumentsOverdue]


class ApprovalBarred(Answer):
    username: str
    why: str = Field(description="The deciding steps they took, in Chinese (four eyes).")


class ApprovalWaiting(Answer):
    claim_no: str
    status: str
    stage: str
    amount: str
    handler: str | None
    may_approve: list[str] = Field(description="Active staff whose authority covers the "
                                   "amount and who took no deciding step.")
    barred: list[ApprovalBarred]


class ApprovalLevel(Answer):
    level: Literal["adjuster", "supervisor", "branch_head"]
    level_name: str
    limit: str | None = Field(description="The level's authority in yuan; null: no limit.")
    claims: list[ApprovalWaiting]


class ApprovalsWaiting(Answer):
    levels: list[ApprovalLevel]


class RatingFigure(Answer):
    name: str
    ratings: int
    asked: int = absent()
    average: float | None


class DaysToDecision(Answer):
    median: float | None
    p90: float | None


class HandlerFigures(Answer):
    """One staff member's figures in the window (see GET /stats/handlers)."""

    username: str
    name: str
    role: str | None
    role_name: str
    claims_handled: int
    claims_decided: int
    days_to_decision: DaysToDecision
    clocks_met: int
    clocks_breached: int
    sla_kept_pct: Percent | None = Field(description="clocks met / (met + breached).")
    conversations_closed: int
    ratings: int
    average_rating: float | None
    complaints_handled: int
    complaints_about_claims: int


class HandlerStats(Answer):
    from_: Date = Field(alias="from")
    to: Date
    as_of: Date
    items: list[HandlerFigures]


class SearchHit(Answer):
    """A hit and its desk page; ID and phone numbers masked for roles that need not see
    them."""

    kind: one_of(("person", "policy", "claim", "complaint", "conversation"))
    kind_name: str
    ref: str
    title: str
    status: str
    link: str
    id_number: str | None = absent()
    phone: str | None = absent()


class SearchResult(Answer):
    query: str | None
    taken_as: one_of(("id_number", "phone", "reference", "conversation", "name", "party"))
    items: list[SearchHit]
    counts: dict[str, int]


class SatisfactionStats(Answer):
    """by_agent_queue: the agents' ratings per agents' queue of the rated conversation;
    by_claim_type, by_age_band, by_town: the ratings about a claim (a claim's own, or a
    complaint's about a claim) by the claim's type and the insured's age band and town."""

    by_agent: list[RatingFigure]
    by_queue: list[RatingFigure]
    by_agent_queue: list[RatingFigure] = absent()
    by_claim_type: list[RatingFigure] = absent()
    by_age_band: list[RatingFigure] = absent()
    by_town: list[RatingFigure] = absent()


# ---- endorsement requests ---------------------------------------------------------------------

class RequestedBeneficiaryView(Answer):
    name: str = Field(max_length=40)
    relation: Relation
    id_number: str | None = Field(
        None, description="Masked in answers; may come later, from the signed form.")
    share_pct: int = absent(ge=1, le=100)


class EndorsementRequestDetails(Answer):
    """The endorsement asked for, as POST /policies/{no}/endorsements takes it (without
    `kind`). Shares left out are split equally."""

    beneficiaries: list[RequestedBeneficiaryView] = absent(min_length=1, max_length=10)
    phone: str = absent()
    address: str = absent(max_length=200)
    coverage_code: str = absent()
    # as sent in: a decimal string (at most two decimals) or a whole number
    sum_insured: AmountSent = absent()
    effective_date: Date = absent()


class EndorsementRequestClock(Answer):
    due: Date
    breached: bool
    done_on: Date | None = None
    text: str = Field(description="In Chinese.")
    basis: str = absent()


class EndorsementRequestSummary(Answer):
    request_no: str = Field(description="BQ + year + 6 digits.")
    status: RequestStatus
    status_name: str = absent()
    kind: EndorsementKind
    kind_name: str = absent()
    policy_no: str
    channel: RequestChannel = absent()
    submitted_at: Timestamp = absent()
    due_by: Date = Field(description="Decided within 5 working days (our promise).")
    clock: EndorsementRequestClock = absent()


class EndorsementRequestEvent(Answer):
    at: Timestamp
    action: str
    actor: str
    status: str | None = None


class EndorsementRequestView(EndorsementRequestSummary):
    details: EndorsementRequestDetails
    missing: list[str] = absent("Fields staff must fill before approval.")
    note: str | None = None
    decided_on: Date | None = None
    decided_by: str | None = None
    reason: str | None = None
    endorsement_no: str | None = Field(None, description="The endorsement an approval applied.")
    allowed_actions: list[RequestAction] = absent()
    timeline: list[EndorsementRequestEvent]


class EndorsementRequestList(Answer):
    items: list[EndorsementRequestSummary]


# ---- appeals of a rejection (复核申请) ---------------------------------------------------------

class AppealClock(Answer):
    due: Date
    breached: bool
    done_on: Date | None = None
    text: str = Field(description="In Chinese.")
    basis: str = absent()


class Appeal(Answer):
    appeal_no: str = Field(description="FH + year + 6 digits.")
    claim_no: str
    status: one_of(ap.STATUSES)  # type: ignore[valid-type]
    status_name: str = absent()
    channel: one_of(ap.CHANNELS) = absent()  # type: ignore[valid-type]
    reasons: str = Field(description="The customer's reasons, as given.")
    filed_by: str = absent()
    filed_at: Timestamp = absent()
    due_by: Date = Field(description="Answered within 10 working days by default "
                                     "(XIAOBAO_APPEAL_WORKING_DAYS).")
    clock: AppealClock
    rejected_by: str | None = absent("Who took the rejection: not the one who decides.")
    rejection_reasons: list[str] = absent()
    claim_status: str | None = absent()
    decided_on: Date | None = None
    decided_by: str | None = None
    note: str | None = None
    allowed_actions: list[one_of(ap.ACTIONS)] = absent()  # type: ignore[valid-type]


class AppealList(Answer):
    items: list[Appeal]


class PrivacyRequestParty(Answer):
    id_number: str
    name: str


class PrivacyRequestExport(Answer):
    revision: int = Field(description="Signed into the link; renewing the link raises it.")
    expires_at: Timestamp
    expired: bool


class PrivacyRequestStepEntry(Answer):
    at: Timestamp
    actor: str
    action: str
    status: str | None = None
    note: str | None = None


class PrivacyRequest(Answer):
    privacy_request_no: str = Field(description="GR + year + 6 digits.")
    kind: one_of(pr.KINDS)  # type: ignore[valid-type]
    kind_name: str = absent()
    channel: one_of(pr.CHANNELS)  # type: ignore[valid-type]
    status: one_of(pr.STATUSES)  # type: ignore[valid-type]
    status_name: str = absent()
    party: PrivacyRequestParty
    verified_by: one_of(pr.VERIFICATIONS)  # type: ignore[valid-type]
    details: str | None = None
    user_channel: str | None = Field(None, description="Made in the chat: the channel "
                                     "(wechat, web, ivr) of the user who asked.")
    channel_user: str | None = Field(None, description="Made in the chat: that channel user.")
    received_at: Timestamp
    received_by: str = absent()
    due_by: Date = Field(description="15 working days after receipt.")
    clock: AppealClock
    overdue: bool
    handler: str | None = None
    answer: str | None = Field(None, description="What the person is told: what was done, "
                               "or why the request is refused.")
    done_on: Date | None = None
    export: PrivacyRequestExport | None = None
    export_url: str | None = absent("The signed, expiring link to the export (access, copy).")
    allowed_actions: list[one_of(pr.ACTIONS)] = absent()  # type: ignore[valid-type]
    steps: list[PrivacyRequestStepEntry] = absent()
    retention: str = absent("A deletion: what is deleted, what is kept and until when.")
    replay: bool = absent("Filed in the chat: true when an open request of the same person and "
                          "kind was there already, whose number this is (nothing new filed).")


class PrivacyRequestList(Answer):
    items: list[PrivacyRequest]


class CustomerClaimStep(Answer):
    """The customer's own step on their claim (withdrawal, payout account), in plain words."""

    claim_no: str
    status: str
    status_name: str
    bank_account: str | None = Field(description="The verified payee account, masked.")
    replay: bool = Field(description="The step was already done: nothing changed.")
    text: str = Field(description="For the customer, in Chinese.")


# ---- conversations (the agents' API) ------------------------------------------------------------

class HandoffSummary(Answer):
    text: str = absent("For the agent, in Chinese.")


class Conversation(Answer):
    """One user's conversation on one channel."""

    id: int
    channel: ConversationChannel
    user: str = Field(description="The user on the channel: openid, a call's own user or web id.")
    state: ConversationState = Field(description="Who owns the conversation.")
    queue: Queue = absent(
        "The agents' queue it waits in or was last routed to: general, "
                          "claims, complaints or elderly (phone callers).")
    agent: str | None = Field(None, description="The agent who has it.")
    handoff_reason: str | None = Field(
        None, description="Why the bot handed it off (user_request, fallback, anger, "
                          "complaint, backoffice_down, unsure, bot_unavailable, no_input).")
    handoff_summary: HandoffSummary | None = None
    disposition: str | None = None
    created_at: Timestamp = absent()
    updated_at: Timestamp = absent()
    last_user_at: Timestamp | None = None


class ConversationLine(Answer):
    role: MessageRole
    author: str | None = None
    text: str
    payload: dict[str, Any] | None = None
    at: Timestamp


class ConversationDetail(Conversation):
    messages: list[ConversationLine] = absent()


class ConversationList(Answer):
    items: list[Conversation]


class ConversationHandback(Conversation):
    delivered: bool = absent("The bot's answer reached the user.")


class ConversationClosed(Conversation):
    satisfaction_asked: bool = absent(
        "The customer was asked for a 1–5 rating on their channel.")


class AgentMessageReceipt(Answer):
    conversation_id: int
    delivered: bool


class ConversationTransferred(Answer):
    id: int
    state: Literal["queued", "agent"]  # the two states a transfer leaves
    agent: str | None
    queue: Queue


# ---- bindings, auth ---------------------------------------------------------------------------

class BindingParty(Answer):
    name_masked: str
    id_number_masked: str
    phone_masked: str | None


class Binding(Answer):
    """The identified party, masked."""

    party: BindingParty
    policies: list[str] = Field(description="Policy numbers.")
    open_claims: list[str] = Field(description="Report numbers, newest first.")


class CaseLine(Answer):
    """One case told in a short line, in Chinese, personal data masked."""

    kind: Literal["claim", "complaint", "home_visit", "endorsement_request"]
    number: str
    status: str
    text: str


class ClaimCaseLine(CaseLine):
    reported_on: Date
    reasons: list[str] = Field(description="A rejection's reasons, in plain words.")


class CasesLeftOut(Answer):
    claims: int
    complaints: int
    home_visits: int
    endorsement_requests: int


class CustomerCases(Answer):
    """The identified customer's cases, newest first, each kind capped (`more` counts the
    rest): claims reported in the last 2 years (open, rejected, closed; not withdrawn)."""

    claims: list[ClaimCaseLine]
    complaints: list[CaseLine]
    home_visits: list[CaseLine]
    endorsement_requests: list[CaseLine]
    more: CasesLeftOut
    text: str = Field(description="The whole answer for the customer, in Chinese.")


class Unbound(Answer):
    unbound: bool


class ConsentNotice(Answer):
    """The short notice to show before sensitive data is asked for, with what to name when
    recording a decision on it."""

    version: str
    channel: str
    text: str = Field(description="The chat text, or on `ivr` the shorter one read aloud.")
    sha256: str = Field(description="SHA-256 (hex) of `text`, to send with the decision.")
    family_text: str = Field(description="Told to a family member reporting for an insured: "
                             "what is kept about the insured and why (the contract).")
    refused_text: str
    withdrawn_text: str


class Consent(Answer):
    """The channel user's decision that counts (`decision` null: none recorded)."""

    channel: str
    user: str
    decision: one_of(cs.DECISIONS) | None
    consent_given: bool
    notice_version: str | None
    notice_sha256: str | None
    decided_at: Timestamp | None


class ConsentLine(Consent):
    decision_name: str


class ConsentHistory(Answer):
    """A person's decisions on the consent notice, newest first."""

    items: list[ConsentLine]


class CoverageAnswer(Answer):
    """Whether the person checked is covered today by the product; nothing more of them."""

    covered: bool
    product_code: str
    product_name: str


class StaffIdentity(Answer):
    username: str
    display_name: str
    role: str
    role_name: str = absent()


class StaffToken(Answer):
    access_token: str = Field(description="Send as `Authorization: Bearer …`; kept only hashed.")
    token_type: Literal["Bearer"]
    expires_at: Timestamp
    expires_in: int = Field(
        description="Seconds the token lives (XIAOBAO_STAFF_TOKEN_TTL_MINUTES).")
    staff: StaffIdentity


class TokenRevoked(Answer):
    revoked: bool


class DocumentLinksRevoked(Answer):
    policy_no: str
    document_link_revision: int = Field(
        description="Signed into every link; the links of earlier revisions are refused.")
    document_url: str = absent("A new link to the policy's document (not for masked roles).")


# ---- the operations' answers ----------------------------------------------------------------

#: (method, path template under /api/v1) → (success status, answer model; None when the
#: answer is not a JSON model: HTML, CSV, plain text, or the OpenAPI document itself).
#: POST /claims also answers 200 with the same Claim when the Idempotency-Key is seen again.
ANSWERS: dict[tuple[str, str], tuple[int, type[BaseModel] | None]] = {
    ("GET", "/openapi.json"): (200, None),
    ("GET", "/products"): (200, ProductList),
    ("GET", "/products/{code}"): (200, Product),
    ("POST", "/quotes"): (200, Quote),
    ("POST", "/applications"): (201, PolicyDetail),
    ("GET", "/applications/{application_no}"): (200, PolicyDetail),
    ("POST", "/applications/{application_no}/underwriting"): (200, PolicyDetail),
    ("POST", "/applications/{application_no}/payments"): (201, PolicyDetail),
    ("POST", "/applications/{application_no}/issue"): (200, PolicyDetail),
    ("GET", "/policies"): (200, PolicyList),
    ("GET", "/policies/{policy_no}"): (200, PolicyDetail),
    ("POST", "/policies/{policy_no}/payments"): (201, PolicyDetail),
    ("POST", "/policies/{policy_no}/transitions"): (200, PolicyDetail),
    ("POST", "/policies/{policy_no}/endorsements"): (201, EndorsementResult),
    ("POST", "/policies/{policy_no}/document-links/revocation"): (200, DocumentLinksRevoked),
    ("GET", "/policies/{policy_no}/document"): (200, None),  # text/html
    ("GET", "/parties/{id_number}"): (200, PartyRecord),
    ("PATCH", "/parties/{id_number}"): (200, PartyUpdateResult),
    ("POST", "/group-policies"): (201, GroupPolicy),
    ("POST", "/group-policies/{policy_no}/roster"): (200, RosterImportResult),
    ("POST", "/group-policies/{policy_no}/roster/removals"): (200, RosterRemoval),
    ("POST", "/group-policies/{policy_no}/auto-enrollment"): (200, AutoEnrollmentResult),
    ("POST", "/group-policies/{policy_no}/renewal"): (201, SchemeRenewal),
    ("GET", "/group-policies/{policy_no}/loss-ratio"): (200, SchemeLossRatio),
    ("GET", "/tasks"): (200, WorkTaskList),
    ("POST", "/tasks/{task_id}/close"): (200, WorkTask),
    ("GET", "/tasks/{task_id}"): (200, WorkTaskDetail),
    ("POST", "/tasks/{task_id}/take"): (200, WorkTask),
    ("POST", "/tasks/{task_id}/assignment"): (200, WorkTask),
    ("GET", "/queues/documents-overdue"): (200, DocumentsOverdueList),
    ("GET", "/queues/approvals"): (200, ApprovalsWaiting),
    ("GET", "/group-policies/{policy_no}/disclosure"): (200, Disclosure),
    ("GET", "/group-policies/{policy_no}/disclosure.html"): (200, None),
    ("GET", "/group-policies/{policy_no}/disclosure.xlsx"): (200, None),
    ("GET", "/service-outlets"): (200, OutletList),
    ("GET", "/audit"): (200, AuditList),
    ("GET", "/access-log"): (200, AccessLog),
    ("GET", "/access-log/unusual"): (200, UnusualAccess),
    ("GET", "/search"): (200, SearchResult),
    ("GET", "/stats/handlers"): (200, HandlerStats),
    ("GET", "/notifications/dead"): (200, DeadLetterList),
    ("POST", "/notifications/dead/requeue"): (200, Requeued),
    ("POST", "/claims"): (201, Claim),
    ("GET", "/claims"): (200, ClaimList),
    ("GET", "/claims/{claim_no}"): (200, Claim),
    ("GET", "/claims/{claim_no}/progress"): (200, ClaimProgress),
    ("POST", "/claims/{claim_no}/documents"): (201, DocumentReceipt),
    ("GET", "/claims/{claim_no}/documents/{document_id}"): (200, ClaimDocumentReading),
    ("POST", "/claims/{claim_no}/transitions"): (200, Claim),
    ("GET", "/claims/{claim_no}/letters/{letter_no}"): (200, None),  # text/plain
    ("POST", "/adjudication/preview"): (200, AdjudicationPreview),
    ("GET", "/stats/claims"): (200, ClaimStats),
    ("GET", "/stats/claims/charts"): (200, None),  # text/html
    ("POST", "/complaints"): (201, Complaint),
    ("GET", "/complaints"): (200, ComplaintList),
    ("GET", "/complaints/{complaint_no}"): (200, Complaint),
    ("POST", "/complaints/{complaint_no}/transitions"): (200, Complaint),
    ("POST", "/home-visits"): (201, HomeVisit),
    ("GET", "/home-visits"): (200, HomeVisitList),
    ("GET", "/home-visits/{visit_no}"): (200, HomeVisit),
    ("POST", "/home-visits/{visit_no}/transitions"): (200, HomeVisit),
    ("POST", "/satisfaction"): (201, Satisfaction),
    ("GET", "/stats/satisfaction"): (200, SatisfactionStats),
    ("POST", "/follow-ups/{task_id}/result"): (200, FollowUpTask),
    ("GET", "/conversations"): (200, ConversationList),
    ("GET", "/conversations/{conversation_id}"): (200, ConversationDetail),
    ("POST", "/conversations/{conversation_id}/take"): (200, Conversation),
    ("POST", "/conversations/{conversation_id}/messages"): (201, AgentMessageReceipt),
    ("POST", "/conversations/{conversation_id}/handback"): (200, ConversationHandback),
    ("POST", "/conversations/{conversation_id}/transfer"): (200, ConversationTransferred),
    ("POST", "/conversations/{conversation_id}/close"): (200, ConversationClosed),
    ("POST", "/bindings"): (200, Binding),
    ("GET", "/bindings/{channel}/{user}"): (200, Binding),
    ("DELETE", "/bindings/{channel}/{user}"): (200, Unbound),
    ("GET", "/bindings/{channel}/{user}/cases"): (200, CustomerCases),
    ("POST", "/claims/{claim_no}/appeals"): (201, Appeal),
    ("POST", "/channel/appeals"): (201, Appeal),
    ("GET", "/appeals"): (200, AppealList),
    ("GET", "/appeals/{appeal_no}"): (200, Appeal),
    ("POST", "/appeals/{appeal_no}/decision"): (200, Appeal),
    ("POST", "/channel/claims/{claim_no}/withdrawal"): (200, CustomerClaimStep),
    ("POST", "/channel/claims/{claim_no}/bank-account"): (200, CustomerClaimStep),
    ("GET", "/channel/consent-notice"): (200, ConsentNotice),
    ("GET", "/channel/consents/{channel}/{user}"): (200, Consent),
    ("POST", "/channel/consents"): (201, Consent),
    ("GET", "/parties/{id_number}/consents"): (200, ConsentHistory),
    ("POST", "/endorsement-requests"): (201, EndorsementRequestView),
    ("GET", "/endorsement-requests"): (200, EndorsementRequestList),
    ("GET", "/endorsement-requests/{request_no}"): (200, EndorsementRequestView),
    ("POST", "/endorsement-requests/{request_no}/transitions"): (200, EndorsementRequestView),
    ("POST", "/auth/token"): (201, StaffToken),
    ("DELETE", "/auth/token"): (200, TokenRevoked),
}

#: Every answer model, the error body included.
MODELS: tuple[type[BaseModel], ...] = (
    Error, *dict.fromkeys(m for _, m in ANSWERS.values() if m is not None))


# ---- OpenAPI components ---------------------------------------------------------------------

class _ComponentSchema(GenerateJsonSchema):
    """Plain OpenAPI components: no generated titles, and no defaults (an answer has none;
    a field with a default is simply one the answer may leave out)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        out = super().model_schema(schema)
        out.pop("title", None)
        return out


def answer_schemas(models: Sequence[type[BaseModel]] = MODELS) -> dict[str, dict[str, Any]]:
    """The component schemas of answer models (and the models they use), by name, with
    `$ref` to `#/components/schemas/{name}`."""
    _, top = models_json_schema([(m, "serialization") for m in dict.fromkeys(models)],
                                ref_template="#/components/schemas/{model}",
                                schema_generator=_ComponentSchema)
    return dict(top.get("$defs", {}))


# ---- the risk review queue -----------------------------------------------------------------

class RiskDocument(Answer):
    document_id: int
    doc_type: str
    filename: str
    sha256: str
    invoice: str | None = Field(description="Invoice code/number, when read.")
    shared: bool = Field(description="Another claim side by side has the same file or invoice.")


class RiskClaim(Answer):
    """A claim as the evidence shows it: the flagged one first, then the related ones."""

    claim_no: str
    status: ClaimStatus
    stage: str
    claim_type: ClaimType
    incident_date: Date
    insured_name: str
    reporter_name: str
    admission_date: Date | None
    discharge_date: Date | None
    hospital: str | None
    hospital_level: int | None = Field(description="From the list of hospitals; null if unknown.")
    diagnosis: str | None
    diagnosis_verdict: Literal["injury", "illness", "injury_with_illness", "unknown"] | None
    injuries: list[str]
    illnesses: list[str]
    payable: Money | None
    approved: Money | None
    documents: list[RiskDocument]


class RiskFlag(Answer):
    flag_id: int
    claim_no: str
    code: FlagCode
    code_name: str
    severity: int = Field(ge=1, le=3, description="3 high · 2 medium · 1 low")
    severity_name: str
    text: str
    related: list[str]
    outcome: FlagOutcome
    outcome_name: str
    raised_at: Timestamp
    age_days: Count
    decided_by: str | None
    decided_at: Timestamp | None
    note: str | None
    held_back: Money
    deducts: bool = Field(description="Confirming takes off what the related claims pay "
                                      "(else the claim is to be rejected).")
    claims: list[RiskClaim]


class RiskQueue(Answer):
    """Flags by severity, then age (oldest first), each with its evidence."""

    items: list[RiskFlag]
    counts: dict[str, Count] = Field(description="Flags by outcome: open, confirmed, cleared.")

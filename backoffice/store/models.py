"""SQLAlchemy 2.x tables of the back office. Money in integer fen, times in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from backoffice import clock
from backoffice.store.fieldseal import HASH_LENGTH, Sealed, keyed_hash

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return clock.utcnow()


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware datetime, also on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class ProductRow(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    definition: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Party(Base):
    __tablename__ = "parties"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), index=True)
    gender: Mapped[str] = mapped_column(String(6))
    birth_date: Mapped[date] = mapped_column(Date)
    # sealed at rest (fieldseal); found by the keyed hash beside it (migration 0033)
    id_number: Mapped[str] = mapped_column(Sealed("id_number"))
    id_number_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), unique=True)
    phone: Mapped[str | None] = mapped_column(Sealed("phone"))
    phone_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    occupation: Mapped[str | None] = mapped_column(String(60))
    occupation_class: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @validates("id_number", "phone")
    def _hash(self, key: str, value: str | None) -> str | None:
        setattr(self, f"{key}_hash", keyed_hash(key, value))
        return value


class PartyUpdate(Base):
    """信息更新 history: one row per changed field."""

    __tablename__ = "party_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Resident(Base):
    """The area's household registry feed: who may be auto-enrolled in a scheme."""

    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), unique=True)
    area_code: Mapped[str] = mapped_column(String(6), index=True)
    registered_on: Mapped[date] = mapped_column(Date)


class PolicyRow(Base):
    __tablename__ = "policies"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_no: Mapped[str] = mapped_column(String(30), unique=True)
    policy_no: Mapped[str | None] = mapped_column(String(30), unique=True)  # set on issue
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    applicant_party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"))
    applicant_name: Mapped[str] = mapped_column(String(100))
    insured_party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)
    applicant_relation: Mapped[str] = mapped_column(String(20), default="self")
    application_date: Mapped[date] = mapped_column(Date)
    requested_start: Mapped[date] = mapped_column(Date)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    term_months: Mapped[int] = mapped_column(Integer)
    payment_mode: Mapped[str] = mapped_column(String(20))
    frequency: Mapped[str] = mapped_column(String(20))
    debit_account: Mapped[str | None] = mapped_column(Sealed("bank_account"))
    loading_pct: Mapped[str] = mapped_column(String(10), default="0")  # decimal text
    annual_premium_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    instalment_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    instalments: Mapped[int] = mapped_column(Integer, default=1)
    premium_lines: Mapped[list[Any]] = mapped_column(default=list)
    # a group scheme's per-head premium when the government set it (else the product's)
    premium_per_insured_fen: Mapped[int | None] = mapped_column(BigInteger)
    # the scheme year this one renews: at most one renewal of a year
    renewal_of_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"), unique=True)
    health_declarations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    underwriting_outcome: Mapped[str | None] = mapped_column(String(30))
    underwriting_reasons: Mapped[list[Any]] = mapped_column(default=list)
    due_date: Mapped[date | None] = mapped_column(Date)
    grace_ends_on: Mapped[date | None] = mapped_column(Date)
    lapsed_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    issued_at: Mapped[datetime | None]
    # signed into every document link; revoking the links bumps it
    document_link_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    coverages: Mapped[list[PolicyCoverage]] = relationship(
        back_populates="policy", order_by="PolicyCoverage.id"
    )
    insured: Mapped[Party | None] = relationship(foreign_keys=[insured_party_id])
    applicant: Mapped[Party | None] = relationship(foreign_keys=[applicant_party_id])


class PolicyCoverage(Base):
    __tablename__ = "policy_coverages"
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(60))
    sum_insured_fen: Mapped[int] = mapped_column(BigInteger)
    annual_premium_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    effective_from: Mapped[date | None] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date)
    policy: Mapped[PolicyRow] = relationship(back_populates="coverages")


class Beneficiary(Base):
    __tablename__ = "beneficiaries"
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    relation: Mapped[str] = mapped_column(String(20))
    id_number: Mapped[str] = mapped_column(Sealed("id_number"))
    id_number_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH), index=True)
    share_pct: Mapped[int] = mapped_column(Integer)

    @validates("id_number")
    def _hash(self, key: str, value: str) -> str:
        self.id_number_hash = keyed_hash(key, value)
        return value


class PremiumInstalment(Base):
    """One line of the payment schedule; the scheduler reminds on `due_date`."""

    __tablename__ = "premium_instalments"
    __table_args__ = (UniqueConstraint("policy_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="due")  # due | paid | cancelled
    paid_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    instalment_id: Mapped[int | None] = mapped_column(ForeignKey("premium_instalments.id"))
    kind: Mapped[str] = mapped_column(String(30))  # premium | additional_premium | refund
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str | None] = mapped_column(String(60))
    paid_at: Mapped[datetime] = mapped_column(default=utcnow)


class Endorsement(Base):
    __tablename__ = "endorsements"
    id: Mapped[int] = mapped_column(primary_key=True)
    endorsement_no: Mapped[str] = mapped_column(String(30), unique=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="effective")
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    effective_date: Mapped[date] = mapped_column(Date)
    premium_difference_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    explanation: Mapped[list[Any]] = mapped_column(default=list)
    actor: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EndorsementRequestRow(Base):
    """保全申请: an endorsement asked for by a customer and decided by staff (migration 0009)."""

    __tablename__ = "endorsement_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_no: Mapped[str] = mapped_column(String(30), unique=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    policy_no: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(30))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the endorsement asked for
    status: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    channel_user: Mapped[str | None] = mapped_column(String(80))  # openid, caller number
    phone: Mapped[str | None] = mapped_column(Sealed("phone"))  # where notices go without WeChat
    note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    reason: Mapped[str | None] = mapped_column(Text)
    endorsement_no: Mapped[str | None] = mapped_column(String(30))


class AppealRow(Base):
    """复核申请: a customer's appeal of a rejected claim, decided by a claims supervisor
    (migration 0024). `open_claim_id` is the claim's id while the appeal is open and NULL once
    decided: its unique constraint allows one open appeal per claim, on every engine."""

    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(primary_key=True)
    appeal_no: Mapped[str] = mapped_column(String(30), unique=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    claim_no: Mapped[str] = mapped_column(String(30))
    open_claim_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    channel_user: Mapped[str | None] = mapped_column(String(80))  # openid: told there
    reasons: Mapped[str] = mapped_column(Text)  # the customer's own words
    filed_by: Mapped[str] = mapped_column(String(60))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    filed_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    rejected_by: Mapped[str | None] = mapped_column(String(60))  # four eyes: not the decider
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)  # the decision's reasons, told the customer


class RosterMember(Base):
    __tablename__ = "roster_members"
    __table_args__ = (UniqueConstraint("policy_id", "party_id"),
                      Index("ix_roster_members_policy_id_notified_on", "policy_id",
                            "notified_on"))
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    enrolled_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")
    source: Mapped[str] = mapped_column(String(30))
    #: a removed member ('removed') keeps the row: covered through `ended_on`, not after
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(20))  # death / moved_away / correction
    end_note: Mapped[str | None] = mapped_column(Text)
    ended_by: Mapped[str | None] = mapped_column(String(60))
    ended_at: Mapped[datetime | None] = mapped_column()
    # the enrollment notice went out (or there was nowhere to send it): sent in batches
    notified_on: Mapped[date | None] = mapped_column(Date)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OutboxEvent(Base):
    """Events for other parts (notifications, bot), written in the same transaction."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    topic: Mapped[str] = mapped_column(String(60), index=True)
    payload: Mapped[dict[str, Any]]
    published_at: Mapped[datetime | None]


class ServiceOutlet(Base):
    __tablename__ = "service_outlets"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    town: Mapped[str] = mapped_column(String(40), index=True)
    address: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(20))
    opening_hours: Mapped[dict[str, Any]]
    opening_hours_text: Mapped[str] = mapped_column(String(200))
    services: Mapped[list[Any]]
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]


class Counter(Base):
    """Number series (policy, endorsement numbers), incremented under a row lock."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# ---- claims -----------------------------------------------------------------------------------

class ClaimRow(Base):
    __tablename__ = "claims"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_no: Mapped[str] = mapped_column(String(30), unique=True)  # 报案号
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    insured_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    product_code: Mapped[str] = mapped_column(String(40))
    claim_type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), index=True)
    incident_date: Mapped[date] = mapped_column(Date)
    incident_place: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str | None] = mapped_column(String(40))
    reporter_name: Mapped[str] = mapped_column(String(40))
    reporter_relation: Mapped[str] = mapped_column(String(20))
    reporter_phone: Mapped[str] = mapped_column(Sealed("phone"))
    reporter_phone_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    reported_on: Mapped[date] = mapped_column(Date)
    late_report: Mapped[bool] = mapped_column(default=False)
    handler: Mapped[str | None] = mapped_column(String(60), index=True)
    track: Mapped[str] = mapped_column(String(20), default="manual")  # fast | manual
    track_rule: Mapped[str] = mapped_column(Text, default="")
    special_case: Mapped[bool] = mapped_column(default=False)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    payable_fen: Mapped[int | None] = mapped_column(BigInteger)
    approved_fen: Mapped[int | None] = mapped_column(BigInteger)
    advance_paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    approval_role: Mapped[str | None] = mapped_column(String(20))
    adjudication_lines: Mapped[list[Any]] = mapped_column(default=list)
    allowance_days_by_year: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rejection_reasons: Mapped[list[Any]] = mapped_column(default=list)
    documents_complete_on: Mapped[date | None] = mapped_column(Date)
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    agreed_on: Mapped[date | None] = mapped_column(Date)
    advance_paid_on: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    rejected_on: Mapped[date | None] = mapped_column(Date)
    letter_sent_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    next_progress_notice_on: Mapped[date | None] = mapped_column(Date, index=True)
    bank_account: Mapped[str | None] = mapped_column(Sealed("bank_account"))  # verified payee
    # a staff member's change of the payee, until another one confirms it (four eyes)
    pending_bank_account: Mapped[str | None] = mapped_column(Sealed("bank_account"))
    pending_bank_account_by: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    @validates("reporter_phone")
    def _hash(self, key: str, value: str) -> str:
        self.reporter_phone_hash = keyed_hash("phone", value)
        return value


class ClaimRequirement(Base):
    """A document the claim needs; listed once in the consolidated notice (Art. 22)."""

    __tablename__ = "claim_requirements"
    __table_args__ = (UniqueConstraint("claim_id", "doc_type"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(60))
    notice_no: Mapped[int] = mapped_column(Integer, default=1)  # >1: a later notice (a defect)
    requested_on: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date | None] = mapped_column(Date)


class ClaimDocument(Base):
    __tablename__ = "claim_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_path: Mapped[str] = mapped_column(String(300))
    # an invoice's code and number ("code/number"), compared across claims (reuse)
    invoice_key: Mapped[str | None] = mapped_column(String(60), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(60))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    needs_review: Mapped[bool] = mapped_column(default=False)


class ClaimFlag(Base):
    """A risk flag of the integrity checks; open until a claims supervisor confirms or
    clears it."""

    __tablename__ = "claim_flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    code: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    related: Mapped[list[Any]] = mapped_column(default=list)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    cleared_by: Mapped[str | None] = mapped_column(String(60))
    cleared_at: Mapped[datetime | None] = mapped_column()
    cleared_note: Mapped[str | None] = mapped_column(Text)
    # the review's outcome: open · confirmed (a real leak) · cleared (not one); the cleared_*
    # columns say who decided, when and why, either way
    outcome: Mapped[str] = mapped_column(String(12), default="open", server_default="open",
                                         index=True)
    held_back_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class ClaimPause(Base):
    """While the claimant gathers requested documents the decision clock stands still."""

    __tablename__ = "claim_pauses"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)


class ClaimEvent(Base):
    """The claim's timeline: every transition with its actor."""

    __tablename__ = "claim_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)


class ClaimPayment(Base):
    __tablename__ = "claim_payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # advance | final
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(30), default="bank_transfer")
    account: Mapped[str | None] = mapped_column(Sealed("bank_account"))
    reference: Mapped[str | None] = mapped_column(String(60))
    paid_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(60))


class Letter(Base):
    """Written notices: rejection letters (Art. 24), missing-documents notices (Art. 22)."""

    __tablename__ = "letters"
    id: Mapped[int] = mapped_column(primary_key=True)
    letter_no: Mapped[str] = mapped_column(String(30), unique=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(Base):
    """Work for people: follow-up visits (回访), escalations to a supervisor."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    # a 回访 of a sample of the scheme's insureds is about a person, not a claim (0029)
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    assigned_to: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="open")
    note: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a question put to the customer (回访): where a reply is taken (`reply_channel` wechat |
    # web | sms, `recipient` the openid, web id or phone), and when it was asked (migration 0027)
    reply_channel: Mapped[str | None] = mapped_column(String(20))
    recipient: Mapped[str | None] = mapped_column(String(80), index=True)
    asked_at: Mapped[datetime | None]
    # the result: reached | not_reached | complaint_raised, what was said, by whom and when
    outcome: Mapped[str | None] = mapped_column(String(20))
    result: Mapped[str | None] = mapped_column(Text)
    done_by: Mapped[str | None] = mapped_column(String(60))
    done_at: Mapped[datetime | None]


class Notification(Base):
    """A message to a person, sent by a pluggable sender; retried, dead-lettered, never lost."""

    __tablename__ = "notifications"
    # the dispatcher's query: pending rows whose next attempt is due
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    channel: Mapped[str] = mapped_column(String(20))  # wechat | sms | log
    recipient: Mapped[str] = mapped_column(String(80))
    template: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_via: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class JobRun(Base):
    """One row per job firing: the unique key is the lock that lets exactly one scheduler run it."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "slot"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    slot: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# ---- scheduler and notification senders ---------------------------------------------------

class AccessToken(Base):
    """A cached API credential (the WeChat access_token) shared by every platform process."""

    __tablename__ = "access_tokens"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# APScheduler 3's SQLAlchemyJobStore table, declared here (same columns as the job store's own
# definition) so that Alembic creates it and the schema check knows it; the job store then finds
# it in place and only reads and writes it.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


# ---- staff, complaints, home visits, satisfaction (the desk) ---------------------------------

class StaffRow(Base):
    """A desk account. The password is kept only as an argon2id hash (an older scrypt one until
    its next sign-in)."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(30), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class StaffSession(Base):
    """A login: the cookie holds the token, the table only its SHA-256."""

    __tablename__ = "staff_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A staff member's bearer token for /api/v1: the client holds it, the table its SHA-256."""

    __tablename__ = "api_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AttemptLimit(Base):
    """Failed guesses counted under one key (a source address, an account at a source, an ID
    number): the key is a SHA-256 so that no ID number or username is kept here in clear."""

    __tablename__ = "attempt_limits"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(30))
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None] = mapped_column()


class ComplaintRow(Base):
    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_no: Mapped[str] = mapped_column(String(30), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    channel_user: Mapped[str | None] = mapped_column(String(80))  # openid, caller number
    complainant_name: Mapped[str] = mapped_column(String(60))
    complainant_phone: Mapped[str] = mapped_column(Sealed("phone"))
    complainant_phone_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH), index=True)
    category: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    claim_no: Mapped[str | None] = mapped_column(String(30), index=True)
    policy_no: Mapped[str | None] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    track: Mapped[str] = mapped_column(String(20), default="standard")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_on: Mapped[date] = mapped_column(Date)  # the clock's start (or the appeal's)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    handler: Mapped[str | None] = mapped_column(String(60), index=True)
    notes_count: Mapped[int] = mapped_column(Integer, default=0)
    decision: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(30))
    decided_on: Mapped[date | None] = mapped_column(Date)
    told_on: Mapped[date | None] = mapped_column(Date)
    told_via: Mapped[str | None] = mapped_column(String(20))
    satisfaction_score: Mapped[int | None] = mapped_column(Integer)
    extension_approved_by: Mapped[str | None] = mapped_column(String(60))
    escalated_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    @validates("complainant_phone")
    def _hash(self, key: str, value: str) -> str:
        self.complainant_phone_hash = keyed_hash("phone", value)
        return value


class ComplaintEvent(Base):
    """The complaint's history: each step, who took it, and the investigation notes."""

    __tablename__ = "complaint_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)


class HomeVisit(Base):
    """上门服务: contact within 24 h of the request, visit within 48 h."""

    __tablename__ = "home_visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_no: Mapped[str] = mapped_column(String(30), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    channel_user: Mapped[str | None] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(Sealed("phone"))
    phone_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH), index=True)
    id_number: Mapped[str | None] = mapped_column(Sealed("id_number"))
    id_number_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH), index=True)
    address: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    preferred_time: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    contact_by: Mapped[datetime]
    visit_by: Mapped[datetime] = mapped_column(index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(60))
    contacted_at: Mapped[datetime | None]
    scheduled_for: Mapped[datetime | None]
    visited_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)

    @validates("phone", "id_number")
    def _hash(self, key: str, value: str | None) -> str | None:
        setattr(self, f"{key}_hash", keyed_hash(key, value))
        return value


class SatisfactionRow(Base):
    """One 1–5 rating per subject: asked (score None) and then answered."""

    __tablename__ = "satisfaction"
    __table_args__ = (UniqueConstraint("subject_type", "subject_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(20))  # conversation | claim | complaint
    subject_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    agent: Mapped[str | None] = mapped_column(String(60), index=True)
    queue: Mapped[str | None] = mapped_column(String(40), index=True)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    asked_at: Mapped[datetime | None]
    rated_at: Mapped[datetime | None]
    # where the customer's answer is taken (migration 0027): `reply_channel` wechat | web |
    # sms and `recipient` the openid, web id or phone asked; `awaiting` until the customer's
    # next message there (a rating, or anything else: then the question is not pending any more)
    reply_channel: Mapped[str | None] = mapped_column(String(20))
    recipient: Mapped[str | None] = mapped_column(String(80), index=True)
    awaiting: Mapped[bool] = mapped_column(default=False, server_default="0")
    # the claim rated (a claim's own, or the claim of the complaint), for the figures
    claim_no: Mapped[str | None] = mapped_column(String(30))


# ---- channels: conversations, transcripts, dedupe (migration 0006) ----------------------------

class Conversation(Base):
    """One user's conversation on one channel, owned by the bot, queued for an agent, with an
    agent, or closed. `open_key` ("channel:user") is set while it is open: at most one open
    conversation per (channel, user)."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_state", "state", "updated_at"),
                      Index("ix_conversations_queue", "queue", "state"))
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    # the agents' queue (backoffice.domain.agent_queue) it waits in or was last routed to
    queue: Mapped[str] = mapped_column(String(20), default="general", server_default="general")
    user_id: Mapped[str] = mapped_column(String(80), index=True)
    open_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="bot")  # bot|queued|agent|closed
    agent: Mapped[str | None] = mapped_column(String(60))
    handoff_reason: Mapped[str | None] = mapped_column(String(30))
    handoff_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    disposition: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_user_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # the WeChat user unfollowed the account: their binding ended then, and the retention of
    # what this conversation holds counts from here (migration 0031)
    unsubscribed_at: Mapped[datetime | None]


class ConversationMessage(Base):
    """One line of a transcript: what the user, the bot, an agent or the system said, when."""

    __tablename__ = "conversation_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # user | bot | agent | system
    author: Mapped[str | None] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a user's message to the bot: `pending` until answered (`answered`), queued for an agent
    # because the bot could not answer (`queued`), or left to the agents who own the
    # conversation (`agents`); None for other lines. A pending message belongs to `answerer`
    # (a platform process) while its PlatformInstance lease lives (or, for an answerer that
    # never kept one, until `lease_until`): then another process takes it over.
    answer_state: Mapped[str | None] = mapped_column(String(10), index=True)
    answerer: Mapped[str | None] = mapped_column(String(100), index=True)
    lease_until: Mapped[datetime | None]


class PlatformInstance(Base):
    """A platform process (`xiaobao serve`, by its XIAOBAO_INSTANCE name) that answers the
    user messages it stores: alive while it renews `lease_until` every few seconds. Once the
    lease has run out, another process takes over its pending messages and bumps
    `generation`, so the process, if it was only slow, learns at its next renewal that the
    messages it held are no longer its own."""

    __tablename__ = "platform_instances"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    lease_until: Mapped[datetime] = mapped_column(index=True)
    generation: Mapped[int] = mapped_column(default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    renewed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelDedupe(Base):
    """Keys of pushes already taken (WeChat MsgId…): a retried push is answered, not re-run."""

    __tablename__ = "channel_dedupe"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ChannelState(Base):
    """What the channels keep between requests when no Redis is configured, so that any
    platform process (or the next one after a restart) goes on where another stopped: the
    IVR's calls in progress and the answers of phone events already seen. A row past
    `expires_at` counts as absent; the scheduler's daily prune deletes such rows."""

    __tablename__ = "channel_state"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(index=True)
# ---- OCR readings of claim documents -------------------------------------------------------

class DocumentReading(Base):
    """What OCR read on a claim document: text, fields with confidence, and what needs a person.

    `fields` maps a field name to {"value", "confidence"}; `needs_review` lists the fields not to
    be trusted without a person (low confidence, a failed check, or at odds with the claim);
    `problems` says why, field by field.
    """

    __tablename__ = "document_readings"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("claim_documents.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # read | unreadable | failed
    engine: Mapped[str] = mapped_column(String(20))
    detected_type: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    needs_review: Mapped[list[str]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    problems: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
# ---- bot: channel bindings (identification of a WeChat user or caller) ----------------------

class ChannelBinding(Base):
    """A channel user (WeChat openid, caller number, web id) identified as a party."""

    __tablename__ = "channel_bindings"
    __table_args__ = (UniqueConstraint("channel", "user"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    user: Mapped[str] = mapped_column(String(128))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# ---- separate consent to sensitive personal information, given in the chat ------------------

class ConsentRecord(Base):
    """One decision of a channel user on the short notice (given, refused, withdrawn), with
    the notice's version and the SHA-256 of the text they were shown; the latest counts.
    `party_id` is the party the channel user was bound to at the time, when they were."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_channel_user", "channel", "channel_user", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    channel_user: Mapped[str] = mapped_column(String(128))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)
    notice_version: Mapped[str] = mapped_column(String(40))
    notice_sha256: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---- who looked: every display of unmasked personal data to staff (append-only) --------------

class AccessLogEntry(Base):
    """A staff member was shown a record's personal data unmasked (an ID, phone or bank card
    number, or a document image). The database refuses UPDATE, and DELETE of entries younger
    than the retention (3 years): migration 0031's triggers."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_staff_at", "staff", "at"),
                      Index("ix_access_log_record", "record_kind", "record_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    staff: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(30))
    record_kind: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[str] = mapped_column(String(80))
    door: Mapped[str] = mapped_column(String(10))  # desk | api
    purpose: Mapped[str] = mapped_column(String(120))  # the desk route or the API operation
    # whether the record was theirs or their queue's to work on when they opened it
    with_work: Mapped[bool] = mapped_column(default=True)


# ---- requests of the data subject (查阅、复制、更正、删除; migration 0032) -----------------------

class PrivacyRequestRow(Base):
    """A person's request to see, copy, correct or delete what the platform holds about them.
    Each step is an audit entry (entity `privacy_request`); `link_revision` is signed into the
    export's link, so renewing the link ends the earlier one."""

    __tablename__ = "privacy_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_no: Mapped[str] = mapped_column(String(30), unique=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    verified_by: Mapped[str] = mapped_column(String(20))
    details: Mapped[str | None] = mapped_column(Text)  # what the person asks / says is wrong
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    received_by: Mapped[str] = mapped_column(String(60))
    handler: Mapped[str | None] = mapped_column(String(60), index=True)
    answer: Mapped[str | None] = mapped_column(Text)  # told the person: done, or why refused
    done_on: Mapped[date | None] = mapped_column(Date)
    link_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    link_expires_at: Mapped[datetime | None]
    # made in the chat: the channel (wechat, web, ivr) and channel user the bot identified
    user_channel: Mapped[str | None] = mapped_column(String(20))
    channel_user: Mapped[str | None] = mapped_column(String(128))

"""The OpenAPI 3.1 document of /api/v1, kept as Python data next to the routes it describes.

Paths are relative to the server url `/api/v1`. Every operation needs the bearer token except
`GET /openapi.json`. Money is a decimal string ("1234.50"), dates are `YYYY-MM-DD`,
timestamps ISO 8601 with an offset. Response schemas list what clients may rely on and leave
room for more fields (`additionalProperties` is not closed).
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from backoffice.domain import claim as cl
from backoffice.domain import complaint as cp
from backoffice.domain import endorsement_request as er
from backoffice.domain.adjudication import TRANSPORT_MODES
from backoffice.domain.agent_queue import QUEUES
from backoffice.services import claim_stats
from backoffice.services import claims as claims_service
from backoffice.services import complaints as complaints_service
from backoffice.services import home_visits as home_visits_service
from backoffice.services import satisfaction as satisfaction_service

Schema = dict[str, Any]

MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
AMOUNT_INPUT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"

STATUSES = ["applied", "accepted", "declined", "postponed", "in_force", "premium_due",
            "grace_period", "lapsed", "surrendered", "expired", "cancelled"]
RELATIONS = ["self", "spouse", "child", "parent", "sibling", "other"]
APPLICANT_RELATIONS = ["self", "spouse", "child", "parent", "other"]
PAYMENT_MODES = ["single", "instalments", "auto_debit"]
FREQUENCIES = ["annual", "semiannual", "quarterly", "monthly"]
PAYMENT_METHODS = ["bank_transfer", "auto_debit", "wechat_pay", "cash", "card"]
TRANSITIONS = ["premium_due", "start_grace", "lapse", "reinstate", "expire", "cancel"]
ENDORSEMENT_KINDS = ["change_beneficiary", "change_contact", "change_sum_insured",
                     "add_coverage", "remove_coverage", "surrender"]
CLAIM_TYPES = ["death", "transport_death", "disability", "hospital_allowance", "medical"]
CLAIM_STATUSES = list(cl.STATUSES)
CLAIM_ACTIONS = list(claims_service._ACTIONS)
CLAIM_CHANNELS = list(claims_service.CHANNELS)
APPROVAL_ROLES = list(cl.ROLES)
COMPLAINT_STATUSES = list(cp.STATUSES)


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Schema], required: list[str] | None = None,
        description: str | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if description:
        schema["description"] = description
    schema.update(extra)
    return schema


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def nullable(schema: Schema) -> Schema:
    """The schema or null (3.1 style)."""
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    out = dict(schema)
    kind = out.get("type")
    out["type"] = [*kind, "null"] if isinstance(kind, list) else [kind, "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def string(description: str | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def enum(values: list[str], description: str | None = None) -> Schema:
    return string(description, enum=list(values))


MONEY = ref("Money")
DATE = ref("Date")
TIMESTAMP = ref("Timestamp")
ACTOR = string("Who acts (staff user, channel); defaults to the X-Actor header or `api`.",
               maxLength=60)


# ---- component schemas -----------------------------------------------------------------------

def _schemas() -> dict[str, Schema]:
    line = obj({"text": string("Explanation, in Chinese."), "amount": MONEY}, ["text", "amount"])
    person = obj(
        {
            "name": string("Full name.", maxLength=40),
            "id_number": string("PRC resident ID number, 18 characters with check character.",
                                pattern=r"^[0-9]{17}[0-9Xx]$"),
            "gender": string("male/female (男/女); must agree with the ID number."),
            "birth_date": ref("Date"),
            "phone": string("Mainland mobile (11 digits) or landline with area code."),
            "address": string(maxLength=200),
            "occupation": string(),
            "occupation_class": {"type": "integer", "minimum": 1, "maximum": 6},
        },
        ["name", "id_number", "phone"],
        "A person as entered; birth date and gender default to what the ID number says.",
    )
    beneficiary = obj(
        {
            "name": string(),
            "relation": enum(RELATIONS),
            "id_number": string(pattern=r"^[0-9]{17}[0-9Xx]$"),
            "share_pct": {"type": "integer", "minimum": 1, "maximum": 100},
        },
        ["name", "relation", "id_number", "share_pct"],
        "A named death beneficiary; shares add up to 100.",
    )
    coverage_choice = obj(
        {"code": string("Coverage code of the product."), "sum_insured": ref("AmountInput")},
        ["code"],
        "A coverage to buy; the sum insured defaults to the product's default.",
    )
    health = {
        "type": "object",
        "description": "Answers to every health question of the product, by question code.",
        "additionalProperties": {"type": "boolean"},
    }
    party = obj(
        {
            "name": string(),
            "gender": enum(["male", "female"]),
            "birth_date": DATE,
            "id_number": string("Masked: area code and last four characters."),
            "phone": nullable(string("Masked.")),
            "address": nullable(string()),
            "occupation": nullable(string()),
            "occupation_class": nullable({"type": "integer"}),
        },
        ["name", "gender", "birth_date", "id_number", "phone"],
        "A party (person) as shown to staff, with personal data masked.",
    )
    coverage = obj({"code": string(), "name": string(), "sum_insured": MONEY},
                   ["code", "name", "sum_insured"])
    summary_props: dict[str, Schema] = {
        "policy_no": nullable(string("Set when issued.")),
        "application_no": string(),
        "product_code": string(),
        "product_name": string(),
        "kind": enum(["individual", "group"]),
        "status": enum([*STATUSES, "removed"],
                       "Policy status; `removed` for a group member taken off the roster."),
        "status_text": string("Status in Chinese."),
        "start_date": nullable(DATE),
        "end_date": nullable(DATE),
        "insured": nullable(ref("Party")),
        "coverages": array(ref("Coverage")),
        "applicant": obj({"name": string()}),
        "enrolled_on": {**DATE, "description": "Group members: the enrollment date."},
        "covered": {"type": "boolean", "description": "Group members: covered now."},
    }
    instalment = obj(
        {
            "seq": {"type": "integer", "minimum": 1},
            "due_date": DATE,
            "amount": MONEY,
            "period_start": DATE,
            "period_end": DATE,
            "status": enum(["due", "paid", "cancelled"]),
            "paid_at": nullable(TIMESTAMP),
        },
        ["seq", "due_date", "amount", "period_start", "period_end", "status", "paid_at"],
    )
    payment_record = obj(
        {
            "kind": enum(["premium", "additional_premium", "refund"]),
            "amount": {**MONEY, "description": "Negative for a refund."},
            "method": string(),
            "reference": nullable(string()),
            "paid_at": TIMESTAMP,
        },
        ["kind", "amount", "method", "paid_at"],
    )
    endorsement = obj(
        {
            "endorsement_no": string(),
            "kind": enum(ENDORSEMENT_KINDS),
            "status": string(),
            "effective_date": DATE,
            "before": {"type": "object"},
            "after": {"type": "object"},
            "premium_difference": {**MONEY,
                                   "description": "To collect (positive) or refund (negative)."},
            "explanation": array(line),
            "actor": string(),
            "created_at": TIMESTAMP,
        },
        ["endorsement_no", "kind", "effective_date", "before", "after", "premium_difference",
         "actor", "created_at"],
        "One endorsement (保全) with its before and after.",
    )
    detail: Schema = {
        "description": "One policy or application with coverages, premium schedule, payments, "
                       "beneficiaries and endorsements.",
        "allOf": [
            ref("PolicySummary"),
            obj(
                {
                    "applicant": obj({"name": string()}, ["name"]),
                    "applicant_relation": string(),
                    "application_date": DATE,
                    "underwriting": obj({
                        "outcome": nullable(enum(["accept", "accept_with_loading", "decline",
                                                  "postpone"])),
                        "outcome_text": nullable(string()),
                        "loading_pct": string("Loading in percent, decimal text."),
                        "reasons": array(string()),
                    }, ["outcome", "reasons"]),
                    "premium": obj({
                        "annual": MONEY,
                        "instalment": MONEY,
                        "instalments": {"type": "integer"},
                        "payment_mode": string(),
                        "frequency": string(),
                        "debit_account": nullable(string("Masked bank card.")),
                        "lines": array(line),
                    }, ["annual", "instalment", "instalments", "payment_mode", "lines"]),
                    "premium_schedule": array(ref("Instalment")),
                    "payments": array(ref("PaymentRecord")),
                    "beneficiaries": array(obj({"name": string(), "relation": string(),
                                                "share_pct": {"type": "integer"}})),
                    "endorsements": array(ref("Endorsement")),
                    "cooling_off_days": {"type": "integer"},
                    "grace_period_days": {"type": "integer"},
                    "grace_ends_on": nullable(DATE),
                    "lapsed_on": nullable(DATE),
                    "ended_on": nullable(DATE),
                    "document_url": string(
                        "Signed link to the electronic policy document (HTML), openable "
                        "without a token; on GET of an issued policy and on issue."),
                },
                ["application_no", "applicant", "application_date", "underwriting", "premium",
                 "premium_schedule", "payments", "beneficiaries", "endorsements"],
            ),
        ],
    }

    def endorsement_kind(kind: str, description: str, props: dict[str, Schema],
                         required: list[str]) -> Schema:
        return obj(
            {"kind": {"type": "string", "const": kind}, "effective_date": DATE,
             "actor": ACTOR, **props},
            ["kind", *required],
            description + " `effective_date` defaults to today (or the start date).",
        )

    kinds = {
        "change_beneficiary": endorsement_kind(
            "change_beneficiary", "Replace the named beneficiaries.",
            {"beneficiaries": array(ref("Beneficiary"), minItems=1)}, ["beneficiaries"]),
        "change_contact": endorsement_kind(
            "change_contact", "Change the policyholder's phone and/or address.",
            {"phone": string(), "address": string(maxLength=200)}, []),
        "change_sum_insured": endorsement_kind(
            "change_sum_insured", "Change one coverage's sum insured; reprices.",
            {"coverage_code": string(), "sum_insured": ref("AmountInput")},
            ["coverage_code", "sum_insured"]),
        "add_coverage": endorsement_kind(
            "add_coverage", "Add an optional coverage; reprices.",
            {"coverage_code": string(), "sum_insured": ref("AmountInput")}, ["coverage_code"]),
        "remove_coverage": endorsement_kind(
            "remove_coverage", "Remove an optional coverage; reprices.",
            {"coverage_code": string()}, ["coverage_code"]),
        "surrender": endorsement_kind(
            "surrender", "Surrender (退保); within the cooling-off period a full refund.",
            {}, []),
    }
    names = {k: "".join(p.title() for p in k.split("_")) + "Request" for k in kinds}

    return {
        "Money": string("Amount in yuan as a decimal string with two decimals.",
                        pattern=MONEY_PATTERN, examples=["1234.50"]),
        "AmountInput": {
            "description": "An amount sent in: a decimal string (at most two decimals) or a "
                           "whole number; never a float, never negative.",
            "oneOf": [string(pattern=AMOUNT_INPUT_PATTERN, examples=["1234.50"]),
                      {"type": "integer", "minimum": 0}],
        },
        "Date": string("A date, YYYY-MM-DD.", format="date"),
        "Timestamp": string("ISO 8601 with offset.", format="date-time"),
        "Error": obj(
            {"error": obj(
                {"code": string("Machine-readable code: invalid, not_found, conflict, "
                                "illegal_transition, domain_error, unauthorized, too_large, "
                                "http_error."),
                 "message": string("What went wrong, in Chinese."),
                 "field": nullable(string("The request field concerned, if any."))},
                ["code", "message", "field"])},
            ["error"], "Every 4xx answer.",
        ),
        "PremiumLine": line,
        "Person": person,
        "Beneficiary": beneficiary,
        "CoverageChoice": coverage_choice,
        "HealthDeclarations": health,
        "Party": party,
        "Coverage": coverage,
        "PolicySummary": obj(summary_props,
                             ["policy_no", "product_code", "status", "insured", "coverages"],
                             "A policy as listed; group memberships carry enrollment fields."),
        "PolicyList": obj({"items": array(ref("PolicySummary"))}, ["items"]),
        "Instalment": instalment,
        "PaymentRecord": payment_record,
        "Endorsement": endorsement,
        "PolicyDetail": detail,
        "EndorsementResult": {
            "allOf": [ref("PolicyDetail"),
                      obj({"endorsement": ref("Endorsement")}, ["endorsement"])],
            "description": "The policy after the endorsement, and the endorsement itself.",
        },
        "Product": obj(
            {
                "code": string(), "name": string(), "kind": enum(["individual", "group"]),
                "line": string(), "term_months": {"type": "integer"},
                "waiting_period_days": {"type": "integer"},
                "cooling_off_days": {"type": "integer"},
                "grace_period_days": {"type": "integer"},
                "entry_age": obj({"min": {"type": "integer"}, "max": {"type": "integer"}}),
                "payment_modes": array(string()),
                "frequencies": array(string()),
                "coverages": array(obj(
                    {"code": string(), "name": string(),
                     "claim_types": array(enum(CLAIM_TYPES)), "required": {"type": "boolean"},
                     "sum_insured": obj({"default": MONEY, "min": MONEY, "max": MONEY}),
                     "benefit": {"type": "object"}},
                    ["code", "name", "required", "sum_insured"])),
                "health_questions": array(obj({"code": string(), "text": string()})),
                "exclusions": array(obj({"code": string(), "text": string()})),
                "claim_documents": {"type": "object", "additionalProperties": array(
                    obj({"type": string(), "name": string()}))},
            },
            ["code", "name", "kind", "coverages"],
            "A product with its coverages, rules and claim documents.",
        ),
        "ProductList": obj({"items": array(ref("Product"))}, ["items"]),
        "QuoteRequest": obj(
            {"product_code": string(), "birth_date": DATE,
             "occupation_class": {"type": "integer", "minimum": 1, "maximum": 6},
             "coverages": array(ref("CoverageChoice"), minItems=1),
             "payment_mode": enum(PAYMENT_MODES), "frequency": enum(FREQUENCIES),
             "on": {**DATE, "description": "Age is taken on this day; default today."}},
            ["product_code", "birth_date", "occupation_class"],
        ),
        "Quote": obj(
            {"annual_premium": MONEY, "instalment_amount": MONEY,
             "instalments": {"type": "integer", "minimum": 1}, "total_premium": MONEY,
             "lines": array(ref("PremiumLine"))},
            ["annual_premium", "instalment_amount", "instalments", "total_premium", "lines"],
            "A premium quote with a line-by-line explanation.",
        ),
        "ApplicationRequest": obj(
            {
                "product_code": string("An individual product."),
                "insured": {**ref("Person"),
                            "description": "The insured; occupation_class is required."},
                "applicant_relation": enum(APPLICANT_RELATIONS,
                                           "Applicant to insured; default self."),
                "applicant": {**ref("Person"), "description": "Needed unless relation is self."},
                "application_date": DATE,
                "start_date": {**DATE, "description": "After the application date; "
                                                      "default the next day."},
                "coverages": array(ref("CoverageChoice"), minItems=1),
                "beneficiaries": array(ref("Beneficiary")),
                "payment_mode": enum(PAYMENT_MODES),
                "frequency": enum(FREQUENCIES),
                "debit_account": string("Bank card for auto_debit (Luhn-checked)."),
                "health_declarations": ref("HealthDeclarations"),
                "actor": ACTOR,
            },
            ["product_code", "insured"],
            "An application (投保); priced and filed with status applied.",
        ),
        "ActorRequest": obj({"actor": ACTOR}, description="Optional body naming the actor."),
        "UnderwritingRequest": obj({
            "actor": ACTOR,
            "outcome": enum(["accept", "accept_with_loading", "decline", "postpone"],
                            "An underwriter's own decision; without it the product's rules "
                            "decide."),
            "loading_pct": string("accept_with_loading: 1 up to the product's maximum, "
                                  "decimal text."),
            "reasons": array(string(maxLength=500), maxItems=20,
                             description="Why; required with `outcome`.")},
            description="Optional: empty runs the product's underwriting rules."),
        "Payment": obj(
            {"amount": {**ref("AmountInput"),
                        "description": "Exactly the amount owed for the next instalment."},
             "method": enum(PAYMENT_METHODS), "reference": string(maxLength=60),
             "actor": ACTOR},
            ["amount"], "A premium payment; pays the next unpaid instalment.",
        ),
        "Transition": obj(
            {"action": enum(TRANSITIONS),
             "today": {**DATE, "description": "Business date of the move; default today."},
             "payment": {**ref("Payment"), "description": "reinstate: the arrears."},
             "health_declarations": ref("HealthDeclarations"),
             "actor": ACTOR},
            ["action"], "A lifecycle move by staff or the scheduler.",
        ),
        **{names[k]: v for k, v in kinds.items()},
        "EndorsementRequest": {
            "description": "An endorsement (保全), one schema per kind.",
            "oneOf": [ref(names[k]) for k in kinds],
            "discriminator": {"propertyName": "kind",
                              "mapping": {k: f"#/components/schemas/{names[k]}"
                                          for k in kinds}},
        },
        "PartyRecord": obj(
            {"party": ref("Party"),
             "updates": array(obj(
                 {"field": string(), "before": nullable(string()), "after": nullable(string()),
                  "actor": string(), "source": string(), "at": TIMESTAMP},
                 ["field", "before", "after", "actor", "source", "at"]))},
            ["party", "updates"], "A party and the history of its updates (phones masked).",
        ),
        "PartyUpdate": obj(
            {"phone": string(), "address": string(maxLength=200), "occupation": string(),
             "occupation_class": {"type": "integer", "minimum": 1, "maximum": 6},
             "actor": ACTOR},
            description="信息更新: the fields to change; at least one.",
            minProperties=1, additionalProperties=False,
        ),
        "PartyUpdateResult": obj(
            {"party": ref("Party"), "changed": array(string())}, ["party", "changed"]),
        "GroupPolicyRequest": obj(
            {"product_code": string("A group product."),
             "applicant_name": string("The sponsoring body."),
             "start_date": DATE, "actor": ACTOR},
            ["product_code", "applicant_name", "start_date"],
        ),
        "GroupPolicy": obj(
            {"policy_no": string(), "product_code": string(), "start_date": DATE,
             "end_date": DATE},
            ["policy_no", "product_code", "start_date", "end_date"],
            "A group policy, issued in force; insureds come by roster.",
        ),
        "RosterImportResult": obj(
            {"imported": {"type": "integer", "minimum": 0},
             "skipped": {"type": "integer", "minimum": 0,
                         "description": "Already on the roster."},
             "errors": array(obj(
                 {"line": {"type": "integer", "minimum": 1,
                           "description": "Line in the file; the header is line 1."},
                  "field": string(), "message": string()},
                 ["line", "field", "message"]))},
            ["imported", "skipped", "errors"],
        ),
        "AutoEnrollmentRequest": obj(
            {"as_of": {**DATE, "description": "Default today."}, "actor": ACTOR}),
        "AutoEnrollmentResult": obj({"enrolled": {"type": "integer", "minimum": 0}},
                                    ["enrolled"]),
        "Outlet": obj(
            {"code": string(), "name": string(), "town": string(), "address": string(),
             "phone": string(), "opening_hours": {"type": "object"},
             "opening_hours_text": string(), "services": array(string()),
             "latitude": nullable({"type": "number"}),
             "longitude": nullable({"type": "number"})},
            ["code", "name", "town", "address", "phone", "services"],
            "A service outlet (服务网点).",
        ),
        "OutletList": obj({"items": array(ref("Outlet"))}, ["items"]),
        "AuditEntry": obj(
            {"at": TIMESTAMP, "actor": string(), "action": string(),
             "before": nullable({"type": "object"}), "after": nullable({"type": "object"})},
            ["at", "actor", "action", "before", "after"], "Who changed what, when.",
        ),
        "AuditList": obj({"items": array(ref("AuditEntry"))}, ["items"]),
        "DeadLetter": obj(
            {"id": {"type": "integer"}, "channel": string(), "recipient": string(),
             "template": string(), "attempts": {"type": "integer"},
             "last_error": nullable(string()), "created_at": TIMESTAMP},
            ["id", "channel", "recipient", "template", "attempts", "last_error", "created_at"],
            "A notification that used up its tries (recipient masked).",
        ),
        "DeadLetterList": obj({"items": array(ref("DeadLetter"))}, ["items"]),
        "Requeue": obj({"ids": array({"type": "integer"}), "actor": string()}, [],
                       "Dead letters to try again; without `ids`, all of them."),
        "Requeued": obj({"requeued": {"type": "integer"}}, ["requeued"]),
        **_claim_schemas(line),
        **_desk_schemas(),
        **_binding_schemas(),
        **_endorsement_request_schemas(),
        **_auth_schemas(),
    }


def _claim_schemas(line: Schema) -> dict[str, Schema]:
    """Claims (理赔), adjudication preview and claims statistics."""
    status = enum(CLAIM_STATUSES, "Claim status; a reopened claim returns to under_review.")
    doc_item = obj({"type": string("Document type code."), "name": string("Name, in Chinese.")},
                   ["type", "name"])
    facts = obj(
        {
            "admission_date": DATE, "discharge_date": DATE,
            "hospital_days": {"type": "integer", "minimum": 0,
                              "description": "Discharge minus admission date, when no dates."},
            "allowance_days_used_this_year": {"type": "integer", "minimum": 0},
            "disability_levels": array({"type": "integer", "minimum": 1, "maximum": 10},
                                       minItems=1, description="JR/T 0083-2013 levels."),
            "transport": enum(list(TRANSPORT_MODES)),
            "death_date": DATE, "assessment_date": DATE,
            "cause": string("accident (default), or an exclusion code such as disease."),
            "hospital_level": {"type": "integer", "minimum": 1, "maximum": 3},
            "expenses": ref("AmountInput"), "social_insurance_paid": ref("AmountInput"),
            "out_of_scope_expenses": ref("AmountInput"),
        },
        description="Facts the adjudication reads, each optional by claim type; unknown keys "
                    "are kept and ignored.",
    )
    deadline = obj(
        {"due": {**DATE, "description": "Provisional while paused."},
         "breached": {"type": "boolean"},
         "paused": {"type": "boolean",
                    "description": "Stopped while the claimant supplies requested documents."},
         "done_on": nullable(DATE), "basis": string("The rule, in Chinese.")},
        ["due", "breached", "paused", "done_on"],
    )
    document = obj(
        {"document_id": {"type": "integer"}, "doc_type": string(), "filename": string(),
         "size": {"type": "integer", "minimum": 1}, "uploaded_at": TIMESTAMP,
         "fields": {"type": "object", "description": "Recognised fields (OCR), if any."},
         "needs_review": {"type": "boolean"}},
        ["document_id", "doc_type", "fields", "needs_review"],
    )
    count = {"type": "integer", "minimum": 0}
    days = nullable({"type": "number", "minimum": 0})
    cycle = obj(
        {"count": count, "mean": days, "p50": days, "p90": days,
         "min": nullable(count), "max": nullable(count),
         "distribution": array(obj(
             {"bucket": string(), "min_days": count, "max_days": nullable(count),
              "count": count}, ["bucket", "min_days", "max_days", "count"]))},
        ["count", "mean", "p50", "p90", "distribution"],
        "Days; p50/p90 interpolate linearly between ranks; null without claims.",
    )
    pct = nullable(string("Percent with two decimals.", pattern=r"^[0-9]+\.[0-9]{2}$"))
    return {
        "ClaimFacts": facts,
        "ClaimReport": obj(
            {
                "policy_no": string("The policy (group or individual)."),
                "insured_id_number": string(pattern=r"^[0-9]{17}[0-9Xx]$"),
                "insured": obj({"channel": enum(("wechat", "ivr", "web")), "user": string()},
                               ["channel", "user"],
                               "Instead of insured_id_number: the party this channel user is "
                               "bound to (a caller also by the phone on file)."),
                "claim_type": enum(CLAIM_TYPES),
                "incident_date": {**DATE, "description": "Not after today."},
                "incident_place": string(maxLength=200),
                "description": string(maxLength=2000),
                "cause": string(maxLength=40),
                "reporter": obj({"name": string(), "relation": enum(RELATIONS),
                                 "phone": string()}, ["name", "relation", "phone"]),
                "channel": enum(CLAIM_CHANNELS, "Default api."),
                "facts": ref("ClaimFacts"),
                "actor": ACTOR,
            },
            ["policy_no", "claim_type", "incident_date", "reporter"],
            "A report (报案). Registered at once when the coverage check passes; then the one "
            "consolidated notice of missing documents (Art. 22).",
            anyOf=[{"required": ["insured_id_number"]}, {"required": ["insured"]}],
        ),
        "MissingDocument": doc_item,
        "ClaimDocument": document,
        "ClaimDeadline": deadline,
        "Claim": obj(
            {
                "claim_no": string("Report number (报案号)."),
                "status": status,
                "stage": string("Status in Chinese."),
                "claim_type": enum(CLAIM_TYPES),
                "policy_no": nullable(string()),
                "product_code": string(),
                "incident_date": DATE,
                "incident_place": nullable(string()),
                "reported_on": DATE,
                "late_report": {"type": "boolean"},
                "channel": string(),
                "handler": nullable(string()),
                "track": enum(["fast", "manual"]),
                "track_rule": string("The rule that chose the track, in Chinese."),
                "special_case": {"type": "boolean"},
                "missing_documents": array(ref("MissingDocument")),
                "documents": array(ref("ClaimDocument")),
                "deadlines": {"type": "object", "additionalProperties": ref("ClaimDeadline"),
                              "description": "Clocks by name: review, special_case, decision, "
                                             "payment, rejection_letter, advance_payment."},
                "payable": nullable(MONEY),
                "approved": nullable(MONEY),
                "advance_paid": MONEY,
                "approval_role": nullable(enum(APPROVAL_ROLES)),
                "adjudication_lines": array(line),
                "rejection_reasons": array(string()),
                "letters": array(obj({"letter_no": string(), "kind": string(),
                                      "body": string(), "sent_at": nullable(TIMESTAMP)},
                                     ["letter_no", "kind", "body", "sent_at"])),
                "allowed_actions": array(string()),
                "complaints": array(obj(
                    {"complaint_no": string(), "status": enum(COMPLAINT_STATUSES),
                     "due_by": DATE, "category": string()},
                    ["complaint_no", "status", "due_by"]),
                    description="Complaints linked to this claim."),
                "timeline": array(obj(
                    {"at": TIMESTAMP, "status": status, "action": string(), "actor": string(),
                     "note": nullable(string())},
                    ["at", "status", "actor", "note"])),
            },
            ["claim_no", "status", "claim_type", "missing_documents", "documents",
             "deadlines", "payable", "timeline"],
            "One claim with its documents, clocks and timeline.",
        ),
        "ClaimSummary": obj(
            {"claim_no": string(), "status": status, "claim_type": enum(CLAIM_TYPES),
             "incident_date": DATE, "handler": nullable(string()),
             "track": enum(["fast", "manual"]),
             "next_due": {**nullable(DATE),
                          "description": "With due_before or breached: the nearest open clock."},
             "breached": {"type": "boolean",
                          "description": "With due_before or breached: an open clock is late."}},
            ["claim_no", "status", "claim_type", "incident_date"],
        ),
        "ClaimList": obj({"items": array(ref("ClaimSummary"))}, ["items"]),
        "ClaimProgress": obj(
            {"claim_no": string(), "stage": string("In Chinese."), "status": status,
             "text": string("The whole answer for the customer, in Chinese."),
             "missing_documents": array(ref("MissingDocument")),
             "next_step": string("In Chinese."), "expected_by": nullable(DATE)},
            ["claim_no", "stage", "text", "missing_documents", "next_step", "expected_by"],
            "The customer's view of a claim.",
        ),
        "DocumentUpload": obj(
            {"file": {"type": "string", "contentMediaType": "application/octet-stream",
                      "description": "The document (photo, scan, PDF); not empty, at most "
                                     f"{claims_service.MAX_UPLOAD // (1024 * 1024)} MB."},
             "doc_type": string("Document type code (e.g. discharge_summary); ticks off the "
                                "requirement of that type. Default other.", maxLength=40),
             "actor": ACTOR},
            ["file"],
        ),
        "DocumentReceipt": obj(
            {**_reading_properties(), "claim_status": status},
            ["document_id", "doc_type", "fields", "needs_review"],
            "The stored document and what OCR read on it (read before the answer).",
        ),
        "ClaimDocumentReading": obj(
            _reading_properties(),
            ["document_id", "doc_type", "fields", "needs_review", "status"],
            "One claim document with what OCR read on it.",
        ),
        "ClaimTransition": obj(
            {
                "action": enum(CLAIM_ACTIONS),
                "actor": ACTOR,
                "role": enum(APPROVAL_ROLES,
                             "approve: the approver's role; beyond its authority the claim "
                             "escalates (adjuster ≤ 5,000, supervisor ≤ 50,000)."),
                "note": string(maxLength=2000),
                "reasons": array(string(maxLength=500), minItems=1,
                                 description="reject, decline_registration."),
                "documents": array(ref("MissingDocument"), minItems=1,
                                   description="request_documents: the further items."),
                "waive_missing": {"type": "boolean",
                                  "description": "documents_complete despite missing items."},
                "facts": ref("ClaimFacts"),
                "amount": {**ref("AmountInput"),
                           "description": "pay: approved minus advance; advance_payment."},
                "determinable": {**ref("AmountInput"),
                                 "description": "advance_payment: the part already certain."},
                "account": string("pay, advance_payment, set_bank_account: bank card "
                                  "(Luhn-checked)."),
                "reference": string(maxLength=60),
                "handler": string("assign: the handler.", maxLength=60),
            },
            ["action", "actor"],
            "A staff action on a claim; an action the status does not allow is a 409.",
        ),
        "AdjudicationPreviewRequest": obj(
            {"product_code": string(), "claim_type": enum(CLAIM_TYPES), "incident_date": DATE,
             "facts": ref("ClaimFacts")},
            ["product_code", "claim_type", "incident_date"],
        ),
        "AdjudicationPreview": obj(
            {"payable": MONEY, "lines": array(line, description="The last line states the "
                                                               "total."),
             "excluded": {"type": "boolean"}, "reasons": array(string())},
            ["payable", "lines"],
            "What the claim would pay, with the calculation statement.",
        ),
        "ClaimStats": obj(
            {
                "from": DATE, "to": DATE, "as_of": DATE,
                "claims": obj({"total": count, "open": count}, ["total", "open"]),
                "by_stage": array(obj({"status": status, "stage": string(), "count": count},
                                      ["status", "stage", "count"])),
                "by_claim_type": array(obj({"claim_type": enum(CLAIM_TYPES), "name": string(),
                                            "count": count},
                                           ["claim_type", "name", "count"])),
                "by_track": array(obj({"track": enum(list(claim_stats.TRACKS)),
                                       "name": string(), "count": count},
                                      ["track", "name", "count"])),
                "cycle_time_days": obj({"report_to_close": cycle, "report_to_payment": cycle},
                                       ["report_to_close", "report_to_payment"]),
                "sla": array(obj(
                    {"deadline": enum(list(claim_stats.DEADLINES)), "name": string(),
                     "met": count, "breached": count, "open": count, "total": count,
                     "compliance_pct": {**pct, "description": "met / (met + breached)."}},
                    ["deadline", "met", "breached", "open", "compliance_pct"])),
                "loss_ratio": array(obj(
                    {"product_code": string(), "product_name": string(),
                     "kind": enum(["individual", "group"]), "premium": MONEY,
                     "claims_paid": MONEY,
                     "loss_ratio": nullable(string("Claims paid / premium, 4 decimals; null "
                                                   "without premium.",
                                                   pattern=r"^[0-9]+\.[0-9]{4}$")),
                     "premium_basis": string()},
                    ["product_code", "premium", "claims_paid", "loss_ratio"])),
                "payouts": obj({"total": MONEY, "count": count, "final": MONEY,
                                "advance": MONEY, "claims": count},
                               ["total", "count"]),
            },
            ["from", "to", "by_stage", "by_claim_type", "by_track", "cycle_time_days", "sla",
             "loss_ratio", "payouts"],
            "Claims reported in the window by stage, type and track; their cycle times and "
            "clocks (met on time, breached, open); claim payments made in the window, and "
            "per product the loss ratio: payments / premium (individual: premium received "
            "in the window; group: annual premium of policies overlapping the window).",
        ),
    }


# ---- operations --------------------------------------------------------------------------------

ERRORS = {
    "400": "Bad input",
    "401": "Missing or wrong bearer token",
    "404": "Not found",
    "409": "Conflict or illegal state transition",
    "413": "Too large",
    "422": "Refused by a business rule",
    "403": "Forbidden: the staff member's role may not do this (code `forbidden`); for "
           "bindings, an identity mismatch (never says which part was wrong)",
    "429": "Too many failed attempts; try again later",
}


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _param(name: str, where: str, description: str, required: bool = True) -> Schema:
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": {"type": "string"}}


def _reading_properties() -> dict[str, Schema]:
    """A claim document as read by OCR (backoffice.services.document_reading.receipt)."""
    read_field = obj({"value": {"description": "String, integer (days, levels) or list of "
                                               "strings (parties); null when not read."},
                      "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
                     ["value", "confidence"])
    return {
        "document_id": {"type": "integer"},
        "doc_type": string("The requirement type it was stored as (e.g. discharge_summary)."),
        "detected_type": nullable(string("The document type OCR recognised.")),
        "fields": {"type": "object", "additionalProperties": read_field,
                   "description": "Field name (CONTRACTS.md OCR field names) → value."},
        "needs_review": array(string(), description="Fields a person must check before they "
                              "are trusted: low confidence, a failed check, or at odds with "
                              "the claim."),
        "status": enum(["received", "read", "needs_review", "unreadable", "failed"],
                       "received = stored unread; unreadable = not an image or PDF."),
        "warnings": array(string()),
        "problems": {"type": "object", "additionalProperties": array(string()),
                     "description": "Why each field needs review."},
        "filename": string(),
        "uploaded_at": TIMESTAMP,
    }


def op(summary: str, tag: str, operation_id: str, answer: str | None, *,
       status: str = "200", body: str | None = None, body_required: bool = True,
       params: list[Schema] | None = None, errors: tuple[str, ...] = (),
       writes: bool = False) -> Schema:
    """One operation; `answer` names the response schema (None for non-JSON answers).

    Every operation may answer 400 (bad input, also a NUL character anywhere), 401, and 403
    to a staff member whose role may not call it."""
    operation: Schema = {"summary": summary, "tags": [tag], "operationId": operation_id}
    parameters = list(params or [])
    if writes:
        parameters.append({"$ref": "#/components/parameters/Actor"})
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {"required": body_required, "content": _json(ref(body))}
    ok: Schema = {"description": "OK" if status == "200" else "Created"}
    if answer:
        ok["content"] = _json(ref(answer))
    responses: dict[str, Any] = {status: ok}
    for code in ("400", "401", "403", *errors):
        responses[code] = {"$ref": f"#/components/responses/E{code}"}
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _paths() -> dict[str, Any]:
    application_no = _param("application_no", "path", "Application number (A…).")
    policy_no = _param("policy_no", "path", "Policy number.")
    id_number = _param("id_number", "path", "ID number of the party.")
    document: Schema = op("Electronic policy document (HTML)", "policies", "getPolicyDocument",
                          None, params=[policy_no], errors=("404",))
    document["responses"]["200"]["content"] = {"text/html": {"schema": {"type": "string"}}}
    roster = op("Import a roster CSV (the request body)", "group", "importRoster",
                "RosterImportResult", params=[policy_no], errors=("404", "422"),
                writes=True)
    roster["description"] = (
        "The body is the CSV file, UTF-8, header `name,gender,birth_date,id_number,phone,"
        "address`. Good rows are enrolled, bad rows reported by line and field; people "
        "already on the roster are skipped. A file that cannot be read (empty, no header, "
        "not UTF-8) changes nothing.")
    roster["requestBody"] = {"required": True, "content": {
        "text/csv": {"schema": {"type": "string"}}}}
    openapi_op: Schema = {
        "summary": "This document", "tags": ["meta"], "operationId": "getOpenApi",
        "security": [],
        "responses": {"200": {"description": "The OpenAPI document",
                              "content": _json({"type": "object"})}},
    }
    return {
        "/openapi.json": {"get": openapi_op},
        "/products": {"get": op("List products", "products", "listProducts", "ProductList",
                                errors=())},
        "/products/{code}": {"get": op(
            "One product", "products", "getProduct", "Product",
            params=[_param("code", "path", "Product code.")], errors=("404",))},
        "/quotes": {"post": op("Quote a premium", "policies", "createQuote", "Quote",
                               body="QuoteRequest", errors=("404",))},
        "/applications": {"post": op(
            "Apply for an individual policy", "policies", "createApplication", "PolicyDetail",
            status="201", body="ApplicationRequest", errors=("404", "409", "422"),
            writes=True)},
        "/applications/{application_no}": {"get": op(
            "One application", "policies", "getApplication", "PolicyDetail",
            params=[application_no], errors=("404",))},
        "/applications/{application_no}/underwriting": {"post": op(
            "Underwrite an application", "policies", "underwriteApplication", "PolicyDetail",
            body="UnderwritingRequest", body_required=False, params=[application_no],
            errors=("404", "409"), writes=True)},
        "/applications/{application_no}/payments": {"post": op(
            "Pay the first premium", "policies", "payApplication", "PolicyDetail",
            status="201", body="Payment", params=[application_no],
            errors=("404", "422"), writes=True)},
        "/applications/{application_no}/issue": {"post": op(
            "Issue the policy", "policies", "issuePolicy", "PolicyDetail",
            body="ActorRequest", body_required=False, params=[application_no],
            errors=("404", "409", "422"), writes=True)},
        "/policies": {"get": op(
            "Policies of an insured", "policies", "findPolicies", "PolicyList",
            params=[_param("id_number", "query", "ID number of the insured.")])},
        "/policies/{policy_no}": {"get": op(
            "One policy", "policies", "getPolicy", "PolicyDetail", params=[policy_no],
            errors=("404",))},
        "/policies/{policy_no}/payments": {"post": op(
            "Pay the next premium", "policies", "payPolicy", "PolicyDetail", status="201",
            body="Payment", params=[policy_no], errors=("404", "422"), writes=True)},
        "/policies/{policy_no}/transitions": {"post": op(
            "Move a policy along its lifecycle", "policies", "transitionPolicy",
            "PolicyDetail", body="Transition", params=[policy_no],
            errors=("404", "409", "422"), writes=True)},
        "/policies/{policy_no}/endorsements": {"post": op(
            "Endorse a policy (保全)", "policies", "endorsePolicy", "EndorsementResult",
            status="201", body="EndorsementRequest", params=[policy_no],
            errors=("404", "409", "422"), writes=True)},
        "/policies/{policy_no}/document": {"get": document},
        "/parties/{id_number}": {
            "get": op("A party and its update history", "parties", "getParty", "PartyRecord",
                      params=[id_number], errors=("404",)),
            "patch": op("Update a party's contact or occupation", "parties", "updateParty",
                        "PartyUpdateResult", body="PartyUpdate", params=[id_number],
                        errors=("404",), writes=True),
        },
        "/group-policies": {"post": op(
            "Create a group policy", "group", "createGroupPolicy", "GroupPolicy",
            status="201", body="GroupPolicyRequest", errors=("404",), writes=True)},
        "/group-policies/{policy_no}/roster": {"post": roster},
        "/group-policies/{policy_no}/auto-enrollment": {"post": op(
            "Enroll residents who reached the minimum age", "group", "autoEnroll",
            "AutoEnrollmentResult", body="AutoEnrollmentRequest", body_required=False,
            params=[policy_no], errors=("404", "422"), writes=True)},
        "/service-outlets": {"get": op(
            "Service outlets", "outlets", "listOutlets", "OutletList",
            params=[_param("town", "query", "Part of the town name.", required=False),
                    _param("service", "query", "A service the outlet offers.",
                           required=False)],
            errors=())},
        "/audit": {"get": op(
            "Audit log of one entity", "audit", "getAudit", "AuditList",
            params=[_param("entity_type", "query", "policy, party, product…"),
                    _param("entity_id", "query", "Policy number, application number…")])},
        "/notifications/dead": {"get": op(
            "Dead-lettered notifications, newest first", "notifications", "listDeadLetters",
            "DeadLetterList", params=[_query("limit", "1–1000, default 100",
                                             {"type": "integer", "minimum": 1,
                                              "maximum": 1000})])},
        "/notifications/dead/requeue": {"post": op(
            "Try dead letters again", "notifications", "requeueDeadLetters", "Requeued",
            body="Requeue", body_required=False, writes=True)},
        **_claim_paths(),
        **_desk_paths(),
        **_conversation_paths(),
        **_binding_paths(),
        **_endorsement_request_paths(),
        **_auth_paths(),
    }


def _query(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _claim_paths() -> dict[str, Any]:
    claim_no = _param("claim_no", "path", "Report number (报案号).")
    idempotency = {
        "name": "Idempotency-Key", "in": "header", "required": False,
        "description": "Recommended. The same key again answers 200 with the same claim; the "
                       "same key with a different body is a 409.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
    report = op("Report a claim (报案)", "claims", "reportClaim", "Claim", status="201",
                body="ClaimReport", params=[idempotency], errors=("404", "409"), writes=True)
    report["responses"]["200"] = {"description": "The claim made earlier with this key",
                                  "content": _json(ref("Claim"))}
    upload = op("Upload a document for a claim", "claims", "uploadClaimDocument",
                "DocumentReceipt", status="201", params=[claim_no],
                errors=("404", "413", "422"), writes=True)
    upload["requestBody"] = {"required": True, "content": {"multipart/form-data": {
        "schema": ref("DocumentUpload"),
        "encoding": {"file": {"contentType": "*/*"}}}}}
    letter = op("A letter of the claim (text)", "claims", "getClaimLetter", None,
                params=[claim_no, _param("letter_no", "path", "Letter number.")],
                errors=("404",))
    letter["responses"]["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}
    window = [_query("from", "First report date, YYYY-MM-DD; default 1 January of `to`.",
                     {"type": "string", "format": "date"}),
              _query("to", "Last date, YYYY-MM-DD (inclusive); default today.",
                     {"type": "string", "format": "date"})]
    charts = op("Claims charts (HTML with inline SVG)", "stats", "getClaimCharts", None,
                params=window)
    charts["responses"]["200"]["content"] = {"text/html": {"schema": {"type": "string"}}}
    return {
        "/claims": {
            "post": report,
            "get": op("Find claims", "claims", "findClaims", "ClaimList", params=[
                _query("insured_id_number", "ID number of the insured."),
                _query("status", "Claim status.", enum(CLAIM_STATUSES)),
                _query("handler", "Handler (经办人)."),
                _query("due_before", "Open claims with a clock due on or before this date, "
                                     "nearest first.", {"type": "string", "format": "date"}),
                _query("breached", "Open claims with (true) or without (false) a late clock.",
                       enum(["true", "false"])),
                _query("limit", "At most this many (1–500, default 200).",
                       {"type": "string", "pattern": "^[0-9]{1,3}$"}),
            ]),
        },
        "/claims/{claim_no}": {"get": op("One claim", "claims", "getClaim", "Claim",
                                         params=[claim_no], errors=("404",))},
        "/claims/{claim_no}/progress": {"get": op(
            "Progress of a claim, for the customer", "claims", "getClaimProgress",
            "ClaimProgress", params=[claim_no], errors=("404",))},
        "/claims/{claim_no}/documents": {"post": upload},
        "/claims/{claim_no}/documents/{document_id}": {"get": op(
            "A claim document with what OCR read on it", "claims", "getClaimDocument",
            "ClaimDocumentReading",
            params=[claim_no, _param("document_id", "path", "Document id (from the upload).")],
            errors=("404",))},
        "/claims/{claim_no}/transitions": {"post": op(
            "A staff action on a claim", "claims", "transitionClaim", "Claim",
            body="ClaimTransition", params=[claim_no], errors=("404", "409", "422"))},
        "/claims/{claim_no}/letters/{letter_no}": {"get": letter},
        "/adjudication/preview": {"post": op(
            "Adjudication preview (理算试算)", "claims", "previewAdjudication",
            "AdjudicationPreview", body="AdjudicationPreviewRequest", errors=("404",))},
        "/stats/claims": {"get": op("Claims statistics", "stats", "getClaimStats",
                                    "ClaimStats", params=window)},
        "/stats/claims/charts": {"get": charts},
    }


# ---- complaints, home visits, satisfaction ----------------------------------------------------

def _desk_schemas() -> dict[str, Schema]:
    status = enum(COMPLAINT_STATUSES)
    clock = obj({"due": DATE, "days_left": {"type": "integer"}, "breached": {"type": "boolean"},
                 "warn": {"type": "boolean"}, "track": enum(["standard", "complex", "extended"]),
                 "done_on": nullable(DATE), "text": string("In Chinese."), "basis": string()},
                ["due", "days_left", "breached", "track", "text"])
    summary = {
        "complaint_no": string(), "status": status, "status_name": string(),
        "channel": enum(list(cp.CHANNELS)), "category": string(),
        "complainant": obj({"name": string(), "phone": string()}, ["name", "phone"]),
        "claim_no": nullable(string()), "policy_no": nullable(string()),
        "handler": nullable(string()), "received_on": DATE,
        "due_by": {**DATE, "description": "The decision clock's due date (rules.md §2)."},
        "clock": clock}
    visit_clock = obj({"due": TIMESTAMP, "breached": {"type": "boolean"},
                       "done_at": nullable(TIMESTAMP)}, ["due", "breached"])
    return {
        "ComplaintIntake": obj({
            "channel": enum(list(cp.CHANNELS)),
            "user": string("The channel's user id (openid, caller number), to answer there.",
                           maxLength=80),
            "complainant": obj({"name": string(), "phone": string()}, ["name", "phone"]),
            "category": string(
                "A code (" + ", ".join(cp.CATEGORIES) + ") or the channel's own words.",
                maxLength=40),
            "description": string(maxLength=4000),
            "claim_no": string(maxLength=30), "policy_no": string(maxLength=30)},
            ["channel", "complainant", "category", "description"]),
        "ComplaintSummary": obj(summary, ["complaint_no", "status", "due_by", "clock"]),
        "Complaint": obj({
            **summary, "description": string(), "decision": nullable(string()),
            "outcome": nullable(enum(list(cp.OUTCOMES))), "decided_on": nullable(DATE),
            "told_on": nullable(DATE), "told_via": nullable(string()),
            "satisfaction": nullable({"type": "integer", "minimum": 1, "maximum": 5}),
            "extension_approved_by": nullable(string()), "escalated_on": nullable(DATE),
            "closed_on": nullable(DATE), "reopen_count": {"type": "integer"},
            "allowed_actions": array(string()),
            "timeline": array(obj({"at": TIMESTAMP, "action": string(), "status": status,
                                   "actor": string(), "note": nullable(string())},
                                  ["at", "action", "status", "actor"]))},
            ["complaint_no", "status", "due_by", "clock", "timeline"]),
        "ComplaintList": obj({"items": array(ref("ComplaintSummary"))}, ["items"]),
        "ComplaintTransition": obj({
            "action": enum(list(complaints_service.ACTIONS)), "actor": ACTOR,
            "handler": string("assign: the complaint handler."),
            "note": string("note: the investigation note; reopen: the appeal."),
            "track": enum(["standard", "complex"]),
            "approved_by": string("extend: the approving supervisor (a desk user)."),
            "decision": string(), "outcome": enum(list(cp.OUTCOMES)),
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "via": string("notify: how the complainant was told.")},
            ["action", "actor"]),
        "HomeVisitRequest": obj({
            "channel": enum(list(home_visits_service.CHANNELS)), "name": string(),
            "phone": string(), "address": string(maxLength=200), "reason": string(),
            "id_number": string(), "preferred_time": string(maxLength=100),
            "user": string(maxLength=80)},
            ["channel", "name", "phone", "address", "reason"]),
        "HomeVisit": obj({
            "visit_no": string(), "status": enum(list(home_visits_service.STATUSES)),
            "status_name": string(), "channel": string(), "name": string(), "phone": string(),
            "id_number": nullable(string()), "address": string(), "reason": string(),
            "preferred_time": nullable(string()), "requested_at": TIMESTAMP,
            "contact_by": TIMESTAMP, "visit_by": TIMESTAMP, "assigned_to": nullable(string()),
            "scheduled_for": nullable(TIMESTAMP), "contacted_at": nullable(TIMESTAMP),
            "visited_at": nullable(TIMESTAMP), "note": nullable(string()),
            "clocks": obj({"home_visit_contact": visit_clock, "home_visit": visit_clock})},
            ["visit_no", "status", "contact_by", "visit_by"]),
        "HomeVisitList": obj({"items": array(ref("HomeVisit"))}, ["items"]),
        "HomeVisitTransition": obj({
            "action": enum(list(home_visits_service.ACTIONS)), "actor": ACTOR,
            "handler": string(), "time": {**TIMESTAMP, "description": "schedule: the visit."},
            "note": string()}, ["action", "actor"]),
        "SatisfactionRating": obj({
            "subject_type": enum(list(satisfaction_service.SUBJECT_TYPES)),
            "subject_id": string(maxLength=40),
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "channel": enum(list(satisfaction_service.RATING_CHANNELS)),
            "comment": string(maxLength=1000)},
            ["subject_type", "subject_id", "score", "channel"]),
        "Satisfaction": obj({
            "subject_type": string(), "subject_id": string(),
            "score": {"type": "integer", "minimum": 1, "maximum": 5}, "channel": string(),
            "comment": nullable(string()), "agent": nullable(string()),
            "queue": nullable(string()), "rated_at": nullable(TIMESTAMP)},
            ["subject_type", "subject_id", "score"]),
        "SatisfactionStats": obj({k: array(obj({
            "name": string(), "ratings": {"type": "integer"}, "asked": {"type": "integer"},
            "average": nullable({"type": "number"})}, ["name", "ratings", "average"]))
            for k in ("by_agent", "by_queue", "by_agent_queue")}, ["by_agent", "by_queue"],
            "by_agent_queue: the agents' ratings per agents' queue of the rated conversation."),
    }


def _desk_paths() -> dict[str, Any]:
    complaint_no = _param("complaint_no", "path", "Complaint number.")
    visit_no = _param("visit_no", "path", "Home visit number.")
    return {
        "/complaints": {
            "post": op("Take a complaint (投诉受理)", "complaints", "intakeComplaint",
                       "Complaint", status="201", body="ComplaintIntake", errors=("404",),
                       writes=True),
            "get": op("Find complaints (nearest due first)", "complaints", "findComplaints",
                      "ComplaintList", params=[
                          _query("status", "Complaint status.", enum(COMPLAINT_STATUSES)),
                          _query("handler", "Handler."), _query("claim_no", "Linked claim."),
                          _query("q", "Number, name or words of the description."),
                          _query("open", "Only complaints whose clock runs.",
                                 enum(["true", "false"])),
                          _query("breached", "Open complaints past (true) or within (false) "
                                             "their due date.", enum(["true", "false"]))]),
        },
        "/complaints/{complaint_no}": {"get": op(
            "One complaint", "complaints", "getComplaint", "Complaint", params=[complaint_no],
            errors=("404",))},
        "/complaints/{complaint_no}/transitions": {"post": op(
            "A staff step on a complaint", "complaints", "transitionComplaint", "Complaint",
            body="ComplaintTransition", params=[complaint_no], errors=("404", "409", "422"))},
        "/home-visits": {
            "post": op("Request a home visit (上门服务)", "home-visits", "requestHomeVisit",
                       "HomeVisit", status="201", body="HomeVisitRequest", writes=True),
            "get": op("Open home visits, nearest contact deadline first", "home-visits",
                      "findHomeVisits", "HomeVisitList"),
        },
        "/home-visits/{visit_no}": {"get": op(
            "One home visit", "home-visits", "getHomeVisit", "HomeVisit", params=[visit_no],
            errors=("404",))},
        "/home-visits/{visit_no}/transitions": {"post": op(
            "A staff step on a home visit", "home-visits", "transitionHomeVisit", "HomeVisit",
            body="HomeVisitTransition", params=[visit_no], errors=("404", "422"))},
        "/satisfaction": {"post": op(
            "A customer's 1–5 rating", "satisfaction", "rateService", "Satisfaction",
            status="201", body="SatisfactionRating", errors=("404", "409"))},
        "/stats/satisfaction": {"get": op(
            "Ratings per agent and per queue", "stats", "getSatisfactionStats",
            "SatisfactionStats")},
    }


@cache
# ---- conversations (the agents' API) ------------------------------------------------------------

def _conversation_schemas() -> dict[str, Schema]:
    states = ["bot", "queued", "agent", "closed"]
    conversation = obj({
        "id": {"type": "integer"},
        "channel": enum(["wechat", "ivr", "web"]),
        "user": string("The user on the channel: openid, caller number or web id."),
        "state": enum(states, "Who owns the conversation."),
        "queue": enum(list(QUEUES), "The agents' queue it waits in or was last routed to: "
                      "general, claims, complaints or elderly (phone callers)."),
        "agent": nullable(string("The agent who has it.")),
        "handoff_reason": nullable(string("Why the bot handed it off (user_request, fallback, "
                                          "anger, complaint, backoffice_down, unsure, "
                                          "bot_unavailable, no_input).")),
        "handoff_summary": nullable(obj({"text": string("For the agent, in Chinese.")})),
        "disposition": nullable(string()),
        "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
        "last_user_at": nullable(TIMESTAMP),
    }, ["id", "channel", "user", "state"], "One user's conversation on one channel.")
    line = obj({"role": enum(["user", "bot", "agent", "system"]), "author": nullable(string()),
                "text": string(), "payload": nullable(obj({})), "at": TIMESTAMP},
               ["role", "text", "at"])
    detail = dict(conversation)
    detail["properties"] = {**conversation["properties"], "messages": array(line)}
    return {
        "Conversation": conversation,
        "ConversationDetail": detail,
        "ConversationList": obj({"items": array(ref("Conversation"))}, ["items"]),
        "ConversationHandback": {**conversation, "properties": {
            **conversation["properties"],
            "delivered": {"type": "boolean", "description": "The bot's answer reached the user."}}},
        "AgentTake": obj({"agent": string(maxLength=60)}, ["agent"]),
        "AgentMessage": obj({"agent": string(maxLength=60), "text": string(maxLength=4000)},
                            ["agent", "text"]),
        "AgentMessageReceipt": obj({"conversation_id": {"type": "integer"},
                                    "delivered": {"type": "boolean"}},
                                   ["conversation_id", "delivered"]),
        "AgentHandback": obj({"agent": string(maxLength=60)}),
        "ConversationTransfer": obj({
            "agent": string(maxLength=60),
            "target": string("An agent's username, `queue` (back into its queue) or "
                             "`queue:<name>` (into the agents' queue <name>).", maxLength=80)},
            ["target"]),
        "ConversationTransferred": obj({
            "id": {"type": "integer"}, "state": enum(["queued", "agent"]),
            "agent": nullable(string()), "queue": enum(list(QUEUES))},
            ["id", "state", "agent", "queue"]),
        "ConversationClose": obj({"disposition": string(maxLength=60)}, ["disposition"]),
        "ConversationClosed": {**conversation, "properties": {
            **conversation["properties"],
            "satisfaction_asked": {"type": "boolean", "description": "The customer was asked "
                                   "for a 1–5 rating on their channel."}}},
    }


def _conversation_paths() -> dict[str, Any]:
    cid = _param("conversation_id", "path", "Conversation id.")
    return {
        "/conversations": {"get": op(
            "Conversations by state: the agents' queue", "conversations", "listConversations",
            "ConversationList", params=[
                _query("state", "bot, queued, agent or closed.",
                       enum(["bot", "queued", "agent", "closed"])),
                _query("queue", "The agents' queue: general, claims, complaints or elderly.",
                       enum(list(QUEUES)))], errors=("400",))},
        "/conversations/{conversation_id}": {"get": op(
            "One conversation with its transcript", "conversations", "getConversation",
            "ConversationDetail", params=[cid], errors=("404",))},
        "/conversations/{conversation_id}/take": {"post": op(
            "An agent takes the conversation", "conversations", "takeConversation",
            "Conversation", body="AgentTake", params=[cid], errors=("404", "409"))},
        "/conversations/{conversation_id}/messages": {"post": op(
            "An agent's message, delivered through the conversation's channel",
            "conversations", "postAgentMessage", "AgentMessageReceipt", status="201",
            body="AgentMessage", params=[cid], errors=("404", "409"))},
        "/conversations/{conversation_id}/handback": {"post": op(
            "Hand the conversation back to the bot", "conversations", "handbackConversation",
            "ConversationHandback", body="AgentHandback", body_required=False, params=[cid],
            errors=("404", "409"))},
        "/conversations/{conversation_id}/transfer": {"post": op(
            "Transfer to another agent, back to its queue or into another queue",
            "conversations", "transferConversation", "ConversationTransferred",
            body="ConversationTransfer", params=[cid], errors=("404", "409"))},
        "/conversations/{conversation_id}/close": {"post": op(
            "Close the conversation and ask the customer for a rating", "conversations",
            "closeConversation", "ConversationClosed",
            body="ConversationClose", params=[cid], errors=("404", "409"))},
    }


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Xiaobao back office API",
            "version": "1",
            "description": "Policies, endorsements, group schemes, parties, outlets, the "
                           "audit log, claims and claims statistics. Money is a decimal "
                           "string, dates are YYYY-MM-DD.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": t} for t in ("meta", "products", "policies", "parties", "group",
                                       "outlets", "audit", "claims", "stats", "notifications",
                                       "complaints", "home-visits", "satisfaction",
                                       "endorsement-requests",
                                       "conversations", "bindings", "auth")],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "The service token (XIAOBAO_API_TOKEN): every right. Or a "
                               "staff member's token from POST /auth/token: what their "
                               "role allows, personal data masked unless the role needs "
                               "it, and writes made as that staff member."}},
            "parameters": {"Actor": {
                "name": "X-Actor", "in": "header", "required": False,
                "description": "Who acts, when the body does not say (`actor`).",
                "schema": {"type": "string", "maxLength": 60}}},
            "responses": {
                f"E{code}": {"description": text, "content": _json(ref("Error"))}
                for code, text in ERRORS.items()
            },
            "schemas": {**_schemas(), **_conversation_schemas()},
        },
    }


# ---- endorsement requests (保全申请) -------------------------------------------------------------

def _endorsement_request_schemas() -> dict[str, Schema]:
    beneficiary = obj({"name": string(maxLength=40), "relation": enum(RELATIONS),
                       "id_number": nullable(string("Masked in answers; may come later, from "
                                                    "the signed form.")),
                       "share_pct": {"type": "integer", "minimum": 1, "maximum": 100}},
                      ["name", "relation"])
    details = obj({"beneficiaries": array(beneficiary, minItems=1, maxItems=10),
                   "phone": string(), "address": string(maxLength=200),
                   "coverage_code": string(), "sum_insured": ref("AmountInput"),
                   "effective_date": DATE},
                  description="The endorsement asked for, as POST /policies/{no}/endorsements "
                              "takes it (without `kind`). Shares left out are split equally.")
    summary = {
        "request_no": string("BQ + year + 6 digits."), "status": enum(list(er.STATUSES)),
        "status_name": string(), "kind": enum(ENDORSEMENT_KINDS), "kind_name": string(),
        "policy_no": string(), "channel": enum(list(er.CHANNELS)), "submitted_at": TIMESTAMP,
        "due_by": {**DATE, "description": "Decided within 5 working days (our promise)."},
        "clock": obj({"due": DATE, "breached": {"type": "boolean"}, "done_on": nullable(DATE),
                      "text": string("In Chinese."), "basis": string()},
                     ["due", "breached", "text"])}
    return {
        "EndorsementRequestSubmit": obj({
            "channel": enum(list(er.CHANNELS)), "policy_no": string(maxLength=30),
            "kind": enum(ENDORSEMENT_KINDS), "details": details,
            "user": string("The channel's user id, to tell the decision there.",
                           maxLength=80),
            "note": string(maxLength=2000), "actor": ACTOR},
            ["channel", "policy_no", "kind"]),
        "EndorsementRequestSummary": obj(summary, ["request_no", "status", "kind",
                                                   "policy_no", "due_by"]),
        "EndorsementRequestView": obj({
            **summary, "details": details,
            "missing": array(string(), description="Fields staff must fill before approval."),
            "note": nullable(string()), "decided_on": nullable(DATE),
            "decided_by": nullable(string()), "reason": nullable(string()),
            "endorsement_no": nullable(string("The endorsement an approval applied.")),
            "allowed_actions": array(enum(list(er.ACTIONS))),
            "timeline": array(obj({"at": TIMESTAMP, "action": string(), "actor": string(),
                                   "status": nullable(string())}, ["at", "action", "actor"]))},
            ["request_no", "status", "kind", "policy_no", "due_by", "details", "timeline"]),
        "EndorsementRequestList": obj({"items": array(ref("EndorsementRequestSummary"))},
                                      ["items"]),
        "EndorsementRequestTransition": obj({
            "action": enum(list(er.ACTIONS)), "actor": ACTOR,
            "reason": string("reject: told to the customer.", maxLength=1000),
            "details": {**details, "description": "approve: what the signed form completes "
                                                  "(e.g. the beneficiaries' ID numbers)."},
            "note": string(maxLength=2000)}, ["action", "actor"]),
    }


def _endorsement_request_paths() -> dict[str, Any]:
    request_no = _param("request_no", "path", "Endorsement request number (BQ…).")
    return {
        "/endorsement-requests": {
            "post": op("Ask for an endorsement staff decide (保全申请)", "endorsement-requests",
                       "submitEndorsementRequest", "EndorsementRequestView", status="201",
                       body="EndorsementRequestSubmit", errors=("404", "422"), writes=True),
            "get": op("Endorsement requests, nearest due first", "endorsement-requests",
                      "findEndorsementRequests", "EndorsementRequestList", params=[
                          _query("status", "Request status.", enum(list(er.STATUSES))),
                          _query("policy_no", "Policy number."),
                          _query("kind", "Endorsement kind.", enum(ENDORSEMENT_KINDS)),
                          _query("limit", "1–1000, default 200")]),
        },
        "/endorsement-requests/{request_no}": {"get": op(
            "One endorsement request", "endorsement-requests", "getEndorsementRequest",
            "EndorsementRequestView", params=[request_no], errors=("404",))},
        "/endorsement-requests/{request_no}/transitions": {"post": op(
            "Approve (applies the endorsement), reject with a reason, or withdraw",
            "endorsement-requests", "transitionEndorsementRequest", "EndorsementRequestView",
            body="EndorsementRequestTransition", params=[request_no],
            errors=("404", "409", "422"))},
    }


def _binding_schemas() -> dict[str, Schema]:
    return {
        "BindingRequest": obj(
            {"channel": enum(["wechat", "ivr", "web"]),
             "user": string("openid, caller number or web id", maxLength=128),
             "id_number": string("18-character resident ID number"),
             "phone": string("Phone on file (this or policy_no)"),
             "policy_no": string("One of the party's policy numbers (this or phone)")},
            ["channel", "user", "id_number"], "Identify a channel user as a party."),
        "Binding": obj(
            {"party": obj({"name_masked": string(), "id_number_masked": string(),
                           "phone_masked": nullable(string())},
                          ["name_masked", "id_number_masked", "phone_masked"]),
             "policies": array(string("Policy number")),
             "open_claims": array(string("Report number, newest first"))},
            ["party", "policies", "open_claims"], "The identified party, masked."),
        "Unbound": obj({"unbound": {"type": "boolean"}}, ["unbound"]),
    }


def _binding_paths() -> dict[str, Any]:
    channel = _param("channel", "path", "wechat, ivr or web.")
    user = _param("user", "path", "openid, caller number or web id.")
    return {
        "/bindings": {"post": op(
            "Identify a channel user (ID number plus phone or policy number)", "bindings",
            "createBinding", "Binding", body="BindingRequest", errors=("403", "429"))},
        "/bindings/{channel}/{user}": {
            "get": op("The party a channel user is bound to (ivr: else by caller phone)",
                      "bindings", "getBinding", "Binding", params=[channel, user],
                      errors=("404",)),
            "delete": op("Unbind a channel user", "bindings", "deleteBinding", "Unbound",
                         params=[channel, user], errors=("404",))},
    }


def _auth_schemas() -> dict[str, Schema]:
    return {
        "TokenRequest": obj({"username": string(maxLength=40), "password": string(maxLength=200)},
                            ["username", "password"], "A desk account's username and password."),
        "StaffToken": obj({
            "access_token": string("Send as `Authorization: Bearer …`; kept only hashed."),
            "token_type": enum(["Bearer"]),
            "expires_at": TIMESTAMP,
            "expires_in": {"type": "integer", "description": "Seconds the token lives "
                                                             "(XIAOBAO_STAFF_TOKEN_TTL_MINUTES)."},
            "staff": obj({"username": string(), "display_name": string(), "role": string(),
                          "role_name": string()}, ["username", "display_name", "role"]),
        }, ["access_token", "token_type", "expires_at", "expires_in", "staff"]),
        "TokenRevoked": obj({"revoked": {"type": "boolean"}}, ["revoked"]),
    }


def _auth_paths() -> dict[str, Any]:
    sign_in = op("A staff member signs in: a bearer token that expires", "auth",
                 "createStaffToken", "StaffToken", status="201", body="TokenRequest",
                 errors=("429",))
    sign_in["security"] = []
    sign_in["description"] = (
        "The desk's accounts and passwords. A wrong password, an unknown user and a disabled "
        "account get the same 401 (`invalid_credentials`); after repeated failures for a "
        "username it is refused for a while (429).")
    sign_in["responses"].pop("403")
    return {"/auth/token": {
        "post": sign_in,
        "delete": op("Sign out: the staff token presented stops working", "auth",
                     "revokeStaffToken", "TokenRevoked")}}


def openapi_document() -> dict[str, Any]:
    """The document; a fresh copy, so callers may change it."""
    return copy.deepcopy(_document())

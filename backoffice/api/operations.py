"""Every operation of /api/v1, declared once: the table the routes, the permission check, the
OpenAPI document and the desk's checks are derived from (backoffice.api.declare).

To add an operation: write the use case `fn(db, cmd, actor)` with its command (a
`services.commands.Command`, `@takes` on the use case), then one `Operation` row here naming its
method, path, permission (backoffice.domain.staff.PERMISSIONS) and answer type
(backoffice.api.answers). Path and query parameters are fields of the command.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from backoffice.api import answers as a
from backoffice.api import conversations as conv_ops
from backoffice.api import endpoints as ep
from backoffice.api import privacy_ops
from backoffice.api.channel_ops import CHANNEL_OPERATIONS
from backoffice.api.declare import ANY_STAFF, PUBLIC, Nothing, Operation, answer_as
from backoffice.api.openapi import document_of
from backoffice.domain import access_log as al
from backoffice.domain import staff as roles
from backoffice.services import (
    agent_desk,
    appeals,
    audit_log,
    bindings,
    claims,
    complaints,
    consents,
    conversations,
    coverage_checks,
    customer_answers,
    customer_cases,
    customer_claims,
    endorsement_requests,
    endorsements,
    group,
    handler_stats,
    home_visits,
    lookup,
    notifications,
    outlets,
    parties,
    policies,
    privacy_access,
    privacy_requests,
    risk_review,
    satisfaction,
    scheme,
    search,
    tasks,
    work_queues,
)

NOT_FOUND, CONFLICT, UNPROCESSABLE, TOO_MANY = 404, 409, 422, 429


def _authorize_claim_step(actor: roles.Actor, cmd: claims.ClaimTransition) -> None:
    roles.authorize_claim_step(actor, cmd.action)


def _authorize_complaint_step(actor: roles.Actor, cmd: Any) -> None:
    roles.authorize_complaint_step(actor, cmd.action)


def openapi_document() -> dict[str, Any]:
    """The API document of this table; a fresh copy, so callers may change it."""
    return copy.deepcopy(_document())


@cache
def _document() -> dict[str, Any]:
    return document_of(OPERATIONS)


def _openapi(db: Any, cmd: Nothing, actor: roles.Actor) -> dict[str, Any]:
    return _document()


_openapi.command = Nothing  # type: ignore[attr-defined]


def _op(method: str, path: str, operation_id: str, summary: str, tag: str, permission: str,
        use_case: Any, answer: Any = None, **kw: Any) -> Operation:
    """A row of the table; the input is the use case's command unless named."""
    command = kw.pop("input", None) or getattr(use_case, "command", None)
    return Operation(method, path, operation_id, summary, tag, permission, use_case, command,
                     answer, **kw)


OPERATIONS: tuple[Operation, ...] = (
    # ---- meta and sign-in
    _op("GET", "/openapi.json", "getOpenApi", "This document", "meta", PUBLIC, _openapi,
        media="application/json"),
    _op("POST", "/auth/token", "createStaffToken",
        "A staff member signs in: a bearer token that expires", "auth", PUBLIC, ep.sign_in,
        a.StaffToken, status=201, errors=(TOO_MANY,)),
    _op("DELETE", "/auth/token", "revokeStaffToken",
        "Sign out: the staff token presented stops working", "auth", ANY_STAFF, ep.sign_out,
        a.TokenRevoked),
    # ---- products, quotes, outlets: nothing personal
    _op("GET", "/products", "listProducts", "List products", "products", "products.view",
        ep.list_products, a.ProductList),
    _op("GET", "/products/{code}", "getProduct", "One product", "products", "products.view",
        ep.get_product, a.Product, errors=(NOT_FOUND,)),
    _op("POST", "/quotes", "createQuote", "Quote a premium", "policies", "products.view",
        policies.quote_request, a.Quote, errors=(NOT_FOUND,)),
    _op("GET", "/service-outlets", "listOutlets", "Service outlets", "outlets", "products.view",
        answer_as("items", outlets.list_outlets), a.OutletList, shows=al.NOTHING),
    # ---- new business and policy administration
    _op("POST", "/applications", "createApplication", "Apply for an individual policy", "policies",
        "policies.apply", policies.apply, a.PolicyDetail, status=201,
        errors=(NOT_FOUND, CONFLICT, UNPROCESSABLE), pii_area="policies", shows="application_no"),
    _op("GET", "/applications/{application_no}", "getApplication", "One application", "policies",
        "policies.view", ep.get_application, a.PolicyDetail, errors=(NOT_FOUND,),
        pii_area="policies", shows="application_no"),
    _op("POST", "/applications/{application_no}/underwriting", "underwriteApplication",
        "Underwrite an application", "policies", "policies.underwrite", policies.run_underwriting,
        a.PolicyDetail, body_required=False, errors=(NOT_FOUND, CONFLICT), pii_area="policies",
        shows="application_no"),
    _op("POST", "/applications/{application_no}/payments", "payApplication",
        "Pay the first premium", "policies", "policies.underwrite", policies.record_payment,
        a.PolicyDetail, status=201, errors=(NOT_FOUND, UNPROCESSABLE), pii_area="policies",
        shows="application_no"),
    _op("POST", "/applications/{application_no}/issue", "issuePolicy", "Issue the policy",
        "policies", "policies.underwrite", ep.issue, a.PolicyDetail, body_required=False,
        errors=(NOT_FOUND, CONFLICT, UNPROCESSABLE), pii_area="policies", shows="application_no"),
    _op("GET", "/policies", "findPolicies", "Policies of an insured", "policies", "policies.view",
        answer_as("items", lookup.policies_for_id_number), a.PolicyList, pii_area="policies",
        shows=al.LIST),
    _op("GET", "/policies/{policy_no}", "getPolicy", "One policy", "policies", "policies.view",
        ep.get_policy, a.PolicyDetail, errors=(NOT_FOUND,), pii_area="policies",
        shows="policy_no"),
    _op("POST", "/policies/{policy_no}/payments", "payPolicy", "Pay the next premium", "policies",
        "policies.underwrite", policies.record_payment, a.PolicyDetail, status=201,
        errors=(NOT_FOUND, UNPROCESSABLE), pii_area="policies", shows="policy_no"),
    _op("POST", "/policies/{policy_no}/transitions", "transitionPolicy",
        "Move a policy along its lifecycle", "policies", "policies.underwrite", policies.transition,
        a.PolicyDetail, errors=(NOT_FOUND, CONFLICT, UNPROCESSABLE), pii_area="policies",
        shows="policy_no"),
    _op("POST", "/policies/{policy_no}/endorsements", "endorsePolicy", "Endorse a policy (保全)",
        "policies", "policies.service", endorsements.endorse, a.EndorsementResult, status=201,
        errors=(NOT_FOUND, CONFLICT, UNPROCESSABLE), pii_area="policies", shows="policy_no"),
    _op("POST", "/policies/{policy_no}/document-links/revocation", "revokeDocumentLinks",
        "Revoke every link to the policy's document given out so far (the answer has a new one)",
        "policies", "policies.underwrite", ep.revoke_document_links, a.DocumentLinksRevoked,
        body_required=False, errors=(NOT_FOUND,)),
    _op("GET", "/policies/{policy_no}/document", "getPolicyDocument",
        "Electronic policy document (HTML)", "policies", "policies.document", ep.policy_document,
        media="text/html", errors=(NOT_FOUND,), shows="policy_no"),
    _op("GET", "/parties/{id_number}", "getParty", "A party and its update history", "parties",
        "policies.view", ep.get_party, a.PartyRecord, errors=(NOT_FOUND,), pii_area="policies",
        shows="id_number"),
    _op("PATCH", "/parties/{id_number}", "updateParty", "Update a party's contact or occupation",
        "parties", "policies.service", parties.update_party, a.PartyUpdateResult,
        errors=(NOT_FOUND,), pii_area="policies", shows="id_number"),
    _op("POST", "/group-policies", "createGroupPolicy", "Create a group policy", "group",
        "policies.underwrite", group.create_group_policy, a.GroupPolicy, status=201,
        errors=(NOT_FOUND,), pii_area="policies"),
    _op("POST", "/group-policies/{policy_no}/roster", "importRoster",
        "Import a roster CSV (the request body)", "group", "policies.underwrite", ep.import_roster,
        a.RosterImportResult, errors=(NOT_FOUND, UNPROCESSABLE),
        raw_body={"text/csv": {"schema": {"type": "string"}}}, pii_area="policies",
        description="The body is the CSV file, UTF-8, header `name,gender,birth_date,"
        "id_number,phone,address`. Good rows are enrolled, bad rows reported by line and "
        "field; people already on the roster are skipped. A file that cannot be read (empty, "
        "no header, not UTF-8) changes nothing."),
    _op("POST", "/group-policies/{policy_no}/roster/removals", "removeRosterMember",
        "Take a member off the roster (death, moving away, correction) from a date", "group",
        "policies.underwrite", group.remove_member, a.RosterRemoval,
        errors=(NOT_FOUND, CONFLICT, UNPROCESSABLE), pii_area="policies",
        description="Body `{id_number, reason, date, note?}`; `reason` is `death`, "
        "`moved_away` or `correction` (or their Chinese names). The member's row stays; cover runs "
        "through `date` (an accident on the day of death is covered) and ends after it. A "
        "future date is refused. 409 naming `date` when a claim of the member for a later "
        "incident is approved or paid; undecided ones are listed in `claims_to_review`. The "
        "same reason and date again change nothing (`outcome: unchanged`); another date or "
        "reason corrects the removal, under the same checks."),
    _op("POST", "/group-policies/{policy_no}/auto-enrollment", "autoEnroll",
        "Enroll residents who reached the minimum age", "group", "policies.underwrite",
        answer_as("enrolled", group.auto_enroll), a.AutoEnrollmentResult, body_required=False,
        errors=(NOT_FOUND, UNPROCESSABLE), pii_area="policies"),
    _op("POST", "/group-policies/{policy_no}/renewal", "renewScheme",
        "Issue next year's group policy from this year's roster (续保)", "group",
        "policies.underwrite", scheme.renew, a.SchemeRenewal, status=201,
        errors=(NOT_FOUND, CONFLICT), pii_area="policies",
        description="Body `{premium_per_insured?}`: the government's per-head premium for the "
        "year (default this year's). From 90 days before the policy ends; once per policy "
        "(another is a 409). Members removed (death, moving away) or with a death claim are "
        "not carried over."),
    _op("GET", "/group-policies/{policy_no}/loss-ratio", "getLossRatio",
        "The scheme year's loss ratio and its projection", "group", "supervisor.view",
        scheme.loss_ratio, a.SchemeLossRatio, errors=(NOT_FOUND,)),
    _op("GET", "/group-policies/{policy_no}/disclosure", "getDisclosure",
        "The quarterly disclosure report (信息披露) of a scheme", "group", "supervisor.view",
        scheme.quarterly_report, a.Disclosure, errors=(NOT_FOUND,),
        description="`quarter` as YYYYQn. Insureds, claims reported in the quarter by type "
        "and town (the insured's 镇/街道), amounts, service clocks, complaints and "
        "satisfaction. The same figures as `/disclosure.html` and `/disclosure.xlsx`."),
    _op("GET", "/group-policies/{policy_no}/disclosure.html", "getDisclosureHtml",
        "The quarterly disclosure report as a page", "group", "supervisor.view",
        ep.disclosure_html, media="text/html", errors=(NOT_FOUND,)),
    _op("GET", "/group-policies/{policy_no}/disclosure.xlsx", "getDisclosureXlsx",
        "The quarterly disclosure report as a workbook", "group", "supervisor.view",
        ep.disclosure_xlsx, media=ep.XLSX, errors=(NOT_FOUND,)),
    _op("GET", "/search", "search",
        "One search across people, policies, claims, complaints and conversations",
        "search", "desk.home", search.search, a.SearchResult, export="search",
        description="`q`: a name (or its beginning), an ID number, a phone number, a policy, "
        "claim or complaint number, or a conversation's number (`#12`); at least 2 "
        "characters, at most 100. `party`: one person's everything. `limit` (≤ 50) per kind. "
        "Only the kinds the caller's role may see; ID and phone numbers masked for roles "
        "that need not see them. A search by ID or phone number is written to the audit "
        "log.", shows=al.LIST),
    _op("GET", "/audit", "getAudit", "Audit log of one entity", "audit", "audit.view",
        answer_as("items", audit_log.entries), a.AuditList, shows=al.LIST),
    # ---- who looked (个人信息访问记录): a supervisor reads; the reading is logged too
    _op("GET", "/access-log", "getAccessLog",
        "Who was shown personal data unmasked: staff, time, record, page or operation",
        "audit", "privacy.audit", privacy_access.entries, a.AccessLog,
        description="Filters `staff`, `record_kind`, `record_id`, `from`/`to` (YYYY-MM-DD, "
        "Beijing time), `limit` (≤ 500); newest first. Every display of an unmasked ID, "
        "phone or bank card number or a document image to staff is an entry, kept 3 years "
        "(the database refuses changes and earlier deletion).", shows=al.NOTHING),
    _op("GET", "/access-log/unusual", "getUnusualAccess",
        "Unusual access: per staff member and day, records opened unmasked and those "
        "without work on them", "audit", "privacy.audit", privacy_access.unusual,
        a.UnusualAccess,
        description="`from`/`to` (default the last 7 days, at most 92), `threshold` "
        "(default XIAOBAO_ACCESS_DAILY_THRESHOLD, 30). A day is flagged `over_threshold` "
        "above the threshold and `no_work` when a record was opened that was neither the "
        "staff member's nor their queue's (claim, complaint, task, conversation).",
        shows=al.NOTHING),
    # ---- requests of the data subject (查阅、复制、更正、删除): a 15-working-day clock
    _op("POST", "/privacy-requests", "createPrivacyRequest",
        "Take down a person's request to see, copy, correct or delete their data",
        "privacy", "privacy.requests", privacy_ops.create, a.PrivacyRequest, status=201,
        errors=(NOT_FOUND,),
        description="Body `{id_number, name, kind, channel, verified_by, phone?, policy_no?, "
        "id_card_checked?, details?}`. Identity as the channels check it: the name, and the "
        "phone on file (`verified_by: phone`) or one of the person's own policies "
        "(`policy_no`); at an outlet the clerk may confirm the ID card was seen "
        "(`id_card_seen` with `id_card_checked: true`). A mismatch is a 403 that does not "
        "say which part; an ID number of nobody a 404. Due 15 working days after receipt.",
        shows="privacy_request_no"),
    _op("GET", "/privacy-requests", "findPrivacyRequests",
        "Requests of the data subject, nearest due first (open by default)", "privacy",
        "privacy.requests", answer_as("items", privacy_requests.search), a.PrivacyRequestList,
        description="`status` (received, in_progress, done, refused, open, all), `kind`, "
        "`overdue` (open ones past their due date), `id_number`, `limit` (≤ 1000).",
        shows=al.LIST),
    _op("GET", "/privacy-requests/{privacy_request_no}", "getPrivacyRequest",
        "One request with its clock, steps and export link", "privacy", "privacy.requests",
        privacy_ops.get, a.PrivacyRequest, errors=(NOT_FOUND,), shows="privacy_request_no"),
    _op("POST", "/privacy-requests/{privacy_request_no}/steps", "stepPrivacyRequest",
        "A step: start, complete, refuse (with the reason) or renew the export link",
        "privacy", "privacy.requests", privacy_ops.step, a.PrivacyRequest,
        errors=(NOT_FOUND, CONFLICT),
        description="`complete` of an access or copy request opens its export "
        "(`export_url`, 7 days by default); of a correction needs `note` saying what was "
        "corrected (through `PATCH /parties/{id_number}`); of a deletion is a 409 until the "
        "retention job erases (the request stays in progress, `retention` says what is "
        "kept and until when).", shows="privacy_request_no"),
    _op("POST", "/channel/privacy-requests", "channelFilePrivacyRequest",
        "The identified customer's own request to see, copy, correct or delete their data",
        "channel", "channel.port", privacy_requests.create_for_customer, a.PrivacyRequest,
        status=201, service_actor="customer", errors=(NOT_FOUND,),
        description="Body `{channel, user, kind, details?, phone? | policy_no?}`: the person "
        "is the channel user's binding (none: 404 naming `user`), and `phone` or `policy_no` "
        "the proof the bot's identification took, checked again by the channels' rule "
        "(a mismatch: 403). A correction needs `details`. Recorded with channel `chat` "
        "(`phone` from ivr), the channel and channel user, due 15 working days after receipt. "
        "An open request of the same person and kind: that one's answer, `replay` true."),
    # ---- the outbox's dead letters
    _op("GET", "/notifications/dead", "listDeadLetters",
        "Dead-lettered notifications, newest first", "notifications", "notifications.manage",
        ep.dead_letters, a.DeadLetterList, shows=al.LIST),
    _op("POST", "/notifications/dead/requeue", "requeueDeadLetters", "Try dead letters again",
        "notifications", "notifications.manage",
        answer_as("requeued", notifications.requeue_dead), a.Requeued, body_required=False),
    # ---- claims
    _op("POST", "/claims", "reportClaim", "Report a claim (报案)", "claims", "claims.report",
        ep.report_claim, a.Claim, input=claims.ClaimReport, status=201,
        headers={"idempotency_key": "Idempotency-Key"}, service_actor="customer", also=(200,),
        errors=(NOT_FOUND, CONFLICT),
        description="The same Idempotency-Key again answers 200 with the claim it made; "
        "another body under a used key is a 409."),
    _op("GET", "/claims", "findClaims", "Find claims", "claims", "claims.lookup", ep.search_claims,
        a.ClaimList, export="claims", shows=al.LIST),
    _op("GET", "/claims/{claim_no}", "getClaim", "One claim", "claims", "claims.view", ep.get_claim,
        a.Claim, errors=(NOT_FOUND,), shows="claim_no"),
    _op("GET", "/claims/{claim_no}/progress", "getClaimProgress",
        "Progress of a claim, for the customer", "claims", "claims.lookup", ep.claim_progress,
        a.ClaimProgress, errors=(NOT_FOUND,)),
    _op("POST", "/claims/{claim_no}/documents", "uploadClaimDocument",
        "Upload a document for a claim", "claims", "claims.report", ep.upload_document,
        a.DocumentReceipt, status=201, service_actor="customer", raw_body=ep.UPLOAD_BODY,
        errors=(NOT_FOUND, 413, UNPROCESSABLE, 503),
        description="503 with Retry-After when the documents' object store does not answer; "
        "nothing is recorded then."),
    _op("GET", "/claims/{claim_no}/documents/{document_id}", "getClaimDocument",
        "A claim document with what OCR read on it", "claims", "claims.view", ep.claim_document,
        a.ClaimDocumentReading, errors=(NOT_FOUND,), shows="document_id"),
    _op("POST", "/claims/{claim_no}/transitions", "transitionClaim", "A staff action on a claim",
        "claims", "claims.work", claims.transition, a.Claim, authorize=_authorize_claim_step,
        errors=(NOT_FOUND, CONFLICT, UNPROCESSABLE)),
    _op("GET", "/claims/{claim_no}/letters/{letter_no}", "getClaimLetter",
        "A letter of the claim (text)", "claims", "claims.view", ep.claim_letter,
        media="text/plain", errors=(NOT_FOUND,), shows="claim_no"),
    _op("GET", "/risk/flags", "getRiskQueue", "The risk review queue (风险核查)", "claims",
        "claims.view", risk_review.queue, a.RiskQueue, shows=al.LIST),
    _op("POST", "/adjudication/preview", "previewAdjudication", "Adjudication preview (理算试算)",
        "claims", "claims.work", claims.preview, a.AdjudicationPreview, errors=(NOT_FOUND,)),
    _op("GET", "/stats/claims", "getClaimStats", "Claims statistics", "stats", "supervisor.view",
        ep.claim_stats, a.ClaimStats, heavy=True),
    _op("GET", "/stats/handlers", "getHandlerStats",
        "Per staff member (绩效): cases handled and decided, time to decision, SLA kept, "
        "satisfaction, complaints", "stats", "supervisor.view", handler_stats.handler_stats,
        a.HandlerStats, heavy=True,
        description="`from`/`to` (YYYY-MM-DD, default this year): claims reported in the "
        "window by their handler; days from report to decision (approval or rejection) as "
        "median and p90; the share of the claims' staff clocks met of those met or breached; "
        "ratings given in the window of the member's conversations and claims; complaints "
        "they handled and complaints about their claims."),
    _op("GET", "/stats/claims/charts", "getClaimCharts", "Claims charts (HTML with inline SVG)",
        "stats", "supervisor.view", ep.claim_charts, media="text/html", heavy=True),
    # ---- appeals of a rejection (复核申请): the customer's reasons, a clock, a supervisor decides
    _op("POST", "/claims/{claim_no}/appeals", "fileAppeal",
        "Appeal a rejection on the customer's behalf (复核申请)", "appeals", "appeals.file",
        appeals.file, a.Appeal, status=201, errors=(NOT_FOUND, CONFLICT),
        description="Only a rejected claim; `reasons` (the customer's, required) are shown to "
        "the supervisor beside the rejection's. One open appeal per claim: another is a 409."),
    _op("POST", "/channel/appeals", "channelFileAppeal",
        "The identified customer appeals the rejection of their own claim", "channel",
        "channel.port", appeals.file_for_customer, a.Appeal, status=201,
        service_actor="customer", errors=(NOT_FOUND, CONFLICT),
        description="The customer is the channel user's binding; a claim is theirs as its "
        "insured or its reporter (the binding's phone). Another's claim is a 404."),
    # ---- the customer's own steps on their claim: withdrawal, the payout bank account
    _op("POST", "/channel/claims/{claim_no}/withdrawal", "channelWithdrawClaim",
        "The identified customer withdraws their own open claim (撤案)", "channel",
        "channel.port", customer_claims.withdraw, a.CustomerClaimStep,
        service_actor="customer", errors=(NOT_FOUND, CONFLICT),
        description="A claim is theirs as its insured or its reporter; another's is a 404. "
        "Decided, paid or closed claims are a 409 with a plain answer. Already withdrawn: "
        "the same answer with `replay` true, no second step."),
    _op("POST", "/channel/claims/{claim_no}/bank-account", "channelSetClaimBankAccount",
        "The identified customer's confirmed payout bank account (收款账户)", "channel",
        "channel.port", customer_claims.set_bank_account, a.CustomerClaimStep,
        service_actor="customer", errors=(NOT_FOUND, CONFLICT),
        description="`account` typed by the customer, or `document_id` of a bank card photo "
        "of the claim read by OCR; the customer confirmed it. The same account again: "
        "`replay` true, no second step. A verified account is changed by two staff members "
        "only (409)."),
    # ---- separate consent to sensitive personal information (the bot's short notice)
    _op("GET", "/channel/consent-notice", "channelConsentNotice",
        "The short notice the bot shows before it asks for sensitive data", "channel",
        "channel.port", consents.notice, a.ConsentNotice, service_actor="bot",
        description="`channel` (query, default wechat): on `ivr` the text read aloud. The "
        "texts are settings (XIAOBAO_CONSENT_NOTICE_FILE, XIAOBAO_PRIVACY_URL)."),
    _op("GET", "/channel/consents/{channel}/{user}", "channelGetConsent",
        "The channel user's consent decision that counts", "channel", "channel.port",
        consents.current, a.Consent, service_actor="bot"),
    _op("POST", "/channel/consents", "channelRecordConsent",
        "Record a channel user's decision on the notice: given, refused or withdrawn",
        "channel", "channel.port", consents.record, a.Consent, status=201,
        service_actor="bot",
        description="`notice_version` must be the version in force and `notice_sha256` the "
        "SHA-256 of one of its texts (written or spoken); a withdrawal may also name the "
        "version and hash of the consent it withdraws. The party is the channel user's "
        "binding, when there is one (decisions made before identifying get it then)."),
    _op("GET", "/parties/{id_number}/consents", "getPartyConsents",
        "A person's decisions on the consent notice, newest first", "parties",
        "policies.view", consents.of_party, a.ConsentHistory, errors=(NOT_FOUND,),
        shows="id_number"),
    _op("GET", "/appeals", "findAppeals", "Appeals, oldest first (open by default)", "appeals",
        "appeals.view", answer_as("items", appeals.search), a.AppealList,
        export="appeals", shows=al.LIST),
    _op("GET", "/appeals/{appeal_no}", "getAppeal", "One appeal", "appeals", "appeals.view",
        appeals.get, a.Appeal, errors=(NOT_FOUND,), shows="appeal_no"),
    _op("POST", "/appeals/{appeal_no}/decision", "decideAppeal",
        "A claims supervisor decides: uphold (with a note) or reopen the claim", "appeals",
        "appeals.decide", appeals.decide, a.Appeal, authorize=appeals.authorize_decision,
        errors=(NOT_FOUND, CONFLICT), description="Whoever took the rejection does not decide "
        "its appeal (403). The customer is told the result; `reopen` runs the claim's reopen "
        "step (back to under_review)."),
    # ---- complaints, home visits, satisfaction
    _op("POST", "/complaints", "intakeComplaint", "Take a complaint (投诉受理)", "complaints",
        "complaints.create", complaints.intake, a.Complaint, status=201, service_actor="customer",
        errors=(NOT_FOUND,), shows="complaint_no"),
    _op("GET", "/complaints", "findComplaints", "Find complaints (nearest due first)", "complaints",
        "complaints.view", answer_as("items", complaints.search), a.ComplaintList,
        export="complaints", shows=al.LIST),
    _op("GET", "/complaints/{complaint_no}", "getComplaint", "One complaint", "complaints",
        "complaints.view", complaints.get, a.Complaint, errors=(NOT_FOUND,),
        shows="complaint_no"),
    _op("POST", "/complaints/{complaint_no}/transitions", "transitionComplaint",
        "A staff step on a complaint", "complaints", "complaints.act", complaints.transition,
        a.Complaint, authorize=_authorize_complaint_step,
        errors=(NOT_FOUND, CONFLICT, UNPROCESSABLE), shows="complaint_no"),
    _op("POST", "/home-visits", "requestHomeVisit", "Request a home visit (上门服务)",
        "home-visits",
        "home_visits.work", home_visits.request, a.HomeVisit, status=201, service_actor="customer",
        errors=(), pii_area="home_visits", shows="visit_no"),
    _op("GET", "/home-visits", "findHomeVisits", "Open home visits, nearest contact deadline first",
        "home-visits", "home_visits.view", answer_as("items", home_visits.search),
        a.HomeVisitList, pii_area="home_visits", export="home_visits", shows=al.LIST),
    _op("GET", "/home-visits/{visit_no}", "getHomeVisit", "One home visit", "home-visits",
        "home_visits.view", home_visits.get, a.HomeVisit, errors=(NOT_FOUND,),
        pii_area="home_visits", shows="visit_no"),
    _op("POST", "/home-visits/{visit_no}/transitions", "transitionHomeVisit",
        "A staff step on a home visit", "home-visits", "home_visits.work", home_visits.transition,
        a.HomeVisit, errors=(NOT_FOUND, UNPROCESSABLE), pii_area="home_visits", shows="visit_no"),
    _op("POST", "/satisfaction", "rateService", "A customer's 1–5 rating", "satisfaction",
        "satisfaction.record", satisfaction.record, a.Satisfaction, status=201,
        errors=(NOT_FOUND, CONFLICT), service_actor="customer"),
    _op("GET", "/stats/satisfaction", "getSatisfactionStats",
        "Ratings per agent, queue, claim type, age band and town",
        "stats", "supervisor.view", ep.satisfaction_stats, a.SatisfactionStats),
    _op("GET", "/tasks", "findTasks", "Work queues: open tasks of every kind, oldest due first",
        "tasks", "tasks.view", answer_as("items", tasks.search), a.WorkTaskList, export="tasks",
        pii_area="follow_ups",
        description="`kind` (follow_up, registration_review, claim_review, deadline_warning, "
        "escalation, complaint_escalation, low_score, loss_ratio_alert), `status` (open, done, "
        "all), `assigned_to` (a username, or `none` for tasks nobody owns), `mine` (the "
        "caller's own queue), `overdue`, `limit` (≤ 500).", shows=al.LIST),
    _op("GET", "/tasks/{task_id}", "getTask", "One task with what its action needs", "tasks",
        "tasks.view", tasks.get, a.WorkTaskDetail, errors=(NOT_FOUND,), pii_area="follow_ups",
        description="A registration review (问题件) lists its failed checks and the claim's "
        "allowed steps; it is closed by the claim's `register_anyway` (a supervisor, with a "
        "reason) or `decline_registration` (with reasons for the letter), which record the "
        "task's outcome.", shows="task_id"),
    _op("POST", "/tasks/{task_id}/take", "takeTask", "Take a task as its owner", "tasks",
        "tasks.take", tasks.take, a.WorkTask, body_required=False,
        errors=(NOT_FOUND, CONFLICT), pii_area="follow_ups",
        description="Taking one's own task again changes nothing. A task another staff member "
        "owns, or a done one: 409 (a supervisor reassigns it).", shows="task_id"),
    _op("POST", "/tasks/{task_id}/assignment", "assignTask",
        "A supervisor gives a task to a named staff member", "tasks", "tasks.assign",
        tasks.assign, a.WorkTask, errors=(NOT_FOUND, CONFLICT), pii_area="follow_ups",
        description="Body `{assigned_to}`: an active staff member's username (else 400). A "
        "done task: 409. Audited with the owner before and after.", shows="task_id"),
    _op("POST", "/tasks/{task_id}/close", "closeTask",
        "Close a task that has no step of its own, with what was done", "tasks", "claims.work",
        tasks.close, a.WorkTask, errors=(NOT_FOUND, CONFLICT),
        description="A 回访 is closed by its result (/follow-ups/{task_id}/result) and a "
        "registration review by the claim's step: both 400. A done task: 409.", shows="task_id"),
    _op("GET", "/queues/documents-overdue", "findDocumentsOverdue",
        "Claims still missing documents past the reminder clock, longest waiting first",
        "tasks", "claims.view", answer_as("items", work_queues.documents_overdue),
        a.DocumentsOverdueList,
        description="`after`: `second` (default: past the 10-working-day reminder) or `first` "
        "(past the 5-working-day one). Derived from the claims' requirements: a document "
        "received takes the claim off at once.", shows=al.LIST),
    _op("GET", "/queues/approvals", "findApprovalsWaiting",
        "Claims waiting for approval, by the authority level their amount needs", "tasks",
        "claims.view", work_queues.approvals_waiting, a.ApprovalsWaiting,
        description="`level` (adjuster, supervisor, branch_head) narrows to one level. Each "
        "claim names who may approve it: active staff whose authority covers the amount, "
        "never one who took a deciding step (four eyes: they are listed under `barred`).",
        shows=al.LIST),
    _op("POST", "/follow-ups/{task_id}/result", "recordFollowUpResult",
        "The result of a 回访 (follow-up) call: reached, not reached or a complaint raised",
        "satisfaction", "satisfaction.record", customer_answers.record_follow_up,
        a.FollowUpTask, errors=(NOT_FOUND, CONFLICT),
        description="A customer's own reply to the 回访 question (WeChat, web chat, SMS) is "
        "recorded on its task without staff; this records a call's result. A done task is "
        "never overwritten (409)."),
    # ---- endorsement requests (保全申请): taken down for a customer, decided by underwriters
    _op("POST", "/endorsement-requests", "submitEndorsementRequest",
        "Ask for an endorsement staff decide (保全申请)", "endorsement-requests",
        "policies.service",
        endorsement_requests.submit, a.EndorsementRequestView, status=201, service_actor="customer",
        errors=(NOT_FOUND, UNPROCESSABLE), pii_area="policies", shows="request_no"),
    _op("GET", "/endorsement-requests", "findEndorsementRequests",
        "Endorsement requests, nearest due first", "endorsement-requests", "policies.view",
        answer_as("items", endorsement_requests.search), a.EndorsementRequestList,
        pii_area="policies", shows=al.LIST),
    _op("GET", "/endorsement-requests/{request_no}", "getEndorsementRequest",
        "One endorsement request", "endorsement-requests", "policies.view",
        endorsement_requests.get, a.EndorsementRequestView, errors=(NOT_FOUND,),
        pii_area="policies", shows="request_no"),
    _op("POST", "/endorsement-requests/{request_no}/transitions", "transitionEndorsementRequest",
        "Approve (applies the endorsement), reject with a reason, or withdraw",
        "endorsement-requests", "endorsement_requests.work", endorsement_requests.transition,
        a.EndorsementRequestView, errors=(NOT_FOUND, CONFLICT, UNPROCESSABLE), pii_area="policies",
        shows="request_no"),
    # ---- handed-off conversations
    _op("GET", "/conversations", "listConversations",
        "Conversations: the agents' queue, and the history (closed ones too)",
        "conversations", "handoff.view", conv_ops.list_conversations, a.ConversationList,
        export="conversations",
        description="`state` (bot, queued, agent, closed), `queue`, `channel`, `phone` (the "
        "customer's number: called or written from, given, or of the person a channel user "
        "is bound to), `order` (`oldest` activity first, the queue's order; `newest` for the "
        "history), `limit` (≤ 500).", shows=al.LIST),
    _op("GET", "/conversations/{conversation_id}", "getConversation",
        "One conversation with its transcript", "conversations", "handoff.view",
        conversations.get_conversation, a.ConversationDetail, errors=(NOT_FOUND,),
        shows="conversation_id"),
    _op("POST", "/conversations/{conversation_id}/take", "takeConversation",
        "An agent takes the conversation", "conversations", "handoff.work", conversations.take,
        a.Conversation, errors=(NOT_FOUND, CONFLICT)),
    _op("POST", "/conversations/{conversation_id}/messages", "postAgentMessage",
        "An agent's message, delivered through the conversation's channel", "conversations",
        "handoff.work", conv_ops.post_message, a.AgentMessageReceipt, status=201,
        errors=(NOT_FOUND, CONFLICT)),
    _op("POST", "/conversations/{conversation_id}/handback", "handbackConversation",
        "Hand the conversation back to the bot", "conversations", "handoff.work", conv_ops.handback,
        a.ConversationHandback, body_required=False, errors=(NOT_FOUND, CONFLICT)),
    _op("POST", "/conversations/{conversation_id}/transfer", "transferConversation",
        "Transfer to another agent, back to its queue or into another queue", "conversations",
        "handoff.work", agent_desk.transfer, a.ConversationTransferred,
        errors=(NOT_FOUND, CONFLICT)),
    _op("POST", "/conversations/{conversation_id}/close", "closeConversation",
        "Close the conversation and ask the customer for a rating", "conversations", "handoff.work",
        conv_ops.close, a.ConversationClosed, errors=(NOT_FOUND, CONFLICT)),
    # ---- channel bindings (who a WeChat user or caller is)
    _op("POST", "/bindings", "createBinding",
        "Identify a channel user (ID number plus phone or policy number; on the phone, the "
        "caller's number plus the ID number's last 6 or a policy number)", "bindings",
        "bindings.manage", bindings.bind, a.Binding, service_actor="bot", errors=(TOO_MANY,)),
    _op("GET", "/bindings/{channel}/{user}", "getBinding",
        "The party a channel user proved to be", "bindings",
        "bindings.manage", bindings.get, a.Binding, errors=(NOT_FOUND,)),
    _op("DELETE", "/bindings/{channel}/{user}", "deleteBinding", "Unbind a channel user",
        "bindings", "bindings.manage", bindings.unbind, a.Unbound, service_actor="bot",
        errors=(NOT_FOUND,)),
    _op("GET", "/bindings/{channel}/{user}/cases", "getCustomerCases",
        "The identified customer's own cases: claims of the last 2 years, complaints, home "
        "visits and endorsement requests, in plain words", "bindings", "bindings.manage",
        customer_cases.cases, a.CustomerCases, errors=(NOT_FOUND,)),
    # ---- "is my mother covered?": yes or no for one product, counted like a guess
    _op("POST", "/coverage-checks", "checkCoverage",
        "Whether the person with an ID number is covered today by a product: yes or no, "
        "nothing else; the channel user is not bound to them", "bindings", "bindings.manage",
        coverage_checks.check, a.CoverageAnswer, service_actor="bot",
        errors=(NOT_FOUND, TOO_MANY)),
    *CHANNEL_OPERATIONS,  # the channels' port, the service token's alone
)

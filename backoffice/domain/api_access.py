"""Who may call which /api/v1 route: the one table, and the questions the API asks of it.

Each route (method, path template relative to /api/v1) names one permission; which roles hold
a permission is backoffice.domain.staff.PERMISSIONS, shared with the desk. A route missing from
ROUTE_PERMISSIONS is refused to every staff member (deny by default). The service token
(XIAOBAO_API_TOKEN, the integration principal of the bot and the channels) is not a staff role:
it keeps every right, as CONTRACTS.md promises.

Pure: no I/O. The API's middleware asks `staff_may(role, method, template)` on every request.
"""

from __future__ import annotations

from backoffice.domain import staff as roles

PUBLIC = "public"  # no token needed
ANY_STAFF = "api.session"  # any signed-in staff member (e.g. signing out)

ROUTE_PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("POST", "/auth/token"): PUBLIC,
    ("DELETE", "/auth/token"): ANY_STAFF,
    # products and quotes: nothing personal
    ("GET", "/products"): "products.view",
    ("GET", "/products/{code}"): "products.view",
    ("POST", "/quotes"): "products.view",
    ("GET", "/service-outlets"): "products.view",
    # new business and policy administration
    ("POST", "/applications"): "policies.apply",
    ("GET", "/applications/{application_no}"): "policies.view",
    ("POST", "/applications/{application_no}/underwriting"): "policies.underwrite",
    ("POST", "/applications/{application_no}/payments"): "policies.underwrite",
    ("POST", "/applications/{application_no}/issue"): "policies.underwrite",
    ("GET", "/policies"): "policies.view",
    ("GET", "/policies/{policy_no}"): "policies.view",
    ("POST", "/policies/{policy_no}/payments"): "policies.underwrite",
    ("POST", "/policies/{policy_no}/transitions"): "policies.underwrite",
    ("POST", "/policies/{policy_no}/endorsements"): "policies.service",
    ("GET", "/policies/{policy_no}/document"): "policies.document",
    ("GET", "/parties/{id_number}"): "policies.view",
    ("PATCH", "/parties/{id_number}"): "policies.service",
    ("POST", "/group-policies"): "policies.underwrite",
    ("POST", "/group-policies/{policy_no}/roster"): "policies.underwrite",
    ("POST", "/group-policies/{policy_no}/auto-enrollment"): "policies.underwrite",
    ("GET", "/audit"): "audit.view",
    # claims
    ("POST", "/claims"): "claims.report",
    ("GET", "/claims"): "claims.lookup",
    ("GET", "/claims/{claim_no}"): "claims.view",
    ("GET", "/claims/{claim_no}/progress"): "claims.lookup",
    ("POST", "/claims/{claim_no}/documents"): "claims.report",
    ("GET", "/claims/{claim_no}/documents/{document_id}"): "claims.view",
    ("POST", "/claims/{claim_no}/transitions"): "claims.work",
    ("GET", "/claims/{claim_no}/letters/{letter_no}"): "claims.view",
    ("POST", "/adjudication/preview"): "claims.work",
    ("GET", "/stats/claims"): "supervisor.view",
    ("GET", "/stats/claims/charts"): "supervisor.view",
    # the outbox's dead letters
    ("GET", "/notifications/dead"): "notifications.manage",
    ("POST", "/notifications/dead/requeue"): "notifications.manage",
    # complaints, home visits, satisfaction
    ("POST", "/complaints"): "complaints.create",
    ("GET", "/complaints"): "complaints.view",
    ("GET", "/complaints/{complaint_no}"): "complaints.view",
    ("POST", "/complaints/{complaint_no}/transitions"): "complaints.act",
    ("POST", "/home-visits"): "home_visits.work",
    ("GET", "/home-visits"): "home_visits.view",
    ("GET", "/home-visits/{visit_no}"): "home_visits.view",
    ("POST", "/home-visits/{visit_no}/transitions"): "home_visits.work",
    ("POST", "/satisfaction"): "satisfaction.record",
    ("GET", "/stats/satisfaction"): "supervisor.view",
    # handed-off conversations
    ("GET", "/conversations"): "handoff.view",
    ("GET", "/conversations/{conversation_id}"): "handoff.view",
    ("POST", "/conversations/{conversation_id}/take"): "handoff.work",
    ("POST", "/conversations/{conversation_id}/messages"): "handoff.work",
    ("POST", "/conversations/{conversation_id}/handback"): "handoff.work",
    ("POST", "/conversations/{conversation_id}/transfer"): "handoff.work",
    ("POST", "/conversations/{conversation_id}/close"): "handoff.work",
    # channel bindings (who a WeChat user or caller is)
    ("POST", "/bindings"): "bindings.manage",
    ("GET", "/bindings/{channel}/{user}"): "bindings.manage",
    ("DELETE", "/bindings/{channel}/{user}"): "bindings.manage",
    # endorsement requests (保全申请): taken down for a customer, decided by underwriters
    ("POST", "/endorsement-requests"): "policies.service",
    ("GET", "/endorsement-requests"): "policies.view",
    ("GET", "/endorsement-requests/{request_no}"): "policies.view",
    ("POST", "/endorsement-requests/{request_no}/transitions"): "endorsement_requests.work",
}

# personal data (ID, phone, bank card numbers) in answers: which area a route belongs to,
# for `roles.sees_pii(role, area)`; routes not listed are of no particular area
_PII_AREAS = {"/home-visits": "home_visits", "/applications": "policies",
              "/policies": "policies", "/parties": "policies", "/group-policies": "policies",
              "/endorsement-requests": "policies"}


def permission_for(method: str, template: str) -> str | None:
    """The permission a route needs; None when the route is not in the table."""
    return ROUTE_PERMISSIONS.get(("GET" if method == "HEAD" else method, template))


def is_public(method: str, template: str) -> bool:
    return permission_for(method, template) == PUBLIC


def staff_may(role: str, method: str, template: str) -> bool:
    """May a staff member of this role call the route? Unlisted routes: no."""
    permission = permission_for(method, template)
    if permission is None:
        return False
    return permission == PUBLIC or roles.allowed(role, permission)


def sees_personal_data(role: str, template: str) -> bool:
    """Full ID, phone and card numbers in this route's answer for this role?"""
    area = next((a for prefix, a in _PII_AREAS.items() if template.startswith(prefix)), "")
    return roles.sees_pii(role, area)

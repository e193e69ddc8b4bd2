"""Who is calling /api/v1, and what they may do and see.

Two kinds of caller: the service token (XIAOBAO_API_TOKEN, the integration principal of the
bot's action server and the channels: every right, answers as CONTRACTS.md describes them) and
staff members signed in through `POST /auth/token` (what their role allows, by the table in
backoffice.domain.api_access; personal data masked unless the role needs it).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from backoffice.domain import api_access
from backoffice.domain import staff as roles
from backoffice.domain.errors import Forbidden
from backoffice.domain.identity import mask_bank_card, mask_id_number, mask_phone
from backoffice.domain.masking import mask_text

PREFIX = "/api/v1"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Principal:
    """The caller: `role` is None for the service token."""

    username: str | None = None
    role: str | None = None
    token: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role is not None

    @property
    def role_name(self) -> str:
        return roles.ROLE_NAMES.get(self.role or "", "")

    def may(self, permission: str) -> bool:
        return self.role is None or roles.allowed(self.role, permission)


SERVICE = Principal()
PRINCIPAL_KEY = "api_principal"


def principal_of(request: web.Request) -> Principal:
    found = request.get(PRINCIPAL_KEY)
    return found if isinstance(found, Principal) else SERVICE


def staff_of(request: web.Request) -> Principal | None:
    """The signed-in staff member, or None for the service token."""
    found = principal_of(request)
    return found if found.is_staff else None


def route_template(request: web.Request) -> str | None:
    """The matched route's template relative to /api/v1; None when nothing matched."""
    if request.match_info.http_exception is not None:
        return None
    resource = request.match_info.route.resource
    if resource is None:
        return None
    template = resource.canonical
    return template[len(PREFIX):] if template.startswith(PREFIX) else template


def bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def is_service_token(sent: str, expected: str) -> bool:
    # bytes: compare_digest refuses non-ASCII str, and a header may carry any character
    return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"),
                               expected.encode("utf-8"))


def refuse_role(principal: Principal, what: str = "此接口",
                field: str | None = None) -> Forbidden:
    """A 403 (through the API's error middleware) naming the role."""
    return Forbidden(f"您的角色（{principal.role_name}）无权{what}", field)


# ---- masking -------------------------------------------------------------------------------

_ID_KEYS = ("id_number",)
_PHONE_KEYS = ("phone",)
_CARD_KEYS = ("card_number", "account", "bank_account")
_DROPPED = {"document_url"}  # a capability to the unmasked policy document


def _mask_value(key: str, value: str) -> str:
    if key.endswith(_ID_KEYS):
        return mask_id_number(value)
    if key.endswith(_PHONE_KEYS):
        return mask_phone(value)
    if key.endswith(_CARD_KEYS):
        return mask_bank_card(value) if len(value) > 4 else value
    return mask_text(value)


def mask_personal(value: Any, key: str = "") -> Any:
    """A JSON value with ID, phone and bank card numbers masked: by field name, and inside
    any text (a transcript, a note) by their shape."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in _DROPPED:
                continue
            # an OCR field {"value": …, "confidence": …} is masked by the field's name
            out[k] = mask_personal(v, k if k != "value" else key)
        return out
    if isinstance(value, list):
        return [mask_personal(v, key) for v in value]
    if isinstance(value, str):
        return _mask_value(key, value)
    return value


def masked_response(response: web.StreamResponse) -> web.StreamResponse:
    """The same JSON answer with personal data masked; other answers unchanged."""
    if not isinstance(response, web.Response) or response.content_type != "application/json":
        return response
    raw = response.body
    if not isinstance(raw, bytes | bytearray):
        return response
    data = json.loads(raw)
    return web.json_response(mask_personal(data), status=response.status,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False))


def wants_masking(principal: Principal, template: str) -> bool:
    return principal.role is not None and not api_access.sees_personal_data(principal.role,
                                                                          template)

"""Who is calling /api/v1, and what they may see.

Two kinds of caller: the service token (XIAOBAO_API_TOKEN, the integration principal of the
bot's action server and the channels: every right, answers as CONTRACTS.md describes them) and
staff members signed in through `POST /auth/token` (what their role allows, by the table of
backoffice.api.operations; personal data masked unless the role needs it).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web

from backoffice.domain.identity import mask_bank_card, mask_id_number, mask_phone
from backoffice.domain.masking import mask_text


def bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def is_service_token(sent: str, expected: str) -> bool:
    # bytes: compare_digest refuses non-ASCII str, and a header may carry any character
    return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"),
                               expected.encode("utf-8"))


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

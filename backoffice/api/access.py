"""Who is calling /api/v1, and what they may see.

Two kinds of caller: the service token (XIAOBAO_API_TOKEN, the integration principal of the
bot's action server and the channels: every right, answers as CONTRACTS.md describes them) and
staff members signed in through `POST /auth/token` (what their role allows, by the table of
backoffice.api.operations; personal data masked unless the role needs it).
"""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from backoffice.domain.masking import mask_personal

__all__ = ["bearer", "is_service_token", "mask_personal", "masked_response"]


def bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def is_service_token(sent: str, expected: str) -> bool:
    # bytes: compare_digest refuses non-ASCII str, and a header may carry any character
    return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"),
                               expected.encode("utf-8"))


# ---- masking -------------------------------------------------------------------------------

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

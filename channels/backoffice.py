"""The channels' narrow view of the back office over its HTTP API (BRIEF interfaces 3 and 4):
who a channel user is (bindings), and attaching a document to the user's open claim.

The back office may run in this process or elsewhere (XIAOBAO_BACKOFFICE_URL); when it is
down or the binding route is missing, channels carry on without it.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import Any

import aiohttp

log = logging.getLogger("xiaobao.channels.backoffice")


class BackofficeClient:
    def __init__(self, base_url: str | None, token: str, *, timeout: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=3)

    def learn_base(self, origin: str) -> None:
        """The platform's own address, learnt from the first request when not configured."""
        if self.base_url is None:
            self.base_url = origin.rstrip("/")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def binding(self, channel: str, user: str) -> dict[str, Any] | None:
        """The bound party, policies and open claims (newest first), or None."""
        if not self.base_url:
            return None
        path = f"/api/v1/bindings/{channel}/{urllib.parse.quote(user, safe='')}"
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session, \
                    session.get(self.base_url + path, headers=self._headers()) as response:
                if response.status != 200:
                    return None
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("binding look-up failed: %s", type(exc).__name__)
            return None
        return body if isinstance(body, dict) else None

    async def upload_document(self, claim_no: str, data: bytes, filename: str,
                              content_type: str) -> str | None:
        """POST the file to the claim; the new document's id, or None when refused."""
        if not self.base_url:
            return None
        form = aiohttp.FormData()
        form.add_field("file", data, filename=filename, content_type=content_type)
        path = f"/api/v1/claims/{urllib.parse.quote(claim_no, safe='')}/documents"
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session, \
                    session.post(self.base_url + path, data=form,
                                 headers=self._headers()) as response:
                body = await response.json(content_type=None)
                if response.status != 201 or not isinstance(body, dict):
                    log.warning("document upload refused: HTTP %s", response.status)
                    return None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("document upload failed: %s", type(exc).__name__)
            return None
        return str(body.get("document_id") or "") or None

    async def attach_to_open_claim(self, channel: str, user: str, data: bytes, filename: str,
                                   content_type: str) -> tuple[str, str]:
        """(claim_no, document_id) — empty strings when there is no bound open claim."""
        bound = await self.binding(channel, user)
        claims = (bound or {}).get("open_claims") or []
        if not claims:
            return "", ""
        claim_no = str(claims[0])
        document_id = await self.upload_document(claim_no, data, filename, content_type)
        return (claim_no, document_id) if document_id else (claim_no, "")


def document_uploaded(claim_no: str, document_id: str) -> str:
    """The message that tells the bot a document arrived (BRIEF interface 3)."""
    entities = {"claim_no": claim_no, "document_id": document_id} if document_id \
        else {"claim_no": ""}
    return "/document_uploaded" + json.dumps(entities, ensure_ascii=False)

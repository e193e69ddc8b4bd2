"""HTTP client of the back office API (/api/v1), as the bot uses it.

Timeouts on every call. Only idempotent calls are retried: GETs, and the claim report, which
carries an Idempotency-Key so that a retry after a lost answer returns the same claim.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TOKEN = "xiaobao-demo-token"


class BackofficeDown(Exception):
    """The back office did not answer (connection refused, timeout, 5xx)."""


@dataclass
class ApiError(Exception):
    """A 4xx answer: the request was refused for a reason the bot can explain."""

    status: int
    code: str
    message: str
    field: str | None = None


@dataclass
class Client:
    base_url: str
    token: str
    timeout: float = 5.0
    retries: int = 2
    _http: aiohttp.ClientSession | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_env(cls) -> Client:
        return cls(
            base_url=os.environ.get("XIAOBAO_API_URL", DEFAULT_URL).rstrip("/"),
            token=os.environ.get("XIAOBAO_API_TOKEN", DEFAULT_TOKEN),
            timeout=float(os.environ.get("XIAOBAO_API_TIMEOUT", "5")),
        )

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                      headers: dict[str, str] | None = None, idempotent: bool | None = None
                      ) -> tuple[int, Any]:
        """(status, JSON) of a 2xx answer; ApiError on 4xx; BackofficeDown otherwise."""
        retry = (method == "GET") if idempotent is None else idempotent
        attempts = 1 + (self.retries if retry else 0)
        hdrs = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        for attempt in range(attempts):
            try:
                return await self._once(method, path, body, hdrs)
            except BackofficeDown:
                if attempt + 1 == attempts:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise BackofficeDown(path)  # not reached

    def _session(self) -> aiohttp.ClientSession:
        # one pooled session for the action server's event loop: no new connection per call
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=50, keepalive_timeout=30))
        return self._http

    async def _once(self, method: str, path: str, body: dict[str, Any] | None,
                    headers: dict[str, str]) -> tuple[int, Any]:
        url = f"{self.base_url}/api/v1{path}"
        try:
            async with self._session().request(method, url, json=body, headers=headers) as resp:
                data = await resp.json(content_type=None) if resp.content_length != 0 else None
                status = resp.status
        # asyncio.TimeoutError is not the builtin TimeoutError on Python 3.10 (the bot's env)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:  # noqa: UP041
            log.warning("back office %s %s failed: %s", method, path, type(exc).__name__)
            raise BackofficeDown(path) from exc
        if status >= 500:
            log.warning("back office %s %s answered %s", method, path, status)
            raise BackofficeDown(path)
        if status >= 400:
            err = (data or {}).get("error", {}) if isinstance(data, dict) else {}
            raise ApiError(status, str(err.get("code", "error")), str(err.get("message", "")),
                           err.get("field"))
        return status, data

    async def get(self, path: str) -> Any:
        return (await self.request("GET", path))[1]

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return (await self.request("POST", path, body))[1]

    # --- the calls the bot makes -----------------------------------------------------------

    async def binding(self, channel: str, user: str) -> dict[str, Any] | None:
        try:
            return await self.get(f"/bindings/{_seg(channel)}/{_seg(user)}")
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    async def bind(self, channel: str, user: str, id_number: str | None, phone: str | None,
                   policy_no: str | None, id_last6: str | None = None,
                   source: str | None = None) -> dict[str, Any]:
        """Identify: the ID number plus phone or policy number; on a call also the caller's
        number as `phone` plus `id_last6` or the policy number."""
        body: dict[str, Any] = {"channel": channel, "user": user}
        for name, value in (("id_number", id_number), ("phone", phone),
                            ("policy_no", policy_no), ("id_last6", id_last6)):
            if value:
                body[name] = value
        if source:  # counted by the back office: fresh channel users from one source gain nothing
            body["source"] = source[:64]
        return await self.post("/bindings", body)

    async def report_claim(self, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        return (await self.request("POST", "/claims", body, headers, idempotent=True))[1]

    async def policies_of(self, id_number: str) -> list[dict[str, Any]]:
        data = await self.get(f"/policies?id_number={_seg(id_number)}")
        return list(data.get("items", []))

    async def product(self, code: str) -> dict[str, Any]:
        return await self.get(f"/products/{_seg(code)}")

    async def policy(self, policy_no: str) -> dict[str, Any]:
        return await self.get(f"/policies/{_seg(policy_no)}")

    async def cases(self, channel: str, user: str) -> dict[str, Any]:
        """The bound customer's own cases in plain words (404 → ApiError when unbound)."""
        return await self.get(f"/bindings/{_seg(channel)}/{_seg(user)}/cases")

    async def progress(self, claim_no: str) -> dict[str, Any]:
        return await self.get(f"/claims/{_seg(claim_no)}/progress")

    async def document(self, claim_no: str, document_id: str) -> dict[str, Any]:
        return await self.get(f"/claims/{_seg(claim_no)}/documents/{_seg(document_id)}")

    async def outlets(self, town: str | None = None) -> list[dict[str, Any]]:
        query = f"?town={_seg(town)}" if town else ""
        data = await self.get(f"/service-outlets{query}")
        return list(data.get("items", data) if isinstance(data, dict) else data)


    async def consent_notice(self, channel: str) -> dict[str, Any]:
        """The short notice to show before sensitive data is asked for (texts are settings)."""
        return await self.get(f"/channel/consent-notice?channel={_seg(channel)}")

    async def consent(self, channel: str, user: str) -> dict[str, Any]:
        """The channel user's consent decision that counts (`decision` None: none)."""
        return await self.get(f"/channel/consents/{_seg(channel)}/{_seg(user)}")

    async def record_consent(self, channel: str, user: str, decision: str, version: str,
                             sha256: str) -> dict[str, Any]:
        return await self.post("/channel/consents", {
            "channel": channel, "user": user, "decision": decision,
            "notice_version": version, "notice_sha256": sha256})


def _seg(value: str) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")

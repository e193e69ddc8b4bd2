"""The Rasa client: one turn over Rasa's REST channel (BRIEF interface 1).

Rasa's REST channel answers `200 []` when a turn fails inside it (it catches every
exception), so an empty answer counts as a failed turn, like no answer at all.

A call's turns go to Rasa's phone channel (`/webhooks/ivr/webhook`, bot/rasa_run.py), whose
answers take the `channel: ivr` variations of the responses; a Rasa without it (404: plain
`rasa run`) answers calls through REST with the everyday wording.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

log = logging.getLogger("xiaobao.channels.rasa")


class RasaUnavailable(Exception):
    """The turn got no usable answer: Rasa down, too slow, an error, or an empty list.

    `kind` says what the gateway may do next (channels.rasa_pool): `refused` — the request
    never reached Rasa (nothing ran: safe to send elsewhere); `lost` — the connection broke
    during the turn (the process died); `timeout` — no answer in time (the turn may still be
    running there); `answer` — Rasa answered with an error or an empty list."""

    def __init__(self, why: str, kind: str = "answer") -> None:
        super().__init__(why)
        self.kind = kind


def failure_kind(exc: BaseException) -> str:
    """The `kind` of a client exception (the subclasses first: a connect timeout is also a
    TimeoutError, a refused connection also a ClientOSError)."""
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return "refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    lost = aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientOSError
    if isinstance(exc, lost):
        return "lost"
    return "answer"


class RasaClient:
    """POST {rasa_url}/webhooks/rest/webhook (a call's: …/ivr/webhook); one shared aiohttp
    session."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, connect_timeout: float = 3.0
                 ) -> None:
        self.url = base_url.rstrip("/") + "/webhooks/rest/webhook"
        self.phone_url: str | None = base_url.rstrip("/") + "/webhooks/ivr/webhook"
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, connector=aiohttp.TCPConnector(limit=100))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]
                   ) -> list[dict[str, Any]]:
        body = {"sender": sender, "message": text, "metadata": metadata}
        phone = self.phone_url if sender.startswith("ivr:") else None
        try:
            async with self._client().post(phone or self.url, json=body) as response:
                if response.status == 404 and phone:
                    self.phone_url = None  # no phone channel in this Rasa: REST from now on
                    return await self.turn(sender, text, metadata)
                if response.status != 200:
                    raise RasaUnavailable(f"HTTP {response.status}", "answer")
                # JSON is UTF-8 (RFC 8259): no charset sniffing per turn
                answer = json.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RasaUnavailable(type(exc).__name__, failure_kind(exc)) from None
        if not isinstance(answer, list) or not answer:
            # the REST channel's way of saying the turn failed
            raise RasaUnavailable("empty answer", "answer")
        return [m for m in answer if isinstance(m, dict)]

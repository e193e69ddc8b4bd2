"""The channels' port (channels.port.Backoffice) over HTTP: the back office's /api/v1 with the
service token, for channels running in another process than the back office
(XIAOBAO_BACKOFFICE_URL names it).

Transcripts go to the internal operations under /api/v1/channel/… (the service token only);
bindings and document uploads to the public /bindings/… and /claims/{claim_no}/documents.
A connection failure, a timeout, a 5xx or a refused service token raise
BackofficeUnavailable (the channels degrade: nothing was done); another 4xx raises
BackofficeRefused with the code, message and field of the back office's error.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiohttp

from channels.port import (
    Attachment,
    BackofficeRefused,
    BackofficeUnavailable,
    Binding,
    Delivery,
    HandedBack,
    Lease,
    Message,
    SmsAnswer,
    StateClaim,
    StatePut,
    Turn,
    Unanswered,
    Upload,
)

log = logging.getLogger("xiaobao.channels.backoffice")

PREFIX = "/api/v1"
# the operations this adapter calls (backoffice.api.channel_ops.CHANNEL_OPERATIONS)
PATHS = {
    "user_message": "/channel/messages",
    "bot_messages": "/channel/bot-messages",
    "bot_lines": "/channel/bot-lines",
    "bot_failed": "/channel/bot-failures",
    "settle": "/channel/settled-messages",
    "unanswered": "/channel/unanswered-messages",
    "renew_lease": "/channel/instance-leases",
    "offline_notice": "/channel/offline-notices",
    "first_seen": "/channel/push-keys",
    "forget_seen_before": "/channel/push-keys/forget",
    "state_claim": "/channel/state/claim",
    "state_read": "/channel/state/read",
    "state_write": "/channel/state/write",
    "agent_message": "/channel/agent-messages",
    "handback": "/channel/handbacks",
    "sms_message": "/channel/sms-messages",
    "call_rating": "/channel/call-ratings",
    "unsubscribed": "/channel/unsubscriptions",
}
BATCH = 200  # turns of bot lines per request


class HttpBackoffice:
    """One shared aiohttp session to the back office at `base_url` (without /api/v1)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/") + PREFIX
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=3)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, connector=aiohttp.TCPConnector(limit=100),
                headers={"Authorization": f"Bearer {self.token}"})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            async with self._client().request(method, self.base_url + path, **kwargs) as r:
                status, raw = r.status, await r.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BackofficeUnavailable(f"{type(exc).__name__} on {path}") from exc
        if status >= 500 or status in (401, 403):
            if status < 500:  # a misconfigured token refuses everything: keep the messages
                log.error("the back office refuses the service token (HTTP %s)", status)
            raise BackofficeUnavailable(f"HTTP {status} on {path}")
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            raise BackofficeUnavailable(f"an answer that is not JSON on {path}") from None

    async def _post(self, use_case: str, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = await self._call("POST", PATHS[use_case], json=body)
        if status >= 400:
            raise _refusal(answer, status)
        if not isinstance(answer, dict):
            raise BackofficeUnavailable(f"an unexpected answer on {PATHS[use_case]}")
        return answer

    # ---- transcripts ----------------------------------------------------------------------

    async def user_message(self, channel: str, user: str, text: str, *,
                           phone: str | None = None, push_key: str | None = None,
                           answerer: str | None = None) -> Turn | None:
        answer = await self._post("user_message", {
            "channel": channel, "user": user, "text": text, "phone": phone,
            "push_key": push_key, "answerer": answerer})
        return None if answer.get("duplicate") else _turn(answer)

    async def bot_messages(self, conversation_id: int, messages: list[Message]) -> Turn:
        return _turn(await self._post("bot_messages", {
            "conversation_id": conversation_id, "messages": messages}))

    async def bot_lines(self, answers: Sequence[tuple[int, list[Message]]],
                        answered: Sequence[int] = ()) -> None:
        items = [{"conversation_id": cid, "messages": messages} for cid, messages in answers]
        ids = list(answered)
        for start in range(0, len(items), BATCH):
            # the last batch marks the answered messages: their lines are all in by then
            last = start + BATCH >= len(items)
            await self._post("bot_lines", {"answers": items[start:start + BATCH],
                                           "answered": ids if last else []})

    async def settle(self, message_ids: Sequence[int], state: str) -> int:
        answer = await self._post("settle", {"message_ids": list(message_ids),
                                             "state": state})
        return int(answer.get("settled") or 0)

    async def unanswered(self, answerer: str, after: int = 0, *,
                         takeover: bool = False) -> list[Unanswered]:
        answer = await self._post("unanswered", {"answerer": answerer, "after": after,
                                                 "takeover": takeover})
        try:
            return [Unanswered(int(i["message_id"]), int(i["conversation_id"]),
                               str(i["channel"]), str(i["user"]), i.get("phone"),
                               str(i["text"]))
                    for i in answer.get("items") or ()]
        except (KeyError, TypeError, ValueError):
            raise BackofficeUnavailable("an unexpected answer on unanswered") from None

    async def renew_lease(self, answerer: str, generation: int | None, seconds: int,
                          held: Sequence[int] = ()) -> Lease:
        answer = await self._post("renew_lease", {"answerer": answerer,
                                                  "generation": generation,
                                                  "seconds": seconds, "held": list(held)})
        try:
            return Lease(int(answer["generation"]),
                         tuple(int(i) for i in answer.get("taken") or ()))
        except (KeyError, TypeError, ValueError):
            raise BackofficeUnavailable("an unexpected answer on instance-leases") from None

    async def bot_failed(self, conversation_id: int, reason: str, note: str) -> Turn:
        return _turn(await self._post("bot_failed", {
            "conversation_id": conversation_id, "reason": reason, "note": note}))

    async def offline_notice(self, channel: str, user: str, text: str, phone: str | None, *,
                             template: bool) -> None:
        await self._post("offline_notice", {"channel": channel, "user": user, "text": text,
                                            "phone": phone, "template": template})

    async def first_seen(self, push_key: str) -> bool:
        return bool((await self._post("first_seen", {"key": push_key})).get("first"))

    async def forget_seen_before(self, before: datetime) -> int:
        answer = await self._post("forget_seen_before", {"before": before.isoformat()})
        return int(answer.get("forgotten") or 0)

    async def call_rating(self, user: str, score: int) -> None:
        await self._post("call_rating", {"user": user, "score": score})

    async def unsubscribed(self, channel: str, user: str) -> None:
        await self._post("unsubscribed", {"channel": channel, "user": user})

    async def sms_message(self, phone: str, text: str, push_key: str) -> SmsAnswer:
        a = await self._post("sms_message", {"phone": phone, "text": text,
                                             "push_key": push_key})
        try:
            return SmsAnswer(str(a["status"]), a.get("reply"), a.get("score"), a.get("outcome"),
                             a.get("conversation_id"))
        except KeyError:
            raise BackofficeUnavailable("an unexpected answer on sms_message") from None

    # ---- the channels' shared state ----------------------------------------------------------

    async def state_claim(self, put: StatePut, read: Sequence[str] = ()) -> StateClaim:
        answer = await self._post("state_claim", {"key": put.key, "value": put.value,
                                                  "ttl": put.ttl, "read": list(read)})
        return StateClaim(bool(answer.get("claimed")), _values(answer))

    async def state_read(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        return _values(await self._post("state_read", {"keys": list(keys)}))

    async def state_write(self, puts: Sequence[StatePut], drops: Sequence[str] = ()) -> None:
        await self._post("state_write", {"drops": list(drops), "puts": [
            {"key": p.key, "value": p.value, "ttl": p.ttl} for p in puts]})

    # ---- bindings and documents ------------------------------------------------------------

    async def binding(self, channel: str, user: str) -> Binding | None:
        path = f"/bindings/{channel}/{urllib.parse.quote(user, safe='')}"
        status, answer = await self._call("GET", path)
        if status != 200 or not isinstance(answer, dict):
            return None  # not bound (404), or a user the back office cannot know (400)
        party = answer.get("party") if isinstance(answer.get("party"), dict) else {}
        return Binding(name_masked=party.get("name_masked"),
                       policies=tuple(str(p) for p in answer.get("policies") or ()),
                       open_claims=tuple(str(c) for c in answer.get("open_claims") or ()))

    async def attach_document(self, channel: str, user: str, upload: Upload) -> Attachment:
        bound = await self.binding(channel, user)
        if bound is None or not bound.open_claims:
            return Attachment()
        claim_no = bound.open_claims[0]
        form = aiohttp.FormData()
        form.add_field("file", upload.data, filename=upload.filename,
                       content_type=upload.content_type)
        path = f"/claims/{urllib.parse.quote(claim_no, safe='')}/documents"
        status, answer = await self._call("POST", path, data=form)
        if status != 201 or not isinstance(answer, dict) or not answer.get("document_id"):
            log.warning("document upload refused: HTTP %s", status)
            return Attachment(claim_no)
        return Attachment(claim_no, str(answer["document_id"]))

    # ---- handoff ----------------------------------------------------------------------------

    async def agent_message(self, conversation_id: int, agent: str, text: str) -> Delivery:
        a = await self._post("agent_message", {"conversation_id": conversation_id,
                                               "agent": agent, "text": text})
        try:
            return Delivery(int(a["conversation_id"]), str(a["channel"]), str(a["user"]),
                            str(a["text"]), a.get("phone"))
        except (KeyError, TypeError, ValueError):
            raise BackofficeUnavailable("an unexpected answer on agent_message") from None

    async def handback(self, conversation_id: int, agent: str | None) -> HandedBack:
        answer = await self._post("handback", {"conversation_id": conversation_id,
                                               "agent": agent})
        return HandedBack(str(answer.get("channel")), str(answer.get("user")), answer)


def _turn(answer: dict[str, Any]) -> Turn:
    try:
        message_id = answer.get("message_id")
        reply = answer.get("reply")
        return Turn(int(answer["conversation_id"]), str(answer["state"]),
                    int(message_id) if message_id is not None else None,
                    str(reply) if reply else None)
    except (KeyError, TypeError, ValueError):
        raise BackofficeUnavailable("an answer without the conversation") from None


def _values(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values = answer.get("values")
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise BackofficeUnavailable("an answer without the state values")
    return {str(k): v for k, v in values.items()}


def _refusal(answer: Any, status: int) -> BackofficeRefused:
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return BackofficeRefused("refused", f"HTTP {status}")
    field = error.get("field")
    return BackofficeRefused(str(error.get("code") or "refused"),
                             str(error.get("message") or f"HTTP {status}"),
                             str(field) if field is not None else None)

"""The composition root's side of the channels' port (channels.port):

- `InProcessBackoffice`: the port in the back office's own process. Each use case runs under
  backoffice.services.running's policy; the transcript use cases are the very ones the
  internal HTTP operations run (backoffice.api.channel_ops), with the same commands, so both
  adapters refuse the same input. Store failures become BackofficeUnavailable and domain
  refusals BackofficeRefused: the channels see channel-side errors only.
- `AgentHooks`: the channels' router as the back office's ConversationHooks; a refusal coming
  back through the port becomes the back office's own error again, which its edges answer
  with a 4xx naming the field.
- `backoffice_port`: which adapter a platform process uses.

It lives here, not in backoffice/, because it knows both sides: the back office knows nothing
of the channels.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from backoffice.api import channel_ops as ops
from backoffice.api.app import FILES_KEY, READER_KEY
from backoffice.api.reading import DocumentReader
from backoffice.domain.errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from backoffice.services import bindings, claims, document_reading
from backoffice.services.running import run_use_case
from backoffice.store.db import Database
from backoffice.store.files import DocumentStore
from channels.backoffice import HttpBackoffice
from channels.port import (
    Attachment,
    Backoffice,
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
from channels.router import Router
from xiaobao.config import Settings

log = logging.getLogger("xiaobao.channels.port")

T = TypeVar("T")


class InProcessBackoffice:
    """The port with the back office in this process; `files` and `reader` are the API's
    (documents are then stored and read as an upload through the API would be)."""

    def __init__(self, db: Database, files: DocumentStore | None = None,
                 reader: DocumentReader | None = None) -> None:
        self.db = db
        self.files = files
        self.reader = reader

    async def _run(self, fn: Callable[..., T], *args: Any, heavy: bool = False) -> T:
        try:
            return await run_use_case(self.db, fn, *args, heavy=heavy)
        except DomainError as exc:
            raise BackofficeRefused(exc.code, exc.message, exc.field) from None
        except SQLAlchemyError as exc:
            raise BackofficeUnavailable(type(exc).__name__) from exc

    async def _op(self, use_case: Callable[[Any, Any], T], command: type[ops.Command],
                  **fields: Any) -> T:
        try:
            cmd = command.of(fields)
        except DomainError as exc:
            raise BackofficeRefused(exc.code, exc.message, exc.field) from None
        return await self._run(use_case, self.db, cmd)

    # ---- transcripts ----------------------------------------------------------------------

    async def user_message(self, channel: str, user: str, text: str, *,
                           phone: str | None = None, push_key: str | None = None,
                           answerer: str | None = None) -> Turn | None:
        out = await self._op(ops.user_message, ops.UserMessageIn, channel=channel, user=user,
                             text=text, phone=phone, push_key=push_key, answerer=answerer)
        return None if out.duplicate else _turn(out)

    async def bot_messages(self, conversation_id: int, messages: list[Message]) -> Turn:
        return _turn(await self._op(ops.bot_messages, ops.BotMessagesIn,
                                    conversation_id=conversation_id, messages=messages))

    async def bot_lines(self, answers: Sequence[tuple[int, list[Message]]],
                        answered: Sequence[int] = ()) -> None:
        await self._op(ops.bot_lines, ops.BotLinesIn, answers=[
            {"conversation_id": cid, "messages": messages} for cid, messages in answers],
            answered=list(answered))

    async def settle(self, message_ids: Sequence[int], state: str) -> int:
        return (await self._op(ops.settle, ops.SettleIn, message_ids=list(message_ids),
                               state=state)).settled

    async def unanswered(self, answerer: str, after: int = 0, *,
                         takeover: bool = False) -> list[Unanswered]:
        out = await self._op(ops.unanswered, ops.UnansweredIn, answerer=answerer, after=after,
                             takeover=takeover)
        return [Unanswered(**item.model_dump()) for item in out.items]

    async def renew_lease(self, answerer: str, generation: int | None, seconds: int,
                          held: Sequence[int] = ()) -> Lease:
        out = await self._op(ops.renew_lease, ops.LeaseIn, answerer=answerer,
                             generation=generation, seconds=seconds, held=list(held))
        return Lease(out.generation, tuple(out.taken))

    async def bot_failed(self, conversation_id: int, reason: str, note: str) -> Turn:
        return _turn(await self._op(ops.bot_failed, ops.BotFailedIn,
                                    conversation_id=conversation_id, reason=reason, note=note))

    async def offline_notice(self, channel: str, user: str, text: str, phone: str | None, *,
                             template: bool) -> None:
        await self._op(ops.offline_notice, ops.OfflineNoticeIn, channel=channel, user=user,
                       text=text, phone=phone, template=template)

    async def first_seen(self, push_key: str) -> bool:
        return (await self._op(ops.first_seen, ops.PushKeyIn, key=push_key)).first

    async def forget_seen_before(self, before: datetime) -> int:
        return (await self._op(ops.forget_push_keys, ops.ForgetPushKeysIn,
                               before=before)).forgotten

    async def call_rating(self, user: str, score: int) -> None:
        await self._op(ops.call_rating, ops.CallRatingIn, user=user, score=score)

    async def unsubscribed(self, channel: str, user: str) -> None:
        await self._op(ops.unsubscribe, ops.UnsubscribeIn, channel=channel, user=user)

    async def sms_message(self, phone: str, text: str, push_key: str) -> SmsAnswer:
        out = await self._op(ops.sms_message, ops.SmsMessageIn, phone=phone, text=text,
                             push_key=push_key)
        return SmsAnswer(out.status, out.reply, out.score, out.outcome, out.conversation_id)

    # ---- the channels' shared state ----------------------------------------------------------

    async def state_claim(self, put: StatePut, read: Sequence[str] = ()) -> StateClaim:
        out = await self._op(ops.state_claim, ops.StateClaimIn, key=put.key, value=put.value,
                             ttl=put.ttl, read=list(read))
        return StateClaim(out.claimed, dict(out.values))

    async def state_read(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        return dict((await self._op(ops.state_read, ops.StateReadIn, keys=list(keys))).values)

    async def state_write(self, puts: Sequence[StatePut], drops: Sequence[str] = ()) -> None:
        await self._op(ops.state_write, ops.StateWriteIn, drops=list(drops), puts=[
            {"key": p.key, "value": p.value, "ttl": p.ttl} for p in puts])

    # ---- bindings and documents ------------------------------------------------------------

    async def binding(self, channel: str, user: str) -> Binding | None:
        try:
            view = await self._run(_bound, self.db, channel, user)
        except BackofficeRefused:
            return None  # not bound, or a user the back office cannot know
        return Binding(name_masked=view["party"].get("name_masked"),
                       policies=tuple(view["policies"]), open_claims=tuple(view["open_claims"]))

    async def attach_document(self, channel: str, user: str, upload: Upload) -> Attachment:
        bound = await self.binding(channel, user)
        if bound is None or not bound.open_claims:
            return Attachment()
        claim_no = bound.open_claims[0]
        try:
            return Attachment(claim_no, await self._upload(claim_no, upload))
        except BackofficeRefused as exc:
            log.warning("document upload refused: %s", exc.code)
            return Attachment(claim_no)

    async def _upload(self, claim_no: str, upload: Upload) -> str:
        """As POST /claims/{claim_no}/documents by the service token: read off the loop
        before the transaction, then stored by the customer."""
        if self.files is None:
            raise BackofficeRefused("no_file_store", "此进程不保存上传的材料", "file")
        reading = None
        if self.reader is not None:
            await self._run(document_reading.check_claim_open, self.db, claim_no)
            try:
                reading = await self.reader.read(upload.data,
                                                 document_reading.ocr_type_for(None))
            except DomainError as exc:  # a picture with too many pixels: refused
                raise BackofficeRefused(exc.code, exc.message, exc.field) from None
        receipt = await self._run(claims.upload_document, self.db, self.files, claim_no,
                                  upload.filename, upload.content_type, upload.data, None,
                                  "customer", reading, heavy=True)
        return str(receipt["document_id"])

    # ---- handoff ----------------------------------------------------------------------------

    async def agent_message(self, conversation_id: int, agent: str, text: str) -> Delivery:
        d = await self._op(ops.agent_message, ops.AgentMessageIn,
                           conversation_id=conversation_id, agent=agent, text=text)
        return Delivery(d.conversation_id, d.channel, d.user, d.text, d.phone)

    async def handback(self, conversation_id: int, agent: str | None) -> HandedBack:
        out = await self._op(ops.handback, ops.HandbackIn, conversation_id=conversation_id,
                             agent=agent)
        return HandedBack(out.channel, out.user, out.model_dump(mode="json"))

    async def close(self) -> None:
        """Nothing to release: the database is the platform's."""


def _bound(db: Database, channel: str, user: str) -> dict[str, Any]:
    """bindings.get, whether it takes (channel, user) or its command (services.commands)."""
    if hasattr(bindings.get, "command"):
        return bindings.get(db, {"channel": channel, "user": user})
    return bindings.get(db, channel, user)  # type: ignore[call-arg]


def _turn(out: ops.TurnOut) -> Turn:
    assert out.conversation_id is not None and out.state is not None
    return Turn(out.conversation_id, out.state, out.message_id, out.reply)


# ---- the other direction: the channels as the back office's hooks -----------------------------

_DOMAIN = {"invalid": ValidationError, "not_found": NotFound, "conflict": Conflict,
           "forbidden": Forbidden}


def domain_error(exc: BackofficeRefused) -> DomainError:
    """A refusal that came through the port, as the back office's own error."""
    kind = _DOMAIN.get(exc.code)
    if kind is ValidationError:
        return ValidationError(exc.field or "body", exc.message)
    error = (kind or DomainError)(exc.message, exc.field)
    error.code = exc.code
    return error


class AgentHooks:
    """The channels' router behind backoffice.channel_hooks.ConversationHooks."""

    def __init__(self, router: Router) -> None:
        self.router = router

    async def tell(self, channel: str, user: str, text: str) -> bool:
        return await self.router.deliver(channel, user, [{"text": text}])

    async def agent_message(self, conversation_id: int, agent: Any, text: Any) -> bool:
        try:
            return await self.router.agent_message(conversation_id, agent, text)
        except BackofficeRefused as exc:
            raise domain_error(exc) from None

    async def handback(self, conversation_id: int, agent: Any = None) -> dict[str, Any]:
        try:
            return await self.router.handback(conversation_id, agent)
        except BackofficeRefused as exc:
            raise domain_error(exc) from None


def backoffice_port(settings: Settings, db: Database, api: web.Application) -> Backoffice:
    """Over HTTP when XIAOBAO_BACKOFFICE_URL names the back office (another process), else in
    this process, with the API's file store and OCR reader."""
    url = os.environ.get("XIAOBAO_BACKOFFICE_URL", "").strip()
    if url:
        return HttpBackoffice(url, settings.api_token)
    return InProcessBackoffice(db, api.get(FILES_KEY), api.get(READER_KEY))

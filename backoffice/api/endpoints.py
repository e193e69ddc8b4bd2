"""The operations of /api/v1 that are more than one use case called with its command: reads
whose answer is wrapped or rendered, sign-in, and the two uploads that stream their body
(a roster CSV, a claim document). Each names its input command; the table in
backoffice.api.operations declares the rest.
"""

from __future__ import annotations

import io
import logging
import tempfile
from datetime import timedelta
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import Field

from backoffice.api.declare import Call, Created, Nothing, reads
from backoffice.api.reading import DocumentReader
from backoffice.clock import utcnow
from backoffice.domain import document_link
from backoffice.domain.errors import DomainError, NotFound, TooLarge, ValidationError
from backoffice.domain.staff import Actor
from backoffice.services import (
    claim_stats as stats_service,
)
from backoffice.services import (
    claims,
    document_reading,
    group,
    notifications,
    parties,
    policies,
    products,
    satisfaction,
    scheme,
    staff,
)
from backoffice.services.commands import (
    Command,
    Count,
    Day,
    IdNumber,
    Reference,
    RowId,
    Text,
    takes,
)
from backoffice.services.running import run_use_case
from backoffice.views import disclosure
from backoffice.views.charts import render_claim_charts
from backoffice.views.document import render_policy_document

log = logging.getLogger("xiaobao.api")

MAX_ROSTER_BYTES = 256 * 1024 * 1024
MAX_MULTIPART_OVERHEAD = 64 * 1024
MAX_FORM_FIELD = 200


# ---- the platform's own: the API document, sign-in ------------------------------------------

class InvalidCredentials(DomainError):
    """A wrong password, an unknown user or a disabled account: one answer for all (401)."""

    code = "invalid_credentials"


class SignIn(Command):
    username: Text(60, blank_ok=False)  # type: ignore[valid-type]
    # a password is taken as typed: no trimming
    password: str


LIFETIME_KEY = web.AppKey("staff_token_lifetime", timedelta)
TOKEN_KEY = web.AppKey("api_token", str)
LINK_LIFETIME_KEY = web.AppKey("document_link_lifetime", timedelta)
FILES_KEY = web.AppKey("files", Any)  # backoffice.store.files.DocumentStore, from the platform
READER_KEY = web.AppKey("document_reader", DocumentReader)


@reads(SignIn)
async def sign_in(call: Call, cmd: SignIn) -> Any:
    """A staff member signs in: username + password → a bearer token that expires."""
    if len(cmd.password) > 200:
        raise ValidationError("password", "password 不超过 200 字")
    lifetime = call.request.app[LIFETIME_KEY]
    # the peer's address, or the client's behind a trusted proxy (xiaobao.proxies): a
    # forged X-Forwarded-For from anyone else changes nothing
    grant = await run_use_case(call.db, staff.issue_api_token, call.db, cmd.username,
                               cmd.password, lifetime, call.request.remote,
                               heavy=True)  # password hashing
    if grant is None:  # the same answer whether the user exists, is disabled or mistyped
        raise InvalidCredentials("用户名或密码错误", "password")
    user = grant.user
    return Created(201, {
        "access_token": grant.token, "token_type": "Bearer",
        "expires_at": grant.expires_at.isoformat(),
        "expires_in": int(lifetime.total_seconds()),
        "staff": {"username": user.username, "display_name": user.display_name,
                  "role": user.role, "role_name": user.role_name}})


@reads(Nothing)
async def sign_out(call: Call, cmd: Nothing) -> dict[str, Any]:
    """The presented staff token stops working."""
    token = call.request.get("api_token")
    if not call.actor.is_staff or not token:
        raise ValidationError("Authorization", "服务令牌不能注销；此接口注销工作人员的令牌")
    await run_use_case(call.db, staff.revoke_api_token, call.db, token, str(call.actor))
    return {"revoked": True}


# ---- products, outlets, audit, dead letters ---------------------------------------------------

@takes(Nothing)
def list_products(db: Any, cmd: Nothing, actor: Actor) -> dict[str, Any]:
    return {"items": products.list_products(db)}


class ProductRef(Command):
    code: Text(40, blank_ok=False)  # type: ignore[valid-type]


@takes(ProductRef)
def get_product(db: Any, cmd: ProductRef, actor: Actor) -> dict[str, Any]:
    return products.get_product(db, cmd.code)


class DeadLetterQuery(Command):
    limit: Count(1000) = 100  # type: ignore[valid-type]


@takes(DeadLetterQuery)
def dead_letters(db: Any, cmd: DeadLetterQuery, actor: Actor) -> dict[str, Any]:
    return {"items": notifications.dead_letters(db, cmd.limit)}


# ---- policies and parties --------------------------------------------------------------------

class ApplicationRef(Command):
    application_no: Reference


class PolicyRef(Command):
    policy_no: Reference


class PartyRef(Command):
    id_number: IdNumber


async def with_document_url(call: Call, detail: dict[str, Any]) -> dict[str, Any]:
    """The policy with a fresh link to its document (expiring, revocable: see
    backoffice.domain.document_link)."""
    no = detail.get("policy_no")
    revision = (await run_use_case(call.db, policies.document_link_revision, call.db, no)
                if no else None)
    if no and revision is not None:
        app = call.request.app
        detail["document_url"] = document_link.link(
            app[TOKEN_KEY], no, revision, utcnow(), app[LINK_LIFETIME_KEY])
    return detail


@reads(policies.revoke_document_links.command)  # type: ignore[attr-defined]
async def revoke_document_links(call: Call, cmd: Any) -> dict[str, Any]:
    """Revoke every link given out so far; the answer carries a new one."""
    answer = await run_use_case(call.db, policies.revoke_document_links, call.db, cmd,
                                call.actor)
    return await with_document_url(call, answer)


@takes(ApplicationRef)
def get_application(db: Any, cmd: ApplicationRef, actor: Actor) -> dict[str, Any]:
    if not cmd.application_no.startswith("A"):
        raise NotFound(f"投保单 {cmd.application_no} 不存在", "application_no")
    return policies.get_policy(db, cmd.application_no)


def _policy_no(cmd: PolicyRef) -> str:
    if cmd.policy_no.startswith("A"):
        raise NotFound(f"保单 {cmd.policy_no} 不存在（投保单请用 /applications/{cmd.policy_no}）",
                       "policy_no")
    return cmd.policy_no


@reads(PolicyRef)
async def get_policy(call: Call, cmd: PolicyRef) -> dict[str, Any]:
    detail = await run_use_case(call.db, policies.get_policy, call.db, _policy_no(cmd))
    return await with_document_url(call, detail)


@reads(policies.issue.command)  # type: ignore[attr-defined]
async def issue(call: Call, cmd: Any) -> dict[str, Any]:
    detail = await run_use_case(call.db, policies.issue, call.db, cmd, call.actor)
    return await with_document_url(call, detail)


@takes(PolicyRef)
def policy_document(db: Any, cmd: PolicyRef, actor: Actor) -> str:
    return render_policy_document(policies.get_policy(db, _policy_no(cmd)))


@takes(PartyRef)
def get_party(db: Any, cmd: PartyRef, actor: Actor) -> dict[str, Any]:
    return parties.get_party(db, cmd.id_number)


@reads(PolicyRef)
async def import_roster(call: Call, cmd: PolicyRef) -> dict[str, Any]:
    """A roster CSV as the request body, spooled to disk so any size streams through."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    size = 0
    async for chunk in call.request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_ROSTER_BYTES:
            spool.close()
            raise ValidationError("file", "清单文件过大")
        spool.write(chunk)
    if size == 0:
        spool.close()
        raise ValidationError("file", "请求体为空，请上传 CSV 清单")
    spool.seek(0)
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    try:
        result = await run_use_case(call.db, group.import_roster, call.db, cmd.policy_no, text,
                                    str(call.actor), heavy=True)
    finally:
        text.close()
    return result.as_dict()


# ---- claims ------------------------------------------------------------------------------------

def report_claim(db: Any, cmd: claims.ClaimReport, actor: Actor) -> Created:
    status, view = claims.report(db, cmd, actor)
    return Created(status, view)


report_claim.command = claims.ClaimReport  # type: ignore[attr-defined]


@takes(claims.ClaimSearch)
def search_claims(db: Any, cmd: claims.ClaimSearch, actor: Actor) -> dict[str, Any]:
    return {"items": claims.search(
        db, cmd.insured_id_number, cmd.status, cmd.handler,
        cmd.due_before.isoformat() if cmd.due_before else None, cmd.breached, cmd.limit)}


@takes(claims.ClaimRef)
def get_claim(db: Any, cmd: claims.ClaimRef, actor: Actor) -> dict[str, Any]:
    return claims.get_claim(db, cmd.claim_no)


@takes(claims.ClaimRef)
def claim_progress(db: Any, cmd: claims.ClaimRef, actor: Actor) -> dict[str, Any]:
    return claims.progress(db, cmd.claim_no)


class DocumentRef(Command):
    claim_no: Reference
    document_id: RowId


@takes(DocumentRef)
def claim_document(db: Any, cmd: DocumentRef, actor: Actor) -> dict[str, Any]:
    return document_reading.document_view(db, cmd.claim_no, str(cmd.document_id))


class LetterRef(Command):
    claim_no: Reference
    letter_no: Reference


@takes(LetterRef)
def claim_letter(db: Any, cmd: LetterRef, actor: Actor) -> str:
    """A written notice of the claim (e.g. the rejection letter, Art. 24) as plain text."""
    view = claims.get_claim(db, cmd.claim_no)
    letter = next((x for x in view["letters"] if x["letter_no"] == cmd.letter_no), None)
    if letter is None:
        raise NotFound(f"通知书 {cmd.letter_no} 不存在", "letter_no")
    return str(letter["body"])


class Window(Command):
    """A statistics window: `from` and `to`, YYYY-MM-DD (default: this year so far)."""

    start: Day | None = Field(default=None, alias="from")
    end: Day | None = Field(default=None, alias="to")


def _window(cmd: Any) -> tuple[str | None, str | None]:
    return (cmd.start.isoformat() if cmd.start else None,
            cmd.end.isoformat() if cmd.end else None)


@takes(Window)
def claim_stats(db: Any, cmd: Window, actor: Actor) -> dict[str, Any]:
    return stats_service.claim_stats(db, *_window(cmd))


@takes(Window)
def claim_charts(db: Any, cmd: Window, actor: Actor) -> str:
    return render_claim_charts(stats_service.claim_stats(db, *_window(cmd)))


XLSX = disclosure.XLSX


def disclosure_html(db: Any, cmd: scheme.QuarterRef, actor: Actor) -> str:
    return disclosure.render_html(scheme.quarterly_report(db, cmd))


def disclosure_xlsx(db: Any, cmd: scheme.QuarterRef, actor: Actor) -> web.Response:
    report = scheme.quarterly_report(db, cmd)
    name = disclosure.file_name(report)
    return web.Response(body=disclosure.render_xlsx(report), content_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


disclosure_html.command = disclosure_xlsx.command = scheme.QuarterRef  # type: ignore[attr-defined]


UPLOAD_BODY = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"},
                   "doc_type": {"type": "string", "maxLength": 40,
                                "description": "The requirement it answers (e.g. id_card); "
                                "omitted: OCR recognises the type."}}}}}


async def _read_part(part: Any, limit: int) -> bytes | None:
    """A part's bytes, or None when it holds more than `limit`."""
    chunks, size = [], 0
    while True:
        chunk = await part.read_chunk(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def _too_large() -> TooLarge:
    return TooLarge("file", f"上传的文件不能超过 {claims.MAX_UPLOAD // (1024 * 1024)} MB")


def _clean_text(value: str | None, limit: int) -> str:
    """Printable, encodable text from a multipart header (file name, content type)."""
    text = "".join(ch for ch in (value or "") if ch.isprintable())
    return text.encode("utf-8", "ignore").decode("utf-8")[:limit]


async def _multipart(request: web.Request) -> tuple[bytes, str, str, str | None]:
    """The file's bytes, name and type, and the form's doc_type."""
    if (request.content_length or 0) > claims.MAX_UPLOAD + MAX_MULTIPART_OVERHEAD:
        raise _too_large()
    if not request.content_type.startswith("multipart/"):
        raise ValidationError("file", "请以 multipart/form-data 上传，文件字段名为 file")
    data: bytes | None = None
    filename, content_type, doc_type = "", "", None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ValidationError("file", "不支持嵌套的 multipart")
            if part.name == "file" and data is None:
                data = await _read_part(part, claims.MAX_UPLOAD)
                if data is None:
                    raise _too_large()
                filename = _clean_text(part.filename, 200)
                content_type = _clean_text(part.headers.get("Content-Type"), 100)
            elif part.name == "doc_type" and doc_type is None:
                doc_type = _form_field(await _read_part(part, MAX_FORM_FIELD), "doc_type")
            else:
                await part.release()
    except (HttpProcessingError, ValueError, AssertionError, LookupError, RuntimeError,
            TypeError) as exc:
        log.info("unreadable multipart on %s: %s", request.path, exc)
        raise ValidationError("file", "multipart 请求体无法解析") from None
    if data is None:
        raise ValidationError("file", "请上传文件（字段名 file）")
    return data, filename, content_type, doc_type or None


def _form_field(raw: bytes | None, name: str) -> str:
    try:
        text = raw.decode("utf-8") if raw is not None else None
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        raise ValidationError(name, f"{name} 须为不超过 {MAX_FORM_FIELD} 字节的文本")
    return text.strip()


@reads(claims.ClaimRef)
async def upload_document(call: Call, cmd: claims.ClaimRef) -> Created:
    """A document for a claim: multipart/form-data with `file` and optional `doc_type`."""
    files = call.request.app.get(FILES_KEY)
    if files is None:
        raise NotFound("此服务未配置材料存储，不能上传", "file")
    data, filename, content_type, doc_type = await _multipart(call.request)
    reader = call.request.app.get(READER_KEY)
    reading = None
    if reader is not None and (doc_type is None or (doc_type.isidentifier()
                                                    and len(doc_type) <= 40)):
        # read off the event loop before the transaction: the claim is locked only briefly
        await run_use_case(call.db, document_reading.check_claim_open, call.db, cmd.claim_no)
        reading = await reader.read(data, document_reading.ocr_type_for(doc_type))
    receipt = await run_use_case(
        call.db, claims.upload_document, call.db, files, cmd.claim_no,
        filename, content_type, data, doc_type, str(call.actor), reading, heavy=True)
    return Created(201, receipt)


# ---- complaints, home visits, satisfaction, endorsement requests ------------------------------

@takes(Nothing)
def satisfaction_stats(db: Any, cmd: Nothing, actor: Actor) -> dict[str, Any]:
    return satisfaction.stats(db)

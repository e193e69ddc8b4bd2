"""The back office's REST API under /api/v1: JSON in and out, bearer-token auth.

Handlers validate the request's shape, call one service (in a worker thread: the store is
synchronous SQLAlchemy) and turn domain errors into 4xx answers naming the field.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import io
import json
import logging
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy.exc import DataError

from backoffice.api.access import (
    PRINCIPAL_KEY,
    Principal,
    bearer,
    is_service_token,
    masked_response,
    refuse_role,
    route_template,
    staff_of,
    wants_masking,
)
from backoffice.api.charts import render_claim_charts
from backoffice.api.document import render_policy_document
from backoffice.api.openapi import openapi_document
from backoffice.api.reading import DocumentReader
from backoffice.domain import api_access
from backoffice.domain import staff as roles
from backoffice.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    NotFound,
)
from backoffice.domain.errors import ValidationError as Invalid
from backoffice.domain.party import parse_date
from backoffice.services import (
    audit_log,
    bindings,
    claim_stats,
    claims,
    complaints,
    document_reading,
    endorsement_requests,
    endorsements,
    group,
    home_visits,
    lookup,
    notifications,
    outlets,
    parties,
    policies,
    products,
    satisfaction,
    staff,
)
from backoffice.services.base import today_cn
from backoffice.store.db import Database
from backoffice.store.files import FileStore

log = logging.getLogger("xiaobao.api")

DB_KEY = web.AppKey("db", Database)
TOKEN_KEY = web.AppKey("api_token", str)
FILES_KEY = web.AppKey("files", FileStore)
TOKEN_LIFETIME_KEY = web.AppKey("staff_token_lifetime", timedelta)
READER_KEY = web.AppKey("document_reader", DocumentReader)
MAX_ROSTER_BYTES = 256 * 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message, "field": field}}, status=status,
        dumps=_dumps,
    )


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


_STATUS = {NotFound: 404, Conflict: 409, IllegalTransition: 409, Invalid: 400, Forbidden: 403,
           staff.TooManyLogins: 429}


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors become 4xx with the field; anything unexpected a bare 500, logged."""
    try:
        return await handler(request)
    except DomainError as exc:
        status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 422)
        return error_response(status, exc.code, exc.message, exc.field)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error_response(exc.status, "http_error", exc.reason, None)
        raise
    except DataError:  # the database refused a value (too long, out of range): bad input
        log.warning("database refused a value on %s %s", request.method, request.path,
                    exc_info=True)
        return error_response(400, "invalid", "输入的数据超出允许的长度或范围")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "服务暂时不可用，请稍后再试")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The service token, or a staff member's token and the role table, on every route."""
    template = route_template(request)
    if template is not None and api_access.is_public(request.method, template):
        return await handler(request)
    token = bearer(request)
    if token is not None and is_service_token(token, request.app[TOKEN_KEY]):
        return await handler(request)
    user = await run(staff.api_token_user, db_of(request), token) if token else None
    if user is None:
        return error_response(401, "unauthorized", "需要有效的 Bearer 令牌（令牌无效或已过期）",
                              "Authorization")
    principal = Principal(user.username, user.role, token)
    request[PRINCIPAL_KEY] = principal
    if template is None:  # no such route: the router's 404 or 405
        return await handler(request)
    if not api_access.staff_may(user.role, request.method, template):
        return error_response(403, "forbidden",
                              f"您的角色（{principal.role_name}）无权调用此接口", None)
    response = await handler(request)
    return masked_response(response) if wants_masking(principal, template) else response


@web.middleware
async def nul_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No real value holds a NUL character, and PostgreSQL text cannot store one."""
    for key, value in request.query.items():
        if "\x00" in key or "\x00" in value:
            raise Invalid(key.replace("\x00", ""), "参数含有不允许的控制字符")
    if "\x00" in request.path:
        raise Invalid("path", "路径含有不允许的控制字符")
    return await handler(request)


def _nul_field(value: Any, where: str = "") -> str | None:
    """The place in a JSON value where a string or a key holds a NUL character, if any."""
    if isinstance(value, str):
        return (where or "body") if "\x00" in value else None
    if isinstance(value, dict):
        places = [(f"{where}.{k}" if where else k, v) for k, v in value.items()]
    elif isinstance(value, list):
        places = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for place, item in places:
        if "\x00" in place:
            return place.replace("\x00", "")
        found = _nul_field(item, place)
        if found:
            return found
    return None


async def run(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a synchronous use case off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))


async def body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, LookupError, RecursionError):
        # not JSON, not decodable (bad bytes or unknown charset), a number beyond int's digit
        # limit, or nesting beyond the parser's recursion limit
        raise Invalid("body", "请求体不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise Invalid("body", "请求体须为 JSON 对象")
    nul = _nul_field(data)
    if nul:
        raise Invalid(nul, "含有不允许的控制字符")
    return data


def actor_of(request: web.Request, data: dict[str, Any] | None = None) -> str:
    """A staff member acts as themself (the token says who); the service token names its
    actor in the body or the X-Actor header."""
    member = staff_of(request)
    if member is not None and member.username:
        return member.username
    actor = (data or {}).get("actor") or request.headers.get("X-Actor") or "api"
    if not isinstance(actor, str) or len(actor) > 60:
        raise Invalid("actor", "actor 须为不超过 60 字的文本")
    return actor


def db_of(request: web.Request) -> Database:
    return request.app[DB_KEY]


# ---- handlers --------------------------------------------------------------------------------

async def get_openapi(request: web.Request) -> web.Response:
    return ok(openapi_document())


async def post_auth_token(request: web.Request) -> web.Response:
    """A staff member signs in: username + password → a bearer token that expires."""
    data = await body(request)
    lifetime = request.app[TOKEN_LIFETIME_KEY]
    grant = await run(staff.issue_api_token, db_of(request), data.get("username"),
                      data.get("password"), lifetime)
    if grant is None:  # the same answer whether the user exists, is disabled or mistyped
        return error_response(401, "invalid_credentials", "用户名或密码错误", None)
    user = grant.user
    return ok({"access_token": grant.token, "token_type": "Bearer",
               "expires_at": grant.expires_at.isoformat(),
               "expires_in": int(lifetime.total_seconds()),
               "staff": {"username": user.username, "display_name": user.display_name,
                         "role": user.role, "role_name": user.role_name}}, 201)


async def delete_auth_token(request: web.Request) -> web.Response:
    """Sign out: the presented staff token stops working."""
    member = staff_of(request)
    if member is None or member.token is None:
        raise Invalid("Authorization", "服务令牌不能注销；此接口注销工作人员的令牌")
    await run(staff.revoke_api_token, db_of(request), member.token, member.username or "-")
    return ok({"revoked": True})


async def list_products(request: web.Request) -> web.Response:
    return ok({"items": await run(products.list_products, db_of(request))})


async def get_product(request: web.Request) -> web.Response:
    return ok(await run(products.get_product, db_of(request), request.match_info["code"]))


async def post_quote(request: web.Request) -> web.Response:
    return ok(await run(policies.quote_request, db_of(request), await body(request)))


async def post_application(request: web.Request) -> web.Response:
    data = await body(request)
    return ok(await run(policies.apply, db_of(request), data, actor_of(request, data)), 201)


async def get_application(request: web.Request) -> web.Response:
    no = request.match_info["application_no"]
    if not no.startswith("A"):
        raise NotFound(f"投保单 {no} 不存在", "application_no")
    return ok(await run(policies.get_policy, db_of(request), no))


async def post_underwriting(request: web.Request) -> web.Response:
    no = request.match_info["application_no"]
    data = await body(request) if request.can_read_body else {}
    return ok(await run(policies.run_underwriting, db_of(request), no, actor_of(request, data),
                        data))


async def post_issue(request: web.Request) -> web.Response:
    no = request.match_info["application_no"]
    data = await body(request) if request.can_read_body else {}
    detail = await run(policies.issue, db_of(request), no, actor_of(request, data))
    return ok(with_document_url(request, detail))


async def post_payment(request: web.Request) -> web.Response:
    ref = request.match_info.get("application_no") or request.match_info["policy_no"]
    data = await body(request)
    return ok(await run(policies.record_payment, db_of(request), ref, data,
                        actor_of(request, data)), 201)


async def find_policies(request: web.Request) -> web.Response:
    id_number = request.query.get("id_number")
    if not id_number:
        raise Invalid("id_number", "请提供被保险人身份证号 id_number")
    return ok({"items": await run(lookup.policies_for_id_number, db_of(request), id_number)})


def _policy_no(request: web.Request) -> str:
    no = request.match_info["policy_no"]
    if no.startswith("A"):
        raise NotFound(f"保单 {no} 不存在（投保单请用 /applications/{no}）", "policy_no")
    return no


def document_signature(api_token: str, policy_no: str) -> str:
    """A capability for one policy's document: shareable with the customer, not guessable."""
    key = hashlib.sha256(b"policy-document:" + api_token.encode()).digest()
    return hmac.new(key, policy_no.encode(), hashlib.sha256).hexdigest()[:32]


def with_document_url(request: web.Request, detail: dict[str, Any]) -> dict[str, Any]:
    no = detail.get("policy_no")
    if no:
        sig = document_signature(request.app[TOKEN_KEY], no)
        detail["document_url"] = f"/documents/policies/{no}?sig={sig}"
    return detail


async def get_policy(request: web.Request) -> web.Response:
    detail = await run(policies.get_policy, db_of(request), _policy_no(request))
    return ok(with_document_url(request, detail))


async def post_transition(request: web.Request) -> web.Response:
    data = await body(request)
    return ok(await run(policies.transition, db_of(request), _policy_no(request), data,
                        actor_of(request, data)))


async def post_endorsement(request: web.Request) -> web.Response:
    data = await body(request)
    return ok(await run(endorsements.endorse, db_of(request), _policy_no(request), data,
                        actor_of(request, data)), 201)


async def get_document(request: web.Request) -> web.Response:
    detail = await run(policies.get_policy, db_of(request), _policy_no(request))
    return web.Response(text=render_policy_document(detail), content_type="text/html")


async def get_party(request: web.Request) -> web.Response:
    return ok(await run(parties.get_party, db_of(request), request.match_info["id_number"]))


async def patch_party(request: web.Request) -> web.Response:
    data = await body(request)
    actor = actor_of(request, data)
    data.pop("actor", None)
    return ok(await run(parties.update_party, db_of(request), request.match_info["id_number"],
                        data, actor))


async def post_group_policy(request: web.Request) -> web.Response:
    data = await body(request)
    name = data.get("applicant_name")
    if not isinstance(name, str):
        raise Invalid("applicant_name", "请提供投保单位名称")
    start = parse_date(data.get("start_date"), "start_date")
    return ok(await run(group.create_group_policy, db_of(request), data.get("product_code"),
                        name, start, actor_of(request, data)), 201)


async def post_roster(request: web.Request) -> web.Response:
    """A roster CSV as the request body, spooled to disk so any size streams through."""
    policy_no = request.match_info["policy_no"]
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_ROSTER_BYTES:
            spool.close()
            raise Invalid("file", "清单文件过大")
        spool.write(chunk)
    if size == 0:
        spool.close()
        raise Invalid("file", "请求体为空，请上传 CSV 清单")
    spool.seek(0)
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    try:
        result = await run(group.import_roster, db_of(request), policy_no, text,
                           actor_of(request))
    finally:
        text.close()
    return ok(result.as_dict())


async def post_auto_enrollment(request: web.Request) -> web.Response:
    data = await body(request) if request.can_read_body else {}
    as_of = parse_date(data["as_of"], "as_of") if data.get("as_of") else today_cn()
    count = await run(group.auto_enroll, db_of(request), request.match_info["policy_no"],
                      as_of, actor_of(request, data))
    return ok({"enrolled": count})


async def get_outlets(request: web.Request) -> web.Response:
    items = await run(outlets.list_outlets, db_of(request), request.query.get("town"),
                      request.query.get("service"))
    return ok({"items": items})


async def get_audit(request: web.Request) -> web.Response:
    entity_type = request.query.get("entity_type")
    entity_id = request.query.get("entity_id")
    if not entity_type or not entity_id:
        missing = "entity_id" if entity_type else "entity_type"
        raise Invalid(missing, "请提供 entity_type 和 entity_id")
    return ok({"items": await run(audit_log.entries, db_of(request), entity_type, entity_id)})


# ---- notifications -----------------------------------------------------------------------------

async def get_dead_letters(request: web.Request) -> web.Response:
    limit = _limit(request.query.get("limit"))
    return ok({"items": await run(notifications.dead_letters, db_of(request), limit)})


async def post_requeue(request: web.Request) -> web.Response:
    """Give dead letters (those listed, or all) a fresh set of tries."""
    data = await body(request)
    ids = data.get("ids")
    if ids is not None and (not isinstance(ids, list) or len(ids) > 1000 or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise Invalid("ids", "ids 须为整数列表（最多 1000 个），省略则全部重发")
    count = await run(notifications.requeue_dead, db_of(request), None, ids,
                      actor_of(request, data))
    return ok({"requeued": count})


def _limit(raw: str | None) -> int:
    if raw is None:
        return 100
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise Invalid("limit", "limit 须为 1–1000 的整数")
    return int(raw)


# ---- claims ------------------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_MULTIPART_OVERHEAD = 64 * 1024
MAX_FORM_FIELD = 200
_BOOLEAN = {"true": True, "false": False, "1": True, "0": False}


def _header_text(value: str, field: str, limit: int) -> str:
    """A header value that can be stored: printable, valid Unicode, not too long."""
    if not 1 <= len(value) <= limit or not value.isprintable():
        raise Invalid(field, f"{field} 须为 1–{limit} 个可打印字符")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(field, f"{field} 含有无效字符") from None
    return value


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    return _header_text(key, IDEMPOTENCY_HEADER, 200)


def claim_actor(request: web.Request, data: dict[str, Any] | None = None,
                default: str = "api") -> str:
    """The body's `actor`, else the X-Actor header, else `default`; checked like any text.
    A staff member's token decides instead: they act as themself."""
    member = staff_of(request)
    if member is not None and member.username:
        return member.username
    raw = (data or {}).get("actor")
    if raw is None:
        header = request.headers.get("X-Actor")
        return _header_text(header, "actor", 60) if header is not None else default
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 60:
        raise Invalid("actor", "actor 须为不超过 60 字的文本")
    return raw.strip()


def _clean_text(value: str | None, limit: int) -> str:
    """Printable, encodable text from a multipart header (file name, content type)."""
    text = "".join(ch for ch in (value or "") if ch.isprintable())
    return text.encode("utf-8", "ignore").decode("utf-8")[:limit]


def files_of(request: web.Request) -> FileStore:
    return request.app[FILES_KEY]


async def post_claim(request: web.Request) -> web.Response:
    """报案. The same Idempotency-Key again answers 200 with the claim it made."""
    data = await body(request)
    key = _idempotency_key(request)
    status, view = await run(claims.report, db_of(request), data, key,
                             claim_actor(request, data, "customer"))
    return ok(view, status)


async def list_claims(request: web.Request) -> web.Response:
    q = request.query
    breached: bool | None = None
    if "breached" in q:
        breached = _BOOLEAN.get(q["breached"].strip().lower())
        if breached is None:
            raise Invalid("breached", "breached 须为 true 或 false")
    handler = q.get("handler") or None
    if handler is not None and len(handler) > 60:
        raise Invalid("handler", "经办人不超过 60 字")
    limit = 200
    if "limit" in q:
        raw = q["limit"].strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= 500):
            raise Invalid("limit", "limit 须为 1–500 的整数")
        limit = int(raw)
    items = await run(claims.search, db_of(request), q.get("insured_id_number") or None,
                      q.get("status") or None, handler, q.get("due_before") or None, breached,
                      limit)
    return ok({"items": items})


async def get_claim(request: web.Request) -> web.Response:
    return ok(await run(claims.get_claim, db_of(request), request.match_info["claim_no"]))


async def get_claim_progress(request: web.Request) -> web.Response:
    return ok(await run(claims.progress, db_of(request), request.match_info["claim_no"]))


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


def _too_large(what: str) -> web.Response:
    mb = claims.MAX_UPLOAD // (1024 * 1024)
    return error_response(413, "too_large", f"{what}不能超过 {mb} MB", "file")


async def post_claim_document(request: web.Request) -> web.Response:
    """A document for a claim: multipart/form-data with `file` and optional `doc_type`."""
    claim_no = request.match_info["claim_no"]
    if (request.content_length or 0) > claims.MAX_UPLOAD + MAX_MULTIPART_OVERHEAD:
        return _too_large("上传的文件")
    if not request.content_type.startswith("multipart/"):
        raise Invalid("file", "请以 multipart/form-data 上传，文件字段名为 file")
    data: bytes | None = None
    filename, content_type = "", ""
    fields: dict[str, str] = {}
    try:
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                raise Invalid("file", "不支持嵌套的 multipart")
            if part.name == "file" and data is None:
                data = await _read_part(part, claims.MAX_UPLOAD)
                if data is None:
                    return _too_large("上传的文件")
                filename = _clean_text(part.filename, 200)
                content_type = _clean_text(part.headers.get("Content-Type"), 100)
            elif part.name in ("doc_type", "actor") and part.name not in fields:
                raw = await _read_part(part, MAX_FORM_FIELD)
                try:
                    text = raw.decode("utf-8") if raw is not None else None
                except UnicodeDecodeError:
                    text = None
                if text is None or "\x00" in text:
                    raise Invalid(part.name, f"{part.name} 须为不超过 {MAX_FORM_FIELD} 字节的文本")
                fields[part.name] = text.strip()
            else:
                await part.release()
    except (HttpProcessingError, ValueError, AssertionError, LookupError, RuntimeError,
            TypeError) as exc:
        log.info("unreadable multipart on %s: %s", request.path, exc)
        raise Invalid("file", "multipart 请求体无法解析") from None
    if data is None:
        raise Invalid("file", "请上传文件（字段名 file）")
    actor = claim_actor(request, {"actor": fields["actor"]} if "actor" in fields else None,
                        "customer")
    doc_type = fields.get("doc_type") or None
    reader = request.app.get(READER_KEY)
    reading = None
    if reader is not None and (doc_type is None or (doc_type.isidentifier()
                                                    and len(doc_type) <= 40)):
        # read off the event loop before the transaction: the claim is locked only briefly
        await run(document_reading.check_claim_open, db_of(request), claim_no)
        reading = await reader.read(data, document_reading.ocr_type_for(doc_type))
    receipt = await run(claims.upload_document, db_of(request), files_of(request), claim_no,
                        filename, content_type, data, doc_type, actor, reading)
    return ok(receipt, 201)


async def get_claim_document(request: web.Request) -> web.Response:
    """One document of a claim with what OCR read on it (fields, needs_review, status)."""
    return ok(await run(document_reading.document_view, db_of(request),
                        request.match_info["claim_no"], request.match_info["document_id"]))


def _as_claims_staff(request: web.Request, data: dict[str, Any]) -> dict[str, Any]:
    """A staff member's claim step: the actions of their role, as themself, with the authority
    limit of their role (never the body's `actor` or `role`)."""
    member = staff_of(request)
    if member is None or member.role is None:
        return data
    action = data.get("action")
    if not isinstance(action, str) or not roles.may_take_claim_action(member.role, action):
        raise refuse_role(member, f"执行理赔操作 {str(action)[:40]}", "action")
    data = {**data, "actor": member.username}
    if action == "approve":
        data["role"] = roles.CLAIM_APPROVAL_ROLE[member.role]
    return data


async def post_claim_transition(request: web.Request) -> web.Response:
    data = _as_claims_staff(request, await body(request))
    return ok(await run(claims.transition, db_of(request), request.match_info["claim_no"],
                        data))


async def get_claim_letter(request: web.Request) -> web.Response:
    """A written notice of the claim (e.g. the rejection letter, Art. 24) as plain text."""
    letter_no = request.match_info["letter_no"]
    view = await run(claims.get_claim, db_of(request), request.match_info["claim_no"])
    letter = next((x for x in view["letters"] if x["letter_no"] == letter_no), None)
    if letter is None:
        raise NotFound(f"通知书 {letter_no} 不存在", "letter_no")
    return web.Response(text=letter["body"], content_type="text/plain", charset="utf-8")


async def post_adjudication_preview(request: web.Request) -> web.Response:
    return ok(await run(claims.preview, db_of(request), await body(request)))


async def get_claim_stats(request: web.Request) -> web.Response:
    q = request.query
    return ok(await run(claim_stats.claim_stats, db_of(request), q.get("from"), q.get("to")))


async def get_claim_charts(request: web.Request) -> web.Response:
    q = request.query
    stats = await run(claim_stats.claim_stats, db_of(request), q.get("from"), q.get("to"))
    return web.Response(text=render_claim_charts(stats), content_type="text/html",
                        charset="utf-8")


# ---- complaints, home visits, satisfaction ----------------------------------------------------

def _flag(q: Any, name: str) -> bool | None:
    if name not in q:
        return None
    value = _BOOLEAN.get(q[name].strip().lower())
    if value is None:
        raise Invalid(name, f"{name} 须为 true 或 false")
    return value


def _short(q: Any, name: str, limit: int = 60) -> str | None:
    value = (q.get(name) or "").strip() or None
    if value is not None and len(value) > limit:
        raise Invalid(name, f"{name} 不超过 {limit} 字")
    return value


async def post_complaint(request: web.Request) -> web.Response:
    data = await body(request)
    view = await run(complaints.intake, db_of(request), data,
                     claim_actor(request, data, "customer"))
    return ok(view, 201)


async def list_complaints(request: web.Request) -> web.Response:
    q = request.query
    items = await run(functools.partial(
        complaints.search, db_of(request), status=_short(q, "status"),
        handler=_short(q, "handler"), claim_no=_short(q, "claim_no"), q=_short(q, "q", 100),
        open_only=bool(_flag(q, "open")), breached=_flag(q, "breached")))
    return ok({"items": items})


async def get_complaint(request: web.Request) -> web.Response:
    return ok(await run(complaints.get, db_of(request), request.match_info["complaint_no"]))


async def post_complaint_transition(request: web.Request) -> web.Response:
    data = await body(request)
    member = staff_of(request)
    if member is not None:  # an extension is a supervisor's approval, given as themself
        action = data.get("action")
        if not member.may(api_access.complaint_action_permission(action)):
            raise refuse_role(member, f"执行投诉操作 {str(action)[:40]}", "action")
        data = {**data, "actor": member.username}
        if action == "extend":
            data["approved_by"] = member.username
    return ok(await run(complaints.transition, db_of(request),
                        request.match_info["complaint_no"], data))


async def post_home_visit(request: web.Request) -> web.Response:
    data = await body(request)
    return ok(await run(home_visits.request, db_of(request), data,
                        claim_actor(request, data, "customer")), 201)


async def list_home_visits(request: web.Request) -> web.Response:
    return ok({"items": await run(home_visits.search, db_of(request))})


async def get_home_visit(request: web.Request) -> web.Response:
    return ok(await run(home_visits.get, db_of(request), request.match_info["visit_no"]))


async def post_home_visit_transition(request: web.Request) -> web.Response:
    data = await body(request)
    member = staff_of(request)
    if member is not None:
        data = {**data, "actor": member.username}
    return ok(await run(home_visits.transition, db_of(request), request.match_info["visit_no"],
                        data))


async def post_satisfaction(request: web.Request) -> web.Response:
    return ok(await run(satisfaction.record, db_of(request), await body(request)), 201)


async def get_satisfaction_stats(request: web.Request) -> web.Response:
    return ok(await run(satisfaction.stats, db_of(request)))


# ---- endorsement requests (保全申请) -------------------------------------------------------------

async def post_endorsement_request(request: web.Request) -> web.Response:
    data = await body(request)
    return ok(await run(endorsement_requests.submit, db_of(request), data,
                        claim_actor(request, data, "customer")), 201)


async def list_endorsement_requests(request: web.Request) -> web.Response:
    q = request.query
    items = await run(functools.partial(
        endorsement_requests.search, db_of(request), status=_short(q, "status"),
        policy_no=_short(q, "policy_no", 30), kind=_short(q, "kind", 30),
        limit=_limit(q.get("limit")) if "limit" in q else 200))
    return ok({"items": items})


async def get_endorsement_request(request: web.Request) -> web.Response:
    return ok(await run(endorsement_requests.get, db_of(request),
                        request.match_info["request_no"]))


async def post_endorsement_request_transition(request: web.Request) -> web.Response:
    data = await body(request)
    return ok(await run(endorsement_requests.transition, db_of(request),
                        request.match_info["request_no"], data))


async def post_binding(request: web.Request) -> web.Response:
    try:
        member = staff_of(request)
        return ok(await run(bindings.bind, db_of(request), await body(request),
                            member.username if member else "bot"))
    except bindings.IdentityMismatch as exc:
        return error_response(403, exc.code, exc.message, exc.field)
    except bindings.TooManyAttempts as exc:
        return error_response(429, exc.code, exc.message, exc.field)


async def get_binding(request: web.Request) -> web.Response:
    m = request.match_info
    return ok(await run(bindings.get, db_of(request), m["channel"], m["user"]))


async def delete_binding(request: web.Request) -> web.Response:
    m = request.match_info
    member = staff_of(request)
    return ok(await run(bindings.unbind, db_of(request), m["channel"], m["user"],
                        member.username if member else "bot"))


def create_api(db: Database, api_token: str, files: FileStore | None = None,
               reader: DocumentReader | None = None,
               staff_token_lifetime: timedelta = staff.API_TOKEN_LIFETIME) -> web.Application:
    """The /api/v1 app; `files` keeps uploaded claim documents (default var/files); `reader`
    reads them with OCR (none: documents are stored unread); staff tokens live
    `staff_token_lifetime`."""
    app = web.Application(middlewares=[errors_middleware, auth_middleware, nul_middleware])
    app[TOKEN_LIFETIME_KEY] = staff_token_lifetime
    if reader is not None:
        app[READER_KEY] = reader

        async def close_reader(_app: web.Application) -> None:
            reader.close()

        app.on_cleanup.append(close_reader)
    app[DB_KEY] = db
    app[TOKEN_KEY] = api_token
    app[FILES_KEY] = files or FileStore(Path("var", "files").resolve())
    r = app.router
    r.add_get("/openapi.json", get_openapi)
    r.add_post("/auth/token", post_auth_token)
    r.add_delete("/auth/token", delete_auth_token)
    r.add_get("/products", list_products)
    r.add_get("/products/{code}", get_product)
    r.add_post("/quotes", post_quote)
    r.add_post("/applications", post_application)
    r.add_get("/applications/{application_no}", get_application)
    r.add_post("/applications/{application_no}/underwriting", post_underwriting)
    r.add_post("/applications/{application_no}/payments", post_payment)
    r.add_post("/applications/{application_no}/issue", post_issue)
    r.add_get("/policies", find_policies)
    r.add_get("/policies/{policy_no}", get_policy)
    r.add_post("/policies/{policy_no}/payments", post_payment)
    r.add_post("/policies/{policy_no}/transitions", post_transition)
    r.add_post("/policies/{policy_no}/endorsements", post_endorsement)
    r.add_get("/policies/{policy_no}/document", get_document)
    r.add_get("/parties/{id_number}", get_party)
    r.add_patch("/parties/{id_number}", patch_party)
    r.add_post("/group-policies", post_group_policy)
    r.add_post("/group-policies/{policy_no}/roster", post_roster)
    r.add_post("/group-policies/{policy_no}/auto-enrollment", post_auto_enrollment)
    r.add_get("/service-outlets", get_outlets)
    r.add_get("/audit", get_audit)
    r.add_post("/claims", post_claim)
    r.add_get("/claims", list_claims)
    r.add_get("/claims/{claim_no}", get_claim)
    r.add_get("/claims/{claim_no}/progress", get_claim_progress)
    r.add_post("/claims/{claim_no}/documents", post_claim_document)
    r.add_get("/claims/{claim_no}/documents/{document_id}", get_claim_document)
    r.add_post("/claims/{claim_no}/transitions", post_claim_transition)
    r.add_get("/claims/{claim_no}/letters/{letter_no}", get_claim_letter)
    r.add_post("/adjudication/preview", post_adjudication_preview)
    r.add_get("/stats/claims", get_claim_stats)
    r.add_get("/stats/claims/charts", get_claim_charts)
    r.add_get("/notifications/dead", get_dead_letters)
    r.add_post("/notifications/dead/requeue", post_requeue)
    r.add_post("/complaints", post_complaint)
    r.add_get("/complaints", list_complaints)
    r.add_get("/complaints/{complaint_no}", get_complaint)
    r.add_post("/complaints/{complaint_no}/transitions", post_complaint_transition)
    r.add_post("/home-visits", post_home_visit)
    r.add_get("/home-visits", list_home_visits)
    r.add_get("/home-visits/{visit_no}", get_home_visit)
    r.add_post("/home-visits/{visit_no}/transitions", post_home_visit_transition)
    r.add_post("/endorsement-requests", post_endorsement_request)
    r.add_get("/endorsement-requests", list_endorsement_requests)
    r.add_get("/endorsement-requests/{request_no}", get_endorsement_request)
    r.add_post("/endorsement-requests/{request_no}/transitions",
               post_endorsement_request_transition)
    r.add_post("/satisfaction", post_satisfaction)
    r.add_get("/stats/satisfaction", get_satisfaction_stats)
    from backoffice.api import conversations as conversations_api  # needs this module's helpers

    conversations_api.add_routes(app)
    r.add_post("/bindings", post_binding)
    r.add_get("/bindings/{channel}/{user}", get_binding)
    r.add_delete("/bindings/{channel}/{user}", delete_binding)
    return app

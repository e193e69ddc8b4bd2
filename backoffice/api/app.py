"""The back office's REST API under /api/v1: JSON in and out, bearer-token auth.

The routes are the table of backoffice.api.operations, each run by the one entry point of
backoffice.api.declare. Here: who the caller is, whether their role may call the operation,
masking of personal data for roles that need not see it, and domain errors as 4xx naming the
field. The store comes from the composition root (xiaobao.platform) as `db`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DataError

from backoffice.api.access import bearer, is_service_token, masked_response
from backoffice.api.declare import PRINCIPAL_KEY, PUBLIC, SHOWN_ROWS, Operation, dumps, entry
from backoffice.api.endpoints import (
    FILES_KEY,
    LIFETIME_KEY,
    LINK_LIFETIME_KEY,
    READER_KEY,
    TOKEN_KEY,
    InvalidCredentials,
    TooLarge,
)
from backoffice.api.operations import OPERATIONS
from backoffice.api.reading import DocumentReader
from backoffice.domain import access_log as al
from backoffice.domain import staff as roles
from backoffice.domain.document_link import LINK_LIFETIME
from backoffice.domain.errors import (
    Conflict,
    Damaged,
    DomainError,
    Forbidden,
    IllegalTransition,
    NotFound,
    Throttled,
    Unavailable,
)
from backoffice.domain.errors import ValidationError as Invalid
from backoffice.services import bindings, privacy_access, staff
from backoffice.services.running import run_use_case

log = logging.getLogger("xiaobao.api")

PREFIX = "/api/v1"
DB_KEY = web.AppKey("db", Any)
OPERATION_KEY = "api_operation"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# the most specific class first: TooLarge is an Invalid, IdentityMismatch a DomainError
_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (TooLarge, 413), (InvalidCredentials, 401), (NotFound, 404), (Conflict, 409),
    (IllegalTransition, 409), (Invalid, 400), (Forbidden, 403), (staff.TooManyLogins, 429),
    (bindings.IdentityMismatch, 403), (bindings.TooManyAttempts, 429), (Unavailable, 503),
    (Damaged, 409))


def error_response(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message, "field": field}}, status=status,
        dumps=dumps)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors become 4xx with the field; anything unexpected a bare 500, logged."""
    try:
        return await handler(request)
    except DomainError as exc:
        status = next((s for t, s in _STATUS if isinstance(exc, t)), 422)
        answer = error_response(status, exc.code, exc.message, exc.field)
        if isinstance(exc, Throttled | Unavailable):  # clients know when to come back
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    except web.HTTPException as exc:
        if exc.status >= 400:
            answer = error_response(exc.status, "http_error", exc.reason,
                                    _HTTP_FIELDS.get(exc.status, "path"))
            if "Allow" in exc.headers:  # a 405 says what the route takes
                answer.headers["Allow"] = exc.headers["Allow"]
            return answer
        raise
    except DataError:  # the database refused a value (too long, out of range): bad input
        log.warning("database refused a value on %s %s", request.method, request.path,
                    exc_info=True)
        return error_response(400, "invalid", "输入的数据超出允许的长度或范围")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "服务暂时不可用，请稍后再试")


# what an HTTP-level refusal is about: the method (405), the body (413), else the path (404)
_HTTP_FIELDS = {405: "method", 413: "body", 415: "Content-Type"}


def operation_of(request: web.Request) -> Operation | None:
    """The operation the request's route runs; None when nothing matched (404/405)."""
    if request.match_info.http_exception is not None:
        return None
    return getattr(request.match_info.handler, "operation", None)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The service token, or a staff member's token and the operation's permission."""
    op = operation_of(request)
    if op is not None and op.permission == PUBLIC:
        return await handler(request)
    token = bearer(request)
    if token is not None and is_service_token(token, request.app[TOKEN_KEY]):
        return await handler(request)
    db = request.app[DB_KEY]
    user = await run_use_case(db, staff.api_token_user, db, token) if token else None
    if user is None:
        return error_response(401, "unauthorized", "需要有效的 Bearer 令牌（令牌无效或已过期）",
                              "Authorization")
    actor = roles.Actor(user.username, user.role)
    request[PRINCIPAL_KEY] = actor
    request["api_token"] = token
    if op is None:  # no such route: the router's 404 or 405
        return await handler(request)
    if not actor.may(op.permission):  # the token's role is what is refused
        return error_response(403, "forbidden", f"您的角色（{actor.role_name}）无权调用此接口",
                              "Authorization")
    response = await handler(request)
    if not roles.sees_pii(user.role, op.pii_area):
        return masked_response(response)
    await _log_shown(request, op, actor, response)
    return response


async def _log_shown(request: web.Request, op: Operation, actor: roles.Actor,
                     response: web.StreamResponse) -> None:
    """A staff member shown personal data unmasked: one entry in the access log, from the
    operation's declaration (`shows`), whatever the use case — the record, or the list."""
    if not 200 <= response.status < 300 or op.shows in ("", al.NOTHING):
        return
    db = request.app[DB_KEY]
    answer = _json_answer(response)
    if op.shows_list:
        filters = dict(request.query)
        count = request.get(SHOWN_ROWS)
        if count is None and isinstance(answer, dict) and isinstance(answer.get("items"), list):
            count = len(answer["items"])
        await run_use_case(db, privacy_access.list_shown, db, str(actor), actor.role or "",
                           op.operation_id, filters, count, "api")
        return
    record = op.shown_record(request.match_info, answer)
    if record is not None:
        await run_use_case(db, privacy_access.record_shown, db, str(actor),
                           actor.role or "", record[0], record[1], "api", op.operation_id)


def _json_answer(response: web.StreamResponse) -> Any:
    """The JSON answer as sent (None for a file or a stream)."""
    if not isinstance(response, web.Response) or response.content_type != "application/json":
        return None
    raw = response.body
    return json.loads(raw) if isinstance(raw, bytes | bytearray) and raw else None


@web.middleware
async def nul_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No real value holds a NUL character, and PostgreSQL text cannot store one."""
    for key, value in request.query.items():
        if "\x00" in key or "\x00" in value:
            raise Invalid(key.replace("\x00", ""), "参数含有不允许的控制字符")
    if "\x00" in request.path:
        raise Invalid("path", "路径含有不允许的控制字符")
    return await handler(request)


def _route(app: web.Application, op: Operation) -> None:
    handle = entry(op, lambda request: request.app[DB_KEY])
    handle.operation = op  # type: ignore[attr-defined]
    app.router.add_route(op.method, op.path, handle)


def create_api(db: Any, api_token: str, files: Any = None,
               reader: DocumentReader | None = None,
               staff_token_lifetime: timedelta = staff.API_TOKEN_LIFETIME,
               document_link_lifetime: timedelta = LINK_LIFETIME) -> web.Application:
    """The /api/v1 app: every operation of the table. `files` keeps uploaded claim documents;
    `reader` reads them with OCR (none: documents are stored unread); staff tokens live
    `staff_token_lifetime`, links to policy documents `document_link_lifetime`."""
    app = web.Application(middlewares=[errors_middleware, auth_middleware, nul_middleware])
    app[DB_KEY] = db
    app[TOKEN_KEY] = api_token
    if files is not None:  # the back office alone, without uploads, has none
        app[FILES_KEY] = files
    app[LIFETIME_KEY] = staff_token_lifetime
    app[LINK_LIFETIME_KEY] = document_link_lifetime
    if reader is not None:
        app[READER_KEY] = reader

        async def close_reader(_app: web.Application) -> None:
            reader.close()

        app.on_cleanup.append(close_reader)
    for op in OPERATIONS:
        _route(app, op)
    return app


"""What an operation of /api/v1 is, and the one entry point that runs every operation.

An `Operation` names its method, path, input command, answer type, permission and use case
(backoffice.api.operations holds the table). From the table come the aiohttp routes, the
permission check, the OpenAPI document and the desk's action checks.

The entry point, for every operation: reads path, query and body into the input command (a 400
naming the field when it does not fit), takes the caller from the token as a typed `Actor`
(a body's `actor` or `role` and the X-Actor header decide nothing), applies the operation's
authority check, runs the use case under the one policy of backoffice.services.running, and
answers JSON (domain errors become 4xx in backoffice.api.app's middleware).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from backoffice.domain.access_log import LIST, NOTHING, record_of
from backoffice.domain.errors import ValidationError
from backoffice.domain.staff import Actor, sees_pii
from backoffice.services import exports
from backoffice.services.commands import Command
from backoffice.services.running import run_use_case

PUBLIC = "public"  # no token needed
ANY_STAFF = "api.session"  # any signed-in staff member (e.g. signing out)

UseCase = Callable[..., Any]
Authorize = Callable[[Actor, Any], Any]


@dataclass(frozen=True)
class Call:
    """What an async use case may reach besides its command: the request's app and caller."""

    request: web.Request
    actor: Actor
    db: Any


@dataclass(frozen=True)
class Operation:
    """One operation of /api/v1, declared once.

    `use_case(db, cmd, actor)` runs off the loop (sync) or `use_case(call, cmd)` on it (async,
    for what touches the channels or streams). `answer` is the success answer's type (None:
    not JSON, `media` says what); `authorize(actor, cmd)` refuses or returns the command as the
    actor may run it (e.g. a claim approval at the role's authority)."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    permission: str
    use_case: UseCase
    input: type[Command] | None = None
    answer: Any = None
    status: int = 200
    media: str = "application/json"
    authorize: Authorize | None = None
    service_actor: str = "api"  # who the service token acts as (the audit's name)
    headers: Mapping[str, str] = field(default_factory=dict)  # command field → header
    body_required: bool = True
    raw_body: Mapping[str, Any] | None = None  # a non-JSON request body: its content schema
    errors: tuple[int, ...] = ()
    also: tuple[int, ...] = ()  # other success statuses (a replayed report answers 200)
    heavy: bool = False
    pii_area: str = ""
    # the field naming the record whose personal data the answer shows (in the path, else in
    # the answer: a record just created), LIST for a list, a search or an export, NOTHING for
    # no personal data: a staff member who sees it unmasked is written to the access log
    # (backoffice.services.privacy_access)
    shows: str = ""
    description: str = ""
    export: str = ""  # a list operation's items as a file: `?format=csv|xlsx` (views.exports)

    @property
    def path_fields(self) -> tuple[str, ...]:
        return tuple(p.strip("{}") for p in self.path.split("/") if p.startswith("{"))

    @property
    def shows_list(self) -> bool:
        return self.shows == LIST

    def shown_record(self, path: Mapping[str, str],
                     answer: Any = None) -> tuple[str, str] | None:
        """The (kind, id) of the record the answer shows, from the declared path field, else
        from the answer's field of that name (a record just created)."""
        if self.shows in ("", LIST, NOTHING):
            return None
        value = path.get(self.shows)
        if not value and isinstance(answer, dict):
            value = answer.get(self.shows)
        return record_of({self.shows: str(value)}) if value not in (None, "") else None

    @property
    def reads_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self.raw_body is None

    @property
    def writes(self) -> bool:
        return self.method != "GET"


PRINCIPAL_KEY = "api_principal"
SHOWN_ROWS = "api_shown_rows"


def actor_of(request: web.Request, op: Operation) -> Actor:
    """The token's staff member; the service token acts under the operation's name."""
    found = request.get(PRINCIPAL_KEY)
    if isinstance(found, Actor) and found.role is not None:
        return found
    return Actor(op.service_actor)


async def json_body(request: web.Request, required: bool = True) -> dict[str, Any]:
    """The request's JSON object ({} when an optional body is absent)."""
    if not request.can_read_body:
        if required:
            raise ValidationError("body", "请求体须为 JSON 对象")
        return {}
    try:
        data = await request.json()
    except (ValueError, LookupError, RecursionError):
        # not JSON, not decodable (bad bytes or unknown charset), a number beyond int's digit
        # limit, or nesting beyond the parser's recursion limit
        raise ValidationError("body", "请求体不是有效的 JSON") from None
    if data is None and not required:
        return {}
    if not isinstance(data, dict):
        raise ValidationError("body", "请求体须为 JSON 对象")
    nul = nul_field(data)
    if nul:
        raise ValidationError(nul, "含有不允许的控制字符")
    return data


def nul_field(value: Any, where: str = "") -> str | None:
    """Where a JSON value holds a NUL character (PostgreSQL text cannot store one), if any."""
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
        found = nul_field(item, place)
        if found:
            return found
    return None


async def read_command(op: Operation, request: web.Request) -> Command | None:
    """Path, query, headers and body as the operation's input command."""
    if op.input is None:
        return None
    raw: dict[str, Any] = {}
    if op.reads_body:
        raw.update(await json_body(request, op.body_required))
    if op.method in ("GET", "DELETE"):
        names = query_names(op.input)
        raw.update({k: v for k, v in request.query.items() if k in names})
    for name, header in op.headers.items():
        raw.pop(name, None)
        if header in request.headers:
            raw[name] = request.headers[header]
    for name in op.path_fields:  # the path wins over a body field of the same name
        raw[name] = request.match_info[name]
    return op.input.of(raw)


def query_names(model: type[Command]) -> set[str]:
    """The names a command's fields go by in a query string (an alias such as `from`)."""
    return {f.alias or name for name, f in model.model_fields.items()}


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def json_answer(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def respond(op: Operation, result: Any) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if op.media == "application/json":
        status = op.status
        if isinstance(result, Created):
            status, result = result.status, result.view
        return json_answer(result, status)
    return web.Response(text=result, status=op.status, content_type=op.media, charset="utf-8")


@dataclass(frozen=True)
class Created:
    """An answer whose status the use case decides (a replayed report answers 200)."""

    status: int
    view: Any


def entry(op: Operation, db_of: Callable[[web.Request], Any]) -> Callable[
        [web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of `op`: the one way every operation is run."""

    async def handle(request: web.Request) -> web.StreamResponse:
        actor = actor_of(request, op)
        cmd = await read_command(op, request)
        if op.authorize is not None:
            cmd = op.authorize(actor, cmd) or cmd
        db = db_of(request)
        fmt = exports.wanted(request.query.get("format")) if op.export else None
        if inspect.iscoroutinefunction(op.use_case):
            result = await op.use_case(Call(request, actor, db), cmd)
        else:
            result = await run_use_case(db, op.use_case, db, cmd, actor, heavy=op.heavy)
        if fmt is not None:
            return await export_response(op, db, actor, request, result, fmt)
        return respond(op, result)

    handle.__name__ = op.operation_id
    return handle


async def export_response(op: Operation, db: Any, actor: Actor, request: web.Request,
                          result: Any, fmt: str) -> web.Response:
    """The operation's items as a file, masked as its JSON answer would be for the caller."""
    pii = actor.role is None or sees_pii(actor.role, op.pii_area)
    filters = {k: v for k, v in request.query.items() if k != "format"}
    done = await run_use_case(db, exports.export, db, op.export, result.get("items", []), fmt,
                              str(actor), filters, pii=pii, heavy=True)
    request[SHOWN_ROWS] = done.rows  # the access log's count of records shown
    return web.Response(body=done.body, content_type=done.media,
                        headers={"Content-Disposition": done.disposition,
                                 "X-Export-Rows": str(done.rows)})


F = TypeVar("F", bound=Callable[..., Any])


class Nothing(Command):
    """An operation without input."""


def reads(command: type[Command]) -> Callable[[F], F]:
    """An async operation's input command (the entry point validates it before the call)."""

    def mark(fn: F) -> F:
        fn.command = command  # type: ignore[attr-defined]
        return fn

    return mark


def answer_as(key: str, use_case: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """A use case whose bare answer (a list, a count) is given as `{key: answer}`."""

    def run(db: Any, cmd: Any, actor: Actor) -> dict[str, Any]:
        return {key: use_case(db, cmd, actor)}

    run.command = use_case.command  # type: ignore[attr-defined]
    run.__name__ = use_case.__name__
    return run

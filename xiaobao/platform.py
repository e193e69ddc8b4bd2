"""The platform process: back office API, health and metrics on one aiohttp server.

Later parts (channels, desk, scheduler) mount here too; the agents' desk is at /desk.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from backoffice.api.app import Handler, create_api
from backoffice.api.conversations import HOOKS_KEY
from backoffice.api.reading import reader_from_env
from backoffice.clock import utcnow
from backoffice.desk.app import create_desk
from backoffice.domain import document_link, privacy_request
from backoffice.domain.errors import NotFound
from backoffice.notifications.config import token_cache
from backoffice.scheduler.service import PlatformScheduler
from backoffice.services import privacy_requests
from backoffice.services.policies import document_link_revision, get_policy
from backoffice.services.running import run_use_case
from backoffice.store.db import Database
from backoffice.store.files import DocumentStore
from backoffice.store.stores import open_store
from backoffice.views.document import render_policy_document
from backoffice.views.privacy import DEFAULT_CONTACT, read_notice, render_privacy_page
from channels.app import READINESS, mount_channels
from xiaobao.channel_port import AgentHooks, backoffice_port
from xiaobao.config import Settings
from xiaobao.health import Health
from xiaobao.logs import hide_signed_queries
from xiaobao.proxies import TrustedProxies, parse_networks

DB = web.AppKey("db", Database)
REGISTRY = web.AppKey("registry", CollectorRegistry)
TOKEN = web.AppKey("api_token", str)
SCHEDULER = web.AppKey("scheduler", PlatformScheduler)
HEALTH = web.AppKey("health", Health)
ROLE = web.AppKey("role", str)


def _metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    requests = Counter("xiaobao_http_requests", "HTTP requests", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("xiaobao_http_request_seconds", "HTTP request latency",
                        ["method", "route"], registry=registry)
    return requests, latency


def _metrics_middleware(registry: CollectorRegistry) -> web.Middleware:
    requests, latency = _metrics(registry)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            # the route template, not the path: policy numbers must not become labels
            info = request.match_info.route.resource
            route = info.canonical if info is not None else "unmatched"
            requests.labels(request.method, route, str(status)).inc()
            latency.labels(request.method, route).observe(time.perf_counter() - started)

    return middleware


async def healthz(request: web.Request) -> web.Response:
    """200 when every part is ready (database, Rasa with its model, action server), else 503
    naming the parts that are not; each part's state either way (xiaobao.health).

    `?parts=database` judges only the named parts (comma-separated): the readiness of a
    process whose API and desk need only the database; `?parts=` judges none — the process
    answers, its liveness. Kubernetes and compose probe these (deploy/)."""
    only = None
    if "parts" in request.query:
        only = frozenset(p.strip() for p in request.query["parts"].split(",") if p.strip())
        known = set(await request.app[HEALTH].parts())
        if not only <= known:
            return web.json_response(
                {"error": {"code": "invalid", "field": "parts",
                           "message": f"未知的部件：{'、'.join(sorted(only - known))[:200]}"}},
                status=400, dumps=lambda d: json.dumps(d, ensure_ascii=False))
    ready, body = await request.app[HEALTH].report(only)
    body["role"] = request.app[ROLE]  # serve, or up (everything in one process)
    if SCHEDULER in request.app:  # only where this process runs the jobs itself
        body["parts"]["scheduler"] = {  # type: ignore[index]
            "state": "running" if request.app[SCHEDULER].running else "stopped"}
    return web.json_response(body, status=200 if ready else 503,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def policy_document(request: web.Request) -> web.Response:
    """The customer's link to their electronic policy: the signature (over the policy, an
    expiry and the policy's revocation counter) is the credential."""
    no = request.match_info["policy_no"]
    db = request.app[DB]
    revision = await run_use_case(db, document_link_revision, db, no)
    refused = document_link.refusal(request.app[TOKEN], no, request.query, revision, utcnow())
    if refused:
        return web.Response(status=403, text=refused, content_type="text/plain")
    try:
        detail = await run_use_case(request.app[DB], get_policy, request.app[DB], no)
    except NotFound:
        return web.Response(status=404, text="保单不存在", content_type="text/plain")
    return web.Response(text=render_policy_document(detail), content_type="text/html")


def _privacy_export(files: DocumentStore) -> Callable[[web.Request], Any]:
    """A data subject's export (查阅、复制): the signature over the request, the expiry and the
    link's revision is the credential, no staff login. A tampered link or one of a request
    without an export is a 403, an expired one a 410: both before anything personal is read,
    and neither is logged as access. Each serving (a replay too) is an access-log entry."""

    async def export(request: web.Request) -> web.Response:
        no = request.match_info["request_no"][:30]
        db = request.app[DB]
        revision, _ = await run_use_case(db, privacy_requests.link_state, db, no)
        refused = privacy_request.link_refusal(request.app[TOKEN], no, request.query,
                                               revision, utcnow())
        if refused:
            return web.Response(status=refused[0], text=refused[1], content_type="text/plain",
                                headers={"Cache-Control": "no-store"})
        try:
            body = await run_use_case(None, privacy_requests.build_export, db, files, no)
        except NotFound:
            return web.Response(status=410, text="个人信息已删除", content_type="text/plain")
        return web.Response(body=body, content_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{no}.zip"',
            "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    return export


def _privacy_page(settings: Settings) -> Callable[[web.Request], Any]:
    """The full privacy notice, public: rendered once at start-up from the settings."""
    page = render_privacy_page(read_notice(settings.privacy_notice_file),
                               settings.privacy_contact or DEFAULT_CONTACT)

    async def privacy(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "public, max-age=300"})

    return privacy


async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/api/v1/openapi.json")


def _run_scheduler(scheduler: PlatformScheduler) -> Callable[
        [web.Application], AsyncIterator[None]]:
    """The scheduler runs while the app runs; it stops (running jobs finish) on the way out."""

    async def context(_app: web.Application) -> AsyncIterator[None]:
        scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()

    return context


@web.middleware
async def plain_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request bodies are taken as sent: a compressed one is refused before anything reads
    it, since decompressing would let a small request inflate without bound (and a body that
    only claims to be compressed would fail as a server error)."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return web.json_response(
            {"error": {"code": "unsupported_encoding", "field": "Content-Encoding",
                       "message": "请求体不支持压缩编码（Content-Encoding），请直接发送"}},
            status=415, dumps=lambda d: json.dumps(d, ensure_ascii=False))
    return await handler(request)


def create_app(settings: Settings, db: Database | None = None, *,
               scheduler: bool = False, role: str = "serve") -> web.Application:
    privacy = _privacy_page(settings)  # a notice that cannot be read stops the start here
    db = db or Database(settings.database_url)
    hide_signed_queries()  # signed links and pushes carry credentials in their query
    registry = CollectorRegistry()
    # outermost: every part below sees the client's scheme and address, not the proxy's
    proxies = TrustedProxies(parse_networks(settings.trusted_proxies))
    # bodies are never inflated by the HTTP parser: `plain_bodies` refuses compressed ones
    app = web.Application(middlewares=[plain_bodies, proxies.middleware(),
                                       _metrics_middleware(registry)],
                          handler_args={"auto_decompress": False})
    app[DB] = db
    app[REGISTRY] = registry
    app[TOKEN] = settings.api_token
    app[ROLE] = role
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    # sealed under settings.files_keys; `xiaobao serve` refuses to start without them
    # (cli.files_keys_or_refuse), an embedding that passes none stores plaintext
    files = open_store(settings.files_url, settings.files_root,
                       endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                       keyring=settings.files_keys)
    api = create_api(db, settings.api_token, files, reader_from_env(),
                     staff_token_lifetime=settings.staff_token_ttl,
                     document_link_lifetime=settings.document_link_lifetime)
    router = mount_channels(app, settings, backoffice_port(settings, db, api),
                            token_cache(settings.notify, db), registry)
    app[HEALTH] = Health(db, app[READINESS])
    hooks = AgentHooks(router)  # agents' messages and hand-backs reach the channels
    api[HOOKS_KEY] = hooks
    app.add_subapp("/api/v1", api)
    app.router.add_get("/documents/policies/{policy_no}", policy_document)
    app.router.add_get("/privacy", privacy)
    app.router.add_get("/privacy-exports/{request_no}", _privacy_export(files))
    app.add_subapp("/desk", create_desk(db, hooks=hooks, files=files,
                                          link_secret=settings.api_token))
    app.router.add_get("/", index)

    async def close_db(_app: web.Application) -> None:
        db.dispose()

    app.on_cleanup.append(close_db)
    if scheduler:
        app[SCHEDULER] = PlatformScheduler.from_config(db, settings.notify, files)
        app.cleanup_ctx.append(_run_scheduler(app[SCHEDULER]))
    return app

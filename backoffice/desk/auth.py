"""Login, sessions and CSRF for the desk, and the permission check on every route.

Every desk route is declared with the permission it needs (see app.ROUTES). The middleware
loads the session from its cookie, refuses a route the role may not use (403), and refuses any
POST whose `csrf_token` field does not match the session's (403). The login form, which has no
session yet, is protected by a double-submit token: a random cookie and the same value in the
form.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from urllib.parse import quote

from aiohttp import web

from backoffice.services import staff
from backoffice.services.running import in_thread
from backoffice.services.staff import StaffUser
from backoffice.store.db import Database

PREFIX = "/desk"
SESSION_COOKIE = "xb_desk"
LOGIN_CSRF_COOKIE = "xb_desk_login"
USER_KEY = "desk_user"
#: the session's key for the notices a redirect carries (`?msg=`, `?err=`): only a notice the
#: desk itself signed for this session is shown, so a link cannot put words on the desk
_NOTICE_KEY: ContextVar[str | None] = ContextVar("desk_notice_key", default=None)
TOKEN_KEY = "desk_token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def run(fn: Callable[..., object], *args: object) -> object:
    """Sign-in work (password hashing) always in a worker thread."""
    return await in_thread(fn, *args)


def user_of(request: web.Request) -> StaffUser:
    user = request.get(USER_KEY)
    if not isinstance(user, StaffUser):
        raise web.HTTPFound("/desk/login")
    return user


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, path="/desk", httponly=True, samesite="Strict",
                        secure=request.secure, max_age=int(staff.SESSION_LIFETIME.total_seconds()))


def login_csrf(request: web.Request, response: web.StreamResponse) -> str:
    token = secrets.token_urlsafe(24)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path="/desk", httponly=True,
                        samesite="Strict", secure=request.secure)
    return token


def login_csrf_ok(request: web.Request, sent: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


def notice_signature(key: str, kind: str, text: str) -> str:
    return hmac.new(key.encode(), f"{kind}\n{text}".encode(), "sha256").hexdigest()[:32]


def sign_notice(kind: str, text: str) -> str | None:
    """The signature of a notice for the session this request runs in (None: no session)."""
    key = _NOTICE_KEY.get()
    return notice_signature(key, kind, text) if key else None


def notice_ok(user: StaffUser | None, kind: str, text: str, sig: str) -> bool:
    return user is not None and hmac.compare_digest(
        notice_signature(user.csrf_token, kind, text).encode(), sig.encode())


def csrf_ok(user: StaffUser, sent: object) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(user.csrf_token.encode(),
                                                         sent.encode("utf-8", "replace"))


def make_middleware(db: Database, permissions: dict[tuple[str, str], str],
                    render_error: Callable[[web.Request, int, str], web.Response]
                    ) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Session, permission and CSRF checks before any desk handler runs."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else None
        if template is not None and template.startswith(PREFIX):
            template = template[len(PREFIX):]  # the sub-application's own path
        method = "GET" if request.method == "HEAD" else request.method
        if template is not None and (template in ("", "/static") or
                                     template.startswith("/static/")):
            return await handler(request)
        permission = permissions.get((method, template or ""))
        if permission == "public":
            return await handler(request)
        if permission is None:
            return render_error(request, 404, "页面不存在")
        token = request.cookies.get(SESSION_COOKIE)
        user = await run(staff.session_user, db, token)
        if not isinstance(user, StaffUser):
            if method == "GET" and not (template or "").endswith("/ws"):
                raise web.HTTPFound(f"/desk/login?next={quote(request.path_qs)}")
            return render_error(request, 401, "请先登录")
        request[USER_KEY] = user
        request[TOKEN_KEY] = token
        _NOTICE_KEY.set(user.csrf_token)
        if not user.may(permission):
            return render_error(request, 403, f"您的角色（{user.role_name}）无权访问此页面或操作")
        if method == "POST":
            form = await request.post()
            if not csrf_ok(user, form.get("csrf_token")):
                return render_error(request, 403, "表单已失效（CSRF 校验未通过），请刷新页面后重试")
        return await handler(request)

    return middleware

"""Web chat for demos and tests: a page at `/chat` and a small JSON API through the router.

The web id is the server's choice and proves nothing; a signed session credential does
(channels.web_session). The page gets it as an HttpOnly, SameSite=Strict cookie; other clients
(the terminal chat) as a bearer token:

- `POST /chat/session` → 201 `{"user", "token", "expires_in"}`: a fresh web id and its
  credential (also set as the cookie).
- `POST /chat/messages` `{"text": "…"}` → `{"messages": [{"text"…}], "state": "bot|queued|agent"}`
  (the bot's answer of this turn).
- `GET /chat/messages?after=N` → `{"messages": [...], "next": M}`: messages delivered later
  (agents, hand-backs), polled by the page; an agent's message carries `"role": "agent"`. The
  last 100 per user, in memory, or in Redis when XIAOBAO_REDIS_URL is set (`channels.state`),
  so a poll may reach any platform process.

Both need the credential (401 naming `session` without a valid one); a `user` still sent must
be the credential's (403). A credential past half its lifetime comes back renewed (cookie and
`X-Xiaobao-Session`). The access log never shows /chat's query string (xiaobao.logs).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from aiohttp import web

from channels.router import Router
from channels.state import PendingStore
from channels.web_session import Session, WebSessions
from xiaobao.logs import hide_signed_queries

MAX_TEXT = 2000
COOKIE = "xb_chat"
RENEWED = "X-Xiaobao-Session"


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def _error(field: str, message: str, status: int = 400, code: str = "invalid"
           ) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "field": field}},
                             status=status, dumps=_dumps)


def _not_yours() -> web.Response:
    return _error("user", "user 与会话凭证不符", 403, "forbidden")


class WebChannel:
    def __init__(self, router: Router, sessions: WebSessions,
                 later: PendingStore | None = None) -> None:
        self.router = router
        self.sessions = sessions
        self.later = later or PendingStore()
        router.register("web", self.deliver)

    def routes(self, app: web.Application) -> None:
        hide_signed_queries()
        app.router.add_get("/chat", self.page)
        app.router.add_post("/chat/session", self.start)
        app.router.add_post("/chat/messages", self.post)
        app.router.add_get("/chat/messages", self.poll)

    def _set_cookie(self, request: web.Request, response: web.StreamResponse,
                    session: Session) -> None:
        response.set_cookie(COOKIE, session.token, max_age=int(self.sessions.lifetime),
                            path="/chat", httponly=True, samesite="Strict",
                            secure=request.secure)

    def _session(self, request: web.Request) -> Session | None:
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else request.cookies.get(
            COOKIE, "")
        return self.sessions.verify(token) if token else None

    async def page(self, request: web.Request) -> web.Response:
        html = resources.files("channels").joinpath("templates/chat.html").read_text("utf-8")
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        if self._session(request) is None:  # a new visitor: a web id of the server's choice
            self._set_cookie(request, response, self.sessions.issue())
        return response

    async def start(self, request: web.Request) -> web.Response:
        session = self.sessions.issue()
        response = web.json_response({"user": session.user, "token": session.token,
                                      "expires_in": int(self.sessions.lifetime)}, status=201)
        self._set_cookie(request, response, session)
        return response

    def _check(self, request: web.Request) -> Session | web.Response:
        """The caller's session, or the refusal: nothing is read or stored without it."""
        session = self._session(request)
        if session is None:
            return _error("session", "会话凭证缺失、无效或已过期，请重新开始会话",
                          401, "unauthorized")
        return session

    def _answer(self, request: web.Request, session: Session, data: dict[str, Any]
                ) -> web.Response:
        response = web.json_response(data, dumps=_dumps)
        if self.sessions.stale(session):  # refreshed by use
            renewed = self.sessions.issue(session.user)
            response.headers[RENEWED] = renewed.token
            self._set_cookie(request, response, renewed)
        return response

    async def post(self, request: web.Request) -> web.Response:
        session = self._check(request)
        if isinstance(session, web.Response):
            return session
        try:
            data = await request.json()
        except (ValueError, LookupError, RecursionError):
            return _error("body", "请求体不是有效的 JSON")
        if not isinstance(data, dict):
            return _error("body", "请求体须为 JSON 对象")
        if data.get("user", session.user) != session.user:
            return _not_yours()
        text = data.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT \
                or "\x00" in text:
            return _error("text", f"text 须为 1 至 {MAX_TEXT} 字的文本")
        # the client's address (behind a trusted proxy, the one it reported): the bot's
        # identity check is limited per source, whatever web ids one address opens
        source = {"source": request.remote} if request.remote else None
        reply = await self.router.handle("web", session.user, text.strip(), metadata=source)
        return self._answer(request, session,
                            {"messages": reply.messages, "state": reply.state})

    async def poll(self, request: web.Request) -> web.Response:
        session = self._check(request)
        if isinstance(session, web.Response):
            return session
        if request.query.get("user", session.user) != session.user:
            return _not_yours()
        after = request.query.get("after", "0")
        if not after.isdigit() or len(after) > 12:
            return _error("after", "after 须为非负整数")
        items = await self.later.after(session.user, int(after))
        return self._answer(request, session, {"messages": [m for _, m in items],
                                               "next": items[-1][0] if items else int(after)})

    async def deliver(self, user: str, messages: list[dict[str, Any]], phone: str | None
                      ) -> None:
        await self.later.add(user, messages)

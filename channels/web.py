"""Web chat for demos and tests: a page at `/chat` and a small JSON API through the router.

- `POST /chat/messages` `{"user": "<web id>", "text": "…"}` → `{"messages": [{"text"…}],
  "state": "bot|queued|agent"}` (the bot's answer of this turn).
- `GET /chat/messages?user=…&after=N` → `{"messages": [...], "next": M}`: messages delivered
  later (agents, hand-backs), polled by the page; an agent's message carries
  `"role": "agent"`. The last 100 per user, in memory, or in Redis when XIAOBAO_REDIS_URL is
  set (`channels.state`), so a poll may reach any platform process.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from aiohttp import web

from channels.router import Router
from channels.state import PendingStore

USER = re.compile(r"[A-Za-z0-9_-]{1,40}")
MAX_TEXT = 2000


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def _error(field: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": "invalid", "message": message, "field": field}},
                             status=400, dumps=_dumps)


class WebChannel:
    def __init__(self, router: Router, later: PendingStore | None = None) -> None:
        self.router = router
        self.later = later or PendingStore()
        router.register("web", self.deliver)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/chat", self.page)
        app.router.add_post("/chat/messages", self.post)
        app.router.add_get("/chat/messages", self.poll)

    async def page(self, request: web.Request) -> web.Response:
        html = resources.files("channels").joinpath("templates/chat.html").read_text("utf-8")
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def post(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
        except (ValueError, LookupError, RecursionError):
            return _error("body", "请求体不是有效的 JSON")
        if not isinstance(data, dict):
            return _error("body", "请求体须为 JSON 对象")
        user, text = data.get("user"), data.get("text")
        if not isinstance(user, str) or not USER.fullmatch(user):
            return _error("user", "user 须为 1 至 40 位字母、数字、下划线或连字符")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT \
                or "\x00" in text:
            return _error("text", f"text 须为 1 至 {MAX_TEXT} 字的文本")
        reply = await self.router.handle("web", user, text.strip())
        return web.json_response({"messages": reply.messages, "state": reply.state},
                                 dumps=_dumps)

    async def poll(self, request: web.Request) -> web.Response:
        user = request.query.get("user", "")
        after = request.query.get("after", "0")
        if not USER.fullmatch(user):
            return _error("user", "user 须为 1 至 40 位字母、数字、下划线或连字符")
        if not after.isdigit() or len(after) > 12:
            return _error("after", "after 须为非负整数")
        items = await self.later.after(user, int(after))
        return web.json_response({"messages": [m for _, m in items],
                                  "next": items[-1][0] if items else int(after)})

    async def deliver(self, user: str, messages: list[dict[str, Any]], phone: str | None
                      ) -> None:
        await self.later.add(user, messages)

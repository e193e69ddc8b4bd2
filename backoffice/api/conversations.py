"""The agents' API over conversations (BRIEF interface 6): the queues with handoff reason and
summary, a transcript, take, send a message, transfer, hand back to the bot, close.

Sending and handing back involve the channels (delivery, the bot): the platform installs a
`ConversationHooks` (the channels' router) under HOOKS_KEY. Without one (the back office run
alone) messages are kept in the transcript but not delivered.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from backoffice.api.access import staff_of
from backoffice.api.app import body, db_of, ok, run
from backoffice.channel_hooks import ConversationHooks
from backoffice.domain.errors import ValidationError
from backoffice.services import agent_desk
from backoffice.services import conversations as conv

HOOKS_KEY = web.AppKey("conversation_hooks", ConversationHooks)


def _id(request: web.Request) -> int:
    raw = request.match_info["conversation_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise ValidationError("conversation_id", "会话编号须为正整数")
    return int(raw)


async def list_conversations(request: web.Request) -> web.Response:
    state = request.query.get("state") or None
    queue = request.query.get("queue")  # validated by the service: 400 naming `queue`
    return ok({"items": await run(conv.list_conversations, db_of(request), state, 100, queue)})


async def get_conversation(request: web.Request) -> web.Response:
    return ok(await run(conv.get_conversation, db_of(request), _id(request)))


def _agent(request: web.Request, data: dict[str, Any]) -> Any:
    """A staff member is the agent themself; the service token names one in the body."""
    member = staff_of(request)
    return member.username if member is not None else data.get("agent")


async def take(request: web.Request) -> web.Response:
    data = await body(request)
    return ok(await run(conv.take, db_of(request), _id(request), _agent(request, data)))


async def post_message(request: web.Request) -> web.Response:
    data = await body(request)
    hooks = request.app.get(HOOKS_KEY)
    if hooks is None:
        delivery = await run(conv.agent_message, db_of(request), _id(request),
                             _agent(request, data), data.get("text"))
        return ok({"conversation_id": delivery.conversation_id, "delivered": False}, 201)
    delivered = await hooks.agent_message(_id(request), _agent(request, data), data.get("text"))
    return ok({"conversation_id": _id(request), "delivered": delivered}, 201)


async def handback(request: web.Request) -> web.Response:
    data = await body(request) if request.can_read_body else {}
    hooks = request.app.get(HOOKS_KEY)
    if hooks is None:
        return ok(await run(conv.handback, db_of(request), _id(request),
                            _agent(request, data)))
    return ok(await hooks.handback(_id(request), _agent(request, data)))


async def transfer(request: web.Request) -> web.Response:
    """To another agent, back into its queue (`queue`) or another queue (`queue:<name>`)."""
    data = await body(request)
    agent = _agent(request, data)
    return ok(await run(agent_desk.transfer, db_of(request), _id(request), agent,
                        data.get("target")))


async def close(request: web.Request) -> web.Response:
    """Close with a disposition and, as on the desk, ask the customer for a 1–5 rating on
    their channel."""
    data = await body(request)
    agent = _agent(request, data)
    closed = await run(agent_desk.close, db_of(request), _id(request),
                       agent if isinstance(agent, str) and agent else "api",
                       data.get("disposition"))
    return ok(closed)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/conversations", list_conversations)
    r.add_get("/conversations/{conversation_id}", get_conversation)
    r.add_post("/conversations/{conversation_id}/take", take)
    r.add_post("/conversations/{conversation_id}/messages", post_message)
    r.add_post("/conversations/{conversation_id}/handback", handback)
    r.add_post("/conversations/{conversation_id}/transfer", transfer)
    r.add_post("/conversations/{conversation_id}/close", close)

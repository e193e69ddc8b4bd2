"""The agents' operations on conversations (BRIEF interface 6) that reach the channels.

Sending and handing back involve the channels (delivery, the bot): the platform installs a
`ConversationHooks` (the channels' router) under HOOKS_KEY. Without one (the back office run
alone) messages are kept in the transcript but not delivered. The table in
backoffice.api.operations declares these operations.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from backoffice.api.declare import Call, Created, reads
from backoffice.channel_hooks import ConversationHooks
from backoffice.services import agent_desk, satisfaction
from backoffice.services import conversations as conv
from backoffice.services.commands import takes
from backoffice.services.running import run_use_case

HOOKS_KEY = web.AppKey("conversation_hooks", ConversationHooks)


@takes(conv.ConversationQuery)
def list_conversations(db: Any, cmd: conv.ConversationQuery, actor: str) -> dict[str, Any]:
    return {"items": conv.list_conversations(db, cmd, actor)}


@reads(conv.AgentMessage)
async def post_message(call: Call, cmd: conv.AgentMessage) -> Created:
    """Kept in the transcript and delivered on the conversation's channel."""
    hooks = call.request.app.get(HOOKS_KEY)
    agent = conv.agent_of(cmd, call.actor)
    if hooks is None:
        delivery = await run_use_case(call.db, conv.agent_message, call.db, cmd, call.actor)
        return Created(201, {"conversation_id": delivery.conversation_id, "delivered": False})
    delivered = await hooks.agent_message(cmd.conversation_id, agent, cmd.text)
    return Created(201, {"conversation_id": cmd.conversation_id, "delivered": delivered})


@reads(conv.AgentStep)
async def handback(call: Call, cmd: conv.AgentStep) -> dict[str, Any]:
    """The bot owns the conversation again (the channels tell Rasa)."""
    hooks = call.request.app.get(HOOKS_KEY)
    if hooks is None:
        return await run_use_case(call.db, conv.handback, call.db, cmd, call.actor)
    # who hands back: the staff member; an integration may name the agent, or leave it to
    # the conversation's own
    agent = str(call.actor) if call.actor.is_staff else cmd.agent
    return await hooks.handback(cmd.conversation_id, agent)


@reads(agent_desk.Closing)
async def close(call: Call, cmd: agent_desk.Closing) -> dict[str, Any]:
    """Closed, and the customer asked for a rating; a web chat user gets the question in the
    chat (the outbox has no way to the web chat), where their next message answers it."""
    closed: dict[str, Any] = await run_use_case(call.db, agent_desk.close, call.db, cmd,
                                                call.actor)
    await tell_web_user(call.request.app.get(HOOKS_KEY), closed)
    return closed


async def tell_web_user(hooks: ConversationHooks | None, closed: dict[str, Any]) -> None:
    if hooks is not None and closed.get("satisfaction_asked") and closed.get("channel") == "web":
        await hooks.tell("web", str(closed["user"]), satisfaction.ask_text("conversation"))

"""What the back office asks of the channels: deliver an agent's message on the conversation's
channel, hand a conversation back to the bot, and tell a web chat user something the
notification outbox cannot reach (the satisfaction question after a web conversation).

The back office defines this; the platform installs the channels' router behind it
(xiaobao.channel_port.AgentHooks). It lives outside backoffice.api so that the channels,
which implement it, need nothing of the API. Without hooks (the back office run alone)
agents' messages are kept in the transcript but not delivered.
"""

from __future__ import annotations

from typing import Any, Protocol


class ConversationHooks(Protocol):
    async def agent_message(self, conversation_id: int, agent: Any, text: Any) -> bool:
        """Keep the agent's message and deliver it; whether the channel took it."""
        ...

    async def handback(self, conversation_id: int, agent: Any = None) -> dict[str, Any]:
        """The bot owns the conversation again and answers the user; the conversation."""
        ...

    async def tell(self, channel: str, user: str, text: str) -> bool:
        """A message of the back office's own (no transcript line) delivered to `user` on
        `channel`; whether the channel took it."""
        ...

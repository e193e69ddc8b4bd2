"""The conversation router: every user message of every channel passes here.

- One conversation per (channel, user), owned by the bot, queued for the agents, with an agent,
  or closed: the back office keeps it and its transcript, reached through the channels' port
  (channels.port.Backoffice: in this process or over HTTP).
- A bot-owned message goes to Rasa; a handoff payload in the answer (BRIEF interface 2) moves
  the conversation to the agents' queue, and the user's next messages go to the agents.
  Handing back sends Rasa `/agent_handback` and the bot's answer to the user.
- Two turns of one sender never run against Rasa at the same time: Rasa's lock store does not
  protect one sender served by two Rasa instances (RasaHQ/rasa#9213). Within a process a
  per-sender asyncio lock serialises them; across processes the load balancer routes a sender
  consistently (sticky routing by a hash of the sender: WeChat openid / call id / web id),
  so a sender's turns always reach the same process.
- Nothing is lost: when Rasa fails the message stays in the transcript and the conversation is
  queued for an agent; when the back office is unavailable (its database, or the network to
  it) the message goes to a spool file under var/ and is queued for an agent as soon as the
  back office answers again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from channels.port import (
    Backoffice,
    BackofficeRefused,
    BackofficeUnavailable,
    Message,
    clip,
    for_transcript,
)
from channels.rasa import RasaClient, RasaUnavailable
from xiaobao.logs import mask_text

log = logging.getLogger("xiaobao.channels.router")

BOT_DOWN = "抱歉，小保暂时无法回答。您的留言已记录，人工客服会尽快回复您。"
STORE_DOWN = "抱歉，系统繁忙。您的留言已记录，人工客服会尽快联系您。"
REFUSED = "抱歉，这条消息无法处理，请换个说法再试。"
QUEUED = "您的消息已转给人工客服，请稍候。"
HANDBACK = "/agent_handback"

# delivers messages to a user outside a request (agent messages, slow turns, hand-backs)
Deliverer = Callable[[str, list[dict[str, Any]], str | None], Awaitable[None]]


@dataclass(slots=True)
class Reply:
    """The answer to one user message: what to show the user, and who owns the conversation."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    state: str = "bot"
    conversation_id: int | None = None
    failed: bool = False
    duplicate: bool = False  # a retried push already taken: nothing to answer

    @property
    def handoff(self) -> bool:
        return self.state in ("queued", "agent")

    @property
    def texts(self) -> list[str]:
        return [str(m["text"]) for m in self.messages if m.get("text")]


def visible(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a user sees of the bot's answer: texts, buttons, images (not control payloads)."""
    return [m for m in messages if m.get("text") or m.get("image") or m.get("buttons")]


def handoff_in(messages: list[Message]) -> bool:
    """Whether a bot answer carries a handoff payload (BRIEF interface 2)."""
    return any(isinstance(m.get("custom"), dict) and isinstance(m["custom"].get("handoff"), dict)
               for m in messages)


class SenderLocks:
    """One asyncio lock per sender, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def __call__(self, sender: str, work: Callable[[], Awaitable[Reply]]) -> Reply:
        lock, users = self._locks.get(sender, (asyncio.Lock(), 0))
        self._locks[sender] = (lock, users + 1)
        try:
            async with lock:
                return await work()
        finally:
            lock, users = self._locks[sender]
            if users <= 1:
                del self._locks[sender]
            else:
                self._locks[sender] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class LineWriter:
    """Writes the bot's plain answers behind the turns, so a user's answer does not wait for
    its transcript lines: a turn hands them over and returns; the writer yields to the loop
    (the request waiting for the answer sends it two iterations after its turn ends), then
    writes every answer handed over meanwhile in one transaction. A sender's next turn waits
    for its previous lines (the transcript keeps its order); `close` writes what is left at
    shutdown."""

    YIELDS = 3

    def __init__(self, backoffice: Backoffice) -> None:
        self.backoffice = backoffice
        self.queue: list[tuple[int, list[dict[str, Any]]]] = []
        self.batch: asyncio.Future[None] | None = None
        self.senders: dict[str, asyncio.Future[None]] = {}  # sender → batch it waits in
        self.task: asyncio.Task[None] | None = None

    def add(self, sender: str, conversation_id: int, messages: list[dict[str, Any]]) -> None:
        if self.batch is None:
            self.batch = asyncio.get_running_loop().create_future()
        self.queue.append((conversation_id, messages))
        self.senders[sender] = self.batch
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())

    async def written(self, sender: str) -> None:
        batch = self.senders.get(sender)
        if batch is not None:
            await asyncio.shield(batch)

    async def _run(self) -> None:
        while self.queue:
            for _ in range(self.YIELDS):
                await asyncio.sleep(0)
            answers, self.queue = self.queue, []
            batch, self.batch = self.batch, None
            try:
                await self.backoffice.bot_lines(answers)
            except (BackofficeUnavailable, BackofficeRefused):
                log.exception("the back office did not keep the bot's answers")
            finally:
                if batch is not None:
                    batch.set_result(None)
                    for sender in [k for k, b in self.senders.items() if b is batch]:
                        del self.senders[sender]

    async def close(self) -> None:
        while self.task is not None and not self.task.done():
            await asyncio.shield(self.task)


class Router:
    """Routes messages between the channels, Rasa and the agents' queue."""

    def __init__(self, backoffice: Backoffice, rasa: RasaClient, spool: Path) -> None:
        self.backoffice = backoffice
        self.rasa = rasa
        self.spool = spool
        self.locks = SenderLocks()
        self.lines = LineWriter(backoffice)
        self.deliverers: dict[str, Deliverer] = {}

    async def close(self) -> None:
        """At shutdown: the bot's answers not yet in the transcript are written."""
        await self.lines.close()

    def register(self, channel: str, deliverer: Deliverer) -> None:
        self.deliverers[channel] = deliverer

    # ---- user messages ----------------------------------------------------------------------

    async def handle(self, channel: str, user: str, text: str, *,
                     metadata: dict[str, Any] | None = None, phone: str | None = None,
                     push_key: str | None = None) -> Reply:
        """One user message: recorded, then answered by the bot or left for the agents.
        `push_key`: the channel's dedupe key, kept with the message in one transaction; a
        key seen before gives a `duplicate` reply and changes nothing."""
        sender = f"{channel}:{user}"
        return await self.locks(sender, lambda: self._turn(channel, user, text, metadata, phone,
                                                           push_key))

    async def _turn(self, channel: str, user: str, text: str, metadata: dict[str, Any] | None,
                    phone: str | None, push_key: str | None) -> Reply:
        await self.lines.written(f"{channel}:{user}")
        try:
            turn = await self.backoffice.user_message(channel, user, clip(text), phone=phone,
                                                      push_key=push_key)
        except BackofficeUnavailable:
            log.exception("the back office is unavailable; message spooled")
            self._spool(channel, user, text, phone)
            return Reply([{"text": STORE_DOWN}], state="queued", failed=True)
        except BackofficeRefused as exc:  # spooling it would only be refused again
            log.warning("the back office refused a %s message: %s (%s)", channel, exc.code,
                        exc.field)
            return Reply([{"text": REFUSED}], failed=True)
        if turn is None:
            return Reply([], duplicate=True)
        await self._drain_spool()
        if turn.state != "bot":
            return Reply([], state=turn.state, conversation_id=turn.conversation_id)
        meta = {"channel": channel, "user": user, **(metadata or {})}
        if phone:
            meta["phone"] = phone
        return await self._ask_bot(turn.conversation_id, f"{channel}:{user}", text, meta)

    async def _ask_bot(self, conversation_id: int, sender: str, text: str,
                       metadata: dict[str, Any]) -> Reply:
        try:
            answer = await self.rasa.turn(sender, text, metadata)
        except RasaUnavailable as exc:
            log.warning("bot turn failed for %s: %s", mask_text(sender), exc)
            return await self._bot_failed(conversation_id, str(exc))
        if not handoff_in(answer):
            # nobody's ownership changes: the lines are written after the answer is sent
            self.lines.add(sender, conversation_id, for_transcript(answer))
            return Reply(visible(answer), conversation_id=conversation_id)
        try:
            turn = await self.backoffice.bot_messages(conversation_id, for_transcript(answer))
        except (BackofficeUnavailable, BackofficeRefused):
            log.exception("the back office did not keep the bot's answer")
            return Reply(visible(answer), conversation_id=conversation_id)
        return Reply(visible(answer), state=turn.state, conversation_id=conversation_id)

    async def _bot_failed(self, conversation_id: int, why: str) -> Reply:
        try:
            turn = await self.backoffice.bot_failed(conversation_id, "bot_unavailable",
                                                    clip(f"小保无应答：{why}"))
            state = turn.state
        except (BackofficeUnavailable, BackofficeRefused):
            log.exception("the back office did not queue the conversation for an agent")
            state = "queued"
        return Reply([{"text": BOT_DOWN}], state=state, conversation_id=conversation_id,
                     failed=True)

    # ---- agents: the back office's hooks (refusals reach the back office's caller) ----------

    async def deliver(self, channel: str, user: str, messages: list[dict[str, Any]],
                      phone: str | None = None) -> bool:
        deliverer = self.deliverers.get(channel)
        if deliverer is None or not messages:
            return False
        try:
            await deliverer(user, messages, phone)
        except Exception:  # a channel's failure must not lose the agent's request
            log.exception("delivery on %s failed", channel)
            return False
        return True

    async def agent_message(self, conversation_id: int, agent: Any, text: Any) -> bool:
        """Keep an agent's message and deliver it through the conversation's channel."""
        delivery = await self.backoffice.agent_message(conversation_id, agent, text)
        return await self.deliver(delivery.channel, delivery.user,
                                  [{"text": delivery.text, "role": "agent"}], delivery.phone)

    async def handback(self, conversation_id: int, agent: Any = None) -> dict[str, Any]:
        """The bot resumes: Rasa hears `/agent_handback`, the user gets its answer."""
        handed = await self.backoffice.handback(conversation_id, agent)
        channel, user = handed.channel, handed.user
        metadata = {"channel": channel, "user": user}

        async def resume() -> Reply:
            return await self._ask_bot(conversation_id, f"{channel}:{user}", HANDBACK, metadata)

        reply = await self.locks(f"{channel}:{user}", resume)
        summary = dict(handed.conversation)
        summary["delivered"] = await self.deliver(channel, user, reply.messages)
        summary["state"] = reply.state
        return summary

    # ---- the spool: messages kept while the back office is unavailable ----------------------

    def _spool(self, channel: str, user: str, text: str, phone: str | None) -> None:
        line = json.dumps({"channel": channel, "user": user, "text": text, "phone": phone},
                          ensure_ascii=False)
        self._append([line])

    def _append(self, lines: list[str]) -> None:
        self.spool.parent.mkdir(parents=True, exist_ok=True)
        with self.spool.open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())

    async def _drain_spool(self) -> None:
        if not self.spool.exists():
            return
        taken = self.spool.with_suffix(f".{os.getpid()}.draining")
        try:
            self.spool.rename(taken)
        except OSError:
            return  # another process took it
        await self._replay(taken)

    async def _replay(self, path: Path) -> None:
        """Each spooled message into its conversation, queued for an agent; when the back
        office goes away again, the messages not replayed go back to the spool."""
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            try:
                await self._requeue(line)
            except BackofficeUnavailable:
                log.warning("the back office went away while the spool was replayed")
                self._append(lines[i:])
                break
            except (ValueError, KeyError, TypeError, BackofficeRefused):
                log.warning("unreadable spool line skipped")
        path.unlink()

    async def _requeue(self, line: str) -> None:
        item = json.loads(line)
        turn = await self.backoffice.user_message(item["channel"], item["user"],
                                                  clip(item["text"]), phone=item.get("phone"))
        if turn is not None:
            await self.backoffice.bot_failed(turn.conversation_id, "backoffice_down",
                                             "消息在系统故障期间收到")

"""The conversation router: every user message of every channel passes here.

- One conversation per (channel, user), owned by the bot, queued for the agents, with an agent,
  or closed: the back office keeps it and its transcript, reached through the channels' port
  (channels.port.Backoffice: in this process or over HTTP).
- A bot-owned message goes to Rasa; a handoff payload in the answer (BRIEF interface 2) moves
  the conversation to the agents' queue, and the user's next messages go to the agents.
  Handing back sends Rasa `/agent_handback` and the bot's answer to the user.
- A message is stored before anything acknowledges it: `record` keeps it in the transcript
  (with the channel's dedupe key) in one transaction, outside the sender's turn order, so no
  earlier turn of the sender delays it; `answer` then runs the turn. The stored message is
  `pending` on this process (`instance`) until its answer is written.
- Two turns of one sender never run against Rasa at the same time: Rasa's lock store does not
  protect one sender served by two Rasa instances (RasaHQ/rasa#9213). Within a process
  `TurnOrder` runs a sender's turns one at a time, in the order their messages were stored;
  across processes the load balancer routes a sender consistently (sticky routing by a hash
  of the sender: WeChat openid / call id / web id), so a sender's turns always reach
  the same process.
- A message that answers a question the back office put to the customer (the 1–5
  satisfaction question, the 回访 after a claim closes) is taken by the back office when it is
  stored (`Turn.reply`: the thanks) and never reaches the bot: whether a question waits is
  the back office's knowledge, and a "5" said mid-form when none waits stays the form's.
- A bot still starting (`channels.readiness`: Rasa or its action server never seen up since
  this process started) is not a failure: the turn is tried again with growing pauses for at
  most `start_wait` seconds, counted from the first message that found the bot starting, then
  the user hears STARTING and the conversation stays with the bot.
- Nothing is lost: when a bot that was up fails, the message stays in the transcript and the
  conversation is queued for an agent; when the back office is unavailable (its database,
  or the network to it) the message goes to a spool file under var/ (fsync'd) and is queued
  for an agent as soon as the back office answers again. At start-up (`recover`) the
  messages a killed process stored but did not answer are answered through the bot and
  delivered by their channel, or queued for an agent, in order per conversation.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from channels.lease import InstanceLease
from channels.port import (
    Backoffice,
    BackofficeRefused,
    BackofficeUnavailable,
    Message,
    Turn,
    Unanswered,
    clip,
    for_transcript,
)
from channels.rasa import RasaClient, RasaUnavailable
from channels.rasa_pool import RasaPool
from channels.readiness import BotReadiness
from xiaobao.logs import mask_text

log = logging.getLogger("xiaobao.channels.router")

BOT_DOWN = "抱歉，小保暂时无法回答。您的留言已记录，人工客服会尽快回复您。"
STORE_DOWN = "抱歉，系统繁忙。您的留言已记录，人工客服会尽快联系您。"
REFUSED = "抱歉，这条消息无法处理，请换个说法再试。"
QUEUED = "您的消息已转给人工客服，请稍候。"
STARTING = "小保正在启动，请稍后再发一次消息。"
# a caller cannot "send again": they say it again on the line
STARTING_BY_CHANNEL = {"ivr": "小保正在启动，请稍等片刻再说一遍。"}
START_WAIT = 6.0  # seconds a message waits for a starting bot (XIAOBAO_BOT_START_RETRY_SECONDS)
FIRST_PAUSE, LONGEST_PAUSE = 0.25, 2.0  # the pauses between tries while it starts
HANDBACK = "/agent_handback"
RECOVERY_AT_ONCE = 8  # senders answered at once after a restart: Rasa is not flooded

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


# a channel's work on a stored message before its turn: the text for the bot, or its answer
Preparer = Callable[[str, str, dict[str, Any]], Awaitable["str | Reply"]]


def visible(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a user sees of the bot's answer: texts, buttons, images (not control payloads)."""
    return [m for m in messages if m.get("text") or m.get("image") or m.get("buttons")]


def handoff_in(messages: list[Message]) -> bool:
    """Whether a bot answer carries a handoff payload (BRIEF interface 2)."""
    return any(isinstance(m.get("custom"), dict) and isinstance(m["custom"].get("handoff"), dict)
               for m in messages)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A user's message stored in the transcript, waiting for its turn (`key`)."""

    channel: str
    user: str
    text: str
    phone: str | None
    metadata: dict[str, Any]
    turn: Turn
    key: tuple[int, int]

    @property
    def sender(self) -> str:
        return f"{self.channel}:{self.user}"


@dataclass(slots=True)
class _Sender:
    recording: int = 0  # messages of the sender being stored now (or waiting to be)
    storing: asyncio.Lock = field(default_factory=asyncio.Lock)  # one at a time, as they came
    busy: bool = False  # a turn of the sender runs
    waiting: list[tuple[int, int]] = field(default_factory=list)  # heap of reserved keys
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def idle(self) -> bool:
        return not (self.recording or self.busy or self.waiting)


LAST = 2**62  # the position of work that goes after every message stored so far


class TurnOrder:
    """Per sender, messages stored one at a time in the order they came (a store takes
    milliseconds: no turn is waited for), and turns one at a time in the order the messages
    were stored (their ids): a turn waits while an earlier one runs or waits, and while a
    message of its sender is being stored (it may come first). Senders are forgotten when
    idle."""

    def __init__(self) -> None:
        self._senders: dict[str, _Sender] = {}
        self._seq = itertools.count()

    def _get(self, sender: str) -> _Sender:
        return self._senders.setdefault(sender, _Sender())

    def _wake(self, sender: str, state: _Sender) -> None:
        state.changed.set()
        state.changed = asyncio.Event()
        if state.idle and self._senders.get(sender) is state:
            del self._senders[sender]

    @asynccontextmanager
    async def recording(self, sender: str) -> AsyncIterator[None]:
        state = self._get(sender)
        state.recording += 1
        try:
            async with state.storing:
                yield
        finally:
            state.recording -= 1
            self._wake(sender, state)

    def reserve(self, sender: str, position: int) -> tuple[int, int]:
        """A place in the sender's order; `run` with the key must follow."""
        key = (position, next(self._seq))
        heapq.heappush(self._get(sender).waiting, key)
        return key

    async def run(self, sender: str, key: tuple[int, int],
                  work: Callable[[], Awaitable[Reply]]) -> Reply:
        state = self._get(sender)
        try:
            while state.busy or state.recording or state.waiting[0] != key:
                await state.changed.wait()
        except BaseException:  # cancelled while waiting: the others go on
            state.waiting.remove(key)
            heapq.heapify(state.waiting)
            self._wake(sender, state)
            raise
        heapq.heappop(state.waiting)
        state.busy = True
        try:
            return await work()
        finally:
            state.busy = False
            self._wake(sender, state)

    async def __call__(self, sender: str, work: Callable[[], Awaitable[Reply]]) -> Reply:
        """Work after every message of the sender stored so far (a hand-back)."""
        return await self.run(sender, self.reserve(sender, LAST), work)

    def __len__(self) -> int:
        return len(self._senders)


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
        self.answered: list[int] = []  # the user's messages the queued lines answer
        self.batch: asyncio.Future[None] | None = None
        self.senders: dict[str, asyncio.Future[None]] = {}  # sender → batch it waits in
        self.task: asyncio.Task[None] | None = None

    def add(self, sender: str, conversation_id: int, messages: list[dict[str, Any]],
            answered: int | None = None) -> None:
        if self.batch is None:
            self.batch = asyncio.get_running_loop().create_future()
        self.queue.append((conversation_id, messages))
        if answered is not None:
            self.answered.append(answered)
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
            answered, self.answered = self.answered, []
            batch, self.batch = self.batch, None
            try:
                # a message whose answer is lost here stays pending: answered at start-up
                await self.backoffice.bot_lines(answers, answered)
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


class BotStarting(Exception):
    """The bot has not come up yet and the start-up wait is over."""


class Router:
    """Routes messages between the channels, Rasa and the agents' queue. `instance` names
    this platform process to the messages it stores and has to answer: the same name after a
    restart (`xiaobao serve`: host and port, or XIAOBAO_INSTANCE) takes back what a killed
    process left unanswered."""

    def __init__(self, backoffice: Backoffice, rasa: RasaClient | RasaPool, spool: Path,
                 instance: str | None = None, readiness: BotReadiness | None = None,
                 start_wait: float = START_WAIT) -> None:
        self.backoffice = backoffice
        self.rasa = rasa
        # without it every failed turn is a failure of a bot that was up
        self.readiness = readiness
        self.start_wait = start_wait
        self.starting_until: float | None = None  # the end of the current start-up wait
        self.spool = spool
        self.instance = (instance or f"{socket.gethostname()}:{os.getpid()}")[:100]
        self.locks = TurnOrder()
        self.lines = LineWriter(backoffice)
        self.deliverers: dict[str, Deliverer] = {}
        self.preparers: dict[str, Preparer] = {}
        self.recovering: set[asyncio.Task[None]] = set()
        self.recovery_slots = asyncio.Semaphore(RECOVERY_AT_ONCE)
        # this process's lease on the messages it answers (channels.lease); None: no lease
        # is kept (a process alone), and every answer is handed out
        self.lease: InstanceLease | None = None

    async def close(self) -> None:
        """At shutdown: the bot's answers not yet in the transcript are written; recovery
        still running stops (its messages stay pending on this instance)."""
        for task in list(self.recovering):
            task.cancel()
        if self.recovering:
            await asyncio.wait(list(self.recovering))
        await self.lines.close()

    def register(self, channel: str, deliverer: Deliverer) -> None:
        self.deliverers[channel] = deliverer

    def register_preparer(self, channel: str, preparer: Preparer) -> None:
        """Work a channel does on a stored message before its turn (a WeChat picture is
        fetched and attached): in the turn, so a message stored and acknowledged before that
        work finished is done again after a restart."""
        self.preparers[channel] = preparer

    async def _prepared(self, channel: str, user: str, text: str, metadata: dict[str, Any],
                        message_id: int | None) -> str | Reply:
        """What the bot hears of a stored message, or the channel's own answer to it (then
        the message counts as answered)."""
        prepare = self.preparers.get(channel)
        said = text if prepare is None else await prepare(user, text, metadata)
        if isinstance(said, Reply) and message_id is not None:
            await self.backoffice.settle([message_id], "answered")
        return said

    # ---- user messages ----------------------------------------------------------------------

    async def handle(self, channel: str, user: str, text: str, *,
                     metadata: dict[str, Any] | None = None, phone: str | None = None,
                     push_key: str | None = None) -> Reply:
        """One user message: recorded, then answered by the bot or left for the agents."""
        recorded = await self.record(channel, user, text, metadata=metadata, phone=phone,
                                     push_key=push_key)
        if isinstance(recorded, Reply):
            return recorded
        return await self.answer(recorded)

    async def record(self, channel: str, user: str, text: str, *,
                     metadata: dict[str, Any] | None = None, phone: str | None = None,
                     push_key: str | None = None) -> Recorded | Reply:
        """Store a user's message now, whatever the sender's earlier turns are doing: the
        message (pending on this instance) or, when it is not to be answered by a turn, the
        reply: spooled (back office unavailable), refused, or `duplicate` (`push_key`, the
        channel's dedupe key kept with the message in one transaction, seen before). Only a
        failure to spool raises: the message is then not stored and must not be
        acknowledged. A Recorded message must be passed to `answer`."""
        sender = f"{channel}:{user}"
        async with self.locks.recording(sender):
            try:
                turn = await self.backoffice.user_message(
                    channel, user, clip(text), phone=phone, push_key=push_key,
                    answerer=self.instance)
            except BackofficeUnavailable:
                log.exception("the back office is unavailable; message spooled")
                self._spool(channel, user, text, phone)
                return Reply([{"text": STORE_DOWN}], state="queued", failed=True)
            except BackofficeRefused as exc:  # spooling it would only be refused again
                log.warning("the back office refused a %s message: %s (%s)", channel,
                            exc.code, exc.field)
                return Reply([{"text": REFUSED}], failed=True)
            if turn is None:
                return Reply([], duplicate=True)
            # its place is taken before the sender's next message can be stored
            key = self.locks.reserve(sender, turn.message_id or 0)
            if self.lease is not None and turn.state == "bot":
                self.lease.hold(turn.message_id)
        return Recorded(channel, user, text, phone, dict(metadata or {}), turn, key)

    async def answer(self, recorded: Recorded) -> Reply:
        """The stored message's turn, after the sender's earlier ones."""
        try:
            return await self.locks.run(recorded.sender, recorded.key,
                                        lambda: self._turn(recorded))
        finally:
            if self.lease is not None:
                self.lease.release(recorded.turn.message_id)

    async def _ours(self, message_id: int | None) -> bool:
        """Whether this process may still hand out an answer to the message: not when
        another process took it over while this one was too slow to renew its lease (that
        one answers it)."""
        if self.lease is None or await self.lease.ours(message_id):
            return True
        log.warning("message %s was taken over by another process: its answer here is "
                    "dropped", message_id)
        return False

    async def _turn(self, rec: Recorded) -> Reply:
        await self.lines.written(rec.sender)
        await self._drain_spool()
        if rec.turn.state != "bot":
            return Reply([], state=rec.turn.state, conversation_id=rec.turn.conversation_id)
        if rec.turn.reply:  # an answer to the back office's satisfaction or 回访 question
            thanks = [{"text": rec.turn.reply}]
            self.lines.add(rec.sender, rec.turn.conversation_id, thanks, rec.turn.message_id)
            return Reply(thanks, conversation_id=rec.turn.conversation_id)
        meta = {"channel": rec.channel, "user": rec.user, **rec.metadata}
        if rec.phone:
            meta["phone"] = rec.phone
        said = await self._prepared(rec.channel, rec.user, rec.text, meta, rec.turn.message_id)
        if isinstance(said, Reply):
            return said
        return await self._ask_bot(rec.turn.conversation_id, rec.sender, said, meta,
                                   rec.turn.message_id)

    async def _ask_bot(self, conversation_id: int, sender: str, text: str,
                       metadata: dict[str, Any], answering: int | None = None) -> Reply:
        """`answering`: the id of the user's message the turn answers (marked answered with
        the bot's lines, or queued when the bot fails)."""
        taken = Reply([], conversation_id=conversation_id, duplicate=True)
        if not await self._ours(answering):  # taken over while it waited for its turn
            return taken
        try:
            answer = await self._bot_turn(sender, text, metadata)
        except BotStarting:
            if not await self._ours(answering):
                return taken
            return self._bot_starting(sender, conversation_id, answering)
        except RasaUnavailable as exc:
            log.warning("bot turn failed for %s: %s", mask_text(sender), exc)
            if not await self._ours(answering):
                return taken
            return await self._bot_failed(conversation_id, str(exc), answering)
        if not await self._ours(answering):
            return taken
        if not handoff_in(answer):
            # nobody's ownership changes: the lines are written after the answer is sent
            self.lines.add(sender, conversation_id, for_transcript(answer), answering)
            return Reply(visible(answer), conversation_id=conversation_id)
        try:
            turn = await self.backoffice.bot_messages(conversation_id, for_transcript(answer))
            await self._settle(answering, "answered")
        except (BackofficeUnavailable, BackofficeRefused):
            log.exception("the back office did not keep the bot's answer")
            return Reply(visible(answer), conversation_id=conversation_id)
        return Reply(visible(answer), state=turn.state, conversation_id=conversation_id)

    async def _bot_turn(self, sender: str, text: str, metadata: dict[str, Any]
                        ) -> list[Message]:
        """A turn; while the bot is starting, tried again with growing pauses until the
        start-up wait is over (BotStarting). A bot not answering whose parts were all up
        once, or answer now, is a failure (RasaUnavailable)."""
        pause = FIRST_PAUSE
        loop = asyncio.get_running_loop()
        while True:
            try:
                answer = await self.rasa.turn(sender, text, metadata)
            except RasaUnavailable:
                if self.readiness is None or not await self.readiness.starting():
                    raise
                if self.starting_until is None:
                    self.starting_until = loop.time() + self.start_wait
                left = self.starting_until - loop.time()
                if left <= 0:
                    raise BotStarting from None
                await asyncio.sleep(min(pause, left))
                pause = min(pause * 2, LONGEST_PAUSE)
                continue
            self.starting_until = None
            if self.readiness is not None:
                self.readiness.answered()
            return answer

    def _bot_starting(self, sender: str, conversation_id: int,
                      answering: int | None) -> Reply:
        """The user hears that the bot is starting; the conversation stays with it and the
        notice is the message's answer in the transcript (nothing to recover later)."""
        channel = sender.partition(":")[0]
        notice = [{"text": STARTING_BY_CHANNEL.get(channel, STARTING)}]
        log.warning("the bot is still starting: %s told to send again", mask_text(sender))
        self.lines.add(sender, conversation_id, notice, answering)
        return Reply(notice, conversation_id=conversation_id)

    async def _settle(self, message_id: int | None, state: str) -> None:
        if message_id is not None:
            await self.backoffice.settle([message_id], state)

    async def _bot_failed(self, conversation_id: int, why: str,
                          answering: int | None = None) -> Reply:
        try:
            turn = await self.backoffice.bot_failed(conversation_id, "bot_unavailable",
                                                    clip(f"小保无应答：{why}"))
            state = turn.state
            await self._settle(answering, "queued")
        except (BackofficeUnavailable, BackofficeRefused):
            log.exception("the back office did not queue the conversation for an agent")
            state = "queued"
        return Reply([{"text": BOT_DOWN}], state=state, conversation_id=conversation_id,
                     failed=True)

    # ---- start-up: what a killed process stored but did not answer ---------------------------

    async def recover(self, takeover: bool = False) -> int:
        """Claim the messages this instance (before a restart) or a process whose lease ran
        out left unanswered, take their places in their senders' order now (before any new
        message of theirs), and answer them in the background; how many were claimed.
        `takeover`: a running process's periodic look for what dead processes left (its own
        pending messages are its turns in progress, not claimed again). At start-up the
        lease is renewed first, so nobody takes over what this start claims."""
        if self.lease is not None and not takeover:
            await self.lease.renew()
        claimed: list[Unanswered] = []
        while batch := await self.backoffice.unanswered(
                self.instance, claimed[-1].message_id if claimed else 0, takeover=takeover):
            claimed.extend(batch)
        senders: dict[str, list[tuple[Unanswered, tuple[int, int]]]] = {}
        for item in claimed:
            if self.lease is not None:
                self.lease.hold(item.message_id)
            sender = f"{item.channel}:{item.user}"
            senders.setdefault(sender, []).append((item, self.locks.reserve(sender,
                                                                              item.message_id)))
        for sender, items in senders.items():
            task = asyncio.create_task(self._recover_sender(sender, items))
            self.recovering.add(task)
            task.add_done_callback(self.recovering.discard)
        if claimed:
            log.warning("answering %d message(s) stored but not answered %s", len(claimed),
                        "by a process whose lease ran out" if takeover else "before a restart")
        return len(claimed)

    async def _recover_sender(self, sender: str,
                              items: list[tuple[Unanswered, tuple[int, int]]]) -> None:
        """One sender's unanswered messages in order: through the bot and delivered by the
        channel; once the conversation goes to the agents, the rest are theirs."""
        with_agents = False
        async with self.recovery_slots:
            for item, key in items:
                try:
                    reply = await self.locks.run(
                        sender, key, lambda i=item, a=with_agents: self._recover_one(i, a))
                    with_agents = with_agents or reply.handoff
                except Exception:  # the sender's later messages must still have their turn
                    log.exception("a message stored before a restart stays unanswered")
                finally:
                    if self.lease is not None:
                        self.lease.release(item.message_id)

    async def _recover_one(self, item: Unanswered, with_agents: bool) -> Reply:
        if with_agents:
            await self.backoffice.settle([item.message_id], "agents")
            return Reply([], state="queued", conversation_id=item.conversation_id)
        await self.lines.written(f"{item.channel}:{item.user}")
        meta: dict[str, Any] = {"channel": item.channel, "user": item.user, "recovered": True}
        if item.phone:
            meta["phone"] = item.phone
        said = await self._prepared(item.channel, item.user, item.text, meta, item.message_id)
        reply = said if isinstance(said, Reply) else await self._ask_bot(
            item.conversation_id, f"{item.channel}:{item.user}", said, meta, item.message_id)
        if not reply.duplicate:  # taken over meanwhile: the other process delivers
            await self.deliver(item.channel, item.user, reply.messages, item.phone)
        return reply

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

        reply = await self.locks(f"{channel}:{user}", resume)  # after the user's messages
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

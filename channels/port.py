"""The channels' one port to the back office: the use cases they need, with typed answers.

Two adapters implement `Backoffice`: in this process (xiaobao.channel_port.InProcessBackoffice,
the back office's use cases run under backoffice.services.running's policy) and over HTTP
(channels.backoffice.HttpBackoffice: /api/v1 with the service token, when
XIAOBAO_BACKOFFICE_URL names the back office). The channels hold a `Backoffice` and nothing
else of the back office: no store, no services, no domain errors.

Two errors the channels tell apart:
- `BackofficeUnavailable`: nothing was done (database or network down, the back office
  answers 5xx or refuses the service token). The channels degrade: the router spools the
  message and queues it for an agent later, the IVR goes on anonymously.
- `BackofficeRefused`: the back office refused this request (bad input, an unknown
  conversation, a conflict); retrying the same request cannot help.

The other direction, the back office asking the channels to deliver an agent's message or to
hand a conversation back, is `ConversationHooks` (defined by the back office), which the
channels' router implements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from backoffice.channel_hooks import ConversationHooks

__all__ = ["MAX_TEXT", "Attachment", "Backoffice", "BackofficeRefused", "BackofficeUnavailable",
           "Binding", "ConversationHooks", "Delivery", "HandedBack", "Lease", "Message",
           "SmsAnswer", "StateClaim", "StatePut", "Turn", "Unanswered", "Upload", "clip",
           "for_transcript"]

MAX_TEXT = 4000  # characters of a line the transcript keeps
KEPT = ("buttons", "image", "custom")  # what the transcript keeps of a bot message besides text

# a bot message as Rasa's REST channel answers it: text, buttons, image, custom
Message = dict[str, Any]


def clip(text: str) -> str:
    return text[:MAX_TEXT]


def for_transcript(messages: Sequence[Message]) -> list[Message]:
    """The bot's messages as the transcript keeps them: text clipped, control keys dropped."""
    return [{**{k: m[k] for k in KEPT if m.get(k) is not None},
             "text": clip(str(m.get("text") or ""))} for m in messages]


@dataclass(frozen=True, slots=True)
class Turn:
    """Where a user's message went: its conversation, who owns it now (`bot`, `queued`,
    `agent`), and the message's id when its answer is tracked."""

    conversation_id: int
    state: str
    message_id: int | None = None
    # the message answered a satisfaction or 回访 question put to the customer: what they are
    # told, and no bot turn (backoffice.services.customer_answers)
    reply: str | None = None


@dataclass(frozen=True, slots=True)
class SmsAnswer:
    """What became of a customer's SMS: `satisfaction` or `follow_up` (an answer to a question
    put to them; `reply` thanks them), or `kept` for the agents (`conversation_id`)."""

    status: str
    reply: str | None = None
    score: int | None = None
    outcome: str | None = None
    conversation_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reply": self.reply, "score": self.score,
                "outcome": self.outcome, "conversation_id": self.conversation_id}


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A user's message stored but not answered (its process died first), now claimed."""

    message_id: int
    conversation_id: int
    channel: str
    user: str
    phone: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Lease:
    """A platform process's lease as renewed: its generation (another when a process took
    its messages over) and, of the messages it holds, those now another's."""

    generation: int
    taken: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Delivery:
    """An agent's message, kept in the transcript, to deliver on `channel` to `user`."""

    conversation_id: int
    channel: str
    user: str
    text: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class HandedBack:
    """A conversation the bot owns again; `conversation` as the agents' API shows it."""

    channel: str
    user: str
    conversation: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Binding:
    """Who a channel user is: the bound party (masked), their policies and open claims
    (newest first)."""

    name_masked: str | None
    policies: tuple[str, ...] = ()
    open_claims: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes = field(repr=False)
    filename: str
    content_type: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """Where an upload went: no claim (no bound open claim), or the claim and the document
    (no document when the back office refused the file)."""

    claim_no: str | None = None
    document_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatePut:
    """A value of the channels' shared state (a JSON object) and its life in seconds."""

    key: str
    value: dict[str, Any]
    ttl: int


@dataclass(frozen=True, slots=True)
class StateClaim:
    """`claimed`: the key was free (absent or expired) and now holds the value given;
    `values`: the live values of the keys asked for, the claimed key's own when another
    holds it."""

    claimed: bool
    values: dict[str, dict[str, Any]]


class BackofficeUnavailable(Exception):
    """The back office could not be reached or failed: nothing was done."""


class BackofficeRefused(Exception):
    """The back office refused the request; `field` names what it refused."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class Backoffice(Protocol):
    """The back office as the channels use it. Texts are at most MAX_TEXT characters."""

    # ---- transcripts ----------------------------------------------------------------------
    async def user_message(self, channel: str, user: str, text: str, *,
                           phone: str | None = None, push_key: str | None = None,
                           answerer: str | None = None) -> Turn | None:
        """Keep a user's message in their open conversation (opened if none); None, and
        nothing kept, when `push_key` (the channel's dedupe key) was seen before. With
        `answerer` (this platform process) the message stays pending until it is settled."""
        ...

    async def bot_messages(self, conversation_id: int, messages: list[Message]) -> Turn:
        """Keep the bot's answer now: it carries a handoff, which queues the conversation."""
        ...

    async def bot_lines(self, answers: Sequence[tuple[int, list[Message]]],
                        answered: Sequence[int] = ()) -> None:
        """Keep the bot's plain answers of several turns, written after they were sent;
        the user's messages `answered` (ids) are answered in the same transaction."""
        ...

    async def settle(self, message_ids: Sequence[int], state: str) -> int:
        """Pending user messages `answered`, `queued` (for an agent) or left to the
        `agents`; how many were still pending."""
        ...

    async def unanswered(self, answerer: str, after: int = 0, *,
                         takeover: bool = False) -> list[Unanswered]:
        """Claim, for `answerer`, the pending user messages it answers now (its own from
        before a restart, and those of processes whose lease ran out; with `takeover` only
        the latter), after id `after`, in order; at most a batch (call again with the last
        id)."""
        ...

    async def renew_lease(self, answerer: str, generation: int | None, seconds: int,
                          held: Sequence[int] = ()) -> Lease:
        """This platform process's lease renewed for `seconds` (registered when `generation`
        is None or another process took its messages over meanwhile); which of the messages
        it `held` are now another's."""
        ...

    async def bot_failed(self, conversation_id: int, reason: str, note: str) -> Turn:
        """The bot could not answer: the note is kept, the conversation queued for agents."""
        ...

    async def offline_notice(self, channel: str, user: str, text: str, phone: str | None, *,
                             template: bool) -> None:
        """A reply the channel cannot deliver now, queued in the outbox (template message,
        or SMS when the phone is known)."""
        ...

    async def first_seen(self, push_key: str) -> bool:
        """True the first time a push key is seen; False for a retry of the push."""
        ...

    async def forget_seen_before(self, before: datetime) -> int:
        """Forget push keys older than the channel's retries; how many."""
        ...

    async def sms_message(self, phone: str, text: str, push_key: str) -> SmsAnswer:
        """A customer's SMS: the answer to the question waiting for that phone's reply, or
        kept for the agents in the phone's SMS conversation (once per `push_key`)."""
        ...

    async def call_rating(self, user: str, score: int) -> None:
        """A caller's keypad rating (1–5) of the call whose channel user is `user`."""
        ...

    async def unsubscribed(self, channel: str, user: str) -> None:
        """The user unfollowed the account: their binding ends (a re-subscribe identifies
        again) and the retention clock of their conversations starts."""
        ...

    # ---- the channels' shared state, without Redis (calls in progress, events seen) ---------
    async def state_claim(self, put: StatePut, read: Sequence[str] = ()) -> StateClaim:
        """`put` stored unless its key holds a live value, atomically (of two concurrent
        claims of one key exactly one wins), and the live values of `read`: one transaction."""
        ...

    async def state_read(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The live values of `keys`; absent and expired keys are left out."""
        ...

    async def state_write(self, puts: Sequence[StatePut], drops: Sequence[str] = ()) -> None:
        """Values stored and keys dropped in one transaction."""
        ...

    # ---- who a channel user is --------------------------------------------------------------
    async def binding(self, channel: str, user: str) -> Binding | None:
        """The party the user proved to be (never found by a phone number), or None."""
        ...

    # ---- documents ------------------------------------------------------------------------
    async def attach_document(self, channel: str, user: str, upload: Upload) -> Attachment:
        """The upload added to the bound user's newest open claim."""
        ...

    # ---- handoff, as seen from the channels -------------------------------------------------
    async def agent_message(self, conversation_id: int, agent: str, text: str) -> Delivery:
        """Keep an agent's message; the answer says where to deliver it."""
        ...

    async def handback(self, conversation_id: int, agent: str | None) -> HandedBack:
        """The bot owns the conversation again."""
        ...

    async def close(self) -> None:
        """At shutdown, after the last use case."""
        ...

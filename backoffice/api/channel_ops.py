"""The channels' internal operations under /api/v1/channel/…: the transcript use cases the
channels' port (channels.port.Backoffice) needs from a back office in another process.

Each operation is a row of the API's table (CHANNEL_OPERATIONS, part of
backoffice.api.operations.OPERATIONS): the HTTP adapter (channels.backoffice.HttpBackoffice)
calls these paths, and the in-process adapter (xiaobao.channel_port) runs the same use cases
with the same commands, so both refuse the same input. Their permission, `channel.port`, is held
by no staff role: only the service token calls them (a staff token gets 403, no token 401).
Bindings and document uploads use the public operations (/bindings/…, /claims/{claim_no}/…).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

from backoffice.api.declare import Operation
from backoffice.services import bindings, customer_answers
from backoffice.services import channel_state as state
from backoffice.services import conversations as conv
from backoffice.services.commands import Command

PERMISSION = "channel.port"  # in no role's PERMISSIONS: the service token only
MAX_TEXT = conv.MAX_TEXT
MAX_MESSAGES = 100  # bot messages of one turn
MAX_ANSWERS = 1000  # turns in one batch of bot lines
MAX_HELD = 20000  # messages one platform process answers at once

Db = Any  # the unit of work the composition root hands the API
Channel = Literal[bindings.CHANNELS]  # type: ignore[valid-type]
User = Annotated[str, Field(min_length=1, max_length=80)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Line = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
ConversationId = Annotated[StrictInt, Field(ge=1, le=10**12)]
Agent = Annotated[str, Field(min_length=1, max_length=60)]
MAX_STATE = 64 * 1024  # characters of one state value as JSON
MAX_KEYS = 20  # keys read or written by one state request


def _small(value: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON the database can store: no NaN or infinities, no lone surrogates, no NUL."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except ValueError:
        raise ValueError("须为有效的 JSON 对象") from None
    if len(text) > MAX_STATE:
        raise ValueError(f"值过大（JSON 不超过 {MAX_STATE} 字）")
    if "\x00" in text or "\\u0000" in text:
        raise ValueError("含有不允许的控制字符")
    return value


def _storable(key: str) -> str:
    try:
        key.encode("utf-8")
    except ValueError:
        raise ValueError("须为有效的文本") from None
    if "\x00" in key:
        raise ValueError("含有不允许的控制字符")
    return key


StateKey = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]
StateValue = Annotated[dict[str, Any], AfterValidator(_small)]
Ttl = Annotated[StrictInt, Field(ge=1, le=7 * 24 * 3600)]  # seconds
# the platform process that answers a user's message (channels.router.Router.instance)
Answerer = Annotated[str, Field(min_length=1, max_length=100)]
MessageId = Annotated[StrictInt, Field(ge=1, le=10**15)]
MessageIds = Annotated[list[MessageId], Field(max_length=MAX_ANSWERS)]


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


# ---- inputs ------------------------------------------------------------------------------------

class UserMessageIn(Command):
    channel: Channel
    user: User
    text: Text
    phone: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    push_key: Annotated[str, Field(min_length=1, max_length=160)] | None = None
    # with an answerer, the message stays pending until answered (or its lease runs out)
    answerer: Answerer | None = None


class CallRatingIn(Command):
    user: User  # the call's channel user (random per call)
    score: Annotated[StrictInt, Field(ge=1, le=5)]


class SmsMessageIn(Command):
    phone: Annotated[str, Field(min_length=1, max_length=32)]
    text: Line
    push_key: Annotated[str, Field(min_length=1, max_length=160)]


class BotMessage(Command):
    text: Text = ""
    buttons: Annotated[list[dict[str, Any]], Field(max_length=50)] | None = None
    image: Annotated[str, Field(max_length=2000)] | None = None
    custom: Any = None  # Rasa's custom payload: any JSON value


class BotMessagesIn(Command):
    conversation_id: ConversationId
    messages: Annotated[list[BotMessage], Field(min_length=1, max_length=MAX_MESSAGES)]


class BotAnswer(Command):
    conversation_id: ConversationId
    messages: Annotated[list[BotMessage], Field(max_length=MAX_MESSAGES)]


class BotLinesIn(Command):
    answers: Annotated[list[BotAnswer], Field(min_length=1, max_length=MAX_ANSWERS)]
    answered: MessageIds = []  # the user's messages these lines answer


class SettleIn(Command):
    message_ids: Annotated[list[MessageId], Field(min_length=1, max_length=MAX_ANSWERS)]
    state: Literal["answered", "queued", "agents"]


class UnansweredIn(Command):
    answerer: Answerer
    after: Annotated[StrictInt, Field(ge=0, le=10**15)] = 0
    # true: only what processes whose lease ran out left (a running process's periodic
    # takeover); false: at start-up, its own from before a restart too
    takeover: StrictBool = False


class LeaseIn(Command):
    answerer: Answerer
    # the generation the process holds (null: it registers)
    generation: Annotated[StrictInt, Field(ge=1, le=2**62)] | None = None
    seconds: Annotated[StrictInt, Field(ge=1, le=3600)]
    # the pending messages the process is answering: the answer names those taken over
    held: Annotated[list[MessageId], Field(max_length=MAX_HELD)] = []


class BotFailedIn(Command):
    conversation_id: ConversationId
    reason: Literal[conv.HANDOFF_REASONS]  # type: ignore[valid-type]
    note: Line


class OfflineNoticeIn(Command):
    channel: Channel
    user: User
    text: Line
    phone: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    template: StrictBool = False


class PushKeyIn(Command):
    key: Annotated[str, Field(min_length=1, max_length=160)]


class ForgetPushKeysIn(Command):
    before: AwareDatetime


class StatePut(Command):
    key: StateKey
    value: StateValue
    ttl: Ttl


class StateClaimIn(StatePut):
    read: Annotated[list[StateKey], Field(max_length=MAX_KEYS)] = []


class StateReadIn(Command):
    keys: Annotated[list[StateKey], Field(min_length=1, max_length=MAX_KEYS)]


class StateWriteIn(Command):
    puts: Annotated[list[StatePut], Field(max_length=MAX_KEYS)]  # may be empty: drops only
    drops: Annotated[list[StateKey], Field(max_length=MAX_KEYS)] = []


class AgentMessageIn(Command):
    conversation_id: ConversationId
    agent: Agent
    text: Line


class HandbackIn(Command):
    conversation_id: ConversationId
    agent: Agent | None = None


# ---- answers -----------------------------------------------------------------------------------

class TurnOut(Answer):
    duplicate: bool = False  # the push key was seen before: nothing kept
    conversation_id: int | None = None
    state: str | None = None
    message_id: int | None = None  # the user's message kept
    # the message answered a question put to the customer: what they are told (no bot turn)
    reply: str | None = None

    @classmethod
    def of(cls, turn: conv.Turn | None) -> TurnOut:
        if turn is None:
            return cls(duplicate=True)
        return cls(conversation_id=turn.conversation_id, state=turn.state,
                   message_id=turn.message_id)


class CallRatingOut(Answer):
    subject_type: str
    subject_id: str
    score: int


class SmsOut(Answer):
    """What became of a customer's SMS: a rating or 回访 answer (`reply`: the thanks to send
    back), or kept for the agents in the sender's SMS conversation."""

    status: Literal["satisfaction", "follow_up", "kept"]
    reply: str | None = None
    score: int | None = None
    outcome: str | None = None
    conversation_id: int | None = None


class SettledOut(Answer):
    settled: int  # how many of the messages were still pending


class UnansweredItem(Answer):
    message_id: int
    conversation_id: int
    channel: str
    user: str
    phone: str | None
    text: str


class UnansweredOut(Answer):
    items: list[UnansweredItem]


class LeaseOut(Answer):
    generation: int
    taken: list[int] = Field(description="Of the messages held, those another process took over")


class Done(Answer):
    done: bool = True


class FirstSeenOut(Answer):
    first: bool


class ForgottenOut(Answer):
    forgotten: int


class StateOut(Answer):
    """`claimed`: the claim's key was free and now holds its value; `values`: the live values
    of the keys asked for (the claimed key's own when someone else holds it)."""

    claimed: bool = False
    values: dict[str, dict[str, Any]] = {}


class DeliveryOut(Answer):
    conversation_id: int
    channel: str
    user: str
    text: str
    phone: str | None


class ConversationOut(Answer):
    """A conversation as the agents' API shows it (GET /conversations/{id} without lines)."""

    model_config = ConfigDict(frozen=True, extra="allow")
    id: int
    channel: str
    user: str
    state: str
    queue: str
    agent: str | None = None


# ---- use cases: (db, command) -> answer --------------------------------------------------------

def user_message(db: Db, cmd: UserMessageIn) -> TurnOut:
    if cmd.push_key is None:
        turn = conv.user_message(db, cmd.channel, cmd.user, cmd.text, None, cmd.phone,
                                 cmd.answerer)
    else:
        turn = conv.user_message_once(db, cmd.push_key, cmd.channel, cmd.user, cmd.text, None,
                                      cmd.phone, cmd.answerer)
    out = TurnOut.of(turn)
    if turn is not None and turn.state == "bot":
        # the answer to a satisfaction or 回访 question waiting for this customer's next
        # message is taken here, not by the bot: the question is the back office's, and a
        # "5" mid-form stays the form's answer when no question waits (services.customer_answers)
        answered = customer_answers.reply(db, cmd.channel, cmd.user, cmd.text)
        if answered is not None:
            return out.model_copy(update={"reply": answered.reply})
    return out


def call_rating(db: Db, cmd: CallRatingIn) -> CallRatingOut:
    return CallRatingOut(**customer_answers.call_rating(db, cmd.user, cmd.score))


class UnsubscribeIn(Command):
    channel: Channel
    user: User


class UnsubscribedOut(Answer):
    unbound: bool = Field(description="A binding to a party ended (false: there was none)")


def unsubscribe(db: Db, cmd: UnsubscribeIn) -> UnsubscribedOut:
    return UnsubscribedOut(**bindings.unsubscribe(db, {"channel": cmd.channel,
                                                       "user": cmd.user}))


def sms_message(db: Db, cmd: SmsMessageIn) -> SmsOut:
    return SmsOut(**customer_answers.sms_message(db, cmd.phone, cmd.text, cmd.push_key))


def _plain(messages: list[BotMessage]) -> list[dict[str, Any]]:
    return [m.model_dump(exclude_none=True) for m in messages]


def bot_messages(db: Db, cmd: BotMessagesIn) -> TurnOut:
    return TurnOut.of(conv.bot_messages(db, cmd.conversation_id, _plain(cmd.messages)))


def bot_lines(db: Db, cmd: BotLinesIn) -> Done:
    conv.bot_lines(db, [(a.conversation_id, _plain(a.messages)) for a in cmd.answers],
                   cmd.answered)
    return Done()


def settle(db: Db, cmd: SettleIn) -> SettledOut:
    return SettledOut(settled=conv.settle(db, cmd.message_ids, cmd.state))


def unanswered(db: Db, cmd: UnansweredIn) -> UnansweredOut:
    return UnansweredOut(items=[
        UnansweredItem(message_id=u.message_id, conversation_id=u.conversation_id,
                       channel=u.channel, user=u.user, phone=u.phone, text=u.text)
        for u in conv.unanswered(db, cmd.answerer, cmd.after, takeover=cmd.takeover)])


def renew_lease(db: Db, cmd: LeaseIn) -> LeaseOut:
    lease = conv.renew_lease(db, cmd.answerer, cmd.generation, cmd.seconds, cmd.held)
    return LeaseOut(generation=lease.generation, taken=list(lease.taken))


def bot_failed(db: Db, cmd: BotFailedIn) -> TurnOut:
    return TurnOut.of(conv.bot_failed(db, cmd.conversation_id, cmd.reason, cmd.note))


def offline_notice(db: Db, cmd: OfflineNoticeIn) -> Done:
    conv.offline_notice(db, cmd.channel, cmd.user, cmd.text, cmd.phone, cmd.template)
    return Done()


def first_seen(db: Db, cmd: PushKeyIn) -> FirstSeenOut:
    return FirstSeenOut(first=conv.first_seen(db, cmd.key))


def forget_push_keys(db: Db, cmd: ForgetPushKeysIn) -> ForgottenOut:
    return ForgottenOut(forgotten=conv.forget_seen_before(db, cmd.before))


def _put(p: StatePut) -> state.Put:
    return state.Put(p.key, p.value, p.ttl)


def state_claim(db: Db, cmd: StateClaimIn) -> StateOut:
    done = state.claim(db, _put(cmd), cmd.read)
    return StateOut(claimed=done.claimed, values=dict(done.values))


def state_read(db: Db, cmd: StateReadIn) -> StateOut:
    return StateOut(values=state.read(db, cmd.keys))


def state_write(db: Db, cmd: StateWriteIn) -> Done:
    state.write(db, [_put(p) for p in cmd.puts], cmd.drops)
    return Done()


def agent_message(db: Db, cmd: AgentMessageIn) -> DeliveryOut:
    d = conv.agent_message(db, cmd.conversation_id, cmd.agent, cmd.text)
    return DeliveryOut(conversation_id=d.conversation_id, channel=d.channel, user=d.user,
                       text=d.text, phone=d.phone)


def handback(db: Db, cmd: HandbackIn) -> ConversationOut:
    return ConversationOut.model_validate(conv.handback(db, cmd.conversation_id, cmd.agent))


# ---- the table ---------------------------------------------------------------------------------

def _row(path: str, operation_id: str, summary: str, use_case: Callable[[Db, Any], Answer],
         command: type[Command], answer: type[Answer], status: int = 200) -> Operation:
    """A port use case `(db, cmd) -> Answer` as an operation of the table."""

    def run(db: Db, cmd: Any, actor: Any) -> dict[str, Any]:
        return use_case(db, cmd).model_dump(mode="json")

    run.__name__ = use_case.__name__
    return Operation("POST", path, operation_id, summary, "channel", PERMISSION, run, command,
                     answer, status=status)


CHANNEL_OPERATIONS: tuple[Operation, ...] = (
    _row("/channel/messages", "channelUserMessage",
         "A user's message (with a push key: once), and who owns the conversation",
         user_message, UserMessageIn, TurnOut),
    _row("/channel/bot-messages", "channelBotMessages", "The bot's answer with a handoff",
         bot_messages, BotMessagesIn, TurnOut),
    _row("/channel/bot-lines", "channelBotLines", "The bot's plain answers, in one batch",
         bot_lines, BotLinesIn, Done),
    _row("/channel/settled-messages", "channelSettleMessages",
         "What became of pending user messages: answered, queued for an agent, the agents'",
         settle, SettleIn, SettledOut),
    _row("/channel/unanswered-messages", "channelUnansweredMessages",
         "Claim the pending user messages a restarted platform process answers, in order",
         unanswered, UnansweredIn, UnansweredOut),
    _row("/channel/instance-leases", "channelRenewLease",
         "A platform process's lease renewed; which of its messages another process took over",
         renew_lease, LeaseIn, LeaseOut),
    _row("/channel/bot-failures", "channelBotFailed",
         "The bot could not answer: the conversation goes to the agents", bot_failed,
         BotFailedIn, TurnOut),
    _row("/channel/offline-notices", "channelOfflineNotice",
         "A reply that cannot go out now, to the notification outbox", offline_notice,
         OfflineNoticeIn, Done, status=201),
    _row("/channel/push-keys", "channelFirstSeen", "Whether a push key is seen the first time",
         first_seen, PushKeyIn, FirstSeenOut),
    _row("/channel/push-keys/forget", "channelForgetPushKeys",
         "Forget the push keys seen before a time", forget_push_keys, ForgetPushKeysIn,
         ForgottenOut),
    _row("/channel/state/claim", "channelStateClaim",
         "A state key taken unless it holds a live value, with other keys read alike",
         state_claim, StateClaimIn, StateOut),
    _row("/channel/state/read", "channelStateRead", "The live values of state keys",
         state_read, StateReadIn, StateOut),
    _row("/channel/state/write", "channelStateWrite",
         "State values stored and keys dropped, together", state_write, StateWriteIn, Done),
    _row("/channel/agent-messages", "channelAgentMessage",
         "An agent's message kept; where to deliver it", agent_message, AgentMessageIn,
         DeliveryOut, status=201),
    _row("/channel/sms-messages", "channelSmsMessage",
         "A customer's SMS: the answer to a question put to them, or kept for the agents",
         sms_message, SmsMessageIn, SmsOut),
    _row("/channel/call-ratings", "channelCallRating",
         "A caller's keypad rating (1–5) at the end of a call", call_rating, CallRatingIn,
         CallRatingOut, status=201),
    _row("/channel/handbacks", "channelHandback", "The conversation goes back to the bot",
         handback, HandbackIn, ConversationOut),
    _row("/channel/unsubscriptions", "channelUnsubscribe",
         "The user unfollowed: their binding ends and the retention clock starts",
         unsubscribe, UnsubscribeIn, UnsubscribedOut),
)

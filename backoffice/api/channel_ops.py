"""The channels' internal operations under /api/v1/channel/…: the transcript use cases the
channels' port (channels.port.Backoffice) needs from a back office in another process.

Each operation is declared once in CHANNEL_OPERATIONS: method, path, permission, input and
output models (pydantic), use case `(db, command) -> answer`, summary. The HTTP adapter
(channels.backoffice.HttpBackoffice) calls these paths; the in-process adapter
(xiaobao.channel_port) runs the same use cases with the same commands, so both refuse the
same input.

Their permission, `channel.port`, is held by no staff role: only the service token calls them.
No token or a bad one gets 401 (the API's auth middleware), a staff token of any role 403
(the handler checks the service token itself, whatever table the middleware consults).
Bindings and document uploads use the public operations (/bindings/…, /claims/…/documents).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt
from pydantic import ValidationError as PydanticError

from backoffice.api.access import bearer, is_service_token
from backoffice.api.app import DB_KEY, TOKEN_KEY
from backoffice.domain.errors import Forbidden, ValidationError
from backoffice.services import conversations as conv
from backoffice.services.running import run_use_case

PERMISSION = "channel.port"  # in no role's PERMISSIONS: the service token only
MAX_TEXT = conv.MAX_TEXT
MAX_MESSAGES = 100  # bot messages of one turn
MAX_ANSWERS = 1000  # turns in one batch of bot lines

Db = Any  # the unit of work the composition root hands the API
Channel = Literal["wechat", "ivr", "web"]
User = Annotated[str, Field(min_length=1, max_length=80)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Line = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
ConversationId = Annotated[StrictInt, Field(ge=1, le=10**12)]
Agent = Annotated[str, Field(min_length=1, max_length=60)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def of(cls, raw: Any) -> Any:
        """The command from a JSON object; a refusal is a ValidationError naming the field."""
        try:
            return cls.model_validate(raw)
        except PydanticError as exc:
            raise refusal(exc) from None


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


# ---- inputs ------------------------------------------------------------------------------------

class UserMessageIn(Command):
    channel: Channel
    user: User
    text: Text
    phone: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    push_key: Annotated[str, Field(min_length=1, max_length=160)] | None = None


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

    @classmethod
    def of(cls, turn: conv.Turn | None) -> TurnOut:
        if turn is None:
            return cls(duplicate=True)
        return cls(conversation_id=turn.conversation_id, state=turn.state)


class Done(Answer):
    done: bool = True


class FirstSeenOut(Answer):
    first: bool


class ForgottenOut(Answer):
    forgotten: int


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
        return TurnOut.of(conv.user_message(db, cmd.channel, cmd.user, cmd.text, None,
                                            cmd.phone))
    return TurnOut.of(conv.user_message_once(db, cmd.push_key, cmd.channel, cmd.user, cmd.text,
                                             None, cmd.phone))


def _plain(messages: list[BotMessage]) -> list[dict[str, Any]]:
    return [m.model_dump(exclude_none=True) for m in messages]


def bot_messages(db: Db, cmd: BotMessagesIn) -> TurnOut:
    return TurnOut.of(conv.bot_messages(db, cmd.conversation_id, _plain(cmd.messages)))


def bot_lines(db: Db, cmd: BotLinesIn) -> Done:
    conv.bot_lines(db, [(a.conversation_id, _plain(a.messages)) for a in cmd.answers])
    return Done()


def bot_failed(db: Db, cmd: BotFailedIn) -> TurnOut:
    return TurnOut.of(conv.bot_failed(db, cmd.conversation_id, cmd.reason, cmd.note))


def offline_notice(db: Db, cmd: OfflineNoticeIn) -> Done:
    conv.offline_notice(db, cmd.channel, cmd.user, cmd.text, cmd.phone, cmd.template)
    return Done()


def first_seen(db: Db, cmd: PushKeyIn) -> FirstSeenOut:
    return FirstSeenOut(first=conv.first_seen(db, cmd.key))


def forget_push_keys(db: Db, cmd: ForgetPushKeysIn) -> ForgottenOut:
    return ForgottenOut(forgotten=conv.forget_seen_before(db, cmd.before))


def agent_message(db: Db, cmd: AgentMessageIn) -> DeliveryOut:
    d = conv.agent_message(db, cmd.conversation_id, cmd.agent, cmd.text)
    return DeliveryOut(conversation_id=d.conversation_id, channel=d.channel, user=d.user,
                       text=d.text, phone=d.phone)


def handback(db: Db, cmd: HandbackIn) -> ConversationOut:
    return ConversationOut.model_validate(conv.handback(db, cmd.conversation_id, cmd.agent))


# ---- the table ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ChannelOperation:
    method: str
    path: str  # relative to /api/v1
    input: type[Command]
    output: type[Answer]
    use_case: Callable[[Db, Any], Answer]
    summary: str
    permission: str = PERMISSION
    status: int = 200


CHANNEL_OPERATIONS: list[ChannelOperation] = [
    ChannelOperation("POST", "/channel/messages", UserMessageIn, TurnOut, user_message,
                     "渠道：记录用户消息（可带推送去重键），返回会话及其归属"),
    ChannelOperation("POST", "/channel/bot-messages", BotMessagesIn, TurnOut, bot_messages,
                     "渠道：记录带转人工指令的机器人回复"),
    ChannelOperation("POST", "/channel/bot-lines", BotLinesIn, Done, bot_lines,
                     "渠道：批量记录已发出的机器人回复"),
    ChannelOperation("POST", "/channel/bot-failures", BotFailedIn, TurnOut, bot_failed,
                     "渠道：机器人无法应答，会话转人工队列"),
    ChannelOperation("POST", "/channel/offline-notices", OfflineNoticeIn, Done, offline_notice,
                     "渠道：无法即时送达的回复转入通知发件箱", status=201),
    ChannelOperation("POST", "/channel/push-keys", PushKeyIn, FirstSeenOut, first_seen,
                     "渠道：推送去重键是否首次出现"),
    ChannelOperation("POST", "/channel/push-keys/forget", ForgetPushKeysIn, ForgottenOut,
                     forget_push_keys, "渠道：清除早于某时刻的推送去重键"),
    ChannelOperation("POST", "/channel/agent-messages", AgentMessageIn, DeliveryOut,
                     agent_message, "渠道：记录坐席消息，返回送达渠道与用户", status=201),
    ChannelOperation("POST", "/channel/handbacks", HandbackIn, ConversationOut, handback,
                     "渠道：会话交回小保"),
]


def handler(op: ChannelOperation) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        token = bearer(request)  # the auth middleware answered 401 to no or a bad token
        if token is None or not is_service_token(token, request.app[TOKEN_KEY]):
            raise Forbidden("此接口仅供渠道网关以服务令牌调用")  # staff, whatever the role
        cmd = op.input.of(await json_object(request))
        db = request.app[DB_KEY]
        answer = await run_use_case(db, op.use_case, db, cmd)
        return web.json_response(answer.model_dump(mode="json"), status=op.status,
                                 dumps=lambda d: json.dumps(d, ensure_ascii=False))

    handle.__name__ = op.use_case.__name__
    return handle


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, LookupError, RecursionError):
        raise ValidationError("body", "请求体不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise ValidationError("body", "请求体须为 JSON 对象")
    nul = nul_field(data)
    if nul:
        raise ValidationError(nul, "含有不允许的控制字符")
    return data


def nul_field(value: Any, where: str = "") -> str | None:
    """Where a JSON value holds a NUL character (PostgreSQL text cannot store one), if any."""
    if isinstance(value, str):
        return (where or "body") if "\x00" in value else None
    if isinstance(value, dict):
        places = [(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        places = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for place, item in places:
        if "\x00" in place:
            return place.replace("\x00", "")
        found = nul_field(item, place)
        if found:
            return found
    return None


def add_routes(app: web.Application) -> None:
    """Until the operations table takes them: the aiohttp routes of CHANNEL_OPERATIONS."""
    for op in CHANNEL_OPERATIONS:
        app.router.add_route(op.method, op.path, handler(op))


# ---- refusals ----------------------------------------------------------------------------------

_WORDS = {
    "missing": "请提供 {field}",
    "extra_forbidden": "不认识的字段 {field}",
    "string_type": "{field} 须为文本",
    "int_type": "{field} 须为整数",
    "bool_type": "{field} 须为 true 或 false",
    "list_type": "{field} 须为列表",
    "dict_type": "{field} 须为对象",
    "model_type": "{field} 须为对象",
    "model_attributes_type": "{field} 须为对象",
    "literal_error": "{field} 的取值不在允许范围内",
    "string_too_long": "{field} 过长（最多 {max_length} 字）",
    "string_too_short": "{field} 不能为空",
    "too_long": "{field} 项数过多（最多 {max_length} 项）",
    "too_short": "{field} 不能为空",
    "greater_than_equal": "{field} 不小于 {ge}",
    "less_than_equal": "{field} 不大于 {le}",
    "timezone_aware": "{field} 须为带时区的时间",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """("answers", 1, "messages") → "answers[1].messages"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def refusal(exc: PydanticError) -> ValidationError:
    """The first error of a command as the domain's refusal (400 naming the field)."""
    error = exc.errors(include_url=False)[0]
    where = field_path(tuple(error["loc"]))
    words = _WORDS.get(error["type"], "{field} 无效")
    return ValidationError(where, words.format(field=where, **(error.get("ctx") or {})))

"""Typed commands: what a use case takes, validated once, and the field types they share.

A command is a pydantic model. The API builds one from the request (path, query and body
together); in-process callers (the desk, the scheduler, the channels' port, tests) pass one or a
plain mapping, which `takes` turns into the command. A refusal is the domain's ValidationError
naming the field ("reporter.phone", "documents[1].type"), so every caller gets the same 400.

The field types wrap the domain's own parsers (backoffice.domain: ID numbers, phones, dates,
amounts…): each rule is written once, in the domain, and the types only carry it here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticError

from backoffice.domain.adjudication import parse_facts
from backoffice.domain.errors import ValidationError
from backoffice.domain.identity import parse_id_number, parse_phone
from backoffice.domain.money import parse_amount
from backoffice.domain.party import parse_date, parse_name
from backoffice.services.base import today_cn

# keys a body may carry that never decide anything: who acts comes from the token
IGNORED_KEYS = frozenset({"actor", "role"})


class Command(BaseModel):
    """A use case's input. Unknown keys are ignored (clients may send more than we read);
    `actor` and `role` in a body are ignored too: the caller's token says who acts."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    @classmethod
    def of(cls: type[C], raw: Any) -> C:
        """The command from a mapping; a refusal names its field."""
        if isinstance(raw, cls):
            return raw
        if not isinstance(raw, Mapping):
            raise ValidationError("body", "请求体须为 JSON 对象")
        try:
            return cls.model_validate({k: v for k, v in raw.items() if k not in IGNORED_KEYS})
        except PydanticError as exc:
            raise refusal(exc, cls) from None


C = TypeVar("C", bound=Command)
F = TypeVar("F", bound=Callable[..., Any])


def takes(command: type[Command]) -> Callable[[F], F]:
    """A use case whose parameter `cmd` is `command`: a mapping given there is validated into
    it, so in-process callers and the API share one check."""

    def wrap(fn: F) -> F:
        position = list(inspect.signature(fn).parameters).index("cmd")

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            if "cmd" in kwargs:
                kwargs["cmd"] = command.of(kwargs["cmd"])
            elif len(args) > position:
                args = (*args[:position], command.of(args[position]), *args[position + 1:])
            return fn(*args, **kwargs)

        run.command = command  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap


# ---- refusals ----------------------------------------------------------------------------------

_MESSAGES = {
    "missing": "请提供 {field}",
    "string_type": "{field} 须为文本",
    "int_type": "{field} 须为整数",
    "int_parsing": "{field} 须为整数",
    "bool_type": "{field} 须为 true 或 false",
    "bool_parsing": "{field} 须为 true 或 false",
    "list_type": "{field} 须为列表",
    "dict_type": "{field} 须为对象",
    "model_type": "{field} 须为对象",
    "model_attributes_type": "{field} 须为对象",
    "literal_error": "{field} 须为 {expected} 之一",
    "enum": "{field} 须为 {expected} 之一",
    "string_too_long": "{field} 不超过 {max_length} 字",
    "string_too_short": "{field} 不能为空",
    "string_pattern_mismatch": "{field} 格式不正确",
    "too_long": "{field} 最多 {max_length} 项",
    "too_short": "{field} 至少 {min_length} 项",
    "greater_than_equal": "{field} 不小于 {ge}",
    "less_than_equal": "{field} 不大于 {le}",
    "greater_than": "{field} 须大于 {gt}",
    "less_than": "{field} 须小于 {lt}",
    "recursion_loop": "{field} 嵌套过深",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """("documents", 1, "type") → "documents[1].type"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def refusal(exc: PydanticError, model: type[BaseModel] | None = None) -> ValidationError:
    """The first problem of a pydantic error as the domain's ValidationError; a field with an
    alias (a header such as Idempotency-Key) is named by its alias."""
    err = exc.errors(include_url=False)[0]
    loc = tuple(err["loc"])
    if model is not None and loc and isinstance(loc[0], str) and loc[0] in model.model_fields:
        loc = (model.model_fields[loc[0]].alias or loc[0], *loc[1:])
    field = field_path(loc)
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, FieldRefusal) and cause.field:
        return ValidationError(cause.field, str(cause))
    if isinstance(cause, ValueError) and str(cause):
        return ValidationError(field, str(cause))
    if "expected" in ctx:  # pydantic's English list "'a', 'b' or 'c'"
        ctx = {**ctx, "expected": str(ctx["expected"]).replace("' or '", "', '")}
    template = _MESSAGES.get(err["type"])
    if template is None:
        return ValidationError(field, f"{field} 格式不正确")
    try:
        return ValidationError(field, template.format(field=field, **ctx))
    except (KeyError, IndexError):
        return ValidationError(field, f"{field} 格式不正确")


# ---- field types ---------------------------------------------------------------------------

class FieldRefusal(ValueError):
    """A domain parser's refusal inside a field; `field` when the parser named a deeper one
    (facts.disability_levels)."""

    def __init__(self, message: str, field: str | None) -> None:
        super().__init__(message)
        self.field = field


def domain_rule(parse: Callable[[Any, str], Any]) -> BeforeValidator:
    """A domain parser as a field check: its message becomes the field's refusal."""

    def check(value: Any) -> Any:
        try:
            return parse(value, "")
        except ValidationError as exc:
            raise FieldRefusal(exc.message, exc.field) from None

    return BeforeValidator(check)


def _text_rule(limit: int, blank_ok: bool) -> Callable[[Any, str], str | None]:
    def parse(value: Any, _field: str) -> str | None:
        if not isinstance(value, str):
            raise ValidationError("", f"须为不超过 {limit} 字的文本")
        value = value.strip()
        if len(value) > limit or (not value and not blank_ok):
            raise ValidationError("", f"须为不超过 {limit} 字的文本" if value else "不能为空")
        if "\x00" in value:
            raise ValidationError("", "含有不允许的控制字符")
        return value or None

    return parse


def Text(limit: int, *, blank_ok: bool = True) -> Any:  # a type factory
    """Trimmed text of at most `limit` characters (blank → None when allowed)."""
    # the rule's None for a blank must pass the type too: `str` alone refused it
    kind = str | None if blank_ok else str
    return Annotated[kind, domain_rule(_text_rule(limit, blank_ok)),
                     WithJsonSchema({"type": "string", "maxLength": limit})]


def _ascii_number(limit: int) -> Callable[[Any, str], int]:
    def parse(value: Any, _field: str) -> int:
        # an int is bounded before str(), which raises on more than 4,300 digits
        if isinstance(value, bool) or not isinstance(value, int | str) or (
                isinstance(value, int) and not 1 <= value <= limit):
            raise ValidationError("", f"须为 1–{limit} 的整数")
        text = str(value)
        # ASCII digits only: str.isdigit() also takes "²" and "４", which int() then refuses
        if not (text.isascii() and text.isdigit()) or len(text) > 12 or not 1 <= int(text) <= limit:
            raise ValidationError("", f"须为 1–{limit} 的整数")
        return int(text)

    return parse


def Count(limit: int) -> Any:  # a type factory
    """A whole number 1…limit, from JSON or a query string, ASCII digits only."""
    return Annotated[int, domain_rule(_ascii_number(limit)),
                     WithJsonSchema({"type": "integer", "minimum": 1, "maximum": limit})]


RowId = Count(10**12 - 1)


def _exact_date(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    return parse_date(value, field)


def _date_only(value: Any, field: str) -> date:
    """YYYY-MM-DD exactly (no times, no week dates, no Unicode digits)."""
    if not isinstance(value, str) or len(value) != 10 or not value.isascii():
        raise ValidationError(field, "日期格式须为 YYYY-MM-DD")
    return _exact_date(value, field)


def ref(name: str) -> WithJsonSchema:
    """The schema of a shared component of the API document (backoffice.api.openapi turns
    the marker into a `$ref`: pydantic resolves a `$ref` of its own only among its models)."""
    return WithJsonSchema({"x-component": name})


Day = Annotated[date, domain_rule(_date_only), ref("Date")]
def _id_number(value: Any, field: str) -> str:
    """An identity number as of today (Beijing): nobody is born tomorrow."""
    return parse_id_number(value, field, today=today_cn()).value


IdNumber = Annotated[str, domain_rule(_id_number),
                     WithJsonSchema({"type": "string", "minLength": 18, "maxLength": 18,
                                     "description": "18-character identity number (resident "
                                     "ID, HMT residence permit, foreigners' permanent "
                                     "residence ID) with its check character."})]
def _ascii_phone(value: Any, field: str) -> str:
    # the domain's pattern uses \d, which also matches "８" and other Unicode digits
    if isinstance(value, str) and not value.isascii():
        raise ValidationError(field, "电话号码格式不正确：手机号11位，座机需带区号")
    return parse_phone(value, field)


Phone = Annotated[str, domain_rule(_ascii_phone),
                  WithJsonSchema({"type": "string", "maxLength": 20,
                                  "description": "Mainland mobile (11 digits) or landline "
                                  "with area code."})]
PersonName = Annotated[str, domain_rule(parse_name),
                       WithJsonSchema({"type": "string", "maxLength": 40})]
Amount = Annotated[Decimal, domain_rule(lambda v, f: parse_amount(v, f)), ref("AmountInput")]


def _facts(value: Any, _field: str) -> dict[str, Any]:
    parse_facts(value)  # every known fact checked; kept as sent (unknown keys too)
    return dict(value)


Facts = Annotated[dict[str, Any], domain_rule(_facts), ref("ClaimFacts")]


def _reference(value: Any, _field: str) -> str:
    if not isinstance(value, str) or not value.isascii() or not 1 <= len(value) <= 40 \
            or not value.replace("-", "").isalnum():
        raise ValidationError("", "编号须为 1–40 位字母或数字")
    return value


Reference = Annotated[str, domain_rule(_reference),
                      WithJsonSchema({"type": "string", "pattern": r"^[A-Za-z0-9-]{1,40}$"})]
Flag = Annotated[bool, Field(strict=False)]


def _positive_amount(value: Any, field: str) -> Decimal:
    return parse_amount(value, field, allow_zero=False)


PositiveAmount = Annotated[Decimal, domain_rule(_positive_amount),
                           WithJsonSchema({"type": "string",
                                           "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$",
                                           "description": "Yuan as a decimal string, "
                                           "more than zero."})]


def OneOf(values: Sequence[str]) -> Any:  # a type factory
    """One of the domain's values (pass its tuple, e.g. PAYMENT_MODES; never a copy): the
    schema's enum, and a refusal that lists them."""
    allowed = tuple(values)

    def parse(value: Any, _field: str) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise ValidationError("", f"须为 {', '.join(allowed)} 之一")
        return value

    return Annotated[Literal[allowed], domain_rule(parse)]  # type: ignore[valid-type]


__all__ = ["IGNORED_KEYS", "Amount", "Command", "Count", "Day", "Facts", "Flag", "IdNumber",
           "OneOf",
           "PersonName", "Phone", "PositiveAmount", "Reference", "RowId", "Text",
           "domain_rule", "field_path", "ref", "refusal", "takes"]

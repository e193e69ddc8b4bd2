"""`rasa` as the platform runs it: the same command line, minus four per-turn costs of Rasa 3.6.21.

Run with the bot environment's Python from the repository root:
    .venv-bot/bin/python bot/rasa_run.py run --enable-api --model … (any `rasa` arguments)
    .venv-bot/bin/python bot/rasa_run.py run actions --actions actions … (the action server)

1. Every answer of the action server is validated with `jsonschema.validate`, which first checks
   the response schema itself against the JSON Schema 2020-12 meta-schema. With jsonschema 4.17
   that check costs 25–50 ms of CPU per custom action — more than the whole NLU pipeline. Here the
   schema is checked once and each answer is validated against it exactly as before.
2. The SQL tracker store on SQLite opens and closes a connection for every read and write
   (SQLAlchemy 1.4's NullPool for SQLite files) and commits with a full fsync per turn. Here its
   connections are pooled, and WAL with synchronous=NORMAL survives a crash of the process (only
   a power cut can lose the last turns) and lets readers and the writer work side by side.
3. Python's cyclic garbage collector walks every object alive when it makes a full collection:
   with TensorFlow and the model loaded that is millions of objects, and each full collection
   stopped the Rasa server for 0.4–0.5 s (the action server for 50–70 ms) every 5–30 s under
   load — the slowest turns of every benchmark. Once the model is loaded and has answered one
   parse (TensorFlow builds its graphs on the first prediction), everything alive is frozen
   (`gc.freeze`): the collector then walks only what turns allocate, which is cheap. The action
   server freezes once its actions are imported.
4. Reading a tracker turns every stored event into its class by name, and Rasa finds the class by
   walking all subclasses of `Event` again for each event: 9 % of Rasa's CPU on a turn 30
   turns into a session. Here each name is looked up once and remembered (the classes are all
   defined at import).

And one channel more: the phone, `ivr` (bot/credentials.yml), is Rasa's REST webhook at
/webhooks/ivr/webhook whose answers are collected under the name `ivr`, so responses'
`channel: ivr` variations (domain.yml) are what a caller hears.
"""

from __future__ import annotations

import sys

del sys.path[0]  # this script's folder (bot/) holds data, not modules

import gc  # noqa: E402
import logging  # noqa: E402
import sqlite3  # noqa: E402
from functools import cache, lru_cache  # noqa: E402
from typing import Any  # noqa: E402

from jsonschema import ValidationError, validators  # noqa: E402
from rasa.core import run, tracker_store  # noqa: E402
from rasa.core.actions.action import RemoteAction  # noqa: E402
from rasa.core.channels import BUILTIN_CHANNELS  # noqa: E402
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage  # noqa: E402
from rasa.core.channels.rest import RestInput  # noqa: E402
from rasa.shared.constants import DOCS_BASE_URL  # noqa: E402
from rasa.shared.core.events import Event  # noqa: E402
from rasa_sdk import endpoint  # noqa: E402
from sanic import Blueprint, response  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.pool import QueuePool  # noqa: E402

log = logging.getLogger("xiaobao.rasa_run")

_rasa_engine_kwargs = tracker_store.create_engine_kwargs
_rasa_load_agent = run.load_agent_on_start
_sdk_create_app = endpoint.create_app
_rasa_resolve_by_type = Event.resolve_by_type
WARM_UP = "你好"


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # what jsonschema.validate does on every call, done once
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    try:
        _response_validator().validate(result)
    except ValidationError as e:  # the message Rasa gives, unchanged
        e.message += (". Failed to validate Action server response from API, make sure your "
                      "response from the Action endpoint is valid. For more information about "
                      f"the format visit {DOCS_BASE_URL}/custom-actions")
        raise
    return True


@event.listens_for(Engine, "connect")
def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _engine_kwargs(url: Any) -> dict[str, Any]:
    if str(url).startswith("sqlite") and ":memory:" not in str(url):
        # all tracker store calls run on the event loop's thread; the pool only keeps them open
        return {"poolclass": QueuePool, "pool_size": 2,
                "connect_args": {"check_same_thread": False}}
    return _rasa_engine_kwargs(url)


@cache
def _event_class(type_name: str) -> Any:
    return _rasa_resolve_by_type(type_name)  # an unknown name raises, and is not remembered


def _resolve_by_type(type_name: str, default: Any = None) -> Any:
    try:
        return _event_class(type_name)
    except ValueError:
        if default is not None:
            return default
        raise


def freeze_heap() -> None:
    """Collect what is garbage now, then keep everything alive out of later collections."""
    gc.collect()
    gc.freeze()


async def _load_agent_warm_and_freeze(*args: Any, **kwargs: Any) -> Any:
    agent = await _rasa_load_agent(*args, **kwargs)
    if agent is not None and agent.processor is not None:
        try:
            await agent.parse_message(WARM_UP)
        except Exception:  # a model without NLU: nothing to warm, the server still starts
            log.warning("warm-up parse failed", exc_info=True)
    freeze_heap()
    return agent


def _create_action_app(*args: Any, **kwargs: Any) -> Any:
    app = _sdk_create_app(*args, **kwargs)  # imports the actions package
    freeze_heap()
    return app


class EarOutput(CollectingOutputChannel):
    """A call's answers, collected under the channel name the `channel: ivr` responses use."""

    @classmethod
    def name(cls) -> str:
        return "ivr"


class PhoneInput(RestInput):
    """Rasa's REST channel for the phone (/webhooks/ivr/webhook): the same JSON in and out,
    answered through EarOutput."""

    @classmethod
    def name(cls) -> str:
        return "ivr"

    def blueprint(self, on_new_message: Any) -> Blueprint:
        hook = Blueprint("ivr_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Any) -> Any:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Any) -> Any:
            collector = EarOutput()
            message = UserMessage(self._extract_message(request), collector,
                                  await self._extract_sender(request), input_channel="ivr",
                                  metadata=self.get_metadata(request))
            try:
                await on_new_message(message)
            except Exception:  # as the REST channel: an empty answer is a failed turn
                log.exception("a phone turn failed")
            return response.json(collector.messages)

        return hook


BUILTIN_CHANNELS[PhoneInput.name()] = PhoneInput
run.load_agent_on_start = _load_agent_warm_and_freeze
Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign]
endpoint.create_app = _create_action_app
RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
tracker_store.create_engine_kwargs = _engine_kwargs

if __name__ == "__main__":
    from rasa.__main__ import main

    sys.argv[0] = "rasa"
    sys.exit(main())

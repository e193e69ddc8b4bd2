"""`rasa` as the platform runs it: the same command line, minus two per-turn costs of Rasa 3.6.21.

Run with the bot environment's Python from the repository root:
    .venv-bot/bin/python bot/rasa_run.py run --enable-api --model … (any `rasa` arguments)

1. Every answer of the action server is validated with `jsonschema.validate`, which first checks
   the response schema itself against the JSON Schema 2020-12 meta-schema. With jsonschema 4.17
   that check costs 25–50 ms of CPU per custom action — more than the whole NLU pipeline. Here the
   schema is checked once and each answer is validated against it exactly as before.
2. The SQL tracker store on SQLite opens and closes a connection for every read and write
   (SQLAlchemy 1.4's NullPool for SQLite files) and commits with a full fsync per turn. Here its
   connections are pooled, and WAL with synchronous=NORMAL survives a crash of the process (only
   a power cut can lose the last turns) and lets readers and the writer work side by side.
"""

from __future__ import annotations

import sys

del sys.path[0]  # this script's folder (bot/) holds data, not modules

import sqlite3  # noqa: E402
from functools import lru_cache  # noqa: E402
from typing import Any  # noqa: E402

from jsonschema import ValidationError, validators  # noqa: E402
from rasa.core import tracker_store  # noqa: E402
from rasa.core.actions.action import RemoteAction  # noqa: E402
from rasa.shared.constants import DOCS_BASE_URL  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.pool import QueuePool  # noqa: E402

_rasa_engine_kwargs = tracker_store.create_engine_kwargs


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


RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
tracker_store.create_engine_kwargs = _engine_kwargs

if __name__ == "__main__":
    from rasa.__main__ import main

    sys.argv[0] = "rasa"
    sys.exit(main())

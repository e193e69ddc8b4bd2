"""bot/rasa_run.py, the launcher Rasa is started with: the action server's answers are still
validated (with the schema checked once), the SQLite tracker store is pooled and in WAL, events
still resolve by name, and what start-up left alive is frozen."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_actions_in_bot_env import run_bot_python
from xiaobao import bot

CHECK = """
import json, runpy
runpy.run_path("bot/rasa_run.py")
from jsonschema import ValidationError
from rasa.core import tracker_store
from rasa.core.actions.action import RemoteAction
action = RemoteAction("action_x", None)
good = {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "好"}]}
accepted = action._validate_action_result(good)
try:
    action._validate_action_result({"events": "not a list"})
    refused = ""
except ValidationError as e:
    refused = e.message
store = tracker_store.SQLTrackerStore(dialect="sqlite", db="DB")
with store.engine.connect() as c:
    mode = c.exec_driver_sql("PRAGMA journal_mode").scalar()
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
try:
    Event.resolve_by_type("no_such_event")
    unknown = "found"
except ValueError:
    unknown = "refused"
events = [Event.resolve_by_type(n) for n in ("user", "action", "user")]
print(json.dumps({"refused": refused, "pool": type(store.engine.pool).__name__,
                  "journal": mode, "accepted": accepted, "unknown": unknown,
                  "classes": events == [UserUttered, ActionExecuted, UserUttered],
                  "default": Event.resolve_by_type("no_such_event", UserUttered) is UserUttered,
                  "topic": Event.resolve_by_type("topic")}))
"""


def test_launcher_keeps_validation_and_pools_a_wal_tracker_store(tmp_path: Path) -> None:
    out = run_bot_python(CHECK.replace('"DB"', repr(str(tmp_path / "tracker.db"))))
    assert out["accepted"] is True
    assert "Failed to validate Action server response" in out["refused"]
    assert out["pool"] == "QueuePool" and out["journal"] == "wal"
    # events are still turned into their classes by name, as Rasa does, only looked up once
    assert out["classes"] and out["default"] and out["unknown"] == "refused"
    assert out["topic"] is None


FREEZE = """
import asyncio, gc, json, os, runpy, sys
from types import SimpleNamespace
runpy.run_path("bot/rasa_run.py")
sys.path.insert(1, os.getcwd())  # as rasa's main does, for the actions package
from rasa.core import run
from rasa.core.utils import AvailableEndpoints
from rasa_sdk import endpoint
endpoint.create_app("actions")
actions_frozen = gc.get_freeze_count()
gc.unfreeze()
app = SimpleNamespace(ctx=SimpleNamespace())
agent = asyncio.run(run.load_agent_on_start("MODEL", AvailableEndpoints(), None, app, None))
print(json.dumps({"actions_frozen": actions_frozen, "rasa_frozen": gc.get_freeze_count(),
                  "ready": agent.is_ready(), "kept": app.ctx.agent is agent
}))
"""


def test_launcher_freezes_what_start_up_left_alive() -> None:
    # a full collection walks every object alive: with the model loaded it stalled every turn
    model, _ = bot.train()
    out = run_bot_python(FREEZE.replace('"MODEL"', repr(str(model))))
    assert out["actions_frozen"] > 100_000  # the action server: once its actions are imported
    assert out["ready"] and out["kept"]
    assert out["rasa_frozen"] > out["actions_frozen"]  # Rasa: after loading and one parse

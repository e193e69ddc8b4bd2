"""bot/rasa_run.py, the launcher Rasa is started with: the action server's answers are still
validated (with the schema checked once), and the SQLite tracker store is pooled and in WAL."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_actions_in_bot_env import run_bot_python

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
print(json.dumps({"refused": refused, "pool": type(store.engine.pool).__name__,
                  "journal": mode, "accepted": accepted}))
"""


def test_launcher_keeps_validation_and_pools_a_wal_tracker_store(tmp_path: Path) -> None:
    out = run_bot_python(CHECK.replace('"DB"', repr(str(tmp_path / "tracker.db"))))
    assert out["accepted"] is True
    assert "Failed to validate Action server response" in out["refused"]
    assert out["pool"] == "QueuePool" and out["journal"] == "wal"

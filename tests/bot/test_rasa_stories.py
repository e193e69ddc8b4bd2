"""`rasa test core` on the test stories: the dialogue predicts every action of whole dialogs,
and those stories ask every digression rule's intent inside every form it is written for."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from xiaobao import bot

STORIES = bot.ROOT / "data" / "eval" / "test_stories.yml"
Step = tuple[str, Any]


def _step(raw: dict[str, Any]) -> Step:
    for key in ("intent", "action", "active_loop"):
        if key in raw:
            return key, raw[key]
    if "slot_was_set" in raw:
        return "slot_was_set", repr(raw["slot_was_set"])
    return "other", repr(raw)


def digression_rules() -> list[tuple[str, str | None, list[Step]]]:
    """(name, form, steps) of every rule that answers an intent inside a form (a condition on
    the active loop), and of every rule in digressions.yml (the stop outside a form too)."""
    found = []
    for path in sorted((bot.ROOT / "data" / "nlu").glob("*.yml")):
        for rule in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules") or []:
            steps = [_step(s) for s in rule.get("steps") or []]
            form = next((c["active_loop"] for c in rule.get("condition") or []
                         if "active_loop" in c), None)
            if steps and steps[0][0] == "intent" and (form or path.name == "digressions.yml"):
                found.append((rule["rule"], form, steps))
    return found


def story_turns() -> list[tuple[str | None, list[Step]]]:
    """Each user turn of the test stories: (the form active when it is said, the steps from
    it to the end of its story)."""
    turns = []
    for story in yaml.safe_load(STORIES.read_text(encoding="utf-8"))["stories"]:
        steps = [_step(s) for s in story["steps"]]
        loop = None
        for i, (kind, value) in enumerate(steps):
            if kind == "active_loop":
                loop = value
            elif kind == "intent":
                turns.append((loop, steps[i:]))
    return turns


def test_every_digression_rule_has_a_test_story() -> None:
    rules = digression_rules()
    assert len(rules) >= 6 * 9, [name for name, _, _ in rules]
    turns = story_turns()
    missing = [name for name, form, steps in rules
               if not any(loop == form and after[:len(steps)] == steps for loop, after in turns)]
    assert not missing, f"rules with no test story in {STORIES.name}: {missing}"


def test_test_stories_pass(tmp_path: Path) -> None:
    model, _ = bot.train()
    result = subprocess.run(
        [str(bot.BOT_BIN / "rasa"), "test", "core", "--model", str(model), "--stories",
         "data/eval/test_stories.yml", "--out", str(tmp_path), "--no-plot"],
        cwd=bot.ROOT, env=bot.bot_env(), capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    failed = tmp_path / "failed_test_stories.yml"
    assert not failed.exists() or "story:" not in failed.read_text(), failed.read_text()
    assert (tmp_path / "story_report.json").exists()

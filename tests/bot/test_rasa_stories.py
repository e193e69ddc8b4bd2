"""`rasa test core` on the test stories: the dialogue predicts every action of whole dialogs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from xiaobao import bot


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

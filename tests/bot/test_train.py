"""`xiaobao train` retrains only when the training data changed."""

from __future__ import annotations

import shutil
from pathlib import Path

from xiaobao import bot


def copy_inputs(tmp_path: Path) -> Path:
    for top in bot.TRAINING_INPUTS:
        shutil.copytree(bot.ROOT / top, tmp_path / top,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_hash_follows_the_training_data(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path)
    first = bot.training_hash(root)
    assert first == bot.training_hash(root) == bot.training_hash(bot.ROOT)
    (root / "data" / "eval").mkdir()
    (root / "data" / "eval" / "x.yml").write_text("not training data")
    assert bot.training_hash(root) == first
    with (root / "data" / "nlu" / "nlu.yml").open("a") as f:
        f.write("      - 我想报个案子哈\n")
    assert bot.training_hash(root) != first
    assert bot.model_path(root).name == f"xiaobao-{bot.training_hash(root)}.tar.gz"


def test_an_existing_model_for_the_same_data_is_reused(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path)
    model = bot.model_path(root)
    model.parent.mkdir()
    model.write_bytes(b"model")
    assert bot.train(root=root) == (model, False)


def test_endpoints_point_at_the_action_server_with_an_sql_tracker_store(tmp_path: Path) -> None:
    text = bot.endpoints_file(5999, tmp_path).read_text()
    assert 'url: "http://127.0.0.1:5999/webhook"' in text
    assert "type: SQL" in text and str(tmp_path / "rasa-tracker.db") in text

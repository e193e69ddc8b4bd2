"""The bot runtime's environment (.venv-bot, Python 3.10, from bot/requirements.txt) works.

Rasa 3.6.21 runs on Python <= 3.10 only, so it lives in its own venv built by `make install`.
"""

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BOT_BIN = REPO_ROOT / ".venv-bot" / "bin"


def _run_bot(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    exe = BOT_BIN / args[0]
    assert exe.exists(), f"{exe} is missing: run `make install` to build .venv-bot"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["SQLALCHEMY_SILENCE_UBER_WARNING"] = "1"
    return subprocess.run(
        [str(exe), *args[1:]],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
    )


def test_rasa_version() -> None:
    result = _run_bot("rasa", "--version")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Rasa Version" in output, output
    assert "3.6.21" in output, output


def test_bot_python_imports_jieba_and_rasa_sdk() -> None:
    result = _run_bot(
        "python",
        "-c",
        "import sys, jieba, rasa_sdk; assert sys.version_info[:2] == (3, 10), sys.version",
    )
    assert result.returncode == 0, result.stdout + result.stderr

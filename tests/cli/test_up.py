"""`xiaobao up` as a user runs it: the platform, the project's Rasa and its action server as
real processes (the model trained only when no model matches the training data). It says it
has started only once the bot answers, and says what it waits for until then."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.channels.channel_kit import free_port
from xiaobao import bot

ROOT = Path(__file__).resolve().parents[2]
# this checkout's code (the console script runs the checkout it was installed from)
XIAOBAO = [sys.executable, "-m", "xiaobao.cli"]
BANNER = "小保平台已启动"


def _lines(proc: subprocess.Popen[str], out: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        out.put(line.rstrip("\n"))
    out.put("")  # the process closed its output


def _until(out: queue.Queue[str], seen: list[str], text: str, not_before: str = "") -> None:
    while True:
        line = out.get()
        seen.append(line)
        if text in line:
            return
        assert line, f"`xiaobao up` ended before saying {text!r}: {seen}"
        assert not not_before or not_before not in line, f"{not_before!r} came first: {seen}"


def _post(url: str, body: dict[str, str], token: str = "") -> dict[str, object]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(req, timeout=120) as resp:
        return dict(json.loads(resp.read()))


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str], str]]:
    if not (bot.BOT_BIN / "rasa").exists():
        pytest.fail(f"{bot.BOT_BIN} has no rasa: run `make install-bot`")
    bot.train()  # what `up` does first; here outside the process's output
    port, rasa_port, action_port = free_port(), free_port(), free_port()
    env = {**os.environ, "XIAOBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'up.db'}",
           "XIAOBAO_VAR_DIR": str(tmp_path / "var"), "XIAOBAO_API_TOKEN": "up-test-token",
           "XIAOBAO_LOG_LEVEL": "WARNING", "XIAOBAO_RASA_TRACKER_URL": "memory",
           "XIAOBAO_WECHAT_TOKEN": "", "XIAOBAO_IVR_SECRET": "", "XIAOBAO_REDIS_URL": ""}
    proc = subprocess.Popen(
        [*XIAOBAO, "up", "--port", str(port), "--rasa-port", str(rasa_port),
         "--action-port", str(action_port), "--members", "30", "--no-scheduler"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True)
    out: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc, out), daemon=True).start()
    try:
        yield proc, out, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_up_says_it_has_started_only_once_the_bot_answers(
        up: tuple[subprocess.Popen[str], queue.Queue[str], str]) -> None:
    proc, out, base = up
    seen: list[str] = []
    _until(out, seen, "等待小保就绪", not_before=BANNER)
    waiting = seen[-1]
    assert "Rasa 服务器" in waiting
    _until(out, seen, BANNER)
    # at that moment the platform can serve and the bot answers a user at once
    with urllib.request.urlopen(f"{base}/healthz", timeout=30) as resp:
        health = json.loads(resp.read())
    assert resp.status == 200 and health["status"] == "ok"
    assert {k: v["state"] for k, v in health["parts"].items()} == {
        "database": "up", "bot": "up", "actions": "up"}
    assert health["parts"]["bot"]["model"] == bot.model_path().name
    session = _post(f"{base}/chat/session", {})
    said = _post(f"{base}/chat/messages", {"text": "你好"}, str(session["token"]))
    assert said["state"] == "bot" and said["messages"]
    assert "正在启动" not in json.dumps(said, ensure_ascii=False)
    proc.send_signal(signal.SIGTERM)  # stops all three
    assert proc.wait(timeout=60) in (0, 130)

"""A real stack for conversation tests: back office (xiaobao serve, temp SQLite, demo seed),
the Rasa action server and the Rasa server with the trained model (trained here when needed).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from xiaobao import bot

TOKEN = "test-bot-token"
XIAOBAO = Path(sys.executable).parent / "xiaobao"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    rasa_url: str
    api_url: str
    database_url: str
    seed: dict[str, Any]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def say(self, sender: str, text: str, **meta: str) -> list[dict[str, Any]]:
        channel, _, user = sender.partition(":")
        return bot.say(f"{self.rasa_url}/webhooks/rest/webhook", sender, text,
                       {"channel": channel, "user": user, **meta})

    def api(self, method: str, path: str, body: Any = None) -> Any:
        req = urllib.request.Request(
            f"{self.api_url}/api/v1{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())


def new_sender(channel: str = "web") -> str:
    return f"{channel}:{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model, _ = bot.train()
    tmp = tmp_path_factory.mktemp("bot-stack")
    env = {**os.environ, "XIAOBAO_DATABASE_URL": f"sqlite:///{tmp / 'xiaobao.db'}",
           "XIAOBAO_VAR_DIR": str(tmp), "XIAOBAO_API_TOKEN": TOKEN, "XIAOBAO_LOG_LEVEL": "WARNING"}
    seeded = subprocess.run([str(XIAOBAO), "demo", "seed", "--members", "40", "--seed", "4"],
                            env=env, capture_output=True, text=True, check=True)
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    api_port, rasa_port, action_port = free_port(), free_port(), free_port()
    platform = subprocess.Popen([str(XIAOBAO), "serve", "--port", str(api_port),
                                 "--no-scheduler"], env=env)
    api_url = f"http://127.0.0.1:{api_port}"
    procs = [platform, *bot.start_bot(model, rasa_port, action_port, api_url, TOKEN, tmp)]
    s = Stack(f"http://127.0.0.1:{rasa_port}", api_url, env["XIAOBAO_DATABASE_URL"], seed, procs)
    try:
        assert bot.wait_ready(f"{api_url}/healthz", 120, procs), "back office did not start"
        assert bot.wait_ready(f"http://127.0.0.1:{action_port}/health", 240, procs), \
            "action server did not start"
        assert bot.wait_ready(f"{s.rasa_url}/status", 400, procs), "Rasa did not start"
        yield s
    finally:
        bot.stop(procs)

"""The bot's processes seen from the platform: training, Rasa server, action server, a chat.

Rasa lives in .venv-bot (Python 3.10); this module only starts it as subprocesses.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# XIAOBAO_BOT_VENV: another Python 3.10 venv built from bot/requirements.txt (default .venv-bot)
BOT_BIN = Path(os.environ.get("XIAOBAO_BOT_VENV") or ROOT / ".venv-bot") / "bin"
MODELS = ROOT / "models"
TRAINING_INPUTS = ("bot", "data/nlu")


def training_hash(root: Path = ROOT) -> str:
    """Hash of every file the model is trained from (config, domain, NLU data, dictionary);
    code beside them (bot/rasa_run.py) is not training input."""
    digest = hashlib.sha256()
    for top in TRAINING_INPUTS:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(root: Path = ROOT) -> Path:
    return root / "models" / f"xiaobao-{training_hash(root)}.tar.gz"


def bot_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(extra)
    return env


def train(force: bool = False, root: Path = ROOT) -> tuple[Path, bool]:
    """(model, trained now): `rasa train` only when no model matches the training data."""
    target = model_path(root)
    if target.exists() and not force:
        return target, False
    rasa = BOT_BIN / "rasa"
    if not rasa.exists():
        raise RuntimeError(f"{rasa} 不存在：请先运行 make install 构建 .venv-bot")
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(rasa), "train", "--config", "bot/config.yml", "--domain", "bot/domain.yml",
           "--data", "data/nlu", "--out", str(target.parent),
           "--fixed-model-name", target.name.removesuffix(".tar.gz")]
    subprocess.run(cmd, cwd=root, env=bot_env(), check=True)
    return target, True


def endpoints_file(action_port: int, directory: Path) -> Path:
    """endpoints.yml: the action server on this port and an SQL tracker store.

    The SQL tracker store reads only the last conversation session of a sender (the in-memory
    one deserialises the whole history on every turn): a user of many years costs like a new one.
    XIAOBAO_RASA_TRACKER_URL (a SQLAlchemy URL) puts it on PostgreSQL, `memory` in memory;
    default SQLite in var/.
    """
    path = directory / f"endpoints-{action_port}.yml"
    url = os.environ.get("XIAOBAO_RASA_TRACKER_URL", "")
    if url == "memory":  # Rasa's in-memory store: nothing survives a restart
        store = "  type: InMemoryTrackerStore\n"
    elif url.startswith("postgresql"):
        from urllib.parse import urlsplit

        u = urlsplit(url.replace("+psycopg", "").replace("+psycopg2", ""))
        store = (f'  type: SQL\n  dialect: "postgresql"\n  url: "{u.hostname}"\n'
                 f'  port: {u.port or 5432}\n  db: "{u.path.lstrip("/")}"\n'
                 f'  username: "{u.username or ""}"\n  password: "{u.password or ""}"\n')
    else:
        store = f'  type: SQL\n  dialect: "sqlite"\n  db: "{directory / "rasa-tracker.db"}"\n'
    path.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
                    f"tracker_store:\n{store}")
    return path


def start_bot(model: Path, rasa_port: int, action_port: int, api_url: str, api_token: str,
              var_dir: Path) -> list[subprocess.Popen[bytes]]:
    """The action server and the Rasa server (REST channel, --enable-api), as subprocesses."""
    var_dir.mkdir(parents=True, exist_ok=True)
    env = bot_env(XIAOBAO_API_URL=api_url, XIAOBAO_API_TOKEN=api_token)
    actions = subprocess.Popen(
        [str(BOT_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port",
         str(action_port)], cwd=ROOT, env=env)
    # bot/rasa_run.py is `rasa` without two per-turn costs (see its docstring)
    rasa = subprocess.Popen(
        [str(BOT_BIN / "python"), "bot/rasa_run.py", "run", "--enable-api", "--model",
         str(model), "--port", str(rasa_port), "--credentials", "bot/credentials.yml",
         "--endpoints", str(endpoints_file(action_port, var_dir))], cwd=ROOT, env=env)
    return [actions, rasa]


def wait_ready(url: str, timeout: float, procs: Sequence[subprocess.Popen[bytes]] = ()) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


def say(url: str, sender: str, text: str, metadata: dict[str, str]) -> list[dict[str, object]]:
    body = json.dumps({"sender": sender, "message": text, "metadata": metadata}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return list(json.loads(resp.read() or b"[]"))


def chat(url: str, user: str | None = None) -> int:
    """A terminal chat as a web user (`web:<id>`), through the REST channel URL given."""
    user = user or uuid.uuid4().hex[:12]
    sender = f"web:{user}"
    width = shutil.get_terminal_size().columns
    print(f"小保终端聊天（{url}，用户 {sender}）。输入 /quit 退出。".center(width // 2))
    while True:
        try:
            text = input("您：").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text in ("/quit", "/exit"):
            return 0
        if not text:
            continue
        try:
            replies = say(url, sender, text, {"channel": "web", "user": user})
        except (urllib.error.URLError, OSError) as exc:
            print(f"（连接 {url} 失败：{exc}）", file=sys.stderr)
            continue
        for r in replies:
            if r.get("text"):
                print(f"小保：{r['text']}")
            for b in r.get("buttons") or []:  # type: ignore[union-attr]
                print(f"  [{b.get('title')}]")  # type: ignore[union-attr]
            if r.get("custom"):
                custom = r["custom"]
                if isinstance(custom, dict) and "handoff" in custom:
                    print(f"（已转人工：{custom['handoff'].get('reason')}）")
                else:
                    print(f"（{json.dumps(custom, ensure_ascii=False)}）")

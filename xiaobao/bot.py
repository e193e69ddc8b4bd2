"""The bot's processes seen from the platform: training, Rasa server, action server, a chat.

Rasa lives in .venv-bot (Python 3.10); this module only starts it as subprocesses.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from email.message import Message
from pathlib import Path
from typing import Any

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


def reachable(host: str) -> str:
    """Where to reach a server bound to `host`: a wildcard is reached on loopback."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def endpoints_file(action_port: int, directory: Path, actions_host: str = "127.0.0.1",
                   actions_url: str | None = None, name: str | None = None) -> Path:
    """endpoints.yml: the action server on this port, an SQL tracker store and, when
    XIAOBAO_RASA_LOCK_URL is set, Rasa's lock store on Redis.

    The SQL tracker store reads only the last conversation session of a sender (the in-memory
    one deserialises the whole history on every turn): a user of many years costs like a new one.
    XIAOBAO_RASA_TRACKER_URL (a SQLAlchemy URL) puts it on PostgreSQL, `memory` in memory;
    default SQLite in var/. Several Rasa instances share one PostgreSQL store (a sender's
    conversation continues on whichever instance takes its next turn), in its own schema when
    XIAOBAO_RASA_TRACKER_SCHEMA is set (`tracker_env`), and one Redis lock store.
    `actions_url`: the action server elsewhere (`xiaobao rasa`), in place of the local port.
    """
    path = directory / (name or f"endpoints-{action_port}.yml")
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
    webhook = (actions_url.rstrip("/").removesuffix("/webhook") + "/webhook" if actions_url
               else f"http://{reachable(actions_host)}:{action_port}/webhook")
    path.write_text(f'action_endpoint:\n  url: "{webhook}"\n'
                    f"tracker_store:\n{store}{lock_store()}")
    return path


LOCK_SECONDS = 10  # XIAOBAO_RASA_LOCK_SECONDS: how long a sender's lock outlives a dead holder


def lock_store(url: str | None = None) -> str:
    """The `lock_store:` section for XIAOBAO_RASA_LOCK_URL (redis://[:password@]host:port/db);
    empty (Rasa's in-memory lock store, enough for one instance) when unset."""
    from urllib.parse import unquote, urlsplit

    url = os.environ.get("XIAOBAO_RASA_LOCK_URL", "") if url is None else url
    if not url:
        return ""
    u = urlsplit(url)
    if u.scheme != "redis" or not u.hostname:
        raise SystemExit("XIAOBAO_RASA_LOCK_URL must be redis://[:password@]host:port/db")
    db = u.path.lstrip("/") or "0"
    if not db.isdigit():
        raise SystemExit("XIAOBAO_RASA_LOCK_URL: the database is a number (redis://host/1)")
    section = (f'lock_store:\n  type: "redis"\n  url: "{u.hostname}"\n  port: {u.port or 6379}\n'
               f'  db: {int(db)}\n  key_prefix: "xiaobao"\n')
    if u.password:
        section += f'  password: "{unquote(u.password)}"\n'
    return section


def tracker_env() -> dict[str, str]:
    """What Rasa reads from its environment about its stores: the PostgreSQL schema of the
    tracker store (XIAOBAO_RASA_TRACKER_SCHEMA, created here when missing: Rasa only checks
    it exists) and how long a lock on a sender lives (XIAOBAO_RASA_LOCK_SECONDS, default 10).

    The lock's lifetime is short on purpose: when a Rasa process dies holding a sender's lock,
    the instance that takes the sender's next turn waits for the lock to expire. The gateway
    itself runs one turn of a sender at a time (channels.router.TurnOrder), so the lock only
    guards against two platform processes sending one sender's turns at once — and a turn
    longer than the lifetime is rare (the bot's turns take well under a second)."""
    env = {"TICKET_LOCK_LIFETIME": str(_lock_seconds())}
    schema = os.environ.get("XIAOBAO_RASA_TRACKER_SCHEMA", "").strip()
    url = os.environ.get("XIAOBAO_RASA_TRACKER_URL", "")
    if schema:
        if not url.startswith("postgresql"):
            raise SystemExit("XIAOBAO_RASA_TRACKER_SCHEMA needs a PostgreSQL "
                             "XIAOBAO_RASA_TRACKER_URL")
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
            raise SystemExit("XIAOBAO_RASA_TRACKER_SCHEMA: a lower-case identifier (a-z, 0-9 "
                             "and _, not starting with a digit)")
        ensure_schema(url, schema)
        env["POSTGRESQL_SCHEMA"] = schema
    return env


def _lock_seconds() -> int:
    raw = os.environ.get("XIAOBAO_RASA_LOCK_SECONDS", "").strip()
    if not raw:
        return LOCK_SECONDS
    if not raw.isdigit() or not 1 <= int(raw) <= 3600:
        raise SystemExit("XIAOBAO_RASA_LOCK_SECONDS must be a whole number from 1 to 3600")
    return int(raw)


def ensure_schema(url: str, schema: str) -> None:
    """CREATE SCHEMA IF NOT EXISTS on the tracker's database (the name is checked by the
    caller: an identifier, quoted)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url if "+" in url.split(":", 1)[0]
                           else url.replace("postgresql", "postgresql+psycopg", 1))
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    except SQLAlchemyError as exc:
        raise SystemExit(f"XIAOBAO_RASA_TRACKER_SCHEMA: schema {schema} could not be made on "
                         f"XIAOBAO_RASA_TRACKER_URL's database ({type(exc).__name__})") from None
    finally:
        engine.dispose()


def rasa_command(model: Path, port: int, action_port: int, var_dir: Path, token: str,
                 host: str = "127.0.0.1", actions_host: str = "127.0.0.1",
                 actions_url: str | None = None) -> list[str]:
    """The Rasa server: REST channel and HTTP API on `host` only; the API (trackers, models)
    wants `token`, the REST webhook the platform talks to does not."""
    endpoints = (endpoints_file(0, var_dir, actions_url=actions_url,
                                name=f"endpoints-rasa-{port}.yml") if actions_url
                 else endpoints_file(action_port, var_dir, actions_host))
    return [str(BOT_BIN / "python"), "bot/rasa_run.py", "run", "--enable-api",
            "--auth-token", token, "--interface", host, "--model", str(model),
            "--port", str(port), "--credentials", "bot/credentials.yml",
            "--endpoints", str(endpoints)]


def actions_command(port: int) -> list[str]:
    return [str(BOT_BIN / "python"), "bot/rasa_run.py", "run", "actions", "--actions",
            "actions", "--port", str(port)]


def start_bot(model: Path, rasa_port: int, action_port: int, api_url: str, api_token: str,
              var_dir: Path, *, rasa_token: str, host: str = "127.0.0.1",
              actions_host: str = "127.0.0.1") -> list[subprocess.Popen[bytes]]:
    """The action server and the Rasa server (REST channel, --enable-api behind `rasa_token`),
    as subprocesses listening on `actions_host` and `host` (loopback unless configured)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    env = bot_env(XIAOBAO_API_URL=api_url, XIAOBAO_API_TOKEN=api_token)
    stores = tracker_env()
    # bot/rasa_run.py is `rasa` without three per-turn costs (see its docstring); the action
    # server (rasa_sdk) takes its interface from SANIC_HOST only
    actions = subprocess.Popen(actions_command(action_port), cwd=ROOT,
                               env={**env, "SANIC_HOST": actions_host})
    rasa = subprocess.Popen(rasa_command(model, rasa_port, action_port, var_dir, rasa_token,
                                         host, actions_host), cwd=ROOT,
                            env={**env, **stores})
    return [actions, rasa]


def run_foreground(cmd: Sequence[str], env: dict[str, str]) -> int:
    """Become `cmd` (exec, from the repository root): a process manager's signals then reach
    Rasa or the action server itself. Returns only when the program is missing."""
    if not Path(cmd[0]).exists():
        print(f"错误：{cmd[0]} 不存在：请先运行 make install-bot 构建 .venv-bot", file=sys.stderr)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(ROOT)
    os.execve(cmd[0], list(cmd), env)
    return 0  # not reached


def with_token(url: str, token: str) -> str:
    """A URL of Rasa's HTTP API with its token (Rasa reads it from the query string)."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}{urllib.parse.urlencode({'token': token})}"


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


REST_PATH = "/webhooks/rest/webhook"
POLL_SECONDS = 1.0


def _out(line: str) -> None:
    print(line, flush=True)


def _show(messages: list[dict[str, Any]]) -> None:
    """A turn's messages as terminal lines: an agent's as 客服, the rest as 小保."""
    for m in messages:
        who = "客服" if m.get("role") == "agent" else "小保"
        if m.get("text"):
            _out(f"{who}：{m['text']}")
        for b in m.get("buttons") or []:
            if isinstance(b, dict):
                _out(f"  [{b.get('title')}]")
        custom = m.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("handoff"), dict):
            _out(f"（已转人工：{custom['handoff'].get('reason')}）")
        elif custom:
            _out(f"（{json.dumps(custom, ensure_ascii=False)}）")


def _http_json(url: str, body: dict[str, Any] | None = None, timeout: float = 60,
               token: str | None = None) -> tuple[int, Any, Message | None]:
    """Status, JSON body and headers; `token` is sent as the bearer credential."""
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers,
                                 method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null"), resp.headers
    except urllib.error.HTTPError as exc:  # 4xx: the platform says which field is wrong
        try:
            return exc.code, json.loads(exc.read() or b"null"), exc.headers
        except ValueError:
            return exc.code, None, exc.headers


def platform_answers(base: str) -> bool:
    """Whether a platform serves at `base`: its /healthz answers, 200 or 503 (a bot still
    starting is the platform's to say in the chat)."""
    try:
        with urllib.request.urlopen(base.rstrip("/") + "/healthz", timeout=2) as resp:
            return bool(resp.status == 200)
    except urllib.error.HTTPError as exc:
        return exc.code == 503
    except (urllib.error.URLError, OSError, ValueError):
        return False


class GatewayChat:
    """The platform's web chat API (channels/web.py): the router records the transcript and
    hands off to agents; what agents (and the bot, once handed back) say later is polled. The
    platform chooses the web id and signs a session credential, sent as a bearer token."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.user = ""
        self.token = ""
        self.state = "bot"
        self.after = 0
        self.stopped = threading.Event()

    def start(self) -> None:
        """Open a session; skip what was sent before; then poll in the background."""
        self._open()
        status, body = self._call(self._poll_url(), timeout=10)
        if status == 200 and isinstance(body, dict):
            self.after = int(body.get("next") or 0)
        threading.Thread(target=self._poll_loop, daemon=True).start()

    def _open(self) -> None:
        status, body, _ = _http_json(f"{self.base}/chat/session", {}, timeout=10)
        if status != 201 or not isinstance(body, dict):
            raise OSError(f"会话未建立（HTTP {status}）")
        self.user, self.token = str(body["user"]), str(body["token"])

    def _call(self, url: str, body: dict[str, Any] | None = None, timeout: float = 60
              ) -> tuple[int, Any]:
        """One request with the session; a renewed credential replaces the old one."""
        status, answer, headers = _http_json(url, body, timeout, self.token)
        renewed = headers.get("X-Xiaobao-Session") if headers is not None else None
        if renewed:
            self.token = renewed
        return status, answer

    def _poll_url(self) -> str:
        return f"{self.base}/chat/messages?after={self.after}"

    def _poll_loop(self) -> None:
        while not self.stopped.wait(POLL_SECONDS):
            try:
                status, body = self._call(self._poll_url(), timeout=10)
            except (urllib.error.URLError, OSError, ValueError):
                continue  # the platform restarting: try again at the next tick
            if status == 200 and isinstance(body, dict) and body.get("messages"):
                _show([m for m in body["messages"] if isinstance(m, dict)])
                self.after = int(body.get("next") or self.after)

    def send(self, text: str) -> None:
        status, body = self._call(f"{self.base}/chat/messages", {"text": text})
        if status != 200 or not isinstance(body, dict):
            error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
            _out(f"（发送失败：{error.get('message') or f'HTTP {status}'}）")
            return
        _show([m for m in body.get("messages") or [] if isinstance(m, dict)])
        state = str(body.get("state") or "bot")
        if state in ("queued", "agent") and self.state == "bot":
            _out("（已转人工客服，请稍候；客服的回复会显示在这里）")
        self.state = state

    def stop(self) -> None:
        self.stopped.set()


class RestChat:
    """Rasa's REST channel directly (no platform running): no transcript, no agents."""

    def __init__(self, url: str, user: str) -> None:
        self.url = url
        self.user = user

    def start(self) -> None:
        pass

    def send(self, text: str) -> None:
        _show([dict(m) for m in say(self.url, f"web:{self.user}", text,
                                    {"channel": "web", "user": self.user})])

    def stop(self) -> None:
        pass


def chat(url: str | None, user: str | None, platform: str, rasa_url: str) -> int:
    """A terminal chat as a web user. Through the platform's gateway (`/chat/messages`) when
    it answers, so handoffs to agents and the transcript work as on the other channels, as the
    web id the platform chooses; a URL ending in /webhooks/rest/webhook, or no platform
    running, talks to Rasa directly as `user` (default random)."""
    target = url or platform
    session: GatewayChat | RestChat
    if target.rstrip("/").endswith(REST_PATH):
        session = RestChat(target, user or uuid.uuid4().hex[:12])
    elif url or platform_answers(platform):
        if user:
            print("（--user 仅用于直连 Rasa；平台会为本次会话分配用户 id）", file=sys.stderr)
        session = GatewayChat(target)
    else:
        target = rasa_url.rstrip("/") + REST_PATH
        print(f"（平台 {platform} 未运行：直接连接 Rasa，没有人工转接和会话记录）",
              file=sys.stderr)
        session = RestChat(target, user or uuid.uuid4().hex[:12])
    try:
        session.start()
    except (urllib.error.URLError, OSError) as exc:
        print(f"（连接 {target} 失败：{exc}）", file=sys.stderr)
        return 1
    width = shutil.get_terminal_size().columns
    _out(f"小保终端聊天（{target}，用户 {session.user}）。输入 /quit 退出。".center(width // 2))
    try:
        while True:
            try:
                text = input("您：").strip()
            except (EOFError, KeyboardInterrupt):
                _out("")
                return 0
            if text in ("/quit", "/exit"):
                return 0
            if not text:
                continue
            try:
                session.send(text)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                print(f"（连接 {target} 失败：{exc}）", file=sys.stderr)
    finally:
        session.stop()

"""Several platform processes behind a real nginx (Debian's nginx-light) with
deploy/nginx/xiaobao.conf.template: each sender stays on one process — WeChat by `openid`, the
phone by call id, the web chat by its session's web id — different senders spread over both, and
when one process is killed nginx sends its senders to the other, where they are answered.

Two real `xiaobao serve` processes share one database (SQLite file, and PostgreSQL when
configured) and a stand-in Rasa (bench/kill_restart.py's, answering at once). Which process
answered is read from nginx's access log (`upstream=`), one request at a time."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from backoffice.store.db import Database
from bench.kill_restart import APPID, IVR_SECRET, SECRET, WECHAT_TOKEN, StandIns, wechat_text
from tests.channels.channel_kit import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = ROOT / "deploy" / "nginx" / "xiaobao.conf.template"
EXAMPLE = {"XIAOBAO_SERVERS": "server 127.0.0.1:8000;\n    server 127.0.0.1:8002;",
           "XIAOBAO_LISTEN": "80", "XIAOBAO_SERVER_NAME": "xiaobao.example.com",
           "XIAOBAO_ACCESS_LOG": "/var/log/nginx/xiaobao.access.log"}
UPSTREAM = re.compile(r'"(\w+) (\S+)" (\d+) .* upstream=(.*)$')


def render(values: dict[str, str]) -> str:
    """The template with its four placeholders filled (what envsubst does with them)."""
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


def test_the_shipped_example_is_the_template_rendered() -> None:
    assert (TEMPLATE.parent / "xiaobao.conf").read_text() == render(EXAMPLE)
    assert "${" not in render(EXAMPLE)


@dataclass
class Cluster:
    proxy: str
    ports: list[int]
    processes: list[subprocess.Popen[bytes]]
    access_log: Path
    seen: int = 0  # access-log lines already read

    def answered_by(self) -> list[tuple[str, str, int, list[int]]]:
        """(method, path, status, ports tried) of each request since the last call."""
        lines = self.access_log.read_text().splitlines()
        fresh, self.seen = lines[self.seen:], len(lines)
        out = []
        for line in fresh:
            m = UPSTREAM.search(line)
            assert m, line
            tried = [int(a.rsplit(":", 1)[1]) for a in re.split(r"[,:]\s", m.group(4))
                     if a.strip() and a.strip() != "-"]
            out.append((m.group(1), m.group(2), int(m.group(3)), tried))
        return out

    def last_port(self) -> int:
        """The process that answered the one request sent since the last call (nginx logs
        a request just after its response went out: a bounded wait for the line)."""
        answered = self.answered_by()
        for _ in range(500):
            if answered:
                break
            time.sleep(0.01)
            answered = self.answered_by()
        assert len(answered) == 1, answered
        return answered[0][3][-1]


def _nginx_conf(tmp: Path, listen: int, ports: list[int]) -> Path:
    site = tmp / "xiaobao.conf"
    site.write_text(render({
        "XIAOBAO_SERVERS": "\n    ".join(f"server 127.0.0.1:{p};" for p in ports),
        "XIAOBAO_LISTEN": f"127.0.0.1:{listen}", "XIAOBAO_SERVER_NAME": "localhost",
        "XIAOBAO_ACCESS_LOG": str(tmp / "access.log")}))
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
daemon off; master_process off; pid {tmp}/nginx.pid; error_log {tmp}/nginx-error.log;
events {{}}
http {{
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  include {site};
}}
""")
    return conf


@pytest.fixture
async def cluster(db: Database, tmp_path: Path) -> AsyncIterator[Cluster]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: make nginx (apt-get install nginx-light)")
    stand_ins = StandIns(random.Random(1), slow=(0.0, 0.01))
    app = stand_ins.app()
    app.router.add_post("/webhooks/ivr/webhook", stand_ins.rasa)  # the phone's channel
    runner = web.AppRunner(app)
    await runner.setup()
    rasa_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", rasa_port).start()
    stand_in = f"http://127.0.0.1:{rasa_port}"
    ports, listen = [free_port(), free_port()], free_port()
    processes = []
    for n, port in enumerate(ports):
        env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOBAO_")}
        # the suite's column keys (conftest): the processes read and write what this one does
        env.update({k: v for k, v in os.environ.items() if k.startswith("XIAOBAO_FIELDS_")})
        env.update({
            "PYTHONPATH": str(ROOT), "XIAOBAO_DATABASE_URL": db.url,
            "XIAOBAO_VAR_DIR": str(tmp_path / "var"), "XIAOBAO_API_TOKEN": "sticky-token",
            "XIAOBAO_FILES_DEMO_KEY": "1",
            "XIAOBAO_RASA_URL": stand_in, "XIAOBAO_ACTIONS_URL": "",
            "XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_WECHAT_APPID": APPID,
            "XIAOBAO_WECHAT_SECRET": SECRET, "XIAOBAO_WECHAT_API_BASE": stand_in,
            "XIAOBAO_IVR_SECRET": IVR_SECRET, "XIAOBAO_REDIS_URL": "",
            "XIAOBAO_TRUSTED_PROXIES": "127.0.0.1", "XIAOBAO_INSTANCE": f"slot-{n}",
            "XIAOBAO_LOG_LEVEL": "WARNING", "XIAOBAO_CHEAP_PASSWORD_HASHES": "1"})
        with (tmp_path / f"serve-{n}.log").open("wb") as log:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "xiaobao.cli", "serve", "--port", str(port)], env=env,
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    with (tmp_path / "nginx.log").open("wb") as log:
        nginx = subprocess.Popen([NGINX, "-c", str(_nginx_conf(tmp_path, listen, ports)),
                                  "-p", str(tmp_path)], stdout=log, stderr=subprocess.STDOUT)
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process, "the platform")
        wait_until_up(f"http://127.0.0.1:{listen}/healthz", nginx, "nginx")
        cluster = Cluster(f"http://127.0.0.1:{listen}", ports, processes,
                          tmp_path / "access.log")
        cluster.last_port()  # the wait's own request (the processes were up: it got through)
        yield cluster
    finally:
        for process in (nginx, *processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
        await runner.cleanup()


def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


async def _wechat(http: aiohttp.ClientSession, base: str, openid: str, text: str) -> str:
    """A signed push as WeChat sends it; the passive reply."""
    ts, nonce = str(int(time.time())), str(random.randint(10**8, 10**9))
    query = {"signature": _sign(WECHAT_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
             "openid": openid}
    async with http.post(f"{base}/wechat", params=query, data=wechat_text(openid, text)
                         .encode(), headers={"Content-Type": "text/xml"}) as r:
        assert r.status == 200
        return await r.text()


async def _ivr(http: aiohttp.ClientSession, base: str, call: dict[str, str],
               **event: Any) -> list[dict[str, Any]]:
    """A signed phone event, its URL carrying the call id for nginx."""
    raw = json.dumps({**call, **event, "event_id": uuid.uuid4().hex,
                      "timestamp": int(time.time())}, ensure_ascii=False).encode()
    signature = hmac.new(IVR_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    async with http.post(f"{base}/ivr/events", params={"call_id": call["call_id"]}, data=raw,
                         headers={"Content-Type": "application/json",
                                  "X-Xiaobao-Signature": signature}) as r:
        assert r.status == 200, await r.text()
        return list((await r.json())["actions"])


async def test_each_sender_stays_on_one_process_and_moves_when_it_dies(
        cluster: Cluster) -> None:
    base = cluster.proxy
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as r:
            assert (await r.json())["role"] == "serve"
        cluster.last_port()

        # WeChat: 30 users, 3 pushes each, one at a time
        home: dict[str, int] = {}
        for n in range(30):
            openid = f"osticky{n:02d}{uuid.uuid4().hex[:12]}"
            for turn in range(3):
                reply = await _wechat(http, base, openid, f"第{turn}句")
                assert f"小保收到：第{turn}句" in reply
                port = cluster.last_port()
                assert home.setdefault(openid, port) == port, (openid, turn)
        spread = Counter(home.values())
        assert set(spread) == set(cluster.ports) and min(spread.values()) >= 5, spread

        # the web chat: the session's web id, by bearer token and by cookie alike
        web_home: dict[str, int] = {}
        for _ in range(8):
            async with http.post(f"{base}/chat/session") as r:
                session = await r.json()
            cluster.last_port()  # a new session may open anywhere
            bearer = {"Authorization": f"Bearer {session['token']}"}
            for turn in range(2):
                async with http.post(f"{base}/chat/messages", json={"text": f"你好{turn}"},
                                     headers=bearer) as r:
                    assert r.status == 200
                port = cluster.last_port()
                assert web_home.setdefault(session["user"], port) == port
            async with aiohttp.ClientSession(cookies={"xb_chat": session["token"]}) as page, \
                    page.get(f"{base}/chat/messages?after=0") as r:
                assert r.status == 200  # the page's cookie: the same process
            assert cluster.last_port() == web_home[session["user"]]

        # the phone: one call's events on one process
        call_home: dict[str, int] = {}
        for n in range(8):
            call = {"call_id": f"call-{uuid.uuid4().hex[:16]}", "from": f"1390000{n:04d}",
                    "to": "95500"}
            await _ivr(http, base, call, event="start")
            port = cluster.last_port()
            actions = await _ivr(http, base, call, event="speech", text="理赔进度怎么查",
                                 confidence=0.9)
            assert any("小保收到" in str(a.get("text")) for a in actions), actions
            assert cluster.last_port() == port
            call_home[call["call_id"]] = port

        # one process dies: its senders go to the other and are answered there
        dead, alive = cluster.ports
        cluster.processes[0].send_signal(signal.SIGKILL)
        cluster.processes[0].wait()
        for openid in home:
            reply = await _wechat(http, base, openid, "还在吗")
            assert "小保收到：还在吗" in reply, openid
            assert cluster.last_port() == alive  # moved if it was on the dead one, else kept
        moved = [o for o, p in home.items() if p == dead]
        assert moved  # some senders did move
        for openid in moved[:3]:  # and stay on their new process
            await _wechat(http, base, openid, "再问一句")
            assert cluster.last_port() == alive
        async with http.get(f"{base}/api/v1/openapi.json") as r:  # round-robin: the living
            assert r.status == 200
        assert cluster.last_port() == alive

"""Behind a TLS-terminating nginx: cookies are Secure when a trusted proxy says the client
came over https, and X-Forwarded-* from anyone else (a client writing them itself) changes
neither the cookies nor the source address the sign-in limits count.

A real nginx (Debian package `nginx-light`) terminates TLS and proxies to a real
`xiaobao serve` that trusts 127.0.0.1 (nginx's side of the connection). Clients bind their own
loopback addresses: 127.0.0.2 talks to the platform directly (untrusted), 127.0.0.3 through
nginx."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from backoffice.demo.staff import seed_staff
from backoffice.desk.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from backoffice.domain.limits import source_key
from backoffice.services import limits, staff
from backoffice.store.db import Database
from backoffice.store.migrate import upgrade
from backoffice.store.models import AttemptLimit
from tests.channels.channel_kit import free_port, wait_until_up
from xiaobao.proxies import TrustedProxies, parse_networks

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DIRECT, BEHIND = "127.0.0.2", "127.0.0.3"
FORGED = "203.0.113.9"


@dataclass
class Stack:
    platform: str  # http://127.0.0.1:P, straight to the platform
    proxy: str  # https://127.0.0.1:N, nginx in front
    db: Database


def _nginx_conf(tmp: Path, listen: int, upstream: int) -> Path:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(tmp / "key.pem"),
                    "-out", str(tmp / "cert.pem")], check=True, capture_output=True)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
daemon off; master_process off; pid {tmp}/nginx.pid; error_log {tmp}/nginx-error.log;
events {{}}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{listen} ssl;
    ssl_certificate {tmp}/cert.pem; ssl_certificate_key {tmp}/key.pem;
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
  }}
}}
""")
    return conf


def _start(cmd: list[str], log: Path, **kw: object) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **kw)  # type: ignore


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: apt-get install nginx-light")
    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    db = Database(url)
    upgrade(db)
    seed_staff(db)
    port, listen = free_port(), free_port()
    env = {**os.environ, "XIAOBAO_DATABASE_URL": url, "XIAOBAO_API_TOKEN": "proxy-test-token",
           "XIAOBAO_VAR_DIR": str(tmp_path), "XIAOBAO_RASA_URL": "http://127.0.0.1:9",
           "XIAOBAO_TRUSTED_PROXIES": "127.0.0.1, ::1", "XIAOBAO_WECHAT_TOKEN": ""}
    platform = _start([sys.executable, "-m", "xiaobao.cli", "serve", "--port", str(port),
                       "--no-scheduler"], tmp_path / "serve.log", env=env, cwd=ROOT)
    nginx = _start([NGINX, "-c", str(_nginx_conf(tmp_path, listen, port)), "-p", str(tmp_path)],
                   tmp_path / "nginx.log")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", platform, "the platform")
        yield Stack(f"http://127.0.0.1:{port}", f"https://127.0.0.1:{listen}", db)
    finally:
        for proc in (nginx, platform):
            proc.terminate()
            proc.wait(timeout=30)
        db.dispose()


def _from(address: str) -> aiohttp.ClientSession:
    """A client on its own loopback address (cookies for an IP host kept); nginx's
    certificate is self-signed."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0),
                                                                ssl=False),
                                 cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _desk_sign_in(http: aiohttp.ClientSession, base: str,
                        headers: dict[str, str]) -> tuple[bool, bool]:
    """Signs in at the desk: (login form cookie Secure, session cookie Secure)."""
    async with http.get(f"{base}/desk/login", headers=headers) as r:
        assert r.status == 200
        form_secure = bool(r.cookies[LOGIN_CSRF_COOKIE]["secure"])
        token = CSRF.search(await r.text())
    assert token
    async with http.post(f"{base}/desk/login", headers=headers, allow_redirects=False, data={
            "csrf_token": token.group(1), "username": "admin",
            "password": "demo-admin-2026"}) as r:
        assert r.status == 302, await r.text()
        return form_secure, bool(r.cookies[SESSION_COOKIE]["secure"])


async def test_cookies_are_secure_behind_the_trusted_tls_proxy(stack: Stack) -> None:
    async with _from(BEHIND) as http:
        assert await _desk_sign_in(http, stack.proxy, {}) == (True, True)
        async with http.post(f"{stack.proxy}/chat/session") as r:
            assert r.status == 201 and r.cookies["xb_chat"]["secure"]


async def test_forwarded_headers_from_anyone_else_are_not_believed(stack: Stack) -> None:
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": FORGED}
    async with _from(DIRECT) as http:
        assert await _desk_sign_in(http, stack.platform, forged) == (False, False)
        async with http.post(f"{stack.platform}/chat/session", headers=forged) as r:
            assert r.status == 201 and not r.cookies["xb_chat"]["secure"]
        # behind nginx over plain http nothing is Secure either: the proxy says "http"
        async with http.post(f"{stack.platform}/chat/session",
                             headers={"X-Forwarded-Proto": "http"}) as r:
            assert not r.cookies["xb_chat"]["secure"]


def _counted(db: Database, address: str) -> int:
    digest = limits.key(staff.SOURCE_LIMIT, source_key(address)).digest
    with db.read() as s:
        row = s.execute(select(AttemptLimit).where(AttemptLimit.key == digest)).scalar()
    return int(row.failures) if row is not None else 0


async def test_a_forged_forwarded_for_does_not_move_the_counted_source(stack: Stack) -> None:
    wrong = {"username": "admin", "password": "not-the-password"}
    async with _from(DIRECT) as http:
        for n in range(3):  # a client writing the header itself, a new address each time
            async with http.post(f"{stack.platform}/api/v1/auth/token", json=wrong,
                                 headers={"X-Forwarded-For": f"198.51.100.{n}"}) as r:
                assert r.status == 401
    assert _counted(stack.db, DIRECT) == 3
    assert all(_counted(stack.db, f"198.51.100.{n}") == 0 for n in range(3))
    async with _from(BEHIND) as http:  # through nginx: the left part is the client's claim
        for _ in range(2):
            async with http.post(f"{stack.proxy}/api/v1/auth/token", json=wrong,
                                 headers={"X-Forwarded-For": FORGED}) as r:
                assert r.status == 401
    assert _counted(stack.db, BEHIND) == 2
    assert _counted(stack.db, FORGED) == 0 and _counted(stack.db, "127.0.0.1") == 0


@pytest.mark.parametrize(("peer", "header", "client"), [
    ("10.0.0.5", "1.2.3.4", "1.2.3.4"),
    ("10.0.0.5", "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the left part is the client's own claim
    ("10.0.0.5", "1.2.3.4, 10.0.0.9", "1.2.3.4"),  # a chain of trusted proxies
    ("10.0.0.5", "junk, 1.2.3.4", "1.2.3.4"),
    ("10.0.0.5", "1.2.3.4, junk", "10.0.0.5"),  # unreadable: the peer itself
    ("10.0.0.5", "[2001:db8::1]:443", "2001:db8::1"),
    ("10.0.0.5", "1.2.3.4:5555", "1.2.3.4"),
])
def test_the_client_behind_trusted_proxies(peer: str, header: str, client: str) -> None:
    proxies = TrustedProxies(parse_networks("10.0.0.0/24"))
    assert proxies.trusts(peer) and not proxies.trusts("10.0.1.1")
    assert proxies.client(peer, header) == client


@pytest.mark.parametrize("raw", ["10.0.0.300", "proxy.local", "10.0.0.0/33"])
def test_a_bad_setting_is_refused_naming_the_entry(raw: str) -> None:
    with pytest.raises(ValueError, match=re.escape(raw)):
        parse_networks(f"127.0.0.1, {raw}")

"""The access log of a real `xiaobao serve` process never writes a credential: WeChat's
signature, msg_signature, nonce and echostr, the VoiceXML dialog's signed links, the policy
documents' signed links, the web chat's id. Paths stay, and ordinary queries too."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from backoffice.store.db import Database
from backoffice.store.migrate import upgrade
from tests.channels.channel_kit import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "access-log-api-token-0123456789"
WECHAT_TOKEN = "access-log-wechat"


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    env = {**os.environ, "XIAOBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'log.db'}",
           "XIAOBAO_API_TOKEN": TOKEN, "XIAOBAO_VAR_DIR": str(tmp_path),
           "XIAOBAO_RASA_URL": "http://127.0.0.1:9", "XIAOBAO_LOG_LEVEL": "INFO",
           "XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_IVR_SECRET": "access-log-ivr",
           "XIAOBAO_WECHAT_AES_KEY": "", "XIAOBAO_REDIS_URL": ""}
    db = Database(f"sqlite:///{tmp_path / 'log.db'}")
    upgrade(db)  # `xiaobao db upgrade`: serve never migrates
    db.dispose()
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "xiaobao.cli", "serve", "--port",
                                    str(port), "--no-scheduler"], env=env, cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process, "the platform")
            yield f"http://127.0.0.1:{port}", log
        finally:
            process.terminate()
            process.wait(timeout=30)


def _get(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _wechat_query(echostr: str | None = None) -> dict[str, str]:
    ts, nonce = str(int(time.time())), "5087123496"
    sig = hashlib.sha1("".join(sorted([WECHAT_TOKEN, ts, nonce])).encode()).hexdigest()
    query = {"signature": sig, "timestamp": ts, "nonce": nonce, "openid": "oLogTest"}
    return {**query, "echostr": echostr} if echostr else query


def test_no_signature_reaches_the_access_log(serve: tuple[str, Path]) -> None:
    base, log = serve
    verify = _wechat_query("7788991122334455")
    assert _get(f"{base}/wechat?{urllib.parse.urlencode(verify)}") == 200
    push = {**_wechat_query(), "encrypt_type": "aes", "msg_signature": "ab" * 20}
    _get(f"{base}/wechat?{urllib.parse.urlencode(push)}", data=b"<xml></xml>")
    ivr = {"call_id": "c-log-1", "from": "13900001111", "exp": "9999999999",
           "sig": "cd" * 16}
    assert _get(f"{base}/ivr/vxml?{urllib.parse.urlencode(ivr)}") == 403
    link = "/documents/policies/P202600000001?exp=9999999999&v=0&sig=" + "ef" * 16
    assert _get(base + link) == 403
    # elsewhere a signed-looking parameter is hidden too; an ordinary query is kept
    _get(f"{base}/healthz?token=secret-in-a-query-0042")
    assert _get(f"{base}/api/v1/claims?status=reported",
                headers={"Authorization": f"Bearer {TOKEN}"}) == 200
    # personal numbers in an ordinary query, percent-encoded as a browser sends them
    _get(f"{base}/api/v1/complaints?q=151%205174%202938", headers={
        "Authorization": f"Bearer {TOKEN}"})
    _get(f"{base}/api/v1/claims?insured_id_number=440514+19430919+0697", headers={
        "Authorization": f"Bearer {TOKEN}"})
    assert _get(f"{base}/chat/messages?user=web-user-id-55aa&after=0") == 401
    deadline = time.monotonic() + 30  # the last lines are flushed as they are written
    while "GET /chat/messages" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log.read_text()
    for secret in (verify["signature"], verify["echostr"], verify["nonce"], "ab" * 20,
                   "cd" * 16, "ef" * 16, "secret-in-a-query-0042", "web-user-id-55aa",
                   "13900001111", "5174%202938", "5174 2938", "19430919",
                   TOKEN):  # the operator's API token: not even in the start-up banner
        assert secret not in text, secret
    for path in ('"GET /wechat?… HTTP/1.1" 200', '"POST /wechat?… HTTP/1.1"',
                 '"GET /ivr/vxml?… HTTP/1.1" 403',
                 '"GET /documents/policies/P202600000001?… HTTP/1.1" 403',
                 '"GET /healthz?… HTTP/1.1"', '"GET /api/v1/claims?status=reported HTTP/1.1" 200',
                 '"GET /chat/messages?… HTTP/1.1" 401'):
        assert path in text, text[-3000:]

"""WeChatSender against a stand-in WeChat API: token caching shared through the database,
refresh on 40001/42001, template fallback on 45015, error classes, and the dispatcher's
retries and dead letters on top."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from notify_helpers import T0, add, get
from notify_stubs import APPID, SECRET, Stubs

from backoffice.clock import ManualClock
from backoffice.notifications import DbTokenCache, RedisTokenCache, SendError, WeChatSender
from backoffice.notifications.wechat import default_template_data
from backoffice.services.notifications import dispatch_due
from backoffice.store.db import Database
from backoffice.store.models import AccessToken, Notification

TEMPLATE_ID = "tmpl-claim-progress"


def sender(db: Database, stubs: Stubs, *, template_id: str | None = TEMPLATE_ID,
           secret: str = SECRET) -> WeChatSender:
    return WeChatSender(APPID, secret, cache=DbTokenCache(db), api_base=stubs.base,
                        template_id=template_id, timeout=5)


def note(db: Database, openid: str = "oUser-1", text: str = "【小保】您的理赔进度：材料审核中",
         **payload: object) -> Notification:
    return get(db, add(db, f"n-{openid}-{text}", "wechat", openid, text, **payload))


def test_customer_service_text_message(db: Database, stubs: Stubs, clock: ManualClock) -> None:
    n = note(db, claim_no="R202600000001")
    assert sender(db, stubs).send(n) == "wechat"
    (call,) = stubs.wechat.custom
    assert call == {"touser": "oUser-1", "msgtype": "text",
                    "text": {"content": "【小保】您的理赔进度：材料审核中"},
                    "access_token": "TOKEN-1"}
    (token_request,) = stubs.wechat.token_requests
    assert token_request == {"grant_type": "client_credential", "appid": APPID,
                             "secret": SECRET}


def test_one_token_request_for_many_sends_and_processes(db: Database, stubs: Stubs,
                                                         clock: ManualClock) -> None:
    for i in range(5):
        add(db, f"k{i}", "wechat", f"oUser-{i}", f"第{i}条")
    result = dispatch_due(db, {"wechat": sender(db, stubs)}, T0)
    assert result["sent"] == 5
    # another process: its own sender, the same database
    assert sender(db, stubs).send(note(db, "oUser-9")) == "wechat"
    assert len(stubs.wechat.token_requests) == 1
    assert {c["access_token"] for c in stubs.wechat.custom} == {"TOKEN-1"}
    with db.read() as s:
        cached = s.get(AccessToken, f"wechat:{APPID}")
        assert cached is not None and cached.token == "TOKEN-1"
        # cached until shortly (5 min) before WeChat's expires_in
        assert cached.expires_at == T0 + timedelta(seconds=7200 - 300)


def test_the_token_is_renewed_shortly_before_it_expires(db: Database, stubs: Stubs,
                                                         clock: ManualClock) -> None:
    wechat = sender(db, stubs)
    wechat.send(note(db, "oA"))
    clock.advance(seconds=7200 - 301)
    wechat.send(note(db, "oB"))
    assert len(stubs.wechat.token_requests) == 1
    clock.advance(seconds=1)
    wechat.send(note(db, "oC"))
    assert len(stubs.wechat.token_requests) == 2
    assert [c["access_token"] for c in stubs.wechat.custom] == ["TOKEN-1", "TOKEN-1",
                                                                "TOKEN-2"]


@pytest.mark.parametrize("how", ["revoke", "expire"])
def test_a_refused_token_is_refreshed_once(db: Database, stubs: Stubs, clock: ManualClock,
                                           how: str) -> None:
    wechat = sender(db, stubs)
    wechat.send(note(db, "oA"))
    getattr(stubs.wechat, f"{how}_tokens")()  # 40001 / 42001 on the cached token
    assert wechat.send(note(db, "oB")) == "wechat"
    assert [c["access_token"] for c in stubs.wechat.custom] == ["TOKEN-1", "TOKEN-1",
                                                                "TOKEN-2"]
    assert len(stubs.wechat.token_requests) == 2
    # the new token is the cached one now, for every process
    assert DbTokenCache(db).get(f"wechat:{APPID}") == "TOKEN-2"


def test_a_token_refused_twice_is_a_retryable_failure(db: Database, stubs: Stubs,
                                                       clock: ManualClock) -> None:
    stubs.wechat.always_invalid = True
    with pytest.raises(SendError) as exc:
        sender(db, stubs).send(note(db))
    assert exc.value.retryable and "40001" in exc.value.message
    assert len(stubs.wechat.token_requests) == 2  # refreshed once, not in a loop


def test_outside_the_48_hour_window_a_template_message_goes(db: Database, stubs: Stubs,
                                                            clock: ManualClock) -> None:
    stubs.wechat.outside_window.add("oQuiet")
    n = note(db, "oQuiet", claim_no="R202600000007")
    assert sender(db, stubs).send(n) == "wechat_template"
    (call,) = stubs.wechat.template
    assert call["touser"] == "oQuiet" and call["template_id"] == TEMPLATE_ID
    assert call["data"]["first"] == {"value": "【小保】您的理赔进度：材料审核中"}
    assert call["data"]["keyword1"] == {"value": "R202600000007"}
    assert call["data"]["keyword2"] == {"value": "2026-09-28 09:00"}  # Beijing time
    assert len(stubs.wechat.token_requests) == 1


def test_template_fields_given_by_the_notification(db: Database, clock: ManualClock) -> None:
    n = note(db, template_data={"thing1": "理赔进度", "time2": {"value": "2026-09-28"}})
    assert default_template_data(n) == {"thing1": {"value": "理赔进度"},
                                        "time2": {"value": "2026-09-28"}}


def test_outside_the_window_without_a_template_is_dead(db: Database, stubs: Stubs,
                                                       clock: ManualClock) -> None:
    stubs.wechat.outside_window.add("oQuiet")
    note_id = add(db, "quiet", "wechat", "oQuiet")
    result = dispatch_due(db, {"wechat": sender(db, stubs, template_id=None)}, T0)
    assert result["dead"] == 1
    assert "45015" in (get(db, note_id).last_error or "")
    assert stubs.wechat.template == []


@pytest.mark.parametrize(("code", "retryable"), [(-1, True), (43004, False), (40003, False)])
def test_error_codes(db: Database, stubs: Stubs, clock: ManualClock, code: int,
                     retryable: bool) -> None:
    stubs.wechat.custom_errors.append(code)
    with pytest.raises(SendError) as exc:
        sender(db, stubs).send(note(db))
    assert exc.value.retryable is retryable
    assert f"errcode {code}" in exc.value.message


def test_http_errors_and_no_server_are_retryable(db: Database, stubs: Stubs,
                                                 clock: ManualClock) -> None:
    stubs.wechat.custom_http_status.append(503)
    with pytest.raises(SendError) as exc:
        sender(db, stubs).send(note(db))
    assert exc.value.retryable and "HTTP 503" in exc.value.message
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    nobody = WeChatSender(APPID, SECRET, cache=DbTokenCache(db),
                          api_base=f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(SendError) as exc:
        nobody.send(note(db, "oB"))
    assert exc.value.retryable and "no answer" in exc.value.message


def test_a_bad_secret_never_shows_in_the_error(db: Database, stubs: Stubs,
                                               clock: ManualClock) -> None:
    with pytest.raises(SendError) as exc:
        sender(db, stubs, secret="wrong-secret-xyz").send(note(db))
    assert exc.value.retryable and "40125" in exc.value.message
    assert "wrong-secret-xyz" not in exc.value.message
    assert stubs.wechat.custom == []


def test_dispatch_through_wechat_retries_then_dead_letters(db: Database, stubs: Stubs,
                                                           clock: ManualClock) -> None:
    ok_id = add(db, "ok", "wechat", "oA")
    quiet_id = add(db, "quiet", "wechat", "oQuiet")
    stubs.wechat.outside_window.add("oQuiet")
    wechat = {"wechat": sender(db, stubs)}
    assert dispatch_due(db, wechat, T0) == {"taken": 2, "sent": 2, "retry": 0, "dead": 0}
    assert (get(db, ok_id).sent_via, get(db, quiet_id).sent_via) == ("wechat",
                                                                     "wechat_template")

    busy_id = add(db, "busy", "wechat", "oB")
    stubs.wechat.custom_errors.extend([-1, -1])  # WeChat busy twice, then fine
    assert dispatch_due(db, wechat, T0)["retry"] == 1
    assert get(db, busy_id).next_attempt_at == T0 + timedelta(minutes=2)
    assert dispatch_due(db, wechat, T0 + timedelta(minutes=2))["retry"] == 1
    assert get(db, busy_id).next_attempt_at == T0 + timedelta(minutes=6)
    assert dispatch_due(db, wechat, T0 + timedelta(minutes=6))["sent"] == 1
    assert get(db, busy_id).attempts == 3

    doomed_id = add(db, "doomed", "wechat", "oC")
    stubs.wechat.custom_errors.extend([-1] * 3)
    now = T0
    for _ in range(3):
        dispatch_due(db, wechat, now, max_attempts=3)
        now = get(db, doomed_id).next_attempt_at
    doomed = get(db, doomed_id)
    assert (doomed.status, doomed.attempts) == ("dead", 3)
    assert doomed.last_error == "wechat custom/send: errcode -1 system error"
    assert len(stubs.wechat.token_requests) == 1  # one token for all of it


# ---- Redis as the shared token cache (XIAOBAO_REDIS_URL) ---------------------------------

@pytest.fixture
def redis_url() -> Iterator[str]:
    pytest.importorskip("redis")
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no redis-server on this machine")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(1000):  # bounded wait for the server to answer
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None:
                    pytest.fail("redis-server exited")
                time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait()


def test_redis_token_cache_is_shared(redis_url: str, sqlite_db: Database, stubs: Stubs,
                                     clock: ManualClock) -> None:
    def make() -> WeChatSender:
        return WeChatSender(APPID, SECRET, cache=RedisTokenCache(redis_url),
                            api_base=stubs.base)

    make().send(note(sqlite_db, "oA"))
    make().send(note(sqlite_db, "oB"))
    assert len(stubs.wechat.token_requests) == 1
    stubs.wechat.revoke_tokens()
    make().send(note(sqlite_db, "oC"))
    assert len(stubs.wechat.token_requests) == 2
    assert RedisTokenCache(redis_url).get(f"wechat:{APPID}") == "TOKEN-2"

"""SMS through an HTTP JSON gateway, the development LogSender (masked), and which sender
serves which channel from the XIAOBAO_* settings."""

from __future__ import annotations

import logging

import pytest
from notify_helpers import T0, add, get
from notify_stubs import SMS_KEY, Stubs

from backoffice.clock import ManualClock
from backoffice.notifications import (
    HttpJsonSmsProvider,
    LogSender,
    NotifyConfig,
    SendError,
    SmsSender,
    WeChatSender,
    build_senders,
)
from backoffice.notifications.wechat import DbTokenCache
from backoffice.services.notifications import dispatch_due
from backoffice.store.db import Database


def sms(stubs: Stubs, key: str | None = SMS_KEY) -> SmsSender:
    return SmsSender(HttpJsonSmsProvider(f"{stubs.base}/sms", key, timeout=5))


def test_sms_through_the_gateway(db: Database, stubs: Stubs, clock: ManualClock) -> None:
    note_id = add(db, "k", recipient="+86 139 1234 5678", text="【小保】报案号 R1 已受理")
    assert dispatch_due(db, {"sms": sms(stubs)}, T0)["sent"] == 1
    assert stubs.sms.received == [{"auth": f"Bearer {SMS_KEY}", "phone": "13912345678",
                                   "text": "【小保】报案号 R1 已受理"}]
    assert get(db, note_id).sent_via == "sms"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True),
                                                   (400, False), (401, False)])
def test_gateway_statuses(db: Database, stubs: Stubs, clock: ManualClock, status: int,
                          retryable: bool) -> None:
    stubs.sms.statuses.append(status)
    with pytest.raises(SendError) as exc:
        sms(stubs).send(get(db, add(db, "k")))
    assert exc.value.retryable is retryable
    assert f"HTTP {status}" in exc.value.message


@pytest.mark.parametrize("retryable", [True, False])
def test_gateway_refusals_in_the_body(db: Database, stubs: Stubs, clock: ManualClock,
                                      retryable: bool) -> None:
    stubs.sms.answers.append({"error": "号码在黑名单中", "retryable": retryable})
    with pytest.raises(SendError) as exc:
        sms(stubs).send(get(db, add(db, "k")))
    assert exc.value.retryable is retryable and "黑名单" in exc.value.message


def test_not_a_phone_number_is_dead_without_a_call(db: Database, stubs: Stubs,
                                                   clock: ManualClock) -> None:
    note_id = add(db, "k", recipient="oWeChatOpenId")
    assert dispatch_due(db, {"sms": sms(stubs)}, T0)["dead"] == 1
    assert stubs.sms.received == []
    assert get(db, note_id).last_error == "sms: the recipient is not a phone number"


def test_log_sender_masks_personal_data(db: Database, caplog: pytest.LogCaptureFixture,
                                        clock: ManualClock) -> None:
    text = "【小保】张伟 13912345678，身份证 110101198005170035，报案号 R202600000001"
    note = get(db, add(db, "k", recipient="13912345678", text=text))
    with caplog.at_level(logging.INFO, logger="xiaobao.notifications"):
        assert LogSender().send(note) == "log"
    logged = caplog.text
    assert "13912345678" not in logged and "139****5678" in logged
    assert "110101198005170035" not in logged
    assert "R202600000001" in logged


def test_sms_sender_logs_masked_numbers(db: Database, stubs: Stubs,
                                        caplog: pytest.LogCaptureFixture,
                                        clock: ManualClock) -> None:
    add(db, "k")
    with caplog.at_level(logging.INFO, logger="xiaobao.notifications"):
        assert dispatch_due(db, {"sms": sms(stubs)}, T0)["sent"] == 1
    assert "13912345678" not in caplog.text and "139****5678" in caplog.text


def test_settings_from_the_environment() -> None:
    assert NotifyConfig.from_env({}) == NotifyConfig()
    config = NotifyConfig.from_env({
        "XIAOBAO_WECHAT_API_BASE": "http://127.0.0.1:9", "XIAOBAO_WECHAT_APPID": "wx1",
        "XIAOBAO_WECHAT_SECRET": "s", "XIAOBAO_WECHAT_TEMPLATE_ID": "t1",
        "XIAOBAO_SMS_URL": "http://127.0.0.1:9/sms", "XIAOBAO_SMS_KEY": "k",
        "XIAOBAO_REDIS_URL": " ", "XIAOBAO_NOTIFY_MAX_ATTEMPTS": "8"})
    assert config == NotifyConfig("http://127.0.0.1:9", "wx1", "s", "t1",
                                  "http://127.0.0.1:9/sms", "k", None, 8)
    with pytest.raises(ValueError):
        NotifyConfig.from_env({"XIAOBAO_NOTIFY_MAX_ATTEMPTS": "0"})


def test_senders_by_channel(sqlite_db: Database) -> None:
    default = build_senders(NotifyConfig(), sqlite_db)
    assert set(default) == {"wechat", "sms", "log"}
    assert all(isinstance(s, LogSender) for s in default.values())  # development
    configured = build_senders(NotifyConfig(wechat_appid="wx1", wechat_secret="s",
                                            wechat_template_id="t1",
                                            sms_url="http://127.0.0.1:9/sms"), sqlite_db)
    wechat = configured["wechat"]
    assert isinstance(wechat, WeChatSender) and isinstance(wechat.cache, DbTokenCache)
    assert wechat.template_id == "t1" and wechat.api_base == "https://api.weixin.qq.com"
    assert isinstance(configured["sms"], SmsSender)
    assert isinstance(configured["log"], LogSender)

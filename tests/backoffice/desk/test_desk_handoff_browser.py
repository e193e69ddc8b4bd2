"""A WeChat conversation handed off by the bot, worked on the desk in a real headless Chromium.

Everything runs for real but WeChat's servers: `xiaobao serve` with the WeChat channel, a real
Rasa server with the channels' fixture bot, and the WeChat API stand-in of the channel tests
(token, customer-service messages) in its own thread. The customer writes through signed
pushes to /wechat, asks for 转人工; an agent logs in, takes the conversation, replies (the
customer receives it as a customer-service message), writes a note, and hands it back; then
the bot answers the customer again.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from test_desk_browser import WAIT, _free_port, browser, login, shots, submit, wait_text

from backoffice.demo.staff import seed_staff
from backoffice.services.products import install_products
from backoffice.store.db import Database
from backoffice.store.migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "channels"))
from channel_kit import (  # the channel tests' helpers (their folder is no package)
    APPID,
    WECHAT_TOKEN,
    WeChatApiStandIn,
    fixture_rasa,
    openid,
)
from wechat_client import WeChatPusher, reply_text, text_xml

__all__ = ["browser", "shots"]  # the harness's fixtures, used here by name
TOKEN = "browser-test-token-0123"


class StandInThread:
    """The WeChat API stand-in served from its own event loop, beside the synchronous
    browser test."""

    def __init__(self) -> None:
        self.stand_in = WeChatApiStandIn()
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(self.stand_in.app())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=60)

    async def _start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def rasa() -> Iterator[str]:
    given = os.environ.get("XIAOBAO_TEST_RASA_URL")
    if given:
        yield given.rstrip("/")
        return
    with fixture_rasa() as url:
        yield url


@pytest.fixture(scope="module")
def wechat_server() -> Iterator[StandInThread]:
    server = StandInThread()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def wechat(wechat_server: StandInThread) -> WeChatApiStandIn:
    return wechat_server.stand_in


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, rasa: str,
             wechat_server: StandInThread) -> Iterator[dict[str, Any]]:
    """`xiaobao serve` with the WeChat channel, the real bot and the stand-in."""
    tmp = tmp_path_factory.mktemp("desk-handoff")
    url = f"sqlite:///{tmp / 'desk.db'}"
    db = Database(url)
    upgrade(db)
    install_products(db)  # as `xiaobao db upgrade` does
    seed_staff(db)
    db.dispose()
    port = _free_port()
    env = {**os.environ, "XIAOBAO_DATABASE_URL": url, "XIAOBAO_API_TOKEN": TOKEN,
           "XIAOBAO_VAR_DIR": str(tmp), "XIAOBAO_RASA_URL": rasa,
           "XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_WECHAT_APPID": APPID,
           "XIAOBAO_WECHAT_SECRET": "test-secret", "XIAOBAO_WECHAT_AES_KEY": "",
           "XIAOBAO_WECHAT_API_BASE": wechat_server.base,
           "XIAOBAO_REDIS_URL": ""}
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "xiaobao.cli", "serve", "--port", str(port),
                             "--no-scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:  # until it answers (or has died)
            if proc.poll() is not None:
                raise RuntimeError((tmp / "serve.log").read_text(errors="replace"))
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except urllib.error.HTTPError:  # 503: serving, the bot not up (none here)
                break
            except OSError:
                time.sleep(0.2)
        yield {"base": base, "log": tmp / "serve.log"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def write(base: str, user: str, text: str) -> str:
    """The customer writes on WeChat; the passive reply's text ('' for `success`)."""
    status, reply = asyncio.run(WeChatPusher(base + "/wechat").push(text_xml(user, text)))
    assert status == 200, reply
    return reply_text(reply)


def received(wechat: WeChatApiStandIn, user: str, check: Callable[[list[str]], bool],
             what: str) -> list[str]:
    """What the customer got through the customer-service message API, once `check` holds."""
    for _ in range(WAIT * 10):
        texts = wechat.texts_to(user)
        if check(texts):
            return texts
        time.sleep(0.1)
    raise AssertionError(f"the customer never received {what}: {wechat.texts_to(user)}")


def answered(reply: str, wechat: WeChatApiStandIn, user: str, text: str) -> None:
    """The bot's answer came passively or, when slow, as a customer-service message."""
    if text not in reply:
        received(wechat, user, lambda got: any(text in t for t in got), text)


def test_an_agent_takes_a_wechat_conversation_replies_and_hands_it_back(
        platform: dict[str, Any], browser: WebDriver, wechat: WeChatApiStandIn,
        shots: Path) -> None:
    base, customer = platform["base"], openid()
    answered(write(base, customer, "你好"), wechat, customer, "我是小保")
    answered(write(base, customer, "转人工"), wechat, customer, "正在为您转接人工客服")

    login(browser, base, "agent.li")
    browser.get(base + "/desk/handoff")
    row = WebDriverWait(browser, WAIT).until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, "tr.queued")))
    assert "微信" in row.text and "客户要求" in row.text and "客户主动要求转人工服务" in row.text
    assert customer not in row.text  # the openid is not shown in full
    browser.save_screenshot(str(shots / "handoff.png"))
    row.find_element(By.CSS_SELECTOR, "button.take").click()
    wait_text(browser, By.ID, "state", "人工服务中")
    transcript = browser.find_element(By.ID, "transcript").text
    assert "转人工" in transcript and "正在为您转接人工客服" in transcript

    reply = "您好，我是人工客服小李，请问有什么可以帮您？"
    browser.find_element(By.ID, "reply-text").send_keys(reply)
    submit(browser, "reply")
    received(wechat, customer, lambda got: reply in got, "the agent's reply")
    wait_text(browser, By.ID, "transcript", reply)

    # the customer answers; the open conversation page shows it by itself
    assert write(base, customer, "我想问一下理赔进度") == ""
    wait_text(browser, By.ID, "transcript", "我想问一下理赔进度")
    Select(browser.find_element(By.ID, "canned")).select_by_index(2)
    canned = browser.find_element(By.ID, "reply-text").get_attribute("value") or ""
    assert canned
    submit(browser, "reply")
    received(wechat, customer, lambda got: canned in got, "the canned reply")
    browser.find_element(By.ID, "note-text").send_keys("客户关心理赔进度，已答复")
    submit(browser, "note")
    wait_text(browser, By.ID, "transcript", "客户关心理赔进度，已答复")
    browser.save_screenshot(str(shots / "conversation.png"))
    assert not any("已答复" in t for t in wechat.texts_to(customer))  # notes stay private

    submit(browser, "handback")
    received(wechat, customer, lambda got: any("小保回来了" in t for t in got),
             "the bot's return")
    # the bot answers again
    answered(write(base, customer, "你好"), wechat, customer, "我是小保")

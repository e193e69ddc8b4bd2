"""The gateway's Rasa instances: one sender, one instance; moved only while its home is down,
back at its next turn once the home answers again; what is sent again and what is not. Stand-in
Rasa servers (REST webhook, /status) record which sender reached which instance."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from channels.rasa import RasaUnavailable
from channels.rasa_pool import RasaPool
from channels.readiness import BotReadiness
from tests.bot_stack import free_port
from xiaobao.config import Settings


class StandIn:
    """A Rasa on a fixed port that can stop, start again, die mid-turn or hang."""

    def __init__(self, name: str, seen: dict[str, list[str]]) -> None:
        self.name = name
        self.seen = seen
        self.port = free_port()
        self.mode = "answer"  # answer | die | hang | error
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.seen[body["sender"]].append(self.name)
        if self.mode == "die":
            assert request.transport is not None
            request.transport.close()  # the process died mid-turn: no answer at all
            await asyncio.sleep(1)
        if self.mode == "hang":
            await asyncio.sleep(1)
        if self.mode == "error":
            return web.json_response([])  # the REST channel's failed turn
        return web.json_response([{"recipient_id": body["sender"], "text": self.name}])

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"model_file": "models/xiaobao.tar.gz"})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_get("/status", self.status)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


async def started(n: int, **pool_args: Any
                  ) -> tuple[list[StandIn], RasaPool, dict[str, list[str]], CollectorRegistry]:
    seen: dict[str, list[str]] = defaultdict(list)
    rasas = [StandIn(f"r{i + 1}", seen) for i in range(n)]
    for r in rasas:
        await r.start()
    registry = CollectorRegistry()
    pool = RasaPool([r.url for r in rasas], registry=registry, down_seconds=0.05,
                    **{"timeout": 2.0, **pool_args})
    return rasas, pool, seen, registry


async def stopped(rasas: list[StandIn], pool: RasaPool) -> None:
    await pool.close()
    for r in rasas:
        await r.stop()


def count(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def wait_for(condition: Any, tries: int = 400) -> None:
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_each_senders_turns_go_to_its_home_instance_only() -> None:
    # routing, not speed: 180 turns at once on a loaded machine must not time out
    rasas, pool, seen, registry = await started(3, timeout=60.0)
    senders = [f"wechat:o{i}" for i in range(60)]
    try:
        for _ in range(3):
            await asyncio.gather(*(pool.turn(s, "你好", {}) for s in senders))
    finally:
        await stopped(rasas, pool)
    names = {r.url: r.name for r in rasas}
    for s in senders:
        assert seen[s] == [names[pool.home(s).url]] * 3
    assert {n for s in senders for n in seen[s]} == {"r1", "r2", "r3"}  # all take a share
    for inst in pool.instances:
        homed = sum(1 for s in senders if pool.home(s) is inst)
        assert count(registry, "xiaobao_rasa_turns_total", instance=inst.name,
                     outcome="answered") == 3 * homed
        assert count(registry, "xiaobao_rasa_turn_seconds_count", instance=inst.name) == 3 * homed


async def test_a_sender_moves_only_while_its_home_is_down_and_returns_after() -> None:
    rasas, pool, seen, registry = await started(2)
    r1 = rasas[0]
    senders = [f"web:u{i}" for i in range(40)]
    on_r1 = [s for s in senders if pool.home(s).url == r1.url]
    on_r2 = [s for s in senders if s not in on_r1]
    assert on_r1 and on_r2
    try:
        await asyncio.gather(*(pool.turn(s, "一", {}) for s in senders))
        await r1.stop()  # connection refused from now on
        await asyncio.gather(*(pool.turn(s, "二", {}) for s in senders))
        assert not pool.instances[0].in_rotation
        assert count(registry, "xiaobao_rasa_in_rotation", instance="rasa-1") == 0
        assert pool.states()["rasa-1"] == {"routing": "out", "detail": "refused"}
        await r1.start()  # back: the probe puts it in rotation again
        await wait_for(lambda: pool.instances[0].in_rotation)
        await asyncio.gather(*(pool.turn(s, "三", {}) for s in senders))
    finally:
        await stopped(rasas, pool)
    for s in on_r1:
        assert seen[s] == ["r1", "r2", "r1"]
    for s in on_r2:  # never moved: their home never went down
        assert seen[s] == ["r2", "r2", "r2"]
    assert count(registry, "xiaobao_rasa_moved_turns_total", instance="rasa-2") == len(on_r1)
    # the turns in flight when it went down were refused (then answered by rasa-2); the
    # refusals took it out
    assert 1 <= count(registry, "xiaobao_rasa_turns_total", instance="rasa-1",
                      outcome="refused") <= len(on_r1)
    assert count(registry, "xiaobao_rasa_in_rotation", instance="rasa-1") == 1


async def test_a_turn_lost_when_its_instance_dies_is_sent_once_to_the_next() -> None:
    rasas, pool, seen, registry = await started(3)
    sender = "ivr:call-7"
    home = pool.home(sender)
    dying = next(r for r in rasas if r.url == home.url)
    dying.mode = "die"
    try:
        answer = await pool.turn(sender, "报案", {})
    finally:
        await stopped(rasas, pool)
    second = [i for i in pool.ring.walk(sender)][1]
    assert answer[0]["text"] == next(r.name for r in rasas if r.url == second)
    assert seen[sender] == [dying.name, answer[0]["text"]]
    assert count(registry, "xiaobao_rasa_turns_total", instance=home.name, outcome="lost") == 1


async def test_a_second_loss_is_not_sent_a_third_time() -> None:
    rasas, pool, seen, _ = await started(3)
    for r in rasas:
        r.mode = "die"
    try:
        with pytest.raises(RasaUnavailable) as failed:
            await pool.turn("web:x", "你好", {})
    finally:
        await stopped(rasas, pool)
    assert failed.value.kind == "lost"
    assert len(seen["web:x"]) == 2


async def test_a_turn_that_timed_out_is_not_sent_again() -> None:
    rasas, pool, seen, registry = await started(2, timeout=0.3)
    sender = "web:slow"
    home = pool.home(sender)
    next(r for r in rasas if r.url == home.url).mode = "hang"
    try:
        with pytest.raises(RasaUnavailable) as failed:
            await pool.turn(sender, "你好", {})
        assert failed.value.kind == "timeout"
        assert len(seen[sender]) == 1  # it may still be running there: not run twice
        assert not home.in_rotation
        # the next turn goes to the other instance while the home is out
        answer = await pool.turn(sender, "你好", {})
    finally:
        await stopped(rasas, pool)
    assert answer[0]["text"] != next(r.name for r in rasas if r.url == home.url)


async def test_an_empty_answer_fails_the_turn_but_keeps_a_healthy_instance() -> None:
    rasas, pool, seen, _ = await started(2)
    sender = "web:e"
    home = pool.home(sender)
    next(r for r in rasas if r.url == home.url).mode = "error"
    try:
        with pytest.raises(RasaUnavailable) as failed:
            await pool.turn(sender, "你好", {})
        await asyncio.sleep(0.1)  # the probe that follows finds the instance up
    finally:
        await stopped(rasas, pool)
    assert failed.value.kind == "answer" and len(seen[sender]) == 1
    assert home.in_rotation


async def test_an_instance_whose_action_server_is_down_leaves_rotation() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    rasas = [StandIn("r1", seen), StandIn("r2", seen)]
    for r in rasas:
        await r.start()
    dead_actions = f"http://127.0.0.1:{free_port()}"
    live_actions = rasas[1].url  # not probed: rasa-2 takes no failed turn
    pool = RasaPool([r.url for r in rasas], actions_urls=[dead_actions, live_actions],
                    down_seconds=0.05)
    rasas[0].mode = "error"
    sender = next(f"web:{i}" for i in range(100) if pool.home(f"web:{i}").name == "rasa-1")
    try:
        with pytest.raises(RasaUnavailable):
            await pool.turn(sender, "你好", {})
        await wait_for(lambda: not pool.instances[0].in_rotation)
    finally:
        await pool.close()
        for r in rasas:
            await r.stop()
    assert pool.states()["rasa-1"] == {"routing": "out", "detail": "refused"}


async def test_every_instance_down_still_tries_them_all() -> None:
    rasas, pool, seen, _ = await started(2)
    for r in rasas:
        await r.stop()
    try:
        with pytest.raises(RasaUnavailable) as failed:
            await pool.turn("web:a", "你好", {})
        assert failed.value.kind == "refused"
        assert not any(i.in_rotation for i in pool.instances)
        await rasas[1].start()  # a restart the marks do not know of yet: still found
        answer = await pool.turn("web:a", "你好", {})
    finally:
        await stopped(rasas, pool)
    assert answer[0]["text"] == "r2"


async def test_readiness_reports_each_instance_with_the_gateways_routing() -> None:
    rasas, pool, _, _ = await started(2)
    await rasas[1].stop()
    readiness = BotReadiness([r.url for r in rasas], cache_seconds=0)
    readiness.routing = pool.states
    try:
        await pool.turn(next(f"w:{i}" for i in range(100)
                             if pool.home(f"w:{i}").name == "rasa-2"), "你好", {})
        parts = await readiness.parts()
        instances = await readiness.instances()
    finally:
        await readiness.close()
        await stopped(rasas, pool)
    assert parts["bot"].state == "up" and parts["bot"].detail == "1_of_2_up"
    assert instances["rasa-1"]["state"] == "up" and instances["rasa-1"]["routing"] == "in"
    assert instances["rasa-2"] == {"state": "starting", "detail": "refused", "routing": "out"}
    assert "127.0.0.1" not in repr(instances)  # no URL leaves the gateway


@pytest.mark.parametrize("urls, actions, message", [
    ("http://a:5005,ftp://b", "", "not an http(s) URL"),
    ("http://a:5005,http://a:5005", "", "each URL once"),
    ("http://a:5005,http://b:5005", "http://a:5055", "one URL per URL"),
    ("http://a:5005,,http:///x", "", "not an http(s) URL"),
])
def test_bad_instance_lists_are_refused_naming_the_setting(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any, urls: str, actions: str,
        message: str) -> None:
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XIAOBAO_RASA_URLS", urls)
    monkeypatch.setenv("XIAOBAO_ACTIONS_URLS", actions)
    with pytest.raises(SystemExit) as refused:
        Settings.from_env()
    assert message in str(refused.value) and "XIAOBAO_" in str(refused.value)


def test_the_instance_list_defaults_to_the_one_url(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Any) -> None:
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XIAOBAO_RASA_URL", "http://one:5005")
    monkeypatch.delenv("XIAOBAO_RASA_URLS", raising=False)
    assert Settings.from_env().rasa_instances == ("http://one:5005",)
    monkeypatch.setenv("XIAOBAO_RASA_URLS", " http://a:5005/ , http://b:5005 ")
    assert Settings.from_env().rasa_instances == ("http://a:5005", "http://b:5005")

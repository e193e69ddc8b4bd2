"""Gateway benchmark: what the channels add to a bot turn, and WeChat throughput.

Starts a Rasa server — the channel tests' fixture bot with its action server, or with
`--bot project` the project's own bot (trained model, action server and a back office of its
own, as bench/bot_turns.py starts them), or `--rasa-url` — a stand-in of WeChat's API, and the
platform (`xiaobao serve`, fresh SQLite database, WeChat plain mode) in subprocesses, then
measures with real HTTP:

1. overhead: the same turns sent directly to Rasa's REST channel and pushed through `/wechat`,
   interleaved, one client; the ratio of mean latencies (target ≤ 1.10). The fixture bot
   answers "你好"; the project's bot gets a greeting, an FAQ, a service-outlet question (an
   action reading the back office) and a premium question in turn;
2. throughput: 200 WeChat users pushing at once through the whole stack (target ≥ 50 msg/s);
3. the share of turns answered passively within the 5 s and of those switched to the
   customer-service API (target: 100 % one or the other).

    .venv/bin/python -m bench.gateway [--bot fixture|project] [--turns 200] [--users 200]
                                      [--messages 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "channels"))

from channel_kit import (  # noqa: E402  (the fixture bot and the WeChat stand-in of the tests)
    APPID,
    WECHAT_TOKEN,
    WeChatApiStandIn,
    fixture_rasa,
    free_port,
)
from wechat_client import WeChatPusher, text_xml  # noqa: E402

XIAOBAO = Path(sys.executable).with_name("xiaobao")
# the overhead run's messages, in turn
TEXTS = {"fixture": ["你好"],
         "project": ["你好", "理赔需要什么材料", "最近的服务网点在哪里", "保费怎么交"]}


def start_platform(stack: ExitStack, rasa_url: str, api_base: str, workdir: Path) -> str:
    port = free_port()
    env = {**os.environ, "XIAOBAO_FILES_DEMO_KEY": "1",  # documents under a demo key
           "XIAOBAO_DATABASE_URL": f"sqlite:///{workdir / 'gateway.db'}",
           "XIAOBAO_VAR_DIR": str(workdir), "XIAOBAO_RASA_URL": rasa_url,
           "XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_WECHAT_APPID": APPID,
           "XIAOBAO_WECHAT_SECRET": "test-secret", "XIAOBAO_WECHAT_API_BASE": api_base,
           "XIAOBAO_WECHAT_AES_KEY": "", "XIAOBAO_REDIS_URL": "", "XIAOBAO_IVR_SECRET": "",
           "XIAOBAO_LOG_LEVEL": "WARNING",
           # the bot's action server is not this platform's to probe here
           "XIAOBAO_ACTIONS_URL": ""}
    subprocess.run([str(XIAOBAO), "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([str(XIAOBAO), "serve", "--port", str(port), "--no-scheduler"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(proc.wait, 20)
    stack.callback(proc.terminate)
    url = f"http://127.0.0.1:{port}"
    import urllib.error
    import urllib.request

    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return url
        except urllib.error.HTTPError:  # 503: serving, the bot not answering yet
            return url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the platform did not start") from None
            time.sleep(0.3)


async def direct(session: aiohttp.ClientSession, rasa_url: str, sender: str,
                 text: str = "你好") -> float:
    started = time.perf_counter()
    async with session.post(f"{rasa_url}/webhooks/rest/webhook", json={
            "sender": sender, "message": text,
            "metadata": {"channel": "wechat", "user": sender}}) as r:
        answer = await r.json()
    assert answer, "Rasa gave no answer"
    return time.perf_counter() - started


async def through(pusher: WeChatPusher, openid: str, text: str = "你好") -> float:
    started = time.perf_counter()
    status, reply = await pusher.push(text_xml(openid, text))
    assert status == 200 and reply.startswith("<xml>"), reply
    return time.perf_counter() - started


async def overhead(rasa_url: str, platform: str, turns: int, texts: list[str]
                   ) -> dict[str, float]:
    senders = [f"obench{n:04d}" for n in range(20)]
    direct_s: list[float] = []
    gateway_s: list[float] = []
    async with aiohttp.ClientSession() as session:
        pusher = WeChatPusher(platform + "/wechat", session=session)
        for n in range(10):  # warm-up of both paths
            await direct(session, rasa_url, f"bench-warm{n}")
            await through(pusher, f"owarm{n}")
        for n in range(turns):
            sender, text = senders[n % len(senders)], texts[n % len(texts)]
            # interleaved, and each path with its own senders of the same history length
            direct_s.append(await direct(session, rasa_url, "direct-" + sender, text))
            gateway_s.append(await through(pusher, sender, text))
    return {"direct_mean_ms": statistics.mean(direct_s) * 1000,
            "gateway_mean_ms": statistics.mean(gateway_s) * 1000,
            "direct_p50_ms": statistics.median(direct_s) * 1000,
            "gateway_p50_ms": statistics.median(gateway_s) * 1000,
            "ratio": statistics.mean(gateway_s) / statistics.mean(direct_s)}


async def throughput(platform: str, api: WeChatApiStandIn, users: int, messages: int
                     ) -> dict[str, Any]:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    pusher = WeChatPusher(platform + "/wechat", session=session)
    texts = ["你好", "我要报案", "昨天", "在家里", "再见"]
    passive = switched = errors = 0
    latencies: list[float] = []

    async def user(n: int) -> None:
        nonlocal passive, switched, errors
        openid = f"oload{n:05d}{random.randint(0, 10**6):06d}"
        for i in range(messages):
            started = time.perf_counter()
            status, reply = await pusher.push(text_xml(openid, texts[i % len(texts)]))
            latencies.append(time.perf_counter() - started)
            if status == 200 and reply.startswith("<xml>") and latencies[-1] <= 5.0:
                passive += 1  # WeChat gives up after 5 s: a later passive reply is lost
            elif status == 200 and reply == "success":
                switched += 1
            else:
                errors += 1

    sent_before = len(api.sent)
    started = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(users)))
    elapsed = time.perf_counter() - started
    await session.close()
    # the switched turns still run: the stack is through when their answers have gone out
    answered = await answers_out(api, sent_before + switched) - started
    total = users * messages
    latencies.sort()
    return {"users": users, "messages": total, "seconds": round(elapsed, 2),
            "msg_per_s": round(total / elapsed, 1), "answered_s": round(answered, 2),
            "answered_per_s": round(total / answered, 1),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000),
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000),
            "passive": passive, "switched_to_cs_api": switched, "neither": errors,
            "passive_or_switched_pct": round(100 * (passive + switched) / total, 2),
            "cs_api_messages_seen": len(api.sent)}


async def answers_out(api: WeChatApiStandIn, at_least: int, quiet: float = 2.0) -> float:
    """When the last customer-service message went out: every switched turn sends one or more,
    so done once there are `at_least` and none came for `quiet` seconds."""
    count, changed = len(api.sent), time.perf_counter()
    while count < at_least or time.perf_counter() - changed < quiet:
        await asyncio.sleep(0.05)
        if len(api.sent) != count:
            count, changed = len(api.sent), time.perf_counter()
        elif time.perf_counter() - changed > 60:
            break  # answers lost: the figure shows it (fewer CS messages than switched turns)
    return changed


async def rasa_throughput(rasa_url: str, users: int, messages: int) -> tuple[float, int]:
    """The same load sent straight to Rasa, over at most 100 connections as the gateway uses:
    what the bot alone sustains on this machine; and how many turns failed."""
    texts = ["你好", "我要报案", "昨天", "在家里", "再见"]
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    failed = 0

    async def user(n: int) -> None:
        nonlocal failed
        sender = f"direct-load{n:05d}{random.randint(0, 10**6):06d}"
        for i in range(messages):
            try:
                async with session.post(f"{rasa_url}/webhooks/rest/webhook", json={
                        "sender": sender, "message": texts[i % len(texts)]}) as r:
                    if not await r.json():
                        failed += 1
            except aiohttp.ClientError:
                failed += 1

    started = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(users)))
    elapsed = time.perf_counter() - started
    await session.close()
    return users * messages / elapsed, failed


async def main_async(args: argparse.Namespace) -> None:
    from aiohttp.test_utils import TestServer

    api = WeChatApiStandIn()
    api.server = TestServer(api.app())
    await api.server.start_server()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        rasa_url = args.rasa_url or start_bot(stack, args.bot, Path(tmp))
        platform = start_platform(stack, rasa_url, api.base, Path(tmp))
        print(f"machine: {os.cpu_count()} cores; bot: {args.rasa_url or args.bot} at {rasa_url};"
              f" platform: {platform}")
        o = await overhead(rasa_url, platform, args.turns, TEXTS[args.bot])
        print(f"overhead, {args.turns} sequential turns: direct mean "
              f"{o['direct_mean_ms']:.1f} ms (p50 {o['direct_p50_ms']:.1f}), through /wechat "
              f"{o['gateway_mean_ms']:.1f} ms (p50 {o['gateway_p50_ms']:.1f}); "
              f"ratio {o['ratio']:.3f} (target ≤ 1.10)")
        t = await throughput(platform, api, args.users, args.messages)
        print(f"throughput: {t['users']} concurrent WeChat users, {t['messages']} messages in "
              f"{t['seconds']} s = {t['msg_per_s']} msg/s (target ≥ 50); p50 {t['p50_ms']} ms, "
              f"p99 {t['p99_ms']} ms; every answer out (passive or by the CS API) after "
              f"{t['answered_s']} s = {t['answered_per_s']} msg/s answered")
        direct_rate, failed = await rasa_throughput(rasa_url, args.users, args.messages)
        print(f"the same load straight to Rasa: {direct_rate:.1f} msg/s, {failed} failed turns "
              "(what the bot alone sustains here)")
        print(f"5-second rule: {t['passive']} passive, {t['switched_to_cs_api']} switched to the "
              f"CS API, {t['neither']} neither → {t['passive_or_switched_pct']} % one or the "
              f"other (target 100 %)")
    await api.server.close()


def start_bot(stack: ExitStack, which: str, workdir: Path) -> str:
    if which == "fixture":
        return str(stack.enter_context(fixture_rasa()))
    from bench import bot_turns  # the project's bot, started as its own benchmark starts it

    (workdir / "bot").mkdir()
    procs, rasa_url = bot_turns.start(workdir / "bot")
    stack.callback(bot_turns.bot.stop, procs)
    return rasa_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bot", choices=("fixture", "project"), default="fixture",
                        help="the bot behind the gateway (default: the tests' fixture bot)")
    parser.add_argument("--rasa-url", help="a running Rasa instead of starting one")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

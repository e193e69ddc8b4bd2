"""Bot latency on a real stack: NLU parse, full turns through an action calling the back office,
1 and 20 concurrent conversations, and a turn deep into a long conversation vs a fresh one.

Starts its own back office (temp SQLite, small demo seed), action server and Rasa server with the
model matching the training data (`xiaobao train` first). Prints the figures.
Usage: .venv/bin/python bench/bot_turns.py [--parses 300] [--turns 30] [--deep 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xiaobao import bot  # noqa: E402

TOKEN = "bench-bot-token"
RASA_TOKEN = "bench-rasa-token"
XIAOBAO = Path(sys.executable).parent / "xiaobao"
# a turn whose action reads the back office (GET /service-outlets), then a plain rule turn
ACTION_TURN = "最近的服务网点在哪里"
PARSE_TEXTS = ["我妈今天早上在菜市场摔倒了，现在在潮南区人民医院", "我的理赔到哪一步了",
               "理赔需要什么材料", "转人工", "保费怎么交", "身份证号440514195603040317"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, object]) -> float:
    started = time.perf_counter()
    async with session.post(url, json=body) as resp:
        await resp.read()
        assert resp.status == 200, resp.status
    return (time.perf_counter() - started) * 1000


async def parses(rasa: str, n: int) -> list[float]:
    async with aiohttp.ClientSession() as s:
        return [await post(s, f"{rasa}/model/parse", {"text": PARSE_TEXTS[i % len(PARSE_TEXTS)]})
                for i in range(n)]


async def conversation(s: aiohttp.ClientSession, rasa: str, sender: str, turns: int,
                       think: float = 0.0, rng: random.Random | None = None) -> list[float]:
    """`turns` messages from one sender; with `think` > 0 the user arrives at a random moment
    within `think` seconds and reads and types for a random 0.5–1.5 × `think` seconds before
    each next message, as people do (not 20 first messages in the same millisecond)."""
    url = f"{rasa}/webhooks/rest/webhook"
    channel, _, user = sender.partition(":")
    meta = {"channel": channel, "user": user}
    rng = rng or random.Random(0)
    took: list[float] = []
    for _ in range(turns):
        if think:
            await asyncio.sleep(think * (rng.uniform(0.5, 1.5) if took else rng.uniform(0, 1)))
        took.append(await post(s, url, {"sender": sender, "message": ACTION_TURN,
                                        "metadata": meta}))
    return took


async def concurrent(rasa: str, conversations: int, turns: int, think: float = 0.0
                     ) -> tuple[list[float], float]:
    started = time.perf_counter()
    async with aiohttp.ClientSession() as s:
        results = await asyncio.gather(*(
            conversation(s, rasa, f"web:bench-{uuid.uuid4().hex[:8]}", turns, think,
                         random.Random(i))
            for i in range(conversations)))
    elapsed = time.perf_counter() - started
    return [x for r in results for x in r], conversations * turns / elapsed


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU time of each process so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, pid in pids.items():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out[name] = (int(fields[11]) + int(fields[12])) / tick
    return out


async def history(rasa: str, sender: str, turns: int, age: timedelta | None) -> None:
    """`turns` earlier user/bot exchanges appended to a sender's tracker (ending `age` ago)."""
    now = datetime.now(UTC).timestamp()
    start = now - (age.total_seconds() if age else 0) - turns * 2
    events: list[dict[str, object]] = []
    for i in range(turns):
        t = start + i * 2
        events += [
            {"event": "user", "timestamp": t, "text": ACTION_TURN,
             "parse_data": {"intent": {"name": "service_outlet", "confidence": 1.0},
                            "entities": [], "text": ACTION_TURN}},
            {"event": "action", "timestamp": t + 0.1, "name": "action_service_outlet"},
            {"event": "bot", "timestamp": t + 0.2, "text": "可以到这些服务网点办理"},
            {"event": "action", "timestamp": t + 0.3, "name": "action_listen"},
        ]
    async with aiohttp.ClientSession() as s:
        url = bot.with_token(f"{rasa}/conversations/{sender}/tracker/events", RASA_TOKEN)
        for i in range(0, len(events), 400):
            async with s.post(url, json=events[i:i + 400]) as resp:
                assert resp.status == 200, await resp.text()


async def deep_vs_fresh(rasa: str, deep: int, samples: int) -> dict[str, float]:
    async with aiohttp.ClientSession() as s:
        fresh = await conversation(s, rasa, f"web:fresh-{uuid.uuid4().hex[:8]}", samples)
        same_session = f"web:deep-{uuid.uuid4().hex[:8]}"
        # one conversation of `deep` turns, all inside the current session (worst case)
        await conversation(s, rasa, same_session, 1)
        await history(rasa, same_session, deep, None)
        in_session = await conversation(s, rasa, same_session, samples)
        # a user of long standing: `deep` turns in earlier sessions, last one over 30 min ago
        old_user = f"web:old-{uuid.uuid4().hex[:8]}"
        await conversation(s, rasa, old_user, 1)
        await history(rasa, old_user, deep, timedelta(hours=2))
        across = await conversation(s, rasa, old_user, samples)
    return {"fresh_p50": statistics.median(fresh),
            "deep_same_session_p50": statistics.median(in_session),
            "deep_across_sessions_p50": statistics.median(across)}


def start(tmp: Path) -> tuple[list[subprocess.Popen[bytes]], str]:
    model = bot.model_path()
    if not model.exists():
        sys.exit(f"no model {model.name}: run `xiaobao train` first")
    api_port, rasa_port, action_port = free_port(), free_port(), free_port()
    # the platform's /healthz probes this Rasa and action server
    env = {**os.environ, "XIAOBAO_FILES_DEMO_KEY": "1",  # documents under a demo key
           "XIAOBAO_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
           "XIAOBAO_VAR_DIR": str(tmp), "XIAOBAO_API_TOKEN": TOKEN,
           "XIAOBAO_LOG_LEVEL": "WARNING", "XIAOBAO_RASA_TOKEN": RASA_TOKEN,
           "XIAOBAO_RASA_URL": f"http://127.0.0.1:{rasa_port}",
           "XIAOBAO_ACTIONS_URL": f"http://127.0.0.1:{action_port}"}
    subprocess.run([str(XIAOBAO), "demo", "seed", "--members", "50"], env=env, check=True,
                   capture_output=True)
    procs = [subprocess.Popen([str(XIAOBAO), "serve", "--port", str(api_port),
                               "--no-scheduler"], env=env, stdout=subprocess.DEVNULL)]
    procs += bot.start_bot(model, rasa_port, action_port, f"http://127.0.0.1:{api_port}", TOKEN,
                           tmp, rasa_token=RASA_TOKEN)
    rasa = f"http://127.0.0.1:{rasa_port}"
    for url in (f"http://127.0.0.1:{action_port}/health",
                bot.with_token(f"{rasa}/status", RASA_TOKEN),
                f"http://127.0.0.1:{api_port}/healthz"):  # 200 once all three serve
        if not bot.wait_ready(url, 600, procs):
            bot.stop(procs)
            sys.exit(f"{url} did not come up")
    return procs, rasa


async def run(rasa: str, pids: dict[str, int], args: argparse.Namespace) -> dict[str, object]:
    await parses(rasa, 20)  # warm-up
    p = await parses(rasa, args.parses)
    one, _ = await concurrent(rasa, 1, args.turns * 5)
    before = cpu_seconds(pids)
    many, rate = await concurrent(rasa, 20, args.turns)
    after = cpu_seconds(pids)
    paced, paced_rate = await concurrent(rasa, 20, args.turns, args.think)
    deep = await deep_vs_fresh(rasa, args.deep, 20)
    n = 20 * args.turns
    return {
        "parse_ms": {"p50": round(pct(p, 0.5), 1), "p99": round(pct(p, 0.99), 1)},
        "turn_ms_1": {"p50": round(pct(one, 0.5), 1), "p99": round(pct(one, 0.99), 1)},
        "turn_ms_20": {"p50": round(pct(many, 0.5), 1), "p99": round(pct(many, 0.99), 1),
                       "turns_per_s": round(rate, 1)},
        "turn_ms_20_paced": {"p50": round(pct(paced, 0.5), 1),
                             "p99": round(pct(paced, 0.99), 1),
                             "turns_per_s": round(paced_rate, 1), "think_s": args.think},
        "cpu_ms_per_turn": {k: round((after[k] - before[k]) * 1000 / n, 1) for k in pids},
        "deep": {k: round(v, 1) for k, v in deep.items()} | {
            "same_session_ratio": round(deep["deep_same_session_p50"] / deep["fresh_p50"], 2),
            "across_sessions_ratio": round(deep["deep_across_sessions_p50"] / deep["fresh_p50"],
                                           2)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parses", type=int, default=300)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--deep", type=int, default=300)
    parser.add_argument("--think", type=float, default=2.0,
                        help="mean seconds a user takes to read and type (paced run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        procs, rasa = start(Path(tmp))
        try:
            pids = dict(zip(("back office", "action server", "rasa"),
                            (p.pid for p in procs), strict=True))
            result = asyncio.run(run(rasa, pids, args))
        finally:
            bot.stop(procs)
    print(f"NLU parse (/model/parse, 1 client): p50 {result['parse_ms']['p50']} ms, "
          f"p99 {result['parse_ms']['p99']} ms")
    for n in ("1", "20"):
        t = result[f"turn_ms_{n}"]
        print(f"turn through an action calling the back office, {n} concurrent: "
              f"p50 {t['p50']} ms, p99 {t['p99']} ms")
    t = result["turn_ms_20_paced"]
    print(f"20 concurrent conversations, users pausing ~{args.think} s between messages: "
          f"p50 {t['p50']} ms, p99 {t['p99']} ms ({t['turns_per_s']} turns/s)")
    print("CPU per turn (20 concurrent): " + ", ".join(
        f"{k} {v} ms" for k, v in result["cpu_ms_per_turn"].items()))
    d = result["deep"]
    print(f"{args.deep} turns deep vs fresh (p50): fresh {d['fresh_p50']} ms; same session "
          f"{d['deep_same_session_p50']} ms (×{d['same_session_ratio']}); earlier sessions "
          f"{d['deep_across_sessions_p50']} ms (×{d['across_sessions_ratio']})")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

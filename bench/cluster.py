"""The deployed topology on this machine under load: nginx, 2 platform processes, 2 schedulers
(one active), 2 Rasa and 2 action servers on one PostgreSQL database (made for the run, dropped
after) and Redis (tests/cluster_kit.py starts them). N WeChat users and M phone calls talk
through nginx with the real mix of turns, once per Rasa count of `--rasa` (the platforms routing
to the first 1, then 2, Rasa processes); with `--kill`, in the last round one Rasa, one platform
process and the active scheduler are killed with SIGKILL in turn mid-load.

    python -m bench.cluster [--users 200] [--calls 50] [--turns 4] [--rasa 1,2] [--kill]
        [--settle 150] [--postgres-url URL] [--redis-url redis://localhost:6379/13]

prints per round: completed turns/s, p50/p99 latency of acknowledged turns, CPU ms per turn
(user + system time of every process of the cluster over the round ÷ turns) and its split by
role (nginx, platform, scheduler, rasa, actions), the peak resident memory of one process of
each role, what PostgreSQL (the whole database and Rasa's tracker schema) and Redis grew by per
turn, acknowledged but unanswered, out-of-order senders, duplicates. These are the inputs of
the README's capacity table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.common import percentile  # noqa: E402
from tests.cluster_kit import Cluster, Load, cluster, drive, outcome  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@localhost:5432/postgres"


ROLES = ("nginx", "platform", "scheduler", "rasa", "actions")


def roles(c: Cluster) -> dict[int, str]:
    """Each living process of the cluster by pid, named by its role."""
    named = {c.nginx.pid: "nginx"}
    named.update({p.pid: "platform" for p in c.platforms})
    named.update({s.process.pid: "scheduler" for s in c.schedulers})
    for b in c.bots:
        named.update({b.procs[0].pid: "actions", b.rasa.pid: "rasa"})
    return named


def rss_mb(pid: int) -> float:
    """Resident memory of one process (its nginx workers are not counted: small)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) / 1024


def storage(c: Cluster) -> tuple[int, int, int]:
    """Bytes of the run's database, of Rasa's tracker schema in it, and of its Redis keys."""
    with c.db().read() as s:
        whole = int(s.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
        tracker = int(s.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'rasa_tracker' AND c.relkind = 'r'")).scalar_one())
    r = redis.Redis.from_url(c.redis_url)  # the run's own index: other users not counted
    used = sum(int(r.memory_usage(k) or 0) for k in r.scan_iter(count=1000))
    return whole, tracker, used


async def measured(c: Cluster, driving: Coroutine[Any, Any, Load]) -> tuple[Load, dict[str, float]]:
    """The load, with every process's CPU time and memory sampled every 0.2 s (the last sample
    of a killed process counts: its time goes with it); the peak MB of a process by role."""
    first = c.cpu_seconds()
    last = dict(first)
    peak = dict.fromkeys(ROLES, 0.0)
    task = asyncio.create_task(driving)
    while not task.done():
        last.update(c.cpu_seconds())
        for pid, role in roles(c).items():
            peak[role] = max(peak[role], rss_mb(pid))
        await asyncio.wait([task], timeout=0.2)
    last.update(c.cpu_seconds())
    load = task.result()
    load.cpu_at_start, load.cpu_last = first, last
    return load, peak


def one_round(c: Cluster, rasas: int, args: argparse.Namespace, kill: bool) -> str:
    c.start_platforms(c.bots[:rasas])
    named = roles(c)  # before the kills: a killed process's time still counts for its role
    before = storage(c)
    load, peak = asyncio.run(measured(c, drive(c, args.users, args.calls, args.turns,
                                               seed=rasas,
                                               kill_every=args.kill_every if kill else 0.0)))
    by_role = dict.fromkeys(ROLES, 0.0)
    for pid, last in load.cpu_last.items():
        by_role[named.get(pid, "platform")] += last - load.cpu_at_start.get(pid, 0.0)
    result = outcome(c, load, settle=args.settle)
    after = storage(c)
    done = result.answered + result.queued
    per = 1000 / max(done, 1)
    lat = sorted(load.latencies)
    kills = ", ".join(f"{what} at {at:.0f} s" for at, what in load.kills)
    split = ", ".join(f"{r} {by_role[r] * per:.1f}" for r in ROLES)
    memory = ", ".join(f"{r} {peak[r]:.0f}" for r in ROLES)
    grew = ", ".join(f"{what} {(a - b) / max(done, 1) / 1024:.1f} KB" for what, a, b in
                     zip(("database", "tracker", "redis"), after, before, strict=True))
    return (f"rasa {rasas}: {done} turns in {load.seconds:.1f} s = {done / load.seconds:.1f} "
            f"turns/s; latency p50 {percentile(lat, 50) * 1000:.0f} ms, p99 "
            f"{percentile(lat, 99) * 1000:.0f} ms; CPU {sum(by_role.values()) * per:.1f} "
            f"ms/turn ({split}); peak MB of one process: {memory}; per turn: {grew}; "
            f"acknowledged {result.acknowledged}, answered {result.answered}, queued "
            f"{result.queued}, unanswered {result.unanswered}, out of order "
            f"{result.out_of_order}, duplicates {result.duplicates}, not acknowledged "
            f"{load.refused}" + (f"; killed {kills}" if kills else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="WeChat users")
    parser.add_argument("--calls", type=int, default=50, help="phone calls")
    parser.add_argument("--turns", type=int, default=4, help="turns of each sender")
    parser.add_argument("--rasa", default="1,2", help="Rasa processes of each round")
    parser.add_argument("--kill", action="store_true", help="kills in the last round")
    parser.add_argument("--kill-every", type=float, default=8.0)
    parser.add_argument("--settle", type=float, default=150.0,
                        help="seconds to wait for the last answers (a turn caught by a Rasa's "
                        "kill can wait up to XIAOBAO_RASA_TIMEOUT, 90 s)")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "XIAOBAO_BENCH_POSTGRES_URL", DEFAULT_PG), help="a server to make the run's database on")
    parser.add_argument("--redis-url", default="redis://localhost:6379/13",
                        help="a Redis database index of the run's (flushed)")
    args = parser.parse_args()
    counts = [int(n) for n in args.rasa.split(",")]
    with tempfile.TemporaryDirectory(prefix="xiaobao-cluster-") as tmp, \
            cluster(Path(tmp), args.postgres_url, args.redis_url, rasas=max(counts)) as c:
        print(f"{args.users} WeChat users + {args.calls} calls, {args.turns} turns each, "
              f"through nginx to {len(c.ports)} platform processes", flush=True)
        for i, n in enumerate(counts):
            print(one_round(c, n, args, args.kill and i == len(counts) - 1), flush=True)


if __name__ == "__main__":
    main()

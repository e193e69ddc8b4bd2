"""The kill test: a real platform process (`xiaobao serve`) with a slow stand-in Rasa, WeChat
pushes, phone events and web messages from several senders at once, SIGKILL at a random
moment, a restart over the same database and the senders going on: every acknowledged message
is in the transcript exactly once and answered or queued for an agent (bench/kill_restart.py,
one run; the benchmark repeats it and prints the figures).

Calls in progress live in the database here, as without Redis in production; the Redis
variant keeps them in Redis (a database of its own)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import redis

from bench.kill_restart import run_once
from tests.conftest import BACKENDS, PG_URL

REDIS_URL = os.environ.get("XIAOBAO_TEST_KILL_REDIS_URL", "redis://localhost:6379/5")


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    return REDIS_URL


async def _run(backend: str, tmp_path: Path, redis_url: str) -> None:
    seed = random.randrange(10**9)
    url = f"sqlite:///{tmp_path / 'kill.db'}" if backend == "sqlite" else str(PG_URL)
    figures = await run_once(url, tmp_path, seed, redis_url=redis_url)
    why = f"seed {seed}: {figures}"
    assert figures.acknowledged > 0, why
    assert figures.stored == figures.acknowledged and figures.lost == 0, why
    assert figures.duplicates == 0 and figures.pending == 0, why
    assert figures.answered + figures.queued == figures.acknowledged, why


@pytest.mark.parametrize("backend", BACKENDS)
async def test_nothing_acknowledged_is_lost_across_a_kill(backend: str, tmp_path: Path) -> None:
    await _run(backend, tmp_path, "")


async def test_nothing_acknowledged_is_lost_across_a_kill_with_redis(tmp_path: Path,
                                                                     redis_url: str) -> None:
    await _run("sqlite", tmp_path, redis_url)

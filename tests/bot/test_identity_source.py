"""The bot's identity check carries where the user writes from, so that fresh channel users
from one source gain nothing: the project's action in .venv-bot against a real platform
process (`xiaobao serve`), as the action server calls it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from test_actions_in_bot_env import RUN_ACTION, run_bot_python

from backoffice.domain.identity import make_id_number
from backoffice.services import bindings, limits
from backoffice.store.db import Database
from backoffice.store.migrate import upgrade
from backoffice.store.models import AttemptLimit
from tests.channels.channel_kit import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "identity-source-token-0123"

TRIES = """
import asyncio, json
from actions.forms import ValidateIdentifyForm

def visitor(n, id_number, meta):
    t = tracker("13900000000", "inform", {"id_number": id_number}, sender=f"web:visitor-{n}")
    t.latest_message["metadata"] = {"channel": meta.get("channel", "web"),
                                    "user": f"visitor-{n}", **meta}
    return t

async def tries(ids, meta):
    out = []
    for n, idn in enumerate(ids):
        d = CollectingDispatcher()
        await ValidateIdentifyForm().validate_identity_proof(
            "13900000000", d, visitor(n, idn, meta), {})
        said = json.dumps(d.messages, ensure_ascii=False)
        out.append("throttled" if "次数过多" in said
                   else "refused" if "utter_identify_failed" in said else said)
    return out
"""


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[str, Database]]:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    env = {**os.environ, "XIAOBAO_DATABASE_URL": url, "XIAOBAO_API_TOKEN": TOKEN,
           "XIAOBAO_VAR_DIR": str(tmp_path), "XIAOBAO_RASA_URL": "http://127.0.0.1:9",
           "XIAOBAO_WECHAT_TOKEN": "", "XIAOBAO_LOG_LEVEL": "WARNING"}
    migrated = Database(url)
    upgrade(migrated)  # `xiaobao db upgrade`: serve never migrates
    migrated.dispose()
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "xiaobao.cli", "serve", "--port",
                                 str(port), "--no-scheduler"], env=env, cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT)
    db = Database(url)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, "the platform")
        yield f"http://127.0.0.1:{port}", db
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        db.dispose()


def _strangers(count: int, seq: int) -> list[str]:
    return [make_id_number("440514", date(1960, 1, 1), seq + n) for n in range(count)]


def _evaluated(db: Database, source: str) -> int:
    """Identity checks from `source` that reached the comparison (each counted before it)."""
    digest = limits.key(bindings.SOURCE_LIMIT, source).digest
    with db.read() as s:
        return int(s.execute(select(AttemptLimit.failures).where(
            AttemptLimit.key == digest)).scalar_one())


def _run(api: str, ids: list[str], meta: dict[str, str]) -> list[str]:
    code = RUN_ACTION + TRIES + (
        f"\nprint(json.dumps(asyncio.run(tries({ids!r}, {meta!r}))))\n")
    return list(run_bot_python(code, XIAOBAO_API_URL=api, XIAOBAO_API_TOKEN=TOKEN))


def test_25_web_sessions_from_one_address_cannot_make_25_identity_tries(
        platform: tuple[str, Database]) -> None:
    api, db = platform
    free = bindings.SOURCE_LIMIT.free
    answers = _run(api, _strangers(25, 100), {"source": "203.0.113.7"})
    assert answers[:free] == ["refused"] * free
    assert set(answers[free:]) == {"throttled"}, answers
    assert _evaluated(db, "203.0.113.7") == free
    # another address is not held up by that one
    assert _run(api, _strangers(3, 300), {"source": "198.51.100.1"}) == ["refused"] * 3


def test_on_wechat_the_openid_is_the_source_and_on_the_phone_the_caller(
        platform: tuple[str, Database]) -> None:
    api, _ = platform
    free = bindings.SOURCE_LIMIT.free
    # one openid under many channel user ids (what a forged metadata could try) is one source
    wechat = _run(api, _strangers(free + 2, 500), {"channel": "wechat", "user": "o-same"})
    assert "throttled" in wechat
    calls = _run(api, _strangers(free + 2, 700), {"channel": "ivr", "phone": "13912345678"})
    assert calls[-1] == "throttled"
    # and two different openids are not one key ("unknown") shared by all WeChat users
    assert _run(api, _strangers(1, 900), {"channel": "wechat", "user": "o-other"}) == ["refused"]

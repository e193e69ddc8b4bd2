"""What several Rasa instances share, as `xiaobao.bot` writes it for each: the tracker store
on PostgreSQL (in its own schema) and Rasa's lock store on Redis; bad settings stop the start
naming the setting."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from xiaobao import bot

PG_URL = os.environ.get("XIAOBAO_TEST_POSTGRES_URL", "")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XIAOBAO_RASA_TRACKER_URL", "XIAOBAO_RASA_TRACKER_SCHEMA",
                 "XIAOBAO_RASA_LOCK_URL", "XIAOBAO_RASA_LOCK_SECONDS"):
        monkeypatch.delenv(name, raising=False)


def test_the_lock_store_is_on_redis_when_configured(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIAOBAO_RASA_LOCK_URL", "redis://:s%40cret@cache.local:6380/3")
    monkeypatch.setenv("XIAOBAO_RASA_TRACKER_URL",
                       "postgresql+psycopg://rasa:pw@db.local:5433/xiaobao")
    endpoints = yaml.safe_load(bot.endpoints_file(5999, tmp_path).read_text())
    assert endpoints["lock_store"] == {"type": "redis", "url": "cache.local", "port": 6380,
                                       "db": 3, "key_prefix": "xiaobao", "password": "s@cret"}
    assert endpoints["tracker_store"] == {"type": "SQL", "dialect": "postgresql",
                                          "url": "db.local", "port": 5433, "db": "xiaobao",
                                          "username": "rasa", "password": "pw"}


def test_without_a_lock_url_rasa_keeps_its_in_memory_lock_store(tmp_path: Path) -> None:
    assert "lock_store" not in yaml.safe_load(bot.endpoints_file(5999, tmp_path).read_text())
    assert bot.tracker_env() == {"TICKET_LOCK_LIFETIME": "10"}


@pytest.mark.parametrize("name, value, message", [
    ("XIAOBAO_RASA_LOCK_URL", "http://cache:6379/1", "redis://"),
    ("XIAOBAO_RASA_LOCK_URL", "redis://cache:6379/one", "a number"),
    ("XIAOBAO_RASA_LOCK_SECONDS", "0", "1 to 3600"),
    ("XIAOBAO_RASA_LOCK_SECONDS", "1e9", "1 to 3600"),
    ("XIAOBAO_RASA_TRACKER_SCHEMA", "rasa", "needs a PostgreSQL"),
])
def test_bad_store_settings_stop_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        bot.endpoints_file(5999, tmp_path)
        bot.tracker_env()
    assert message in str(stopped.value) and name in str(stopped.value)


@pytest.mark.parametrize("schema", ['rasa"; drop table x; --', "9rasa", "ra-sa", "模式",
                                    "Rasa", "r" * 64])
def test_a_schema_name_is_an_identifier_or_refused(monkeypatch: pytest.MonkeyPatch,
                                                   schema: str) -> None:
    monkeypatch.setenv("XIAOBAO_RASA_TRACKER_URL", "postgresql://u@h/db")
    monkeypatch.setenv("XIAOBAO_RASA_TRACKER_SCHEMA", schema)
    with pytest.raises(SystemExit, match="XIAOBAO_RASA_TRACKER_SCHEMA"):
        bot.tracker_env()


def test_an_unreachable_tracker_database_stops_the_start_naming_the_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIAOBAO_RASA_TRACKER_URL", "postgresql://u@127.0.0.1:1/db")
    monkeypatch.setenv("XIAOBAO_RASA_TRACKER_SCHEMA", "rasa")
    with pytest.raises(SystemExit, match="XIAOBAO_RASA_TRACKER_URL"):
        bot.tracker_env()


@pytest.mark.skipif(not PG_URL, reason="needs XIAOBAO_TEST_POSTGRES_URL (PostgreSQL)")
def test_the_schema_is_created_once_and_rasa_told_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = f"rasa_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("XIAOBAO_RASA_TRACKER_URL", PG_URL)
    monkeypatch.setenv("XIAOBAO_RASA_TRACKER_SCHEMA", schema)
    monkeypatch.setenv("XIAOBAO_RASA_LOCK_SECONDS", "30")
    engine = create_engine(PG_URL)
    try:
        assert bot.tracker_env() == {"TICKET_LOCK_LIFETIME": "30", "POSTGRESQL_SCHEMA": schema}
        assert bot.tracker_env()["POSTGRESQL_SCHEMA"] == schema  # again: already there
        with engine.connect() as conn:
            found = conn.execute(text("select 1 from information_schema.schemata "
                                      "where schema_name = :s"), {"s": schema}).scalar()
        assert found == 1
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()

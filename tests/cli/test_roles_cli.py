"""The process roles on the command line (README, "Process roles"): `db upgrade` says what it
did; `serve` and `scheduler` refuse a schema they were not made for, naming both revisions and
the command to run, without a traceback and without touching the database; `rasa` and
`actions` start the bot's servers as `xiaobao up` does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from backoffice.store.db import Database
from backoffice.store.migrate import current_revision, expected_revisions, upgrade
from tests.channels.channel_kit import free_port
from tests.conftest import BACKENDS, PG_URL
from xiaobao import bot, cli

ROOT = Path(__file__).resolve().parents[2]
XIAOBAO = Path(sys.executable).with_name("xiaobao")
HEAD = expected_revisions("sqlite://")[0]
OLDER = "0027"


def _env(tmp: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOBAO_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update({"XIAOBAO_DATABASE_URL": url, "XIAOBAO_VAR_DIR": str(tmp / "var"),
                "PYTHONIOENCODING": "utf-8", "XIAOBAO_RASA_URL": "http://127.0.0.1:9",
                "XIAOBAO_FILES_DEMO_KEY": "1"})
    # the column keys of this process (conftest), which reads what the commands wrote
    env.update({k: v for k, v in os.environ.items() if k.startswith("XIAOBAO_FIELDS_")})
    return env


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database (no schema at all)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'roles.db'}")
    else:
        assert PG_URL
        db = Database(PG_URL)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    yield db
    db.dispose()


def _run(tmp: Path, db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(XIAOBAO), *args], env=_env(tmp, db.url), capture_output=True,
                          text=True, timeout=300, cwd=tmp)


def test_db_upgrade_says_what_it_did(empty: Database, tmp_path: Path) -> None:
    upgrade(empty, OLDER)
    first = _run(tmp_path, empty, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert f"{OLDER} → {HEAD}" in first.stdout
    report = json.loads(first.stdout.splitlines()[-1])
    assert (report["from"], report["to"], report["migrated"]) == (OLDER, HEAD, True)
    assert {"CN-ELDER-ACC", "PA-GUARD"} <= set(report["products_changed"])
    again = _run(tmp_path, empty, "db", "upgrade")
    assert f"已是最新版本 {HEAD}，未执行迁移" in again.stdout
    assert json.loads(again.stdout.splitlines()[-1])["migrated"] is False


@pytest.mark.parametrize("role", [("serve", "--port", "0"), ("scheduler", "--port", "0")],
                         ids=lambda r: r[0])
def test_a_role_refuses_an_older_schema_and_leaves_it(empty: Database, tmp_path: Path,
                                                      role: tuple[str, ...]) -> None:
    upgrade(empty, OLDER)
    refused = _run(tmp_path, empty, *role)
    assert refused.returncode == cli.SCHEMA_REFUSED
    assert f"当前：{OLDER}" in refused.stderr and f"需要：{HEAD}" in refused.stderr
    assert "xiaobao db upgrade" in refused.stderr and "Traceback" not in refused.stderr
    assert current_revision(empty) == OLDER  # nothing migrated


def test_serve_sets_up_only_a_database_with_nothing_in_it(empty: Database,
                                                          tmp_path: Path) -> None:
    assert cli._first_start(empty)  # a first `make run`: nothing to race with yet
    with empty.engine.begin() as conn:  # someone else's table, no schema of ours
        conn.execute(text("CREATE TABLE not_ours (id INTEGER)"))
    assert not cli._first_start(empty)
    bare = _run(tmp_path, empty, "serve", "--port", "0")
    assert bare.returncode == cli.SCHEMA_REFUSED and "Traceback" not in bare.stderr
    assert "尚未迁移" in bare.stderr and "xiaobao db upgrade" in bare.stderr
    assert current_revision(empty) is None
    with empty.engine.begin() as conn:
        conn.execute(text("DROP TABLE not_ours"))


def test_serve_refuses_an_unknown_schema(empty: Database, tmp_path: Path) -> None:
    upgrade(empty)
    with empty.engine.begin() as conn:  # as a newer version would leave it
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    newer = _run(tmp_path, empty, "serve", "--port", "0")
    assert newer.returncode == cli.SCHEMA_REFUSED and "Traceback" not in newer.stderr
    assert "9999_from_the_future" in newer.stderr and f"需要：{HEAD}" in newer.stderr
    assert "不要降级" in newer.stderr


def test_serve_refuses_a_database_it_cannot_reach(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://xiaobao:secret-password@127.0.0.1:{port}/none"
    proc = subprocess.run([str(XIAOBAO), "serve", "--port", "0"], env=_env(tmp_path, url),
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "数据库无法连接" in proc.stderr and "secret-password" not in proc.stderr


def test_serve_runs_the_scheduler_unless_told_not_to() -> None:
    parser = cli.build_parser()
    assert parser.parse_args(["serve"]).no_scheduler is False  # one machine: as before
    assert parser.parse_args(["serve", "--no-scheduler"]).no_scheduler is True
    assert parser.parse_args(["serve"]).migrate is False


@pytest.mark.parametrize("poll", ["0", "-1", "nan", "inf", "61", "x"])
def test_a_bad_standby_poll_is_refused(poll: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.build_parser().parse_args(["scheduler", "--standby-poll", poll])
    assert stopped.value.code == 2 and "--standby-poll" in capsys.readouterr().err


def test_rasa_is_started_as_up_starts_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    started: dict[str, Any] = {}
    model = tmp_path / "xiaobao-test.tar.gz"
    model.write_bytes(b"model")
    monkeypatch.setattr(bot, "model_path", lambda: model)
    monkeypatch.setattr(bot, "run_foreground",
                        lambda cmd, env: started.update(cmd=cmd, env=env) or 0)
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("XIAOBAO_RASA_TOKEN", "rasa-token-1")
    monkeypatch.delenv("XIAOBAO_RASA_TRACKER_URL", raising=False)
    assert cli.main(["rasa", "--host", "0.0.0.0", "--port", "5999",
                     "--actions-url", "http://actions.internal:5055"]) == 0
    cmd = started["cmd"]
    up = bot.rasa_command(model, 5999, 5055, tmp_path / "var", "rasa-token-1", "0.0.0.0")
    endpoints = Path(cmd[cmd.index("--endpoints") + 1])
    assert cmd[:cmd.index("--endpoints")] == up[:up.index("--endpoints")]
    assert cmd[1] == "bot/rasa_run.py" and "--enable-api" in cmd
    assert 'url: "http://actions.internal:5055/webhook"' in endpoints.read_text()
    assert "tracker_store:" in endpoints.read_text()


def test_rasa_without_a_trained_model_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bot, "model_path", lambda: tmp_path / "missing.tar.gz")
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path / "var"))
    assert cli.main(["rasa"]) == 2
    assert "xiaobao train" in capsys.readouterr().err


def test_actions_serves_the_projects_action_server(tmp_path: Path) -> None:
    if not (ROOT / ".venv-bot" / "bin" / "python").exists():
        pytest.fail(".venv-bot is missing: run `make install-bot`")
    port = free_port()
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}")
    env["XIAOBAO_API_TOKEN"] = "actions-token"
    with (tmp_path / "actions.log").open("wb") as log:
        proc = subprocess.Popen([str(XIAOBAO), "actions", "--port", str(port)], env=env,
                                cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(1200):  # bounded: the bot environment's imports
            assert proc.poll() is None, (tmp_path / "actions.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/actions",
                                            timeout=5) as r:
                    names = {a["name"] for a in json.loads(r.read())}
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
        assert len(names) > 5 and all(n.startswith(("action_", "validate_")) for n in names), names
    finally:
        proc.send_signal(signal.SIGTERM)  # exec'd: the action server itself gets it
        proc.wait(timeout=60)

"""The `xiaobao` console script, run as a user runs it: a subprocess with XIAOBAO_* settings."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvloop
from aiohttp import web
from sqlalchemy import func, select, text

from backoffice.domain.identity import make_id_number
from backoffice.notifications.config import NotifyConfig
from backoffice.services import lookup
from backoffice.store.db import Database
from backoffice.store.migrate import current_revision
from backoffice.store.models import PolicyRow, ProductRow, RosterMember
from tests.conftest import fresh_database
from xiaobao.cli import _serve, build_parser
from xiaobao.config import Settings

XIAOBAO = Path(sys.executable).with_name("xiaobao")
PG_URL = os.environ.get("XIAOBAO_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
HEADER = "name,gender,birth_date,id_number,phone,address"


@dataclass
class Cli:
    env: dict[str, str]
    url: str
    tmp: Path

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(XIAOBAO), *args], env=self.env, capture_output=True,
                              text=True, timeout=300, cwd=self.tmp)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    def last_json(self, *args: str) -> dict[str, Any]:
        proc = self.run(*args)
        lines = proc.stdout.strip().splitlines()
        assert lines, proc.stderr
        data = json.loads(lines[-1])
        assert isinstance(data, dict)
        return data

    def database(self) -> Database:
        return Database(self.url)


def _env(tmp: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOBAO_")}
    # the checkout under test, not whichever one the venv's console script was installed from
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")) if p)
    env.update({"XIAOBAO_DATABASE_URL": url, "XIAOBAO_VAR_DIR": str(tmp / "var"),
                "PYTHONIOENCODING": "utf-8"})
    # the column keys of this process (conftest), which reads what the commands wrote
    env.update({k: v for k, v in os.environ.items() if k.startswith("XIAOBAO_FIELDS_")})
    return env


@pytest.fixture(params=BACKENDS)
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'x.db'}"
    else:
        assert PG_URL
        url = PG_URL
        empty = Database(url)
        with empty.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        empty.dispose()
    yield Cli(_env(tmp_path, url), url, tmp_path)


# ---- --help -------------------------------------------------------------------------------

def _command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
                   ) -> Iterator[tuple[str, ...]]:
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _command_paths(sub, (*prefix, name))


COMMANDS = sorted(set(_command_paths(build_parser())) | {
    (), ("serve",), ("up",), ("db",), ("db", "upgrade"), ("demo",), ("demo", "seed"),
    ("import-roster",)})


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "xiaobao")
def test_help_for_every_command(command: tuple[str, ...], tmp_path: Path) -> None:
    proc = subprocess.run([str(XIAOBAO), *command, "--help"],
                          env=_env(tmp_path, f"sqlite:///{tmp_path / 'x.db'}"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: xiaobao {' '.join(command)}".rstrip())
    assert not (tmp_path / "x.db").exists()  # help touches nothing


def test_help_lists_the_contract_options(tmp_path: Path) -> None:
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'x.db'}")
    seed = subprocess.run([str(XIAOBAO), "demo", "seed", "--help"], env=env,
                          capture_output=True, text=True, timeout=120).stdout
    assert "--members" in seed and "--seed" in seed
    roster = subprocess.run([str(XIAOBAO), "import-roster", "--help"], env=env,
                            capture_output=True, text=True, timeout=120).stdout
    assert "--policy" in roster


def test_no_command_is_an_error(tmp_path: Path) -> None:
    proc = subprocess.run([str(XIAOBAO)], env=_env(tmp_path, f"sqlite:///{tmp_path / 'x.db'}"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "usage" in proc.stderr


# ---- db upgrade ------------------------------------------------------------------------------

def test_db_upgrade(cli: Cli) -> None:
    cli.run("db", "upgrade")
    cli.run("db", "upgrade")  # again: nothing to do, still fine
    db = cli.database()
    try:
        assert current_revision(db) is not None
        with db.read() as s:
            codes = set(s.execute(select(ProductRow.code)).scalars())
        assert {"CN-ELDER-ACC", "PA-GUARD"} <= codes
    finally:
        db.dispose()


# ---- demo seed ------------------------------------------------------------------------------

def test_demo_seed_prints_json_last(cli: Cli) -> None:
    result = cli.last_json("demo", "seed", "--members", "200", "--seed", "3")
    assert set(result) == {"group_policy_no", "product_code", "members", "sample_id_numbers"}
    assert result["members"] == 200
    assert result["product_code"] == "CN-ELDER-ACC"
    assert str(result["group_policy_no"]).startswith("G")
    samples = result["sample_id_numbers"]
    assert isinstance(samples, list) and samples
    db = cli.database()
    try:
        with db.read() as s:
            members = s.execute(
                select(func.count()).select_from(RosterMember)
                .join(PolicyRow, PolicyRow.id == RosterMember.policy_id)
                .where(PolicyRow.policy_no == result["group_policy_no"])).scalar_one()
        assert members == 200
        for idn in samples:
            assert lookup.policies_for_id_number(db, {"id_number": idn}, "t"), idn
    finally:
        db.dispose()
    # the same seed again: the same answer, nothing added
    assert cli.last_json("demo", "seed", "--members", "200", "--seed", "3") == result


def test_demo_seed_refuses_a_non_positive_member_count(cli: Cli) -> None:
    proc = cli.run("demo", "seed", "--members", "0", ok=False)
    assert proc.returncode != 0
    assert "--members" in proc.stderr


# ---- import-roster --------------------------------------------------------------------------

def _person(seq: int, birth: date = date(1950, 3, 3), name: str = "林伯") -> str:
    gender = "男" if seq % 2 else "女"
    return (f"{name},{gender},{birth.isoformat()},{make_id_number('110101', birth, seq)},"
            f"13800001111,潮南区峡山街道")


@pytest.fixture
def scheme(cli: Cli) -> str:
    return str(cli.last_json("demo", "seed", "--members", "20", "--seed", "3")["group_policy_no"])


def test_import_roster(cli: Cli, scheme: str) -> None:
    csv_file = cli.tmp / "roster.csv"
    csv_file.write_text("\n".join([
        HEADER,
        _person(1),                                          # 2 ok
        _person(3, name=""),                                 # 3 name
        _person(5).replace("13800001111", "1380000"),        # 4 phone
        "",                                                  # 5 blank
        _person(7, date(1990, 1, 1)),                        # 6 under 60
        _person(9) + ",extra",                               # 7 columns
        _person(11),                                         # 8 ok
        _person(1, name="林伯"),                             # 9 duplicate of line 2
        '"陈婆",女,1948-08-08,' + make_id_number("110101", date(1948, 8, 8), 12)
        + ',13800002222,"潮南区,陈店镇"',                    # 10 ok, quoted comma
    ]) + "\n", encoding="utf-8")
    first = cli.last_json("import-roster", "--policy", scheme, str(csv_file))
    assert set(first) == {"imported", "skipped", "errors"}
    assert (first["imported"], first["skipped"]) == (3, 0)
    assert [(e["line"], e["field"]) for e in first["errors"]] == [
        (3, "name"), (4, "phone"), (6, "birth_date"), (7, "row"), (9, "id_number")]
    assert all(set(e) == {"line", "field", "message"} and e["message"]
               for e in first["errors"])

    second = cli.last_json("import-roster", "--policy", scheme, str(csv_file))
    assert (second["imported"], second["skipped"]) == (0, 3)
    assert second["errors"] == first["errors"]

    db = cli.database()
    try:
        with db.read() as s:
            premium, count = s.execute(
                select(PolicyRow.annual_premium_fen, func.count(RosterMember.id))
                .join(RosterMember, RosterMember.policy_id == PolicyRow.id)
                .where(PolicyRow.policy_no == scheme)
                .group_by(PolicyRow.annual_premium_fen)).one()
        assert count == 23
        assert premium == 23 * 1000
    finally:
        db.dispose()


def test_import_roster_with_bom(cli: Cli, scheme: str) -> None:
    csv_file = cli.tmp / "bom.csv"
    csv_file.write_text("\ufeff" + HEADER + "\r\n" + _person(21) + "\r\n", encoding="utf-8")
    assert cli.last_json("import-roster", "--policy", scheme, str(csv_file)) == {
        "imported": 1, "skipped": 0, "errors": []}


def test_import_roster_missing_file(cli: Cli, scheme: str) -> None:
    proc = cli.run("import-roster", "--policy", scheme, str(cli.tmp / "nope.csv"), ok=False)
    assert proc.returncode != 0
    assert "file" in proc.stderr and "nope.csv" in proc.stderr


def test_import_roster_unknown_policy(cli: Cli, scheme: str) -> None:
    csv_file = cli.tmp / "roster.csv"
    csv_file.write_text(HEADER + "\n" + _person(1) + "\n", encoding="utf-8")
    proc = cli.run("import-roster", "--policy", "G209900009999", str(csv_file), ok=False)
    assert proc.returncode != 0
    assert "policy_no" in proc.stderr and "G209900009999" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_import_roster_refuses_bad_files_and_writes_nothing(cli: Cli, scheme: str) -> None:
    cases = {
        "header": (HEADER.replace(",address", "") + "\n" + _person(1) + "\n").encode(),
        "file": ((HEADER + "\n" + _person(1) + "\n") * 400).encode()
        + "潮南".encode("gbk") + b"\n",
    }
    for field, content in cases.items():
        csv_file = cli.tmp / f"{field}.csv"
        csv_file.write_bytes(content)
        proc = cli.run("import-roster", "--policy", scheme, str(csv_file), ok=False)
        assert proc.returncode != 0, field
        assert f"[{field}]" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    db = cli.database()
    try:
        with db.read() as s:
            assert s.execute(select(func.count()).select_from(RosterMember)).scalar_one() == 20
    finally:
        db.dispose()


def test_import_roster_into_an_individual_policy(cli: Cli, scheme: str) -> None:
    db = cli.database()
    try:
        with db.read() as s:
            individual = s.execute(select(PolicyRow.policy_no).where(
                PolicyRow.kind == "individual", PolicyRow.policy_no.is_not(None))).scalar()
    finally:
        db.dispose()
    assert individual
    csv_file = cli.tmp / "roster.csv"
    csv_file.write_text(HEADER + "\n" + _person(1) + "\n", encoding="utf-8")
    proc = cli.run("import-roster", "--policy", individual, str(csv_file), ok=False)
    assert proc.returncode != 0
    assert "policy_no" in proc.stderr


REMOVALS = "id_number,name,reason,date,note"


def test_import_roster_removals(cli: Cli, scheme: str) -> None:
    roster = cli.tmp / "roster.csv"
    roster.write_text("\n".join([HEADER, _person(1), _person(3, name="陈伯"), _person(5),
                                 _person(7)]) + "\n", encoding="utf-8")
    assert cli.last_json("import-roster", "--policy", scheme, str(roster))["imported"] == 4
    idn = {seq: make_id_number("110101", date(1950, 3, 3), seq) for seq in (1, 3, 5, 7, 9)}
    removals = cli.tmp / "removals.csv"
    removals.write_text("\n".join([
        REMOVALS,
        f"{idn[1]},林伯,死亡,2026-01-05,民政局 2026 年 1 月名单",   # 2 ok, in Chinese
        f"{idn[3]},陈伯,moved_away,2026-01-20,",                    # 3 ok, empty note
        f"{idn[5]},林伯,dead,2026-01-05,",                          # 4 reason
        f"{idn[7]},林伯,死亡,2026-02-30,",                          # 5 date
        f"{idn[9]},林伯,死亡,2026-01-05,",                          # 6 not on the roster
        f"{idn[5]},王伯,死亡,2026-01-05,",                          # 7 not the roster's name
        f"{idn[1]},林伯,死亡,2026-01-05,",                          # 8 duplicate of line 2
        f"{idn[7]},林伯,更正",                                      # 9 columns
        f"{idn[7]},林伯,死亡,2099-01-05,",                          # 10 future
        f"{idn[7]},林\x00伯,死亡,2026-01-05,",                     # 11 NUL
    ]) + "\n", encoding="utf-8")
    first = cli.last_json("import-roster", "--removals", "--policy", scheme, str(removals))
    assert (first["removed"], first["corrected"], first["skipped"]) == (2, 0, 0)
    assert [(e["line"], e["field"]) for e in first["errors"]] == [
        (4, "reason"), (5, "date"), (6, "id_number"), (7, "name"), (8, "id_number"),
        (9, "row"), (10, "date"), (11, "name")]
    assert all(e["message"] for e in first["errors"])

    second = cli.last_json("import-roster", "--removals", "--policy", scheme, str(removals))
    assert (second["removed"], second["corrected"], second["skipped"]) == (0, 0, 2)
    assert second["errors"] == first["errors"]

    db = cli.database()
    try:
        with db.read() as s:
            rows = s.execute(
                select(RosterMember.status, RosterMember.end_reason, RosterMember.ended_on,
                       RosterMember.end_note, RosterMember.ended_by)
                .where(RosterMember.ended_on.is_not(None)).order_by(RosterMember.id)).all()
            premium = s.execute(select(PolicyRow.annual_premium_fen).where(
                PolicyRow.policy_no == scheme)).scalar_one()
        assert [tuple(r) for r in rows] == [
            ("removed", "death", date(2026, 1, 5), "民政局 2026 年 1 月名单", "cli"),
            ("removed", "moved_away", date(2026, 1, 20), None, "cli")]
        assert premium == (24 - 2) * 1000  # the history stays, the premium counts the active
        found = {p["policy_no"]: p for p in lookup.policies_for_id_number(
            db, {"id_number": idn[1]}, "test")}
        assert found[scheme]["status"] == "removed" and found[scheme]["covered"] is False
        assert found[scheme]["covered_until"] == "2026-01-05"
    finally:
        db.dispose()


def test_import_roster_removals_bad_files_change_nothing(cli: Cli, scheme: str) -> None:
    roster = cli.tmp / "roster.csv"
    roster.write_text(HEADER + "\n" + _person(1) + "\n", encoding="utf-8")
    cli.last_json("import-roster", "--policy", scheme, str(roster))
    good = f"{make_id_number('110101', date(1950, 3, 3), 1)},林伯,死亡,2026-01-05\n"
    cases = {
        "header": ("id_number,name,date\n" + good).encode(),
        "file": ("id_number,name,reason,date\n" + good).encode() + "潮南".encode("gbk"),
    }
    for field, content in cases.items():
        csv_file = cli.tmp / f"{field}.csv"
        csv_file.write_bytes(content)
        proc = cli.run("import-roster", "--removals", "--policy", scheme, str(csv_file),
                       ok=False)
        assert proc.returncode != 0, field
        assert f"[{field}]" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    db = cli.database()
    try:
        with db.read() as s:
            assert s.execute(select(func.count()).select_from(RosterMember).where(
                RosterMember.status != "active")).scalar_one() == 0
    finally:
        db.dispose()


def test_staff_add_hashes_the_password_and_refuses_bad_input(cli: Cli) -> None:
    from backoffice.services import staff

    proc = subprocess.run([str(XIAOBAO), "staff", "add", "handler.zhou", "--role",
                           "complaint_handler", "--name", "周专员", "--password-stdin"],
                          input="a-good-long-password\n", env=cli.env, capture_output=True,
                          text=True, timeout=300, cwd=cli.tmp)
    assert proc.returncode == 0, proc.stderr
    made = json.loads(proc.stdout.strip().splitlines()[-1])
    assert made["username"] == "handler.zhou" and made["role"] == "complaint_handler"
    db = cli.database()
    try:
        assert staff.login(db, "handler.zhou", "a-good-long-password") is not None
        assert staff.login(db, "handler.zhou", "a-good-long-passwor") is None
    finally:
        db.dispose()
    for args, stdin in (((("handler.zhou", "--role", "cs_agent")), "another-long-pass\n"),
                        (("x", "--role", "cs_agent"), "another-long-pass\n"),
                        (("ok.name", "--role", "cs_agent"), "short\n")):
        bad = subprocess.run([str(XIAOBAO), "staff", "add", *args, "--password-stdin"],
                             input=stdin, env=cli.env, capture_output=True, text=True,
                             timeout=300, cwd=cli.tmp)
        assert bad.returncode != 0 and "错误" in bad.stderr, bad.stderr
    off = cli.run("staff", "disable", "handler.zhou")
    assert json.loads(off.stdout.strip().splitlines()[-1]) == {"username": "handler.zhou",
                                                               "active": False}
    db = cli.database()
    try:
        assert staff.login(db, "handler.zhou", "a-good-long-password") is None
    finally:
        db.dispose()
    cli.run("staff", "disable", "handler.zhou", "--enable")
    db = cli.database()
    try:
        assert staff.login(db, "handler.zhou", "a-good-long-password") is not None
    finally:
        db.dispose()
    assert cli.run("staff", "disable", "nobody.here", ok=False).returncode != 0


# ---- up -----------------------------------------------------------------------------------

def test_up_points_the_channels_at_the_rasa_it_starts(tmp_path: Path) -> None:
    from xiaobao.cli import up_settings
    from xiaobao.config import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", api_token="t",
                        rasa_url="http://rasa.elsewhere:5005", log_level="INFO",
                        var_dir=tmp_path)
    started = up_settings(settings, build_parser().parse_args(["up", "--rasa-port", "5999"]))
    assert started.rasa_url == "http://127.0.0.1:5999"
    assert started.database_url == settings.database_url
    # without the bot, the platform keeps XIAOBAO_RASA_URL (a Rasa run elsewhere)
    alone = up_settings(settings, build_parser().parse_args(["up", "--no-bot"]))
    assert alone.rasa_url == "http://rasa.elsewhere:5005"


def test_serve_runs_on_uvloop_and_freezes_what_start_up_left_alive(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}
    # aiohttp's run_app would block serving; take what `xiaobao serve` hands it instead
    monkeypatch.setattr(web, "run_app", lambda app, **options: served.update(app=app,
                                                                                 **options))
    db = fresh_database("sqlite", tmp_path)
    settings = Settings(database_url=db.url, api_token="t", rasa_url="http://127.0.0.1:9",
                        log_level="INFO", var_dir=tmp_path / "var", notify=NotifyConfig.from_env())
    _serve(settings, db, "127.0.0.1", 0, scheduler=False)
    loop: asyncio.AbstractEventLoop = served["loop"]
    assert isinstance(loop, uvloop.Loop)
    runner = web.AppRunner(served["app"])
    gc.unfreeze()
    try:
        loop.run_until_complete(runner.setup())  # the app's start-up, the freeze hook last
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        loop.run_until_complete(runner.cleanup())
        loop.close()
        db.dispose()


def test_serve_names_its_instance_by_host_and_port_unless_told(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name a restarted process answers what its killed predecessor left under."""
    import socket

    from channels.app import ROUTER

    served: list[web.Application] = []
    monkeypatch.setattr(web, "run_app", lambda app, **options: served.append(app))
    db = fresh_database("sqlite", tmp_path)
    settings = Settings(database_url=db.url, api_token="t", rasa_url="http://127.0.0.1:9",
                        log_level="INFO", var_dir=tmp_path / "var", notify=NotifyConfig.from_env())
    try:
        _serve(settings, db, "127.0.0.1", 8123, scheduler=False)
        named = replace(settings, instance="slot-1")
        _serve(named, db, "127.0.0.1", 8123, scheduler=False)
    finally:
        db.dispose()
    assert [app[ROUTER].instance for app in served] == [f"{socket.gethostname()}:8123",
                                                        "slot-1"]
    monkeypatch.setenv("XIAOBAO_INSTANCE", " slot-2 ")
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path / "var"))
    assert Settings.from_env().instance == "slot-2"


def test_up_starts_rasa_and_the_action_server_on_loopback_with_a_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xiaobao import bot

    started: list[tuple[list[str], dict[str, str]]] = []

    class Recorded:
        def __init__(self, args: list[str], **kw: Any) -> None:
            started.append((args, kw["env"]))

    monkeypatch.setattr(bot.subprocess, "Popen", Recorded)
    bot.start_bot(tmp_path / "m.tar.gz", 5999, 5998, "http://127.0.0.1:8000", "api",
                  tmp_path, rasa_token="rasa-secret")
    (actions, actions_env), (rasa, _) = started
    assert actions_env["SANIC_HOST"] == "127.0.0.1"  # rasa_sdk's only way to bind
    assert "--enable-api" in rasa
    assert rasa[rasa.index("--auth-token") + 1] == "rasa-secret"
    assert rasa[rasa.index("--interface") + 1] == "127.0.0.1"
    assert "5998/webhook" in (tmp_path / "endpoints-5998.yml").read_text()


def test_up_takes_the_rasa_token_and_hosts_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xiaobao.cli import up_settings
    from xiaobao.config import Settings

    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("XIAOBAO_RASA_TOKEN", raising=False)
    generated = Settings.from_env()
    assert len(generated.rasa_token) >= 32 and generated.rasa_host == "127.0.0.1"
    assert (tmp_path / "rasa-token").read_text().strip() == generated.rasa_token
    assert (tmp_path / "rasa-token").stat().st_mode & 0o077 == 0
    assert Settings.from_env().rasa_token == generated.rasa_token  # kept across starts
    monkeypatch.setenv("XIAOBAO_RASA_TOKEN", "from-env")
    monkeypatch.setenv("XIAOBAO_RASA_HOST", "0.0.0.0")
    monkeypatch.setenv("XIAOBAO_ACTIONS_HOST", "10.0.0.5")
    configured = Settings.from_env()
    assert (configured.rasa_token, configured.rasa_host, configured.actions_host) == (
        "from-env", "0.0.0.0", "10.0.0.5")
    started = up_settings(configured, build_parser().parse_args(["up", "--rasa-port", "5999"]))
    assert started.rasa_url == "http://127.0.0.1:5999"  # a wildcard is reached on loopback


# ---- scheme -----------------------------------------------------------------------------------

def test_scheme_renew_refuses_cleanly_and_the_loss_ratio_is_read(cli: Cli, scheme: str) -> None:
    for args, field in (((scheme, "--premium-per-insured", "-3"), "premium_per_insured"),
                        (("G209900009999",), "policy_no")):
        proc = cli.run("scheme", "renew", *args, ok=False)
        assert proc.returncode != 0 and f"[{field}]" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    view = cli.last_json("scheme", "loss-ratio", scheme)
    assert view["policy_no"] == scheme and view["floor"] == "0.60"
    assert view["premium"] == "200.00"  # 20 members at 10 元
    db = cli.database()
    try:
        with db.read() as s:  # nothing renewed
            assert s.execute(select(func.count()).select_from(PolicyRow).where(
                PolicyRow.renewal_of_id.is_not(None))).scalar_one() == 0
    finally:
        db.dispose()

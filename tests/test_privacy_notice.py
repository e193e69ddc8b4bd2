"""The full privacy notice at the platform's public `/privacy`: the packaged Chinese text by
default, or the operator's file, closed by the configured data-protection contact; the text is
shown as text, never as markup; a configured file that cannot be read stops the start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from backoffice.store.db import Database
from xiaobao.config import Settings
from xiaobao.platform import create_app

ClientFactory = Callable[[web.Application], Awaitable[TestClient]]


def _settings(db: Database, tmp_path: Path, **privacy: object) -> Settings:
    return Settings(database_url=db.url, api_token="t" * 20, rasa_url="http://127.0.0.1:9",
                    log_level="INFO", var_dir=tmp_path, **privacy)  # type: ignore[arg-type]


async def test_the_packaged_notice_with_the_configured_contact(
        aiohttp_client: ClientFactory, sqlite_db: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIAOBAO_PRIVACY_CONTACT", "个人信息保护负责人 李华 privacy@insurer.cn")
    monkeypatch.delenv("XIAOBAO_PRIVACY_NOTICE_FILE", raising=False)
    settings = Settings.from_env()
    assert settings.privacy_notice_file is None
    client = await aiohttp_client(create_app(_settings(
        sqlite_db, tmp_path, privacy_contact=settings.privacy_contact), sqlite_db))
    resp = await client.get("/privacy")  # no token, no session: public
    page = await resp.text()
    assert resp.status == 200 and resp.content_type == "text/html"
    assert '<p id="privacy-contact">个人信息保护负责人 李华 privacy@insurer.cn</p>' in page
    assert "敏感个人信息" in page and "撤回授权" in page and "<h2>保存多久</h2>" in page


async def test_the_operator_s_notice_file_is_shown_as_text(
        aiohttp_client: ClientFactory, sqlite_db: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    notice = tmp_path / "notice.txt"
    notice.write_text("## 本公司的规则\n我们只收集必要信息。<script>alert(1)</script>\n\n"
                      "- 对话记录 180 天\n", encoding="utf-8")
    monkeypatch.setenv("XIAOBAO_PRIVACY_NOTICE_FILE", str(notice))
    assert Settings.from_env().privacy_notice_file == notice.resolve()
    client = await aiohttp_client(create_app(_settings(
        sqlite_db, tmp_path, privacy_notice_file=notice), sqlite_db))
    page = await (await client.get("/privacy")).text()
    assert "<h2>本公司的规则</h2>" in page and "<li>对话记录 180 天</li>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "敏感个人信息" not in page  # the packaged text is replaced, not added to
    assert "95500" in page  # no contact configured: the default one


def test_a_notice_file_that_cannot_be_read_stops_the_start(
        sqlite_db: Database, tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    (tmp_path / "empty.txt").write_text("  \n")
    for name in ("missing.txt", "bad.txt", "empty.txt"):
        with pytest.raises(ValueError, match="XIAOBAO_PRIVACY_NOTICE_FILE"):
            create_app(_settings(sqlite_db, tmp_path, privacy_notice_file=tmp_path / name),
                       sqlite_db)

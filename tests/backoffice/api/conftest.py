"""Fixtures for the API tests: the platform app on the test database, behind a test token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from api_testkit import TOKEN, Api

from backoffice.store.db import Database
from xiaobao.config import Settings
from xiaobao.platform import create_app

ClientFactory = Callable[[web.Application], Awaitable[TestClient]]


def platform_app(db: Database, tmp_path: Path) -> web.Application:
    settings = Settings(database_url=db.url, api_token=TOKEN, rasa_url="http://127.0.0.1:9",
                        log_level="INFO", var_dir=tmp_path)
    return create_app(settings, db)


@pytest.fixture
async def client(aiohttp_client: ClientFactory, db: Database, tmp_path: Path) -> TestClient:
    """The platform on the `db` fixture (SQLite, and PostgreSQL when configured)."""
    return await aiohttp_client(platform_app(db, tmp_path))


@pytest.fixture
async def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
async def sqlite_client(aiohttp_client: ClientFactory, sqlite_db: Database,
                        tmp_path: Path) -> TestClient:
    """The platform on SQLite only, for tests where the database does not matter."""
    return await aiohttp_client(platform_app(sqlite_db, tmp_path))


@pytest.fixture
async def sqlite_api(sqlite_client: TestClient) -> Api:
    return Api(sqlite_client)

"""Fixtures for the desk: the platform on a seeded database with the demo staff, and a
logged-in client per role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from desk_testkit import PASSWORDS, World, login

from backoffice.clock import ManualClock, manual_clock
from backoffice.demo.staff import USER_OF_ROLE
from backoffice.services.base import SHANGHAI
from backoffice.store.db import Database
from xiaobao.config import Settings
from xiaobao.platform import create_app

ClientFactory = Callable[[web.Application], Awaitable[TestClient]]
START = datetime(2026, 6, 1, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    with manual_clock(START) as c:
        yield c


@pytest.fixture
def world(db: Database, clock: ManualClock, tmp_path: Path) -> World:
    return World(db, tmp_path / "files")  # the desk fixture's var_dir is tmp_path


@pytest.fixture
async def desk(aiohttp_client: ClientFactory, world: World, tmp_path: Path
               ) -> Callable[[str | None], Awaitable[TestClient]]:
    """desk(role) → a client logged in as that role's demo user (None: not logged in)."""
    settings = Settings(database_url=world.db.url, api_token="t" * 20,
                        rasa_url="http://127.0.0.1:9", log_level="INFO", var_dir=tmp_path)

    async def make(role: str | None) -> TestClient:
        client = await aiohttp_client(create_app(settings, world.db))
        if role is not None:
            await login(client, USER_OF_ROLE[role], PASSWORDS[USER_OF_ROLE[role]])
        return client

    return make

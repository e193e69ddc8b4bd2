"""Fixtures for the desk: the platform on a seeded database with the demo staff, and a
logged-in browser-like client per role."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from backoffice.clock import ManualClock, manual_clock
from backoffice.demo.staff import DEMO_STAFF, seed_staff
from backoffice.services import claims, complaints
from backoffice.services.base import SHANGHAI
from backoffice.services.demo import seed
from backoffice.store.db import Database
from xiaobao.config import Settings
from xiaobao.platform import create_app

ClientFactory = Callable[[web.Application], Awaitable[TestClient]]
START = datetime(2026, 6, 1, 9, 30, tzinfo=SHANGHAI)
PASSWORDS = {username: password for username, _, _, _, password in DEMO_STAFF}
USER_OF_ROLE = {role: username for username, _, role, _, _ in DEMO_STAFF}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    with manual_clock(START) as c:
        yield c


class World:
    """A seeded database: the demo staff, a claim and a complaint linked to it."""

    def __init__(self, db: Database) -> None:
        result = seed(db, members=20, seed_value=5)
        seed_staff(db)
        self.db = db
        _, claim = claims.report(db, {
            "policy_no": result.group_policy_no,
            "insured_id_number": result.sample_id_numbers[0], "claim_type": "hospital_allowance",
            "incident_date": "2026-05-20", "incident_place": "峡山街道",
            "description": "摔倒住院", "channel": "wechat",
            "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}}, None)
        self.claim_no = claim["claim_no"]
        made = complaints.intake(db, {
            "channel": "wechat", "complainant": {"name": "林小红", "phone": "13811112222"},
            "category": "claims", "description": "材料交了很久没有消息",
            "claim_no": self.claim_no})
        self.complaint_no = made["complaint_no"]


@pytest.fixture
def world(db: Database, clock: ManualClock) -> World:
    return World(db)


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


async def login(client: TestClient, username: str, password: str) -> str:
    """Log in through the form; the session's CSRF token."""
    page = await client.get("/desk/login")
    token = CSRF.search(await page.text())
    assert token
    resp = await client.post("/desk/login", data={
        "csrf_token": token.group(1), "username": username, "password": password,
        "next": "/desk/"}, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/desk/", await resp.text()
    home = await client.get("/desk/")
    assert home.status == 200
    found = CSRF.search(await home.text())
    assert found
    return found.group(1)

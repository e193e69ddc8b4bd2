"""A document uploaded through the API into the object store (moto's S3 server, a real
process) is read back on the desk by a second platform on the same bucket, as another process
of a cluster would; when the store is down or the bucket wrong, the API answers a clear 503 and
records nothing, and the desk says the store is unavailable. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from desk_testkit import PASSWORDS, World, login
from sqlalchemy import func, select

from backoffice.clock import ManualClock
from backoffice.demo.staff import USER_OF_ROLE
from backoffice.store.db import Database
from backoffice.store.models import ClaimDocument, ClaimEvent
from tests.channels.channel_kit import free_port
from xiaobao.config import Settings
from xiaobao.platform import create_app

TOKEN = "s3-test-token-0123456789"
SCAN = b"\xff\xd8\xff\xe0JFIF-hospital-invoice\xff\xd9"


@pytest.fixture
def world(db: Database, clock: ManualClock) -> World:
    return World(db)


def platform(db: Database, tmp_path: Path, endpoint: str, bucket: str) -> web.Application:
    settings = Settings(database_url=db.url, api_token=TOKEN, rasa_url="http://127.0.0.1:9",
                        log_level="INFO", var_dir=tmp_path / uuid.uuid4().hex,
                        files_url=f"s3://{bucket}/xiaobao", s3_endpoint_url=endpoint)
    return create_app(settings, db)


async def upload(client: TestClient, claim_no: str) -> Any:
    form = FormData()
    form.add_field("file", SCAN, filename="发票.jpg", content_type="image/jpeg")
    form.add_field("doc_type", "invoice")
    return await client.post(f"/api/v1/claims/{claim_no}/documents", data=form,
                             headers={"Authorization": f"Bearer {TOKEN}"})


async def adjuster(client: TestClient) -> TestClient:
    user = USER_OF_ROLE["claims_adjuster"]
    await login(client, user, PASSWORDS[user])
    return client


async def test_uploaded_through_the_api_read_on_another_process_desk(
        aiohttp_client: Any, world: World, tmp_path: Path, s3_endpoint: str, s3_bucket: str,
        s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIAOBAO_OCR_ENABLED", "0")  # the store is under test, not OCR
    one = await aiohttp_client(platform(world.db, tmp_path, s3_endpoint, s3_bucket))
    resp = await upload(one, world.claim_no)
    assert resp.status == 201, await resp.text()
    doc = (await resp.json())["document_id"]
    with world.db.read() as s:
        row = s.get(ClaimDocument, doc)
        assert row is not None
        key, digest = f"xiaobao/{row.storage_path}", row.sha256
    head = s3.head_object(Bucket=s3_bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256" and head["Metadata"]["sha256"] == digest
    assert not (tmp_path / "files").exists()  # nothing on this machine's disk

    other = await adjuster(await aiohttp_client(
        platform(world.db, tmp_path, s3_endpoint, s3_bucket)))
    shown = await other.get(f"/desk/claims/{world.claim_no}/documents/{doc}")
    assert shown.status == 200 and await shown.read() == SCAN
    assert shown.content_type == "image/jpeg"

    s3.delete_object(Bucket=s3_bucket, Key=key)  # gone from the store: not found, said so
    gone = await other.get(f"/desk/claims/{world.claim_no}/documents/{doc}")
    assert gone.status == 404 and "已不在存储中" in await gone.text()


@pytest.mark.parametrize("broken", ["wrong_bucket", "store_down"])
async def test_a_broken_store_is_a_clear_503_and_nothing_is_recorded(
        aiohttp_client: Any, world: World, tmp_path: Path, s3_endpoint: str, s3_bucket: str,
        monkeypatch: pytest.MonkeyPatch, broken: str) -> None:
    monkeypatch.setenv("XIAOBAO_OCR_ENABLED", "0")
    good = await aiohttp_client(platform(world.db, tmp_path, s3_endpoint, s3_bucket))
    doc = (await (await upload(good, world.claim_no)).json())["document_id"]
    endpoint, bucket = ((s3_endpoint, "no-such-bucket-here") if broken == "wrong_bucket"
                        else (f"http://127.0.0.1:{free_port()}", s3_bucket))
    client = await adjuster(await aiohttp_client(platform(world.db, tmp_path, endpoint, bucket)))
    with world.db.read() as s:
        before = (s.scalar(select(func.count()).select_from(ClaimDocument)),
                  s.scalar(select(func.count()).select_from(ClaimEvent)))

    resp = await upload(client, world.claim_no)
    assert resp.status == 503 and int(resp.headers["Retry-After"]) >= 1
    error = (await resp.json())["error"]
    assert error["code"] == "storage_unavailable" and error["field"] == "file"
    assert "Traceback" not in await resp.text() and bucket not in await resp.text()
    with world.db.read() as s:
        after = (s.scalar(select(func.count()).select_from(ClaimDocument)),
                 s.scalar(select(func.count()).select_from(ClaimEvent)))
    assert after == before

    shown = await client.get(f"/desk/claims/{world.claim_no}/documents/{doc}")
    assert shown.status == 503 and "材料存储暂时不可用" in await shown.text()

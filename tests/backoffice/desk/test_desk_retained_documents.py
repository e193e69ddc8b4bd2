"""A document whose original went at the end of its retention: the claim page says so beside
its hash, and the file's link answers 404 with the reason, without touching the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient
from desk_testkit import World

from backoffice.services import claims, retention
from backoffice.store.files import FileStore

Desk = Callable[[str | None], Awaitable[TestClient]]


async def test_the_claim_page_says_the_original_was_deleted(
        desk: Desk, world: World, tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")  # the desk fixture's var_dir is tmp_path
    done = claims.upload_document(world.db, files, world.claim_no, "scan.jpg", "image/jpeg",
                                  b"\xff\xd8a-scan\xff\xd9", "discharge_summary", "customer")
    doc = int(done["document_id"])
    with world.db.transaction() as s:
        assert retention.drop_files(s, [doc], files, "system:retention") == 1
    client = await desk("claims_adjuster")
    page = await (await client.get(f"/desk/claims/{world.claim_no}")).text()
    assert "原件已按保存期限删除" in page
    assert f'href="/desk/claims/{world.claim_no}/documents/{doc}"' not in page
    resp = await client.get(f"/desk/claims/{world.claim_no}/documents/{doc}")
    assert resp.status == 404 and "原件已按保存期限删除" in await resp.text()

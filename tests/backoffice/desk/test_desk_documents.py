"""A claim document's file on the desk: shown to claims staff only, each look audited, and never
served as a page of the desk whatever type the uploader claimed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient
from desk_testkit import World
from sqlalchemy import select

from backoffice.services import claims
from backoffice.store.files import FileStore
from backoffice.store.models import AuditEntry

Desk = Callable[[str | None], Awaitable[TestClient]]
JPEG = b"\xff\xd8\xff\xe0JFIF-a-photo-of-a-discharge-summary\xff\xd9"


def _upload(world: World, tmp_path: Path, data: bytes, content_type: str) -> int:
    files = FileStore(tmp_path / "files")  # the desk fixture's var_dir is tmp_path
    done = claims.upload_document(world.db, files, world.claim_no, "scan.jpg", content_type,
                                  data, "discharge_summary", "customer")
    return int(done["document_id"])


async def test_claims_staff_see_a_document_and_the_look_is_audited(
        desk: Desk, world: World, tmp_path: Path) -> None:
    doc = _upload(world, tmp_path, JPEG, "image/jpeg")
    client = await desk("claims_adjuster")
    resp = await client.get(f"/desk/claims/{world.claim_no}/documents/{doc}",
                            headers={"Referer": "http://x/desk/risk"})
    assert resp.status == 200 and await resp.read() == JPEG
    assert resp.content_type == "image/jpeg"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    with world.db.read() as s:
        looks = s.execute(select(AuditEntry).where(AuditEntry.action == "view_document")).scalars()
        seen = [(e.actor, e.entity_id, (e.after or {}).get("purpose")) for e in looks]
    assert seen == [("adjuster.chen", world.claim_no, "risk")]


async def test_a_page_uploaded_as_a_document_is_only_ever_a_download(
        desk: Desk, world: World, tmp_path: Path) -> None:
    page = b"<html><script>document.location='//evil'</script></html>"
    doc = _upload(world, tmp_path, page, "text/html")
    client = await desk("claims_supervisor")
    resp = await client.get(f"/desk/claims/{world.claim_no}/documents/{doc}")
    assert resp.status == 200 and resp.content_type == "application/octet-stream"
    assert resp.headers["Content-Disposition"].startswith("attachment;")


async def test_other_roles_strangers_and_wrong_numbers_see_nothing(
        desk: Desk, world: World, tmp_path: Path) -> None:
    doc = _upload(world, tmp_path, JPEG, "image/jpeg")
    for role in ("cs_agent", "complaint_handler", "underwriter"):
        resp = await (await desk(role)).get(f"/desk/claims/{world.claim_no}/documents/{doc}")
        assert resp.status == 403, role
    stranger = await desk(None)
    resp = await stranger.get(f"/desk/claims/{world.claim_no}/documents/{doc}",
                              allow_redirects=False)
    assert resp.status == 302
    client = await desk("claims_adjuster")
    for path in (f"/desk/claims/R000/documents/{doc}",
                 f"/desk/claims/{world.claim_no}/documents/999999",
                 f"/desk/claims/{world.claim_no}/documents/..%2F..%2Fetc%2Fpasswd",
                 f"/desk/claims/{world.claim_no}/documents/1e9"):
        resp = await client.get(path)
        assert resp.status == 404, path

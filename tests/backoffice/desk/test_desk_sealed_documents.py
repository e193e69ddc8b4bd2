"""Documents sealed at rest, on the desk: a sealed one and one stored before encryption are both
shown; a file whose bytes were changed is refused with a plain 409, and one sealed under a key
the settings no longer list is a 503 naming that key id: never a 500 or a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from desk_testkit import PASSWORDS, World, login

from backoffice.demo.staff import USER_OF_ROLE
from backoffice.services import claims
from backoffice.store.files import FileStore
from backoffice.store.sealing import Keyring
from xiaobao.config import Settings
from xiaobao.platform import create_app

A = Keyring.parse(Keyring.new_entry("key-a"))
B = Keyring.parse(Keyring.new_entry("key-b"))
PHOTO = b"\xff\xd8\xff\xe0JFIF-discharge-summary-of-a-person\xff\xd9" * 20


async def adjuster(aiohttp_client: Any, world: World, tmp_path: Path,
                   keyring: Keyring) -> TestClient:
    settings = Settings(database_url=world.db.url, api_token="t" * 20,
                        rasa_url="http://127.0.0.1:9", log_level="INFO", var_dir=tmp_path,
                        files_keys=keyring)
    client = await aiohttp_client(create_app(settings, world.db))
    user = USER_OF_ROLE["claims_adjuster"]
    await login(client, user, PASSWORDS[user])
    return client


async def test_sealed_and_earlier_plaintext_documents_are_shown_changed_ones_refused(
        aiohttp_client: Any, world: World, tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files", A)  # the desk's store: var_dir/files
    doc = claims.upload_document(world.db, files, world.claim_no, "出院小结.jpg", "image/jpeg",
                                 PHOTO, "discharge_summary", "customer")["document_id"]
    (stored,) = [p for p in (tmp_path / "files").rglob("*出院小结.jpg")]
    assert PHOTO[:16] not in stored.read_bytes()
    client = await adjuster(aiohttp_client, world, tmp_path, A)
    base = f"/desk/claims/{world.claim_no}/documents"

    shown = await client.get(f"{base}/{doc}")
    assert shown.status == 200 and await shown.read() == PHOTO
    before = await client.get(f"{base}/{world.document_id}")  # stored before encryption
    assert before.status == 200 and await before.read() == b"\xff\xd8\xff\xe0world-scan\xff\xd9"

    blob = stored.read_bytes()
    stored.write_bytes(blob[:-20] + bytes([blob[-20] ^ 1]) + blob[-19:])
    refused = await client.get(f"{base}/{doc}")
    text = await refused.text()
    assert refused.status == 409 and "完整性校验" in text and "Traceback" not in text

    stored.write_bytes(blob)
    other = await adjuster(aiohttp_client, world, tmp_path, B)  # key-a no longer listed
    missing = await other.get(f"{base}/{doc}")
    text = await missing.text()
    assert missing.status == 503 and "key-a" in text and "Traceback" not in text

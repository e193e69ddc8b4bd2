"""The desk's requests of the data subject: an outlet clerk's request taken down with the ID
card seen, the queue with its clock and filters, the request page's steps and the export link
handed over; the page is an access-log entry."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Awaitable, Callable
from html import unescape
from urllib.parse import unquote

from aiohttp.test_utils import TestClient
from desk_testkit import CSRF, World
from sqlalchemy import select

from backoffice.clock import ManualClock
from backoffice.services import privacy_requests
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import AccessLogEntry, Party

Desk = Callable[[str | None], Awaitable[TestClient]]
SCAN = b"\xff\xd8\xff\xe0world-scan\xff\xd9"  # the world's uploaded document


async def form_post(client: TestClient, page: str, target: str, **form: str) -> str:
    token = CSRF.search(await (await client.get(page)).text())
    assert token
    resp = await client.post(target, data={"csrf_token": token.group(1), **form},
                             allow_redirects=False)
    assert resp.status == 302
    return unquote(resp.headers["Location"])


async def test_outlet_request_steps_and_export(desk: Desk, world: World,
                                               clock: ManualClock) -> None:
    with world.db.read() as s:
        me = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", world.members[0]))).scalar_one()
    handler = await desk("complaint_handler")
    to = await form_post(handler, "/desk/privacy-requests", "/desk/privacy-requests",
                         id_number=me.id_number, name=me.name, kind="copy", channel="outlet",
                         verified_by="id_card_seen", details="复制我的全部资料")
    assert "err=" in to and "id_card_checked" in to  # the clerk must confirm the card
    to = await form_post(handler, "/desk/privacy-requests", "/desk/privacy-requests",
                         id_number=me.id_number, name=me.name, kind="copy", channel="outlet",
                         verified_by="id_card_seen", id_card_checked="1")
    found = re.search(r"/desk/privacy-requests/(GR\d+)", to)
    assert found, to
    no = found.group(1)
    page = await (await handler.get(f"/desk/privacy-requests/{no}")).text()
    assert "2026-06-23 前答复" in page and me.id_number in page and "柜员已核验身份证原件" in page
    with world.db.read() as s:
        assert s.execute(select(AccessLogEntry).where(
            AccessLogEntry.record_kind == "privacy_request", AccessLogEntry.record_id == no,
            AccessLogEntry.staff == "handler.wang")).first() is not None

    page_path = f"/desk/privacy-requests/{no}"
    assert "msg=" in await form_post(handler, page_path, f"{page_path}/act", action="start")
    assert "msg=" in await form_post(handler, page_path, f"{page_path}/act", action="complete",
                                     note="已提供复制件")
    page = await (await handler.get(page_path)).text()
    link = re.search(r'href="(/privacy-exports/[^"]+)"', page)
    assert link and "已办结" in page
    export = await handler.get(unescape(link.group(1)))
    assert export.status == 200
    z = zipfile.ZipFile(io.BytesIO(await export.read()))
    assert SCAN in [z.read(n) for n in z.namelist() if n.startswith("documents/")]

    late = privacy_requests.create(world.db, {
        "id_number": me.id_number, "name": me.name, "kind": "deletion", "channel": "phone",
        "verified_by": "phone", "phone": me.phone}, "handler.wang")["privacy_request_no"]
    clock.advance(days=40)
    supervisor = await desk("claims_supervisor")
    queue = await (await supervisor.get("/desk/privacy-requests?overdue=1")).text()
    assert f'id="pr-{late}"' in queue and "已超时" in queue and f'id="pr-{no}"' not in queue
    done = await (await supervisor.get("/desk/privacy-requests?status=done")).text()
    assert f'id="pr-{no}"' in done and f'id="pr-{late}"' not in done
    await supervisor.get(page_path)  # handler.wang's request: the supervisor has no work on it
    with world.db.read() as s:
        seen = s.execute(select(AccessLogEntry.staff, AccessLogEntry.with_work).where(
            AccessLogEntry.record_kind == "privacy_request", AccessLogEntry.record_id == no,
            AccessLogEntry.door == "desk")).all()
    assert set(seen) == {("handler.wang", True), ("supervisor.zhao", False)}
    agent = await desk("cs_agent")
    assert (await agent.get("/desk/privacy-requests")).status == 403
    assert (await agent.get(page_path)).status == 403

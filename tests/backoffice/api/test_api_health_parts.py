"""/healthz?parts=…: the probes of deploy/ — readiness on the database alone (the API and the
desk need nothing else), liveness on none — while the full /healthz still waits for the bot."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_probes_judge_only_the_parts_they_name(sqlite_client: TestClient) -> None:
    full = await sqlite_client.get("/healthz")  # no Rasa listens at the test settings' URL
    assert full.status == 503 and "bot" in (await full.json())["not_ready"]
    ready = await sqlite_client.get("/healthz", params={"parts": "database"})
    assert ready.status == 200
    body = await ready.json()
    assert body["status"] == "ok" and body["parts"]["bot"]["state"] != "up"  # still shown
    assert (await sqlite_client.get("/healthz?parts=")).status == 200
    assert (await sqlite_client.get("/healthz?parts=database,bot")).status == 503


async def test_unknown_parts_are_refused_by_name(sqlite_client: TestClient) -> None:
    for query in ("nope", "database,nope", "<script>"):
        resp = await sqlite_client.get("/healthz", params={"parts": query})
        assert resp.status == 400
        error = (await resp.json())["error"]
        assert error["field"] == "parts" and "未知的部件" in error["message"]

"""The Rasa client sends a call's turns to Rasa's phone channel (/webhooks/ivr/webhook, whose
answers take the `channel: ivr` wording) and the others to REST; a Rasa without the phone
channel (plain `rasa run`) answers calls through REST. Stand-in Rasa servers record where
each turn arrived."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.ivr import spell
from channels.rasa import RasaClient


async def stand_in(paths: tuple[str, ...]) -> tuple[TestServer, list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((request.path, body["sender"]))
        return web.json_response([{"recipient_id": body["sender"], "text": request.path}])

    app = web.Application()
    for path in paths:
        app.router.add_post(path, webhook)
    server = TestServer(app)
    await server.start_server()
    return server, seen


async def test_calls_go_to_the_phone_channel() -> None:
    server, seen = await stand_in(("/webhooks/rest/webhook", "/webhooks/ivr/webhook"))
    client = RasaClient(str(server.make_url("")))
    try:
        await client.turn("ivr:call-1", "你好", {"channel": "ivr"})
        await client.turn("wechat:o-1", "你好", {"channel": "wechat"})
        await client.turn("web:ivr:x", "你好", {"channel": "web"})  # a web id is no call
    finally:
        await client.close()
        await server.close()
    assert seen == [("/webhooks/ivr/webhook", "ivr:call-1"),
                    ("/webhooks/rest/webhook", "wechat:o-1"),
                    ("/webhooks/rest/webhook", "web:ivr:x")]


async def test_a_rasa_without_the_phone_channel_answers_calls_by_rest() -> None:
    server, seen = await stand_in(("/webhooks/rest/webhook",))
    client = RasaClient(str(server.make_url("")))
    try:
        first = await client.turn("ivr:call-1", "你好", {"channel": "ivr"})
        await client.turn("ivr:call-1", "报案", {"channel": "ivr"})
    finally:
        await client.close()
        await server.close()
    assert first[0]["text"] == "/webhooks/rest/webhook"
    assert seen == [("/webhooks/rest/webhook", "ivr:call-1")] * 2


def test_numbers_grouped_for_the_ear_are_read_group_by_group() -> None:
    assert spell("号码 138 1234 5678 吗") == "号码 1 3 8，1 2 3 4，5 6 7 8 吗"
    assert spell("身份证 440515 19480312 002X") == "身份证 4 4 0 5 1 5，1 9 4 8 0 3 1 2，0 0 2 X"
    # short groups are no phone or ID number; a long run is still read digit by digit
    assert spell("2026 12 07") == "2026 12 07"
    assert spell("报案号 R202600000012") == "报案号 R 2 0 2 6 0 0 0 0 0 0 1 2"

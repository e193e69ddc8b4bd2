"""The web chat tells the bot where a visitor writes from (the client address, as the
platform's trusted-proxy rule sees it), so the bot's identity check can limit per source; a
forged X-Forwarded-For from the visitor changes nothing. Checked in the real Rasa's tracker."""

from __future__ import annotations

from typing import Any

import aiohttp
from channel_kit import Platform, web_user


async def _latest_user_metadata(rasa_url: str, sender: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"{rasa_url}/conversations/{sender}/tracker") as r:
        assert r.status == 200
        events = (await r.json())["events"]
    return dict([e for e in events if e["event"] == "user"][-1]["metadata"])


async def test_the_visitors_address_reaches_the_bot(platform: Platform, rasa_url: str) -> None:
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.6", 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        who = await web_user(http, platform)
        async with http.post(platform.url("/chat/messages"), json={"text": "你好"},
                             headers={**who.auth, "X-Forwarded-For": "198.51.100.23"}) as r:
            assert r.status == 200
    meta = await _latest_user_metadata(rasa_url, f"web:{who.user}")
    mine = {k: meta.get(k) for k in ("channel", "user", "source")}
    assert mine == {"channel": "web", "user": who.user, "source": "127.0.0.6"}

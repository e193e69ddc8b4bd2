"""`xiaobao chat` as a user runs it, typing on standard input, against a running platform and a
real Rasa server: its turns go through the gateway, so the transcript is kept, a handoff
reaches the agents, and what an agent writes appears in the terminal."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp
from channel_kit import TOKEN, Platform, eventually

from backoffice.services import conversations as conv

XIAOBAO = Path(sys.executable).with_name("xiaobao")
ROOT = Path(__file__).resolve().parents[2]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Terminal:
    """`xiaobao chat` in a subprocess: lines typed in, everything printed collected."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.printed = ""
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(4096):
            self.printed += chunk.decode("utf-8", "replace")

    async def type(self, line: str, then: str) -> str:
        """Type a line; wait until `then` is printed after it; what was printed since."""
        assert self.proc.stdin is not None
        start = len(self.printed)
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.shows(then, start)

    async def shows(self, text: str, start: int = 0) -> str:
        return str(await eventually(lambda: text in self.printed[start:]
                                    and self.printed[start:], f"{text!r} printed"))

    async def quit(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # end of input, as Ctrl-D
        await self.reader
        return await self.proc.wait()


async def _terminal(*args: str, tmp: Path) -> Terminal:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIAOBAO_")}
    # the suite's column keys (conftest): the processes read and write what this one does
    env.update({k: v for k, v in os.environ.items() if k.startswith("XIAOBAO_FIELDS_")})
    # this checkout's code, whichever checkout the environment was installed from
    env.update({"PYTHONIOENCODING": "utf-8", "XIAOBAO_VAR_DIR": str(tmp / "chat-var"),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                            env.get("PYTHONPATH")]))})
    proc = await asyncio.create_subprocess_exec(
        str(XIAOBAO), "chat", *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env)
    return Terminal(proc)


async def test_terminal_chat_through_the_gateway_with_a_handoff(platform: Platform,
                                                                 tmp_path: Path) -> None:
    term = await _terminal("--url", platform.url("/"), tmp=tmp_path)
    banner = await term.shows("输入 /quit 退出")
    # the banner names the web user, whom the platform chose and signed a session for
    found = re.search(r"用户 (web-[0-9a-f]{16})）", banner)
    assert found
    user = found.group(1)
    assert "小保：请问出险日期是哪天？" in await term.type("我要报案", "出险日期")
    await term.type("昨天", "哪里")
    assert "小保：已为您登记" in await term.type("在家里", "已为您登记")
    assert "已转人工客服" in await term.type("转人工", "已转人工客服")
    # the gateway kept the transcript and queued the conversation for the agents
    queued = [c for c in conv.list_conversations(platform.db, {"state": "queued"})
              if c["user"] == user]
    assert queued and queued[0]["channel"] == "web"
    cid = queued[0]["id"]
    lines = conv.get_conversation(platform.db, {"conversation_id": cid})["messages"]
    assert [m["text"] for m in lines if m["role"] == "user"] == ["我要报案", "昨天", "在家里",
                                                                 "转人工"]
    assert any(m["role"] == "bot" and "出险日期" in m["text"] for m in lines)
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.post(platform.url(f"/api/v1/conversations/{cid}/messages"),
                             json={"agent": "a7", "text": "您好，我是客服小王。"}) as r:
            assert r.status == 201
        await term.shows("客服：您好，我是客服小王。")  # polled while the user types nothing
        start = len(term.printed)
        async with http.post(platform.url(f"/api/v1/conversations/{cid}/handback"),
                             json={}) as r:
            assert (await r.json())["delivered"] is True
        await term.shows("小保：小保回来了", start)
    # the bot owns the conversation again: the next line is answered by it
    assert "小保：您好，我是小保" in await term.type("你好", "您好，我是小保")
    assert await term.quit() == 0
    texts = [m["text"] for m in
             conv.get_conversation(platform.db, {"conversation_id": cid})["messages"]]
    assert "您好，我是客服小王。" in texts and texts.count("你好") == 1


async def test_terminal_chat_straight_to_rasa(rasa_url: str, tmp_path: Path) -> None:
    """A Rasa REST channel URL: the chat talks to the bot directly (no platform)."""
    term = await _terminal("--url", f"{rasa_url}/webhooks/rest/webhook", tmp=tmp_path)
    assert "小保：您好，我是小保" in await term.type("你好", "您好，我是小保")
    assert await term.quit() == 0

"""Pushes exactly as WeChat's servers send them: signed query string, XML body, AES in safe
mode; and the reading of the account's passive reply."""

from __future__ import annotations

import contextlib
import hashlib
import random
import time
from typing import Any
from xml.etree import ElementTree

import aiohttp
from channel_kit import AES_KEY, APPID, WECHAT_TOKEN
from wechatpy.crypto import WeChatCrypto

ACCOUNT = "gh_xiaobao0001"


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def text_xml(openid: str, content: str, msg_id: int | None = None,
             created: int | None = None) -> str:
    return message_xml(openid, "text", {"Content": content}, msg_id, created)


def message_xml(openid: str, kind: str, fields: dict[str, Any], msg_id: int | None = None,
                created: int | None = None) -> str:
    created = created or int(time.time())
    body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" if isinstance(v, str) else f"<{k}>{v}</{k}>"
                   for k, v in fields.items())
    msg = "" if kind == "event" else f"<MsgId>{msg_id or random.getrandbits(62)}</MsgId>"
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
            f"{body}{msg}</xml>")


class WeChatPusher:
    """One Official Account's pushes to `url` (plain or safe mode)."""

    def __init__(self, url: str, *, aes: bool = False, token: str = WECHAT_TOKEN,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.url = url
        self.session = session  # kept alive between pushes, as WeChat's servers do
        self.aes = aes
        self.token = token
        self.crypto = WeChatCrypto(token, AES_KEY, APPID)

    def query(self, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = str(timestamp or int(time.time()))
        nonce = nonce or str(random.randint(10**8, 10**9))
        query = {"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce,
                 "openid": "x"}
        return query

    async def push(self, xml: str, **query_overrides: str) -> tuple[int, str]:
        """POST one message; (HTTP status, the reply decrypted when in safe mode)."""
        query = self.query()
        body = xml
        if self.aes:
            envelope = self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
            root = ElementTree.fromstring(envelope)
            encrypt = root.findtext("Encrypt") or ""
            query["encrypt_type"] = "aes"
            query["msg_signature"] = sign(self.token, query["timestamp"], query["nonce"],
                                          encrypt)
            body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>" \
                   f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        query.update(query_overrides)
        async with contextlib.AsyncExitStack() as stack:
            session = self.session or await stack.enter_async_context(aiohttp.ClientSession())
            async with session.post(self.url, params=query, data=body.encode("utf-8"),
                                    headers={"Content-Type": "text/xml"}) as response:
                text = await response.text()
                status = response.status
        if self.aes and status == 200 and text.startswith("<xml>"):
            root = ElementTree.fromstring(text)
            expected = sign(self.token, root.findtext("TimeStamp") or "",
                            root.findtext("Nonce") or "", root.findtext("Encrypt") or "")
            assert root.findtext("MsgSignature") == expected, "reply not signed"
            text = self.crypto.decrypt_message(text, expected, root.findtext("TimeStamp"),
                                               root.findtext("Nonce"))
        return status, text


def reply_text(reply: str) -> str:
    """The Content of a passive text reply ('' for `success`)."""
    if not reply.startswith("<xml>"):
        assert reply == "success", reply
        return ""
    root = ElementTree.fromstring(reply)
    assert root.findtext("MsgType") == "text"
    return root.findtext("Content") or ""

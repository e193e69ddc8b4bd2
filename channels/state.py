"""State the channels keep between requests: the IVR's calls in progress and the web chat's
messages delivered later (agents, hand-backs).

In process memory by default; in Redis when XIAOBAO_REDIS_URL is set, with TTLs, so several
platform processes agree (a VoiceXML platform's next request or a web page's poll may reach
another process than the one that answered before), as the WeChat dedupe keys already do.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

# a call longer than this is abandoned (its platform stopped sending events without a hangup)
CALL_TTL = 2 * 3600
# messages delivered later wait this long for the user's page to fetch them
PENDING_TTL = 24 * 3600
KEEP = 100  # messages kept per web user


# a redis.asyncio.Redis client (optional dependency at run time)
Redis = Any


def connect(url: str | None) -> Redis | None:
    if not url:
        return None
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(url)


class CallStore:
    """The IVR's calls in progress, each a JSON-able dict, by call id."""

    def __init__(self, redis: Redis | None = None, ttl: int = CALL_TTL) -> None:
        self.redis = redis
        self.ttl = ttl
        self._calls: dict[str, tuple[float, dict[str, Any]]] = {}

    @staticmethod
    def _key(call_id: str) -> str:
        return f"xiaobao:ivr:call:{call_id}"

    async def get(self, call_id: str) -> dict[str, Any] | None:
        if self.redis is not None:
            raw = await self.redis.get(self._key(call_id))
            return None if raw is None else dict(json.loads(raw))
        found = self._calls.get(call_id)
        if found is None:
            return None
        if found[0] < time.monotonic():
            del self._calls[call_id]
            return None
        return found[1]

    async def put(self, call_id: str, call: dict[str, Any]) -> None:
        if self.redis is not None:
            await self.redis.set(self._key(call_id), json.dumps(call, ensure_ascii=False),
                                 ex=self.ttl)
            return
        self._calls[call_id] = (time.monotonic() + self.ttl, call)
        if len(self._calls) % 1000 == 0:  # the abandoned calls go now and then
            now = time.monotonic()
            for key in [k for k, (until, _) in self._calls.items() if until < now]:
                del self._calls[key]

    async def drop(self, call_id: str) -> None:
        if self.redis is not None:
            await self.redis.delete(self._key(call_id))
        else:
            self._calls.pop(call_id, None)


class PendingStore:
    """Per web user, the messages delivered outside a request, numbered so a page asks for
    those after the last it has seen (`after`); the last KEEP per user."""

    def __init__(self, redis: Redis | None = None, ttl: int = PENDING_TTL, keep: int = KEEP
                 ) -> None:
        self.redis = redis
        self.ttl = ttl
        self.keep = keep
        self._later: dict[str, deque[tuple[int, dict[str, Any]]]] = {}
        self._seq = 0

    @staticmethod
    def _key(user: str) -> str:
        return f"xiaobao:web:later:{user}"

    async def add(self, user: str, messages: list[dict[str, Any]]) -> None:
        if self.redis is not None:
            await self._add_redis(user, messages)
            return
        queue = self._later.setdefault(user, deque(maxlen=self.keep))
        for message in messages:
            self._seq += 1
            queue.append((self._seq, message))

    async def _add_redis(self, user: str, messages: list[dict[str, Any]]) -> None:
        # one counter for every user and process: numbers grow across processes too
        first = int(await self.redis.incrby("xiaobao:web:seq", len(messages)))
        start = first - len(messages) + 1
        items = [json.dumps([start + i, m], ensure_ascii=False) for i, m in enumerate(messages)]
        pipe = self.redis.pipeline(transaction=True)
        pipe.rpush(self._key(user), *items)
        pipe.ltrim(self._key(user), -self.keep, -1)
        pipe.expire(self._key(user), self.ttl)
        await pipe.execute()

    async def after(self, user: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        if self.redis is not None:
            raw = await self.redis.lrange(self._key(user), 0, -1)
            items = [tuple(json.loads(r)) for r in raw]
            return [(int(n), dict(m)) for n, m in items if int(n) > after]
        return [(n, m) for n, m in self._later.get(user, ()) if n > after]

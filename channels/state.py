"""State the channels keep between requests: the IVR's calls in progress and the answers of
the phone events already seen (`CallStore`), and the web chat's messages delivered later
(`PendingStore`).

Calls are never kept only in this process's memory: in Redis when XIAOBAO_REDIS_URL is set,
else in the database through the channels' port (table channel_state), both with expiries, so
that another platform process, or the next one after a restart, goes on with the call (a
VoiceXML platform's next request may reach another process than the one that answered before).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from channels.port import Backoffice, StateClaim, StatePut

# a call longer than this is abandoned (its platform stopped sending events without a hangup)
CALL_TTL = 2 * 3600
# an event's answer is kept this long: longer than any event is accepted (timestamps ±300 s,
# VoiceXML links 600 s), so a replay inside the window always finds it
EVENT_TTL = 15 * 60
# messages delivered later wait this long for the user's page to fetch them
PENDING_TTL = 24 * 3600
KEEP = 100  # messages kept per web user
PREFIX = "xiaobao:"  # of every Redis key the channels write


# a redis.asyncio.Redis client (optional dependency at run time)
Redis = Any
Value = dict[str, Any]


def connect(url: str | None) -> Redis | None:
    if not url:
        return None
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(url)


class SharedState(Protocol):
    """JSON objects by key with expiries, shared by every platform process."""

    async def claim(self, put: StatePut, read: Sequence[str] = ()) -> StateClaim:
        """`put` stored unless its key holds a value (exactly one of concurrent claims wins),
        with the values of `read` (and of the key, when another holds it)."""
        ...

    async def read(self, keys: Sequence[str]) -> dict[str, Value]: ...

    async def write(self, puts: Sequence[StatePut], drops: Sequence[str] = ()) -> None: ...


class RedisState:
    """In Redis: SET NX for a claim, MULTI for a claim with its reads and for a write."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def claim(self, put: StatePut, read: Sequence[str] = ()) -> StateClaim:
        keys = [k for k in read if k != put.key]
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(PREFIX + put.key, _dump(put.value), nx=True, ex=put.ttl)
        pipe.mget([PREFIX + k for k in [put.key, *keys]])
        took, raw = await pipe.execute()
        values = {k: json.loads(r) for k, r in zip([put.key, *keys], raw, strict=True)
                  if r is not None}
        if took:
            values.pop(put.key, None)
        return StateClaim(bool(took), values)

    async def read(self, keys: Sequence[str]) -> dict[str, Value]:
        raw = await self.redis.mget([PREFIX + k for k in keys])
        return {k: json.loads(r) for k, r in zip(keys, raw, strict=True) if r is not None}

    async def write(self, puts: Sequence[StatePut], drops: Sequence[str] = ()) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for put in puts:
            pipe.set(PREFIX + put.key, _dump(put.value), ex=put.ttl)
        if drops:
            pipe.delete(*[PREFIX + k for k in drops])
        await pipe.execute()


class DatabaseState:
    """In the back office's database, through the channels' port (either adapter)."""

    def __init__(self, backoffice: Backoffice) -> None:
        self.backoffice = backoffice

    async def claim(self, put: StatePut, read: Sequence[str] = ()) -> StateClaim:
        return await self.backoffice.state_claim(put, read)

    async def read(self, keys: Sequence[str]) -> dict[str, Value]:
        return await self.backoffice.state_read(keys)

    async def write(self, puts: Sequence[StatePut], drops: Sequence[str] = ()) -> None:
        await self.backoffice.state_write(puts, drops)


def shared_state(redis: Redis | None, backoffice: Backoffice) -> SharedState:
    return RedisState(redis) if redis is not None else DatabaseState(backoffice)


def _dump(value: Value) -> str:
    return json.dumps(value, ensure_ascii=False)


class EventReused(Exception):
    """An event id seen before with another body: never answered with that event's answer."""


@dataclass(frozen=True, slots=True)
class Once:
    """What makes an event run once: its key and the digest of its body."""

    key: str
    digest: str


@dataclass(frozen=True, slots=True)
class Begun:
    """`first`: this request runs the turn, on `call` (None: no call in progress);
    otherwise the event was seen before: its `answer` (None while its first request still
    runs), when that began (`since`) and when it was answered (`at`), in Unix seconds."""

    first: bool
    call: Value | None = None
    answer: list[dict[str, Any]] | None = None
    since: float = 0.0
    at: float = 0.0


class CallStore:
    """The IVR's calls in progress (a JSON-able dict by call id), and the events seen: an
    event is recorded with its first sight before its turn runs (atomically, with the call
    read in the same step), and its answer stored with the call's new state after it."""

    def __init__(self, state: SharedState, ttl: int = CALL_TTL, event_ttl: int = EVENT_TTL
                 ) -> None:
        self.state = state
        self.ttl = ttl
        self.event_ttl = event_ttl

    @staticmethod
    def key(call_id: str) -> str:
        return f"ivr:call:{call_id}"

    async def get(self, call_id: str) -> Value | None:
        return (await self.state.read([self.key(call_id)])).get(self.key(call_id))

    async def put(self, call_id: str, call: Value) -> None:
        await self.state.write([StatePut(self.key(call_id), call, self.ttl)])

    async def drop(self, call_id: str) -> None:
        await self.state.write([], [self.key(call_id)])

    async def begin(self, call_id: str, once: Once | None) -> Begun:
        """The call, and whether this request is the event's first sight (`EventReused` when
        its id was seen with another body)."""
        if once is None:
            return Begun(True, await self.get(call_id))
        mark = {"digest": once.digest, "since": time.time()}
        got = await self.state.claim(StatePut(once.key, mark, self.event_ttl),
                                     [self.key(call_id)])
        if got.claimed:
            return Begun(True, got.values.get(self.key(call_id)))
        return self._seen(got.values.get(once.key), once)

    async def seen(self, once: Once) -> Begun:
        """The event's record as it is now (its first request may have answered)."""
        return self._seen((await self.state.read([once.key])).get(once.key), once)

    @staticmethod
    def _seen(record: Value | None, once: Once) -> Begun:
        if record is not None and record.get("digest") != once.digest:
            raise EventReused(once.key)
        record = record or {}
        answer = record.get("answer")
        return Begun(False, answer=list(answer) if isinstance(answer, list) else None,
                     since=float(record.get("since") or 0), at=float(record.get("at") or 0))

    async def end(self, call_id: str, call: Value | None, once: Once | None,
                  answer: list[dict[str, Any]], at: float) -> None:
        """The call's new state (None: it ended) and the event's answer given `at` (Unix
        seconds), together."""
        puts = [] if call is None else [StatePut(self.key(call_id), call, self.ttl)]
        if once is not None:
            puts.append(StatePut(once.key, {"digest": once.digest, "answer": answer, "at": at},
                                 self.event_ttl))
        await self.state.write(puts, [] if call is not None else [self.key(call_id)])


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

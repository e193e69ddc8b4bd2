"""Several Rasa instances behind the gateway (XIAOBAO_RASA_URLS): one sender, one instance.

Rasa's lock store orders one sender's turns within an instance, not across instances
(RasaHQ/rasa#9213): two instances answering one sender at once would each read the tracker,
and the later write would drop the earlier turn's events. So the gateway picks the instance:

- A sender's home is its instance on a consistent-hash ring (channels.ring) of the URLs; every
  platform process computes the same home, and adding or removing an instance moves only the
  senders of that share.
- A sender is moved only when its home is down. An instance is taken out of rotation when a
  turn finds it down — connection refused, connection lost mid-turn, no answer in time — and
  comes back only after it has been out `down_seconds` and then a probe finds its model loaded
  (`GET /status`) and its action server answering (`GET /health`, when paired). A turn that
  fails with an answer (an HTTP error, Rasa's empty list) probes at once.
- Moving back: a sender returns to its home at its first turn after the home is back in
  rotation, never during a turn — the router runs a sender's turns one at a time
  (channels.router.TurnOrder), and each turn picks its instance when it starts. The tracker is
  shared (Rasa's SQL tracker store on PostgreSQL), so the conversation continues wherever its
  next turn runs, and Rasa's lock store on Redis is a second guard should two platform
  processes ever send one sender's turns to two instances at once.
- Sending a turn elsewhere: always when it never reached its instance (`refused`), and once
  when the connection broke mid-turn (`lost`: the process died — Rasa writes the turn's events
  in one transaction just before answering, so only a death in that last instant would let a
  message count twice). A turn that timed out may still be running: it is not sent again, it
  fails (the router queues the conversation for an agent).
- Each Rasa has its own action server (Rasa takes one action endpoint): the pair is the unit,
  and the probe that brings an instance back asks both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from channels.rasa import RasaClient, RasaUnavailable
from channels.ring import REPLICAS, HashRing

log = logging.getLogger("xiaobao.channels.rasa_pool")

DOWN_SECONDS = 5.0  # an instance found down stays out of rotation at least this long
PROBE_TIMEOUT = 3.0
UNVERIFIED = (401, 403, 404)  # Rasa answered, its HTTP API closed to us: it is up
# a failure that says the instance itself is down (as opposed to one turn going wrong)
INSTANCE_DOWN = ("refused", "lost", "timeout")


@dataclass(slots=True)
class Instance:
    name: str  # rasa-1, rasa-2, … in the order of XIAOBAO_RASA_URLS: in metrics and /healthz
    url: str
    client: RasaClient
    actions_url: str = ""
    out_since: float | None = None  # monotonic time it was taken out of rotation
    why: str = ""

    @property
    def in_rotation(self) -> bool:
        return self.out_since is None


class PoolMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        registry = registry or CollectorRegistry()
        self.turns = Counter("xiaobao_rasa_turns", "Turns sent to each Rasa instance, by "
                             "outcome (answered, refused, lost, timeout, answer)",
                             ["instance", "outcome"], registry=registry)
        self.seconds = Histogram("xiaobao_rasa_turn_seconds", "Latency of answered turns per "
                                 "Rasa instance", ["instance"], registry=registry)
        self.moved = Counter("xiaobao_rasa_moved_turns", "Turns answered by an instance other "
                             "than the sender's home (its home was down)", ["instance"],
                             registry=registry)
        self.in_rotation = Gauge("xiaobao_rasa_in_rotation", "1 while the gateway sends turns "
                                 "to the Rasa instance", ["instance"], registry=registry)


class RasaPool:
    """The gateway's Rasa: `turn` as RasaClient's, sent to the sender's instance."""

    def __init__(self, urls: Sequence[str], *, actions_urls: Sequence[str] = (),
                 token: str = "", timeout: float = 30.0, connect_timeout: float = 3.0,
                 down_seconds: float = DOWN_SECONDS, replicas: int = REPLICAS,
                 registry: CollectorRegistry | None = None) -> None:
        urls = [u.rstrip("/") for u in urls]
        if actions_urls and len(actions_urls) != len(urls):
            raise ValueError("one action server per Rasa instance, in the same order")
        pairs = list(actions_urls) or [""] * len(urls)
        self.instances = [Instance(f"rasa-{i + 1}", url, RasaClient(url, timeout=timeout,
                                                                    connect_timeout=connect_timeout),
                                   pairs[i].rstrip("/"))
                          for i, url in enumerate(urls)]
        self.by_url = {i.url: i for i in self.instances}
        self.ring = HashRing([i.url for i in self.instances], replicas)
        self.token = token
        self.down_seconds = down_seconds
        self.metrics = PoolMetrics(registry)
        for inst in self.instances:
            self.metrics.in_rotation.labels(inst.name).set(1)
        self._watching: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None

    # ---- routing ---------------------------------------------------------------------------

    def home(self, sender: str) -> Instance:
        return self.by_url[self.ring.home(sender)]

    def candidates(self, sender: str) -> list[Instance]:
        """The ring's order from the sender's point, instances out of rotation left out —
        unless all are out: then all, in that order (a mark may be older than a restart)."""
        order = [self.by_url[url] for url in self.ring.walk(sender)]
        return [i for i in order if i.in_rotation] or order

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]
                   ) -> list[dict[str, Any]]:
        home = self.home(sender)
        failure: RasaUnavailable | None = None
        resent = False
        for inst in self.candidates(sender):
            started = time.perf_counter()
            try:
                answer = await inst.client.turn(sender, text, metadata)
            except RasaUnavailable as exc:
                failure = exc
                self.metrics.turns.labels(inst.name, exc.kind).inc()
                self._failed(inst, exc)
                if exc.kind == "refused" or (exc.kind == "lost" and not resent):
                    resent = resent or exc.kind == "lost"
                    continue
                raise
            self.metrics.turns.labels(inst.name, "answered").inc()
            self.metrics.seconds.labels(inst.name).observe(time.perf_counter() - started)
            if inst is not home:
                self.metrics.moved.labels(inst.name).inc()
            return answer
        assert failure is not None
        raise failure

    def _failed(self, inst: Instance, exc: RasaUnavailable) -> None:
        if exc.kind in INSTANCE_DOWN:
            self.take_out(inst, exc.kind)
        else:
            self._watch(inst, at_once=True)

    def take_out(self, inst: Instance, why: str) -> None:
        if inst.in_rotation:
            log.warning("Rasa instance %s out of rotation (%s): its senders go to the next "
                        "instance on the ring", inst.name, why)
            inst.out_since, inst.why = time.monotonic(), why
            self.metrics.in_rotation.labels(inst.name).set(0)
        self._watch(inst)

    def _bring_back(self, inst: Instance) -> None:
        if not inst.in_rotation:
            log.warning("Rasa instance %s back in rotation: its senders return at their next "
                        "turn", inst.name)
        inst.out_since, inst.why = None, ""
        self.metrics.in_rotation.labels(inst.name).set(1)

    # ---- probes ----------------------------------------------------------------------------

    def _watch(self, inst: Instance, at_once: bool = False) -> None:
        """One watcher per instance: probes until the instance is up, then ends."""
        task = self._watching.get(inst.name)
        if task is None or task.done():
            self._watching[inst.name] = asyncio.create_task(self._watcher(inst, at_once))

    async def _watcher(self, inst: Instance, at_once: bool) -> None:
        if at_once:  # one turn failed with an answer: is the pair still whole?
            why = await self.probe(inst)
            if why is None:
                return
            self.take_out(inst, why)
        while True:
            assert inst.out_since is not None
            left = inst.out_since + self.down_seconds - time.monotonic()
            await asyncio.sleep(max(left, 0.0) or self.down_seconds / 5)
            why = await self.probe(inst)
            if why is None:
                self._bring_back(inst)
                return
            inst.why = why

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT))
        return self._session

    async def probe(self, inst: Instance) -> str | None:
        """None when the instance has its model loaded and its action server answers; else
        why not (a fixed code)."""
        params = {"token": self.token} if self.token else {}
        try:
            async with self._client().get(f"{inst.url}/status", params=params) as response:
                body = await response.json(content_type=None) if response.status == 200 \
                    else None
                if response.status not in UNVERIFIED and not (
                        isinstance(body, dict) and body.get("model_file")):
                    return "model_not_loaded" if response.status in (200, 409) \
                        else f"http_{response.status}"
            if inst.actions_url:
                async with self._client().get(f"{inst.actions_url}/health") as response:
                    if response.status != 200:
                        return "actions_down"
        except TimeoutError:
            return "timeout"
        except (aiohttp.ClientError, ValueError, OSError):
            return "refused"
        return None

    def states(self) -> dict[str, dict[str, str]]:
        """Each instance's routing state, for /healthz: no URL leaves this module."""
        return {i.name: ({"routing": "in"} if i.in_rotation
                         else {"routing": "out", "detail": i.why})
                for i in self.instances}

    async def close(self) -> None:
        for task in self._watching.values():
            task.cancel()
        await asyncio.gather(*self._watching.values(), return_exceptions=True)
        for inst in self.instances:
            await inst.client.close()
        if self._session is not None:
            await self._session.close()

"""Whether the bot can answer: the Rasa server (its model loaded) and the action server,
probed the way Rasa exposes it.

- Rasa: `GET /status` (with the API token when one is configured) answers 200 with the loaded
  model, 409 while no model is loaded. Rasa loads its model before it listens, so while it
  starts a connection is refused; a proxy in front answers 502/503. A Rasa without
  `--enable-api` (404) or with another token (401/403) still answered over HTTP after its
  model loaded: it counts as up, the model unverified.
- Action server: `GET /health` answers 200 once the actions are imported.

A part never seen up since this process started is `starting`; one seen up before and not
answering now is `down`. Results are cached a few seconds and one probe runs at a time, so
hammering `/healthz` costs Rasa one request per period. Details are fixed codes: no URL,
token or exception text ever leaves this module.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import aiohttp

CACHE_SECONDS = 3.0
PROBE_TIMEOUT = 3.0
UNVERIFIED = (401, 403, 404)  # Rasa answered, its HTTP API is closed to us


@dataclass(frozen=True, slots=True)
class PartState:
    """One part's state: `up`, `starting`, `down` or `not_checked` (no URL configured)."""

    state: str
    detail: str = ""
    model: str | None = None

    @property
    def ready(self) -> bool:
        return self.state in ("up", "not_checked")

    def as_dict(self) -> dict[str, str]:
        out = {"state": self.state}
        if self.detail:
            out["detail"] = self.detail
        if self.model:
            out["model"] = self.model
        return out


@dataclass(frozen=True, slots=True)
class _Answer:
    ok: bool
    detail: str = ""
    model: str | None = None


class BotReadiness:
    """The bot's parts as the platform sees them (`bot`: Rasa, `actions`: the action server).
    `actions_url` empty: the action server is not probed (another network reaches it).

    Several Rasa instances (a list of URLs, XIAOBAO_RASA_URLS), each with its own action
    server when as many action URLs are given: every one is probed; `bot` and `actions` are
    up while at least one instance is (the gateway routes around the others), and
    `instances()` reports each — `rasa-1`, `rasa-2`, … as the gateway's metrics name them."""

    PARTS = ("bot", "actions")

    def __init__(self, rasa_url: str | Sequence[str], rasa_token: str = "",
                 actions_url: str | Sequence[str] = "", *,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self.rasa_urls = [u.rstrip("/") for u in _listed(rasa_url)]
        self.rasa_url = self.rasa_urls[0]
        self.rasa_token = rasa_token
        self.actions_urls = [u.rstrip("/") for u in _listed(actions_url) if u]
        self.actions_url = self.actions_urls[0] if self.actions_urls else ""
        self.cache_seconds = cache_seconds
        self.seen_up: set[str] = set()
        self._cached: dict[str, PartState] | None = None
        self._instances: dict[str, dict[str, str]] = {}
        #: the gateway's routing state per instance (channels.rasa_pool.RasaPool.states)
        self.routing: Callable[[], dict[str, dict[str, str]]] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    @property
    def several(self) -> bool:
        return len(self.rasa_urls) > 1

    @property
    def paired(self) -> bool:
        return self.several and len(self.actions_urls) == len(self.rasa_urls)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def answered(self) -> None:
        """A turn came back: Rasa is up, whatever the cache says."""
        self.seen_up.add("bot")

    async def parts(self) -> dict[str, PartState]:
        """Each part's state, probed at most once per `cache_seconds` (one probe at a time:
        concurrent callers share it)."""
        async with self._lock:
            if self._cached is None or time.monotonic() - self._at >= self.cache_seconds:
                self._cached = await self._probe()
                self._at = time.monotonic()
            return self._cached

    async def ready(self) -> bool:
        return all(p.ready for p in (await self.parts()).values())

    async def starting(self) -> bool:
        """Whether a part is not ready and was never up: the bot has not started yet."""
        return any(p.state == "starting" for p in (await self.parts()).values())

    async def instances(self) -> dict[str, dict[str, str]]:
        """Each Rasa instance (with its action server when paired) and, once the gateway
        routes, whether it takes turns; empty with one instance."""
        await self.parts()
        routing = self.routing() if self.routing is not None else {}
        return {name: {**state, **routing.get(name, {})}
                for name, state in self._instances.items()}

    async def _probe(self) -> dict[str, PartState]:
        if not self.several:
            rasa, actions = await asyncio.gather(self._rasa(self.rasa_url),
                                                 self._actions(self.actions_url))
            return {"bot": self._state("bot", rasa),
                    "actions": self._state("actions", actions)}
        rasas = await asyncio.gather(*(self._rasa(u) for u in self.rasa_urls))
        actions = await asyncio.gather(*(self._actions(u) for u in self.actions_urls)) \
            if self.actions_urls else [None]
        bots = [self._state(f"bot-{i + 1}", a) for i, a in enumerate(rasas)]
        helpers = [self._state(f"actions-{i + 1}", a) for i, a in enumerate(actions)]
        self._instances = {}
        for i, bot in enumerate(bots):
            state = bot.as_dict()
            if self.paired:
                state["actions"] = helpers[i].state
            self._instances[f"rasa-{i + 1}"] = state
        return {"bot": self._overall("bot", bots), "actions": self._overall("actions", helpers)}

    def _overall(self, part: str, states: list[PartState]) -> PartState:
        """Up while one instance is up; starting while none was ever up."""
        up = [s for s in states if s.state == "up"]
        if up:
            self.seen_up.add(part)
            return up[0] if len(up) == len(states) else PartState(
                "up", f"{len(up)}_of_{len(states)}_up", up[0].model)
        if any(s.state == "not_checked" for s in states):
            return PartState("not_checked")
        return PartState("down" if part in self.seen_up else "starting", states[0].detail)

    def _state(self, part: str, answer: _Answer | None) -> PartState:
        if answer is None:
            return PartState("not_checked")
        if answer.ok:
            self.seen_up.add(part)
            return PartState("up", answer.detail, answer.model)
        return PartState("down" if part in self.seen_up else "starting", answer.detail)

    async def _get(self, url: str, params: dict[str, str]) -> tuple[int, object] | str:
        """(status, JSON body or None), or the code of why nothing answered."""
        try:
            async with self._client().get(url, params=params) as response:
                try:
                    body: object = await response.json(content_type=None)
                except ValueError:
                    body = None
                return response.status, body
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientConnectorError:
            return "refused"
        except (aiohttp.ClientError, ValueError, OSError):
            return "unreachable"

    async def _rasa(self, url: str) -> _Answer:
        params = {"token": self.rasa_token} if self.rasa_token else {}
        got = await self._get(f"{url}/status", params)
        if isinstance(got, str):
            return _Answer(False, got)
        status, body = got
        if status == 200 and isinstance(body, dict) and body.get("model_file"):
            return _Answer(True, model=PurePosixPath(str(body["model_file"])).name[:120])
        if status == 200:
            return _Answer(False, "model_not_loaded")
        if status == 409:  # Rasa's "No agent loaded"
            return _Answer(False, "model_not_loaded")
        if status in UNVERIFIED:
            return _Answer(True, "model_not_verified")
        return _Answer(False, f"http_{status}")

    async def _actions(self, url: str) -> _Answer | None:
        if not url:
            return None
        got = await self._get(f"{url}/health", {})
        if isinstance(got, str):
            return _Answer(False, got)
        status, _ = got
        return _Answer(True) if status == 200 else _Answer(False, f"http_{status}")


def _listed(urls: str | Sequence[str]) -> list[str]:
    return [urls] if isinstance(urls, str) else list(urls) or [""]

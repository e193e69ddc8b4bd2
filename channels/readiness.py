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
    `actions_url` empty: the action server is not probed (another network reaches it)."""

    PARTS = ("bot", "actions")

    def __init__(self, rasa_url: str, rasa_token: str = "", actions_url: str = "", *,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.rasa_token = rasa_token
        self.actions_url = actions_url.rstrip("/")
        self.cache_seconds = cache_seconds
        self.seen_up: set[str] = set()
        self._cached: dict[str, PartState] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

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

    async def _probe(self) -> dict[str, PartState]:
        rasa, actions = await asyncio.gather(self._rasa(), self._actions())
        return {"bot": self._state("bot", rasa), "actions": self._state("actions", actions)}

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

    async def _rasa(self) -> _Answer:
        params = {"token": self.rasa_token} if self.rasa_token else {}
        got = await self._get(f"{self.rasa_url}/status", params)
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

    async def _actions(self) -> _Answer | None:
        if not self.actions_url:
            return None
        got = await self._get(f"{self.actions_url}/health", {})
        if isinstance(got, str):
            return _Answer(False, got)
        status, _ = got
        return _Answer(True) if status == 200 else _Answer(False, f"http_{status}")

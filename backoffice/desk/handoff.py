"""The seam between the desk and the conversation router (interface 6).

The router owns the handoff queue: its service `backoffice.services.conversations` lists
conversations by state (`list_conversations(db, state=…)`), and
`backoffice.services.agent_desk.queue` adds how long each has waited. The desk reads the queue
only through `HandoffQueue`, so a failure on the router's side leaves the desk up with an empty
queue. Everything read from it is shown escaped.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from backoffice.store.db import Database

log = logging.getLogger("xiaobao.desk")

ListFn = Callable[..., Any]


class HandoffQueue:
    """Conversations waiting for an agent, or being served by one, from the router's service."""

    def __init__(self, list_fn: ListFn | None = None) -> None:
        self._list_fn = list_fn

    def _source(self) -> ListFn | None:
        if self._list_fn is not None:
            return self._list_fn
        try:
            module = importlib.import_module("backoffice.services.agent_desk")
        except ImportError:
            return None
        return getattr(module, "queue", None)

    @property
    def available(self) -> bool:
        return self._source() is not None

    def list(self, db: Database, state: str = "queued",
             queue: str | None = None) -> list[dict[str, Any]]:
        """The conversations in `state` (and the agents' `queue`, when given); an empty list
        when the router is not installed or fails (the desk must stay up when the router's
        side has a problem)."""
        source = self._source()
        if source is None:
            return []
        try:
            answer = source(db, state=state, **({"queue": queue} if queue else {}))
        except Exception:
            log.exception("the handoff queue could not be read")
            return []
        items = answer.get("items", []) if isinstance(answer, dict) else answer
        return [dict(item) for item in items if isinstance(item, dict)]

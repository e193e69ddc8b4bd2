"""A platform process's lease on the user messages it stores and answers.

Each `xiaobao serve` renews its lease (`platform_instances`, through the port) every
`interval` seconds for `seconds`. Another process takes over the pending messages of a process
whose lease ran out (`Backoffice.unanswered(takeover=True)`), bumping its generation in the
same transaction. A process that was only slow learns at its next renewal that its generation
changed and which of the messages it holds were taken: it must not answer those.

Before a process hands out an answer to a message it holds, `ours` says whether it may: at
once while the lease is fresh — the lease runs `seconds` from the start of the last renewal
that went through, and another process takes over only once it ran out by the database's
clock, so a fresh lease (more than `interval` left) is a safe margin for sending — and
otherwise after a renewal made now. A process that cannot renew (its back office away) for a
whole lease answers anyway: at least once rather than never.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from channels.port import Backoffice, BackofficeRefused, BackofficeUnavailable

log = logging.getLogger("xiaobao.channels.lease")

LEASE_SECONDS = 20
INTERVAL = 5.0
RETRY_PAUSE = 0.5  # between renewals tried while an answer waits for one


class InstanceLease:
    def __init__(self, backoffice: Backoffice, name: str, seconds: int = LEASE_SECONDS,
                 interval: float = INTERVAL, clock: Callable[[], float] | None = None) -> None:
        if not 0 < interval * 2 < seconds:
            raise ValueError("the lease must last more than twice the renewal interval")
        self.backoffice = backoffice
        self.name = name
        self.seconds = seconds
        self.interval = interval
        self._clock = clock
        self.generation: int | None = None
        self.valid_until = float("-inf")  # by the clock: when the lease may have run out
        self.held: set[int] = set()  # pending messages this process is answering
        self.taken: set[int] = set()  # of those, the ones another process took over
        self.renewals = 0
        self.takeovers_noticed = 0
        self._lock = asyncio.Lock()

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def fresh(self) -> bool:
        """More than a renewal interval of the lease is left: no process can take over a
        message of ours before an answer handed out now has gone."""
        return self.now() < self.valid_until - self.interval

    def hold(self, message_id: int | None) -> None:
        if message_id is not None:
            self.held.add(message_id)

    def release(self, message_id: int | None) -> None:
        self.held.discard(message_id)  # type: ignore[arg-type]
        self.taken.discard(message_id)  # type: ignore[arg-type]

    async def renew(self) -> None:
        """The lease renewed now (registered the first time); raises the port's errors."""
        async with self._lock:
            started = self.now()
            held = sorted(self.held)
            lease = await self.backoffice.renew_lease(self.name, self.generation,
                                                      self.seconds, held)
            if self.generation is not None and lease.generation != self.generation:
                self.takeovers_noticed += 1
                log.warning("this process's lease had run out and another process took over "
                            "%d of the %d message(s) it was answering: it leaves them to it",
                            len(lease.taken), len(held))
            self.generation = lease.generation
            self.taken.update(lease.taken)
            self.valid_until = started + self.seconds
            self.renewals += 1

    async def ours(self, message_id: int | None) -> bool:
        """Whether this process may hand out its answer to the message now."""
        if message_id is None:
            return True
        if not self.fresh():
            await self._renew_now()
        return message_id not in self.taken

    async def _renew_now(self) -> None:
        """A renewal now, tried again for up to a lease while the back office is away."""
        give_up = self.now() + self.seconds
        while not self.fresh():
            try:
                await self.renew()
                return
            except (BackofficeUnavailable, BackofficeRefused):
                if self.now() >= give_up:
                    log.warning("the lease could not be renewed for %d s: answering anyway",
                                self.seconds)
                    return
                await asyncio.sleep(RETRY_PAUSE)

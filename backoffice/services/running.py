"""How the event loop runs a use case: one policy for the API, the desk and the channels.

The store is synchronous SQLAlchemy. On PostgreSQL a use case waits on the network, so it runs
in a worker thread. On SQLite a short use case (about a millisecond, one writer at a time
anyway) runs on the loop itself: handing it to a thread costs more than it takes, as the thread
and the loop then queue for the GIL on every socket write (measured by bench.gateway). Use cases
that can run long (imports, statistics, OCR) are declared `heavy` and always get a thread, so
they never stall the loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class HasDialect(Protocol):
    @property
    def is_sqlite(self) -> bool: ...


async def run_use_case(db: HasDialect | None, fn: Callable[..., T], *args: Any,
                       heavy: bool = False, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` where the policy above says; `db` is the store it uses."""
    if db is not None and db.is_sqlite and not heavy:
        return fn(*args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs))


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Always in a worker thread (password hashing, file and CPU work)."""
    return await run_use_case(None, fn, *args, **kwargs)

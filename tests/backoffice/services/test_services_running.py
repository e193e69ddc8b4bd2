"""The one policy for running a use case from the event loop: SQLite's short use cases on the
loop, PostgreSQL's and the heavy ones in a worker thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from backoffice.services.running import in_thread, run_use_case


@dataclass
class Store:
    is_sqlite: bool


def where() -> int:
    return threading.get_ident()


@pytest.mark.parametrize(("store", "heavy", "on_loop"), [
    (Store(is_sqlite=True), False, True),
    (Store(is_sqlite=True), True, False),
    (Store(is_sqlite=False), False, False),
    (None, False, False),
])
async def test_where_a_use_case_runs(store: Store | None, heavy: bool, on_loop: bool) -> None:
    ran = await run_use_case(store, where, heavy=heavy)
    assert (ran == threading.get_ident()) is on_loop


async def test_in_thread_always_leaves_the_loop() -> None:
    assert await in_thread(where) != threading.get_ident()

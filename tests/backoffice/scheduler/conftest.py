"""Fixtures for the scheduler's tests (helpers in scheduler_world.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from scheduler_world import World, at

from backoffice.clock import ManualClock, manual_clock
from backoffice.store.db import Database


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    with manual_clock(at(date(2026, 6, 1), 10)) as c:
        yield c


@pytest.fixture
def world(db: Database, clock: ManualClock) -> World:
    return World(db, clock)

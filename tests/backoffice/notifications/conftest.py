"""Fixtures for the senders and the dispatcher: stand-in servers and queued notifications."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notify_helpers import T0
from notify_stubs import Stubs, running_stubs

from backoffice.clock import ManualClock, manual_clock


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    with running_stubs() as s:
        yield s


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    with manual_clock(T0) as c:
        yield c

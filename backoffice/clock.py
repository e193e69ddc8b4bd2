"""The one clock of the back office, and its local time zone. Tests (and drills) can set the
clock; production reads UTC.

Everything that stamps or compares times asks here, so a test can move a claim through
its 30-day clock, or a scheduler through a month of working days, in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# Times are stored in UTC and shown, dated and scheduled in Beijing time.
SHANGHAI = ZoneInfo("Asia/Shanghai")

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def utcnow() -> datetime:
    return _source()


class ManualClock:
    """A clock that stands still until moved."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)


@contextmanager
def manual_clock(at: datetime) -> Iterator[ManualClock]:
    """Run a block on a manual clock; the real clock comes back afterwards."""
    global _source
    previous, clock = _source, ManualClock(at)
    _source = clock
    try:
        yield clock
    finally:
        _source = previous

"""Limits on guessing (sign-in passwords, identity checks): growing delays, never a hard lock.

A key (a source address, an account tried from one address, an ID number) may fail `free`
times; each further failure makes the next try wait, the wait doubling per failure up to a
cap. Failures are forgotten once the key has been quiet for `forget`. Pure: the store keeps the
counts, this module says what they mean.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Limit:
    scope: str  # what is counted, e.g. "login.source"
    free: int  # failures allowed before any delay
    first_delay: timedelta
    cap: timedelta
    forget: timedelta  # quiet for this long → the count starts again

    def delay(self, failures: int) -> timedelta:
        """The wait after `failures` failures: none up to `free`, then doubling, capped."""
        if failures < self.free:
            return timedelta(0)
        doublings = min(failures - self.free, 20)  # 2**20 × any sane first delay > the cap
        return min(self.first_delay * 2**doublings, self.cap)


def source_key(remote: str | None) -> str:
    """The address to count by: an IPv6 client owns a whole /64, so it is counted as one;
    an unknown or malformed address is one shared key (it cannot slip out of the limit)."""
    try:
        address = ipaddress.ip_address((remote or "").split("%", 1)[0])
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def wait_seconds(until: datetime, now: datetime) -> int:
    """Whole seconds until `until`, at least one (an HTTP Retry-After)."""
    return max(1, math.ceil((until - now).total_seconds()))


def wait_text(until: datetime, now: datetime) -> str:
    """How long to wait, in Chinese, rounded up to the minute or second."""
    seconds = wait_seconds(until, now)
    if seconds < 60:
        return f"{seconds} 秒"
    return f"{math.ceil(seconds / 60)} 分钟"

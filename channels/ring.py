"""A consistent-hash ring: which of several Rasa instances serves a sender.

Each node is placed on a 64-bit circle at `replicas` points (virtual nodes: an even share for
each node, and when one leaves only its senders move, spread over all the others). A key goes
to the first node clockwise from its own point; `walk` continues past nodes that are down.

The points are BLAKE2b of text, never Python's `hash()` (salted per process): every platform
process must place a sender on the same instance. Written here rather than taken from a
library (uhashring, hash_ring): forty lines, no I/O, and the walk past nodes that are down —
which the gateway needs per turn without rebuilding the ring — is not in their API.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterator, Sequence

REPLICAS = 160  # points per node: the spread of the shares stays within a few per cent


def point(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class HashRing:
    """Nodes (names such as URLs; their order does not matter) on a circle of points."""

    def __init__(self, nodes: Sequence[str], replicas: int = REPLICAS) -> None:
        if not nodes:
            raise ValueError("a ring needs at least one node")
        if len(set(nodes)) != len(nodes):
            raise ValueError("nodes must be distinct")
        if replicas < 1:
            raise ValueError("replicas must be at least 1")
        self.nodes = tuple(nodes)
        placed = sorted((point(f"{node}#{i}"), node) for node in nodes for i in range(replicas))
        self._points = [p for p, _ in placed]
        self._owners = [n for _, n in placed]

    def walk(self, key: str) -> Iterator[str]:
        """Every node once, in the order met going clockwise from the key's point: the
        first is the key's home, the next its stand-in while the home is down."""
        start = bisect.bisect(self._points, point(key))
        seen: set[str] = set()
        for i in range(len(self._owners)):
            node = self._owners[(start + i) % len(self._owners)]
            if node not in seen:
                seen.add(node)
                yield node
                if len(seen) == len(self.nodes):
                    return

    def home(self, key: str) -> str:
        return next(self.walk(key))

"""The consistent-hash ring: stable, balanced, and a node leaving moves only its own keys."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from channels.ring import HashRing

NODES = ["http://rasa-a:5005", "http://rasa-b:5005", "http://rasa-c:5005"]
KEYS = [f"wechat:o{i:05d}" for i in range(6000)]


def test_every_key_walks_every_node_once_home_first() -> None:
    ring = HashRing(NODES)
    for key in KEYS[:200]:
        walked = list(ring.walk(key))
        assert sorted(walked) == sorted(NODES)
        assert walked[0] == ring.home(key)


def test_shares_are_even_within_a_few_per_cent() -> None:
    ring = HashRing(NODES)
    shares = Counter(ring.home(k) for k in KEYS)
    assert set(shares) == set(NODES)
    for node in NODES:
        assert abs(shares[node] / len(KEYS) - 1 / 3) < 0.06, shares


def test_the_node_order_does_not_matter() -> None:
    one, other = HashRing(NODES), HashRing(list(reversed(NODES)))
    assert all(one.home(k) == other.home(k) for k in KEYS)


def test_a_node_leaving_moves_only_its_keys_to_their_next_node() -> None:
    full = HashRing(NODES)
    without_b = HashRing([n for n in NODES if n != NODES[1]])
    for key in KEYS:
        if full.home(key) != NODES[1]:
            assert without_b.home(key) == full.home(key)
        else:  # the stand-in the full ring's walk names is where it goes
            assert without_b.home(key) == list(full.walk(key))[1]


def test_a_node_added_takes_about_its_share_and_nothing_else_moves() -> None:
    small = HashRing(NODES[:2])
    big = HashRing(NODES)
    moved = [k for k in KEYS if small.home(k) != big.home(k)]
    assert all(big.home(k) == NODES[2] for k in moved)
    assert 0.25 < len(moved) / len(KEYS) < 0.42


def test_another_process_places_keys_the_same_way() -> None:
    """Python's hash() is salted per process; the ring must not be."""
    ring = HashRing(NODES)
    here = [ring.home(k) for k in KEYS[:50]]
    code = (f"import json; from channels.ring import HashRing; r = HashRing({NODES!r}); "
            f"print(json.dumps([r.home(k) for k in {KEYS[:50]!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONHASHSEED": "12345", "PATH": ""}, cwd=".")
    assert json.loads(out.stdout) == here


@pytest.mark.parametrize("nodes, replicas", [([], 160), (["a", "a"], 160), (["a"], 0)])
def test_a_ring_refuses_what_cannot_route(nodes: list[str], replicas: int) -> None:
    with pytest.raises(ValueError):
        HashRing(nodes, replicas)


def test_hostile_keys_still_route() -> None:
    ring = HashRing(NODES)
    for key in ["", "\x00", "渠道:" * 1000, "\ud800".encode("utf-8", "surrogatepass").decode(
            "utf-8", "replace")]:
        assert ring.home(key) in NODES

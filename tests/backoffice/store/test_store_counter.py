"""Number series: distinct, consecutive, and safe under concurrent transactions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from backoffice.services.base import next_number, number
from backoffice.store.db import Database
from backoffice.store.models import Counter


def test_next_number_is_consecutive_per_series(db: Database) -> None:
    with db.transaction() as s:
        a = [next_number(s, "A2026") for _ in range(5)]
        b = [next_number(s, "E2026") for _ in range(2)]
    with db.transaction() as s:
        a.append(next_number(s, "A2026"))
    assert a == [1, 2, 3, 4, 5, 6]
    assert b == [1, 2]
    with db.read() as s:
        values = dict(s.execute(select(Counter.name, Counter.value)).all())
    assert values["A2026"] == 6 and values["E2026"] == 2


def test_a_rolled_back_number_is_given_again(db: Database) -> None:
    with db.transaction() as s:
        assert next_number(s, "S") == 1

    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.transaction() as s:
        assert next_number(s, "S") == 2
        raise Boom
    with db.transaction() as s:
        assert next_number(s, "S") == 2


def test_number_format(db: Database) -> None:
    with db.transaction() as s:
        assert number(s, "P", 2026, 10) == "P20260000000001"
        assert number(s, "P", 2026, 10) == "P20260000000002"
        assert number(s, "P", 2027, 10) == "P20270000000001"
        assert number(s, "G", 2026, 8) == "G202600000001"


@pytest.mark.parametrize("existing", [False, True], ids=["new-series", "existing-series"])
def test_next_number_from_several_threads(db: Database, existing: bool) -> None:
    """4 threads × 25 transactions each: 100 distinct numbers, 1..100, no gaps."""
    if existing:
        with db.transaction() as s:
            s.add(Counter(name="T", value=0))
    threads, per_thread = 4, 25
    barrier = threading.Barrier(threads)

    def work() -> list[int]:
        barrier.wait()  # all start together, so the first numbers race for the series row
        got = []
        for _ in range(per_thread):
            with db.transaction() as s:
                got.append(next_number(s, "T"))
        return got

    with ThreadPoolExecutor(threads) as pool:
        results = [f.result() for f in [pool.submit(work) for _ in range(threads)]]
    numbers = [n for r in results for n in r]
    assert len(numbers) == threads * per_thread
    assert sorted(numbers) == list(range(1, threads * per_thread + 1))
    for r in results:
        assert r == sorted(r)  # each thread sees its own numbers increase
    with db.read() as s:
        assert s.execute(select(Counter.value).where(Counter.name == "T")).scalar_one() == 100

"""Takeover with real processes (bench/takeover.py, one run per mode, a 3-second lease checked
every half second): three `xiaobao serve` on one database; the first holds WeChat messages it
acknowledged and has not answered.

- killed with SIGKILL and not restarted: the two others race for its messages and answer each
  exactly once, in each sender's order; started again under the same name, it answers none
  of them again;
- stopped (SIGSTOP) past its lease, then continued with its turns' answers arriving: the others
  answered, it drops its own, and it goes on answering new messages;
- slow (turns longer than the lease) but alive: it keeps its messages and answers each once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.takeover import run_once
from tests.conftest import BACKENDS, PG_URL


def _url(backend: str, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'takeover.db'}" if backend == "sqlite" else str(PG_URL)


def _exactly_once(figures: object, messages: int) -> None:
    why = str(figures)
    assert figures.messages == messages, why  # type: ignore[attr-defined]
    assert figures.once == messages and figures.duplicates == 0, why  # type: ignore[attr-defined]
    assert figures.lost == 0 and figures.out_of_order == 0, why  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_killed_process_messages_are_answered_by_the_others_once(
        backend: str, tmp_path: Path) -> None:
    figures = await run_once("kill", _url(backend, tmp_path), tmp_path)
    _exactly_once(figures, 18)
    # the survivors answered all of it, the victim (dead, then restarted) none
    assert sum(figures.answered_by.get(f"{who}:answered", 0) for who in ("second", "third")) \
        == 18, figures
    assert figures.after_restart == 0, figures
    # a 3 s lease checked every 0.5 s: taken over within lease + interval (+ the turns)
    assert figures.waits[-1] < 3 + 0.5 + 5, figures


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_process_stopped_past_its_lease_drops_what_was_taken_over(
        backend: str, tmp_path: Path) -> None:
    figures = await run_once("stop", _url(backend, tmp_path), tmp_path)
    _exactly_once(figures, 18 + 6)
    assert figures.answered_by.get("victim:answered") == 6, figures  # the new ones only
    assert sum(figures.answered_by.get(f"{who}:answered", 0) for who in ("second", "third")) \
        == 18, figures


async def test_a_slow_process_that_renews_keeps_its_messages(tmp_path: Path) -> None:
    figures = await run_once("slow", _url("sqlite", tmp_path), tmp_path)
    _exactly_once(figures, 18)
    assert figures.answered_by == {"victim:answered": 18}, figures

"""The complaint state machine and its regulatory clock (rules.md §2), as tables."""

from __future__ import annotations

from datetime import date

import pytest

from backoffice.domain import complaint as cp
from backoffice.domain.errors import Conflict, IllegalTransition, ValidationError

RECEIVED = date(2026, 9, 28)  # a Monday before the National Day holiday

# (track, told_on, today) → (due, days_left, warn, breached)
CLOCKS = [
    ("standard", None, date(2026, 9, 28), date(2026, 10, 13), 15, False, False),
    # calendar days: the National Day holiday does not stop the clock
    ("standard", None, date(2026, 10, 10), date(2026, 10, 13), 3, True, False),
    ("standard", None, date(2026, 10, 13), date(2026, 10, 13), 0, True, False),
    ("standard", None, date(2026, 10, 14), date(2026, 10, 13), -1, False, True),
    ("standard", date(2026, 10, 13), date(2026, 11, 1), date(2026, 10, 13), -19, False, False),
    ("standard", date(2026, 10, 14), date(2026, 10, 14), date(2026, 10, 13), -1, False, True),
    ("complex", None, date(2026, 10, 14), date(2026, 10, 28), 14, False, False),
    ("complex", None, date(2026, 10, 29), date(2026, 10, 28), -1, False, True),
    ("extended", None, date(2026, 11, 20), date(2026, 11, 27), 7, False, False),
    ("extended", None, date(2026, 11, 24), date(2026, 11, 27), 3, True, False),
    ("extended", None, date(2026, 11, 28), date(2026, 11, 27), -1, False, True),
]


@pytest.mark.parametrize(("track", "told", "today", "due", "left", "warn", "breached"), CLOCKS)
def test_clock(track: str, told: date | None, today: date, due: date, left: int, warn: bool,
               breached: bool) -> None:
    c = cp.clock(RECEIVED, today, track, told)
    assert (c.deadline.due, c.days_left, c.warn, c.breached) == (due, left, warn, breached)
    assert "投诉" in c.deadline.basis
    assert cp.due_date(RECEIVED, track) == due


def test_clock_text() -> None:
    assert cp.clock_text(cp.clock(RECEIVED, date(2026, 10, 1))) == "剩余 12 日（2026-10-13 到期）"
    assert cp.clock_text(cp.clock(RECEIVED, date(2026, 10, 13))).startswith("今日到期")
    assert cp.clock_text(cp.clock(RECEIVED, date(2026, 10, 16))).startswith("已超时 3 日")
    told = cp.clock(RECEIVED, date(2026, 10, 20), told_on=date(2026, 10, 12))
    assert cp.clock_text(told) == "已于 2026-10-12 告知处理结果，时限 2026-10-13"


# (status, action) → status after, or the error it raises
ALL = [(s, a) for s in cp.STATUSES for a in cp.ACTIONS]
MOVES = {
    ("received", "acknowledge"): "acknowledged",
    ("acknowledged", "assign"): "assigned",
    ("assigned", "assign"): "assigned",
    ("investigating", "assign"): "investigating",
    ("reopened", "assign"): "reopened",
    ("assigned", "note"): "investigating",
    ("investigating", "note"): "investigating",
    ("reopened", "note"): "investigating",
    ("investigating", "decide"): "decided",
    ("decided", "notify"): "notified",
    ("notified", "record_satisfaction"): "rated",
    ("notified", "close"): "closed",
    ("rated", "close"): "closed",
    ("notified", "reopen"): "reopened",
    ("rated", "reopen"): "reopened",
    ("closed", "reopen"): "reopened",
}
for _s in ("received", "acknowledged", "assigned", "investigating", "reopened"):
    MOVES[(_s, "classify")] = _s
for _s in ("acknowledged", "assigned", "investigating", "reopened"):
    MOVES[(_s, "extend")] = _s


def _do(c: cp.Complaint, action: str) -> None:
    {
        "acknowledge": lambda: c.acknowledge("a"),
        "assign": lambda: c.assign("handler1", "a"),
        "note": lambda: c.note("a"),
        "classify": lambda: c.classify("complex", "a"),
        "extend": lambda: c.extend("sup", True, "a"),
        "decide": lambda: c.decide("a"),
        "notify": lambda: c.notify("a"),
        "record_satisfaction": lambda: c.record_satisfaction(4, "a"),
        "close": lambda: c.close("a"),
        "reopen": lambda: c.reopen("a"),
    }[action]()


@pytest.mark.parametrize(("status", "action"), ALL)
def test_every_status_against_every_action(status: str, action: str) -> None:
    track = "complex" if action == "extend" else "standard"
    c = cp.Complaint(status=status, track=track, handler="handler1", notes=1)
    expected = MOVES.get((status, action))
    if expected is None:
        with pytest.raises(IllegalTransition):
            _do(c, action)
        assert c.status == status
    else:
        _do(c, action)
        assert c.status == expected
    assert (action in cp.allowed_actions(status)) == (expected is not None)


def test_the_whole_way_and_an_appeal() -> None:
    c = cp.Complaint(status=cp.RECEIVED)
    c.acknowledge("system")
    c.assign("wang", "lead")
    with pytest.raises(IllegalTransition):
        c.notify("wang")  # not decided yet
    c.note("wang")
    c.decide("wang")
    c.notify("wang")
    c.record_satisfaction(2, "customer")
    c.reopen("desk")
    assert (c.status, c.reopen_count, c.notes, c.track) == ("reopened", 1, 0, "standard")


def test_decide_needs_a_handler_and_a_note() -> None:
    with pytest.raises(ValidationError) as err:
        cp.Complaint(status="investigating", handler=None, notes=1).decide("a")
    assert err.value.field == "handler"
    with pytest.raises(ValidationError) as err:
        cp.Complaint(status="investigating", handler="h", notes=0).decide("a")
    assert err.value.field == "note"


def test_extension_needs_complex_and_a_supervisor() -> None:
    c = cp.Complaint(status="investigating", handler="h")
    with pytest.raises(ValidationError) as err:
        c.extend("sup", True, "h")
    assert err.value.field == "track"
    c.classify("complex", "h")
    with pytest.raises(ValidationError) as err:
        c.extend("someone", False, "h")
    assert err.value.field == "approved_by"
    c.extend("sup", True, "h")
    assert c.track == "extended"
    with pytest.raises(ValidationError):
        c.classify("standard", "h")


# (current track, step, today) → refused once the current clock is breached; a breach stays one.
# Received 28 Sep: the 15 days run to 13 Oct, the 30 to 28 Oct.
LONGER_LIMITS = [
    ("standard", "complex", date(2026, 10, 1), None),
    ("standard", "complex", date(2026, 10, 13), None),  # the due day itself: still on time
    ("standard", "complex", date(2026, 10, 14), "2026-10-13"),
    ("standard", "complex", date(2026, 12, 31), "2026-10-13"),
    ("complex", "extend", date(2026, 10, 20), None),
    ("complex", "extend", date(2026, 10, 28), None),
    ("complex", "extend", date(2026, 10, 29), "2026-10-28"),
    ("complex", "standard", date(2026, 10, 29), "2026-10-28"),
    # shortening while the longer limit still runs is honest: it may become a breach
    ("complex", "standard", date(2026, 10, 20), None),
    ("complex", "complex", date(2026, 10, 20), None),  # no change, nothing to refuse
]


@pytest.mark.parametrize(("track", "step", "today", "breached_due"), LONGER_LIMITS)
def test_no_longer_limit_once_breached(track: str, step: str, today: date,
                                       breached_due: str | None) -> None:
    c = cp.Complaint(status="investigating", track=track, handler="h", notes=1,
                     received_on=RECEIVED)

    def do() -> None:
        if step == "extend":
            c.extend("sup", True, "sup", today)
        else:
            c.classify(step, "h", today)

    if breached_due is None:
        do()
        assert c.track == ("extended" if step == "extend" else step)
        return
    with pytest.raises(Conflict) as err:
        do()
    assert err.value.field == "track" and breached_due in err.value.message
    assert "超时记录予以保留" in err.value.message
    assert c.track == track  # nothing changed
    assert cp.clock(RECEIVED, today, c.track).breached


def test_an_appeal_runs_a_fresh_clock_that_may_be_lengthened() -> None:
    appeal = date(2026, 12, 1)
    c = cp.Complaint(status="reopened", handler="h", received_on=appeal)
    c.classify("complex", "h", date(2026, 12, 10))
    assert c.track == "complex"


@pytest.mark.parametrize("score", [0, 6, "5", 4.0, True, None])
def test_bad_scores(score: object) -> None:
    with pytest.raises(ValidationError) as err:
        cp.check_score(score)
    assert err.value.field == "score"

"""An erasure finds the person's chats by what they said, not only by their binding: a web chat
(no binding, no phone on the conversation) where they typed their ID number or phone — also
grouped as people type it (139 2807 8521) — goes with its tracker events, and so does a tracker
sender whose events hold them with no conversation row at all (the bot's turns before the back
office stored a line). Another person's chat, and the tracker events of a sender who never
named them, stay. SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select

from backoffice.clock import ManualClock
from backoffice.services import conversations, demo, privacy_erasure, retention
from backoffice.store.db import Database
from backoffice.store.files import FileStore
from backoffice.store.models import Conversation
from tests.backoffice.services.test_privacy_erasure import PHONE, cover_ended, person, traces
from tests.backoffice.services.test_privacy_retention import (  # noqa: F401 (fixtures)
    CLOSED,
    clock,
    events,
    files,
    tracker,
    tracker_senders,
)


def said(tracker_: Engine, sender: str, text: str) -> None:
    with tracker_.begin() as conn:
        conn.execute(retention.events_table().insert().values(
            sender_id=sender, type_name="user", timestamp=CLOSED.timestamp(),
            intent_name="inform", action_name=None, data=json.dumps({"text": text})))


def test_chats_that_name_the_person_go_with_their_tracker_events(
    db: Database, files: FileStore, tracker: Engine, clock: ManualClock  # noqa: F811
) -> None:
    seeded = demo.seed(db, members=12, seed_value=5)
    p = person(db, seeded.sample_id_numbers[2])
    conversations.user_message(db, "web", "web-by-id", f"我的身份证号是{p.id_number}")
    said(tracker, "web:web-by-id", f"我的身份证号是{p.id_number}")
    grouped = f"{PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}"  # as people type it
    conversations.user_message(db, "web", "web-by-phone", f"回电请打{grouped}")
    events(tracker, "web:web-by-phone", CLOSED)
    said(tracker, "web:no-row", f"手机{PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}")  # no stored line
    conversations.user_message(db, "web", "web-other", "我想问保单")
    events(tracker, "web:web-other", CLOSED)
    assert set(tracker_senders(tracker)) == {"web:web-by-id", "web:web-by-phone", "web:no-row",
                                             "web:web-other"}

    cover_ended(db, p.id)
    summary = privacy_erasure.erase_person(db, p.id, "sup-1", files=files,
                                           tracker=retention.tracker_from_env())
    assert summary["deleted"]["conversations"] == 2
    assert tracker_senders(tracker) == {"web:web-other": 2}
    with db.read() as s:
        assert list(s.execute(select(Conversation.user_id)).scalars()) == ["web-other"]
    assert traces(db, [p.id_number, PHONE, grouped]) == {p.id_number: set(), PHONE: set(),
                                                         grouped: set()}

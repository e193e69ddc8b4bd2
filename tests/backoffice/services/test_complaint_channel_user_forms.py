"""A complaint's channel user comes bare from the bot (`o-openid`) or as a sender id from other
callers (`wechat:o-openid`, which the complaint's notices accept): either way the WeChat chat
of that user is the complaint's record — kept by the retention job while the complaint is, and
found by an erasure of the user's bound person. SQLite and PostgreSQL."""

from __future__ import annotations

from backoffice.clock import ManualClock
from backoffice.domain import retention as rt
from backoffice.services import complaints, demo, privacy_erasure, retention_job
from backoffice.store.db import Database
from backoffice.store.files import FileStore
from backoffice.store.models import ChannelBinding
from tests.backoffice.services.test_privacy_erasure import cover_ended, person
from tests.backoffice.services.test_privacy_retention import (  # noqa: F401 (fixtures)
    CLOSED,
    clock,
    conversation,
    conversation_ids,
    files,
)


def test_a_sender_id_complaint_keeps_its_chat_and_is_found_by_the_erasure(
    db: Database, files: FileStore, clock: ManualClock  # noqa: F811
) -> None:
    seeded = demo.seed(db, members=12, seed_value=5)
    p = person(db, seeded.sample_id_numbers[2])
    with db.transaction() as s:
        s.add(ChannelBinding(channel="wechat", user="o-forms", party_id=p.id))
    chat = conversation(db, "o-forms", CLOSED, channel="wechat")
    other = conversation(db, "o-unrelated", CLOSED, channel="wechat")
    made = complaints.intake(db, {
        "channel": "wechat", "user": "wechat:o-forms",
        "complainant": {"name": "匿名", "phone": "13700001111"}, "category": "service",
        "description": "客服态度不好"})
    clock.advance(days=200)  # past the transcripts' 180 days; the complaint is still open
    counts = retention_job.run(db, files, None)
    assert counts[rt.TRANSCRIPTS] == 1 and conversation_ids(db) == {chat}
    assert other not in conversation_ids(db)

    cover_ended(db, p.id)
    summary = privacy_erasure.erase_person(db, p.id, "sup-1", files=files)
    kept = {k["record"] for k in summary["kept"]}
    assert {f"complaint {made['complaint_no']}", f"conversation {chat}"} <= kept
    assert conversation_ids(db) == {chat}  # found by the channel user, not the phone

"""The retention job's pass (个人信息保存期限): what each purpose's period has ended for is
deleted (backoffice.services.retention), then the end of the archive rule anonymises claims
and finishes erasures (backoffice.services.privacy_erasure, which builds on retention)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete

from backoffice import clock
from backoffice.domain import retention as rt
from backoffice.services import privacy_erasure, retention
from backoffice.services.base import SHANGHAI, audit
from backoffice.store.db import Database
from backoffice.store.models import AttemptLimit


def run_from_env(db: Database, files: Any, *, dry_run: bool = False) -> dict[str, Any]:
    """One pass with the settings' rules and tracker store (the job, the CLI)."""
    tracker = retention.tracker_from_env()
    try:
        return run(db, files, tracker, dry_run=dry_run)
    finally:
        if tracker is not None:
            tracker.close()


def run(db: Database, files: Any, tracker: retention.TrackerStore | None, *,
        now: datetime | None = None, rules: rt.Rules | None = None,
        dry_run: bool = False) -> dict[str, Any]:
    """One pass: counts by purpose of what is due, and (unless `dry_run`) deleted. Without a
    file store the documents wait for a run that has one."""
    now = now or clock.utcnow()
    rules = rules or retention.load_rules()
    with db.transaction() as s:
        due = retention.plan(s, now, rules)
        counts: dict[str, Any] = due.counts()
        if dry_run:
            return {"dry_run": True, **counts}
        if files is None:
            due.documents, counts[rt.DOCUMENT_FILES] = [], 0
        convs = [i for ids in due.conversations.values() for i in ids]
        counts["tracker_events"] = retention.delete_conversations(s, convs, tracker)
        counts["files_removed"] = (retention.drop_files(s, due.documents, files, retention.ACTOR)
                                   if due.documents else 0)
        s.execute(delete(AttemptLimit).where(AttemptLimit.key.in_(due.attempts)))
    # the end of the archive rule: erase_person's own steps, each its own transaction
    counts.update(privacy_erasure.past_archive(db, files, tracker, now, rules))
    if any(counts[p] for p in (*rt.PURPOSES, "claims_anonymised", "erasures_completed")):
        with db.transaction() as s:
            audit(s, retention.ACTOR, "retention",
                  now.astimezone(SHANGHAI).date().isoformat(), "run", None, counts)
    return counts

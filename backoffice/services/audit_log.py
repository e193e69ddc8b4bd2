"""Reading the audit log: who changed what, when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backoffice.store.db import Database
from backoffice.store.models import AuditEntry


def entries(db: Database, entity_type: str, entity_id: str, limit: int = 500
            ) -> list[dict[str, Any]]:
    with db.read() as s:
        rows = s.execute(
            select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id).limit(limit)
        ).scalars()
        return [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
             "before": e.before, "after": e.after}
            for e in rows
        ]

"""Reading the audit log: who changed what, when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from backoffice.services.commands import Command, Text, takes
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, PolicyRow


class AuditQuery(Command):
    """Whose history: an entity's type ("policy", "claim"…) and id."""

    entity_type: Text(60, blank_ok=False)
    entity_id: Text(60, blank_ok=False)


@takes(AuditQuery)
def entries(db: Database, cmd: AuditQuery, actor: str, limit: int = 500
            ) -> list[dict[str, Any]]:
    """The entity's entries, oldest first (`actor` is not needed: a read)."""
    entity_type, entity_id = cmd.entity_type, cmd.entity_id
    with db.read() as s:
        ids = {entity_id}
        if entity_type == "policy":  # its history before issue is under the application number
            ids.update(n for n in s.execute(
                select(PolicyRow.application_no, PolicyRow.policy_no).where(or_(
                    PolicyRow.policy_no == entity_id, PolicyRow.application_no == entity_id))
            ).one_or_none() or () if n)
        rows = s.execute(
            select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id.in_(ids))
            .order_by(AuditEntry.id).limit(limit)
        ).scalars()
        return [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
             "before": e.before, "after": e.after}
            for e in rows
        ]

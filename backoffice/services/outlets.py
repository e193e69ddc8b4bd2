"""Service outlets (服务网点) as data, so the bot can answer "where can I go"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from backoffice.services.commands import Command, Text, takes
from backoffice.store.db import Database
from backoffice.store.models import ServiceOutlet

_FIELDS = ("code", "name", "town", "address", "phone", "opening_hours", "opening_hours_text",
           "services", "latitude", "longitude")


def install_outlets(db: Database, outlets: Iterable[Mapping[str, Any]]) -> int:
    """Insert or refresh outlets by code; returns how many were written."""
    written = 0
    with db.transaction() as s:
        existing = {o.code: o for o in s.execute(select(ServiceOutlet)).scalars()}
        for data in outlets:
            values = {k: data.get(k) for k in _FIELDS}
            row = existing.get(str(values["code"]))
            if row is None:
                s.add(ServiceOutlet(**values))
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
            else:
                continue
            written += 1
    return written


class ListOutlets(Command):
    """Outlets in a town (part of its name) offering a service; both optional."""

    town: Text(60) = None
    service: Text(60) = None


@takes(ListOutlets)
def list_outlets(db: Database, cmd: ListOutlets, actor: str) -> list[dict[str, Any]]:
    """The outlets by code (`actor` is not needed: a read)."""
    town, service = cmd.town, cmd.service
    with db.read() as s:
        stmt = select(ServiceOutlet).order_by(ServiceOutlet.code)
        if town:
            stmt = stmt.where(ServiceOutlet.town.contains(town, autoescape=True))
        rows = s.execute(stmt).scalars().all()
        return [
            {k: getattr(o, k) for k in _FIELDS}
            for o in rows
            if service is None or service in (o.services or [])
        ]

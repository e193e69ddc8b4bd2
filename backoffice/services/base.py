"""What every use case shares: the clock, audit entries, outbox events, number series."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from backoffice.clock import SHANGHAI
from backoffice.domain.errors import ValidationError
from backoffice.store.models import AuditEntry, Counter, OutboxEvent, utcnow


def today_cn(now: datetime | None = None) -> date:
    """Business dates are Beijing dates."""
    return (now or utcnow()).astimezone(SHANGHAI).date()


EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2999, 12, 31)


def business_date(day: date, field: str) -> date:
    """A date from outside that terms, ages and deadlines can be computed from (no overflow)."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(field, f"日期须在 {EARLIEST_DATE} 至 {LATEST_DATE} 之间")
    return day


def audit(
    session: Session,
    actor: str,
    entity_type: str,
    entity_id: str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(AuditEntry(
        actor=actor, entity_type=entity_type, entity_id=entity_id,
        action=action, before=before, after=after,
    ))


def emit(session: Session, topic: str, payload: dict[str, Any]) -> None:
    session.add(OutboxEvent(topic=topic, payload=payload))


def append_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert append-only rows (events, audit entries, outbox) in one executemany: no ORM
    identity bookkeeping and no RETURNING round trip per row."""
    if rows:
        session.execute(insert(model.__table__).inline(), rows)


def next_number(session: Session, series: str) -> int:
    """Next value of a number series, safe under concurrent transactions."""
    bumped = session.execute(
        update(Counter).where(Counter.name == series).values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar()
    if bumped is not None:
        return int(bumped)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(Counter).values(name=series, value=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": Counter.value + 1}
        )
        return int(session.execute(stmt.returning(Counter.value)).scalar_one())
    session.execute(insert(Counter).values(name=series, value=1))
    return 1


def number(session: Session, prefix: str, year: int, width: int) -> str:
    """P2026000123-style numbers: prefix, year, zero-padded series value."""
    return f"{prefix}{year}{next_number(session, f'{prefix}{year}'):0{width}d}"


def one(session: Session, stmt: Any) -> Any:
    return session.execute(stmt).scalar_one_or_none()


__all__ = ["SHANGHAI", "append_rows", "audit", "business_date", "emit", "next_number", "number",
           "one", "select", "today_cn"]

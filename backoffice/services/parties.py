"""Parties: registration and 信息更新 (contact and occupation changes kept as history)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain.errors import Conflict, NotFound
from backoffice.domain.identity import mask_id_number, mask_phone, parse_id_number
from backoffice.domain.party import PersonData, parse_party_update
from backoffice.services.base import audit, emit
from backoffice.store.db import Database
from backoffice.store.models import Party, PartyUpdate


def party_view(p: Party, *, masked: bool = True) -> dict[str, Any]:
    return {
        "name": p.name,
        "gender": p.gender,
        "birth_date": p.birth_date.isoformat(),
        "id_number": mask_id_number(p.id_number) if masked else p.id_number,
        "phone": (mask_phone(p.phone) if masked else p.phone) if p.phone else None,
        "address": p.address,
        "occupation": p.occupation,
        "occupation_class": p.occupation_class,
    }


def find_party(session: Session, id_number: str) -> Party | None:
    return session.execute(select(Party).where(Party.id_number == id_number)).scalar()


def ensure_party(session: Session, person: PersonData, actor: str, field: str) -> Party:
    """The party with this ID number, created if new; a different name is a conflict."""
    party = find_party(session, person.id_number)
    if party is None:
        party = Party(
            name=person.name, gender=person.gender, birth_date=person.birth_date,
            id_number=person.id_number, phone=person.phone, address=person.address,
            occupation=person.occupation, occupation_class=person.occupation_class,
        )
        session.add(party)
        session.flush()
        audit(session, actor, "party", str(party.id), "register", None,
              {"name": person.name, "id_number": mask_id_number(person.id_number)})
        return party
    if party.name != person.name:
        raise Conflict(f"身份证号已登记为另一姓名（{party.name[0]}**），请核对", f"{field}.name")
    return party


def apply_update(
    session: Session, party: Party, changes: dict[str, Any], actor: str, source: str
) -> dict[str, Any]:
    """Write the changed fields with their history; returns {field: [before, after]}."""
    done: dict[str, Any] = {}
    for key, value in changes.items():
        before = getattr(party, key)
        if before == value:
            continue
        setattr(party, key, value)
        session.add(PartyUpdate(party_id=party.id, field=key, before=_text(before),
                                after=_text(value), actor=actor, source=source))
        done[key] = [_masked(key, before), _masked(key, value)]
    if done:
        audit(session, actor, "party", str(party.id), "party_update",
              {k: v[0] for k, v in done.items()}, {k: v[1] for k, v in done.items()})
        emit(session, "party.updated", {"party_id": party.id, "fields": sorted(done)})
    return done


def update_party(
    db: Database, id_number: str, raw: dict[str, Any], actor: str, source: str = "api"
) -> dict[str, Any]:
    idn = parse_id_number(id_number).value
    changes = parse_party_update(raw)
    with db.transaction() as s:
        party = find_party(s, idn)
        if party is None:
            raise NotFound("未找到该身份证号对应的客户", "id_number")
        done = apply_update(s, party, changes, actor, source)
        return {"party": party_view(party), "changed": sorted(done)}


def get_party(db: Database, id_number: str) -> dict[str, Any]:
    idn = parse_id_number(id_number).value
    with db.read() as s:
        party = find_party(s, idn)
        if party is None:
            raise NotFound("未找到该身份证号对应的客户", "id_number")
        history = s.execute(
            select(PartyUpdate).where(PartyUpdate.party_id == party.id).order_by(PartyUpdate.id)
        ).scalars().all()
        return {
            "party": party_view(party),
            "updates": [
                {"field": h.field, "before": _masked(h.field, h.before),
                 "after": _masked(h.field, h.after), "actor": h.actor, "source": h.source,
                 "at": h.at.isoformat()}
                for h in history
            ],
        }


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _masked(field: str, value: object) -> object:
    if field == "phone" and isinstance(value, str):
        return mask_phone(value)
    return value

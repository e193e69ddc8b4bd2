"""Parties: registration and 信息更新 (contact and occupation changes kept as history)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ValidationInfo, WithJsonSchema, field_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.domain.identity import (
    check_id_consistency,
    mask_id_number,
    mask_phone,
    parse_id_number,
)
from backoffice.domain.party import (
    GENDERS,
    UPDATABLE_FIELDS,
    PersonData,
    parse_gender,
    parse_occupation_class,
)
from backoffice.services.base import audit, emit
from backoffice.services.commands import (
    Command,
    Day,
    IdNumber,
    PersonName,
    Phone,
    Text,
    domain_rule,
    takes,
)
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import Party, PartyUpdate


def _gender(value: Any, field: str) -> str | None:
    return None if value == "" else parse_gender(value, field)


OccupationClass = Annotated[int, domain_rule(parse_occupation_class),
                            WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 6})]
Gender = Annotated[str | None, domain_rule(_gender),
                   WithJsonSchema({"type": "string", "enum": [*GENDERS, "男", "女"]})]


class PersonIn(Command):
    """A person as a request gives them (an insured, an applicant). Birth date and gender
    may be left out: the ID number says them; given, they must agree with it."""

    name: PersonName
    id_number: IdNumber
    birth_date: Day | None = None  # before gender: the domain checks the date first
    gender: Gender = None
    phone: Phone
    address: Text(200) = None
    occupation: Text(60) = None
    occupation_class: OccupationClass | None = None

    @field_validator("birth_date", "gender")
    @classmethod
    def _agrees_with_id_number(cls, value: Any, info: ValidationInfo) -> Any:
        idn = info.data.get("id_number")
        if value is None or idn is None:  # a bad ID number is refused on its own
            return value
        stated = {"birth_date": None, "gender": None, info.field_name: value}
        try:
            check_id_consistency(parse_id_number(idn), stated["birth_date"], stated["gender"])
        except ValidationError as exc:
            raise ValueError(exc.message) from None
        return value

    def data(self) -> PersonData:
        idn = parse_id_number(self.id_number)
        return PersonData(name=self.name, gender=idn.gender, birth_date=idn.birth_date,
                          id_number=idn.value, phone=self.phone, address=self.address,
                          occupation=self.occupation, occupation_class=self.occupation_class)


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
    return session.execute(select(Party).where(
        Party.id_number_hash == keyed_hash("id_number", id_number))).scalar()


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


class UpdateParty(Command):
    """信息更新: the party by ID number, and the fields to change (at least one)."""

    id_number: IdNumber
    phone: Phone | None = None
    address: Text(200, blank_ok=False) | None = None
    occupation: Text(60, blank_ok=False) | None = None
    occupation_class: OccupationClass | None = None
    # who the person is does not change by an update; named here to be refused, not ignored
    name: SkipJsonSchema[Any] = None
    gender: SkipJsonSchema[Any] = None
    birth_date: SkipJsonSchema[Any] = None

    @field_validator("name", "gender", "birth_date", mode="before")
    @classmethod
    def _fixed(cls, value: Any, info: ValidationInfo) -> Any:
        allowed = ", ".join(UPDATABLE_FIELDS)
        raise ValueError(f"不能通过信息更新修改 {info.field_name}（可改：{allowed}）")

    def changes(self) -> dict[str, Any]:
        changes = {k: getattr(self, k) for k in UPDATABLE_FIELDS
                   if getattr(self, k) is not None}
        if not changes:
            raise ValidationError("body", "请提供要更新的字段")
        return changes


@takes(UpdateParty)
def update_party(db: Database, cmd: UpdateParty, actor: str, source: str = "api"
                 ) -> dict[str, Any]:
    changes = cmd.changes()
    with db.transaction() as s:
        party = find_party(s, cmd.id_number)
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

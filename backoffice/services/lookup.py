"""Who is covered by what: policies of an insured by ID number (individual and group)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Date, Integer, String, bindparam, cast, literal, null, select, union_all
from sqlalchemy.orm import Session, joinedload, load_only
from sqlalchemy.orm.attributes import set_committed_value

from backoffice.domain.policy import COVERED, STATUS_NAMES
from backoffice.domain.product import Product
from backoffice.domain.roster import REMOVAL_REASON_NAMES, last_covered_day
from backoffice.services.commands import Command, IdNumber, takes
from backoffice.services.parties import party_view
from backoffice.services.policies import coverage_view, policy_summary
from backoffice.services.products import load_product
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import Party, PolicyCoverage, PolicyRow, ProductRow, RosterMember

_INDIVIDUAL, _GROUP = 0, 1


def _policies_statement() -> Any:
    """The person, their policies, the policies' coverages and their products' version in
    ONE statement.

    Issued individual policies where the person is the insured (kind 0) and group policies
    with the person on the roster (kind 1, with the membership), individual first, each by
    policy id: the order of the two queries this replaces. No rows: unknown person, or no
    policies. Built once; the ID number's keyed hash is its only parameter.
    """
    party_id = select(Party.id).where(
        Party.id_number_hash == bindparam("id_number")).scalar_subquery()
    links = union_all(
        select(PolicyRow.id.label("policy_id"), literal(_INDIVIDUAL, Integer()).label("kind"),
               cast(null(), Date()).label("enrolled_on"),
               cast(null(), String()).label("member_status"),
               cast(null(), Date()).label("ended_on"),
               cast(null(), String()).label("end_reason"))
        .where(PolicyRow.insured_party_id == party_id, PolicyRow.policy_no.is_not(None)),
        select(RosterMember.policy_id, literal(_GROUP, Integer()), RosterMember.enrolled_on,
               RosterMember.status, RosterMember.ended_on, RosterMember.end_reason)
        .where(RosterMember.party_id == party_id),
    ).subquery("links")
    return (
        select(PolicyRow, Party, links.c.kind, links.c.enrolled_on, links.c.member_status,
               links.c.ended_on, links.c.end_reason, ProductRow.updated_at)
        .join(links, links.c.policy_id == PolicyRow.id)
        .join(Party, Party.id_number_hash == bindparam("id_number"))
        .outerjoin(ProductRow, ProductRow.code == PolicyRow.product_code)
        .options(
            # only what the views below read (anything else would load on access)
            load_only(PolicyRow.policy_no, PolicyRow.application_no, PolicyRow.product_code,
                      PolicyRow.kind, PolicyRow.status, PolicyRow.applicant_name,
                      PolicyRow.start_date, PolicyRow.end_date),
            load_only(Party.name, Party.gender, Party.birth_date, Party.id_number, Party.phone,
                      Party.address, Party.occupation, Party.occupation_class),
            joinedload(PolicyRow.coverages).load_only(
                PolicyCoverage.code, PolicyCoverage.name, PolicyCoverage.sum_insured_fen,
                PolicyCoverage.removed_on),
        )
        .order_by(links.c.kind, PolicyRow.id)
    )


_POLICIES = _policies_statement()
# Products as load_product gave them, by code, with the version (updated_at) they came from:
# a product whose row has not changed since is not fetched again.
_products: dict[str, tuple[datetime, Product]] = {}


def _product(s: Session, code: str, version: datetime | None) -> Product:
    known = _products.get(code)
    if known is not None and version is not None and known[0] == version:
        return known[1]
    product = load_product(s, code)  # NotFound as before if the row is gone
    if version is not None:
        _products[code] = (version, product)
    return product


class FindPolicies(Command):
    """Whose policies: the insured's ID number."""

    id_number: IdNumber


@takes(FindPolicies)
def policies_for_id_number(db: Database, cmd: FindPolicies, actor: str) -> list[dict[str, Any]]:
    """Issued individual policies where the person is insured, then group memberships
    (`actor` is not needed: a read).

    On PostgreSQL the read runs in autocommit mode: one statement needs no transaction, and
    that spares the BEGIN and ROLLBACK round trips (READ COMMITTED gives each statement its
    own snapshot either way). SQLite has no round trips to spare, and is slower so.
    """
    idn = cmd.id_number
    with db.read() as s:
        if not db.is_sqlite:
            s.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        s.autoflush = False  # a read: nothing to flush, ever
        rows = s.execute(_POLICIES, {"id_number": keyed_hash("id_number", idn)}).unique().all()
        items = []
        for row, party, kind, enrolled_on, member_status, ended_on, end_reason, version in rows:
            product = _product(s, row.product_code, version)
            if kind == _INDIVIDUAL:
                # as if loaded: plain assignment would make the row dirty, and the next
                # query's autoflush would UPDATE it (only some columns are loaded)
                set_committed_value(row, "insured", party)
                items.append(policy_summary(row, product))
                continue
            status = row.status if member_status == "active" else "removed"
            removed = {} if member_status == "active" or ended_on is None else {
                "end_reason": end_reason, "covered_until": last_covered_day(ended_on).isoformat()}
            status_text = STATUS_NAMES.get(status, "已退出")
            if removed:
                status_text = (f"已退出（{REMOVAL_REASON_NAMES.get(end_reason, '退出')}），"
                               f"保障至 {removed['covered_until']}")
            items.append({
                "policy_no": row.policy_no,
                "product_code": row.product_code,
                "product_name": product.name,
                "kind": "group",
                "status": status,
                "status_text": status_text,
                "applicant": {"name": row.applicant_name},
                "start_date": max(enrolled_on, row.start_date).isoformat()
                if row.start_date else None,
                "end_date": row.end_date.isoformat() if row.end_date else None,
                "enrolled_on": enrolled_on.isoformat(),
                "insured": party_view(party),
                "coverages": [coverage_view(c) for c in row.coverages if c.removed_on is None],
                "covered": status in COVERED,
                **removed,
            })
        return items

"""Who is covered by what: policies of an insured by ID number (individual and group)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backoffice.domain.identity import parse_id_number
from backoffice.domain.policy import COVERED, STATUS_NAMES
from backoffice.services.parties import find_party, party_view
from backoffice.services.policies import coverage_view, policy_summary
from backoffice.services.products import load_product
from backoffice.store.db import Database
from backoffice.store.models import PolicyRow, RosterMember


def policies_for_id_number(db: Database, id_number: str) -> list[dict[str, Any]]:
    """Issued individual policies where the person is insured, then group memberships."""
    idn = parse_id_number(id_number).value
    with db.read() as s:
        party = find_party(s, idn)
        if party is None:
            return []
        items = []
        individual = s.execute(
            select(PolicyRow)
            .where(PolicyRow.insured_party_id == party.id, PolicyRow.policy_no.is_not(None))
            .options(selectinload(PolicyRow.coverages))
            .order_by(PolicyRow.id)
        ).scalars().all()
        for row in individual:
            row.insured = party
            items.append(policy_summary(row, load_product(s, row.product_code)))
        memberships = s.execute(
            select(PolicyRow, RosterMember.enrolled_on, RosterMember.status)
            .join(RosterMember, RosterMember.policy_id == PolicyRow.id)
            .where(RosterMember.party_id == party.id)
            .options(selectinload(PolicyRow.coverages))
            .order_by(PolicyRow.id)
        ).all()
        for row, enrolled_on, member_status in memberships:
            product = load_product(s, row.product_code)
            status = row.status if member_status == "active" else "removed"
            items.append({
                "policy_no": row.policy_no,
                "product_code": row.product_code,
                "product_name": product.name,
                "kind": "group",
                "status": status,
                "status_text": STATUS_NAMES.get(status, "已退出"),
                "applicant": {"name": row.applicant_name},
                "start_date": max(enrolled_on, row.start_date).isoformat()
                if row.start_date else None,
                "end_date": row.end_date.isoformat() if row.end_date else None,
                "enrolled_on": enrolled_on.isoformat(),
                "insured": party_view(party),
                "coverages": [coverage_view(c) for c in row.coverages if c.removed_on is None],
                "covered": status in COVERED,
            })
        return items

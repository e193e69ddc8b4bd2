"""The claim types an insured's cover pays for, from the back office over HTTP."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.backoffice import ApiError, BackofficeDown
from actions.claim_types import ALL_TYPES
from actions.common import channel_user, client


async def covered_types(tracker: Tracker, insured: str | None) -> tuple[str, ...]:
    """The claim types the insured's policies in force pay for; every type when that cannot
    be told (no policy found, the back office down): the report still goes to a person then."""
    try:
        policies = await policies_of_insured(tracker, insured) if insured else []
        types: set[str] = set()
        for policy in policies:
            if policy.get("status") not in ("in_force", "premium_due", "grace_period"):
                continue
            product = await client().get(f"/products/{policy.get('product_code')}")
            held = {c.get("code") for c in policy.get("coverages") or []}
            for cov in product.get("coverages") or []:
                if not held or cov.get("code") in held:
                    types.update(cov.get("claim_types") or [])
    except (BackofficeDown, ApiError):
        return ALL_TYPES
    return tuple(t for t in ALL_TYPES if t in types) or ALL_TYPES


OPEN = ("in_force", "premium_due", "grace_period")


async def policies_for_claim(tracker: Tracker, insured: str | None,
                             claim_type: str | None) -> list[dict[str, Any]]:
    """The insured's policies in force that pay for `claim_type` (all in force when the type
    is not known yet); empty when they cannot be read."""
    if not insured:
        return []
    try:
        found = []
        for policy in await policies_of_insured(tracker, insured):
            if policy.get("status") not in OPEN:
                continue
            if claim_type and claim_type not in await _types_of(policy):
                continue
            found.append(policy)
    except (BackofficeDown, ApiError):
        return []
    return found


async def _types_of(policy: dict[str, Any]) -> set[str]:
    product = await client().get(f"/products/{policy.get('product_code')}")
    held = {c.get("code") for c in policy.get("coverages") or []}
    return {t for cov in product.get("coverages") or []
            if not held or cov.get("code") in held for t in cov.get("claim_types") or []}


async def policies_of_insured(tracker: Tracker, insured: str) -> list[dict[str, Any]]:
    """The insured's policies: by ID number, or through the binding when only that is known."""
    if "*" not in insured:
        return await client().policies_of(insured)
    channel, user = channel_user(tracker)
    bound = await client().binding(channel, user) or {}
    return [await client().policy(no) for no in list(bound.get("policies") or [])[:5]]

"""The API's operations on requests of the data subject that are more than their use case: the
answer carries the export's signed link, made with the platform's secret (the link is the
credential the person gets; backoffice.domain.privacy_request)."""

from __future__ import annotations

from typing import Any

from backoffice.api.declare import Call, reads
from backoffice.api.endpoints import FILES_KEY, TOKEN_KEY
from backoffice.services import privacy_requests as prs
from backoffice.services.running import run_use_case


def _with_link(call: Call, answer: dict[str, Any]) -> dict[str, Any]:
    answer["export_url"] = prs.export_url(call.request.app[TOKEN_KEY], answer)
    return answer


@reads(prs.PrivacyRequestIn)
async def create(call: Call, cmd: prs.PrivacyRequestIn) -> dict[str, Any]:
    return _with_link(call, await run_use_case(call.db, prs.create, call.db, cmd, call.actor))


@reads(prs.PrivacyRequestRef)
async def get(call: Call, cmd: prs.PrivacyRequestRef) -> dict[str, Any]:
    return _with_link(call, await run_use_case(call.db, prs.get, call.db, cmd, call.actor))


@reads(prs.PrivacyRequestStep)
async def step(call: Call, cmd: prs.PrivacyRequestStep) -> dict[str, Any]:
    return _with_link(call, await run_use_case(call.db, prs.step, call.db, cmd, call.actor,
                                               files=call.request.app.get(FILES_KEY)))

"""The supervisor's satisfaction figures on the desk: besides agent and queue, by claim type,
by the insured's age band and by town (the tender's analysis by age and area), from the same
figures as GET /api/v1/stats/satisfaction."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from desk_testkit import World
from sqlalchemy import select

from backoffice.domain.customer_answer import age_band, town_of
from backoffice.domain.product import CLAIM_TYPE_NAMES
from backoffice.services import satisfaction
from backoffice.services.base import today_cn
from backoffice.store.models import ClaimRow, Party, Task

Desk = Callable[[str | None], Awaitable[TestClient]]


async def test_the_supervisor_sees_ratings_by_claim_type_age_band_and_town(
        desk: Desk, world: World) -> None:
    with world.db.transaction() as s:
        assert satisfaction.ask(s, "claim", world.claim_no, "sms", "13811112222")
    satisfaction.record(world.db, {"subject_type": "claim", "subject_id": world.claim_no,
                                   "score": 2, "channel": "sms", "comment": "太慢"}, "customer")
    with world.db.read() as s:
        claim_type, birth, address = s.execute(
            select(ClaimRow.claim_type, Party.birth_date, Party.address)
            .join(Party, Party.id == ClaimRow.insured_party_id)
            .where(ClaimRow.claim_no == world.claim_no)).one()
    supervisor = await desk("claims_supervisor")
    board = await (await supervisor.get("/desk/supervisor")).text()
    kind = re.search(rf'<tr class="claim-type" data-type="{claim_type}">(.*?)</tr>', board, re.S)
    assert kind and CLAIM_TYPE_NAMES[claim_type] in kind.group(1) and "2.0" in kind.group(1)
    bands = re.findall(r'<tr class="age-band"><td>(.*?)</td>', board)
    towns = re.findall(r'<tr class="town"><td>(.*?)</td>', board)
    assert bands == [age_band(birth, today_cn())]
    assert towns == [town_of(address)]
    with world.db.read() as s:  # the low score reached the supervisor as a task
        assert s.execute(select(Task.assigned_to).where(Task.kind == "low_score")
                         ).scalars().all() == ["claims_supervisor"]
    figures = satisfaction.stats(world.db)
    assert figures["by_claim_type"] == [{"name": claim_type, "ratings": 1, "asked": 1,
                                         "average": 2.0}]
    agent = await desk("cs_agent")
    assert (await agent.get("/desk/supervisor")).status == 403

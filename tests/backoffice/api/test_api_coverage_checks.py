"""POST /coverage-checks ("我妈有没有参保"): yes or no for one product, nothing more; the chat
is not bound; every check counted like a guess. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from api_testkit import Api, id_number
from sqlalchemy import func, select
from test_api_claims_kit import Scheme, clock, scheme

from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, ChannelBinding

__all__ = ["clock", "scheme"]  # fixtures
PATH = "/coverage-checks"
ELDER = "CN-ELDER-ACC"


def ask(user: str, id_no: str, product: str = ELDER, **extra: str) -> dict[str, str]:
    return {"channel": "wechat", "user": user, "id_number": id_no, "product_code": product,
            **extra}


async def test_a_member_is_covered_and_nothing_more_is_told(api: Api, scheme: Scheme,
                                                            db: Database) -> None:
    member = scheme.members[0]
    answer = await api.post(PATH, ask("o-daughter", member), expect=200)
    assert answer == {"covered": True, "product_code": ELDER,
                      "product_name": "潮南区老年人意外伤害综合保险"}
    # no binding made: the daughter is not her mother to the bot
    await api.error("GET", "/bindings/wechat/o-daughter", 404, "not_found", "user")
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(ChannelBinding)).scalar_one() == 0
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "coverage.check")
                          ).scalars().one()
        assert entry.after["covered"] is True and entry.after["user"] == "o-daughter"
        assert member not in str(entry.after)


async def test_not_covered_unknown_or_of_another_product_is_a_plain_no(
        api: Api, scheme: Scheme) -> None:
    stranger = id_number(date(1950, 1, 1), 11, "440514")  # valid, nobody on file
    assert (await api.post(PATH, ask("o-1", stranger), expect=200))["covered"] is False
    # the insured of an individual policy only: not in the scheme
    assert (await api.post(PATH, ask("o-2", scheme.outsider), expect=200))["covered"] is False
    # their own policy is covered from the day after it was issued, not before
    assert (await api.post(PATH, ask("o-3", scheme.outsider, "PA-GUARD"),
                           expect=200))["covered"] is False
    scheme.clock.advance(days=1)
    assert (await api.post(PATH, ask("o-3", scheme.outsider, "PA-GUARD"),
                           expect=200))["covered"] is True


async def test_bad_input_names_the_field_and_counts_nothing(api: Api, scheme: Scheme) -> None:
    member = scheme.members[1]
    bad_check = member[:-1] + ("0" if member[-1] != "0" else "1")
    await api.error("POST", PATH, 400, "invalid", "id_number", ask("o-4", bad_check))
    await api.error("POST", PATH, 400, "invalid", "id_number", ask("o-4", "12345"))
    await api.error("POST", PATH, 400, "invalid", "channel",
                    {**ask("o-4", member), "channel": "fax"})
    await api.error("POST", PATH, 400, "invalid", "user", ask("", member))
    await api.error("POST", PATH, 400, "invalid", "product_code", ask("o-4", member, ""))
    await api.error("POST", PATH, 404, "not_found", "product_code", ask("o-4", member, "NOPE"))
    await api.error("POST", PATH, 400, "invalid", "body", [member])
    await api.error("POST", PATH, 401, "unauthorized", "Authorization",
                    ask("o-4", member), auth=False)


async def test_checks_are_limited_per_user_and_per_person_checked(api: Api,
                                                                 scheme: Scheme) -> None:
    base = date(1950, 3, 1)
    for k in range(5):  # a family checks a few elders
        await api.post(PATH, ask("o-lister", id_number(base + timedelta(days=k), 21, "440514")),
                       expect=200)
    err = await api.error("POST", PATH, 429, "too_many_attempts", "id_number",
                          ask("o-lister", scheme.members[0]))
    assert "客服热线" in err["message"]
    # one person checked from many chats: held up a while, other people still checked
    target = scheme.members[2]
    for k in range(5):
        await api.post(PATH, ask(f"o-many-{k}", target), expect=200)
    await api.error("POST", PATH, 429, "too_many_attempts", "id_number", ask("o-many-9", target))
    assert (await api.post(PATH, ask("o-many-9", scheme.members[0]), expect=200))["covered"]
    # and once the delay has passed the same person is answered again
    scheme.clock.advance(hours=2)
    assert (await api.post(PATH, ask("o-many-10", target), expect=200))["covered"] is True


async def test_two_checks_at_once_are_both_counted(api: Api, scheme: Scheme) -> None:
    base = date(1951, 4, 1)
    first = [api.post(PATH, ask("o-twice", id_number(base + timedelta(days=k), 31, "440514")),
                      expect=200) for k in range(4)]
    await asyncio.gather(*first)
    await api.post(PATH, ask("o-twice", scheme.members[0]), expect=200)  # the fifth
    await api.error("POST", PATH, 429, "too_many_attempts", "id_number",
                    ask("o-twice", scheme.members[1]))

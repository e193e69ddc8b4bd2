"""The desk an office works from: the search box (masking by role, hostile queries, the
audit of a look-up by ID or phone number), conversation history with closed transcripts,
CSV/XLSX exports of the lists (same filters and masking as the page, audited, formulas
defused) and the per-handler figures checked against a count made here from the raw tables."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from aiohttp.test_utils import TestClient
from desk_testkit import World
from openpyxl import load_workbook
from sqlalchemy import select, text, update

from backoffice.domain.staff import Actor
from backoffice.services import agent_desk, claims, conversations, satisfaction
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import AuditEntry, ClaimRow, ComplaintRow, Party, SatisfactionRow

Desk = Callable[[str | None], Awaitable[TestClient]]
PHONE = "13811112222"


def _party(world: World) -> Party:
    with world.db.read() as s:
        return s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", world.members[0]))).scalar_one()


def _results(page: str) -> str:
    """The results table alone (the search box shows the query as its user typed it)."""
    return page[page.index('<table id="search-results">'):]


def _audits(world: World, entity_type: str, action: str) -> list[AuditEntry]:
    with world.db.read() as s:
        return list(s.execute(select(AuditEntry).where(
            AuditEntry.entity_type == entity_type, AuditEntry.action == action)
            .order_by(AuditEntry.id)).scalars())


async def test_search_by_phone_id_and_number_with_masking_by_role(desk: Desk,
                                                                  world: World) -> None:
    supervisor = await desk("claims_supervisor")
    page = await (await supervisor.get(f"/desk/search?q={PHONE}")).text()
    assert world.claim_no in page and world.complaint_no in page and PHONE in page
    assert f'href="/desk/claims/{world.claim_no}"' in page
    person = _party(world)
    page = await (await supervisor.get(f"/desk/search?q={world.members[0]}")).text()
    assert world.members[0] in page and person.name in page
    assert f'href="/desk/search?party={person.id}"' in page
    # the customer service sees the same hits, numbers masked, and no link to a claim page
    agent = await desk("cs_agent")
    page = _results(await (await agent.get(f"/desk/search?q={world.members[0]}")).text())
    assert world.members[0] not in page and world.members[0][:6] + "********" in page
    assert person.phone not in page and world.claim_no in page
    assert f'href="/desk/claims/{world.claim_no}"' not in page
    page = _results(await (await agent.get(f"/desk/search?q={PHONE}")).text())
    assert PHONE not in page and "138****2222" in page and world.complaint_no in page
    # by a number, by a name's beginning, a person's everything
    for q in (world.claim_no, world.complaint_no, world.group_policy_no, person.name[:2]):
        page = await (await supervisor.get(f"/desk/search?q={q}")).text()
        assert 'id="search-results"' in page, q
    page = await (await supervisor.get(f"/desk/search?party={person.id}")).text()
    assert world.claim_no in page and world.group_policy_no in page
    # an underwriter sees people and policies, not claims or complaints
    underwriter = await desk("underwriter")
    page = await (await underwriter.get(f"/desk/search?q={world.members[0]}")).text()
    assert person.name in page and world.claim_no not in page
    # the search box is on every page
    assert 'id="search-box"' in await (await agent.get("/desk/")).text()


async def test_a_look_up_by_id_or_phone_is_audited(desk: Desk, world: World) -> None:
    agent = await desk("cs_agent")
    await agent.get(f"/desk/search?q={world.members[0]}")
    await agent.get("/desk/search?q=13999990000")  # nobody: audited under `search`
    person = _party(world)
    looked = _audits(world, "party", "searched")
    assert [(e.actor, e.entity_id) for e in looked] == [("agent.li", str(person.id))]
    assert looked[0].after["query"] == world.members[0][:6] + "********" + world.members[0][-4:]
    nobody = _audits(world, "search", "searched")
    assert [(e.actor, e.entity_id, e.after["query"]) for e in nobody] == [
        ("agent.li", "phone", "139****0000")]
    # a name or a claim number is not a look-up of a person's numbers
    await agent.get(f"/desk/search?q={world.claim_no}")
    assert len(_audits(world, "party", "searched")) == 1


async def test_hostile_queries_are_bounded_never_a_server_error(desk: Desk,
                                                                world: World) -> None:
    client = await desk("claims_supervisor")
    for q in ("' OR 1=1 --", "%", "%%", "_", "__", "林%", "%25", "a" * 101, "ab%01cd",
              "%0D%0A=cmd", "%E2%80%AE%E2%80%AE", "1", "#", "\\\\", "%F0%9F%98%80%F0%9F%98%80",
              "13811112222' OR '1'='1", "%00ab"):
        resp = await client.get(f"/desk/search?q={q}")
        body = await resp.text()
        assert resp.status in (200, 400), (q, resp.status)
        assert world.claim_no not in body, q  # no wildcard ever matched everything
    too_long = await client.get("/desk/search?q=" + "a" * 101)
    assert too_long.status == 400 and "100" in await too_long.text()
    short = await client.get("/desk/search?q=x")
    assert short.status == 400 and "至少 2 个字符" in await short.text()
    assert (await client.get("/desk/search?party=abc")).status == 400
    assert (await client.get("/desk/search?party=99999999")).status == 200


async def test_closed_conversations_and_their_transcripts(desk: Desk, world: World) -> None:
    cid = world.conversation_id
    conversations.take(world.db, {"conversation_id": cid}, Actor("agent.li", "cs_agent"))
    conversations.agent_message(world.db, {"conversation_id": cid, "text": "您好，已为您查询"},
                                Actor("agent.li", "cs_agent"))
    agent_desk.close(world.db, {"conversation_id": cid, "disposition": "已解决"},
                     Actor("agent.li", "cs_agent"))
    supervisor = await desk("claims_supervisor")
    listed = await (await supervisor.get("/desk/conversations?state=closed")).text()
    assert f'data-id="{cid}" data-state="closed"' in listed
    assert f'data-id="{cid}"' not in await (await supervisor.get(
        "/desk/conversations?state=queued")).text()
    assert f'data-id="{cid}"' not in await (await supervisor.get(
        "/desk/conversations?channel=ivr")).text()
    page = await (await supervisor.get(f"/desk/conversations/{cid}")).text()
    for said in ("我要转人工", "好的，正在为您转接人工客服。", "您好，已为您查询", "已解决",
                 "客户询问理赔进度"):
        assert said in page, said
    assert 'data-role="bot"' in page and 'data-role="agent"' in page and PHONE in page
    agent = await desk("cs_agent")  # the number the customer typed is masked for an agent
    page = await (await agent.get(f"/desk/conversations/{cid}")).text()
    assert PHONE not in page and "138****2222" in page
    for bad in ("/desk/conversations?state=gone", "/desk/conversations?channel=%00",
                "/desk/conversations/abc", "/desk/conversations/99999999"):
        assert (await supervisor.get(bad)).status in (400, 404), bad
    adjuster = await desk("claims_adjuster")
    assert (await adjuster.get(f"/desk/conversations/{cid}")).status == 403


async def test_the_claims_list_as_csv_and_xlsx_matches_the_database_and_is_audited(
        desk: Desk, world: World) -> None:
    client = await desk("claims_supervisor")
    page = await (await client.get("/desk/claims")).text()
    assert "<title>理赔队列</title>" in page and 'id="export-claims-xlsx"' in page
    resp = await client.get("/desk/claims?format=xlsx")
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(await resp.read()))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:2] == ("报案号", "状态")
    with world.db.read() as s:
        expected = s.execute(select(ClaimRow.claim_no).order_by(ClaimRow.id.desc())).scalars()
        assert [r[0] for r in rows[1:]] == list(expected)
    resp = await client.get("/desk/claims?format=csv&status=closed")
    text_ = (await resp.read()).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text_))) == [[
        "报案号", "状态", "案件类型", "出险日期", "经办人", "处理通道", "最近时限", "已超时"]]
    audits = _audits(world, "export", "exported")
    assert [(e.actor, e.entity_id, e.after["format"], e.after["rows"]) for e in audits] == [
        ("supervisor.zhao", "claims", "xlsx", len(rows) - 1), ("supervisor.zhao", "claims",
                                                                "csv", 0)]
    assert audits[1].after["filters"] == {"status": "closed"}
    assert (await client.get("/desk/claims?format=pdf")).status == 400
    assert (await client.get("/desk/claims?format=csv&status=gone")).status == 400
    agent = await desk("cs_agent")  # a list the role may not see: no export either
    assert (await agent.get("/desk/claims?format=csv")).status == 403


async def test_exports_mask_as_the_page_does_and_defuse_formulas(desk: Desk,
                                                                 world: World) -> None:
    agent = await desk("cs_agent")
    resp = await agent.get("/desk/complaints?format=csv")
    body = (await resp.read()).decode("utf-8-sig")
    assert world.complaint_no in body and PHONE not in body and "138****2222" in body
    handler = await desk("complaint_handler")
    body = (await (await handler.get("/desk/complaints?format=csv")).read()).decode("utf-8-sig")
    assert PHONE in body
    # a channel user named like a formula is written as text
    conversations.user_message(world.db, "web", "=HYPERLINK(\"http://x\")", "你好")
    conversations.user_message(world.db, "web", "@SUM(1+1)", "你好")
    supervisor = await desk("claims_supervisor")
    body = (await (await supervisor.get("/desk/conversations?format=csv")).read()
            ).decode("utf-8-sig")
    users = {row[2] for row in csv.reader(io.StringIO(body))}
    assert "'=HYPERLINK(\"http://x\")" in users and "'@SUM(1+1)" in users
    book = load_workbook(io.BytesIO(await (await supervisor.get(
        "/desk/conversations?format=xlsx")).read()))
    cells = [c.value for row in book.active.iter_rows() for c in row]
    assert "'=HYPERLINK(\"http://x\")" in cells
    assert all(c.data_type != "f" for row in book.active.iter_rows() for c in row)
    for path in ("/desk/appeals", "/desk/home-visits", f"/desk/search?q={PHONE}"):
        resp = await supervisor.get(path + ("&" if "?" in path else "?") + "format=xlsx")
        assert resp.status == 200, path
        load_workbook(io.BytesIO(await resp.read()))
    agent_search = await agent.get(f"/desk/search?q={PHONE}&format=csv")
    body = (await agent_search.read()).decode("utf-8-sig")
    assert world.complaint_no in body and PHONE not in body


async def test_per_handler_figures_match_a_count_from_the_raw_tables(desk: Desk,
                                                                    world: World) -> None:
    db = world.db
    nos = [world.claim_no]
    for n, member in enumerate(world.members[1:6]):
        _, made = claims.report(db, {
            "policy_no": world.group_policy_no, "insured_id_number": member,
            "claim_type": "hospital_allowance", "incident_date": f"2026-05-{10 + n:02d}",
            "incident_place": "峡山街道", "description": "住院", "channel": "wechat",
            "reporter": {"name": "林小红", "relation": "child", "phone": PHONE}})
        nos.append(made["claim_no"])
    reported = date(2026, 6, 1)
    # handlers and decisions written straight into the rows: the figures read only them
    with db.transaction() as s:
        for i, no in enumerate(nos):
            values: dict[str, object] = {"handler": "adjuster.chen" if i % 2 else
                                         "supervisor.zhao"}
            if i < 4:
                values["decided_on" if i % 3 else "rejected_on"] = reported + timedelta(days=i * 3)
            s.execute(update(ClaimRow).where(ClaimRow.claim_no == no).values(**values))
        s.execute(update(ComplaintRow).values(handler="handler.wang"))
    satisfaction.record(db, {"subject_type": "claim", "subject_id": nos[1], "score": 4,
                             "channel": "wechat"}, "customer")
    figures = await (await (await desk("claims_supervisor")).get(
        "/desk/supervisor/handlers?from=2026-01-01&to=2026-12-31")).text()
    with db.read() as s:  # the count, straight from the tables
        rows = s.execute(text(
            "SELECT handler, reported_on, decided_on, rejected_on FROM claims "
            "WHERE handler IS NOT NULL")).all()
        rated = s.execute(select(SatisfactionRow.subject_id, SatisfactionRow.score)).all()
    for who in ("adjuster.chen", "supervisor.zhao"):
        mine = [r for r in rows if r[0] == who]
        decided = [(_d(r[2] or r[3]) - _d(r[1])).days for r in mine if r[2] or r[3]]
        marker = f'<tr data-user="{who}">'
        row = figures[figures.index(marker):figures.index("</tr>", figures.index(marker))]
        assert f'<td class="handled">{len(mine)}</td>' in row, who
        assert f'<td class="decided">{len(decided)}</td>' in row, who
        assert f"{float(statistics.median(decided))} / " in row, (who, decided, row)
    my_nos = {no for i, no in enumerate(nos) if i % 2}
    ratings = [score for subject, score in rated if subject in my_nos and score is not None]
    chen = figures[figures.index('<tr data-user="adjuster.chen">'):]
    assert f"<td>{len(ratings)}</td><td>{float(statistics.mean(ratings))}</td>" in chen
    handler_row = figures[figures.index('<tr data-user="handler.wang">'):]
    assert "<td>1</td><td>0</td></tr>" in handler_row.split("</tr>")[0] + "</tr>"
    assert (await (await desk("claims_supervisor")).get(
        "/desk/supervisor/handlers?from=2026-13-01")).status == 400
    assert (await (await desk("claims_adjuster")).get(
        "/desk/supervisor/handlers")).status == 403


def _d(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])

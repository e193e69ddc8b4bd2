"""The office's tools in a real headless Chromium against `xiaobao serve`: a supervisor types
a customer's phone number in the search box, finds the customer, opens one of their closed
conversations and reads its transcript, then exports the claims list as XLSX; the downloaded
workbook is opened with openpyxl and its rows checked against the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from test_desk_browser import WAIT, browser, login, serve, wait_text

from backoffice.demo.staff import seed_staff
from backoffice.domain.product import CLAIM_TYPE_NAMES
from backoffice.domain.staff import Actor
from backoffice.services import agent_desk, claims, conversations
from backoffice.services.base import today_cn
from backoffice.services.demo import seed
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.migrate import upgrade
from backoffice.store.models import ClaimRow, Party

__all__ = ["browser"]  # the fixture, shared with test_desk_browser


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A seeded database: claims, and a customer's closed phone conversation."""
    tmp = tmp_path_factory.mktemp("desk-office-browser")
    url = f"sqlite:///{tmp / 'desk.db'}"
    db = Database(url)
    upgrade(db)
    result = seed(db, members=20, seed_value=7)
    seed_staff(db)
    for n, member in enumerate(result.sample_id_numbers[:3]):
        claims.report(db, {
            "policy_no": result.group_policy_no, "insured_id_number": member,
            "claim_type": "hospital_allowance", "incident_date": today_cn().isoformat(),
            "incident_place": "峡山街道", "description": f"摔倒住院{n}", "channel": "wechat",
            "reporter": {"name": "林小红", "relation": "child", "phone": f"1381111222{n}"}})
    with db.read() as s:
        customer = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", result.sample_id_numbers[0])
                )).scalar_one()
    phone = customer.phone
    assert phone
    turn = conversations.user_message(db, "ivr", phone, "我想问一下理赔要交什么材料")
    conversations.bot_messages(db, turn.conversation_id, [
        {"text": "住院津贴需要出院小结和发票。"},
        {"custom": {"handoff": {"reason": "user_request",
                                "summary": {"text": "客户询问住院津贴所需材料"}}}}])
    agent = Actor("agent.li", "cs_agent")
    conversations.take(db, {"conversation_id": turn.conversation_id}, agent)
    conversations.agent_message(db, {"conversation_id": turn.conversation_id,
                                     "text": "材料清单已短信发给您"}, agent)
    agent_desk.close(db, {"conversation_id": turn.conversation_id, "disposition": "已解决"},
                     agent)
    db.dispose()
    with serve(tmp, url) as base:
        yield {"base": base, "url": url, "phone": phone, "name": customer.name,
               "party_id": customer.id, "conversation_id": turn.conversation_id,
               "downloads": tmp / "downloads"}


def _downloaded(folder: Path) -> Path:
    """The workbook once the browser has finished writing it."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        done = [p for p in folder.glob("*.xlsx")]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no workbook in {folder}: {list(folder.iterdir())}")


def test_supervisor_finds_a_customer_reads_a_closed_conversation_and_exports_claims(
        office: dict[str, Any], browser: WebDriver) -> None:
    base = office["base"]
    login(browser, base, "supervisor.zhao")
    box = browser.find_element(By.ID, "search-q")
    box.send_keys(office["phone"], Keys.ENTER)
    wait_text(browser, By.ID, "search-results", office["name"])
    browser.find_element(By.LINK_TEXT, office["name"]).click()  # the customer's page
    WebDriverWait(browser, WAIT).until(ec.url_contains(f"party={office['party_id']}"))
    cid = office["conversation_id"]
    row = browser.find_element(By.CSS_SELECTOR, f"tr.conversation[data-ref='{cid}']")
    assert "已结束" in row.text
    row.find_element(By.LINK_TEXT, str(cid)).click()
    wait_text(browser, By.ID, "state", "已结束")
    transcript = browser.find_element(By.ID, "transcript").text
    for said in ("我想问一下理赔要交什么材料", "住院津贴需要出院小结和发票。",
                 "材料清单已短信发给您"):
        assert said in transcript, said
    assert "客户询问住院津贴所需材料" in browser.find_element(By.ID, "handoff-summary").text
    assert browser.find_element(By.ID, "disposition").text == "已解决"

    folder = office["downloads"]
    folder.mkdir(parents=True, exist_ok=True)
    browser.get(base + "/desk/claims")
    browser.execute_cdp_cmd("Page.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(folder)})
    assert "export-claims-xlsx" in browser.page_source, browser.page_source[:3000]
    # a list page reloads itself when the back office changes: wait for the link as it is
    WebDriverWait(browser, WAIT, ignored_exceptions=(WebDriverException,)).until(
        ec.element_to_be_clickable((By.ID, "export-claims-xlsx"))).click()
    sheet = load_workbook(_downloaded(folder)).active
    rows = list(sheet.iter_rows(values_only=True))
    db = Database(office["url"])
    try:
        with db.read() as s:
            expected = s.execute(select(ClaimRow.claim_no, ClaimRow.claim_type)
                                 .order_by(ClaimRow.id.desc())).all()
    finally:
        db.dispose()
    assert rows[0][:3] == ("报案号", "状态", "案件类型")
    assert [(r[0], r[2]) for r in rows[1:]] == [
        (no, CLAIM_TYPE_NAMES[kind]) for no, kind in expected]
    assert len(expected) == 3

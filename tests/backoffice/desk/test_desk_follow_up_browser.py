"""The 回访 queue in a real headless Chromium against `xiaobao serve`: the claims supervisor
(who works the low-score follow-ups) opens the queue, filters it to 回访, opens a task, records
that the customer was reached with a satisfaction note; the task shows done with its result, and
the audit log has it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select
from test_desk_browser import WAIT, browser, login, serve, shots, submit, wait_text

from backoffice.demo.staff import seed_staff
from backoffice.services import claims
from backoffice.services.base import today_cn
from backoffice.services.demo import seed
from backoffice.store.db import Database
from backoffice.store.migrate import upgrade
from backoffice.store.models import AuditEntry, ClaimRow, Task

__all__ = ["browser", "shots"]  # fixtures

NOTE = "客户表示赔款已到账，对理赔服务很满意"


@pytest.fixture(scope="module")
def follow_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo scheme with a 回访 task of a claim, as the close leaves one."""
    tmp = tmp_path_factory.mktemp("follow-up-browser")
    url = f"sqlite:///{tmp / 'desk.db'}"
    db = Database(url)
    upgrade(db)
    result = seed(db, members=20, seed_value=4)
    seed_staff(db)
    _, claim = claims.report(db, {
        "policy_no": result.group_policy_no, "insured_id_number": result.sample_id_numbers[0],
        "claim_type": "hospital_allowance", "incident_date": today_cn().isoformat(),
        "incident_place": "峡山街道", "description": "摔倒住院", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}})
    with db.transaction() as s:
        claim_id = s.execute(select(ClaimRow.id).where(
            ClaimRow.claim_no == claim["claim_no"])).scalar_one()
        task = Task(kind="follow_up", claim_id=claim_id, note="结案后一周内回访",
                    due_on=today_cn() + timedelta(days=7),
                    dedupe_key=f"follow_up:{claim['claim_no']}:0")
        s.add(task)
        s.flush()
        task_id = task.id
    db.dispose()
    with serve(tmp, url) as base:
        yield {"base": base, "url": url, "task_id": task_id, "claim_no": claim["claim_no"]}


def test_a_supervisor_works_a_follow_up_to_its_result(follow_up: dict[str, Any],
                                                  browser: WebDriver, shots: Path) -> None:
    base, task_id = follow_up["base"], follow_up["task_id"]
    login(browser, base, "supervisor.zhao")
    browser.find_element(By.LINK_TEXT, "工作队列").click()
    Select(browser.find_element(By.NAME, "kind")).select_by_value("follow_up")
    unfiltered = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "#task-filter button[type=submit]").click()
    # the unfiltered list shows the task too: wait for the filtered page, not its row
    WebDriverWait(browser, WAIT).until(ec.staleness_of(unfiltered))
    row = WebDriverWait(browser, WAIT).until(ec.presence_of_element_located(
        (By.ID, f"task-{task_id}")))
    assert "回访" in row.text and follow_up["claim_no"] in row.text and "待办" in row.text
    browser.save_screenshot(str(shots / "follow-up-queue.png"))

    row.find_element(By.LINK_TEXT, f"#{task_id}").click()
    wait_text(browser, By.ID, "task-status", "待办")
    browser.find_element(By.CSS_SELECTOR,
                         "#follow-up-form input[name=outcome][value=reached]").click()
    browser.find_element(By.CSS_SELECTOR, "#follow-up-form textarea[name=result]"
                         ).send_keys(NOTE)
    submit(browser, "follow-up-form")
    wait_text(browser, By.ID, "task-status", "已办结")
    assert browser.find_element(By.ID, "task-outcome").text == "已联系"
    assert NOTE in browser.find_element(By.ID, "task-result").text
    assert not browser.find_elements(By.ID, "follow-up-form")  # nothing more to record
    browser.save_screenshot(str(shots / "follow-up-done.png"))

    browser.get(base + "/desk/tasks?kind=follow_up&status=done")
    done = browser.find_element(By.ID, f"task-{task_id}")
    assert "已办结" in done.text and "已联系" in done.text

    db = Database(follow_up["url"])
    try:
        with db.read() as s:
            entries = list(s.execute(select(AuditEntry).where(
                AuditEntry.entity_type == "task",
                AuditEntry.entity_id == str(task_id))).scalars())
    finally:
        db.dispose()
    assert [(e.actor, e.action, e.after["outcome"]) for e in entries] == [
        ("supervisor.zhao", "follow_up_result", "reached")]

"""The risk review queue in a real headless Chromium against `xiaobao serve`: a claims
supervisor sees one hospital stay claimed twice with both claims side by side, confirms it,
and the second claim's payable drops to what the first does not already pay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from test_desk_browser import browser, login, serve, shots, wait_text

from backoffice.demo.staff import seed_staff
from backoffice.domain.staff import Actor
from backoffice.services import claims
from backoffice.services.base import today_cn
from backoffice.services.demo import seed
from backoffice.store.db import Database
from backoffice.store.migrate import upgrade

__all__ = ["browser", "shots"]  # fixtures

ADJUSTER = Actor("adjuster.chen", "claims_adjuster")


def _allowance(db: Database, policy_no: str, id_number: str, reporter: str) -> dict[str, Any]:
    admission, discharge = today_cn() - timedelta(days=12), today_cn() - timedelta(days=2)
    _, claim = claims.report(db, {
        "policy_no": policy_no, "insured_id_number": id_number,
        "claim_type": "hospital_allowance", "incident_date": admission.isoformat(),
        "incident_place": "峡山街道", "description": "在家中摔倒，右手腕骨折住院",
        "channel": "wechat",
        "reporter": {"name": reporter, "relation": "child", "phone": "13811112222"},
        "facts": {"admission_date": admission.isoformat(),
                  "discharge_date": discharge.isoformat(), "hospital_level": 2}})
    return claim


@pytest.fixture(scope="module")
def duplicate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two reports of one stay by two children: the first awaits its documents, the second
    was adjudicated for the whole stay."""
    tmp = tmp_path_factory.mktemp("risk-browser")
    url = f"sqlite:///{tmp / 'desk.db'}"
    db = Database(url)
    upgrade(db)
    result = seed(db, members=20, seed_value=5)
    seed_staff(db)
    insured = result.sample_id_numbers[0]
    first = _allowance(db, result.group_policy_no, insured, "林小红")
    second = _allowance(db, result.group_policy_no, insured, "林小明")
    claims.transition(db, {"claim_no": second["claim_no"], "action": "documents_complete",
                           "waive_missing": True}, ADJUSTER)
    adjudicated = claims.transition(db, {"claim_no": second["claim_no"],
                                         "action": "adjudicate"}, ADJUSTER)
    db.dispose()
    with serve(tmp, url) as base:
        yield {"base": base, "first": first["claim_no"], "second": second["claim_no"],
               "payable": adjudicated["payable"]}


def test_supervisor_confirms_a_duplicate_stay_and_the_second_claim_pays_only_once(
        duplicate: dict[str, Any], browser: WebDriver, shots: Path) -> None:
    base, first, second = duplicate["base"], duplicate["first"], duplicate["second"]
    assert float(duplicate["payable"]) > 0  # the first claim is not decided yet

    login(browser, base, "supervisor.zhao")
    browser.get(base + "/desk/risk")
    section = browser.find_element(
        By.CSS_SELECTOR, f"section.risk-flag[data-claim='{second}'][data-code='duplicate_stay']")
    heads = [th.text for th in section.find_elements(By.CSS_SELECTOR, "table tr:first-child th")]
    assert heads[1:] == [f"{second}（本案）", first]  # side by side
    stays = [td.text for td in section.find_elements(By.CSS_SELECTOR, "td.stay")]
    assert len(stays) == 2 and stays[0] == stays[1] and "至" in stays[0]
    payables = [td.text for td in section.find_elements(By.CSS_SELECTOR, "td.payable")]
    assert payables == [duplicate["payable"], ""]
    assert "高" in section.find_element(By.CSS_SELECTOR, "h2 .severity").text
    browser.save_screenshot(str(shots / "risk-queue.png"))

    section.find_element(By.NAME, "note").send_keys("同一次住院由两位子女分别报案，核实为重复")
    section.find_element(By.CSS_SELECTOR, "button[value=confirm_flag]").click()
    wait_text(browser, By.CLASS_NAME, "flash", "已核实")
    assert not browser.find_elements(
        By.CSS_SELECTOR, f"section.risk-flag[data-claim='{second}'][data-code='duplicate_stay']")

    browser.get(base + "/desk/risk?outcome=confirmed")
    done = browser.find_element(By.CSS_SELECTOR, f"section.risk-flag[data-claim='{second}']")
    assert done.find_element(By.CSS_SELECTOR, "td.payable").text == "0.00"
    decision = done.find_element(By.CLASS_NAME, "decision").text
    assert "supervisor.zhao" in decision and f"核减 {duplicate['payable']} 元" in decision

    browser.get(base + f"/desk/claims/{second}")
    wait_text(browser, By.ID, "flags", "已核实")
    lines = browser.find_element(By.ID, "lines").text
    assert "不重复给付" in lines
    timeline = browser.find_element(By.ID, "timeline").text
    assert "核实风险标记" in timeline and "须重新审批" in timeline
    browser.save_screenshot(str(shots / "risk-confirmed-claim.png"))


def test_an_adjuster_sees_the_queue_but_cannot_decide(
        duplicate: dict[str, Any], browser: WebDriver) -> None:
    login(browser, duplicate["base"], "adjuster.chen")
    browser.get(duplicate["base"] + "/desk/risk?outcome=all")
    assert browser.find_elements(By.CSS_SELECTOR, "section.risk-flag")
    assert not browser.find_elements(By.CSS_SELECTOR, "form.risk-decision")

"""The desk in a real headless Chromium against a real platform process (`xiaobao serve`).

A complaint handler logs in and takes a complaint from intake to close with the clock shown;
the queue updates live when a complaint arrives through the API. An underwriter approves a
beneficiary change the bot asked for, and decides an application referred for underwriting.
The main pages are saved as screenshots in $XIAOBAO_SCREENSHOTS (docs/screenshots/ for the
README) or a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from backoffice.demo.staff import DEMO_STAFF, seed_staff
from backoffice.services import claims, home_visits, privacy_access
from backoffice.services.base import today_cn
from backoffice.services.demo import seed
from backoffice.store.db import Database
from backoffice.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "browser-test-token-0123"
PASSWORDS = {username: password for username, _, _, _, password in DEMO_STAFF}
WAIT = 30  # seconds a page may take to show what the test waits for (a slow shared machine)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_browser() -> None:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        subprocess.run(["make", "-C", str(ROOT / "tests"), "browser-deps"], check=True)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A seeded SQLite database and `xiaobao serve` on it."""
    tmp = tmp_path_factory.mktemp("desk-browser")
    url = f"sqlite:///{tmp / 'desk.db'}"
    db = Database(url)
    upgrade(db)
    result = seed(db, members=20, seed_value=3)
    seed_staff(db)
    _, claim = claims.report(db, {
        "policy_no": result.group_policy_no, "insured_id_number": result.sample_id_numbers[0],
        "claim_type": "hospital_allowance", "incident_date": today_cn().isoformat(),
        "incident_place": "峡山街道", "description": "摔倒住院", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"}})
    home_visits.request(db, {"channel": "ivr", "name": "林阿婆", "phone": "13812340000",
                             "address": "潮南区峡山街道1号", "preferred_time": "上午",
                             "reason": "行动不便，需上门收取理赔材料"})
    db.dispose()
    with serve(tmp, url) as base:
        yield {"base": base, "claim_no": claim["claim_no"], "url": url,
               "individual_policy_no": result.individual_policies[0]}


@contextmanager
def serve(tmp: Path, url: str) -> Iterator[str]:
    """`xiaobao serve` on the database at `url` until the block ends; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "XIAOBAO_DATABASE_URL": url, "XIAOBAO_API_TOKEN": TOKEN,
           "XIAOBAO_VAR_DIR": str(tmp)}
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "xiaobao.cli", "serve", "--port", str(port),
                             "--no-scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # until it answers (or has died)
            if proc.poll() is not None:
                raise RuntimeError((tmp / "serve.log").read_text(errors="replace"))
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except urllib.error.HTTPError:  # 503: serving, the bot not up (none here)
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    _ensure_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1360,1000", "--lang=zh-CN"):
        options.add_argument(arg)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("XIAOBAO_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def api_post(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(base + "/api/v1" + path, data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {TOKEN}",
                                          "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
        return answer


def wait_text(driver: WebDriver, by: str, what: str, text: str) -> None:
    # a page may be replaced while it is read (a form posted, a live refresh): read it again
    WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
        ec.text_to_be_present_in_element((by, what), text))


def login(driver: WebDriver, base: str, username: str) -> None:
    driver.delete_all_cookies()
    driver.get(base + "/desk/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[username])
    driver.find_element(By.ID, "login-button").click()
    wait_text(driver, By.CSS_SELECTOR, "header .who", "（")


def submit(driver: WebDriver, form_id: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]").click()
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.CLASS_NAME, "flash")))


def test_complaint_handler_takes_a_complaint_from_intake_to_close(
        platform: dict[str, Any], browser: WebDriver, shots: Path) -> None:
    base = platform["base"]
    browser.get(base + "/desk/login")
    browser.save_screenshot(str(shots / "login.png"))
    made = api_post(base, "/complaints", {
        "channel": "bot", "complainant": {"name": "陈美玲", "phone": "13912345678"},
        "category": "claims", "description": "理赔材料交了两周没有消息",
        "claim_no": platform["claim_no"]})
    no = made["complaint_no"]

    login(browser, base, "handler.wang")
    browser.get(base + "/desk/complaints")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-no='{no}']")
    assert "剩余 15 日" in row.text and "已受理" in row.text
    # a complaint arriving through the API appears on the open queue by itself
    later = api_post(base, "/complaints", {
        "channel": "ivr", "complainant": {"name": "周建国", "phone": "13700001111"},
        "category": "service", "description": "电话等了很久"})
    WebDriverWait(browser, WAIT).until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, f"tr[data-no='{later['complaint_no']}']")))
    browser.save_screenshot(str(shots / "complaints-queue.png"))

    browser.find_element(By.LINK_TEXT, no).click()
    wait_text(browser, By.ID, "clock", "剩余 15 日")
    submit(browser, "take")
    wait_text(browser, By.ID, "handler", "handler.wang")
    browser.find_element(By.ID, "note-text").send_keys("已调取案件记录：材料第3日齐全，审核逾期。")
    submit(browser, "note")
    wait_text(browser, By.ID, "status", "调查处理中")
    Select(browser.find_element(By.ID, "outcome")).select_by_value("upheld")
    browser.find_element(By.ID, "decision-text").send_keys("向客户致歉，案件转加急审核。")
    submit(browser, "decide")
    wait_text(browser, By.ID, "status", "已作出处理决定")
    assert "剩余 15 日" in browser.find_element(By.ID, "clock").text
    browser.save_screenshot(str(shots / "complaint-decided.png"))
    submit(browser, "notify")
    wait_text(browser, By.ID, "status", "已告知投诉人")
    assert "告知处理结果" in browser.find_element(By.ID, "clock").text
    Select(browser.find_element(By.ID, "score")).select_by_visible_text("5")
    submit(browser, "rate")
    wait_text(browser, By.ID, "satisfaction", "5 / 5")
    submit(browser, "close")
    wait_text(browser, By.ID, "status", "已办结")
    clock_text = browser.find_element(By.ID, "clock").text
    assert "已于" in clock_text and "时限" in clock_text
    steps = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#timeline td:nth-child(2)")]
    assert steps == ["intake", "acknowledge", "assign", "note", "decide", "notify",
                     "record_satisfaction", "close"]
    browser.save_screenshot(str(shots / "complaint-closed.png"))


def test_other_roles_see_their_pages_and_are_refused_the_rest(
        platform: dict[str, Any], browser: WebDriver, shots: Path) -> None:
    base = platform["base"]
    login(browser, base, "adjuster.chen")
    browser.get(base + "/desk/claims")
    assert platform["claim_no"] in browser.find_element(By.ID, "claims-waiting").text
    browser.save_screenshot(str(shots / "claims-queue.png"))
    browser.get(base + f"/desk/claims/{platform['claim_no']}")
    assert "待补" in browser.page_source
    browser.save_screenshot(str(shots / "claim-detail.png"))
    browser.get(base + "/desk/supervisor")
    assert "无权" in browser.find_element(By.ID, "refusal").text

    login(browser, base, "supervisor.zhao")
    browser.get(base + "/desk/supervisor")
    assert "处理中投诉" in browser.find_element(By.ID, "queues").text
    browser.save_screenshot(str(shots / "supervisor.png"))

    login(browser, base, "agent.li")
    browser.get(base + "/desk/home-visits")
    assert "林阿婆" in browser.find_element(By.ID, "home-visits").text
    browser.save_screenshot(str(shots / "home-visits.png"))
    browser.get(base + "/desk/handoff")  # its screenshot: test_desk_handoff_browser.py
    assert "队列为空" in browser.find_element(By.ID, "handoff").text
    browser.get(base + "/desk/claims")
    assert "无权" in browser.find_element(By.ID, "refusal").text


def api_get(base: str, path: str) -> dict[str, Any]:
    req = urllib.request.Request(base + "/api/v1" + path,
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
        return answer


def test_underwriter_approves_a_beneficiary_change_and_decides_a_referral(
        platform: dict[str, Any], browser: WebDriver, shots: Path) -> None:
    base, policy_no = platform["base"], platform["individual_policy_no"]
    asked = api_post(base, "/endorsement-requests", {
        "channel": "wechat", "user": "oBrowserCustomer", "policy_no": policy_no,
        "kind": "change_beneficiary", "actor": "bot", "note": "客户经小保申请，待投保人签字确认",
        "details": {"beneficiaries": [{"name": "郑晓燕", "relation": "child"}]}})
    no = asked["request_no"]
    filed = api_post(base, "/applications", {
        "product_code": "PA-GUARD", "payment_mode": "single",
        "insured": {"name": "黄志明", "id_number": "440514196808081232", "phone": "13622223333",
                    "occupation": "货车司机", "occupation_class": 3},
        "health_declarations": {"hospitalised_now": False, "disability_existing": False,
                                "epilepsy": False, "hypertension": True, "diabetes": False},
        "coverages": [{"code": "accidental_death_disability", "sum_insured": "80000.00"}]})

    login(browser, base, "underwriter.sun")
    assert "待审核的保全申请" in browser.find_element(By.TAG_NAME, "main").text
    browser.get(base + "/desk/endorsement-requests")
    assert no in browser.find_element(By.ID, "endorsement-requests").text
    browser.save_screenshot(str(shots / "endorsement-requests.png"))
    browser.find_element(By.LINK_TEXT, no).click()
    wait_text(browser, By.ID, "status", "待审核")
    assert "待按签字申请书补全" in browser.find_element(By.ID, "beneficiaries").text
    browser.find_element(By.ID, "id-number-0").send_keys("440514199003030028")
    browser.save_screenshot(str(shots / "endorsement-request.png"))
    submit(browser, "approve")
    wait_text(browser, By.ID, "status", "已批准并生效")
    endorsement_no = browser.find_element(By.ID, "endorsement-no").text
    policy = api_get(base, f"/policies/{policy_no}")
    assert [(b["name"], b["relation"]) for b in policy["beneficiaries"]] == [("郑晓燕", "child")]
    assert policy["endorsements"][-1]["endorsement_no"] == endorsement_no
    assert api_get(base, f"/endorsement-requests/{no}")["status"] == "approved"

    browser.get(base + "/desk/underwriting")
    row = browser.find_element(By.ID, f"decide-{filed['application_no']}")
    assert "加费承保" in browser.find_element(By.ID, "referrals").text
    browser.save_screenshot(str(shots / "underwriting.png"))
    loading = row.find_element(By.NAME, "loading_pct")
    assert loading.get_attribute("value") == "20"  # the rules' suggestion, to start from
    loading.clear()
    loading.send_keys("30")
    submit(browser, f"decide-{filed['application_no']}")
    wait_text(browser, By.CLASS_NAME, "flash", "加费承保")
    decided = api_get(base, f"/applications/{filed['application_no']}")
    assert decided["status"] == "accepted" and decided["underwriting"]["loading_pct"] == "30"
    # a change meanwhile does not reload the list away from the outcome: a notice says so
    api_post(base, "/endorsement-requests", {
        "channel": "wechat", "user": "oBrowserCustomer", "policy_no": policy_no,
        "kind": "change_beneficiary", "actor": "bot", "note": "第二份申请",
        "details": {"beneficiaries": [{"name": "郑晓燕", "relation": "child"}]}})
    WebDriverWait(browser, WAIT).until(ec.visibility_of_element_located((By.ID, "changed")))
    assert "加费承保" in browser.find_element(By.CLASS_NAME, "flash").text


def test_supervisor_reads_who_looked_and_the_unusual_access(
        platform: dict[str, Any], browser: WebDriver, shots: Path) -> None:
    base, claim_no = platform["base"], platform["claim_no"]
    login(browser, base, "adjuster.chen")
    browser.get(base + f"/desk/claims/{claim_no}")  # shown unmasked: an entry
    db = Database(platform["url"])
    try:  # another adjuster opened a person nobody gave them work on
        privacy_access.record_shown(db, "adjuster.zhou", "claims_adjuster", "party",
                                    "110101198005060123", "api", "getParty")
    finally:
        db.dispose()

    login(browser, base, "supervisor.zhao")
    browser.get(base + "/desk/supervisor/access-log?staff=adjuster.chen")
    row = browser.find_element(By.CSS_SELECTOR, "#access-log tr[data-kind='claim']")
    assert claim_no in row.text and "/desk/claims/{claim_no}" in row.text
    browser.save_screenshot(str(shots / "access-log.png"))
    browser.find_element(By.LINK_TEXT, "异常访问报告").click()
    flagged = WebDriverWait(browser, WAIT).until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, "#unusual-access tr.flagged[data-staff='adjuster.zhou']")))
    # nobody has that ID number: the entry keeps it masked
    assert "未分配给本人" in flagged.text and "party:110101********0123" in flagged.text
    chen = browser.find_element(By.CSS_SELECTOR, "#unusual-access tr[data-staff='adjuster.chen']")
    assert "flagged" not in (chen.get_attribute("class") or "")
    browser.save_screenshot(str(shots / "unusual-access.png"))

"""Re-take the README's desk screenshots on the demo's day of the scheme, in real Chromium.

    .venv/bin/python docs/screenshots/take.py [--out docs/screenshots] [--members 2000]

Seeds a fresh SQLite database in a temporary folder the way `xiaobao demo seed` does (the
潮南区 scheme, the demo accounts, a day of claims, complaints, appeals, home visits and
conversations), starts `xiaobao serve` on it (no bot, no scheduler: the desk needs only the
database), logs in as each demo account in headless Chromium (Debian's `chromium` and
`chromedriver`; `make -C tests browser-deps` installs them) and saves each page as a PNG.
Prints the seeding time and the files written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backoffice.demo.staff import DEMO_STAFF, seed_staff  # noqa: E402
from backoffice.services import demo, demo_day, products  # noqa: E402
from backoffice.store.db import Database  # noqa: E402
from backoffice.store.migrate import upgrade  # noqa: E402
from backoffice.store.models import (  # noqa: E402
    ClaimRow,
    ComplaintRow,
    Conversation,
    EndorsementRequestRow,
)

PASSWORDS = {username: password for username, _, _, _, password in DEMO_STAFF}
WAIT = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, members: int) -> dict[str, str]:
    """The demo database; the numbers of the cases the screenshots open."""
    db = Database(url)
    try:
        upgrade(db)
        products.install_products(db, "demo")
        started = time.perf_counter()
        result = demo.seed(db, members)
        seed_staff(db)
        roster = time.perf_counter() - started
        made = demo_day.seed_day(db, result.group_policy_no, 1)
        day = time.perf_counter() - started - roster
        print(f"seeded {result.members:,} members in {roster:.1f} s; the day "
              f"({made.as_dict()['claims']}) in {day:.1f} s", flush=True)
        with db.read() as s:
            def first(stmt: object) -> str:
                return str(s.execute(stmt).scalars().first())  # type: ignore[call-overload]
            return {
                "claim": first(select(ClaimRow.claim_no).where(
                    ClaimRow.status == "pending_approval").order_by(ClaimRow.id)),
                "decided": first(select(ComplaintRow.complaint_no).where(
                    ComplaintRow.status == "decided").order_by(ComplaintRow.id)),
                "closed": first(select(ComplaintRow.complaint_no).where(
                    ComplaintRow.status == "closed").order_by(ComplaintRow.id)),
                "conversation": first(select(Conversation.id).where(
                    Conversation.state == "agent", Conversation.channel == "wechat")
                    .order_by(Conversation.id)),
                "request": first(select(EndorsementRequestRow.request_no).order_by(
                    EndorsementRequestRow.id)),
            }
    finally:
        db.dispose()


@contextmanager
def serve(tmp: Path, url: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "XIAOBAO_DATABASE_URL": url, "XIAOBAO_VAR_DIR": str(tmp),
           "XIAOBAO_API_TOKEN": "screenshots-token-0123"}
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "xiaobao.cli", "serve", "--port", str(port),
                             "--no-scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError((tmp / "serve.log").read_text(errors="replace"))
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except urllib.error.HTTPError:  # 503: serving, no bot here
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@contextmanager
def chromium() -> Iterator[WebDriver]:
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


def login(driver: WebDriver, base: str, username: str) -> None:
    driver.delete_all_cookies()
    driver.get(base + "/desk/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[username])
    driver.find_element(By.ID, "login-button").click()
    WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, "header .who"), "（"))


def take(base: str, cases: dict[str, str], out: Path) -> list[Path]:
    """(user, page, file) in order; each page is loaded and saved as it shows."""
    plan = [
        (None, "/desk/login", "login.png"),
        ("adjuster.chen", "/desk/claims", "claims-queue.png"),
        ("adjuster.chen", f"/desk/claims/{cases['claim']}", "claim-detail.png"),
        ("handler.wang", "/desk/complaints", "complaints-queue.png"),
        ("handler.wang", f"/desk/complaints/{cases['decided']}", "complaint-decided.png"),
        ("handler.wang", f"/desk/complaints/{cases['closed']}", "complaint-closed.png"),
        ("supervisor.zhao", "/desk/supervisor", "supervisor.png"),
        ("agent.li", "/desk/home-visits", "home-visits.png"),
        ("agent.li", "/desk/handoff", "handoff.png"),
        ("agent.li", f"/desk/handoff/{cases['conversation']}", "conversation.png"),
        ("underwriter.sun", "/desk/endorsement-requests", "endorsement-requests.png"),
        ("underwriter.sun", f"/desk/endorsement-requests/{cases['request']}",
         "endorsement-request.png"),
        ("underwriter.sun", "/desk/underwriting", "underwriting.png"),
        ("supervisor.zhao", "/desk/tasks", "tasks.png"),
        ("supervisor.zhao", "/desk/queues/approvals", "approvals.png"),
        ("supervisor.zhao", "/desk/conversations", "conversations.png"),
        ("supervisor.zhao", "/desk/supervisor/handlers", "handlers.png"),
    ]
    written = []
    with chromium() as driver:
        who = None
        for user, page, name in plan:
            if user and user != who:
                login(driver, base, user)
                who = user
            driver.get(base + page)
            WebDriverWait(driver, WAIT).until(
                ec.presence_of_element_located((By.TAG_NAME, "main")))
            time.sleep(0.5)  # the live parts (clocks, counts) fill in
            path = out / name
            driver.save_screenshot(str(path))
            written.append(path)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--members", type=int, default=2000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xiaobao-shots-") as folder:
        tmp = Path(folder)
        url = f"sqlite:///{tmp / 'demo.db'}"
        cases = seed(url, args.members)
        with serve(tmp, url) as base:
            for path in take(base, cases, args.out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

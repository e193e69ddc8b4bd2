"""Demo desk accounts, one per role, created by `xiaobao demo seed` and `xiaobao up`.

DEMO ONLY: these passwords are public (they are in this file and the README). A real
deployment creates its accounts with `xiaobao staff add` and never runs the demo seed.
"""

from __future__ import annotations

from backoffice.services import staff
from backoffice.store.db import Database

# (username, display name, role, phone, demo-only password)
DEMO_STAFF: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("agent.li", "李坐席", "cs_agent", None, "demo-agent-2026"),
    ("adjuster.chen", "陈理赔", "claims_adjuster", None, "demo-adjuster-2026"),
    ("adjuster.zhou", "周理赔", "claims_adjuster", None, "demo-adjuster2-2026"),
    ("supervisor.zhao", "赵主管", "claims_supervisor", None, "demo-supervisor-2026"),
    ("handler.wang", "王投诉", "complaint_handler", None, "demo-handler-2026"),
    ("underwriter.sun", "孙核保", "underwriter", None, "demo-underwriter-2026"),
    ("admin", "系统管理员", "administrator", None, "demo-admin-2026"),
)
#: each role's first demo account (claims adjusters are two, for the steps that want four eyes)
USER_OF_ROLE: dict[str, str] = {}
for _username, _, _role, _, _ in DEMO_STAFF:
    USER_OF_ROLE.setdefault(_role, _username)


def seed_staff(db: Database) -> list[str]:
    """Create the demo accounts that are missing; the usernames created."""
    made = []
    for username, name, role, phone, password in DEMO_STAFF:
        if not staff.is_staff(db, username):
            staff.add(db, username, password, role, name, phone, actor="demo")
            made.append(username)
    return made

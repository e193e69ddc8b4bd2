"""Dead-lettered notifications through the API: listed with recipients masked, tried again."""

from __future__ import annotations

from api_testkit import Api
from sqlalchemy import select

from backoffice.notifications.base import SendError
from backoffice.services.notifications import dispatch_due, queue
from backoffice.store.db import Database
from backoffice.store.models import AuditEntry, Notification, utcnow


class _Refusing:
    def send(self, notification: Notification) -> str:
        raise SendError("refused by the gateway", retryable=False)


def _dead(db: Database) -> None:
    with db.transaction() as s:
        queue(s, "t:sms", "sms", "13912345678", "claim_progress", "进度通知")
        queue(s, "t:wechat", "wechat", "oUserOpenId123", "claim_progress", "进度通知")
        queue(s, "t:log", "log", "claims_queue", "deadline_warning", "提醒")
    refusing = _Refusing()
    dispatch_due(db, {"sms": refusing, "wechat": refusing, "log": refusing}, utcnow())


async def test_dead_letters_are_listed_masked_and_requeued(api: Api, db: Database) -> None:
    assert (await api.get("/notifications/dead"))["items"] == []
    _dead(db)
    items = (await api.get("/notifications/dead"))["items"]
    assert [(i["channel"], i["recipient"]) for i in items] == [
        ("log", "claims_queue"), ("wechat", "oUse***"), ("sms", "139****5678")]
    assert {i["last_error"] for i in items} == {"refused by the gateway"}
    assert len((await api.get("/notifications/dead?limit=1"))["items"]) == 1

    one = items[-1]["id"]
    assert await api.post("/notifications/dead/requeue", {"ids": [one], "actor": "ops-1"}) == {
        "requeued": 1}
    assert await api.post("/notifications/dead/requeue", {}) == {"requeued": 2}
    assert (await api.get("/notifications/dead"))["items"] == []
    with db.read() as s:
        assert set(s.execute(select(Notification.status)).scalars()) == {"pending"}
        actors = s.execute(select(AuditEntry.actor).where(AuditEntry.action == "requeue")
                           .order_by(AuditEntry.id)).scalars().all()
    assert actors == ["api", "api"]  # the service token acts as itself, never as a body's actor


async def test_bad_input_names_the_field(api: Api, db: Database) -> None:
    _dead(db)
    for limit in ("0", "1001", "x", "-1"):
        await api.error("GET", f"/notifications/dead?limit={limit}", 400, "invalid", "limit")
    for ids in ("1", [1, "2"], [True], [1.5]):
        await api.error("POST", "/notifications/dead/requeue", 400, "invalid", "ids",
                        {"ids": ids})
    assert len((await api.get("/notifications/dead"))["items"]) == 3  # nothing changed

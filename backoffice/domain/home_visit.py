"""Home visits (上门服务): the statuses of a request and which step may leave which status.
Pure. The clocks (contact within 24 h, visit within 48 h) are clocks.home_visit_deadlines.
"""

from __future__ import annotations

from backoffice.domain.errors import DomainError

CHANNELS = ("bot", "wechat", "ivr", "desk", "api", "web", "phone")
STATUSES = ("requested", "assigned", "contacted", "scheduled", "visited", "cancelled")
OPEN = ("requested", "assigned", "contacted", "scheduled")
STATUS_NAMES = {"requested": "待分派", "assigned": "已分派", "contacted": "已联系",
                "scheduled": "已约定时间", "visited": "已上门", "cancelled": "已取消"}
# which statuses each step may leave
MOVES: dict[str, tuple[str, ...]] = {
    "assign": OPEN, "contact": ("requested", "assigned"),
    "schedule": ("requested", "assigned", "contacted", "scheduled"),
    "visit": ("scheduled", "contacted", "assigned"), "cancel": OPEN,
}
ACTIONS = tuple(MOVES)


def check_move(status: str, action: str) -> None:
    """A step the visit's status does not allow is refused, naming the step."""
    if status not in MOVES[action]:
        raise DomainError(f"上门服务状态为 {STATUS_NAMES[status]}，不能执行 {action}", "action")

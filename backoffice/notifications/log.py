"""The development sender: writes the message to the log, personal data masked."""

from __future__ import annotations

import logging

from backoffice.domain.masking import mask_text
from backoffice.store.models import Notification

log = logging.getLogger("xiaobao.notifications")


class LogSender:
    """Default for every channel that has no provider configured; `sent_via` is "log"."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or log

    def send(self, notification: Notification) -> str:
        self.log.info("notification %s (%s, %s) to %s: %s", notification.id,
                      notification.channel, notification.template,
                      mask_text(notification.recipient), mask_text(notification.text))
        return "log"

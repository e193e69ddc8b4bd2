"""Domain errors. Each carries the field it concerns so the edges can name it."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request."""

    code = "domain_error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Throttled(DomainError):
    """Too many tries: the next one is heard after `retry_after` seconds (429 + Retry-After)."""

    code = "too_many_attempts"

    def __init__(self, message: str, field: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message, field)
        self.retry_after = max(1, int(retry_after))


class ValidationError(DomainError):
    """Input that can never be valid: bad shape, out of range, inconsistent."""

    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)


class TooLarge(ValidationError):
    """An input beyond what is taken: a body, a file, a picture's pixels (413)."""

    code = "too_large"


class IllegalTransition(DomainError):
    """A state machine refused a move from its current state."""

    code = "illegal_transition"

    def __init__(self, entity: str, current: str, action: str, allowed: tuple[str, ...]) -> None:
        allowed_text = "、".join(allowed) if allowed else "无"
        super().__init__(
            f"{entity}当前状态为 {current}，不能执行 {action}（当前可执行：{allowed_text}）",
            "action",
        )
        self.current = current
        self.action = action


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Forbidden(DomainError):
    """The caller is known but their role may not do this."""

    code = "forbidden"


class Unavailable(DomainError):
    """A store the request needs (the documents' object store) did not answer or refused
    the service itself: not the caller's fault, so a 503 with Retry-After, never a traceback."""

    code = "storage_unavailable"

    def __init__(self, message: str, field: str | None = None, retry_after: int = 30) -> None:
        super().__init__(message, field)
        self.retry_after = max(1, int(retry_after))


class Damaged(DomainError):
    """A stored document failed its integrity check (changed ciphertext, header or bytes): the
    request is fine, the file is not; said plainly, never a traceback."""

    code = "integrity_failed"

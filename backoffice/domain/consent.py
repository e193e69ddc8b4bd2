"""Separate consent to sensitive personal information (个人信息保护法 第二十九条): the short
notice the bot shows before it first asks for an ID number, a medical document or a bank card,
and the decisions a channel user gives on it. Pure: the texts are data (`consent_notice.json`
beside this module, overridden key by key by the operator's file the service reads).

A decision names the notice's version and the SHA-256 of the very text the person was shown
(the chat text, or the shorter one read on the phone), so what they agreed to can be proved.
The latest decision of a channel user is the one that counts: `given` until `withdrawn`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from importlib import resources
from typing import Any

GIVEN, REFUSED, WITHDRAWN = "given", "refused", "withdrawn"
DECISIONS = (GIVEN, REFUSED, WITHDRAWN)
DECISION_NAMES = {GIVEN: "同意", REFUSED: "不同意", WITHDRAWN: "撤回"}
DATA_FILE = "consent_notice.json"
MAX_TEXT = 2000  # characters of one notice text: a short notice, the full one is at /privacy
PRIVACY_URL = "{privacy_url}"  # where the chat text names the full notice


@dataclass(frozen=True)
class Notice:
    """The short notice in its forms: `chat` (written), `voice` (read on a call), `family`
    (told to a family member reporting for an insured: the contract is the legal basis),
    and what the bot says after a refusal and a withdrawal."""

    version: str
    chat: str
    voice: str
    family: str
    family_voice: str
    refused: str
    withdrawn: str

    def text(self, voice: bool = False) -> str:
        return self.voice if voice else self.chat

    def with_link(self, privacy_url: str) -> Notice:
        return replace(self, chat=self.chat.replace(PRIVACY_URL, privacy_url))

    def digests(self) -> set[str]:
        """The hashes a decision on this version may name: of the written or the spoken text."""
        return {sha256(self.chat), sha256(self.voice)}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def packaged() -> Notice:
    raw = json.loads(resources.files(__package__).joinpath(DATA_FILE).read_text("utf-8"))
    return notice_from(raw)


def notice_from(raw: Mapping[str, Any], base: Notice | None = None) -> Notice:
    """The notice of `raw` over `base` (key by key); an unknown key, a blank or too long a text
    is refused naming the key."""
    names = {f.name for f in fields(Notice)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"consent notice: unknown key {unknown[0]}")
    values: dict[str, str] = {} if base is None else {n: getattr(base, n) for n in names}
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            raise ValueError(f"consent notice: {key} must be a text of 1–{MAX_TEXT} characters")
        values[key] = value.strip()
    missing = sorted(names - set(values))
    if missing:
        raise ValueError(f"consent notice: {missing[0]} is missing")
    if len(values["version"]) > 40:
        raise ValueError("consent notice: version must be at most 40 characters")
    if PRIVACY_URL not in values["chat"]:
        raise ValueError("consent notice: chat must name the full notice as {privacy_url}")
    return Notice(**values)


def current(decisions: list[str]) -> str | None:
    """The decision that counts, of a channel user's decisions oldest first."""
    return decisions[-1] if decisions else None

"""Retention by purpose (个人信息保存期限): how long each kind of personal data is kept, and the
day it is due. Pure: the rules are data (`retention.json` beside this module, or the operator's
file read by the service), dates are passed in.

- chat transcripts and bot trackers of conversations with no claim or complaint:
  `transcript_days` (180) after the last message, or after the WeChat unsubscribe; deleted;
- transcripts linked to a claim or complaint: as the claim's records, `claim_archive_years`
  (5) after it closes; deleted;
- photos of documents: until the claim closes plus `appeal_days` (60); the file is deleted,
  its hash, kind and read fields stay;
- failed-identification attempts and rate-limit counters: `attempt_days` (30) after the last
  failure; deleted;
- the access log (who looked): 3 years, fixed by the database's triggers (migration 0031),
  expired by privacy_access.

The appeal period is not in the domain rules (rules.md is silent on how long a customer has to
appeal a decision): 60 days is this project's default, set in the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

from backoffice.domain.errors import ValidationError

DATA_FILE = "retention.json"
LIMITS = {"transcript_days": (1, 3650), "claim_archive_years": (1, 30), "appeal_days": (0, 3650),
          "attempt_days": (1, 3650)}

# the purposes as the job and the CLI count them
TRANSCRIPTS = "transcripts_unlinked"
LINKED_TRANSCRIPTS = "transcripts_linked"
DOCUMENT_FILES = "document_files"
ATTEMPTS = "attempt_counters"
PURPOSES = (TRANSCRIPTS, LINKED_TRANSCRIPTS, DOCUMENT_FILES, ATTEMPTS)
FILE_GONE = "原件已按保存期限删除"


@dataclass(frozen=True)
class Rules:
    transcript_days: int = 180
    claim_archive_years: int = 5
    appeal_days: int = 60
    attempt_days: int = 30

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def rules_from(raw: Mapping[str, Any], base: Rules | None = None) -> Rules:
    """Rules from a settings mapping over `base`: a missing key keeps the base's value; an
    unknown key, a non-integer or a value outside its range is refused naming the key."""
    values = (base or Rules()).as_dict()
    for key, value in raw.items():
        if key.startswith("_"):
            continue  # comments
        if key not in LIMITS:
            raise ValidationError(key, f"未知的保存期限设置 {key}")
        low, high = LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(key, f"{key} 须为 {low}–{high} 的整数")
        values[key] = value
    return Rules(**values)


def packaged() -> Rules:
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return rules_from(json.loads(text))


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def archive_until(closed_on: date, rules: Rules) -> date:
    """The last day a closed claim's (or complaint's) records must be kept."""
    return add_years(closed_on, rules.claim_archive_years)


def photo_until(closed_on: date, rules: Rules) -> date:
    """The last day a closed claim's document photos are kept: the appeal period after close."""
    return closed_on + timedelta(days=rules.appeal_days)


def transcript_start(last_message: datetime, unsubscribed_at: datetime | None) -> datetime:
    """Where an unlinked transcript's clock starts: the WeChat unsubscribe when the user left
    (the end of the relationship, README "WeChat unsubscribe"), else the last message."""
    return unsubscribed_at if unsubscribed_at is not None else last_message


def transcript_due(last_message: datetime, unsubscribed_at: datetime | None, now: datetime,
                   rules: Rules) -> bool:
    start = transcript_start(last_message, unsubscribed_at)
    return now - start > timedelta(days=rules.transcript_days)


def attempts_before(now: datetime, rules: Rules) -> datetime:
    return now - timedelta(days=rules.attempt_days)

"""The insurer's service outlets (服务网点, `service_outlet`) in 潮南区, for the demo scheme.

The data lives in `service_outlets.json` next to this module (package data of `backoffice.demo`).
`load_outlets` reads and validates it; a malformed entry raises `OutletDataError` naming the
outlet and the field, so a bad edit to the JSON fails loudly instead of reaching customers.

Every entry is fictional (addresses, phone numbers, coordinates are plausible, not real).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from backoffice.demo.people import TOWNS

DATA_FILE = "service_outlets.json"

# Service codes an outlet may offer, with the Chinese name shown to customers.
SERVICE_NAMES: dict[str, str] = {
    "claim_report": "报案",
    "claim_documents": "索赔材料递交",
    "policy_service": "保全服务",
    "premium_payment": "保费缴纳",
    "complaint": "投诉受理",
    "home_visit_booking": "上门服务预约",
    "consultation": "业务咨询",
}

OUTLET_KINDS: dict[str, str] = {
    "district_service_center": "区级客户服务中心",
    "town_outlet": "镇（街道）服务网点",
    "service_point": "村（社区）服务点",
}

REQUIRED_KEYS: tuple[str, ...] = (
    "code",
    "name",
    "kind",
    "town",
    "address",
    "phone",
    "opening_hours",
    "opening_hours_text",
    "services",
    "latitude",
    "longitude",
)
OPENING_DAYS: tuple[str, ...] = ("weekdays", "saturday", "sunday")

# Rough bounding box of 潮南区.
LATITUDE_RANGE = (23.05, 23.40)
LONGITUDE_RANGE = (116.10, 116.65)

_PHONE_SHAPE = re.compile(r"^0754-\d{8}$")
_HOURS_SHAPE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


class OutletDataError(ValueError):
    """`service_outlets.json` holds an entry that breaks the rules above."""


def format_opening_hours(hours: dict[str, str | None]) -> str:
    """The Chinese text for structured opening hours.

    E.g. "周一至周五 08:30-17:30，周六 09:00-12:00".

    Closed days are left out; the same hours on Saturday and Sunday read "周六、周日 …".
    """
    parts: list[str] = []
    if hours.get("weekdays"):
        parts.append(f"周一至周五 {hours['weekdays']}")
    saturday, sunday = hours.get("saturday"), hours.get("sunday")
    if saturday and saturday == sunday:
        parts.append(f"周六、周日 {saturday}")
    else:
        if saturday:
            parts.append(f"周六 {saturday}")
        if sunday:
            parts.append(f"周日 {sunday}")
    return "，".join(parts)


def load_outlets() -> list[dict[str, Any]]:
    """All service outlets, in file order, each validated. A fresh list on every call."""
    text = resources.files("backoffice.demo").joinpath(DATA_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, list):
        raise OutletDataError(f"{DATA_FILE}: expected a JSON list of outlets")
    seen: set[str] = set()
    for index, outlet in enumerate(data):
        validate_outlet(outlet, index)
        if outlet["code"] in seen:
            raise OutletDataError(f"{DATA_FILE}: duplicate outlet code {outlet['code']}")
        seen.add(outlet["code"])
    return data


def outlets_in_town(town: str) -> list[dict[str, Any]]:
    """The outlets of one town or street (镇、街道), e.g. "两英镇"."""
    return [outlet for outlet in load_outlets() if outlet["town"] == town]


def outlets_offering(service: str) -> list[dict[str, Any]]:
    """The outlets that offer a service code (a key of SERVICE_NAMES)."""
    if service not in SERVICE_NAMES:
        raise ValueError(f"unknown service code {service!r}")
    return [outlet for outlet in load_outlets() if service in outlet["services"]]


def validate_outlet(outlet: object, index: int = 0) -> None:
    """Raise OutletDataError unless `outlet` is a well-formed entry of the outlet list."""
    if not isinstance(outlet, dict):
        raise OutletDataError(f"{DATA_FILE}[{index}]: expected an object")
    where = f"{DATA_FILE}[{index}] {outlet.get('code', '?')}"

    def fail(field: str, message: str) -> OutletDataError:
        return OutletDataError(f"{where}: {field}: {message}")

    missing = [key for key in REQUIRED_KEYS if key not in outlet]
    if missing:
        raise fail(", ".join(missing), "missing")
    for key in ("code", "name", "kind", "town", "address", "phone", "opening_hours_text"):
        if not isinstance(outlet[key], str) or not outlet[key].strip():
            raise fail(key, "must be a non-empty string")
    if outlet["kind"] not in OUTLET_KINDS:
        raise fail("kind", f"unknown kind {outlet['kind']!r}")
    if outlet["town"] not in TOWNS:
        raise fail("town", f"{outlet['town']!r} is not a town or street of 潮南区")
    if "潮南区" not in outlet["address"] or outlet["town"] not in outlet["address"]:
        raise fail("address", "must contain 潮南区 and the outlet's town")
    if not _PHONE_SHAPE.match(outlet["phone"]):
        raise fail("phone", "must be a Shantou landline 0754-XXXXXXXX")

    hours = outlet["opening_hours"]
    if not isinstance(hours, dict) or set(hours) != set(OPENING_DAYS):
        raise fail("opening_hours", f"must have exactly the keys {', '.join(OPENING_DAYS)}")
    for day in OPENING_DAYS:
        value = hours[day]
        if value is None:
            continue
        if not isinstance(value, str) or not _HOURS_SHAPE.match(value):
            raise fail(f"opening_hours.{day}", "must be null or HH:MM-HH:MM")
        start, end = value.split("-")
        if start >= end:
            raise fail(f"opening_hours.{day}", "closes before it opens")
    if not any(hours[day] for day in OPENING_DAYS):
        raise fail("opening_hours", "an outlet must open on some day")
    if outlet["opening_hours_text"] != format_opening_hours(hours):
        raise fail(
            "opening_hours_text",
            f"should read {format_opening_hours(hours)!r} to match opening_hours",
        )

    services = outlet["services"]
    if not isinstance(services, list) or not services:
        raise fail("services", "must be a non-empty list")
    unknown = [s for s in services if s not in SERVICE_NAMES]
    if unknown:
        raise fail("services", f"unknown service codes {unknown}")
    if len(set(services)) != len(services):
        raise fail("services", "lists a service twice")

    for key, (low, high) in (("latitude", LATITUDE_RANGE), ("longitude", LONGITUDE_RANGE)):
        value = outlet[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(key, "must be a number")
        if not low <= value <= high:
            raise fail(key, f"{value} is outside 潮南区 ({low}–{high})")

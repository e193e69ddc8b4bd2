"""Lists as files: every list a role may see, as CSV or XLSX, declared once here and used by
the desk's list pages (`?format=csv|xlsx`) and the API's list operations alike.

A list names its columns (a key path into the list's items, the Chinese header, and the names
its codes are shown by). The rows are the items the page or operation shows, already filtered
and masked for the caller; this module only lays them out. A cell that a spreadsheet would
read as a formula (starting with = + - @, a tab or a carriage return) is written with a
leading apostrophe, so a customer's text can never run in the office's spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from backoffice.clock import SHANGHAI, utcnow
from backoffice.domain import appeal as ap
from backoffice.domain import claim as cl
from backoffice.domain import complaint as cp
from backoffice.domain import home_visit as hv
from backoffice.domain.product import CLAIM_TYPE_NAMES

FORMATS = ("csv", "xlsx")
MEDIA = {"csv": "text/csv",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MAX_ROWS = 5000  # an export is a working list, not a dump of the database
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CHANNEL_NAMES = {"wechat": "微信", "ivr": "电话", "web": "网页", "sms": "短信",
                 "desk": "柜面/坐席台", "api": "系统接口", "counter": "柜面", "phone": "电话"}
CONVERSATION_STATE_NAMES = {"bot": "小保接待", "queued": "排队中", "agent": "人工服务中",
                            "closed": "已结束"}
TRACK_NAMES = {"fast": "快速通道", "manual": "人工处理"}


@dataclass(frozen=True)
class Column:
    key: str  # a path into an item: "complainant.phone"
    header: str
    names: Mapping[str, str] | None = None  # a code's Chinese name

    def value(self, item: Mapping[str, Any]) -> Any:
        value: Any = item
        for part in self.key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if self.names is not None and isinstance(value, str):
            return self.names.get(value, value)
        if isinstance(value, bool):
            return "是" if value else "否"
        return value


@dataclass(frozen=True)
class ExportList:
    name: str
    title: str
    columns: tuple[Column, ...]


def _cols(*spec: tuple[str, str] | tuple[str, str, Mapping[str, str]]) -> tuple[Column, ...]:
    return tuple(Column(*c) for c in spec)


LISTS: dict[str, ExportList] = {x.name: x for x in (
    ExportList("claims", "理赔案件", _cols(
        ("claim_no", "报案号"), ("status", "状态", cl.STAGE_NAMES),
        ("claim_type", "案件类型", CLAIM_TYPE_NAMES), ("incident_date", "出险日期"),
        ("handler", "经办人"), ("track", "处理通道", TRACK_NAMES),
        ("next_due", "最近时限"), ("breached", "已超时"))),
    ExportList("complaints", "投诉", _cols(
        ("complaint_no", "投诉编号"), ("status_name", "状态"),
        ("channel", "渠道", CHANNEL_NAMES), ("category", "类别", cp.CATEGORY_NAMES),
        ("complainant.name", "投诉人"), ("complainant.phone", "联系电话"),
        ("claim_no", "关联报案号"), ("policy_no", "关联保单号"), ("handler", "处理人"),
        ("received_on", "受理日期"), ("due_by", "应答复日期"), ("clock.text", "时限"))),
    ExportList("appeals", "复核申请", _cols(
        ("appeal_no", "复核编号"), ("claim_no", "报案号"), ("status", "状态", ap.STATUS_NAMES),
        ("channel", "渠道", CHANNEL_NAMES), ("reasons", "客户理由"), ("filed_by", "登记人"),
        ("filed_at", "申请时间"), ("due_by", "应答复日期"), ("decided_on", "决定日期"),
        ("decided_by", "决定人"))),
    ExportList("home_visits", "上门服务", _cols(
        ("visit_no", "编号"), ("status", "状态", hv.STATUS_NAMES), ("name", "客户"),
        ("phone", "电话"), ("id_number", "身份证号"), ("address", "地址"), ("reason", "事由"),
        ("requested_at", "申请时间"), ("visit_by", "上门时限"), ("assigned_to", "经办人"))),
    ExportList("conversations", "会话", _cols(
        ("id", "会话号"), ("channel", "渠道", CHANNEL_NAMES), ("user", "渠道用户"),
        ("state", "状态", CONVERSATION_STATE_NAMES), ("queue", "队列"), ("agent", "坐席"),
        ("handoff_reason", "转人工原因"), ("disposition", "结果"),
        ("created_at", "开始时间"), ("updated_at", "最近活动"))),
    ExportList("tasks", "待办任务", _cols(
        ("task_id", "任务号"), ("kind_name", "类型"), ("claim_no", "报案号"),
        ("policy_no", "保单号"), ("due_on", "到期日"), ("overdue", "已逾期"),
        ("assigned_to", "负责人"), ("status", "状态"), ("outcome", "结果"))),
    ExportList("search", "搜索结果", _cols(
        ("kind_name", "类型"), ("ref", "编号"), ("title", "摘要"), ("status", "状态"),
        ("id_number", "身份证号"), ("phone", "电话"), ("link", "坐席台页面"))),
)}


def safe_cell(value: Any) -> Any:
    """A value as a cell: text a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return value
    # characters a workbook cannot hold (openpyxl refuses them) are dropped
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def table(spec: ExportList, items: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """The header row, then one row per item (at most MAX_ROWS), every cell safe."""
    rows = [[c.header for c in spec.columns]]
    for n, item in enumerate(items):
        if n >= MAX_ROWS:
            break
        rows.append([safe_cell(c.value(item)) for c in spec.columns])
    return rows


def file_name(spec: ExportList, fmt: str, now: datetime | None = None) -> str:
    """ASCII, for the Content-Disposition header: claims-20261207-1830.xlsx."""
    at = (now or utcnow()).astimezone(SHANGHAI)
    return f"{spec.name.replace('_', '-')}-{at:%Y%m%d-%H%M}.{fmt}"


def render(spec: ExportList, rows: Sequence[Sequence[Any]], fmt: str) -> bytes:
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel reads it as UTF-8
    book = Workbook()
    sheet = book.active
    sheet.title = spec.title[:31]
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


"""The quarterly disclosure report rendered twice from one dict
(backoffice.services.scheme.quarterly_report): an HTML page and an XLSX workbook (openpyxl),
so the figures on screen and in the file the government's office keeps cannot differ."""

from __future__ import annotations

import io
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_env = Environment(loader=PackageLoader("backoffice.views", "templates"),
                   autoescape=select_autoescape(["html"]))

INSUREDS = (("at_quarter_end", "季末在保人数"), ("joined", "本季新增"),
            ("left_death", "本季身故退出"), ("left_moved_away", "本季迁出退出"),
            ("left_correction", "本季更正退出"))
CLAIMS = (("reported", "本季报案"), ("approved", "已核定赔付"), ("rejected", "拒赔"),
          ("withdrawn", "撤案"), ("open", "处理中"), ("approved_amount", "核定赔款（元）"))
GROUP_COLUMNS = (("name", "类别"), ("reported", "报案"), ("approved", "核定赔付"),
                 ("approved_amount", "核定赔款（元）"))
SLA_COLUMNS = (("name", "时限"), ("met", "按时"), ("breached", "超时"), ("open", "未到期"),
               ("compliance_pct", "达标率（%）"))


def sections(r: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, header, rows) for every table of the report, in order."""
    c, sat, paid = r["complaints"], r["satisfaction"], r["paid_in_quarter"]
    return [
        ("概况", ["项目", "数值"],
         [[label, r["insureds"][k]] for k, label in INSUREDS]
         + [[label, r["claims"][k]] for k, label in CLAIMS]
         + [["本季支付赔款笔数", paid["payments"]], ["本季支付赔款（元）", paid["amount"]]]),
        ("按险种", [h for _, h in GROUP_COLUMNS],
         [[g[k] for k, _ in GROUP_COLUMNS] for g in r["by_type"]]),
        ("按镇街", [h for _, h in GROUP_COLUMNS],
         [[g[k] for k, _ in GROUP_COLUMNS] for g in r["by_town"]]),
        ("服务时效", [h for _, h in SLA_COLUMNS],
         [[t[k] if t[k] is not None else "—" for k, _ in SLA_COLUMNS] for t in r["sla"]]),
        ("投诉与满意度", ["项目", "数值"],
         [["本季受理投诉", c["received"]], ["已作出处理决定", c["decided"]],
          ["按时处理", c["decided_in_time"]]]
         + [[f"投诉类别：{k}", n] for k, n in c["by_category"].items()]
         + [["满意度评价数", sat["ratings"]], ["平均分（1–5）", sat["average"] or "—"],
            ["满意（4–5 分）占比（%）", sat["satisfied_pct"] or "—"]]),
    ]


def title(r: dict[str, Any]) -> str:
    return f"{r['applicant_name']}统保项目 {r['quarter']} 季度信息披露（保单 {r['policy_no']}）"


def render_html(r: dict[str, Any]) -> str:
    return _env.get_template("disclosure.html").render(r=r, title=title(r), sections=sections(r))


def file_name(r: dict[str, Any]) -> str:
    return f"disclosure-{r['policy_no']}-{r['quarter']}.xlsx"


def render_xlsx(r: dict[str, Any]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, header, rows in sections(r):
        sheet = book.create_sheet(name)
        sheet.append([title(r)])
        sheet.append([f"统计期间：{r['from']} 至 {r['to']}"])
        sheet.append(header)
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        sheet.column_dimensions["A"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

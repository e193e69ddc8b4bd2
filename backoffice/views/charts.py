"""The supervisor's claims charts: one HTML page with server-drawn inline SVG bar charts.

No JavaScript, no fonts or scripts from the network: the page works offline and prints. The
numbers come from `backoffice.services.claim_stats`; this module only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

_env = Environment(
    loader=PackageLoader("backoffice.views", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

WIDTH = 720
LABEL_W = 230
VALUE_W = 90
ROW_H = 26
BAR_H = 16
TOP = 8
COLORS = {"bar": "#1a5fb4", "met": "#2e9d4f", "breached": "#c01c28", "open": "#9a9996",
          "ref": "#e66100", "axis": "#77767b"}
FONT = 'font-family="WenQuanYi Zen Hei, Noto Sans CJK SC, Microsoft YaHei, sans-serif"'


@dataclass(frozen=True, slots=True)
class Segment:
    label: str
    value: float
    color: str


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(height: int, title: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" '
            f'height="{height}" viewBox="0 0 {WIDTH} {height}" {FONT} font-size="13">'
            f"<title>{escape(title)}</title>")
    return Markup(head + "".join(body) + "</svg>")


def bar_chart(title: str, rows: Sequence[tuple[str, float, str]], color: str = COLORS["bar"],
              scale_max: float | None = None, reference: tuple[float, str] | None = None
              ) -> Markup:
    """Horizontal bars: (label, value, text shown after the bar) per row.

    `reference`: a dashed vertical line at a value, with its caption (e.g. a 60 % target).
    """
    plot_w = WIDTH - LABEL_W - VALUE_W
    top = max((v for _, v, _ in rows), default=0.0)
    peak = max(scale_max or 0.0, top, reference[0] if reference else 0.0) or 1.0
    extra = 18 if reference else 0
    height = TOP + extra + ROW_H * max(len(rows), 1) + 6
    body: list[str] = []
    y0 = TOP + extra
    for i, (label, value, text) in enumerate(rows):
        y = y0 + i * ROW_H
        w = max(value, 0.0) / peak * plot_w
        body.append(f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 3}" text-anchor="end">'
                    f"{escape(label)}</text>")
        body.append(f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" '
                    f'fill="{color}"><title>{escape(label)}：{escape(text)}</title></rect>')
        body.append(f'<text x="{LABEL_W + w + 6:.1f}" y="{y + BAR_H - 3}">{escape(text)}</text>')
    if not rows:
        body.append(f'<text x="{LABEL_W}" y="{y0 + BAR_H}">暂无数据</text>')
    body.append(f'<line x1="{LABEL_W}" y1="{y0 - 2}" x2="{LABEL_W}" '
                f'y2="{height - 4}" stroke="{COLORS["axis"]}"/>')
    if reference:
        x = LABEL_W + reference[0] / peak * plot_w
        body.append(f'<line x1="{x:.1f}" y1="{TOP + 12}" x2="{x:.1f}" y2="{height - 4}" '
                    f'stroke="{COLORS["ref"]}" stroke-dasharray="4 3"/>')
        body.append(f'<text x="{x:.1f}" y="{TOP + 8}" text-anchor="middle" '
                    f'fill="{COLORS["ref"]}">{escape(reference[1])}</text>')
    return _svg(height, title, body)


def stacked_chart(title: str, rows: Sequence[tuple[str, Sequence[Segment]]]) -> Markup:
    """Horizontal stacked bars, each row scaled to its own total (shares), with a legend."""
    plot_w = WIDTH - LABEL_W - VALUE_W
    legend: dict[str, str] = {}
    body: list[str] = []
    y0 = TOP + 22
    for i, (label, segments) in enumerate(rows):
        y = y0 + i * ROW_H
        total = sum(s.value for s in segments)
        body.append(f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 3}" text-anchor="end">'
                    f"{escape(label)}</text>")
        x = float(LABEL_W)
        for seg in segments:
            legend.setdefault(seg.label, seg.color)
            if not total or not seg.value:
                continue
            w = seg.value / total * plot_w
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" '
                        f'fill="{seg.color}"><title>{escape(label)} {escape(seg.label)}：'
                        f"{_num(seg.value)}</title></rect>")
            x += w
        if not total:
            body.append(f'<rect x="{LABEL_W}" y="{y}" width="{plot_w}" height="{BAR_H}" '
                        'fill="none" stroke="#c0bfbc" stroke-dasharray="3 3"/>')
        body.append(f'<text x="{LABEL_W + plot_w + 6}" y="{y + BAR_H - 3}">'
                    f"{_num(total)}</text>")
    lx = LABEL_W
    for name, color in legend.items():
        body.append(f'<rect x="{lx}" y="{TOP}" width="12" height="12" fill="{color}"/>')
        body.append(f'<text x="{lx + 16}" y="{TOP + 11}">{escape(name)}</text>')
        lx += 30 + 14 * len(name)
    height = y0 + ROW_H * max(len(rows), 1) + 6
    return _svg(height, title, body)


def column_chart(title: str, columns: Sequence[tuple[str, float]],
                 color: str = COLORS["bar"]) -> Markup:
    """Vertical bars (a histogram): (label under the bar, value) per column."""
    height = 220
    base = height - 30
    plot_h = base - 26
    n = max(len(columns), 1)
    slot = (WIDTH - 40) / n
    peak = max((v for _, v in columns), default=0.0) or 1.0
    body = [f'<line x1="20" y1="{base}" x2="{WIDTH - 20}" y2="{base}" '
            f'stroke="{COLORS["axis"]}"/>']
    for i, (label, value) in enumerate(columns):
        h = max(value, 0.0) / peak * plot_h
        x = 20 + i * slot + slot * 0.15
        w = slot * 0.7
        body.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
                    f'fill="{color}"><title>{escape(label)}：{_num(value)}</title></rect>')
        cx = x + w / 2
        body.append(f'<text x="{cx:.1f}" y="{base - h - 5:.1f}" text-anchor="middle">'
                    f"{_num(value)}</text>")
        body.append(f'<text x="{cx:.1f}" y="{base + 18}" text-anchor="middle">'
                    f"{escape(label)}</text>")
    return _svg(height, title, body)


# ---- the page ----------------------------------------------------------------------------------

MIN_LOSS_RATIO_PCT = 60.0  # the scheme tender's minimum loss ratio


def _pct_of(ratio: str | None) -> float:
    return float(Decimal(ratio) * 100) if ratio is not None else 0.0


def charts(stats: dict[str, Any]) -> dict[str, Markup]:
    stages = bar_chart("各阶段案件数", [(r["stage"], float(r["count"]), str(r["count"]))
                                     for r in stats["by_stage"]])
    types = bar_chart("各类型案件数", [(r["name"], float(r["count"]), str(r["count"]))
                                    for r in stats["by_claim_type"]], color="#613583")
    tracks = bar_chart("快速通道与人工处理", [(r["name"], float(r["count"]), str(r["count"]))
                                      for r in stats["by_track"]], color="#26a269")
    sla = stacked_chart("各时限达成情况", [
        (r["name"], [Segment("按时完成", r["met"], COLORS["met"]),
                     Segment("超时", r["breached"], COLORS["breached"]),
                     Segment("进行中", r["open"], COLORS["open"])])
        for r in stats["sla"]])
    loss = bar_chart(
        "各产品赔付率",
        [(r["product_name"], _pct_of(r["loss_ratio"]),
          "无保费" if r["loss_ratio"] is None else f"{_pct_of(r['loss_ratio']):.1f}%")
         for r in stats["loss_ratio"]],
        color="#c64600", scale_max=100.0, reference=(MIN_LOSS_RATIO_PCT, "最低赔付率 60%"))
    cycle = stats["cycle_time_days"]["report_to_close"]
    cycle_chart = column_chart("报案至结案周期分布（件）",
                               [(b["bucket"], float(b["count"])) for b in cycle["distribution"]])
    risk = stats.get("integrity") or {"by_month": []}
    flags = stacked_chart("风险核查标记（按月）", [
        (r["month"], [Segment("已核实", r["confirmed"], COLORS["breached"]),
                      Segment("已解除", r["cleared"], COLORS["met"]),
                      Segment("新增", r["raised"], COLORS["open"])])
        for r in risk["by_month"]])
    return {"stages": stages, "types": types, "tracks": tracks, "sla": sla, "loss": loss,
            "cycle": cycle_chart, "flags": flags}


def render_claim_charts(stats: dict[str, Any]) -> str:
    return _env.get_template("claim_charts.html").render(s=stats, c=charts(stats))

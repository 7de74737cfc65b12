"""The leadership report: one self-contained HTML file in Simplified Chinese.

    >>> from landkit.render.report import build_report
    >>> html = build_report(county, analysis, "out/report.html")

* First page first: county, year, as-of date, then KPI cards with status colours (卫片 ratio
  against the cap and the accountability line, 批而未供 / 闲置 处置率 against the target,
  永久基本农田 pressed on, 存量建设用地 by category); then what to do, tables, inline SVG charts,
  the map and a data-quality appendix.
* Renders results, never recomputes: every figure comes from ``analysis.summary`` or a
  result frame (sorting and picking rows only). A section that is missing or has
  ``available: false`` says "未提供数据", never zeros.
* Self-contained: Leaflet is inlined from an installed package (:mod:`landkit.render.offline`),
  charts are SVG drawn here, no fonts or images are fetched; the page fails closed if any
  external tag remains. With no online basemap, opening it makes no network request.
* Each KPI element carries ``data-kpi="<summary key path>"`` and the raw value in
  ``data-value`` (JSON) so that a test can compare it with summary.json.
* Prints to A4: the live map is replaced by a static SVG drawn from the same geometries.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from .reasons import figure_reason
from ..version import __version__
from ..standards.units import round_half_up
from ..standards.vocabulary import CATEGORY_NAMES
from . import basemaps as bm
from .maps import STATUS_NAMES, county_map, inventory_frames, legend_items, print_svg
from ..analyses.county_analysis import summary_and_results
from .export import json_ready, write_text_atomic
from .offline import assert_offline, inline_assets, jquery_uses
from ..io.fields import ROLE_NAMES as LAYER_NAMES
from .zones import report_context as zones_context

TEMPLATES = Path(__file__).parent / "templates"
MAX_BYTES = 10 * 1024 * 1024
#: the share of the report's size budget the patch chips may take (their base64 text)
CHIP_SHARE = 0.4
MISSING = "未提供数据"

STATUS_CLASS = {"pass": "ok", "over_cap": "warn", "accountability": "bad", "no_data": "none"}
#: the layers checked against 永久基本农田, with their Chinese names
ROLE_NAMES = {k: LAYER_NAMES[k] for k in ("approvals", "supply", "parcels", "patches")}
LEVEL_NAMES = {"error": "错误", "warning": "警告", "info": "说明"}


# ------------------------------------------------------------------ values and formats
def _get(d, path: str):
    cur = d
    for k in path.split("."):
        if isinstance(cur, dict) and k in cur:
            cur = cur[k]
        elif isinstance(cur, list) and k.isdigit() and int(k) < len(cur):
            cur = cur[int(k)]
        else:
            return None
    return cur


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def mu(v, unit: bool = False) -> str:
    if not _num(v):
        return "—"
    s = f"{round_half_up(float(v), 2):,.2f}"
    return f"{s} 亩" if unit else s


def pct(v) -> str:
    return f"{round_half_up(float(v) * 100, 2):.2f}%" if _num(v) else "—"


def count(v) -> str:
    return f"{int(v):,}" if _num(v) else "—"


def text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and math.isnan(v):
        return ""
    if isinstance(v, (list, tuple)):
        return "、".join(text(x) for x in v)
    return str(v)


def available(summary: dict, section: str) -> bool:
    s = summary.get(section)
    return isinstance(s, dict) and s.get("available", True) is not False


def reason(summary: dict, section: str) -> str:
    s = summary.get(section)
    return text(s.get("reason")) if isinstance(s, dict) and s.get("reason") else ""


def reason_for(summary: dict, path: str) -> str:
    """Why the figure at ``path`` (``section.key...``) is 未提供数据, as the analysis said it."""
    section, _, key = path.partition(".")
    return text(figure_reason(summary.get(section) if isinstance(summary, dict) else None, key))


# ------------------------------------------------------------------ KPI model
class KPI:
    """A figure with its summary key path; renders the raw value into ``data-value``."""

    def __init__(self, summary, path, label, kind="mu", note=""):
        self.path, self.label, self.kind, self.note = path, label, kind, note
        self.raw = _get(summary, path)
        self.absent = False
        self.why = reason_for(summary, path) if self.raw is None else ""

    @property
    def missing(self) -> bool:
        return self.raw is None or self.absent

    @property
    def data_value(self) -> str:
        return json.dumps(self.raw, ensure_ascii=False)

    @property
    def display(self) -> str:
        if self.missing:
            return MISSING
        return {"mu": mu, "pct": pct, "count": count}.get(self.kind, text)(self.raw)

    @property
    def unit(self) -> str:
        return {"mu": "亩", "count": "个"}.get(self.kind, "") if not self.missing else ""


def _card(title, main: KPI | None, *, status="none", status_text="", ref="", lines=(), missing_reason="",
          gauge: str = "") -> dict:
    return {"title": title, "main": main, "status": status, "status_text": status_text, "ref": ref,
            "lines": [x for x in lines if x is not None], "missing_reason": missing_reason, "gauge": Markup(gauge)}


def kpi_cards(summary: dict) -> list[dict]:
    cards = []
    # 卫片
    if available(summary, "satellite") and "ratio" in (summary.get("satellite") or {}):
        s = summary["satellite"]
        main = KPI(summary, "satellite.ratio", "卫片违法占用耕地比例", "pct")
        cap, line = KPI(summary, "satellite.cap", "控制目标", "pct"), KPI(summary, "satellite.accountability_threshold",
                                                                      "问责线", "pct")
        cards.append(_card(
            "卫片违法占用耕地比例", main, status=STATUS_CLASS.get(s.get("status"), "none"),
            status_text=STATUS_NAMES.get(s.get("status"), ""), ref=(cap, line),
            lines=[KPI(summary, "satellite.illegal_farmland_mu", "违法占用耕地"),
                   KPI(summary, "satellite.new_construction_farmland_mu", "新增建设用地占用耕地"),
                   KPI(summary, "satellite.illegal_patch_count", "违法图斑", "count"),
                   KPI(summary, "satellite.deducted_ratio", "扣除已整改后比例", "pct")],
            gauge=ratio_gauge(s.get("ratio"), s.get("cap"), s.get("accountability_threshold"))))
    else:
        cards.append(_card("卫片违法占用耕地比例", KPI(summary, "satellite.ratio", "", "pct"),
                           missing_reason=reason(summary, "satellite")))
    # 处置率
    for key, title in (("approved_unsupplied", "批而未供土地处置率"), ("idle", "闲置土地处置率")):
        blk = _get(summary, f"disposal.{key}") if available(summary, "disposal") else None
        if isinstance(blk, dict) and blk.get("rate") is not None:
            met = blk.get("met")
            cards.append(_card(
                title, KPI(summary, f"disposal.{key}.rate", title, "pct"),
                status={True: "ok", False: "bad"}.get(met, "none"),
                status_text={True: "完成目标", False: "未完成目标"}.get(met, ""),
                ref=(KPI(summary, f"disposal.{key}.target", "目标", "pct"),),
                lines=[KPI(summary, f"disposal.{key}.base_mu", "考核基数"),
                       KPI(summary, f"disposal.{key}.disposed_mu", "已处置"),
                       KPI(summary, f"disposal.{key}.shortfall_mu", "距目标尚差")],
                gauge=target_gauge(blk.get("rate"), blk.get("target"))))
        else:
            why = reason_for(summary, f"disposal.{key}.rate") or reason(summary, "disposal") or (
                "考核基数为零，处置率无法计算" if isinstance(blk, dict) and blk.get("base_mu") == 0 else "")
            cards.append(_card(title, KPI(summary, f"disposal.{key}.rate", title, "pct"), missing_reason=why))
    # 永久基本农田
    fo = summary.get("farmland_overlap") or {}
    lines = []
    if available(summary, "farmland_overlap"):
        for role, name in ROLE_NAMES.items():
            if isinstance(fo.get(role), dict):
                lines.append(KPI(summary, f"farmland_overlap.{role}.overlap_mu", f"{name}压占"))
    sat_ok = available(summary, "satellite") and "illegal_yjjbnt_mu" in (summary.get("satellite") or {})
    main = KPI(summary, "satellite.illegal_yjjbnt_mu", "违法占用永久基本农田")
    if sat_ok and not main.missing or lines:
        v = main.raw
        cards.append(_card("违法占用永久基本农田", main if sat_ok else None,
                           status=("bad" if _num(v) and v > 0 else "ok") if _num(v) else "none",
                           status_text=("须整改" if _num(v) and v > 0 else "无违法占用") if _num(v) else "",
                           lines=lines))
    else:
        cards.append(_card("违法占用永久基本农田", main,
                           missing_reason=reason(summary, "farmland_overlap") or reason(summary, "satellite")))
    # 存量建设用地
    inv = summary.get("inventory") or {}
    if available(summary, "inventory") and "total_mu" in inv and any(
            inv.get(f"{k}_mu") is not None for k in CATEGORY_NAMES):
        lines = []
        for k, name in CATEGORY_NAMES.items():
            lines.append(KPI(summary, f"inventory.{k}_mu", name))
        partial = text(_get(summary, "inventory.unavailable.total_mu"))
        cards.append(_card("存量建设用地（去重合计）", KPI(summary, "inventory.total_mu", "存量建设用地"),
                           status="info", status_text=f"截至 {text(_get(summary, 'inventory.as_of'))}"
                           + (f"；{partial}" if partial else ""), lines=lines))
    else:
        why = reason(summary, "inventory") or "；".join(text(x) for x in (inv.get("notes") or [])[:2])
        main = KPI(summary, "inventory.total_mu", "")
        main.absent = True    # no category could be counted: say so rather than show 0
        cards.append(_card("存量建设用地", main, missing_reason=why))
    return cards


# ------------------------------------------------------------------ inline SVG charts
def _svg(w, h, body, cls="chart", label="") -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" viewBox="0 0 {w} {h}" role="img" '
            f'aria-label="{escape(label)}">{body}</svg>')


def ratio_gauge(ratio, cap, line) -> str:
    if not _num(ratio):
        return ""
    cap = cap if _num(cap) else 0.05
    line = line if _num(line) else 0.15
    top = max(line * 1.33, ratio * 1.1)
    W, H = 260, 30

    def x(v):
        return 4 + (W - 8) * min(v, top) / top
    col = "#c62828" if ratio >= line else "#ef6c00" if ratio > cap else "#2e7d32"
    body = (f'<rect x="4" y="8" width="{W - 8}" height="10" rx="5" fill="#e0e0e0"/>'
            f'<rect x="4" y="8" width="{max(2, x(ratio) - 4):.1f}" height="10" rx="5" fill="{col}"/>'
            f'<line x1="{x(cap):.1f}" x2="{x(cap):.1f}" y1="4" y2="22" stroke="#ef6c00" stroke-width="2"/>'
            f'<line x1="{x(line):.1f}" x2="{x(line):.1f}" y1="4" y2="22" stroke="#c62828" stroke-width="2"/>'
            f'<text x="{x(cap):.1f}" y="30" font-size="8" text-anchor="middle" fill="#ef6c00">{pct(cap)}</text>'
            f'<text x="{x(line):.1f}" y="30" font-size="8" text-anchor="middle" fill="#c62828">{pct(line)}</text>')
    return _svg(W, 32, body, "gauge", "比例与控制线")


def target_gauge(rate, target) -> str:
    if not _num(rate):
        return ""
    target = target if _num(target) else 0.25
    W = 260

    def x(v):
        return 4 + (W - 8) * min(max(v, 0), 1)
    col = "#2e7d32" if rate >= target else "#c62828"
    body = (f'<rect x="4" y="8" width="{W - 8}" height="10" rx="5" fill="#e0e0e0"/>'
            f'<rect x="4" y="8" width="{max(2, x(rate) - 4):.1f}" height="10" rx="5" fill="{col}"/>'
            f'<line x1="{x(target):.1f}" x2="{x(target):.1f}" y1="4" y2="22" stroke="#37474f" stroke-width="2"/>'
            f'<text x="{x(target):.1f}" y="30" font-size="8" text-anchor="middle" fill="#37474f">目标 {pct(target)}'
            '</text>')
    return _svg(W, 32, body, "gauge", "处置率与目标")


def hbar_chart(rows, *, fmt=pct, refs=(), title="", width=640, bar_h=18, label_w=110, top=None) -> str:
    """Horizontal bars: rows = [(label, value, colour)], refs = [(value, label, colour)]."""
    rows = [(text(lbl), v, c) for lbl, v, c in rows if _num(v)]
    if not rows:
        return ""
    vmax = top or max([v for _, v, _ in rows] + [r[0] for r in refs if _num(r[0])] + [1e-12]) * 1.12
    plot_w = width - label_w - 70
    H = 22 + len(rows) * (bar_h + 6) + 8

    def x(v):
        return label_w + plot_w * max(0.0, v) / vmax
    out = []
    for i, (lbl, v, c) in enumerate(rows):
        y = 18 + i * (bar_h + 6)
        out.append(f'<text x="{label_w - 6}" y="{y + bar_h * 0.72:.1f}" font-size="12" text-anchor="end">'
                   f'{escape(lbl[:14])}</text>'
                   f'<rect x="{label_w}" y="{y}" width="{max(1.0, x(v) - label_w):.1f}" height="{bar_h}" fill="{c}"/>'
                   f'<text x="{x(v) + 4:.1f}" y="{y + bar_h * 0.72:.1f}" font-size="11" fill="#37474f" '
                   f'stroke="#fff" stroke-width="3" paint-order="stroke">{escape(fmt(v))}</text>')
    H += 14
    for i, (v, lbl, c) in enumerate(refs):
        if _num(v) and v <= vmax:
            ty = 10 if i % 2 == 0 else H - 3      # alternate labels top / bottom so they never collide
            # reference lines go under the bars and their haloed value labels, which stay legible
            out.insert(0, f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="12" y2="{H - 16}" stroke="{c}" stroke-width="1.5" '
                       f'stroke-dasharray="4 3"/><text x="{x(v):.1f}" y="{ty}" font-size="10" text-anchor="middle" '
                       f'fill="{c}">{escape(lbl)}</text>')
    return _svg(width, H, "".join(out), "chart", title)


def vbar_chart(rows, *, fmt=pct, refs=(), title="", width=640, height=220) -> str:
    """Vertical bars: rows = [(label, value, colour)], refs = horizontal lines [(value, label, colour)]."""
    rows = [(text(lbl), v, c) for lbl, v, c in rows]
    vals = [v for _, v, _ in rows if _num(v)]
    if not vals:
        return ""
    vmax = max(vals + [r[0] for r in refs if _num(r[0])] + [1e-12]) * 1.15
    left, bottom, top = 40, 30, 16
    right = 10 + (84 if any(_num(r[0]) for r in refs) else 0)   # room for the reference lines' labels
    plot_h = height - bottom - top
    slot = (width - left - right) / max(1, len(rows))
    bw = min(60, slot * 0.6)

    def y(v):
        return top + plot_h * (1 - max(0.0, v) / vmax)
    out = [f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#90a4ae"/>']
    for i, (lbl, v, c) in enumerate(rows):
        cx = left + slot * (i + 0.5)
        if _num(v):
            out.append(f'<rect x="{cx - bw / 2:.1f}" y="{y(v):.1f}" width="{bw:.1f}" '
                       f'height="{max(0.5, top + plot_h - y(v)):.1f}" fill="{c}"/>'
                       f'<text x="{cx:.1f}" y="{y(v) - 4:.1f}" font-size="11" text-anchor="middle" fill="#37474f" '
                       f'stroke="#fff" stroke-width="3" paint-order="stroke">{escape(fmt(v))}</text>')
        else:
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h - 6}" font-size="10" text-anchor="middle" '
                       f'fill="#9e9e9e">{MISSING}</text>')
        out.append(f'<text x="{cx:.1f}" y="{height - 10}" font-size="12" text-anchor="middle">{escape(lbl[:12])}</text>')
    for v, lbl, c in refs:        # under the bars (inserted after the axis), labels in the right margin
        if _num(v):
            out.insert(1, f'<line x1="{left}" x2="{width - right + 4}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{c}" '
                          f'stroke-dasharray="5 3" stroke-width="1.5"/><text x="{width - right + 8}" y="{y(v) + 3:.1f}" '
                          f'font-size="10" text-anchor="start" fill="{c}">{escape(lbl)}</text>')
    return _svg(width, height, "".join(out), "chart", title)


def line_chart(x_labels, series, *, fmt=pct, refs=(), title="", width=640, height=220) -> str:
    """A trend over runs: series = [(name, values, colour)] (None = no point), refs = [(value, label, colour)]."""
    vals = [v for _, vs, _ in series for v in vs if _num(v)]
    if len(x_labels) < 2 or not vals:
        return ""
    vmax = max(vals + [r[0] for r in refs if _num(r[0])] + [1e-12]) * 1.15
    left, bottom, top, right = 44, 44, 16, 96
    plot_w, plot_h = width - left - right, height - bottom - top

    def x(i):
        return left + plot_w * i / max(1, len(x_labels) - 1)

    def y(v):
        return top + plot_h * (1 - max(0.0, v) / vmax)
    out = [f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#90a4ae"/>']
    for v, lbl, c in refs:
        if _num(v):
            out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{c}" '
                       f'stroke-dasharray="5 3" stroke-width="1.5"/><text x="{left + plot_w + 6}" y="{y(v) + 3:.1f}" '
                       f'font-size="10" fill="{c}">{escape(lbl)}</text>')
    for k, (name, vs, c) in enumerate(series):
        pts = [(x(i), y(v), v) for i, v in enumerate(vs) if _num(v)]
        if len(pts) > 1:
            out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                       + " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in pts) + '"/>')
        for px, py, v in pts:
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{c}"/><text x="{px:.1f}" y="{py - 7:.1f}" '
                       f'font-size="10" text-anchor="middle" fill="#37474f" stroke="#fff" stroke-width="3" '
                       f'paint-order="stroke">{escape(fmt(v))}</text>')
        out.append(f'<rect x="{left + 10 + k * 110}" y="{height - 14}" width="10" height="10" fill="{c}"/>'
                   f'<text x="{left + 24 + k * 110}" y="{height - 5}" font-size="11">{escape(name)}</text>')
    for i, lbl in enumerate(x_labels):
        out.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle">'
                   f'{escape(text(lbl))}</text>')
    return _svg(width, height, "".join(out), "chart", title)


def _ratio_colour(r, cap, line) -> str:
    if not _num(r):
        return "#bdbdbd"
    return "#c62828" if r >= line else "#ef6c00" if r > cap else "#2e7d32"


# ------------------------------------------------------------------ tables from result frames
def _frame_rows(gdf, columns, n=15, sort=None):
    """The first ``n`` rows of a result frame (sorted by ``sort`` descending), only display cells."""
    if gdf is None or len(gdf) == 0:
        return []
    df = gdf.drop(columns=gdf.geometry.name) if hasattr(gdf, "geometry") else gdf
    if sort and sort in df.columns:
        df = df.sort_values(sort, ascending=False, kind="stable")
    out = []
    for _, r in df.head(n).iterrows():
        row = []
        for col, kind in columns:
            v = r.get(col) if col in df.columns else None
            try:
                import pandas as pd
                if v is not None and not isinstance(v, (list, tuple)) and pd.isna(v):
                    v = None
            except (TypeError, ValueError):
                pass
            row.append({"mu": mu, "pct": pct, "count": count, "years": _years}.get(kind, _cell_text)(v))
        out.append(row)
    return out


def when_label(iso) -> str:
    """An ISO timestamp as a reader writes it, in the zone it was written in (``[report]
    timezone``, Beijing time by default): 2026-11-22 10:57（UTC+08:00）."""
    import datetime as dt
    try:
        t = dt.datetime.fromisoformat(str(iso))
    except (TypeError, ValueError):
        return text(iso or "")
    if t.utcoffset() is None:
        return t.strftime("%Y-%m-%d %H:%M")
    off = int(t.utcoffset().total_seconds() // 60)
    return t.strftime("%Y-%m-%d %H:%M") + f"（UTC{'+' if off >= 0 else '-'}{abs(off) // 60:02d}:{abs(off) % 60:02d}）"


def _years(v) -> str:
    """Years with one decimal (闲置年数)."""
    return "" if v is None else f"{float(v):.1f}"


def _cell_text(v) -> str:
    if v is None:
        return ""
    if hasattr(v, "isoformat"):
        try:
            return v.date().isoformat() if hasattr(v, "date") and callable(v.date) else v.isoformat()
        except (TypeError, ValueError):
            return str(v)
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, bool):
        return "是" if v else "否"
    return text(v)


def largest_illegal(results, names) -> list:
    sat = results.get("satellite")
    if sat is None:
        return []
    p = sat.patches
    p = p[p["class"] == "illegal"].copy()
    if "township" in p.columns:
        p["乡镇"] = [names.get(text(t), text(t)) for t in p["township"]]
    return _frame_rows(p, [("监测编号", "t"), ("乡镇", "t"), ("违法类型", "t"), ("整改状态", "t"), ("area_mu", "mu"),
                           ("farmland_used_mu", "mu"), ("yjjbnt_mu", "mu")], n=15, sort="farmland_used_mu")


IDLE_SHORT = {"未动工开发满一年": "未动工", "已动工但中止开发满一年": "中止开发"}


def largest_idle(results, names) -> list:
    frames = inventory_frames(results.get("inventory"))
    g = frames.get("idle")
    if g is None:
        return []
    g = g.copy()
    if "township_name" not in g.columns and "township" in g.columns:
        g["township_name"] = [names.get(text(t), text(t)) for t in g["township"]]
    if "idle_type" in g.columns:     # short labels: the full wording is in the 台账
        g["idle_type"] = [IDLE_SHORT.get(x, x) for x in g["idle_type"]]
    idc = next((c for c in ("电子监管号", "id", "编号") if c in g.columns), None)
    holder = next((c for c in ("土地使用权人", "holder", "权利人", "用地单位") if c in g.columns), None)
    return _frame_rows(g, [(idc or "id", "t"), ("项目名称", "t"), (holder or "土地使用权人", "t"),
                           ("township_name", "t"), ("area_mu", "mu"), ("idle_type", "t"), ("idle_since", "t"),
                           ("idle_years", "years"), ("cause", "t")], n=15, sort="area_mu")


# ------------------------------------------------------------------ the page
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(mu=mu, pct=pct, count=count, text=text)
    env.globals.update(MISSING=MISSING, STATUS_NAMES=STATUS_NAMES, STATUS_CLASS=STATUS_CLASS,
                       LEVEL_NAMES=LEVEL_NAMES, CATEGORY_NAMES=CATEGORY_NAMES, ROLE_NAMES=ROLE_NAMES, LAYER_NAMES=LAYER_NAMES,
                       json_value=lambda v: json.dumps(json_ready(v), ensure_ascii=False))
    env.filters.update(why=lambda w: f"（{w}）" if w else "")
    return env


def _map_parts(m) -> dict:
    """Split a rendered folium map into what goes in <head>, the map <div>, and its script."""
    import re
    fig = m.get_root()
    fig.render()
    header = fig.header.render()
    html = fig.html.render()
    script = fig.script.render()
    uses = jquery_uses(header + script)
    if uses:
        from .offline import OfflineError
        raise OfflineError("地图脚本使用了 jQuery（离线报告不提供）：" + " … ".join(uses[:3]))
    # folium's page-level rules (html, body at 100 %, #map absolute) would break a long report
    header = re.sub(r"<style>\s*html,\s*body\s*\{[^}]*\}\s*</style>", "", header)
    header = re.sub(r"<style>\s*#map\s*\{[^}]*\}\s*</style>", "", header)
    header = re.sub(r'<meta http-equiv="content-type"[^>]*>', "", header)
    header = re.sub(r'<meta name="viewport"[^>]*>', "", header, flags=re.S)
    return {"header": inline_assets(header), "html": html, "script": script}


def _context(county, analysis, m, chips=None, fieldcheck_href: str | None = None) -> dict:
    summary, results = summary_and_results(analysis)
    summary = json_ready(summary)
    c = summary.get("county") or {}
    name = text(c.get("name") or getattr(county, "name", "") or "")
    names = {}
    for sec in ("satellite", "inventory", "disposal"):
        for r in (summary.get(sec) or {}).get("by_township") or []:
            if isinstance(r, dict) and r.get("code"):
                names.setdefault(str(r["code"]), text(r.get("name") or r["code"]))
    sat = summary.get("satellite") if available(summary, "satellite") else None
    charts = {}
    if sat and sat.get("by_township"):
        cap, line = sat.get("cap"), sat.get("accountability_threshold")
        charts["town_ratio"] = Markup(hbar_chart(
            [(r.get("name") or r.get("code"), r.get("ratio"), _ratio_colour(r.get("ratio"), cap, line))
             for r in sat["by_township"]],
            refs=[(cap, f"控制目标 {pct(cap)}", "#ef6c00"), (line, f"问责线 {pct(line)}", "#c62828")],
            title="各乡镇卫片违法占用耕地比例"))
    if sat and sat.get("by_quarter"):
        cap, line = sat.get("cap"), sat.get("accountability_threshold")
        charts["quarters"] = Markup(vbar_chart(
            [(f"第{q.get('quarter')}季度", q.get("ratio"), _ratio_colour(q.get("ratio"), cap, line))
             for q in sat["by_quarter"]],
            refs=[(cap, f"控制目标 {pct(cap)}", "#ef6c00"), (line, f"问责线 {pct(line)}", "#c62828")],
            title="卫片违法占用耕地比例（按季度累计）"))
    if sat and sat.get("by_judgement"):
        cols = {"legal": "#42a5f5", "illegal": "#e53935", "other": "#bcaaa4", "pseudo": "#bdbdbd"}
        charts["judgement"] = Markup(hbar_chart(
            [(j.get("name"), j.get("farmland_mu"), cols.get(j.get("class"), "#90a4ae")) for j in sat["by_judgement"]],
            fmt=lambda v: mu(v, True), title="各判定类型图斑占用耕地面积", label_w=80))
    inv = summary.get("inventory") if available(summary, "inventory") else None
    if inv:
        cols = {"approved_unsupplied": "#ff9800", "idle": "#8e24aa", "inefficient": "#a1887f",
                "collective_commercial": "#26a69a"}
        charts["inventory"] = Markup(vbar_chart(
            [(n, inv.get(f"{k}_mu"), cols[k]) for k, n in CATEGORY_NAMES.items()], fmt=mu,
            title="存量建设用地（亩）"))
    disp = summary.get("disposal") if available(summary, "disposal") else None
    if disp:
        tg = _get(disp, "approved_unsupplied.target")
        charts["disposal"] = Markup(vbar_chart(
            [("批而未供", _get(disp, "approved_unsupplied.rate"),
              "#2e7d32" if _get(disp, "approved_unsupplied.met") else "#c62828"),
             ("闲置土地", _get(disp, "idle.rate"), "#2e7d32" if _get(disp, "idle.met") else "#c62828")],
            refs=[(tg, f"目标 {pct(tg)}", "#37474f")], title="处置率与目标", width=420))
    hist = [h for h in (summary.get("history") or []) if isinstance(h, dict)]
    if len(hist) >= 2:
        labels = [h.get("as_of") for h in hist]
        cap = next((h.get("satellite_cap") for h in reversed(hist) if _num(h.get("satellite_cap"))), None)
        charts["trend_ratio"] = Markup(line_chart(
            labels, [("卫片违法占用耕地比例", [h.get("satellite_ratio") for h in hist], "#c62828")],
            refs=[(cap, f"控制目标 {pct(cap)}", "#ef6c00")], title="卫片违法占用耕地比例走势"))
        tg = next((h.get("disposal_target") for h in reversed(hist) if _num(h.get("disposal_target"))), None)
        charts["trend_disposal"] = Markup(line_chart(
            labels, [("批而未供处置率", [h.get("approved_unsupplied_disposal_rate") for h in hist], "#ff9800"),
                     ("闲置土地处置率", [h.get("idle_disposal_rate") for h in hist], "#8e24aa")],
            refs=[(tg, f"目标 {pct(tg)}", "#37474f")], title="处置率走势"))
    tracking = summary.get("tracking") if isinstance(summary.get("tracking"), dict) else None
    remind = []
    if tracking:
        groups: dict = {}
        for o in tracking.get("overdue") or []:
            g = groups.setdefault((o.get("责任单位") or "（未填责任单位）", o.get("乡镇") or ""),
                                  {"unit": o.get("责任单位") or "（未填责任单位）", "town": o.get("乡镇") or "",
                                   "count": 0, "mu": 0.0, "keys": []})
            g["count"] += 1
            g["mu"] += o.get("area_mu") or 0.0
            g["keys"].append(f"{o.get('sheet')} {o.get('key')}（{o.get('完成时限')}）")
        remind = sorted(groups.values(), key=lambda g: (-g["count"], -g["mu"]))
    disp_towns = []
    if disp:
        for r in disp.get("by_township") or []:
            a, i = r.get("approved_unsupplied") or {}, r.get("idle") or {}
            disp_towns.append({"name": r.get("name") or r.get("code"), "code": r.get("code"), "au": a, "idle": i,
                               "short": (a.get("shortfall_mu") or 0) > 0 or (i.get("shortfall_mu") or 0) > 0})
        disp_towns.sort(key=lambda r: (-(r["au"].get("shortfall_mu") or 0), -(r["idle"].get("shortfall_mu") or 0)))
    fo = summary.get("farmland_overlap") if available(summary, "farmland_overlap") else None
    fo_rows = [(role, ROLE_NAMES[role], fo[role]) for role in ROLE_NAMES if fo and isinstance(fo.get(role), dict)]
    qa = summary.get("qa") or {}
    findings = sorted(qa.get("findings") or [], key=lambda f: {"error": 0, "warning": 1}.get(f.get("level"), 2))
    parts = _map_parts(m)
    return {
        "summary": summary, "county": c, "name": name, "adcode": text(c.get("adcode") or getattr(county, "adcode", "")),
        "year": c.get("year") if c.get("year") is not None else getattr(county, "year", None),
        "as_of": text(c.get("as_of") or getattr(county, "as_of", "") or ""),
        "generated_at": when_label(summary.get("generated_at")), "version": summary.get("landkit_version", __version__),
        "schema_version": summary.get("schema_version"),
        "cards": kpi_cards(summary), "sat": sat, "inv": inv, "disp": disp, "disp_towns": disp_towns, "fo": fo,
        "fo_rows": fo_rows, "names": names, "charts": charts, "qa": qa, "findings": findings,
        "tracking": tracking, "remind": remind, "history": hist,
        "sat_reason": reason(summary, "satellite"), "inv_reason": reason(summary, "inventory"),
        "disp_reason": reason(summary, "disposal"), "fo_reason": reason(summary, "farmland_overlap"),
        "illegal_rows": largest_illegal(results, names), "idle_rows": largest_idle(results, names),
        "map_header": Markup(parts["header"]), "map_html": Markup(parts["html"]),
        "map_script": Markup(parts["script"]), "map_svg": Markup(print_svg(m.lk_layers)),
        "legend": legend_items([lay for lay in m.lk_layers if lay.show]), "map_stats": m.lk_stats,
        "online_basemap": bm.is_online(m.lk_stats.get("basemaps", [])),
        "css": Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        "chips": chips, "fieldcheck_href": fieldcheck_href,
        "chips_reason": (chips.reason if chips is not None else "") or "没有可截取影像的卫片图斑",
        "change": change_context(summary, results), "change_reason": reason(summary, "change"),
    }


def render_report(county, analysis, *, basemap=None, map_options: dict | None = None, chips=None,
                  fieldcheck_href: str | None = None) -> tuple[str, dict]:
    """The report HTML and the map statistics (see :func:`build_report`)."""
    opts = dict(map_options or {})
    opts.setdefault("collapsed_control", True)
    if chips is not None and chips.available:
        # the patch popups show the pictures of the report's patch cards (no second copy)
        opts.update(chips=chips, embed_chips=False)
    m = county_map(county, analysis, basemap=basemap, height="640px", **opts)
    ctx = _context(county, analysis, m, chips, fieldcheck_href)
    ctx["zones"] = zones_context(ctx["summary"])          # the 开发区 section (render/zones.py)
    html = _env().get_template("report.html.j2").render(**ctx)
    assert_offline(html)
    return html, m.lk_stats


def build_report(county, analysis, path=None, *, basemap=None, map_options: dict | None = None,
                 max_bytes: int = MAX_BYTES, chips=None, fieldcheck_href: str | None = None) -> str:
    """Build the county report; write it to ``path`` (atomically) if given; return the HTML.

    Parameters
    ----------
    county : a :class:`landkit.County`
    analysis : the analysis of the county, as :func:`landkit.analyse` returns it
    path : where to write ``report.html``
    basemap : None (default: config ``[report] basemap``, else no tiles: the report opens with
        no network request), or a name accepted by :func:`landkit.render.maps.county_map`
    map_options : extra keyword arguments for :func:`~landkit.render.maps.county_map`
    max_bytes : size budget (10 MB); a larger report is rebuilt with lighter map layers
    chips : the patches' before/after chips (:func:`landkit.render.chips.patch_chips`); None cuts
        them here from the county's 前时相 / 后时相 images. At most ``CHIP_SHARE`` of the budget
        goes to them: the largest patches' chips are kept, the others point to the 外业核查表.
    fieldcheck_href : link to the 外业核查表 written next to the report (pipeline.run), or None
    """
    config = getattr(county, "config", None)
    if basemap is None and config is not None:
        basemap = config.report.basemap
    opts = dict(map_options or {})
    # The full 地类图斑 picture is optional context (off by default in the map); drawing it for a
    # 150k-polygon county costs ~5 s, so reports include it up to [report] dltb_max_features.
    dltb_max = config.report.dltb_max_features if config is not None else 50_000
    if getattr(county, "dltb", None) is not None and len(county.dltb) > dltb_max:
        opts.setdefault("dltb", False)
    if chips is None:
        from .chips import patch_chips
        chips = patch_chips(county, analysis)
    chips = chips.limited(int(max_bytes * CHIP_SHARE))
    html, _ = render_report(county, analysis, basemap=basemap, map_options=opts, chips=chips,
                            fieldcheck_href=fieldcheck_href)
    tries = [dict(vector_limit=1500, raster_px=1536, simplify_m=3.0), dict(vector_limit=400, raster_px=1024,
                                                                           simplify_m=8.0, dltb=False)]
    for lighter in tries:
        if len(html.encode("utf-8")) <= max_bytes:
            break
        html, _ = render_report(county, analysis, basemap=basemap, map_options={**opts, **lighter}, chips=chips,
                                fieldcheck_href=fieldcheck_href)
    size = len(html.encode("utf-8"))
    if size > max_bytes:
        warnings.warn(f"报告大小 {size / 1e6:.1f} MB，超过 {max_bytes / 1e6:.0f} MB 的预算", stacklevel=2)
    if path is not None:
        write_text_atomic(html, Path(path))
    return html


# ------------------------------------------------------------------ two DLTB vintages (地类变化)
#: the figures of the 地类变化 section, in order: (summary key, label)
CHANGE_FIGURES = (("cultivated_previous_mu", "上一期耕地"), ("cultivated_current_mu", "本期耕地"),
                  ("cultivated_out_mu", "耕地流出"), ("cultivated_in_mu", "耕地流入"),
                  ("cultivated_kcxs_change_mu", "田坎系数变化"), ("cultivated_net_change_mu", "耕地净变化"),
                  ("cultivated_to_construction_mu", "非农化（耕地变为建设用地）"),
                  ("cultivated_to_nonfood_mu", "非粮化"), ("cultivated_to_nonfood_by_class_mu", "其中：变为园地、林地、草地、坑塘等"),
                  ("cultivated_to_nongrain_mu", "其中：改种非粮作物（种植属性）"),
                  ("new_construction_on_cultivated_mu", "新增建设用地占用耕地（两期比较）"),
                  ("satellite_denominator_mu", "卫片新增建设用地占用耕地（合法 + 违法图斑）"),
                  ("satellite_denominator_gap_mu", "差额（两期比较 − 卫片）"),
                  ("unmonitored_mu", "未被卫片图斑覆盖的新增建设占用耕地"), ("unmonitored_count", "疑似漏监测地块"))


#: short 一级类 names for the report's matrix headers (the ledger keeps the full names)
LEVEL1_SHORT = {"00": "湿地", "01": "耕地", "02": "园地", "03": "林地", "04": "草地", "05": "商服", "06": "工矿",
                "07": "住宅", "08": "公服", "09": "特殊", "10": "交通", "11": "水域", "12": "其他"}


def stacked_bars(rows, *, title="", width=640, label_w=90, bar_h=26) -> str:
    """Horizontal stacked bars: rows = [(label, [(segment label, value, colour)])]; the segments'
    legend below (each label once). Values in 亩."""
    rows = [(text(lbl), [(text(s), v, c) for s, v, c in segs if _num(v) and v > 0]) for lbl, segs in rows]
    rows = [r for r in rows if r[1]]
    if not rows:
        return ""
    vmax = max(sum(v for _, v, _ in segs) for _, segs in rows) * 1.08
    plot_w = width - label_w - 90
    out = []
    for i, (lbl, segs) in enumerate(rows):
        y = 10 + i * (bar_h + 14)
        x = float(label_w)
        out.append(f'<text x="{label_w - 6}" y="{y + bar_h * 0.65:.1f}" font-size="12" text-anchor="end">'
                   f'{escape(lbl)}</text>')
        for s, v, c in segs:
            w = plot_w * v / vmax
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{max(0.5, w):.1f}" height="{bar_h}" fill="{c}">'
                       f'<title>{escape(s)} {escape(mu(v, True))}</title></rect>')
            x += w
        total = sum(v for _, v, _ in segs)
        out.append(f'<text x="{x + 4:.1f}" y="{y + bar_h * 0.65:.1f}" font-size="11" fill="#37474f">'
                   f'{escape(mu(total, True))}</text>')
    seen = {}
    for _, segs in rows:
        for s, _, c in segs:
            seen.setdefault(s, c)
    y0 = 10 + len(rows) * (bar_h + 14)
    per = max(1, (width - 20) // 150)
    for k, (s, c) in enumerate(seen.items()):
        lx, ly = 10 + (k % per) * 150, y0 + (k // per) * 18
        out.append(f'<rect x="{lx}" y="{ly}" width="12" height="10" fill="{c}"/>'
                   f'<text x="{lx + 16}" y="{ly + 9}" font-size="11">{escape(s[:10])}</text>')
    H = y0 + ((len(seen) - 1) // per + 1) * 18 + 6
    return _svg(width, H, "".join(out), "chart", title)


def change_context(summary: dict, results: dict) -> dict | None:
    """What the 地类变化 section shows (None when the county has one DLTB vintage): figures with
    their summary keys, the 流出 / 流入 chart, the 一级类 matrix, townships, 疑似漏监测 pieces."""
    from .maps import CHANGE_COLORS
    cs = summary.get("change")
    if not available(summary, "change") or not isinstance(cs, dict) or "cultivated_out_mu" not in cs:
        return None
    kpis = [KPI(summary, f"change.{k}", label, "count" if k.endswith("_count") else "mu") for k, label in CHANGE_FIGURES]
    out1 = [(r.get("name"), r.get("area_mu"), CHANGE_COLORS.get(r.get("code"), "#9e9e9e"))
            for r in cs.get("cultivated_out_by_level1") or []]
    in1 = [(r.get("name"), r.get("area_mu"), CHANGE_COLORS.get(r.get("code"), "#9e9e9e"))
           for r in cs.get("cultivated_in_by_level1") or []]
    chart = stacked_bars([("耕地流出", out1), ("耕地流入", in1)], title="耕地流出与流入（亩）")
    cells = cs.get("matrix_level1") or []
    codes_from = sorted({c["from_code"] for c in cells}, key=lambda c: (c == "未知", c))
    codes_to = sorted({c["to_code"] for c in cells}, key=lambda c: (c == "未知", c))
    names = {c["from_code"]: c["from_name"] for c in cells} | {c["to_code"]: c["to_name"] for c in cells}
    val = {(c["from_code"], c["to_code"]): c.get("area_mu") for c in cells}
    rows = []
    for f in codes_from:
        vals = [val.get((f, t)) for t in codes_to]
        rows.append({"code": f, "name": names.get(f, f), "cells": [
            {"v": "" if not v else mu(v), "diag": f == t} for v, t in zip(vals, codes_to)],
            "total": mu(sum(v or 0 for v in vals))})
    col_tot = [mu(sum(val.get((f, t)) or 0 for f in codes_from)) for t in codes_to]
    grand = mu(sum(c.get("area_mu") or 0 for c in cells))
    ch = results.get("change") if isinstance(results, dict) else None
    unmon = []
    if ch is not None:
        g = ch.outflow
        g = g[g["unmonitored"].to_numpy(dtype=bool)]
        unmon = _frame_rows(g, [("piece_id", "t"), ("township_name", "t"), ("from_name", "t"), ("to_name", "t"),
                                ("to_bsm", "t"), ("area_mu", "mu")], n=15, sort="area_mu")
    y0, y1 = cs.get("previous_year"), cs.get("current_year")
    return {"cs": cs, "kpis": kpis, "chart": Markup(chart), "period": f"{y0 or '上一期'}—{y1 or '本期'}年",
            "mode": "扣除田坎" if cs.get("farmland_mode") == "net" else "毛面积",
            "matrix": {"cols": [(t, LEVEL1_SHORT.get(t, names.get(t, t)), names.get(t, t)) for t in codes_to],
                       "rows": rows, "col_totals": col_tot,
                       "total": grand},
            "towns": [r for r in cs.get("by_township") or [] if r.get("cultivated_out_mu") or r.get("cultivated_in_mu")
                      or r.get("satellite_denominator_mu")],
            "unmonitored_rows": unmon}

"""Roll-up of a batch: headline figures per county, ``summary.json``, ``汇总.xlsx`` and an offline
overview map ``index.html`` (inline SVG, no network request of any kind).

Renderers only: every figure comes from the counties' ``summary.json`` (via :func:`headline`);
nothing is recomputed except province totals (sums, and 卫片 ratio = Σ违法 ÷ Σ新增).
"""
from __future__ import annotations

import html
import json
import math
import re
import urllib.parse
from pathlib import Path

import pandas as pd

from .export import atomic_write
from .ledger import Col, add_kv_sheet, add_sheet, new_workbook
from .report import when_label

STATUS_NAMES = {"pass": "达标", "over_cap": "超过控制目标", "accountability": "达到问责线", "no_data": "无数据"}
RUN_STATUS = {"ok": "完成", "skipped": "沿用上次结果", "failed": "失败"}
OVERLAP_ROLES = {"approvals": "批准用地", "supply": "供地", "parcels": "宗地", "patches": "卫片图斑"}
INVENTORY = {"approved_unsupplied": "批而未供", "idle": "闲置土地", "inefficient": "城镇低效用地",
             "collective_commercial": "农村集体经营性建设用地"}
DISPOSAL = {"approved_unsupplied": "批而未供", "idle": "闲置土地"}

#: map colours by 卫片 status (and run failure)
COLOURS = {"pass": "#5cb85c", "over_cap": "#f0ad4e", "accountability": "#d9534f", "no_data": "#9fb7cc",
           "none": "#c9d6df", "failed": "#7f7f7f"}
LEGEND = [("pass", "卫片比例达标"), ("over_cap", "超过控制目标"), ("accountability", "达到问责线"),
          ("no_data", "卫片无数据"), ("none", "无卫片图层"), ("failed", "分析失败")]


# --------------------------------------------------------------------------------------
# headline figures
# --------------------------------------------------------------------------------------

def headline(summary: dict) -> dict:
    """The figures of one county's summary.json that a roll-up shows, as a flat dict.

    Keys: name, adcode, year, as_of, run_seconds; satellite_available, satellite_ratio,
    satellite_deducted_ratio, satellite_status, illegal_farmland_mu, new_construction_farmland_mu,
    rectify_to_cap_mu, illegal_patch_count; yjjbnt_overlap_<role>_mu for approvals / supply /
    parcels / patches; disposal_available and <cat>_disposal_{rate, target, met, base_mu,
    disposed_mu} for approved_unsupplied / idle; inventory_available, <cat>_mu for the four
    存量 categories and inventory_total_mu; qa_error_count, qa_warning_count; field_check_rate;
    change_<key> for :data:`CHANGE_KEYS` (two DLTB vintages) and zones_<key> for :data:`ZONE_KEYS`
    (all 开发区 together); the movement keys of :func:`movement`. A figure the summary does not
    have (a section not computed or not yet produced) is None, never 0.
    """
    c = summary.get("county") or {}
    h = {"name": c.get("name"), "adcode": c.get("adcode"), "year": c.get("year"), "as_of": c.get("as_of"),
         "run_seconds": summary.get("run_seconds")}
    sat = summary.get("satellite") or {}
    h["satellite_available"] = bool(sat.get("available")) if "satellite" in summary else None
    for k, src in (("satellite_ratio", "ratio"), ("satellite_deducted_ratio", "deducted_ratio"),
                   ("satellite_status", "status"), ("illegal_farmland_mu", "illegal_farmland_mu"),
                   ("new_construction_farmland_mu", "new_construction_farmland_mu"),
                   ("rectify_to_cap_mu", "rectify_to_cap_mu"), ("illegal_patch_count", "illegal_patch_count")):
        h[k] = sat.get(src) if sat.get("available") else None
    fo = summary.get("farmland_overlap") or {}
    for role in OVERLAP_ROLES:
        r = fo.get(role) if fo.get("available") else None
        h[f"yjjbnt_overlap_{role}_mu"] = r.get("overlap_mu") if isinstance(r, dict) else None
    disp = summary.get("disposal")
    h["disposal_available"] = isinstance(disp, dict) and disp.get("available", True) is not False
    for cat in DISPOSAL:
        b = (disp or {}).get(cat) if isinstance(disp, dict) else None
        b = b if isinstance(b, dict) else {}
        for k in ("rate", "target", "met", "base_mu", "disposed_mu"):
            h[f"{cat}_disposal_{k}"] = b.get(k)
    inv = summary.get("inventory")
    h["inventory_available"] = isinstance(inv, dict) and inv.get("available", True) is not False
    for cat in INVENTORY:
        h[f"{cat}_mu"] = inv.get(f"{cat}_mu") if isinstance(inv, dict) else None
    h["inventory_total_mu"] = inv.get("total_mu") if isinstance(inv, dict) else None
    qa = summary.get("qa") or {}
    h["qa_error_count"] = qa.get("error_count")
    h["qa_warning_count"] = qa.get("warning_count")
    h["field_check_rate"] = sat.get("field_check_rate") if sat.get("available") else None
    ch = summary.get("change") if isinstance(summary.get("change"), dict) else {}
    for k in CHANGE_KEYS:            # two DLTB vintages (None for a county with one)
        h[f"change_{k}"] = ch.get(k) if ch.get("available") else None
    zt = (summary.get("development_zones") or {}).get("total") \
        if (summary.get("development_zones") or {}).get("available") else None
    for k in ZONE_KEYS:              # 开发区 indicators over all of the county's zones
        h[f"zones_{k}"] = zt.get(k) if isinstance(zt, dict) else None
    h.update(movement(summary))
    return h


#: summary.json ``change`` figures a roll-up shows per county (亩; counts)
CHANGE_KEYS = ("cultivated_out_mu", "cultivated_in_mu", "cultivated_net_change_mu", "cultivated_to_construction_mu",
               "cultivated_to_nonfood_mu", "satellite_denominator_gap_mu", "unmonitored_count", "unmonitored_piece_mu")
#: ``development_zones.total`` indicators a roll-up shows per county
ZONE_KEYS = ("supply_rate", "built_rate", "fixed_asset_per_mu_wan", "tax_per_mu_wan")


#: headline key → the history key it moves with (a change since the previous run)
MOVING = {"satellite_ratio": "satellite_ratio", "approved_unsupplied_mu": "approved_unsupplied_mu",
          "idle_mu": "idle_mu", "inventory_total_mu": "inventory_total_mu"}


def movement(summary: dict) -> dict:
    """What moved since the previous run (``landkit run --previous``): previous_as_of, carried_rows,
    unmatched_rows, overdue_count, overdue_mu, newly_disposed_mu from ``tracking``, and
    ``satellite_ratio_change`` and ``<area>_change_mu`` = this run's figure − the previous history entry's (ratio as a share,
    areas in 亩). All None without a previous run or when either side is unknown."""
    t = summary.get("tracking") if isinstance(summary.get("tracking"), dict) else {}
    out = {k: t.get(k) for k in ("previous_as_of", "carried_rows", "unmatched_rows", "overdue_count",
                                  "overdue_mu", "newly_disposed_mu")}
    hist = [x for x in (summary.get("history") or []) if isinstance(x, dict)]
    now = hist[-1] if hist else {}
    before = None
    if t and len(hist) >= 2:
        before = next((x for x in reversed(hist[:-1]) if x.get("as_of") == t.get("previous_as_of")), hist[-2])
    for k, hk in MOVING.items():
        a, b = now.get(hk), (before or {}).get(hk)
        name = k[:-3] + "_change_mu" if k.endswith("_mu") else k + "_change"
        out[name] = (a - b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None
    return out


def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.2f}%"


def headline_text(h: dict | None) -> str:
    """One Chinese line of a county's headline figures (for the batch log)."""
    if not h:
        return ""
    parts = []
    if h.get("satellite_available"):
        st = STATUS_NAMES.get(h.get("satellite_status"), h.get("satellite_status") or "")
        parts.append(f"卫片违法占用耕地比例 {_pct(h.get('satellite_ratio'))}（{st}）")
    elif h.get("satellite_available") is False:
        parts.append("无卫片图层")
    ov = [(OVERLAP_ROLES[r], h.get(f"yjjbnt_overlap_{r}_mu")) for r in ("approvals", "supply")]
    ov = [(n, v) for n, v in ov if v is not None]
    if ov:
        parts.append("永农压占 " + "、".join(f"{n} {v:.2f} 亩" for n, v in ov))
    if h.get("approved_unsupplied_disposal_rate") is not None:
        parts.append(f"批而未供处置率 {_pct(h['approved_unsupplied_disposal_rate'])}")
    if h.get("inventory_total_mu") is not None:
        parts.append(f"存量合计 {h['inventory_total_mu']:.2f} 亩")
    return "；".join(parts)


def movement_text(h: dict | None) -> str:
    """One Chinese line of what moved since the previous run (the roll-up's 与上期相比)."""
    if not h or not h.get("previous_as_of"):
        return "无上期结果" if h else ""
    parts = [f"上期截至 {h['previous_as_of']}"]
    d = h.get("satellite_ratio_change")
    if d is not None:
        parts.append(f"卫片比例{'上升' if d > 0 else '下降' if d < 0 else '持平'}"
                     + (f" {abs(d) * 100:.2f} 个百分点" if d else ""))
    d = h.get("inventory_total_change_mu")
    if d is not None:
        parts.append(f"存量{'增加' if d > 0 else '减少' if d < 0 else '持平'}" + (f" {abs(d):,.2f} 亩" if d else ""))
    if h.get("newly_disposed_mu") is not None:
        parts.append(f"新处置 {h['newly_disposed_mu']:,.2f} 亩")
    if h.get("overdue_count") is not None:
        parts.append(f"逾期 {h['overdue_count']} 项（{(h.get('overdue_mu') or 0):,.2f} 亩）")
    if h.get("unmatched_rows"):
        parts.append(f"{h['unmatched_rows']} 行未匹配")
    return "；".join(parts)


def _sum(vals):
    vals = [v for v in vals if v is not None]
    return float(sum(vals)) if vals else None


def totals(headlines: list[dict]) -> dict:
    """Province figures over the given counties' headlines (sums of the figures counties give;
    卫片 ratio = ΣI ÷ ΣD and 处置率 = Σ已处置 ÷ Σ基数 over the counties that give both parts)."""
    hs = [h for h in headlines if h]
    sat = [h for h in hs if h.get("satellite_available")]
    ill = _sum(h.get("illegal_farmland_mu") for h in sat)
    new = _sum(h.get("new_construction_farmland_mu") for h in sat)
    # the ratio only over counties that give both parts: a county whose 违法 figure is unknown
    # must not add its 新增 to the denominator (that would count its 违法 as 0)
    both = [h for h in sat if h.get("illegal_farmland_mu") is not None
            and h.get("new_construction_farmland_mu") is not None]
    ill_b = _sum(h["illegal_farmland_mu"] for h in both)
    new_b = _sum(h["new_construction_farmland_mu"] for h in both)
    out = {"counties": len(hs), "satellite_counties": len(sat), "illegal_farmland_mu": ill,
           "new_construction_farmland_mu": new, "satellite_ratio": (ill_b / new_b) if ill_b is not None and new_b else None,
           "satellite_ratio_counties": len(both),
           "satellite_status_counts": {s: sum(1 for h in sat if h.get("satellite_status") == s) for s in STATUS_NAMES}}
    for role in OVERLAP_ROLES:
        out[f"yjjbnt_overlap_{role}_mu"] = _sum(h.get(f"yjjbnt_overlap_{role}_mu") for h in hs)
    for cat in INVENTORY:
        out[f"{cat}_mu"] = _sum(h.get(f"{cat}_mu") for h in hs)
    for cat in DISPOSAL:
        pair = [h for h in hs if h.get(f"{cat}_disposal_base_mu") is not None
                and h.get(f"{cat}_disposal_disposed_mu") is not None]
        base = _sum(h[f"{cat}_disposal_base_mu"] for h in pair)
        done = _sum(h[f"{cat}_disposal_disposed_mu"] for h in pair)
        out[f"{cat}_disposal_rate"] = done / base if base and done is not None else None
        out[f"{cat}_disposal_counties"] = len(pair)
    moved = [h for h in hs if h.get("previous_as_of") is not None or h.get("carried_rows") is not None]
    for k in ("cultivated_out_mu", "cultivated_in_mu", "cultivated_net_change_mu", "cultivated_to_construction_mu",
              "cultivated_to_nonfood_mu", "unmonitored_count", "unmonitored_piece_mu"):
        out[f"change_{k}"] = _sum(h.get(f"change_{k}") for h in hs)
    out["change_counties"] = sum(1 for h in hs if h.get("change_cultivated_net_change_mu") is not None)
    out["tracked_counties"] = len(moved)
    for k in ("overdue_count", "overdue_mu", "newly_disposed_mu", "unmatched_rows"):
        out[k] = _sum(h.get(k) for h in moved) if moved else None
    return out


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------

def write_rollup(batch: dict, out_dir, outlines: dict | None = None) -> dict[str, Path]:
    """Write ``summary.json``, ``汇总.xlsx`` and ``index.html`` into ``out_dir`` (each atomically).

    ``batch`` is :meth:`landkit.pipeline.batch.BatchResult.to_dict`; ``outlines`` maps a county's output
    folder name to its GeoJSON outline (lon/lat).
    """
    out = Path(out_dir)
    paths = {"summary": out / "summary.json", "xlsx": out / "汇总.xlsx", "html": out / "index.html"}
    atomic_write(paths["summary"], lambda p: p.write_text(
        json.dumps(batch, ensure_ascii=False, indent=2, default=str), encoding="utf-8"))
    wb = rollup_workbook(batch)
    atomic_write(paths["xlsx"], lambda p: wb.save(p))
    page = index_html(batch, outlines or {}, out)
    atomic_write(paths["html"], lambda p: p.write_text(page, encoding="utf-8"))
    return paths


# --------------------------------------------------------------------------------------
# 汇总.xlsx
# --------------------------------------------------------------------------------------

RED = "FFC7CE"
DARK_RED = "FF8B8B"
GREEN = "C6EFCE"
GREY = "D9D9D9"
BLUE = "DDEBF7"


def folder_meta(folder: str) -> tuple[str, str | None]:
    """(name, adcode) from a folder name like ``420704_鄂城区`` (as landkit reads county folders)."""
    m = re.match(r"^(\d{6})[_\-\s]*(.*)$", folder)
    if m:
        return (m.group(2) or folder), m.group(1)
    return folder, None


def county_frame(batch: dict) -> pd.DataFrame:
    """One row per county, sorted: worst 卫片 ratio first, counties without a ratio next, failures last."""
    rows = []
    for c in batch["counties"]:
        h = c.get("headline") or {}
        fname, fcode = folder_meta(c["folder"])
        r = {"folder": c["folder"], "name": h.get("name") or fname, "adcode": h.get("adcode") or fcode,
             "year": h.get("year"), "status": c["status"], "run_status": RUN_STATUS.get(c["status"], c["status"]),
             "seconds": c.get("seconds"), "error": c.get("error")}
        r.update({k: v for k, v in h.items() if k not in ("name", "adcode", "year")})
        st = h.get("satellite_status")
        r["satellite_status_cn"] = (STATUS_NAMES.get(st, st) if h.get("satellite_available")
                                    else ("无卫片图层" if h.get("satellite_available") is False else None))
        notes = list(c.get("notes") or [])
        r["remark"] = c.get("error") or ("；".join(notes) if notes else None)
        rows.append(r)
    df = pd.DataFrame(rows)
    if not len(df):
        return df
    df["_failed"] = df["status"] == "failed"
    ratio = pd.to_numeric(df.get("satellite_ratio"), errors="coerce") if "satellite_ratio" in df else None
    df["_ratio"] = ratio if ratio is not None else float("nan")
    df["_noratio"] = df["_ratio"].isna()
    df = df.sort_values(["_failed", "_noratio", "_ratio", "adcode", "folder"],
                        ascending=[True, True, False, True, True], na_position="last", kind="stable")
    return df.drop(columns=["_failed", "_noratio", "_ratio"]).reset_index(drop=True)


def _cols(df: pd.DataFrame) -> list[Col]:
    def has(k):
        return k in df.columns and df[k].notna().any()
    cols = [Col("县（区）", "name"), Col("行政区代码", "adcode"), Col("运行状态", "run_status"),
            Col("卫片违法占用耕地比例", "satellite_ratio", "pct", width=12), Col("卫片状态", "satellite_status_cn"),
            Col("违法占用耕地(亩)", "illegal_farmland_mu", "area", has("illegal_farmland_mu")),
            Col("新增建设占用耕地(亩)", "new_construction_farmland_mu", "area", has("new_construction_farmland_mu")),
            Col("降到控制目标需整改(亩)", "rectify_to_cap_mu", "area", has("rectify_to_cap_mu"))]
    for cat, cn in DISPOSAL.items():
        cols += [Col(f"{cn}处置率", f"{cat}_disposal_rate", "pct", width=11),
                 Col(f"{cn}处置目标", f"{cat}_disposal_target", "pct", width=11)]
    for role, cn in OVERLAP_ROLES.items():
        k = f"yjjbnt_overlap_{role}_mu"
        cols.append(Col(f"压占永农·{cn}(亩)", k, "area", has(k)))
    for cat, cn in INVENTORY.items():
        cols.append(Col(f"{cn}(亩)", f"{cat}_mu", "area", has(f"{cat}_mu")))
    cols += [Col("存量合计(去重,亩)", "inventory_total_mu", "area", has("inventory_total_mu"))]
    if has("field_check_rate"):
        cols.append(Col("外业核查率", "field_check_rate", "pct", width=11))
    if has("change_cultivated_net_change_mu"):        # counties with two DLTB vintages
        cols += [Col("耕地流出(亩)", "change_cultivated_out_mu", "area", True),
                 Col("耕地流入(亩)", "change_cultivated_in_mu", "area", True),
                 Col("耕地净变化(亩)", "change_cultivated_net_change_mu", "area", True),
                 Col("非农化(亩)", "change_cultivated_to_construction_mu", "area", True),
                 Col("非粮化(亩)", "change_cultivated_to_nonfood_mu", "area", True),
                 Col("疑似漏监测(块)", "change_unmonitored_count", "int", True),
                 Col("疑似漏监测(亩)", "change_unmonitored_piece_mu", "area", True)]
    if has("zones_supply_rate") or has("zones_built_rate"):
        cols += [Col("开发区土地供应率", "zones_supply_rate", "pct", width=12),
                 Col("开发区土地建成率", "zones_built_rate", "pct", width=12),
                 Col("开发区投入强度(万元/亩)", "zones_fixed_asset_per_mu_wan", "float", width=14),
                 Col("开发区地均税收(万元/亩)", "zones_tax_per_mu_wan", "float", width=14)]
    if has("previous_as_of"):        # a batch run with --previous: each county's movement
        cols += [Col("上期截至", "previous_as_of", width=11),
                 Col("比例变化", "satellite_ratio_change", "pct", width=10),
                 Col("存量变化(亩)", "inventory_total_change_mu", "area", width=12),
                 Col("上期以来处置(亩)", "newly_disposed_mu", "area", True, width=14),
                 Col("逾期项数", "overdue_count", "int", True), Col("逾期面积(亩)", "overdue_mu", "area", True),
                 Col("未匹配行", "unmatched_rows", "int", True)]
    cols += [
             Col("质检错误", "qa_error_count", "int"), Col("质检警告", "qa_warning_count", "int"),
             Col("用时(秒)", "seconds", "float"), Col("输出文件夹", "folder"),
             Col("错误信息 / 说明", "remark", width=60)]
    return cols


def rollup_workbook(batch: dict):
    """The 汇总 workbook: 县区汇总 (coloured by status), 失败清单, 说明."""
    wb = new_workbook()
    df = county_frame(batch)
    cols = _cols(df)
    c = batch["counts"]
    note = (f"共 {c['total']} 个县（区）：完成 {c['ok']}，沿用上次结果 {c['skipped']}，失败 {c['failed']}；"
            "红色：达到问责线/超过控制目标/处置率未达目标/分析失败，绿色：达标")
    fills = {}
    for k, rec in enumerate(df.to_dict("records")):
        st = rec.get("satellite_status") if rec.get("satellite_available") else None
        colour = {"accountability": DARK_RED, "over_cap": RED, "pass": GREEN}.get(st)
        if colour:
            fills[(k, "satellite_ratio")] = fills[(k, "satellite_status_cn")] = (colour, st == "accountability")
        for cat in DISPOSAL:
            met = rec.get(f"{cat}_disposal_met")
            if met is not None:
                fills[(k, f"{cat}_disposal_rate")] = (GREEN if met else RED, False)
        fills[(k, "run_status")] = ({"failed": RED, "ok": GREEN, "skipped": BLUE}.get(rec["status"], GREY),
                                    rec["status"] == "failed")
    # the totals row: the province ratio is ΣI ÷ ΣD, not a sum of ratios
    t = batch.get("totals") or {}
    total_values = {}
    if t.get("satellite_ratio") is not None:
        total_values["satellite_ratio"] = round(t["satellite_ratio"], 4)
    for cat in DISPOSAL:
        v = t.get(f"{cat}_disposal_rate")
        if v is not None:
            total_values[f"{cat}_disposal_rate"] = round(v, 4)
    add_sheet(wb, "县区汇总", df, cols, heading="批量分析汇总", note=note, fills=fills, total_values=total_values)
    fails = pd.DataFrame(batch.get("failures") or [], columns=["folder", "input", "message", "error_type"])
    add_sheet(wb, "失败清单", fails, [Col("县（区）文件夹", "folder"), Col("数据文件夹", "input", width=50),
                                   Col("错误信息", "message", width=90), Col("错误类型", "error_type")],
              heading="分析失败的县（区）", totals=False)
    if batch.get("skipped"):        # folders under the root that were not read as a county
        add_sheet(wb, "未作为县处理的文件夹", pd.DataFrame(batch["skipped"], columns=["folder", "reason"]),
                  [Col("文件夹（相对数据根文件夹）", "folder", width=30), Col("原因", "reason", width=100)],
                  heading="未作为县（区）处理的文件夹", totals=False)
    opts = batch.get("options") or {}
    add_kv_sheet(wb, "说明", [
        ("生成时间", when_label(batch.get("generated_at")) or None, ""),
        ("landkit 版本", batch.get("landkit_version"), ""),
        ("数据根文件夹", batch.get("root"), ""), ("输出文件夹", batch.get("out"), ""),
        ("并行方式", "本机 dask LocalCluster" if batch.get("cluster") == "local" else f"dask 集群 {batch.get('cluster')}",
         f"{batch.get('workers')} 个工作进程/线程"),
        ("年度", opts.get("year"), "未指定时取各县 landkit.toml"), ("截至日期", opts.get("as_of"), ""),
        ("上一期输出", opts.get("previous"), "各县台账所填内容按记录带入本期（--previous）" if opts.get("previous") else ""),
        ("用时（秒）", batch.get("seconds"), ""),
        ("全省（市）卫片违法占用耕地比例", t.get("satellite_ratio"), "Σ违法占用耕地 ÷ Σ新增建设用地占用耕地"),
        ("数据库模式", batch.get("db_schema"), "")], heading="批量分析说明")
    return wb


# --------------------------------------------------------------------------------------
# index.html (offline, inline SVG)
# --------------------------------------------------------------------------------------

def _rings(geom: dict):
    t = geom.get("type")
    if t == "Polygon":
        yield from geom["coordinates"]
    elif t == "MultiPolygon":
        for poly in geom["coordinates"]:
            yield from poly


def _svg_map(items: list[dict], width: int = 920) -> str:
    """items: {geom, colour, href, title, label}. Equirectangular, scaled by cos(mean latitude)."""
    pts = [(x, y) for it in items for ring in _rings(it["geom"]) for x, y in ring]
    if not pts:
        return '<p class="empty">没有可绘制的县界（各县的乡镇或地类图斑图层都无法读取）。</p>'
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    k = math.cos(math.radians((y0 + y1) / 2))
    w = max((x1 - x0) * k, 1e-6)
    h = max(y1 - y0, 1e-6)
    pad = 12
    scale = (width - 2 * pad) / max(w, h * 1.0) if w >= h else (width * 0.75 - 2 * pad) / h
    W = w * scale + 2 * pad
    H = h * scale + 2 * pad

    def xy(lon, lat):
        return (pad + (lon - x0) * k * scale, pad + (y1 - lat) * scale)
    out = [f'<svg viewBox="0 0 {W:.0f} {H:.0f}" width="{W:.0f}" height="{H:.0f}" role="img" '
           f'aria-label="各县（区）分析状态总览图">']
    labels = []
    for it in items:
        d = []
        for ring in _rings(it["geom"]):
            if len(ring) < 3:
                continue
            d.append("M" + "L".join(f"{a:.1f},{b:.1f}" for a, b in (xy(*p) for p in ring)) + "Z")
        if not d:
            continue
        path = (f'<path d="{"".join(d)}" fill="{it["colour"]}" fill-rule="evenodd">'
                f'<title>{html.escape(it["title"])}</title></path>')
        if it.get("href"):
            path = f'<a href="{html.escape(it["href"])}">{path}</a>'
        out.append(path)
        # label at the centre of the largest ring's bounding box (good enough for county shapes)
        big = max(_rings(it["geom"]), key=len)
        bx = [p[0] for p in big]
        by = [p[1] for p in big]
        cx, cy = xy((min(bx) + max(bx)) / 2, (min(by) + max(by)) / 2)
        labels.append(f'<text x="{cx:.1f}" y="{cy:.1f}">{html.escape(it["label"])}</text>')
    out += ['<g class="labels">'] + labels + ["</g>", "</svg>"]
    return "\n".join(out)


_CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 6px}
.meta{color:#666;font-size:13px;margin-bottom:14px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:10px 0 16px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}
svg{border:1px solid #e3e3e3;background:#f8fbfd;max-width:100%;height:auto}
svg path{stroke:#fff;stroke-width:1.2}
svg a path:hover{stroke:#222;stroke-width:2;cursor:pointer}
svg text{font-size:12px;text-anchor:middle;dominant-baseline:middle;pointer-events:none;fill:#111;
 paint-order:stroke;stroke:#fff;stroke-width:3px}
.legend span{display:inline-block;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:14px;height:14px;vertical-align:-2px;margin-right:4px;border:1px solid #aaa}
table{border-collapse:collapse;margin-top:18px;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;white-space:nowrap}
td:last-child{white-space:normal}
th{background:#dce6f1}
td.n{text-align:right}
tr.failed td{background:#fbe3e4}
.st-accountability{background:#ff8b8b}.st-over_cap{background:#ffc7ce}.st-pass{background:#c6efce}
.err{color:#a00}
"""


def _colour_key(c: dict) -> str:
    if c["status"] == "failed":
        return "failed"
    h = c.get("headline") or {}
    if not h.get("satellite_available"):
        return "none"
    return h.get("satellite_status") or "no_data"


def _link(folder: str, out_dir: Path | None) -> str | None:
    """Relative link to the county's report.html (its summary.json until reports exist)."""
    q = urllib.parse.quote(folder)
    if out_dir is not None and not (Path(out_dir) / folder / "report.html").is_file():
        if (Path(out_dir) / folder / "summary.json").is_file():
            return f"{q}/summary.json"
        return None
    return f"{q}/report.html"


def index_html(batch: dict, outlines: dict, out_dir=None) -> str:
    """The overview page: counts, an inline SVG map coloured by status, one table row per county."""
    df = county_frame(batch)
    by_folder = {c["folder"]: c for c in batch["counties"]}
    items = []
    # failed counties first, so that a county drawn twice (a copy of another) shows its good run on top
    for c in sorted(batch["counties"], key=lambda c: c["status"] != "failed"):
        g = outlines.get(c["folder"])
        if not g:
            continue
        h = c.get("headline") or {}
        key = _colour_key(c)
        name = h.get("name") or folder_meta(c["folder"])[0]
        if c["status"] == "failed":
            title = f"{name}：分析失败 — {c.get('error') or ''}"
        else:
            title = f"{name}（{h.get('adcode') or ''}）：{headline_text(h) or RUN_STATUS.get(c['status'], '')}"
        items.append({"geom": g, "colour": COLOURS[key], "title": title, "label": name,
                      "href": _link(c["folder"], out_dir) if c["status"] != "failed" else None})
    cnt = batch["counts"]
    t = batch.get("totals") or {}
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
             '<meta name="renderer" content="webkit"><meta http-equiv="X-UA-Compatible" content="IE=edge">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>批量分析总览</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>批量分析总览</h1>",
             f'<div class="meta">生成时间 {esc(when_label(batch.get("generated_at")))} · landkit '
             f'{esc(str(batch.get("landkit_version") or ""))} · 数据 {esc(str(batch.get("root") or ""))}</div>',
             '<div class="cards">',
             f'<div class="card">县（区）<b>{cnt["total"]}</b></div>',
             f'<div class="card">完成<b>{cnt["ok"] + cnt["skipped"]}</b></div>',
             f'<div class="card">失败<b>{cnt["failed"]}</b></div>',
             f'<div class="card">全域卫片违法占用耕地比例<b>{_pct(t.get("satellite_ratio"))}</b></div>',
             "</div>", '<div class="legend">']
    parts += [f'<span><i style="background:{COLOURS[k]}"></i>{esc(v)}</span>' for k, v in LEGEND]
    tracked = any((c.get("headline") or {}).get("previous_as_of") for c in batch["counties"])
    heads = ("县（区）", "行政区代码", "运行状态", "卫片违法占用耕地比例", "卫片状态",
             "批而未供处置率", "闲置土地处置率", "存量合计(亩)") + (("与上期相比",) if tracked else ()) + ("报告", "说明")
    parts += ["</div>", _svg_map(items), "<table><thead><tr>",
              "".join(f"<th>{x}</th>" for x in heads),
              "</tr></thead><tbody>"]

    def txt(v):
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else esc(str(v))

    def num(v, fmt="{:.2f}"):
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)

    def met(v):      # 处置率 against the target: green when met, red when not
        return "" if v is None else (" st-pass" if v else " st-over_cap")
    for rec in df.to_dict("records"):
        c = by_folder[rec["folder"]]
        h = c.get("headline") or {}
        st = h.get("satellite_status") if h.get("satellite_available") else None
        link = _link(c["folder"], out_dir) if c["status"] != "failed" else None
        report = f'<a href="{esc(link)}">{"报告" if link.endswith("report.html") else "摘要"}</a>' if link else ""
        remark = esc(c.get("error") or "；".join(c.get("notes") or []))
        parts.append(
            f'<tr class="{c["status"]}"><td>{txt(rec["name"])}</td><td>{txt(rec.get("adcode"))}</td>'
            f'<td>{esc(RUN_STATUS.get(c["status"], c["status"]))}</td>'
            f'<td class="n st-{st or "none"}">{num(h.get("satellite_ratio"), "{:.2%}")}</td>'
            f'<td class="st-{st or "none"}">{txt(rec.get("satellite_status_cn"))}</td>'
            f'<td class="n{met(h.get("approved_unsupplied_disposal_met"))}">'
            f'{num(h.get("approved_unsupplied_disposal_rate"), "{:.2%}")}</td>'
            f'<td class="n{met(h.get("idle_disposal_met"))}">{num(h.get("idle_disposal_rate"), "{:.2%}")}</td>'
            f'<td class="n">{num(h.get("inventory_total_mu"), "{:,.2f}")}</td>'
            + (f'<td class="moved">{esc(movement_text(h))}</td>' if tracked else "")
            + f'<td>{report}</td>'
            f'<td class="{"err" if c["status"] == "failed" else ""}">{remark}</td></tr>')
    parts.append("</tbody></table>")
    if batch.get("skipped"):
        parts += [f"<h2>未作为县（区）处理的文件夹（{len(batch['skipped'])} 个）</h2>",
                  "<table><thead><tr><th>文件夹</th><th>原因</th></tr></thead><tbody>"]
        parts += [f"<tr><td>{esc(str(x.get('folder', '')))}</td><td>{esc(str(x.get('reason', '')))}</td></tr>"
                  for x in batch["skipped"]]
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)

"""处置率: how much of last year-end's 批而未供 and 闲置土地 was disposed during the year
(docs/rules.md §2.3, R11; 增存挂钩 §2.4).

For year Y the base date is B = 31 Dec of Y−1 and the period is 1 Jan – 31 Dec of Y.

* 批而未供: base = the 批而未供 pieces at B (:func:`landkit.analyses.approved_unsupplied.approved_unsupplied`
  at B; optionally only approvals of years ``[disposal] approved_from``–``approved_to``).
  Disposed = the part of the base pieces covered by supply with 供地日期 in Y (union, so
  overlapping supply counts once), plus the whole base of approvals withdrawn (撤回日期) in Y.
* 闲置土地: base = the supply records idle at B (:func:`~landkit.analyses.idle.idle_land`
  at B). Disposed = those that during Y started (实际动工日期), resumed (复工日期) or carry a
  处置日期 (收回, 置换, ...). Areas are the parcels' ellipsoidal areas.

rate = disposed ÷ base (None when the base is 0); each is compared with the target
(``[disposal] target``, default 0.25): shortfall_mu = max(0, target × base − disposed),
met = disposed ≥ target × base (None when the base is 0) — for the county, per township
(the township holding most of each piece/parcel) and per cohort (approval year for
批而未供, 供地 year for 闲置土地, with the ``[inventory] cohorts`` splits).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from ..dates import parse_dates
from ..overlay.engine import overlay_areas
from ..standards.units import m2_to_mu
from .approved_unsupplied import approved_unsupplied
from .idle import idle_land
from ..settings import settings_for
from .stock import UNKNOWN_TOWN, cohort_label, cohort_labels, first_value, town_label

BLOCK_KEYS = ("base_mu", "disposed_mu", "rate", "target", "shortfall_mu", "met")


def block(base_m2: float | None, disposed_m2: float | None, target: float) -> dict:
    """{base_mu, disposed_mu, rate, target, shortfall_mu, met} (None figures when not available)."""
    if base_m2 is None:
        return {"base_mu": None, "disposed_mu": None, "rate": None, "target": target, "shortfall_mu": None,
                "met": None}
    b = float(m2_to_mu(float(base_m2)))
    d = float(m2_to_mu(float(disposed_m2)))
    rate = d / b if b > 0 else None
    need = target * b
    return {"base_mu": b, "disposed_mu": d, "rate": rate, "target": target,
            "shortfall_mu": max(0.0, need - d), "met": None if b <= 0 else bool(d >= need - 1e-9 * max(1.0, need))}


@dataclass
class DisposalResult:
    """处置率 of year ``year``. ``approved_unsupplied``: one row per approval in the base
    (geometry = its 批而未供 piece at B; base_m2, disposed_m2, how); ``idle``: one row per
    supply record idle at B (area_m2, disposed, how). None where the layers are missing."""

    summary: dict
    approved_unsupplied: gpd.GeoDataFrame | None
    idle: gpd.GeoDataFrame | None
    base_date: dt.date
    period_end: dt.date
    findings: list = field(default_factory=list)

    def _repr_html_(self) -> str:
        s = self.summary

        def r(b):
            return "—" if b["rate"] is None else f"{b['rate']:.2%}"
        return (f"<b>{s['year']} 年处置率</b>：批而未供 {r(s['approved_unsupplied'])}，闲置土地 {r(s['idle'])}"
                f"（目标 {s['approved_unsupplied']['target']:.0%}）")


def _year(county, year) -> tuple[int, list[str]]:
    if year is not None:
        return int(year), []
    if getattr(county, "year", None) is not None:
        return int(county.year), []
    if getattr(county, "as_of", None) is not None:
        return county.as_of.year, []
    y = dt.date.today().year
    return y, [f"未设定年度（landkit.toml [county] year），按当年 {y} 年统计"]


def _in(dates, B, E) -> np.ndarray:
    return np.array([d is not None and B < d <= E for d in dates], dtype=bool)


def _ts_in(col: pd.Series, B, E) -> np.ndarray:
    v = pd.to_datetime(col)
    return ((v > pd.Timestamp(B)) & (v <= pd.Timestamp(E))).fillna(False).to_numpy(dtype=bool)


def disposal_rate(county, year=None, config=None) -> DisposalResult:
    """处置率 of 批而未供 and 闲置土地 for year ``year`` (default county.year); see the module
    docstring. Summary: {year, approved_unsupplied{base_mu, disposed_mu, rate, target,
    shortfall_mu, met}, idle{same}, by_township[{code, name, approved_unsupplied{...},
    idle{...}}], by_cohort[{cohort, approved_unsupplied{...}, idle{...}}]} (+ ``missing``
    and Chinese ``notes`` when layers are missing)."""
    cfg = settings_for(county, config)
    s = cfg.disposal
    inv = cfg.inventory
    Y, notes = _year(county, year)
    B, E = dt.date(Y - 1, 12, 31), dt.date(Y, 12, 31)
    sliver = cfg.sliver_m2
    findings = []
    missing = []

    # ---- 批而未供
    au = approved_unsupplied(county, B, cfg)
    findings += au.findings
    au_rows = None
    if au.summary["available"]:
        f = au.features
        keep = np.ones(len(f), dtype=bool)
        if s.approved_from is not None:
            keep &= f["approval_year"].to_numpy() >= s.approved_from
        if s.approved_to is not None:
            keep &= f["approval_year"].to_numpy() <= s.approved_to
        f = f[keep]
        sup = county.supply
        gd, _ = parse_dates(sup["供地日期"].tolist() if "供地日期" in sup.columns else [None] * len(sup))
        in_y = _in(gd, B, E)
        supplied = np.zeros(len(f))
        if len(f) and in_y.any():
            r = overlay_areas(f.geometry, sup.geometry[in_y], crs=county.crs, sliver_m2=sliver,
                              a_area_m2=f["unsupplied_m2"].to_numpy(), b_valid=True)
            supplied = np.minimum(r.table["overlap_m2"].to_numpy(), f["unsupplied_m2"].to_numpy())
        a = county.approvals
        ch, _ = parse_dates(a["撤回日期"].tolist() if "撤回日期" in a.columns else [None] * len(a))
        wd = pd.Series(_in(ch, B, E), index=a.index).reindex(f.index).fillna(False).to_numpy(dtype=bool)
        base_m2 = f["unsupplied_m2"].to_numpy(dtype="float64")
        disposed = np.where(wd, base_m2, supplied)
        how = np.where(wd, "撤回", np.where(supplied > 0, "供地", None))
        au_rows = gpd.GeoDataFrame({"id": f["id"].to_numpy()}, geometry=f.geometry.values, crs=f.crs, index=f.index)
        for c in ("批次名称", "批准文号", "批准日期", "approval_year", "cohort", "township", "township_name",
                  "village", "village_name"):
            au_rows[c] = f[c].to_numpy()
        au_rows["base_m2"] = base_m2
        au_rows["supplied_in_year_m2"] = supplied
        au_rows["withdrawn_in_year"] = wd
        au_rows["disposed_m2"] = disposed
        au_rows["base_mu"] = m2_to_mu(base_m2)
        au_rows["disposed_mu"] = m2_to_mu(disposed)
        au_rows["disposal_way"] = how
    else:
        missing += [m for m in au.summary.get("missing", []) if m not in missing]
        notes += [x.replace("无法计算批而未供", "无法计算批而未供处置率") for x in au.summary.get("notes", [])]

    # ---- 闲置土地
    il = idle_land(county, B, cfg)
    findings += [x for x in il.findings if x not in findings]
    idle_rows = None
    idle_why = None
    sup_cols = set(county.supply.columns) if county.supply is not None else set()
    if il.summary["available"] and "处置日期" not in sup_cols:
        # 收回、置换、协议有偿收回 ... are known only by their 处置日期: without it the rate is unknown
        idle_why = "供地图层缺少处置日期字段，收回、置换等处置无法统计，无法计算闲置土地处置率"
        missing.append("supply.处置日期")
        notes.append(idle_why)
    elif il.summary["available"] and "复工日期" not in sup_cols:
        notes.append("供地图层缺少复工日期字段：停工后复工的闲置土地不计入已处置")
    if il.summary["available"] and idle_why is None:
        f = il.features
        keep = np.ones(len(f), dtype=bool)
        sy = f["supply_year"].astype("float64").to_numpy()
        if s.supplied_from is not None:
            keep &= np.nan_to_num(sy, nan=-1) >= s.supplied_from
        if s.supplied_to is not None:
            keep &= np.nan_to_num(sy, nan=1e9) <= s.supplied_to
        f = f[keep]
        started = _ts_in(f["实际动工日期"], B, E)
        resumed = _ts_in(f["复工日期"], B, E)
        handled = _ts_in(f["处置日期"], B, E)
        disposed = started | resumed | handled
        ways = []
        for st, rs, hd, fs in zip(started, resumed, handled, f["处置方式"].tolist()):
            w = []
            if st:
                w.append("动工")
            if rs:
                w.append("复工")
            if hd:
                w.append(f"处置（{fs}）" if fs else "处置")
            ways.append("、".join(w) or None)
        idle_rows = gpd.GeoDataFrame({"id": f["id"].to_numpy()}, geometry=f.geometry.values, crs=f.crs, index=f.index)
        for c in ("电子监管号", "项目名称", "土地使用权人", "联系人", "联系电话", "供地日期", "supply_year", "idle_type",
                  "idle_since", "cause", "township", "township_name", "village", "village_name",
                  "实际动工日期", "复工日期", "处置日期", "处置方式"):
            idle_rows[c] = f[c].to_numpy()
        idle_rows["cohort"] = [cohort_label(None if pd.isna(y) else int(y), inv.cohorts)
                               for y in f["supply_year"].tolist()]
        idle_rows["area_m2"] = f["area_m2"].to_numpy(dtype="float64")
        idle_rows["disposed"] = disposed
        idle_rows["disposed_m2"] = np.where(disposed, idle_rows["area_m2"].to_numpy(), 0.0)
        idle_rows["area_mu"] = m2_to_mu(idle_rows["area_m2"].to_numpy())
        idle_rows["disposed_mu"] = m2_to_mu(idle_rows["disposed_m2"].to_numpy())
        idle_rows["disposal_way"] = ways
    else:
        missing += [m for m in il.summary.get("missing", []) if m not in missing]
        notes += [x.replace("无法认定闲置土地", "无法计算闲置土地处置率") for x in il.summary.get("notes", [])
                  if x not in notes]

    ta, ti = s.approved_unsupplied_target, s.idle_target

    def blk_au(sub):
        if au_rows is None:
            return block(None, None, ta)
        return block(float(sub["base_m2"].sum()), float(sub["disposed_m2"].sum()), ta)

    def blk_idle(sub):
        if idle_rows is None:
            return block(None, None, ti)
        return block(float(sub["area_m2"].sum()), float(sub["disposed_m2"].sum()), ti)

    towns: dict[str, dict] = {}
    for key, rows in (("au", au_rows), ("idle", idle_rows)):
        if rows is None:
            continue
        for code, grp in rows.groupby(rows["township"].fillna(UNKNOWN_TOWN), sort=True):
            t = towns.setdefault(code, {"name": None})
            t["name"] = t["name"] or first_value(grp["township_name"])
            t[key] = grp
    by_t = []
    for code in sorted(towns, key=lambda c: (c == UNKNOWN_TOWN, c)):
        t = towns[code]
        by_t.append({"code": code, "name": town_label(code, t["name"]),
                     "approved_unsupplied": blk_au(t.get("au", au_rows.iloc[0:0] if au_rows is not None else None)),
                     "idle": blk_idle(t.get("idle", idle_rows.iloc[0:0] if idle_rows is not None else None))})
    labels = cohort_labels(inv.cohorts)
    seen = set()
    for rows in (au_rows, idle_rows):
        if rows is not None:
            seen |= set(rows["cohort"])
    by_c = []
    for lab in labels + sorted(seen - set(labels)):
        by_c.append({"cohort": lab,
                     "approved_unsupplied": blk_au(au_rows[au_rows["cohort"] == lab] if au_rows is not None else None),
                     "idle": blk_idle(idle_rows[idle_rows["cohort"] == lab] if idle_rows is not None else None)})
    summary = {"year": Y, "approved_unsupplied": blk_au(au_rows), "idle": blk_idle(idle_rows),
               "by_township": by_t, "by_cohort": by_c}
    if idle_why is None and not il.summary["available"]:
        idle_why = (il.summary.get("reason") or "；".join(il.summary.get("notes") or []) or "无法认定闲置土地") \
            .replace("无法认定闲置土地", "无法计算闲置土地处置率")
    au_why = None if au_rows is not None else ("；".join(x for x in notes if "批而未供" in x) or "无法计算批而未供处置率")
    unavailable = {}
    if au_why:
        summary["approved_unsupplied"]["reason"] = unavailable["approved_unsupplied"] = au_why
    if idle_why:
        summary["idle"]["reason"] = unavailable["idle"] = idle_why
    if unavailable:
        summary["unavailable"] = unavailable
    if missing:
        summary["missing"] = missing
    if notes:
        summary["notes"] = notes
    return DisposalResult(summary, au_rows, idle_rows, B, E, findings)

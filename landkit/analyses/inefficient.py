"""城镇低效用地 (docs/rules.md §3.1, R12; a local rule pack): parcels below the 容积率 / 亩均税收 lines."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from ..dates import parse_date
from ..findings import Finding
from .location import locate
from ..settings import settings_for
from .stock import PLAN_COLUMNS, add_area_units, category_summary, empty_frame, geometry_values, layer_file, numeric_column, resolve_as_of, row_ids, text_column



# --------------------------------------------------------------------------------------
# 城镇低效用地
# --------------------------------------------------------------------------------------


@dataclass
class InefficientResult:
    """城镇低效用地 screen. ``features``: the parcels screened as 低效 (not exempt), geometry =
    the parcel; ``parcels``: every parcel with its reasons and exemptions."""

    features: gpd.GeoDataFrame
    parcels: gpd.GeoDataFrame
    summary: dict
    findings: list = field(default_factory=list)


def _year_of(v) -> int | None:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)) and 1900 <= float(v) <= 2100:
        return int(v)
    m = re.fullmatch(r"\s*((?:19|20)\d{2})(?:\.0+)?\s*年?\s*", str(v))
    if m:                                  # a bare year ("2021", "2021年"), not an Excel serial
        return int(m.group(1))
    d = parse_date(v)
    if d is not None and 1900 <= d.year <= 2100:
        return d.year
    m = re.search(r"(19|20)\d{2}", str(v))
    return int(m.group(0)) if m else None


def inefficient_land(county, config=None, *, as_of=None) -> InefficientResult:
    """城镇低效用地 screen on the parcels layer (docs/rules.md §3.1, R12; a local rule pack).

    A parcel is 低效 when 容积率 < ``far_min`` (1.0), or 亩均税收 < ``tax_share`` (40 %) of
    the average 亩均税收 of parcels of the same 行业 (the county average where the parcel
    has no 行业; ``tax_average`` "mean" of parcel values or "weighted" by parcel area),
    unless exempt: 规上企业 (是否规上 in ``above_scale_values``) or 投产不满
    ``exempt_new_years`` years (D's year − 投产年份 < 3), where those fields exist. Reasons
    and exemptions are listed per parcel in Chinese.
    """
    cfg = settings_for(county, config)
    s = cfg.inventory
    D, notes = resolve_as_of(county, as_of)
    findings: list[Finding] = []
    p = county.parcels
    if p is None:
        notes.append("没有宗地图层，未做城镇低效用地筛查")
        return InefficientResult(empty_frame(county), empty_frame(county),
                                 category_summary(None, ["parcels"], notes, "inefficient"), findings)
    n = len(p)
    ids = row_ids(p, "parcels")
    area = p["lk_area_m2"].to_numpy(dtype="float64")
    far = numeric_column(p, "容积率")
    tax = numeric_column(p, "亩均税收")
    ind = text_column(p, "行业")
    has_tax = np.isfinite(tax)
    w = area if s.tax_average == "weighted" else np.ones(n)

    def avg(mask):
        m = mask & has_tax
        return float(np.sum(tax[m] * w[m]) / np.sum(w[m])) if m.any() and np.sum(w[m]) > 0 else np.nan

    county_avg = avg(np.ones(n, dtype=bool))
    ind_avg = {k: avg(ind == k) for k in set(x for x in ind if x is not None)}
    ref = np.array([ind_avg.get(k, county_avg) if k is not None else county_avg for k in ind], dtype="float64")
    low_far = np.isfinite(far) & (far < s.far_min)
    low_tax = has_tax & np.isfinite(ref) & (tax < s.tax_share * ref)
    reasons = []
    for i in range(n):
        r = []
        if low_far[i]:
            r.append(f"容积率 {far[i]:g} 低于 {s.far_min:g}")
        if low_tax[i]:
            scope = f"{ind[i]}行业" if ind[i] is not None else "全县"
            r.append(f"亩均税收 {tax[i]:g} 低于{scope}平均值 {ref[i]:.4g} 的 {s.tax_share:.0%}")
        reasons.append("；".join(r))
    above = np.zeros(n, dtype=bool)
    if s.exempt_above_scale and "是否规上" in p.columns:
        vals = {str(v).strip().upper() for v in s.above_scale_values}
        above = np.array([t is not None and t.upper() in vals for t in text_column(p, "是否规上")], dtype=bool)
    new = np.zeros(n, dtype=bool)
    prod_year = np.full(n, None, dtype=object)
    if s.exempt_new_years > 0 and "投产年份" in p.columns:
        raw = p["投产年份"].tolist()
        prod_year = np.array([_year_of(v) for v in raw], dtype=object)
        badv = [i for i, (v, y) in enumerate(zip(raw, prod_year))
                if y is None and v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v).strip()]
        if badv:
            findings.append(Finding("warning", "year_unparseable",
                                    f"宗地字段 投产年份 有 {len(badv)} 个值无法识别为年份："
                                    + "、".join(f"{ids[i]}（“{raw[i]}”）" for i in badv[:10]),
                                    "parcels", layer_file(county, "parcels"), "投产年份", [ids[i] for i in badv], len(badv)))
        new = np.array([y is not None and D.year - y < s.exempt_new_years for y in prod_year], dtype=bool)
    ex = []
    for i in range(n):
        r = []
        if above[i]:
            r.append("规上企业")
        if new[i]:
            r.append(f"投产不满{s.exempt_new_years}年（{prod_year[i]}年投产）")
        ex.append("；".join(r))
    hit = low_far | low_tax
    exempt = hit & (above | new)
    ineff = hit & ~exempt
    rec = gpd.GeoDataFrame({"id": ids, "lk_fid": p["lk_fid"].to_numpy() if "lk_fid" in p.columns else np.arange(n)},
                           geometry=geometry_values(p), crs=p.crs, index=p.index)
    for col in ("宗地代码", "权利人", "用途", "行业", "是否规上", "联系电话"):
        rec[col] = text_column(p, col)
    rec["容积率"] = far
    rec["亩均税收"] = tax
    rec["投产年份"] = pd.array(list(prod_year), dtype="Int64")
    rec["tax_average"] = ref
    rec["area_m2"] = area
    add_area_units(rec, "area_m2")
    rec["low_far"] = low_far
    rec["low_tax"] = low_tax
    rec["reasons"] = reasons
    rec["exempt"] = exempt
    rec["exempt_reasons"] = ex
    rec["inefficient"] = ineff
    feats = rec[ineff].copy()
    loc = locate(geometry_values(feats), county, cfg, cfg.sliver_m2)
    for c in ("township", "township_name", "village", "village_name"):
        feats[c] = loc[c].to_numpy()
    for c in PLAN_COLUMNS:
        feats[c] = None
    summ = category_summary(feats, [], notes, "inefficient")
    summ.update({"screened_count": int(n), "low_far_count": int((low_far & ineff).sum()),
                 "low_tax_count": int((low_tax & ineff).sum()), "exempt_count": int(exempt.sum()),
                 "county_tax_average": None if np.isnan(county_avg) else county_avg})
    return InefficientResult(feats, rec, summ, findings)

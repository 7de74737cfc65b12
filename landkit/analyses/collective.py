"""农村集体经营性建设用地 (docs/rules.md §4.3): DLTB 集体-owned commercial/industrial construction land."""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np

from ..qa import area_off
from ..standards.codes import ownership
from .location import piece_townships, township_names
from ..settings import settings_for
from .stock import PLAN_COLUMNS, add_area_units, category_summary, empty_frame, geometry_values, numeric_column, row_ids, text_column



# --------------------------------------------------------------------------------------
# 农村集体经营性建设用地
# --------------------------------------------------------------------------------------


@dataclass
class CollectiveResult:
    """农村集体经营性建设用地: DLTB features, geometry = the feature."""

    features: gpd.GeoDataFrame
    summary: dict
    findings: list = field(default_factory=list)


def dltb_feature_area(county) -> np.ndarray:
    """Area of whole DLTB features (m²): the declared TBDLMJ where it passed QA (no
    ``tbmj_mismatch`` / ``tbdlmj_mismatch`` finding), else computed area × (1 − KCXS)."""
    d = county.dltb
    comp = d["lk_area_m2"].to_numpy(dtype="float64")
    k = numeric_column(d, "KCXS")
    k = np.where(np.isfinite(k) & (k >= 0) & (k < 1), k, 0.0)
    computed = comp * (1.0 - k)
    if "TBDLMJ" not in d.columns:
        return computed
    decl = numeric_column(d, "TBDLMJ")
    bad = ~np.isfinite(decl)
    labels = row_ids(d, "dltb")
    for code in ("tbmj_mismatch", "tbdlmj_mismatch"):
        for f in county.qa.by_code(code):
            if f.layer not in (None, "dltb"):
                continue
            if f.count is not None and f.count > len(f.features):
                bad |= _recheck(county, code)       # the finding lists only the first ids
            else:
                bad |= np.isin(labels.astype(str), np.array(f.features, dtype=str))
    return np.where(bad, computed, decl)


def _recheck(county, code) -> np.ndarray:
    """The QA criterion of ``code`` recomputed (as landkit.qa.check_dltb does it)."""
    d = county.dltb
    tbmj = numeric_column(d, "TBMJ")
    if code == "tbdlmj_mismatch":
        diff = np.abs(tbmj - numeric_column(d, "KCMJ") - numeric_column(d, "TBDLMJ"))
        return np.isfinite(diff) & (diff > 0.015)
    rel = county.config.area.tbmj_rel_tolerance
    absm = county.config.area.tbmj_abs_tolerance_m2
    return area_off(tbmj, d["lk_area_m2"].to_numpy(dtype="float64"), absm, rel)


def collective_commercial(county, config=None) -> CollectiveResult:
    """农村集体经营性建设用地: DLTB features owned collectively (QSXZ 3x/4x) with DLBM in
    ``[inventory] collective_dlbm`` (default 05H1, 0508, 0601, 0602), with township and
    village (ZLDWDM[:9], [:12]) and their names where the townships layer (or ZLDWMC)
    gives them. Area: declared TBDLMJ where it passed QA, else computed × (1 − KCXS)."""
    cfg = settings_for(county, config)
    s = cfg.inventory
    d = county.dltb
    if d is None:
        return CollectiveResult(empty_frame(county),
                                category_summary(None, ["dltb"], ["没有地类图斑图层，无法统计农村集体经营性建设用地"],
                                                "collective_commercial"))
    if "QSXZ" not in d.columns:
        # ownership decides what is 集体: without it the area is unknown, not 0
        return CollectiveResult(empty_frame(county), category_summary(
            None, ["dltb.QSXZ"], ["地类图斑缺少权属性质字段 QSXZ，无法判断哪些土地属于集体，未统计农村集体经营性建设用地"],
            "collective_commercial"), [])
    area_all = dltb_feature_area(county)
    q = text_column(d, "QSXZ")
    own = np.array([ownership(x) if x else None for x in q], dtype=object)
    m = (own == "集体") & d["DLBM"].isin(s.collective_dlbm).to_numpy()
    sub = d[m]
    zl = text_column(sub, "ZLDWDM")
    # each parcel's own ZLDWDM, else the township layer (location's one township rule)
    town, vill = piece_townships(zl, geometry_values(sub), county, cfg, cfg.sliver_m2)
    tnames, vnames = township_names(county)
    zm = text_column(sub, "ZLDWMC")
    out = gpd.GeoDataFrame({"id": row_ids(sub, "dltb"),
                            "lk_fid": sub["lk_fid"].to_numpy() if "lk_fid" in sub.columns else np.flatnonzero(m)},
                           geometry=geometry_values(sub), crs=d.crs, index=sub.index)
    for col in ("BSM", "DLBM", "DLMC", "QSXZ", "QSDWDM", "QSDWMC", "ZLDWDM", "ZLDWMC", "TBMJ", "TBDLMJ"):
        if col in sub.columns:
            out[col] = sub[col].to_numpy()
    out["ownership"] = "集体"
    out["area_m2"] = area_all[m]
    add_area_units(out, "area_m2")
    out["township"] = town
    out["township_name"] = [tnames.get(t) if t else None for t in town]
    out["village"] = vill
    own_code = [str(z)[:12] if z is not None else None for z in zl]
    out["village_name"] = [(vnames.get(v) or (n if v == c else None)) if v else None
                           for v, n, c in zip(vill, zm, own_code)]
    for c in PLAN_COLUMNS:
        out[c] = None
    summ = category_summary(out, [], [], "collective_commercial")
    summ["dlbm"] = list(s.collective_dlbm)
    return CollectiveResult(out, summ, [])

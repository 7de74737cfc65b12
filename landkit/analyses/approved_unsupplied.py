"""批而未供 (docs/rules.md §2.2, R10): approvals not (fully) supplied at the as-of date, piece by piece."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from shapely.errors import GEOSException

from ..io.fields import ROLE_NAMES
from ..overlay.engine import partition
from ..findings import Finding
from ..standards.area import ellipsoidal_area
from ..standards.units import m2_to_mu
from .location import locate
from ..settings import settings_for
from .stock import APPROVAL_STATUS, GRID, PLAN_COLUMNS, UNKNOWN_TOWN, add_area_units, as_datetime64, cohort_label, cohort_labels, date_field, empty_frame, first_value, full_years, geometry_values, layer_file, numeric_column, overlap_m2, polygonal_only, resolve_as_of, row_ids, subtract_union, text_column, to_mu, town_label



# --------------------------------------------------------------------------------------
# 批而未供
# --------------------------------------------------------------------------------------


@dataclass
class ApprovedUnsuppliedResult:
    """批而未供 at ``as_of``.

    ``features``: one row per approval with 未供面积 > 0; geometry = the unsupplied remainder.
    ``approvals``: every approval row with its status (批而未供 / 已全部供地 / 已撤回 / ...),
    geometry = the approval polygon.
    """

    features: gpd.GeoDataFrame
    approvals: gpd.GeoDataFrame
    summary: dict
    findings: list = field(default_factory=list)
    as_of: dt.date | None = None

    def _repr_html_(self) -> str:
        s = self.summary
        return (f"<b>批而未供</b>（{s['as_of']}）：{s['count']} 个批次，未供 {s['unsupplied_mu']:.2f} 亩"
                + self.features.drop(columns="geometry").head(20).to_html())


def approved_unsupplied(county, as_of=None, config=None) -> ApprovedUnsuppliedResult:
    """批而未供 (docs/rules.md §2.2, R10) at the as-of date D.

    Approvals with 批准日期 ≤ D and not withdrawn (撤回日期 empty or after D), minus the
    union of supply with 供地日期 ≤ D (supply without a usable 供地日期 counts as supplied,
    with a warning). Approvals overlapping each other are made a partition first (the
    earlier 批准日期, then 批准文号, keeps the overlap), so their area counts once; the
    overlap is a QA finding. Remainder parts under ``[area] sliver_m2`` are dropped.

    Per approval: approved_m2 (computed ellipsoidal m² of the polygon; the declared
    批准面积 is kept as it was), counted_m2 (after the partition), supplied_m2,
    unsupplied_m2/to_mu/_ha, approval_year, cohort (``[inventory] cohorts``), township and
    village holding most of the remainder (DLTB ZLDWDM, else the townships layer), its
    area by 三大类 in the DLTB, the flags ``in_use`` (未供即用: ≥ ``in_use_share`` of the
    remainder is 建设用地) and ``lapse_candidate`` (approved ≥ ``lapse_years`` before D,
    nothing supplied, > ``lapse_agri_share`` of the remainder 农用地: 自动失效/撤回 candidate),
    and the remainder's overlap with 永久基本农田 / 生态保护红线 (m²; None without the layer).

    Raises nothing for missing layers: without approvals or supply the summary says
    so (``available: False``, ``missing``, ``notes``).
    """
    cfg = settings_for(county, config)
    s = cfg.inventory
    D, notes = resolve_as_of(county, as_of)
    sliver = cfg.sliver_m2
    findings: list[Finding] = []
    a = county.approvals
    sup = county.supply
    missing = [r for r, lay in (("approvals", a), ("supply", sup)) if lay is None]
    if missing:
        for r in missing:
            notes.append(f"没有{ROLE_NAMES[r]}图层，无法计算批而未供")
        return ApprovedUnsuppliedResult(empty_frame(county), empty_frame(county),
                                        _au_summary(None, D, s, missing, notes), findings, D)

    ids = row_ids(a, "approvals")
    pz, pz_bad = date_field(county, a, "approvals", "批准日期", ids, findings)
    ch, _ = date_field(county, a, "approvals", "撤回日期", ids, findings)
    no_date = np.array([x is None for x in pz], dtype=bool)
    if no_date.any():
        findings.append(Finding("warning", "approval_date_missing",
                                f"{int(no_date.sum())} 个批准用地没有可用的批准日期，未计入批而未供",
                                "approvals", layer_file(county, "approvals"), "批准日期",
                                list(ids[no_date]), int(no_date.sum())))
    after = np.array([x is not None and x > D for x in pz], dtype=bool)
    withdrawn = np.array([w is not None and w <= D for w in ch], dtype=bool) & ~no_date & ~after
    active = ~no_date & ~after & ~withdrawn

    # supply at D
    sids = row_ids(sup, "supply")
    gd, gd_bad = date_field(county, sup, "supply", "供地日期", sids, findings)
    s_undated = np.array([x is None for x in gd], dtype=bool)
    s_at = np.array([x is None or x <= D for x in gd], dtype=bool)
    if s_undated.any():
        findings.append(Finding("warning", "supply_date_missing",
                                f"{int(s_undated.sum())} 个供地记录没有可用的供地日期，按基准日前已供地处理",
                                "supply", layer_file(county, "supply"), "供地日期",
                                list(sids[s_undated]), int(s_undated.sum())))
    sg = geometry_values(sup)[s_at]
    sg_ids = sids[s_at]

    ag_all = geometry_values(a)
    act = np.flatnonzero(active)
    ag = ag_all[act]
    # overlapping approvals: a QA finding, and a partition so the overlap counts once
    pairs = _overlap_pairs(ag, county.crs, sliver)
    if pairs:
        labels = [f"{ids[act[i]]}×{ids[act[j]]}" for i, j, _ in pairs]
        tot = sum(x for _, _, x in pairs)
        findings.append(Finding("warning", "approvals_overlap",
                                f"批准用地有 {len(pairs)} 对批次相互重叠（合计 {m2_to_mu(tot):.2f} 亩），"
                                "重叠部分只计一次，计入批准日期在先的批次",
                                "approvals", layer_file(county, "approvals"), "批准文号", labels, len(pairs)))
        keys = np.array([f"{pz[i].isoformat()}|{ids[i]}" for i in act], dtype=object)
        counted, _ = partition(ag, keys)
        counted = polygonal_only(counted)
    else:
        counted = ag.copy()
    approved_m2 = a["lk_area_m2"].to_numpy(dtype="float64")[act] if "lk_area_m2" in a.columns \
        else ellipsoidal_area(ag, crs=county.crs)
    counted_m2 = approved_m2.copy()
    changed = np.array([not shapely.equals_exact(x, y, 0) if x is not None and y is not None else True
                        for x, y in zip(ag, counted)], dtype=bool) if pairs else np.zeros(len(ag), dtype=bool)
    if changed.any():
        counted_m2[changed] = ellipsoidal_area(counted[changed], crs=county.crs)
    rem, un_m2, touch, dropped, fb = subtract_union(counted, sg, county.crs, sliver)
    un_m2 = np.minimum(un_m2, counted_m2)
    supplied_m2 = np.clip(counted_m2 - un_m2, 0.0, None)

    years = np.array([pz[i].year for i in act], dtype=np.int64)
    full = np.array([full_years(pz[i], D) for i in act], dtype=np.int64) if len(act) else np.zeros(0, np.int64)
    loc = locate(rem, county, cfg, sliver)
    with np.errstate(invalid="ignore", divide="ignore"):
        con_share = np.where(un_m2 > 0, loc["construction_m2"].to_numpy() / np.where(un_m2 > 0, un_m2, 1), np.nan)
        agri_share = np.where(un_m2 > 0, loc["agri_m2"].to_numpy() / np.where(un_m2 > 0, un_m2, 1), np.nan)
    has = un_m2 > 0
    in_use = has & (con_share >= s.in_use_share - 1e-12)
    lapse = has & (full >= s.lapse_years) & (supplied_m2 < sliver) & (agri_share > s.lapse_agri_share)
    yj = overlap_m2(rem, county.yjjbnt, county, sliver)
    st = overlap_m2(rem, county.stbhhx, county, sliver)

    rows = a.iloc[act]
    out = gpd.GeoDataFrame({"id": ids[act], "lk_fid": rows["lk_fid"].to_numpy() if "lk_fid" in rows.columns
                            else act}, geometry=rem, crs=a.crs, index=rows.index)
    for col in ("批次名称", "批准文号"):
        out[col] = text_column(rows, col)
    out["批准日期"] = as_datetime64([pz[i] for i in act]).to_numpy()
    if "批准面积" in rows.columns:
        out["批准面积"] = numeric_column(rows, "批准面积")       # declared, as the file holds it
    out["未供原因"] = text_column(rows, "未供原因")
    out["approved_m2"] = approved_m2
    out["counted_m2"] = counted_m2
    out["overlap_prior_m2"] = np.clip(approved_m2 - counted_m2, 0.0, None)
    out["supplied_m2"] = supplied_m2
    out["unsupplied_m2"] = un_m2
    add_area_units(out, "approved_m2")
    add_area_units(out, "supplied_m2")
    add_area_units(out, "unsupplied_m2")
    out["approval_year"] = years
    out["cohort"] = [cohort_label(y, s.cohorts) for y in years]
    out["years_since_approval"] = full
    for c in ("township", "township_name", "village", "village_name", "construction_m2", "agri_m2", "unused_m2"):
        out[c] = loc[c].to_numpy()
    out["construction_share"] = con_share
    out["in_use"] = in_use
    out["lapse_candidate"] = lapse
    out["yjjbnt_m2"] = yj if yj is not None else np.nan
    out["stbhhx_m2"] = st if st is not None else np.nan
    out["yjjbnt_mu"] = m2_to_mu(out["yjjbnt_m2"].to_numpy(dtype="float64"))
    out["stbhhx_mu"] = m2_to_mu(out["stbhhx_m2"].to_numpy(dtype="float64"))
    out["supply_ids"] = ["、".join(str(x) for x in sg_ids[t]) for t in touch]
    status = np.where(has, "unsupplied", np.where(counted_m2 < sliver, "empty", "supplied"))
    out["status"] = status
    for c in PLAN_COLUMNS:
        out[c] = None

    # every approval with its status
    st_all = np.full(len(a), "", dtype=object)
    st_all[no_date] = "no_date"
    st_all[after] = "after_as_of"
    st_all[withdrawn] = "withdrawn"
    st_all[act] = status
    allrows = gpd.GeoDataFrame({"id": ids, "status": st_all,
                                "status_name": [APPROVAL_STATUS.get(x, x) for x in st_all]},
                               geometry=ag_all, crs=a.crs, index=a.index)
    for col in ("批次名称", "批准文号"):
        allrows[col] = text_column(a, col)
    allrows["批准日期"] = as_datetime64(pz).to_numpy()
    allrows["撤回日期"] = as_datetime64(ch).to_numpy()
    allrows["approved_m2"] = a["lk_area_m2"].to_numpy(dtype="float64") if "lk_area_m2" in a.columns \
        else ellipsoidal_area(ag_all, crs=county.crs)
    for c in ("counted_m2", "supplied_m2", "unsupplied_m2"):
        allrows[c] = np.nan
        allrows.loc[out.index, c] = out[c].to_numpy()
    out["status_name"] = [APPROVAL_STATUS[x] for x in status]
    feats = out[has].copy()
    if fb:
        findings.append(Finding("info", "grid_fallback",
                                f"{fb} 个批次的差集运算在 1 毫米精度网格上完成（几何拓扑异常）", "approvals",
                                layer_file(county, "approvals")))
    if county.dltb is None:
        notes.append("没有地类图斑图层，未判断未供即用和自动失效/撤回候选")
    summ = _au_summary(feats, D, s, [], notes)
    summ.update({
        "approved_count": int(len(act)), "approved_mu": to_mu(counted_m2),
        "supplied_mu": to_mu(supplied_m2), "withdrawn_count": int(withdrawn.sum()),
        "after_as_of_count": int(after.sum()), "no_date_count": int(no_date.sum()),
        "overlap_pairs": len(pairs), "sliver_parts_dropped": dropped,
    })
    return ApprovedUnsuppliedResult(feats, allrows, summ, findings, D)


def _overlap_pairs(g: np.ndarray, crs, sliver: float) -> list[tuple[int, int, float]]:
    """(i, j, overlap m²) of features overlapping each other by at least ``sliver``."""
    if len(g) < 2:
        return []
    tree = shapely.STRtree(g)
    i, j = tree.query(g, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if not len(i):
        return []
    try:
        inter = shapely.intersection(g[i], g[j])
    except GEOSException:
        inter = shapely.intersection(g[i], g[j], grid_size=GRID)
    ar = ellipsoidal_area(polygonal_only(inter), crs=crs)
    big = ar >= sliver
    return [(int(x), int(y), float(z)) for x, y, z in zip(i[big], j[big], ar[big])]


def _au_summary(feats, D, s, missing, notes) -> dict:
    labels = cohort_labels(s.cohorts)
    if feats is None:
        out = {"as_of": D.isoformat(), "available": False, "unsupplied_mu": None, "count": None,
               "in_use_mu": None, "in_use_count": None, "lapse_candidate_mu": None, "lapse_candidate_count": None,
               "yjjbnt_mu": None, "stbhhx_mu": None, "by_township": [], "by_cohort": []}
    else:
        f = feats
        towns = f["township"].fillna(UNKNOWN_TOWN)
        by_t = []
        for code, grp in f.groupby(towns, sort=True):
            by_t.append({"code": code, "name": town_label(code, first_value(grp["township_name"])),
                         "unsupplied_mu": to_mu(grp["unsupplied_m2"]), "count": int(len(grp))})
        by_c = []
        for lab in labels + sorted(set(f["cohort"]) - set(labels)):
            grp = f[f["cohort"] == lab]
            by_c.append({"cohort": lab, "unsupplied_mu": to_mu(grp["unsupplied_m2"]), "count": int(len(grp))})
        out = {"as_of": D.isoformat(), "available": True, "unsupplied_mu": to_mu(f["unsupplied_m2"]),
               "count": int(len(f)),
               "in_use_mu": to_mu(f.loc[f["in_use"], "unsupplied_m2"]), "in_use_count": int(f["in_use"].sum()),
               "lapse_candidate_mu": to_mu(f.loc[f["lapse_candidate"], "unsupplied_m2"]),
               "lapse_candidate_count": int(f["lapse_candidate"].sum()),
               "yjjbnt_mu": None if f["yjjbnt_m2"].isna().all() else to_mu(f["yjjbnt_m2"]),
               "stbhhx_mu": None if f["stbhhx_m2"].isna().all() else to_mu(f["stbhhx_m2"]),
               "by_township": by_t, "by_cohort": by_c}
    if missing:
        out["missing"] = list(missing)
    if notes:
        out["notes"] = list(notes)
    return out

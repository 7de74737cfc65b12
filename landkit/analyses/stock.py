"""What the 存量建设用地 analyses share (docs/rules.md §2, §3, §7): the ``[inventory]`` settings, the
as-of date, cohorts, feature ids, date fields, areas of pieces and unions, township labels.

Areas: ``*_m2`` columns are m² (CGCS2000 ellipsoidal), ``*to_mu`` 亩 (m² × 3/2000), ``*_ha`` 公顷.
"""
from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.errors import GEOSException

from ..dates import add_years, parse_date, parse_dates
from ..errors import ConfigError
from ..io.fields import ID_FIELDS, ROLE_NAMES
from ..overlay.engine import overlay_areas, safe_set_op
from ..findings import Finding
from ..standards.area import ellipsoidal_area
from ..standards.vocabulary import APPROVAL_STATUS, IDLE_STATUS, IDLE_TYPES, UNKNOWN_TOWN  # noqa: F401
from ..standards.units import m2_to_ha, m2_to_mu


GRID = 1e-3   # metres: fixed-precision fallback grid, as in landkit.overlay

#: empty ledger columns for what will be done ("快处置")
PLAN_COLUMNS = ["拟处置方式", "责任单位", "责任人", "完成时限", "处置进展", "备注"]

#: Chinese headers for the computed columns (for ledgers and map popups)
LABELS = {
    "id": "编号", "approved_m2": "批准面积(计算)_平方米", "approved_mu": "批准面积(计算)_亩",
    "counted_m2": "计入面积_平方米", "overlap_prior_m2": "与先批批次重叠_平方米",
    "supplied_m2": "已供面积_平方米", "supplied_mu": "已供面积_亩",
    "unsupplied_m2": "未供面积_平方米", "unsupplied_mu": "未供面积_亩", "unsupplied_ha": "未供面积_公顷",
    "approval_year": "批准年份", "cohort": "批次年度分组", "years_since_approval": "批准满年数",
    "township": "乡镇代码", "township_name": "乡镇名称", "village": "村代码", "village_name": "村名称",
    "construction_m2": "现状建设用地_平方米", "agri_m2": "现状农用地_平方米", "unused_m2": "现状未利用地_平方米",
    "construction_share": "现状建设用地占比", "in_use": "未供即用", "lapse_candidate": "自动失效/撤回候选",
    "yjjbnt_m2": "压占永久基本农田_平方米", "yjjbnt_mu": "压占永久基本农田_亩",
    "stbhhx_m2": "压占生态保护红线_平方米", "stbhhx_mu": "压占生态保护红线_亩",
    "supply_ids": "相交供地电子监管号", "status": "状态", "status_name": "状态说明",
    "area_m2": "面积_平方米", "area_mu": "面积_亩", "area_ha": "面积_公顷",
    "idle_type": "闲置类型", "idle_since": "闲置起算日期", "idle_days": "闲置天数", "idle_years": "闲置年数",
    "overdue_years": "未动工/中止满年数", "develop_ratio": "已开发比例", "invest_ratio": "已投资比例",
    "cause": "闲置原因类别", "idle_fee_wan": "土地闲置费_万元", "recover_candidate": "无偿收回候选",
    "reasons": "低效认定依据", "exempt_reasons": "豁免情形", "exempt": "豁免", "tax_average": "行业亩均税收均值",
    "ownership": "权属", "categories": "类别",
}



# --------------------------------------------------------------------------------------
# settings, dates, ids
# --------------------------------------------------------------------------------------


def resolve_as_of(county, as_of=None) -> tuple[dt.date, list[str]]:
    """D: ``as_of`` → county.as_of → 31 Dec of county.year → today (with a note)."""
    if as_of is not None:
        d = parse_date(as_of)
        if d is None:
            raise ConfigError(f"基准日期无法识别：{as_of!r}")
        return d, []
    if getattr(county, "as_of", None) is not None:
        return county.as_of, []
    if getattr(county, "year", None) is not None:
        return dt.date(int(county.year), 12, 31), []
    today = dt.date.today()
    return today, [f"未设定年度或基准日（landkit.toml [county] year / as_of），按运行当天 {today.isoformat()} 统计"]


def cohort_label(year, splits: list[int]) -> str:
    """The cohort of an approval year under ``splits`` (sorted years that close a cohort)."""
    if year is None or (isinstance(year, float) and np.isnan(year)):
        return "未知"
    y = int(year)
    if not splits:
        return "全部"
    if y <= splits[0]:
        return f"{splits[0]}年及以前"
    for lo, hi in zip(splits, splits[1:]):
        if lo < y <= hi:
            return f"{hi}年" if lo + 1 == hi else f"{lo + 1}—{hi}年"
    return f"{splits[-1] + 1}年及以后"


def cohort_labels(splits: list[int]) -> list[str]:
    """All cohort labels in order (oldest first)."""
    if not splits:
        return ["全部"]
    out = [cohort_label(splits[0], splits)]
    out += [cohort_label(hi, splits) for hi in splits[1:]]
    out.append(cohort_label(splits[-1] + 1, splits))
    return out


def row_ids(gdf: pd.DataFrame, role: str) -> np.ndarray:
    """A label per row: the role's id field (电子监管号, 批准文号, ...) or "FID n"."""
    idf = ID_FIELDS.get(role)
    fid = ("FID " + gdf["lk_fid"].astype(str)) if "lk_fid" in gdf.columns else \
        pd.Series([f"第{i + 1}行" for i in range(len(gdf))], index=gdf.index)
    if idf and idf in gdf.columns:
        lab = gdf[idf].astype("string").str.strip()
        return lab.where(lab.notna() & (lab != ""), fid).astype(object).to_numpy()
    return fid.astype(object).to_numpy()


def layer_file(county, role) -> str | None:
    src = getattr(county, "sources", {}).get(role)
    return str(src.path) if src is not None else None


def _src_name(county, role) -> str:
    src = getattr(county, "sources", {}).get(role)
    return f"（{src.display}）" if src is not None and getattr(src, "display", None) else ""


def date_field(county, gdf, role: str, name: str, ids: np.ndarray, findings: list) -> tuple[list, np.ndarray]:
    """Parse one date column. Returns (dates or None, mask of values that are not dates).

    A missing column gives all None. Values that are not dates become one warning
    finding naming the rows (by id) and the values; they count as missing.
    """
    if name not in gdf.columns:
        return [None] * len(gdf), np.zeros(len(gdf), dtype=bool)
    vals = gdf[name].tolist()
    dates, bad = parse_dates(vals)
    if bad.any():
        idx = np.flatnonzero(bad)
        shown = "、".join(f"{ids[i]}（“{vals[i]}”）" for i in idx[:10])
        more = f" 等 {len(idx)} 行" if len(idx) > 10 else ""
        findings.append(Finding(
            "warning", "date_unparseable",
            f"{ROLE_NAMES.get(role, role)}{_src_name(county, role)}字段 {name} 有 {len(idx)} 个值无法识别为日期："
            f"{shown}{more}；这些值按缺失处理",
            role, layer_file(county, role), name, [ids[i] for i in idx], len(idx)))
    return dates, bad


def as_datetime64(dates: list) -> pd.Series:
    return pd.to_datetime(pd.Series([pd.Timestamp(d) if d is not None else pd.NaT for d in dates],
                                    dtype="datetime64[s]"))


def full_years(start: dt.date | None, end: dt.date) -> int | None:
    """Whole calendar years from start to end (an anniversary counts; 29 Feb → 28 Feb)."""
    if start is None or end < start:
        return None if start is None else 0
    n = end.year - start.year
    while n > 0 and add_years(start, n) > end:
        n -= 1
    return n


def numeric_column(gdf, name) -> np.ndarray:
    if name not in gdf.columns:
        return np.full(len(gdf), np.nan)
    return pd.to_numeric(gdf[name], errors="coerce").to_numpy(dtype="float64")


def text_column(gdf, name) -> np.ndarray:
    if name not in gdf.columns:
        return np.full(len(gdf), None, dtype=object)
    out = []
    for v in gdf[name].tolist():
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
        else:
            s = str(v).strip()
            out.append(s or None)
    return np.array(out, dtype=object)


def geometry_values(gdf) -> np.ndarray:
    return np.asarray(gdf.geometry.values, dtype=object)


def _empty(g: np.ndarray) -> np.ndarray:
    return shapely.is_missing(g) | shapely.is_empty(g)


# --------------------------------------------------------------------------------------
# geometry helpers
# --------------------------------------------------------------------------------------


def polygonal_only(g: np.ndarray) -> np.ndarray:
    t = shapely.get_type_id(g)
    bad = (t != 3) & (t != 6) & ~shapely.is_missing(g)
    if bad.any():
        from ..io.geometry import polygonal_part
        g = g.copy()
        g[bad] = polygonal_part(g[bad])
    return g


def _safe_union(parts: np.ndarray):
    try:
        return shapely.union_all(parts)
    except GEOSException:
        try:
            return shapely.union_all(parts, grid_size=GRID)
        except GEOSException:
            fixed = shapely.make_valid(shapely.set_precision(parts, GRID))
            return shapely.union_all(fixed, grid_size=GRID)


def _safe_difference(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """Vectorised a − b with the overlay engine's fallbacks. (result, fallbacks)."""
    return safe_set_op(shapely.difference, np.asarray(a, dtype=object), np.asarray(b, dtype=object))


def subtract_union(a: np.ndarray, b: np.ndarray, crs, sliver_m2: float):
    """For each geometry of ``a``: a minus the union of the ``b`` features touching it.

    STRtree bulk query; per feature of ``a`` one union of its few touching ``b`` features;
    one vectorised difference (grid fallback on GEOSException). Remainder parts smaller
    than ``sliver_m2`` (ellipsoidal) are dropped.

    Returns (remainder geometries (MultiPolygon or None), remainder m², touching b indices
    per a feature (list of arrays), sliver parts dropped, fallback count).
    """
    n = len(a)
    touch = [np.empty(0, dtype=np.int64) for _ in range(n)]
    rem = a.copy()
    fallbacks = 0
    ok_b = ~_empty(b) if len(b) else np.zeros(0, dtype=bool)
    if n and ok_b.any():
        bi = np.flatnonzero(ok_b)
        tree = shapely.STRtree(b[bi])
        ia, jb = tree.query(a, predicate="intersects")
        jb = bi[jb]
        if len(ia):                                   # interiors meet, not just edges touching
            inner = shapely.relate_pattern(a[ia], b[jb], "T********")
            ia, jb = ia[inner], jb[inner]
        if len(ia):
            order = np.lexsort((jb, ia))
            ia, jb = ia[order], jb[order]
            starts = np.flatnonzero(np.r_[True, ia[1:] != ia[:-1]])
            ends = np.r_[starts[1:], len(ia)]
            cover = np.empty(len(starts), dtype=object)
            rows = ia[starts]
            for k, (s, e) in enumerate(zip(starts, ends)):
                touch[ia[s]] = jb[s:e]
                cover[k] = b[jb[s]] if e - s == 1 else _safe_union(b[jb[s:e]])
            diff, fallbacks = _safe_difference(a[rows], cover)
            rem[rows] = polygonal_only(diff)
    # drop sliver parts, reassemble per feature
    out = np.full(n, None, dtype=object)
    area = np.zeros(n)
    dropped = 0
    ok = ~_empty(rem)
    if ok.any():
        parts, pidx = shapely.get_parts(rem[ok], return_index=True)
        pidx = np.flatnonzero(ok)[pidx]
        poly = shapely.get_type_id(parts) == 3
        parts, pidx = parts[poly], pidx[poly]
        pa = ellipsoidal_area(parts, crs=crs)
        keep = pa >= sliver_m2
        dropped = int(((pa > 0) & ~keep).sum())
        if keep.any():
            shapely.multipolygons(parts[keep], indices=pidx[keep], out=out)
            area = np.bincount(pidx[keep], weights=pa[keep], minlength=n)
    return out, area, touch, dropped, fallbacks


def overlap_m2(geoms: np.ndarray, layer, county, sliver_m2: float, ids_field: str | None = None) -> np.ndarray | None:
    if layer is None:
        return None
    out = np.zeros(len(geoms))
    ok = np.flatnonzero(~_empty(geoms)) if len(geoms) else np.zeros(0, dtype=np.int64)
    if len(ok) and len(layer):
        r = overlay_areas(geoms[ok], layer.geometry, crs=county.crs, sliver_m2=sliver_m2,
                          b_ids=layer[ids_field].to_numpy(dtype=object) if ids_field and ids_field in layer.columns
                          else None, b_valid=True)
        out[ok] = r.table["overlap_m2"].to_numpy()
    return out


def add_area_units(gdf: pd.DataFrame, col: str) -> None:
    base = col[:-3]
    gdf[base + "_mu"] = m2_to_mu(gdf[col].to_numpy(dtype="float64"))
    gdf[base + "_ha"] = m2_to_ha(gdf[col].to_numpy(dtype="float64"))


def to_mu(x) -> float:
    return float(m2_to_mu(float(np.nansum(x))))


def empty_frame(county) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": pd.Series(dtype=object)}, geometry=gpd.GeoSeries([], crs=county.crs),
                            crs=county.crs)


def first_value(series):
    v = [x for x in series.tolist() if x is not None and not (isinstance(x, float) and np.isnan(x))]
    return v[0] if v else None


def town_label(code, name):
    return "未能确定乡镇" if code == UNKNOWN_TOWN and name is None else name


def category_summary(feats, missing, notes, key) -> dict:
    if feats is None:
        out = {"available": False, "reason": "；".join(notes) or None, f"{key}_mu": None, "count": None,
               "by_township": []}
    else:
        by_t = []
        for code, grp in feats.groupby(feats["township"].fillna(UNKNOWN_TOWN), sort=True):
            by_t.append({"code": code, "name": town_label(code, first_value(grp["township_name"])),
                         f"{key}_mu": to_mu(grp["area_m2"]),
                         "count": int(len(grp))})
        out = {"available": True, f"{key}_mu": to_mu(feats["area_m2"]), "count": int(len(feats)), "by_township": by_t}
    if missing:
        out["missing"] = list(missing)
    if notes:
        out["notes"] = list(notes)
    return out


def union_area_m2(geoms: np.ndarray, crs) -> float:
    """Ellipsoidal area (m²) of the union of ``geoms``: land covered several times counts once.

    Only geometries whose interiors overlap others are unioned (per connected group);
    the rest contribute their own area — fast when overlaps are few.
    """
    g = geoms[~_empty(geoms)] if len(geoms) else geoms
    n = len(g)
    if not n:
        return 0.0
    tree = shapely.STRtree(g)
    i, j = tree.query(g)                       # envelopes meet ...
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i):                                 # ... and interiors intersect (not just touching)
        inner = shapely.relate_pattern(g[i], g[j], "T********")
        i, j = i[inner], j[inner]
    area = ellipsoidal_area(g, crs=crs)
    if not len(i):
        return float(area.sum())
    parent = np.arange(n)

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for x, y in zip(i.tolist(), j.tolist()):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    roots = np.array([find(x) for x in range(n)])
    counts = np.bincount(roots, minlength=n)
    alone = counts[roots] == 1
    total = float(area[alone].sum())
    grouped = np.flatnonzero(~alone)
    order = grouped[np.argsort(roots[grouped], kind="stable")]
    r = roots[order]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    unions = np.array([_safe_union(g[order[s:e]]) for s, e in zip(starts, np.r_[starts[1:], len(order)])],
                      dtype=object)
    return total + float(ellipsoidal_area(polygonal_only(unions), crs=crs).sum())


def union_mu(geoms: np.ndarray, crs) -> float:
    return float(m2_to_mu(union_area_m2(geoms, crs)))

"""存量建设用地大盘点 (docs/rules.md §2, §3, §7; R9, R10, R12): 批而未供, 闲置土地, 城镇低效用地,
农村集体经营性建设用地 — "找到地、找到人、析原因、快处置".

Every ledger row says where the land is (geometry, township, village) and how big (m², 亩,
公顷), who holds it, why it is stuck, and leaves empty columns for what will be done
(:data:`PLAN_COLUMNS`).

Dates. The as-of date D defaults to ``county.as_of`` (31 Dec of the county's year). "满一年"
means the same calendar day one year later (:func:`landkit.dates.add_years`: 29 Feb → 28 Feb);
a rule that holds "满一年" holds *on* the anniversary, not the day before. Dates arrive in
any form bureaus use (2023-03-01, 2023/3/1, 20230301, 2023年3月1日, Excel serials, date
columns); a value that is not a date becomes a QA finding naming the row and field.

Areas. Whole DLTB features use their declared TBDLMJ where it passed QA (no
``tbmj_mismatch``/``tbdlmj_mismatch`` finding), else the computed ellipsoidal area ×
(1 − KCXS); pieces (differences, intersections) and approval/supply/parcel polygons use
the computed CGCS2000 ellipsoidal area. ``*_m2`` columns are m², ``*_mu`` 亩 (× 3/2000),
``*_ha`` 公顷; nothing is rounded.

Settings: ``[inventory]`` in landkit.toml (see :data:`DEFAULTS`, every rule docs/rules.md marks
UNCONFIRMED is one of them).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from fractions import Fraction

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.errors import GEOSException

from ..config import Config
from ..dates import add_years, parse_date, parse_dates
from ..errors import ConfigError
from ..io.fields import ID_FIELDS, ROLE_NAMES
from ..overlay import overlay_areas, partition, safe_set_op
from ..qa import Finding
from ..standards.area import ellipsoidal_area
from ..standards.codes import is_valid_unit_code, ownership
from ..standards.units import m2_to_ha, m2_to_mu
from .location import locate, township_names as _township_names  # noqa: F401 (re-exported)

GRID = 1e-3   # metres: fixed-precision fallback grid, as in landkit.overlay

#: ``[inventory]`` settings and their defaults.
DEFAULTS: dict = {
    # 批而未供 (R10)
    "cohorts": [2018],            # cohort splits by approval year: [2018] → ≤2018 / 2019 及以后
    "lapse_years": 2,             # 自动失效/撤回 candidate: approved ≥ this many years before D ...
    "lapse_agri_share": 0.5,      # ... nothing supplied, and > this share of the remainder 农用地
    "in_use_share": 0.5,          # 未供即用: ≥ this share of the remainder is 建设用地 in DLTB
    # 闲置土地 (53号令 第二条, 第十四条; R9)
    "idle_years": 1,              # 满一年
    "recover_years": 2,           # 企业原因 无偿收回 candidate: 未动工 (or 中止) 满两年
    "develop_share": "1/3",       # 已开发面积 / 应开发面积 strictly below this ...
    "invest_share": 0.25,         # ... or 已投资额 / 总投资额 strictly below this
    "idle_fee_rate": 0.2,         # 土地闲置费 = 20 % × 出让价款 (万元)
    "government_cause_keywords": ["政府", "规划", "交地", "政策", "信访", "军事", "文物", "不可抗力",
                                  "拆迁", "征地"],
    "enterprise_cause_keywords": ["企业", "自身", "资金", "用地单位", "使用权人", "受让人", "经营"],
    # 城镇低效用地 (R12, a local rule pack; default from the 金华 draft)
    "far_min": 1.0,               # 容积率 strictly below this
    "tax_share": 0.4,             # 亩均税收 strictly below this × the 行业 average
    "tax_average": "mean",        # "mean" of parcels' 亩均税收, or "weighted" by parcel area
    "exempt_above_scale": True,   # 规上企业 (是否规上 = 是) exempt
    "above_scale_values": ["是", "Y", "YES", "TRUE", "1", "规上", "√"],
    "exempt_new_years": 3,        # 投产不满 N 年 exempt (0 = no exemption)
    # 农村集体经营性建设用地
    "collective_dlbm": ["05H1", "0508", "0601", "0602"],
}

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

APPROVAL_STATUS = {"unsupplied": "批而未供", "supplied": "已全部供地", "withdrawn": "已撤回",
                   "after_as_of": "基准日后批准", "no_date": "批准日期缺失或无法识别", "empty": "与先批批次完全重叠"}
IDLE_STATUS = {"idle_not_started": "闲置：未动工满一年", "idle_stalled": "闲置：中止开发满一年",
               "not_idle": "未闲置", "not_supplied": "基准日后供地", "disposed": "已处置",
               "completed": "已竣工", "cannot_judge": "无法判定"}
IDLE_TYPES = {"idle_not_started": "未动工开发满一年", "idle_stalled": "已动工但中止开发满一年"}

UNKNOWN_TOWN = "未知"


# --------------------------------------------------------------------------------------
# settings, dates, ids
# --------------------------------------------------------------------------------------


def _cfg(county, config) -> Config:
    if config is None:
        return county.config
    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return county.config.merged(config, "config")
    raise TypeError("config 应为 Config、dict 或 None")


def _fraction(v, key: str) -> float:
    if isinstance(v, str):
        try:
            return float(Fraction(v.strip()))
        except (ValueError, ZeroDivisionError):
            raise ConfigError(f"[inventory] {key} 应为数值或分数（如 \"1/3\"），得到 {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ConfigError(f"[inventory] {key} 应为数值，得到 {v!r}")


def settings(config) -> dict:
    """The effective ``[inventory]`` settings (defaults ← config). Unknown keys are an error."""
    user = dict(config.data.get("inventory") or {})
    unknown = set(user) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f"[inventory] 中有未知配置项：{', '.join(sorted(unknown))}；"
                          f"可用：{', '.join(DEFAULTS)}")
    s = {**DEFAULTS, **user}
    try:
        s["cohorts"] = sorted(int(y) for y in (s["cohorts"] or []))
    except (TypeError, ValueError):
        raise ConfigError(f"[inventory] cohorts 应为年份列表，如 [2018]，得到 {s['cohorts']!r}")
    for k in ("develop_share", "invest_share", "idle_fee_rate", "far_min", "tax_share", "lapse_agri_share",
              "in_use_share"):
        s[k] = _fraction(s[k], k)
    for k in ("lapse_years", "idle_years", "recover_years", "exempt_new_years"):
        try:
            s[k] = int(s[k])
        except (TypeError, ValueError):
            raise ConfigError(f"[inventory] {k} 应为整数（年），得到 {s[k]!r}")
    if s["tax_average"] not in ("mean", "weighted"):
        raise ConfigError(f"[inventory] tax_average 应为 mean 或 weighted，得到 {s['tax_average']!r}")
    s["collective_dlbm"] = [str(c) for c in s["collective_dlbm"]]
    return s


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


def _file(county, role) -> str | None:
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
            role, _file(county, role), name, [ids[i] for i in idx], len(idx)))
    return dates, bad


def _dt64(dates: list) -> pd.Series:
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


def _num(gdf, name) -> np.ndarray:
    if name not in gdf.columns:
        return np.full(len(gdf), np.nan)
    return pd.to_numeric(gdf[name], errors="coerce").to_numpy(dtype="float64")


def _text(gdf, name) -> np.ndarray:
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


def _geoms(gdf) -> np.ndarray:
    return np.asarray(gdf.geometry.values, dtype=object)


def _empty(g: np.ndarray) -> np.ndarray:
    return shapely.is_missing(g) | shapely.is_empty(g)


# --------------------------------------------------------------------------------------
# geometry helpers
# --------------------------------------------------------------------------------------


def _polygonal(g: np.ndarray) -> np.ndarray:
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
            rem[rows] = _polygonal(diff)
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


def _overlap(geoms: np.ndarray, layer, county, sliver_m2: float, ids_field: str | None = None) -> np.ndarray | None:
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


def _add_units(gdf: pd.DataFrame, col: str) -> None:
    base = col[:-3]
    gdf[base + "_mu"] = m2_to_mu(gdf[col].to_numpy(dtype="float64"))
    gdf[base + "_ha"] = m2_to_ha(gdf[col].to_numpy(dtype="float64"))


def _mu(x) -> float:
    return float(m2_to_mu(float(np.nansum(x))))


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
    unsupplied_m2/_mu/_ha, approval_year, cohort (``[inventory] cohorts``), township and
    village holding most of the remainder (DLTB ZLDWDM, else the townships layer), its
    area by 三大类 in the DLTB, the flags ``in_use`` (未供即用: ≥ ``in_use_share`` of the
    remainder is 建设用地) and ``lapse_candidate`` (approved ≥ ``lapse_years`` before D,
    nothing supplied, > ``lapse_agri_share`` of the remainder 农用地: 自动失效/撤回 candidate),
    and the remainder's overlap with 永久基本农田 / 生态保护红线 (m²; None without the layer).

    Raises nothing for missing layers: without approvals or supply the summary says
    so (``available: False``, ``missing``, ``notes``).
    """
    cfg = _cfg(county, config)
    s = settings(cfg)
    D, notes = resolve_as_of(county, as_of)
    sliver = cfg.sliver_m2
    findings: list[Finding] = []
    a = county.approvals
    sup = county.supply
    missing = [r for r, lay in (("approvals", a), ("supply", sup)) if lay is None]
    if missing:
        for r in missing:
            notes.append(f"没有{ROLE_NAMES[r]}图层，无法计算批而未供")
        return ApprovedUnsuppliedResult(_empty_gdf(county), _empty_gdf(county),
                                        _au_summary(None, D, s, missing, notes), findings, D)

    ids = row_ids(a, "approvals")
    pz, pz_bad = date_field(county, a, "approvals", "批准日期", ids, findings)
    ch, _ = date_field(county, a, "approvals", "撤回日期", ids, findings)
    no_date = np.array([x is None for x in pz], dtype=bool)
    if no_date.any():
        findings.append(Finding("warning", "approval_date_missing",
                                f"{int(no_date.sum())} 个批准用地没有可用的批准日期，未计入批而未供",
                                "approvals", _file(county, "approvals"), "批准日期",
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
                                "supply", _file(county, "supply"), "供地日期",
                                list(sids[s_undated]), int(s_undated.sum())))
    sg = _geoms(sup)[s_at]
    sg_ids = sids[s_at]

    ag_all = _geoms(a)
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
                                "approvals", _file(county, "approvals"), "批准文号", labels, len(pairs)))
        keys = np.array([f"{pz[i].isoformat()}|{ids[i]}" for i in act], dtype=object)
        counted, _ = partition(ag, keys)
        counted = _polygonal(counted)
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
    in_use = has & (con_share >= s["in_use_share"] - 1e-12)
    lapse = has & (full >= s["lapse_years"]) & (supplied_m2 < sliver) & (agri_share > s["lapse_agri_share"])
    yj = _overlap(rem, county.yjjbnt, county, sliver)
    st = _overlap(rem, county.stbhhx, county, sliver)

    rows = a.iloc[act]
    out = gpd.GeoDataFrame({"id": ids[act], "lk_fid": rows["lk_fid"].to_numpy() if "lk_fid" in rows.columns
                            else act}, geometry=rem, crs=a.crs, index=rows.index)
    for col in ("批次名称", "批准文号"):
        out[col] = _text(rows, col)
    out["批准日期"] = _dt64([pz[i] for i in act]).to_numpy()
    if "批准面积" in rows.columns:
        out["批准面积"] = _num(rows, "批准面积")       # declared, as the file holds it
    out["未供原因"] = _text(rows, "未供原因")
    out["approved_m2"] = approved_m2
    out["counted_m2"] = counted_m2
    out["overlap_prior_m2"] = np.clip(approved_m2 - counted_m2, 0.0, None)
    out["supplied_m2"] = supplied_m2
    out["unsupplied_m2"] = un_m2
    _add_units(out, "approved_m2")
    _add_units(out, "supplied_m2")
    _add_units(out, "unsupplied_m2")
    out["approval_year"] = years
    out["cohort"] = [cohort_label(y, s["cohorts"]) for y in years]
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
        allrows[col] = _text(a, col)
    allrows["批准日期"] = _dt64(pz).to_numpy()
    allrows["撤回日期"] = _dt64(ch).to_numpy()
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
                                _file(county, "approvals")))
    if county.dltb is None:
        notes.append("没有地类图斑图层，未判断未供即用和自动失效/撤回候选")
    summ = _au_summary(feats, D, s, [], notes)
    summ.update({
        "approved_count": int(len(act)), "approved_mu": _mu(counted_m2),
        "supplied_mu": _mu(supplied_m2), "withdrawn_count": int(withdrawn.sum()),
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
    ar = ellipsoidal_area(_polygonal(inter), crs=crs)
    big = ar >= sliver
    return [(int(x), int(y), float(z)) for x, y, z in zip(i[big], j[big], ar[big])]


def _empty_gdf(county) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": pd.Series(dtype=object)}, geometry=gpd.GeoSeries([], crs=county.crs),
                            crs=county.crs)


def _au_summary(feats, D, s, missing, notes) -> dict:
    labels = cohort_labels(s["cohorts"])
    if feats is None:
        out = {"as_of": D.isoformat(), "available": False, "unsupplied_mu": None, "count": None,
               "in_use_mu": None, "in_use_count": None, "lapse_candidate_mu": None, "lapse_candidate_count": None,
               "yjjbnt_mu": None, "stbhhx_mu": None, "by_township": [], "by_cohort": []}
    else:
        f = feats
        towns = f["township"].fillna(UNKNOWN_TOWN)
        by_t = []
        for code, grp in f.groupby(towns, sort=True):
            by_t.append({"code": code, "name": _town_name(code, _first(grp["township_name"])),
                         "unsupplied_mu": _mu(grp["unsupplied_m2"]), "count": int(len(grp))})
        by_c = []
        for lab in labels + sorted(set(f["cohort"]) - set(labels)):
            grp = f[f["cohort"] == lab]
            by_c.append({"cohort": lab, "unsupplied_mu": _mu(grp["unsupplied_m2"]), "count": int(len(grp))})
        out = {"as_of": D.isoformat(), "available": True, "unsupplied_mu": _mu(f["unsupplied_m2"]),
               "count": int(len(f)),
               "in_use_mu": _mu(f.loc[f["in_use"], "unsupplied_m2"]), "in_use_count": int(f["in_use"].sum()),
               "lapse_candidate_mu": _mu(f.loc[f["lapse_candidate"], "unsupplied_m2"]),
               "lapse_candidate_count": int(f["lapse_candidate"].sum()),
               "yjjbnt_mu": None if f["yjjbnt_m2"].isna().all() else _mu(f["yjjbnt_m2"]),
               "stbhhx_mu": None if f["stbhhx_m2"].isna().all() else _mu(f["stbhhx_m2"]),
               "by_township": by_t, "by_cohort": by_c}
    if missing:
        out["missing"] = list(missing)
    if notes:
        out["notes"] = list(notes)
    return out


def _first(series):
    v = [x for x in series.tolist() if x is not None and not (isinstance(x, float) and np.isnan(x))]
    return v[0] if v else None


def _town_name(code, name):
    return "未能确定乡镇" if code == UNKNOWN_TOWN and name is None else name


# --------------------------------------------------------------------------------------
# 闲置土地
# --------------------------------------------------------------------------------------


@dataclass
class IdleResult:
    """闲置土地 at ``as_of``. ``features``: the idle supply records (geometry = the parcel);
    ``records``: every supply record with its status and the reason."""

    features: gpd.GeoDataFrame
    records: gpd.GeoDataFrame
    summary: dict
    findings: list = field(default_factory=list)
    as_of: dt.date | None = None

    def _repr_html_(self) -> str:
        s = self.summary
        return (f"<b>闲置土地</b>（{s['as_of']}）：{s['count']} 宗，{s['idle_mu']:.2f} 亩"
                + self.features.drop(columns="geometry").head(20).to_html())


def classify_cause(text, s: dict) -> str | None:
    """闲置原因 text → "政府" / "企业" / "未明" (given but not recognised) / None (not given)."""
    if text is None:
        return None
    t = str(text).strip()
    if not t:
        return None
    if t.startswith("政府") or t.startswith("非企业"):
        return "政府"
    if t.startswith("企业") or t.startswith("非政府"):
        return "企业"
    gov = any(k in t for k in s["government_cause_keywords"])
    ent = any(k in t for k in s["enterprise_cause_keywords"])
    if gov and not ent:
        return "政府"
    if ent and not gov:
        return "企业"
    return "未明"


_DECISIVE = ("约定动工日期", "实际动工日期", "停工日期", "复工日期", "处置日期")


def idle_land(county, as_of=None, config=None) -> IdleResult:
    """闲置土地 (《闲置土地处置办法》53号令 第二条, 第十四条; R9) on the supply records at D.

    A record supplied on or before D (or without a 供地日期) is idle when

    * D ≥ 约定动工日期 + 1 year (满一年, on the anniversary) and there is no 实际动工日期
      on or before D — idle since the anniversary (``idle_not_started``); or
    * development started (实际动工日期 ≤ D) but 已开发面积 / 应开发面积 < 1/3 or
      已投资额 / 总投资额 < 25 % (both strictly), and D ≥ 停工日期 + 1 year with no
      复工日期 between 停工日期 and D — idle since the anniversary of 停工日期
      (``idle_stalled``).

    Records already disposed (处置日期 ≤ D) or completed (实际竣工日期 ≤ D) are not idle.
    A record without a usable 约定动工日期 that has not started cannot be judged; nor can
    one whose decisive date fields hold values that are not dates: both are QA findings,
    not idle. Per idle record: idle_since, idle_days, idle_years (days / 365.25),
    overdue_years (whole years since 约定动工日期 / 停工日期), the holder (土地使用权人,
    联系人, 联系电话), cause (政府 / 企业 / 未明 from 闲置原因), and where the cause is
    企业: idle_fee_wan = ``idle_fee_rate`` × 出让价款 (万元) and recover_candidate
    (无偿收回 candidate: overdue_years ≥ ``recover_years``). Area = the parcel's computed
    ellipsoidal area; the declared 供地面积 is kept.
    """
    cfg = _cfg(county, config)
    s = settings(cfg)
    D, notes = resolve_as_of(county, as_of)
    sliver = cfg.sliver_m2
    findings: list[Finding] = []
    sup = county.supply
    if sup is None:
        notes.append("没有供地图层，无法认定闲置土地")
        return IdleResult(_empty_gdf(county), _empty_gdf(county),
                          _idle_summary(None, D, ["supply"], notes), findings, D)
    n = len(sup)
    ids = row_ids(sup, "supply")
    dates, bad = {}, {}
    for name in ("供地日期",) + _DECISIVE + ("约定竣工日期", "实际竣工日期"):
        dates[name], bad[name] = date_field(county, sup, "supply", name, ids, findings)
    gd, yd, sd, tg, fg, cz, jg = (dates[k] for k in ("供地日期", "约定动工日期", "实际动工日期", "停工日期",
                                                      "复工日期", "处置日期", "实际竣工日期"))
    dev = _num(sup, "已开发面积")
    dev_total = _num(sup, "应开发面积")
    inv = _num(sup, "已投资额")
    inv_total = _num(sup, "总投资额")
    with np.errstate(invalid="ignore", divide="ignore"):
        dev_ratio = np.where(dev_total > 0, dev / np.where(dev_total > 0, dev_total, 1), np.nan)
        inv_ratio = np.where(inv_total > 0, inv / np.where(inv_total > 0, inv_total, 1), np.nan)
    low_dev = np.isfinite(dev_ratio) & (dev_ratio < s["develop_share"] - 1e-12)
    low_inv = np.isfinite(inv_ratio) & (inv_ratio < s["invest_share"] - 1e-12)
    no_ratio = ~np.isfinite(dev_ratio) & ~np.isfinite(inv_ratio)
    decisive_bad = np.zeros(n, dtype=bool)
    for k in _DECISIVE:
        decisive_bad |= bad[k]

    status = np.full(n, "not_idle", dtype=object)
    since = [None] * n
    ref = [None] * n
    why_not = [None] * n
    cannot_start, cannot_ratio = [], []
    y1 = s["idle_years"]
    for i in range(n):
        if gd[i] is not None and gd[i] > D:
            status[i] = "not_supplied"
            continue
        if cz[i] is not None and cz[i] <= D:
            status[i] = "disposed"
            continue
        if jg[i] is not None and jg[i] <= D:
            status[i] = "completed"
            continue
        if decisive_bad[i]:
            status[i] = "cannot_judge"
            why_not[i] = "日期字段有无法识别的值"
            continue
        started = sd[i] is not None and sd[i] <= D
        if not started:
            if yd[i] is None:
                status[i] = "cannot_judge"
                why_not[i] = "缺少约定动工日期"
                cannot_start.append(i)
                continue
            anniv = add_years(yd[i], y1)
            if D >= anniv:
                status[i], since[i], ref[i] = "idle_not_started", anniv, yd[i]
            continue
        # started: stalled for a full year without resuming?
        if tg[i] is None or tg[i] > D:
            continue
        resumed = fg[i] is not None and tg[i] <= fg[i] <= D
        anniv = add_years(tg[i], y1)
        if resumed or D < anniv:
            continue
        if no_ratio[i]:
            status[i] = "cannot_judge"
            why_not[i] = "中止开发满一年，但缺少开发面积和投资额，无法判断是否达到三分之一/25%"
            cannot_ratio.append(i)
            continue
        if low_dev[i] or low_inv[i]:
            status[i], since[i], ref[i] = "idle_stalled", anniv, tg[i]
    file = _file(county, "supply")
    if cannot_start:
        findings.append(Finding("warning", "idle_start_date_missing",
                                f"{len(cannot_start)} 个供地记录未动工且缺少可用的约定动工日期，无法判定是否闲置",
                                "supply", file, "约定动工日期", [ids[i] for i in cannot_start], len(cannot_start)))
    if cannot_ratio:
        findings.append(Finding("warning", "idle_ratio_missing",
                                f"{len(cannot_ratio)} 个供地记录中止开发满一年，但缺少已开发/应开发面积和已投资/总投资额，"
                                "无法判定是否闲置", "supply", file, "已开发面积",
                                [ids[i] for i in cannot_ratio], len(cannot_ratio)))

    cause_text = _text(sup, "闲置原因")
    cause = np.array([classify_cause(t, s) for t in cause_text], dtype=object)
    price = _num(sup, "出让价款")
    idle = np.array([x in IDLE_TYPES for x in status], dtype=bool)
    idle_days = np.array([(D - since[i]).days if since[i] else np.nan for i in range(n)], dtype="float64")
    overdue = np.array([full_years(ref[i], D) if ref[i] else -1 for i in range(n)], dtype=np.int64)
    ent = idle & (cause == "企业")
    fee = np.where(ent & np.isfinite(price) & (price > 0), s["idle_fee_rate"] * price, np.nan)
    recover = ent & (overdue >= s["recover_years"])

    g = _geoms(sup)
    area = sup["lk_area_m2"].to_numpy(dtype="float64") if "lk_area_m2" in sup.columns \
        else ellipsoidal_area(g, crs=county.crs)
    rec = gpd.GeoDataFrame({"id": ids, "lk_fid": sup["lk_fid"].to_numpy() if "lk_fid" in sup.columns
                            else np.arange(n)}, geometry=g, crs=sup.crs, index=sup.index)
    for col in ("电子监管号", "项目名称", "土地使用权人", "联系人", "联系电话", "供地方式", "土地用途"):
        rec[col] = _text(sup, col)
    for col in ("供地日期", "约定动工日期", "实际动工日期", "停工日期", "复工日期", "处置日期", "实际竣工日期"):
        rec[col] = _dt64(dates[col]).to_numpy()
    for col in ("供地面积", "应开发面积", "已开发面积", "总投资额", "已投资额", "出让价款"):
        rec[col] = _num(sup, col)
    rec["处置方式"] = _text(sup, "处置方式")
    rec["闲置原因"] = cause_text
    rec["area_m2"] = area
    _add_units(rec, "area_m2")
    rec["status"] = status
    rec["status_name"] = [IDLE_STATUS[x] for x in status]
    rec["cannot_judge_reason"] = why_not
    rec["idle_type"] = [IDLE_TYPES.get(x) for x in status]
    rec["idle_since"] = _dt64(since).to_numpy()
    rec["idle_days"] = idle_days
    rec["idle_years"] = idle_days / 365.25
    rec["overdue_years"] = np.where(overdue >= 0, overdue, np.nan)
    rec["develop_ratio"] = dev_ratio
    rec["invest_ratio"] = inv_ratio
    rec["cause"] = np.where(idle, cause, None)
    rec["idle_fee_wan"] = fee
    rec["recover_candidate"] = recover
    rec["supply_year"] = pd.array([d.year if d else None for d in gd], dtype="Int64")
    feats = rec[idle].copy()
    loc = locate(_geoms(feats), county, cfg, sliver)
    for c in ("township", "township_name", "village", "village_name"):
        feats[c] = loc[c].to_numpy()
    for c in PLAN_COLUMNS:
        feats[c] = None
    summ = _idle_summary(feats, D, [], notes)
    summ["cannot_judge_count"] = int((status == "cannot_judge").sum())
    summ["disposed_count"] = int((status == "disposed").sum())
    return IdleResult(feats, rec, summ, findings, D)


def _idle_summary(feats, D, missing, notes) -> dict:
    if feats is None:
        out = {"as_of": D.isoformat(), "available": False, "idle_mu": None, "count": None,
               "not_started_count": None, "stalled_count": None, "enterprise_count": None,
               "government_count": None, "idle_fee_wan": None, "recover_candidate_count": None,
               "recover_candidate_mu": None, "by_township": []}
    else:
        f = feats
        by_t = []
        for code, grp in f.groupby(f["township"].fillna(UNKNOWN_TOWN), sort=True):
            by_t.append({"code": code, "name": _town_name(code, _first(grp["township_name"])),
                         "idle_mu": _mu(grp["area_m2"]),
                         "count": int(len(grp))})
        out = {"as_of": D.isoformat(), "available": True, "idle_mu": _mu(f["area_m2"]), "count": int(len(f)),
               "not_started_count": int((f["status"] == "idle_not_started").sum()),
               "stalled_count": int((f["status"] == "idle_stalled").sum()),
               "enterprise_count": int((f["cause"] == "企业").sum()),
               "government_count": int((f["cause"] == "政府").sum()),
               "idle_fee_wan": float(np.nansum(f["idle_fee_wan"].to_numpy(dtype="float64"))),
               "recover_candidate_count": int(f["recover_candidate"].sum()),
               "recover_candidate_mu": _mu(f.loc[f["recover_candidate"], "area_m2"]),
               "by_township": by_t}
    if missing:
        out["missing"] = list(missing)
    if notes:
        out["notes"] = list(notes)
    return out


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
    cfg = _cfg(county, config)
    s = settings(cfg)
    D, notes = resolve_as_of(county, as_of)
    findings: list[Finding] = []
    p = county.parcels
    if p is None:
        notes.append("没有宗地图层，未做城镇低效用地筛查")
        return InefficientResult(_empty_gdf(county), _empty_gdf(county),
                                 _simple_summary(None, ["parcels"], notes, "inefficient"), findings)
    n = len(p)
    ids = row_ids(p, "parcels")
    area = p["lk_area_m2"].to_numpy(dtype="float64")
    far = _num(p, "容积率")
    tax = _num(p, "亩均税收")
    ind = _text(p, "行业")
    has_tax = np.isfinite(tax)
    w = area if s["tax_average"] == "weighted" else np.ones(n)

    def avg(mask):
        m = mask & has_tax
        return float(np.sum(tax[m] * w[m]) / np.sum(w[m])) if m.any() and np.sum(w[m]) > 0 else np.nan

    county_avg = avg(np.ones(n, dtype=bool))
    ind_avg = {k: avg(ind == k) for k in set(x for x in ind if x is not None)}
    ref = np.array([ind_avg.get(k, county_avg) if k is not None else county_avg for k in ind], dtype="float64")
    low_far = np.isfinite(far) & (far < s["far_min"])
    low_tax = has_tax & np.isfinite(ref) & (tax < s["tax_share"] * ref)
    reasons = []
    for i in range(n):
        r = []
        if low_far[i]:
            r.append(f"容积率 {far[i]:g} 低于 {s['far_min']:g}")
        if low_tax[i]:
            scope = f"{ind[i]}行业" if ind[i] is not None else "全县"
            r.append(f"亩均税收 {tax[i]:g} 低于{scope}平均值 {ref[i]:.4g} 的 {s['tax_share']:.0%}")
        reasons.append("；".join(r))
    above = np.zeros(n, dtype=bool)
    if s["exempt_above_scale"] and "是否规上" in p.columns:
        vals = {str(v).strip().upper() for v in s["above_scale_values"]}
        above = np.array([t is not None and t.upper() in vals for t in _text(p, "是否规上")], dtype=bool)
    new = np.zeros(n, dtype=bool)
    prod_year = np.full(n, None, dtype=object)
    if s["exempt_new_years"] > 0 and "投产年份" in p.columns:
        raw = p["投产年份"].tolist()
        prod_year = np.array([_year_of(v) for v in raw], dtype=object)
        badv = [i for i, (v, y) in enumerate(zip(raw, prod_year))
                if y is None and v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v).strip()]
        if badv:
            findings.append(Finding("warning", "year_unparseable",
                                    f"宗地字段 投产年份 有 {len(badv)} 个值无法识别为年份："
                                    + "、".join(f"{ids[i]}（“{raw[i]}”）" for i in badv[:10]),
                                    "parcels", _file(county, "parcels"), "投产年份", [ids[i] for i in badv], len(badv)))
        new = np.array([y is not None and D.year - y < s["exempt_new_years"] for y in prod_year], dtype=bool)
    ex = []
    for i in range(n):
        r = []
        if above[i]:
            r.append("规上企业")
        if new[i]:
            r.append(f"投产不满{s['exempt_new_years']}年（{prod_year[i]}年投产）")
        ex.append("；".join(r))
    hit = low_far | low_tax
    exempt = hit & (above | new)
    ineff = hit & ~exempt
    rec = gpd.GeoDataFrame({"id": ids, "lk_fid": p["lk_fid"].to_numpy() if "lk_fid" in p.columns else np.arange(n)},
                           geometry=_geoms(p), crs=p.crs, index=p.index)
    for col in ("宗地代码", "权利人", "用途", "行业", "是否规上", "联系电话"):
        rec[col] = _text(p, col)
    rec["容积率"] = far
    rec["亩均税收"] = tax
    rec["投产年份"] = pd.array(list(prod_year), dtype="Int64")
    rec["tax_average"] = ref
    rec["area_m2"] = area
    _add_units(rec, "area_m2")
    rec["low_far"] = low_far
    rec["low_tax"] = low_tax
    rec["reasons"] = reasons
    rec["exempt"] = exempt
    rec["exempt_reasons"] = ex
    rec["inefficient"] = ineff
    feats = rec[ineff].copy()
    loc = locate(_geoms(feats), county, cfg, cfg.sliver_m2)
    for c in ("township", "township_name", "village", "village_name"):
        feats[c] = loc[c].to_numpy()
    for c in PLAN_COLUMNS:
        feats[c] = None
    summ = _simple_summary(feats, [], notes, "inefficient")
    summ.update({"screened_count": int(n), "low_far_count": int((low_far & ineff).sum()),
                 "low_tax_count": int((low_tax & ineff).sum()), "exempt_count": int(exempt.sum()),
                 "county_tax_average": None if np.isnan(county_avg) else county_avg})
    return InefficientResult(feats, rec, summ, findings)


def _simple_summary(feats, missing, notes, key) -> dict:
    if feats is None:
        out = {"available": False, f"{key}_mu": None, "count": None, "by_township": []}
    else:
        by_t = []
        for code, grp in feats.groupby(feats["township"].fillna(UNKNOWN_TOWN), sort=True):
            by_t.append({"code": code, "name": _town_name(code, _first(grp["township_name"])),
                         f"{key}_mu": _mu(grp["area_m2"]),
                         "count": int(len(grp))})
        out = {"available": True, f"{key}_mu": _mu(feats["area_m2"]), "count": int(len(feats)), "by_township": by_t}
    if missing:
        out["missing"] = list(missing)
    if notes:
        out["notes"] = list(notes)
    return out


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
    k = _num(d, "KCXS")
    k = np.where(np.isfinite(k) & (k >= 0) & (k < 1), k, 0.0)
    computed = comp * (1.0 - k)
    if "TBDLMJ" not in d.columns:
        return computed
    decl = _num(d, "TBDLMJ")
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
    tbmj = _num(d, "TBMJ")
    if code == "tbdlmj_mismatch":
        diff = np.abs(tbmj - _num(d, "KCMJ") - _num(d, "TBDLMJ"))
        return np.isfinite(diff) & (diff > 0.015)
    rel = float(county.config.get("area", "tbmj_rel_tolerance", 0.001))
    absm = float(county.config.get("area", "tbmj_abs_tolerance_m2", 1.0))
    area = d["lk_area_m2"].to_numpy(dtype="float64")
    dd = tbmj - area
    return np.isfinite(dd) & (np.abs(dd) > absm) & (np.abs(dd) > rel * area)


def collective_commercial(county, config=None) -> CollectiveResult:
    """农村集体经营性建设用地: DLTB features owned collectively (QSXZ 3x/4x) with DLBM in
    ``[inventory] collective_dlbm`` (default 05H1, 0508, 0601, 0602), with township and
    village (ZLDWDM[:9], [:12]) and their names where the townships layer (or ZLDWMC)
    gives them. Area: declared TBDLMJ where it passed QA, else computed × (1 − KCXS)."""
    cfg = _cfg(county, config)
    s = settings(cfg)
    d = county.dltb
    if d is None:
        return CollectiveResult(_empty_gdf(county),
                                _simple_summary(None, ["dltb"], ["没有地类图斑图层，无法统计农村集体经营性建设用地"],
                                                "collective_commercial"))
    area_all = dltb_feature_area(county)
    q = _text(d, "QSXZ")
    own = np.array([ownership(x) if x else None for x in q], dtype=object)
    m = (own == "集体") & d["DLBM"].isin(s["collective_dlbm"]).to_numpy()
    sub = d[m]
    zl = _text(sub, "ZLDWDM")
    town = np.array([z[:9] if is_valid_unit_code(z) else None for z in zl], dtype=object)
    vill = np.array([z[:12] if is_valid_unit_code(z) else None for z in zl], dtype=object)
    tnames, vnames = _township_names(county)
    zm = _text(sub, "ZLDWMC")
    out = gpd.GeoDataFrame({"id": row_ids(sub, "dltb"),
                            "lk_fid": sub["lk_fid"].to_numpy() if "lk_fid" in sub.columns else np.flatnonzero(m)},
                           geometry=_geoms(sub), crs=d.crs, index=sub.index)
    for col in ("BSM", "DLBM", "DLMC", "QSXZ", "QSDWDM", "QSDWMC", "ZLDWDM", "ZLDWMC", "TBMJ", "TBDLMJ"):
        if col in sub.columns:
            out[col] = sub[col].to_numpy()
    out["ownership"] = "集体"
    out["area_m2"] = area_all[m]
    _add_units(out, "area_m2")
    out["township"] = town
    out["township_name"] = [tnames.get(t) if t else None for t in town]
    out["village"] = vill
    out["village_name"] = [vnames.get(v) or n if v else None for v, n in zip(vill, zm)]
    # towns without a valid ZLDWDM: the townships layer
    miss = np.array([t is None for t in town], dtype=bool)
    if miss.any():
        loc = locate(_geoms(out)[miss], _NoDltb(county), cfg, cfg.sliver_m2)
        out.loc[out.index[miss], "township"] = loc["township"].to_numpy()
        out.loc[out.index[miss], "township_name"] = loc["township_name"].to_numpy()
    for c in PLAN_COLUMNS:
        out[c] = None
    summ = _simple_summary(out, [], [], "collective_commercial")
    summ["dlbm"] = list(s["collective_dlbm"])
    return CollectiveResult(out, summ, [])


class _NoDltb:
    """A county view without DLTB (locate by the townships layer only)."""

    def __init__(self, county):
        self._c = county

    dltb = None

    def __getattr__(self, name):
        return getattr(self._c, name)


# --------------------------------------------------------------------------------------
# the inventory
# --------------------------------------------------------------------------------------


@dataclass
class InventoryResult:
    """存量建设用地大盘点: the four categories' per-row GeoDataFrames (geometry = the land;
    None where the county lacks the layers), their sub-results, the findings and the summary."""

    summary: dict
    approved_unsupplied: gpd.GeoDataFrame | None
    idle: gpd.GeoDataFrame | None
    inefficient: gpd.GeoDataFrame | None
    collective_commercial: gpd.GeoDataFrame | None
    results: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """{Chinese layer name: GeoDataFrame} of the categories present (for gpkg/maps)."""
        names = {"approved_unsupplied": "批而未供", "idle": "闲置土地", "inefficient": "城镇低效用地",
                 "collective_commercial": "农村集体经营性建设用地"}
        return {cn: getattr(self, k) for k, cn in names.items() if getattr(self, k) is not None}

    def _repr_html_(self) -> str:
        s = self.summary

        def f(x):
            return "—" if x is None else f"{x:.2f}"
        return (f"<b>存量建设用地</b>（{s['as_of']}）：批而未供 {f(s['approved_unsupplied_mu'])} 亩，"
                f"闲置 {f(s['idle_mu'])} 亩，低效 {f(s['inefficient_mu'])} 亩，"
                f"集体经营性 {f(s['collective_commercial_mu'])} 亩；合计（去重）{f(s['total_mu'])} 亩"
                + pd.DataFrame(s["by_township"]).to_html(index=False))


CATEGORIES = ("approved_unsupplied", "idle", "inefficient", "collective_commercial")


def inventory(county, as_of=None, config=None) -> InventoryResult:
    """批而未供, 闲置土地, 城镇低效用地 and 农村集体经营性建设用地 of a county at D, in one result.

    Summary keys: as_of, {category}_mu and {category}_count for approved_unsupplied, idle,
    inefficient, collective_commercial (None where the layers are missing, listed in
    ``missing`` with Chinese ``notes``), total_mu (the union of all category geometries,
    ellipsoidal: land in several categories counted once), by_township [{code, name,
    approved_unsupplied_mu, idle_mu, inefficient_mu, collective_commercial_mu, total_mu}]
    (a row belongs to the township holding most of its land), by_cohort [{cohort,
    approved_unsupplied_mu, count}].
    """
    cfg = _cfg(county, config)
    s = settings(cfg)
    D, notes = resolve_as_of(county, as_of)
    au = approved_unsupplied(county, D, cfg)
    il = idle_land(county, D, cfg)
    ie = inefficient_land(county, cfg, as_of=D)
    cc = collective_commercial(county, cfg)
    res = {"approved_unsupplied": au, "idle": il, "inefficient": ie, "collective_commercial": cc}
    avail = {k: r.summary["available"] for k, r in res.items()}
    missing = []
    for r in res.values():
        for m in r.summary.get("missing", []):
            if m not in missing:
                missing.append(m)
        for x in r.summary.get("notes", []):
            if x not in notes:
                notes.append(x)
    frames = {k: (res[k].features if avail[k] else None) for k in CATEGORIES}
    area_col = {"approved_unsupplied": "unsupplied_m2", "idle": "area_m2", "inefficient": "area_m2",
                "collective_commercial": "area_m2"}

    def cat_mu(k, sub=None):
        if not avail[k]:
            return None
        f = frames[k] if sub is None else sub
        return _mu(f[area_col[k]]) if len(f) else 0.0

    geoms_all = [np.asarray(frames[k].geometry.values, dtype=object) for k in CATEGORIES if frames[k] is not None]
    total = _union_mu(np.concatenate(geoms_all) if geoms_all else np.empty(0, dtype=object), county.crs)
    towns: dict[str, dict] = {}
    for k in CATEGORIES:
        f = frames[k]
        if f is None:
            continue
        for code, grp in f.groupby(f["township"].fillna(UNKNOWN_TOWN), sort=True):
            t = towns.setdefault(code, {"name": None, "parts": {}, "geoms": []})
            t["name"] = t["name"] or _first(grp["township_name"])
            t["parts"][k] = grp
            t["geoms"].append(np.asarray(grp.geometry.values, dtype=object))
    by_t = []
    for code in sorted(towns, key=lambda c: (c == UNKNOWN_TOWN, c)):
        t = towns[code]
        row = {"code": code, "name": _town_name(code, t["name"])}
        for k in CATEGORIES:
            row[f"{k}_mu"] = (cat_mu(k, t["parts"][k]) if k in t["parts"] else 0.0) if avail[k] else None
        row["total_mu"] = _union_mu(np.concatenate(t["geoms"]), county.crs)
        by_t.append(row)
    by_c = []
    if avail["approved_unsupplied"]:
        by_c = [{"cohort": c["cohort"], "approved_unsupplied_mu": c["unsupplied_mu"], "count": c["count"]}
                for c in au.summary["by_cohort"]]
    summary = {"as_of": D.isoformat()}
    for k in CATEGORIES:
        summary[f"{k}_mu"] = cat_mu(k)
        summary[f"{k}_count"] = int(len(frames[k])) if avail[k] else None
    summary.update({"total_mu": total, "by_township": by_t, "by_cohort": by_c})
    if missing:
        summary["missing"] = missing
    if notes:
        summary["notes"] = notes
    findings = []
    for f in au.findings + il.findings + ie.findings + cc.findings:
        if f not in findings:           # 供地日期 findings come from two analyses
            findings.append(f)
    return InventoryResult(summary, frames["approved_unsupplied"], frames["idle"], frames["inefficient"],
                           frames["collective_commercial"], res, findings)


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
    return total + float(ellipsoidal_area(_polygonal(unions), crs=crs).sum())


def _union_mu(geoms: np.ndarray, crs) -> float:
    return float(m2_to_mu(union_area_m2(geoms, crs)))

"""Data-quality checks run when a county is read (docs/rules.md R4–R6 and the layer rules).

Each check takes a standardised layer and returns a list of :class:`landkit.findings.Finding`.
"""
from __future__ import annotations

import numpy as np

from .findings import LEVEL_NAMES, MAX_LISTED, Finding, QAReport  # noqa: F401  (re-exported)
from .io.fields import feature_ids
from .standards.vocabulary import classify_judgements



def check_dltb(gdf, area_m2: np.ndarray, config, *, adcode: str | None = None, file=None,
               role: str = "dltb") -> list[Finding]:
    """QA of 地类图斑 (docs/rules.md R4–R6): codes, 田坎, areas, ids. ``role`` names the vintage
    checked (``dltb``, or ``dltb_previous`` for the previous 年度变更调查)."""
    from .standards.codes import CULTIVATED, DLBM_TABLE, QSXZ_NAMES, is_valid_unit_code
    out: list[Finding] = []
    f = str(file) if file else None

    dlbm = gdf["DLBM"]
    unknown = ~dlbm.isin(list(DLBM_TABLE))
    if unknown.any():
        vals = sorted({str(v) for v in dlbm[unknown]})
        out.append(Finding("warning", "dlbm_unknown",
                           f"{int(unknown.sum())} 个图斑的地类编码不在三调工作分类中：{'、'.join(vals[:20])}",
                           role, f, "DLBM", feature_ids(gdf, unknown, role), int(unknown.sum())))
    if "QSXZ" in gdf.columns:
        q = gdf["QSXZ"]
        bad = q.notna() & ~q.isin(list(QSXZ_NAMES))
        missing = q.isna()
        if bad.any():
            vals = sorted({str(v) for v in q[bad]})
            out.append(Finding("warning", "qsxz_invalid", f"{int(bad.sum())} 个图斑的权属性质代码无效：{'、'.join(vals[:20])}",
                               role, f, "QSXZ", feature_ids(gdf, bad, role), int(bad.sum())))
        if missing.any():
            out.append(Finding("warning", "qsxz_missing", f"{int(missing.sum())} 个图斑缺少权属性质",
                               role, f, "QSXZ", feature_ids(gdf, missing, role), int(missing.sum())))
    z = gdf["ZLDWDM"]
    badz = ~z.map(is_valid_unit_code).astype(bool)
    if badz.any():
        out.append(Finding("warning", "zldwdm_invalid", f"{int(badz.sum())} 个图斑的坐落单位代码不是19位数字",
                           role, f, "ZLDWDM", feature_ids(gdf, badz, role), int(badz.sum())))
    if adcode:
        other = ~badz & (z.str[:6] != str(adcode))
        if other.any():
            out.append(Finding("warning", "zldwdm_other_county",
                               f"{int(other.sum())} 个图斑的坐落单位代码不属于本县（{adcode}）",
                               role, f, "ZLDWDM", feature_ids(gdf, other, role), int(other.sum())))

    is_gd = dlbm.isin(list(CULTIVATED))
    if "KCXS" in gdf.columns:
        k = gdf["KCXS"]
        out_range = k.notna() & ((k < 0) | (k >= 1))
        if out_range.any():
            out.append(Finding("warning", "kcxs_range",
                               f"{int(out_range.sum())} 个图斑的扣除地类系数不在 [0, 1) 内，计算净面积时按 0 处理",
                               role, f, "KCXS", feature_ids(gdf, out_range, role), int(out_range.sum())))
        nongd = k.notna() & (k > 0) & ~is_gd
        if nongd.any():
            out.append(Finding("warning", "kcxs_not_cultivated",
                               f"{int(nongd.sum())} 个非耕地图斑有扣除地类系数（田坎系数只用于耕地）",
                               role, f, "KCXS", feature_ids(gdf, nongd, role), int(nongd.sum())))
        if "KCDLBM" in gdf.columns:
            kc = gdf["KCDLBM"]
            badk = k.notna() & (k > 0) & is_gd & (kc != "1203")
            if badk.any():
                out.append(Finding("warning", "kcdlbm_invalid",
                                   f"{int(badk.sum())} 个耕地图斑有扣除系数但扣除地类编码不是 1203（田坎）",
                                   role, f, "KCDLBM", feature_ids(gdf, badk, role), int(badk.sum())))
    else:
        out.append(Finding("warning", "kcxs_missing", "地类图斑没有扣除地类系数 KCXS，田坎按 0 计",
                           role, f, "KCXS"))

    tbmj = gdf["TBMJ"] if "TBMJ" in gdf.columns else None
    if tbmj is not None:
        if {"KCMJ", "TBDLMJ"} <= set(gdf.columns):
            diff = (tbmj - gdf["KCMJ"] - gdf["TBDLMJ"]).abs()
            bad = diff > 0.015
            if bad.any():
                out.append(Finding("warning", "tbdlmj_mismatch",
                                   f"{int(bad.sum())} 个图斑的 TBDLMJ ≠ TBMJ − KCMJ",
                                   role, f, "TBDLMJ", feature_ids(gdf, bad, role), int(bad.sum())))
        rel = config.area.tbmj_rel_tolerance
        absm = config.area.tbmj_abs_tolerance_m2
        bad = area_off(tbmj.to_numpy(dtype="float64"), area_m2, absm, rel)
        if bad.any():
            out.append(Finding("warning", "tbmj_mismatch",
                               f"{int(bad.sum())} 个图斑的图斑面积 TBMJ 与计算的椭球面积相差超过 {rel:.1%} 且超过 {absm:g} m²",
                               role, f, "TBMJ", feature_ids(gdf, bad, role), int(bad.sum())))
        miss = tbmj.isna()
        if miss.any():
            out.append(Finding("warning", "tbmj_missing", f"{int(miss.sum())} 个图斑缺少图斑面积 TBMJ，以计算的椭球面积代替",
                               role, f, "TBMJ", feature_ids(gdf, miss, role), int(miss.sum())))
    else:
        out.append(Finding("info", "tbmj_absent", "地类图斑没有 TBMJ 字段，使用计算的椭球面积", role, f, "TBMJ"))
    out += check_duplicate_ids(gdf, "BSM", role, f)
    return out


def area_off(declared, reference, abs_tol_m2: float, rel_tol: float = 0.0) -> np.ndarray:
    """Where a declared area (m²) differs from a reference area by more than ``abs_tol_m2`` and
    more than ``rel_tol`` × the reference. Differences are compared at 1e-6 m², so the binary
    noise of 2-decimal values (100.01 − 100.00) does not count; a missing value is never off."""
    d = np.round(np.asarray(declared, dtype="float64") - np.asarray(reference, dtype="float64"), 6)
    with np.errstate(invalid="ignore"):
        return np.isfinite(d) & (np.abs(d) > abs_tol_m2) & (np.abs(d) > rel_tol * np.asarray(reference))


def check_tbmj_adjusted(gdf, adjusted_m2, tolerance_m2: float, file=None) -> list[Finding]:
    """Declared 图斑面积 TBMJ against the 控制面积平差 areas (``landkit adjust``;
    ``[adjust] tbmj_tolerance_m2``): one warning listing the 图斑 that differ by more than the
    tolerance, with the largest difference; an info finding when the layer has no TBMJ."""
    role = "dltb"
    f = str(file) if file else None
    if "TBMJ" not in gdf.columns:
        return [Finding("info", "tbmj_absent", "地类图斑没有 TBMJ 字段，无法核对申报面积与平差后面积", role, f, "TBMJ")]
    declared = gdf["TBMJ"].to_numpy(dtype="float64")
    adjusted = np.asarray(adjusted_m2, dtype="float64")
    bad = area_off(declared, adjusted, tolerance_m2)
    if not bad.any():
        return []
    worst = float(np.max(np.abs(declared[bad] - adjusted[bad])))
    return [Finding("warning", "tbmj_adjusted_mismatch",
                    f"{int(bad.sum())} 个图斑的图斑面积 TBMJ 与控制面积平差后的面积相差超过 {tolerance_m2:g} m²"
                    f"（最大相差 {worst:,.2f} m²）", role, f, "TBMJ", feature_ids(gdf, bad, role), int(bad.sum()))]


def check_duplicate_ids(gdf, idf: str, role: str, file=None) -> list[Finding]:
    if idf not in gdf.columns:
        return []
    v = gdf[idf]
    dup = v.notna() & v.duplicated(keep=False)
    if not dup.any():
        return []
    vals = sorted({str(x) for x in v[dup]})
    return [Finding("warning", "duplicate_id", f"{idf} 有 {len(vals)} 个重复值（涉及 {int(dup.sum())} 个要素）",
                    role, file, idf, vals, int(dup.sum()))]


def check_self_overlap(gdf, role: str, sliver_m2: float, file=None, label=None,
                       pairs=None) -> list[Finding]:
    """Features of one layer that overlap each other by more than ``sliver_m2`` (planar m²).

    ``pairs`` are the layer's overlapping pairs if already computed
    (:func:`landkit.overlay.overlapping_pairs`).
    """
    from .overlay.engine import overlapping_pairs, pair_areas_planar
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    a, b = pairs if pairs is not None else overlapping_pairs(geoms)
    if len(a) == 0:
        return []
    inter = pair_areas_planar(geoms, a, b)
    big = inter > sliver_m2
    if not big.any():
        return []
    from .io.fields import ID_FIELDS
    idf = ID_FIELDS.get(role)
    labels = feature_ids(gdf, np.ones(len(gdf), bool), role)
    pairs_txt = [f"{labels[i]}×{labels[j]}" for i, j in zip(a[big], b[big])]
    return [Finding("warning", "self_overlap",
                    f"{label or role}有 {int(big.sum())} 对要素相互重叠（合计约 {inter[big].sum():.1f} m²），"
                    f"叠加分析时重叠部分只计一次", role, file, idf, pairs_txt, int(big.sum()))]


def check_dates(gdf, role: str, file=None) -> list[Finding]:
    """Date fields whose non-empty values cannot be read as dates (any form bureaus use)."""
    from .dates import parse_dates
    from .io.fields import SCHEMAS
    out = []
    for spec in SCHEMAS.get(role, []):
        if spec.kind != "date" or spec.name not in gdf.columns:
            continue
        _, bad = parse_dates(gdf[spec.name].tolist())
        if bad.any():
            vals = sorted({str(v) for v in gdf.loc[bad, spec.name]})[:10]
            out.append(Finding("warning", "date_unparseable",
                               f"字段 {spec.name} 有 {int(bad.sum())} 个值不是可识别的日期（如 {'、'.join(vals)}），按空值处理",
                               role, file, spec.name, feature_ids(gdf, bad, role), int(bad.sum())))
    return out


def check_judgements(gdf, config, file=None) -> list[Finding]:
    """卫片 judgement values that map to no class make the 卫片 ratio impossible: an error."""
    from .errors import InputError
    try:
        classify_judgements(gdf["判定类型"], config.satellite.judgement)
    except InputError as e:
        rows = getattr(e, "rows", None)
        ids = feature_ids(gdf, gdf.index.isin(rows), "patches") if rows is not None and "lk_fid" in gdf.columns else []
        return [Finding("error", "judgement_unknown", e.message, "patches", file, "判定类型", ids)]
    return []

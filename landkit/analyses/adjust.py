"""控制面积平差: DLTB 图斑面积 adjusted within each control unit so that they sum to the unit's
控制面积 exactly, to the cent (0.01 m²) (docs/rules.md R1a; settings ``[adjust]``).

* **Control units** (:func:`control_units`): the features of the townships layer (XZQ, or a
  村级调查区 layer given as the townships role), grouped by XZQDM[:9] (``[adjust] level =
  "township"``) or XZQDM[:12] (``"village"``). A unit's 控制面积 is the sum over its features of
  the control field (the first of ``[adjust] control_fields`` the layer has, in
  ``[adjust] control_unit``), or, where a feature has no valid value, of its computed CGCS2000
  ellipsoidal area (``lk_area_m2``, the 32号 method).
* **Which unit a 图斑 is in** (:func:`feature_units`): its 坐落单位代码 ZLDWDM[:9] / [:12]; where
  ZLDWDM is missing or invalid, the unit of the layer holding the largest part of it — the
  township rule of every analysis (docs/rules.md R6a, ``[township] source``).
* **Distribution** (:func:`distribute_cents`): each 图斑's computed ellipsoidal area a_i gets its
  share of the unit's difference, t_i = a_i × C / Σa (so the difference C − Σa goes out in
  proportion to area); t_i in cents is cut to its integer part and the cents still missing go,
  one each, to the 图斑 with the largest remainders (largest-remainder / Hamilton rounding). The
  unit's sum then equals C exactly, and each 图斑 is within one cent of its exact share.
  Integer cents, numpy, no per-feature loop.
* **田坎** (:func:`tiankan_cents`): KCMJ = round(TBMJ × KCXS, 2) (half up, exact integer
  arithmetic on KCXS to 6 decimals), TBDLMJ = TBMJ − KCMJ, so the three agree to the cent.

Everything here is pure: a County (or GeoDataFrames) and settings in, frames and a summary out.
All areas are m² unless a name ends ``_mu`` (亩 = m² × 3/2000).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from ..findings import Finding
from ..io.fields import ROLE_NAMES, is_blank as _blank
from ..settings import AdjustSettings, settings_for
from ..standards.codes import is_township_code
from ..standards.units import m2_to_mu
from .location import piece_townships

#: m² per unit of the control field (``[adjust] control_unit``)
CONTROL_FACTORS = {"m2": 1.0, "ha": 10000.0, "mu": 2000.0 / 3.0}
CONTROL_UNIT_NAMES = {"m2": "平方米", "ha": "公顷", "mu": "亩"}
LEVEL_NAMES = {"township": "乡镇", "village": "村级"}
AREA_COL = "lk_area_m2"
KCXS_SCALE = 1_000_000          # KCXS is taken to 6 decimals (the standard stores 4)
_REM_STEPS = 1 << 40            # remainders are ranked to 2⁻⁴⁰ cent

#: feature status values (平差状态)
ADJUSTED = "已平差"


# --------------------------------------------------------------------------------------
# integer-cent arithmetic
# --------------------------------------------------------------------------------------


def to_cents(m2) -> np.ndarray:
    """m² → integer cents of m² (0.01 m²), rounded half up (areas are ≥ 0). NaN is not allowed."""
    a = np.asarray(m2, dtype="float64")
    # the shortest decimal of a 2-decimal value times 100 can land a hair under .5: nudge by 1e-7 cents
    return np.floor(a * 100.0 + 0.5 + 1e-7).astype(np.int64)


def distribute_cents(base_m2, unit, control_cents) -> np.ndarray:
    """Adjusted areas in integer cents (0.01 m²) of features in units with control areas.

    ``base_m2``: each feature's area before 平差 (m², ≥ 0); ``unit``: its unit index into
    ``control_cents``, or −1 for a feature not adjusted (it gets ``base_m2`` rounded half up to
    the cent); ``control_cents``: each unit's 控制面积 in cents. A unit whose features sum to 0
    cannot share anything: its features must be given −1 by the caller.

    Each feature of unit u gets t_i = base_i × C_u / Σ base (cents), cut to its integer part;
    the k_u = C_u − Σ floor(t) cents left go one each to the features with the largest
    fractional parts (ties: the earlier feature). Σ over the unit = C_u exactly.
    """
    base = np.asarray(base_m2, dtype="float64")
    u = np.asarray(unit, dtype=np.int64)
    c = np.asarray(control_cents, dtype=np.int64)
    out = np.zeros(len(base), dtype=np.int64)
    free = u < 0
    out[free] = to_cents(base[free])
    idx = np.flatnonzero(~free)
    if not len(idx):
        return out
    uu = u[idx]
    m = len(c)
    s = np.bincount(uu, weights=base[idx], minlength=m)
    if np.any(s[uu] <= 0):
        raise ValueError("a unit whose areas sum to 0 cannot be adjusted")
    t = base[idx] * (c[uu] / s[uu])                 # exact shares, in cents
    fl = np.floor(t)
    rem = t - fl
    fl = fl.astype(np.int64)
    n_u = np.bincount(uu, minlength=m)
    k = c - np.bincount(uu, weights=fl, minlength=m).astype(np.int64)   # sums of integers < 2⁵³: exact
    # rank the features of each unit by remainder, largest first (ties: earlier feature): one
    # stable sort of an integer key, unit first, then the remainder to 2⁻⁴⁰ cent (finer than the
    # float shares themselves resolve)
    q = np.minimum(np.floor(rem * _REM_STEPS).astype(np.int64), _REM_STEPS - 1)
    order = np.argsort(uu * (2 * _REM_STEPS) + (_REM_STEPS - 1 - q), kind="stable")
    us = uu[order]
    start = np.concatenate([[0], np.cumsum(n_u)[:-1]])
    pos = np.arange(len(order)) - start[us]
    # k is 0 ≤ k < n in exact arithmetic; floor division keeps the sum exact if rounding ever
    # pushed it outside (everyone gets q more, then the top r one more)
    q = np.floor_divide(k, np.maximum(n_u, 1))
    r = k - q * n_u
    fl[order] += q[us] + (pos < r[us])
    out[idx] = fl
    return out


def kcxs_micro(kcxs) -> np.ndarray:
    """KCXS as integer millionths; values that are missing or outside [0, 1) count as 0 (as the
    overlay engine and QA treat them)."""
    k = np.asarray(pd.to_numeric(pd.Series(kcxs), errors="coerce"), dtype="float64")
    ok = np.isfinite(k) & (k >= 0) & (k < 1)
    return np.where(ok, np.rint(np.where(ok, k, 0.0) * KCXS_SCALE), 0).astype(np.int64)


def tiankan_cents(tbmj_cents, kcxs) -> tuple[np.ndarray, np.ndarray]:
    """(KCMJ, TBDLMJ) in cents: KCMJ = round(TBMJ × KCXS, 2) half up, TBDLMJ = TBMJ − KCMJ."""
    t = np.asarray(tbmj_cents, dtype=np.int64)
    kx = kcxs_micro(kcxs)
    kc = (t * kx + KCXS_SCALE // 2) // KCXS_SCALE
    return kc, t - kc


# --------------------------------------------------------------------------------------
# control units
# --------------------------------------------------------------------------------------


def unit_key(code, level: str) -> str | None:
    """The control unit a code names at ``level``: its 9-digit township prefix, or its 12-digit
    village prefix (whose village part is not 000); None when the code does not name one."""
    if not isinstance(code, str):
        return None
    code = code.strip()
    if not is_township_code(code[:9]):
        return None
    if level == "township":
        return code[:9]
    if len(code) >= 12 and code[9:12].isdigit() and code[9:12] != "000":
        return code[:12]
    return None


def _find_field(columns, names) -> str | None:
    by_upper = {str(c).strip().upper(): c for c in columns}
    for n in names:
        c = by_upper.get(str(n).strip().upper())
        if c is not None:
            return c
    return None



def control_units(townships: gpd.GeoDataFrame | None, settings: AdjustSettings, *, file=None
                  ) -> tuple[pd.DataFrame, list[Finding]]:
    """The control units of a townships (or 村级调查区) layer and their 控制面积.

    Returns one row per unit, ordered by code: ``code``, ``name``, ``control_cents`` (int),
    ``control_m2``, ``source`` (where the 控制面积 came from, Chinese), ``parts`` (layer features),
    ``note``; and findings about features that name no unit or carry an unusable control value.
    InputError (Chinese) when the layer is missing or names no unit at ``[adjust] level``.
    """
    level = settings.level
    lname = ROLE_NAMES["townships"]
    if townships is None or not len(townships):
        raise InputError(
            f"没有控制单元：控制面积平差需要{lname}图层（XZQ，或村级调查区 CJDCQ，字段 XZQDM），"
            "文件名或图层名应含 XZQ、乡镇或行政区，或在 landkit.toml 的 [layers] 中写明 townships = \"文件名\"",
            file=file)
    if "XZQDM" not in townships.columns:
        raise InputError(f"没有控制单元：{lname}图层没有行政区代码字段 XZQDM", file=file, layer="townships",
                         field="XZQDM")
    findings: list[Finding] = []
    codes = [None if _blank(c) else str(c).strip() for c in townships["XZQDM"].tolist()]
    keys = np.array([unit_key(c, level) for c in codes], dtype=object)
    has = np.array([k is not None for k in keys], dtype=bool)
    if not has.any():
        if level == "village" and any(unit_key(c, "township") for c in codes):
            msg = (f"没有控制单元：[adjust] level = \"village\"（按村级单元平差），但{lname}图层的 XZQDM 都是 9 位乡镇代码；"
                   "请把 [layers] townships 指向村级调查区（CJDCQ）图层，或改用 level = \"township\"")
        else:
            ex = "、".join(dict.fromkeys(c or "（空）" for c in codes[:5]))
            msg = (f"没有控制单元：{lname}图层中没有一个要素的 XZQDM 是有效的{LEVEL_NAMES[level]}代码（如 {ex}）；"
                   "乡镇代码为 9 位（县级代码 6 位 + 乡镇 3 位），村级代码为 12 位")
        raise InputError(msg, file=file, layer="townships", field="XZQDM")
    if not has.all():
        bad = [c or "（空）" for c, h in zip(codes, has) if not h]
        findings.append(Finding("warning", "adjust_unit_code_invalid",
                                f"{lname}图层中有 {len(bad)} 个要素的 XZQDM 不是有效的{LEVEL_NAMES[level]}代码，"
                                "不作为控制单元", "townships", file, "XZQDM", bad))

    fld = _find_field(townships.columns, settings.control_fields)
    area = townships[AREA_COL].to_numpy(dtype="float64") if AREA_COL in townships.columns else None
    if area is None:
        from ..standards.area import ellipsoidal_area
        area = ellipsoidal_area(townships.geometry)
    from_field = np.zeros(len(townships), dtype=bool)
    value = area.copy()
    bad_values: list[str] = []
    if fld is not None:
        raw = townships[fld]
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64") * CONTROL_FACTORS[settings.control_unit]
        from_field = np.isfinite(num) & (num > 0)
        value = np.where(from_field, num, area)
        for c, v, ok, h in zip(codes, raw.tolist(), from_field, has):
            if h and not ok:
                bad_values.append(f"{c}（{'空' if _blank(v) else v}）")
        if bad_values:
            findings.append(Finding("warning", "control_area_missing",
                                    f"{lname}图层中有 {len(bad_values)} 个要素的控制面积字段 {fld} 为空或不是正数，"
                                    "以其界线的椭球面积为控制面积", "townships", file, fld, bad_values))
    cents = to_cents(value)
    names = townships["XZQMC"].tolist() if "XZQMC" in townships.columns else [None] * len(townships)
    df = pd.DataFrame({"code": keys[has], "full": np.array(codes, dtype=object)[has], "name": np.array(names, dtype=object)[has],
                       "cents": cents[has], "field": from_field[has]})
    rows = []
    for key, g in df.groupby("code", sort=True):
        # the unit's own name: a feature whose code is the unit code itself (padded with zeros)
        own = [n for f, n in zip(g["full"], g["name"]) if not _blank(n) and f[len(key):].strip("0") == ""]
        n_field = int(g["field"].sum())
        if fld is None:
            source = "椭球面积（未提供控制面积字段）"
        elif n_field == len(g):
            source = f"字段 {fld}"
        elif n_field == 0:
            source = f"椭球面积（字段 {fld} 无有效值）"
        else:
            source = f"字段 {fld}（{len(g) - n_field} 个要素无有效值，取椭球面积）"
        c = int(g["cents"].sum())
        rows.append({"code": key, "name": str(own[0]).strip() if own else None, "control_cents": c,
                     "control_m2": c / 100.0, "source": source, "parts": len(g), "note": ""})
    return pd.DataFrame(rows), findings


# --------------------------------------------------------------------------------------
# which unit each 图斑 lies in
# --------------------------------------------------------------------------------------


def feature_units(county, cfg, level: str) -> tuple[np.ndarray, np.ndarray]:
    """(unit code or None, how it was found: "坐落单位代码" / "界线图层" / None) per DLTB feature.

    ZLDWDM[:9] / [:12] where ZLDWDM is a valid 19-digit code, else the townships layer by the
    largest part (the order ``[township] source`` gives; landkit.analyses.location)."""
    d = county.dltb
    n = len(d)
    zl = d["ZLDWDM"].to_numpy(dtype=object) if "ZLDWDM" in d.columns else np.full(n, None, dtype=object)
    town, vill = piece_townships(zl, np.asarray(d.geometry.values, dtype=object), county, cfg, cfg.sliver_m2)
    got = town if level == "township" else vill
    width = 9 if level == "township" else 12
    code = pd.Series(got, dtype=object).where(pd.Series(got, dtype=object).map(type) == str, None)
    # "坐落单位代码" where the unit is the feature's own valid ZLDWDM prefix, else the layer placed it
    z = pd.Series(zl, dtype=object).astype("string")
    own = (z.str.fullmatch(r"\d{19}").fillna(False) & (z.str[:width] == code.astype("string")).fillna(False)) \
        .to_numpy(dtype=bool)
    code = code.to_numpy(dtype=object)
    how = np.where(own, "坐落单位代码", "界线图层").astype(object)
    how[pd.isna(code)] = None
    return code, how


# --------------------------------------------------------------------------------------
# the adjustment
# --------------------------------------------------------------------------------------


@dataclass
class AdjustResult:
    """控制面积平差 of one county.

    ``features``: the DLTB with TBMJ / KCMJ / TBDLMJ adjusted (m², 2 decimals) and the columns
    原TBMJ / 原KCMJ / 原TBDLMJ (the declared values, where the layer had them), 计算面积 (the
    computed ellipsoidal area before 平差), 平差值 (TBMJ − 计算面积), 控制单元, 归属依据, 平差状态.
    ``units``: one row per control unit (see :data:`UNIT_COLUMNS`). ``tbmj_cents``: the adjusted
    TBMJ in integer cents (what the sums are exact in).
    """

    features: gpd.GeoDataFrame
    units: pd.DataFrame
    summary: dict
    tbmj_cents: np.ndarray
    findings: list = field(default_factory=list)


#: the per-unit table: column → Chinese header (the xlsx sheet and the gpkg table use the headers)
UNIT_COLUMNS = {
    "code": "单元代码", "name": "单元名称", "source": "控制面积来源", "features": "图斑数",
    "control_m2": "控制面积(平方米)", "before_m2": "平差前面积合计(平方米)", "difference_m2": "差值(平方米)",
    "difference_mu": "差值(亩)", "relative": "相对差值", "over_tolerance": "超限", "adjusted": "已平差",
    "after_m2": "平差后面积合计(平方米)", "declared_m2": "申报TBMJ合计(平方米)", "note": "说明",
}


def adjust_areas(county, config=None) -> AdjustResult:
    """控制面积平差 of ``county``'s DLTB within the control units of its townships layer
    (module docstring; ``[adjust]`` settings). InputError when there is no DLTB or no control unit."""
    cfg = settings_for(county, config)
    a = cfg.adjust
    d = county.dltb
    if d is None or not len(d):
        raise InputError("没有地类图斑（DLTB）图层，无法平差")
    tfile = _layer_file(county, "townships")
    units, findings = control_units(county.townships, a, file=tfile)
    n = len(d)
    code, how = feature_units(county, cfg, a.level)
    base = d[AREA_COL].to_numpy(dtype="float64")

    # units the DLTB names but the layer lacks: reported, not adjusted
    known = set(units["code"])
    extra = sorted({c for c in code if c is not None and c not in known})
    if extra:
        units = pd.concat([units, pd.DataFrame({
            "code": extra, "name": None, "control_cents": 0, "control_m2": np.nan, "source": "无（界线图层中没有此单元）",
            "parts": 0, "note": "图斑的坐落单位代码指向此单元，但控制单元图层中没有它，未平差"})], ignore_index=True)
    pos = {c: i for i, c in enumerate(units["code"])}
    uidx = np.array([pos.get(c, -1) if c is not None else -1 for c in code], dtype=np.int64)
    m = len(units)
    has_u = uidx >= 0
    n_u = np.bincount(uidx[has_u], minlength=m)
    before = np.bincount(uidx[has_u], weights=base[has_u], minlength=m)
    control = units["control_cents"].to_numpy(dtype=np.int64)
    has_control = units["control_m2"].notna().to_numpy()
    diff = np.where(has_control, control / 100.0 - before, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(has_control & (control > 0), diff / (control / 100.0), np.nan)
    limit = np.maximum(a.tolerance_m2, a.tolerance_rel * control / 100.0)
    over = has_control & (np.abs(np.nan_to_num(diff)) > limit)
    can = has_control & (n_u > 0) & (before > 0)
    adjusted_u = can & (a.adjust_over_tolerance | ~over)

    notes = units["note"].to_numpy(dtype=object).copy()
    reason_u = np.full(m, "未平差：控制单元图层中没有此单元", dtype=object)
    for i in np.flatnonzero(has_control):
        why = None
        if n_u[i] == 0:
            why = "单元内没有图斑"
        elif before[i] <= 0:
            why = "单元内图斑面积合计为 0"
        elif over[i] and not a.adjust_over_tolerance:
            why = "差值超限，按设置未平差（[adjust] adjust_over_tolerance = false）"
        elif over[i]:
            notes[i] = _join(notes[i], "差值超限，已平差，请核查界线与图斑")
        if why:
            notes[i] = _join(notes[i], why + ("" if why.startswith("差值超限") else "，未平差"))
            reason_u[i] = "未平差：" + why.split("，")[0]

    fu = np.where(has_u & adjusted_u[np.maximum(uidx, 0)], uidx, -1)
    tbmj_c = distribute_cents(base, fu, control)
    kcxs = d["KCXS"].to_numpy() if "KCXS" in d.columns else np.zeros(n)
    kc_c, dl_c = tiankan_cents(tbmj_c, kcxs)

    after = np.bincount(uidx[has_u], weights=tbmj_c[has_u], minlength=m) / 100.0
    decl = pd.to_numeric(d["TBMJ"], errors="coerce").to_numpy(dtype="float64") if "TBMJ" in d.columns else None
    declared = (np.bincount(uidx[has_u], weights=np.nan_to_num(decl[has_u]), minlength=m)
                if decl is not None else np.full(m, np.nan))

    status = np.full(n, ADJUSTED, dtype=object)
    not_adj = (fu < 0) & has_u
    status[not_adj] = reason_u[uidx[not_adj]]
    status[~has_u] = "未平差：不在任何控制单元内"

    feats = _feature_frame(d, tbmj_c, kc_c, dl_c, base, code, how, status)
    table = pd.DataFrame({
        "code": units["code"], "name": units["name"], "source": units["source"], "features": n_u,
        "control_m2": np.where(has_control, control / 100.0, np.nan), "before_m2": before,
        "difference_m2": diff, "difference_mu": m2_to_mu(diff), "relative": rel,
        "over_tolerance": over, "adjusted": adjusted_u, "after_m2": after, "declared_m2": declared,
        "note": notes,
    })
    n_free = int((~has_u).sum())
    if n_free:
        findings.append(Finding("warning", "adjust_unassigned",
                                f"{n_free} 个图斑不在任何控制单元内（坐落单位代码无效，且不在{ROLE_NAMES['townships']}图层内），未平差",
                                "dltb", _layer_file(county, "dltb"), "ZLDWDM", _ids(d, ~has_u), n_free))
    if over.any():
        findings.append(Finding("warning", "adjust_over_tolerance",
                                f"{int(over.sum())} 个控制单元的控制面积与图斑面积之和相差超过容差"
                                f"（{a.tolerance_m2:g} m² 且 {a.tolerance_rel:.4%}）"
                                + ("，已平差" if a.adjust_over_tolerance else "，未平差"),
                                "townships", tfile, None, list(units["code"][over])))
    if extra:
        findings.append(Finding("warning", "adjust_unit_missing",
                                f"{len(extra)} 个单元代码出现在图斑的坐落单位代码中，但{ROLE_NAMES['townships']}图层中没有，"
                                "这些图斑未平差", "dltb", _layer_file(county, "dltb"), "ZLDWDM", extra))
    summary = _summary(county, a, table, tbmj_c, fu, has_u, n, fields=_control_field(county, a))
    return AdjustResult(feats, table, summary, tbmj_c, findings)


def _join(a: str, b: str) -> str:
    return f"{a}；{b}" if a else b


def _layer_file(county, role) -> str | None:
    src = getattr(county, "sources", {}).get(role)
    return str(src.path) if src is not None else None


def _control_field(county, a: AdjustSettings) -> str | None:
    t = county.townships
    return _find_field(t.columns, a.control_fields) if t is not None else None


def _ids(d, mask) -> list:
    from ..io.fields import feature_ids
    return feature_ids(d, mask, "dltb")


def _feature_frame(d, tbmj_c, kc_c, dl_c, base, code, how, status) -> gpd.GeoDataFrame:
    """The adjusted DLTB: the layer's own columns (adjusted areas in place), the declared values
    kept beside them, and the 平差 columns."""
    out = d.drop(columns=[AREA_COL]) if AREA_COL in d.columns else d.copy()
    for std in ("TBMJ", "KCMJ", "TBDLMJ"):
        if std in out.columns:
            out.insert(out.columns.get_loc(std) + 1, f"原{std}", pd.to_numeric(out[std], errors="coerce")
                       .astype("float64"))
    geom = out.geometry.name
    out["TBMJ"] = tbmj_c / 100.0
    out["KCMJ"] = kc_c / 100.0
    out["TBDLMJ"] = dl_c / 100.0
    out["计算面积"] = base
    out["平差值"] = tbmj_c / 100.0 - base
    out["控制单元"] = code
    out["归属依据"] = how
    out["平差状态"] = status
    if "lk_fid" in out.columns:
        out = out.rename(columns={"lk_fid": "源要素序号"})
    cols = [c for c in out.columns if c != geom] + [geom]
    return out[cols]


def _summary(county, a: AdjustSettings, t: pd.DataFrame, tbmj_c, fu, has_u, n, fields) -> dict:
    ok = t["control_m2"].notna()
    adj = t["adjusted"].to_numpy(dtype=bool)
    control_c = np.rint(t["control_m2"].fillna(0).to_numpy() * 100).astype(np.int64)   # exact cents
    return {
        "level": a.level,
        "control_field": fields,
        "control_unit": a.control_unit,
        "tolerance_m2": a.tolerance_m2,
        "tolerance_rel": a.tolerance_rel,
        "adjust_over_tolerance": a.adjust_over_tolerance,
        "feature_count": int(n),
        "features_adjusted": int((fu >= 0).sum()),
        "features_unassigned": int((~has_u).sum()),
        "unit_count": int(ok.sum()),
        "units_adjusted": int(adj.sum()),
        "units_over_tolerance": int(t["over_tolerance"].sum()),
        "units_without_control": int((~ok).sum()),
        "control_m2": int(control_c.sum()) / 100.0,
        "before_m2": float(t.loc[ok, "before_m2"].sum()),
        "difference_m2": float(t.loc[ok, "difference_m2"].sum()),
        "difference_mu": float(m2_to_mu(t.loc[ok, "difference_m2"].sum())),
        "after_m2": int(tbmj_c.sum()) / 100.0,
        "adjusted_sum_m2": int(tbmj_c[fu >= 0].sum()) / 100.0,
        "adjusted_control_m2": int(control_c[adj].sum()) / 100.0,
    }

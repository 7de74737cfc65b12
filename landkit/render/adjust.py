"""``landkit adjust`` outputs: the 平差 workbook (汇总, 平差单元, 面积核对, 数据质检) and the
tables of the GeoPackage. Renderers only: the figures come from landkit.analyses.adjust."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analyses.adjust import CONTROL_UNIT_NAMES, LEVEL_NAMES, UNIT_COLUMNS, AdjustResult
from .ledger import Col, Ledger, add_kv_sheet, add_qa_sheet, add_sheet, new_workbook

OVER_FILL = ("FCE4D6", True)      # a unit over tolerance

#: the per-feature columns of the 面积核对 sheet (key in the adjusted layer → header)
CHECK_COLUMNS = (("BSM", "标识码"), ("TBBH", "图斑编号"), ("DLBM", "地类编码"), ("ZLDWDM", "坐落单位代码"),
                 ("控制单元", "控制单元"))


def _pct(v) -> str | None:
    return None if v is None or not np.isfinite(v) else f"{v * 100:.4f}%"


def unit_frame(res: AdjustResult) -> pd.DataFrame:
    """The per-unit table with Chinese headers, as the GeoPackage stores it (areas unrounded,
    relative difference as a fraction, 超限 / 已平差 as 是 / 否)."""
    t = res.units.copy()
    for k in ("over_tolerance", "adjusted"):
        t[k] = np.where(t[k].to_numpy(dtype=bool), "是", "否")
    return t[list(UNIT_COLUMNS)].rename(columns=UNIT_COLUMNS)


def check_frame(res: AdjustResult, mask: np.ndarray) -> pd.DataFrame:
    """The 图斑 whose declared TBMJ differs from the adjusted one (``mask``): ids, declared,
    adjusted, difference (declared − adjusted) and the computed area, m²."""
    f = res.features.loc[np.asarray(mask, dtype=bool)]
    out = pd.DataFrame({h: f[k].to_numpy() for k, h in CHECK_COLUMNS if k in f.columns})
    out["申报TBMJ"] = f["原TBMJ"].to_numpy(dtype="float64")
    out["平差后TBMJ"] = f["TBMJ"].to_numpy(dtype="float64")
    out["差值"] = out["申报TBMJ"] - out["平差后TBMJ"]
    out["计算面积"] = f["计算面积"].to_numpy(dtype="float64")
    return out


def adjust_workbook(county, res: AdjustResult, check: pd.DataFrame | None, tbmj: dict, qa: pd.DataFrame) -> Ledger:
    """平差.xlsx: 汇总 (the settings and totals), 平差单元 (per unit, over-tolerance rows coloured),
    面积核对 (declared TBMJ against the adjusted area, where they differ) and 数据质检."""
    s = res.summary
    title = f"{county.name or ''}控制面积平差"
    wb = new_workbook()
    tol = f"差值超过 {s['tolerance_m2']:g} m² 且超过控制面积的 {s['tolerance_rel']:.4%} 为超限"
    add_kv_sheet(wb, "汇总", [
        ("控制单元层级", LEVEL_NAMES[s["level"]], "[adjust] level"),
        ("控制面积来源", f"字段 {s['control_field']}（{CONTROL_UNIT_NAMES[s['control_unit']]}）" if s["control_field"]
         else "界线的椭球面积", "没有有效字段值的单元取其界线的 CGCS2000 椭球面积"),
        ("控制单元数", s["unit_count"], ""),
        ("已平差的单元数", s["units_adjusted"], ""),
        ("超限单元数", s["units_over_tolerance"], tol),
        ("图斑数", s["feature_count"], ""),
        ("已平差的图斑数", s["features_adjusted"], ""),
        ("不在任何控制单元内的图斑数", s["features_unassigned"], "这些图斑保留计算的椭球面积"),
        ("控制面积合计(平方米)", round(s["control_m2"], 2), ""),
        ("平差前图斑面积合计(平方米)", round(s["before_m2"], 2), "CGCS2000 椭球面积（国土调查办发〔2008〕32号）"),
        ("差值合计(平方米)", round(s["difference_m2"], 2), "控制面积 − 平差前面积"),
        ("差值合计(亩)", round(s["difference_mu"], 2), ""),
        ("平差后图斑面积合计(平方米)", round(s["after_m2"], 2), "含未平差的图斑"),
        ("申报面积核对：超过容差的图斑数", tbmj.get("over_tolerance") if tbmj.get("available") else "未核对",
         f"申报 TBMJ 与平差后面积相差超过 {tbmj['tolerance_m2']:g} m²" if tbmj.get("available")
         else tbmj.get("reason", "")),
    ], heading=title)
    u = res.units.reset_index(drop=True)
    view = u.assign(over=np.where(u["over_tolerance"], "是", ""), done=np.where(u["adjusted"], "是", "否"),
                    rel=[_pct(v) for v in u["relative"]])
    fills = {(k, c): OVER_FILL for k in np.flatnonzero(u["over_tolerance"].to_numpy(dtype=bool))
             for c in ("difference_m2", "difference_mu", "rel", "over")}
    add_sheet(wb, "平差单元", view, [
        Col("单元代码", "code"), Col("单元名称", "name"), Col("控制面积来源", "source", width=30),
        Col("图斑数", "features", "int", True), Col("控制面积(平方米)", "control_m2", "area", True),
        Col("平差前面积合计(平方米)", "before_m2", "area", True), Col("差值(平方米)", "difference_m2", "area", True),
        Col("差值(亩)", "difference_mu", "area", True), Col("相对差值", "rel"), Col("超限", "over"),
        Col("已平差", "done"), Col("平差后面积合计(平方米)", "after_m2", "area", True),
        Col("申报TBMJ合计(平方米)", "declared_m2", "area", True), Col("说明", "note", width=50)],
        heading=f"{title}：各控制单元", note=f"面积为 CGCS2000 椭球面积，平方米保留 2 位小数；{tol}；"
        "已平差单元的平差后面积合计与控制面积分毫不差", fills=fills)
    if check is not None:
        add_sheet(wb, "面积核对", check, [Col(h, h) for _, h in CHECK_COLUMNS if h in check.columns] + [
            Col("申报TBMJ(平方米)", "申报TBMJ", "area"), Col("平差后TBMJ(平方米)", "平差后TBMJ", "area"),
            Col("差值(平方米)", "差值", "area", True), Col("计算面积(平方米)", "计算面积", "area")],
            heading=f"{title}：申报图斑面积与平差后面积不一致的图斑",
            note=f"差值 = 申报 TBMJ − 平差后 TBMJ；相差超过 {tbmj['tolerance_m2']:g} m² 的列出（[adjust] tbmj_tolerance_m2）")
    add_qa_sheet(wb, qa, f"{title}数据质检")
    return wb

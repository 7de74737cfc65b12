"""Result layers for results.gpkg and the ledger workbook, from analysis results."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd

from ..io.fields import ROLE_NAMES
from ..standards.units import m2_to_mu
from .ledger import Col, add_kv_sheet, add_sheet, new_workbook

STATUS_NAMES = {"pass": "达标", "over_cap": "超过控制目标", "accountability": "达到问责线", "no_data": "无数据"}


def _pct(x):
    return None if x is None else x


def satellite_frames(sat) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    s = sat.summary
    towns = pd.DataFrame(s["by_township"])
    county_row = {"code": "合计", "name": "全县", "ratio": s["ratio"], "illegal_farmland_mu": s["illegal_farmland_mu"],
                  "new_construction_farmland_mu": s["new_construction_farmland_mu"], "status": s["status"],
                  "illegal_patch_count": s["illegal_patch_count"], "rectify_to_cap_mu": s["rectify_to_cap_mu"]}
    towns = pd.concat([pd.DataFrame([county_row]), towns], ignore_index=True)
    towns["状态"] = towns["status"].map(STATUS_NAMES)
    p = sat.patches
    patches = gpd.GeoDataFrame({
        "监测编号": p["监测编号"], "判定类型": p["判定类型"], "类别": p["类别"], "违法类型": p["违法类型"],
        "整改状态": p["整改状态"], "季度": p["quarter"], "乡镇代码": p["township"],
        "图斑面积_亩": p["area_mu"], "占用耕地_亩": p["farmland_mu"], "占用耕地净_亩": p["farmland_net_mu"],
        "计入耕地_亩": p["farmland_used_mu"], "占用永久基本农田_亩": p["yjjbnt_mu"],
    }, geometry=p.geometry, crs=p.crs)
    return towns, patches


def result_layers(county, res) -> dict[str, gpd.GeoDataFrame]:
    out = {}
    r = res["results"]
    if "satellite" in r:
        _, patches = satellite_frames(r["satellite"])
        out["卫片图斑结果"] = patches
    for role in ("approvals", "supply", "parcels", "patches"):
        fr = r.get(f"farmland_{role}")
        if fr is None:
            continue
        f = fr.features
        cols = {"id": "编号", "area_mu": "面积_亩", "yjjbnt_mu": "压占永农_亩", "yjjbnt_net_mu": "压占永农净_亩",
                "yjjbnt_share": "压占比例", "yjjbnt_ids": "永农图斑编号", "gd_mu": "占用耕地_亩",
                "stbhhx_mu": "占用生态红线_亩", "outside_czkfbj_mu": "开发边界外_亩"}
        keep = [c for c in cols if c in f.columns]
        g = gpd.GeoDataFrame(f[keep].rename(columns=cols), geometry=f.geometry, crs=f.crs)
        for extra in ("项目名称", "批次名称", "土地使用权人", "判定类型", "权利人"):
            if extra in f.columns:
                g[extra] = f[extra].values
        out[f"永农压占_{ROLE_NAMES[role]}"] = g
    return out


def ledger_workbook(county, res):
    wb = new_workbook()
    s = res["summary"]
    title = f"{county.name or ''}（{county.adcode or ''}）{county.year or ''}年度"
    r = res["results"]
    if "satellite" in r:
        sat = r["satellite"]
        ss = sat.summary
        towns, patches = satellite_frames(sat)
        add_sheet(wb, "卫片统计", towns, [
            Col("乡镇代码", "code"), Col("乡镇", "name"), Col("违法占用耕地比例", "ratio", "pct"),
            Col("违法占用耕地(亩)", "illegal_farmland_mu", "area"),
            Col("新增建设用地占用耕地(亩)", "new_construction_farmland_mu", "area"),
            Col("违法图斑数", "illegal_patch_count", "int"), Col("整改到控制目标需复耕(亩)", "rectify_to_cap_mu", "area"),
            Col("状态", "状态")], totals=False,
            heading=f"{title}卫片执法违法占用耕地比例", note=ss["basis"] + f"；控制目标 ≤{ss['cap']:.0%}，问责线 ≥{ss['accountability_threshold']:.0%}")
        add_sheet(wb, "卫片图斑清单", patches.drop(columns="geometry"), [
            Col("监测编号", "监测编号"), Col("判定类型", "判定类型"), Col("类别", "类别"), Col("违法类型", "违法类型"),
            Col("整改状态", "整改状态"), Col("季度", "季度"), Col("乡镇代码", "乡镇代码"),
            Col("图斑面积(亩)", "图斑面积_亩", "area", True), Col("占用耕地(亩)", "占用耕地_亩", "area", True),
            Col("占用耕地扣除田坎(亩)", "占用耕地净_亩", "area", True), Col("计入比例的耕地(亩)", "计入耕地_亩", "area", True),
            Col("占用永久基本农田(亩)", "占用永久基本农田_亩", "area", True)], heading=f"{title}卫片图斑清单")
    rows = []
    for role in ("approvals", "supply", "parcels", "patches"):
        fr = r.get(f"farmland_{role}")
        if fr is None:
            continue
        f = fr.features
        hit = f[f["yjjbnt_m2"] > 0]
        for _, x in hit.iterrows():
            rows.append({"图层": ROLE_NAMES[role], "编号": x["id"],
                         "名称": next((x[c] for c in ("项目名称", "批次名称", "权利人", "土地使用权人") if c in f.columns
                                     and isinstance(x[c], str)), None),
                         "面积": x["area_mu"], "压占": x["yjjbnt_mu"], "压占净": x["yjjbnt_net_mu"],
                         "比例": x["yjjbnt_share"], "编号列表": x["yjjbnt_ids"]})
    df = pd.DataFrame(rows, columns=["图层", "编号", "名称", "面积", "压占", "压占净", "比例", "编号列表"])
    if len(df):
        df = df.sort_values(["图层", "压占"], ascending=[True, False])
    add_sheet(wb, "永农压占清单", df, [
        Col("图层", "图层"), Col("编号", "编号"), Col("名称", "名称"), Col("面积(亩)", "面积", "area", True),
        Col("压占永久基本农田(亩)", "压占", "area", True), Col("扣除田坎(亩)", "压占净", "area", True),
        Col("压占比例", "比例", "pct"), Col("永久基本农田图斑编号", "编号列表", width=50)],
        heading=f"{title}永久基本农田压占清单",
        note=f"重叠小于 {county.config.sliver_m2:g} m² 的碎片不计")
    qa = county.qa.to_frame()
    if len(qa):
        qa["级别"] = qa["level"].map({"error": "错误", "warning": "警告", "info": "说明"})
        qa["图层"] = qa["layer"].map(lambda x: ROLE_NAMES.get(x, x or "全县"))
        qa["涉及要素"] = qa["features"].map(lambda v: "、".join(v[:20]) if isinstance(v, list) else None)
        add_sheet(wb, "数据质检", qa, [Col("级别", "级别"), Col("图层", "图层"), Col("字段", "field"),
                                      Col("问题", "message", width=70), Col("数量", "count", "int"),
                                      Col("涉及要素（前20个）", "涉及要素", width=60)], totals=False,
                  heading=f"{title}数据质检")
    return wb

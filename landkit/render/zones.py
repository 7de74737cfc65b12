"""开发区 土地节约集约利用: the ledger sheet, the results.gpkg layer, the report section and the
map's zone outlines, all from :class:`~landkit.analyses.zones.ZonesResult` / summary.json
``development_zones`` (nothing is computed here)."""
from __future__ import annotations

import geopandas as gpd
import numpy as np

from ..analyses.zones import INDICATORS
from .ledger import Col, add_kv_sheet, add_sheet

SHEET = "开发区节约集约"
LAYER = "开发区节约集约"

#: the indicators in the order the sheet, the report and the map show them: (key, kind)
SHOWN = (("supply_rate", "pct"), ("built_rate", "pct"), ("industrial_far", "float"),
         ("fixed_asset_per_mu_wan", "float"), ("tax_per_mu_wan", "float"), ("idle_share", "pct"),
         ("inefficient_share", "pct"))


def definitions(summary_section: dict | None) -> list[dict]:
    """[{key, name, formula, unit, source, basis}] of the indicators shown: the definition and
    how this run measured its parts (the section's ``basis``)."""
    sec = summary_section or {}
    basis = sec.get("basis") or {}
    far = next(i for i, (k, _) in enumerate(SHOWN) if k == "industrial_far") + 1
    extra = {"supply_rate": basis.get("supply_condition"), "built_rate": basis.get("built"),
             "industrial_far": basis.get("industrial"), "fixed_asset_per_mu_wan": f"工矿仓储用地同注 {far}",
             "tax_per_mu_wan": f"工矿仓储用地同注 {far}", "inefficient_share": basis.get("inefficient")}
    out = [{"key": k, "kind": kind, **INDICATORS[k], "basis": extra.get(k) or ""} for k, kind in SHOWN]
    for d in out:
        if d["key"] == "inefficient_share":
            den = "已供应国有建设用地面积" if sec.get("inefficient_basis") == "supplied" else "已建成城镇建设用地面积"
            d["formula"] = f"开发区内城镇低效用地面积 ÷ 开发区内{den}"
    return out


def definitions_text(summary_section: dict | None) -> str:
    """One line: every indicator's definition (the ledger sheet's note)."""
    return "；".join(f"{d['name']} = {d['formula']}" + (f"（{d['unit']}）" if d["unit"] else "")
                    for d in definitions(summary_section)) + \
        f"。依据：{INDICATORS['supply_rate']['source']}；面积为 CGCS2000 椭球面积，按与开发区范围的实际相交面积计"


# ------------------------------------------------------------------ ledger and gpkg
def zone_sheet(wb, title: str, res, section: dict | None) -> None:
    """The 开发区节约集约 sheet: one row per 开发区 and the all-zones row (not a sum: land in two
    zones counts once); a figure that cannot be computed is blank with its reason in 未计算原因."""
    if res is None or res.zones is None:
        why = (section or {}).get("reason") or "该县没有开发区图层"
        add_kv_sheet(wb, SHEET, [("说明", f"未提供数据：{why}", "")], heading=f"{title}开发区土地节约集约利用")
        return
    df = res.table()
    add_sheet(wb, SHEET, df, [
        Col("开发区代码", "code"), Col("开发区名称", "name", width=22), Col("级别", "level"), Col("区块", "blocks"),
        Col("面积(亩)", "area_mu", "area"), Col("已达到供地条件(亩)", "supply_condition_mu", "area"),
        Col("已供应(亩)", "supplied_mu", "area"), Col("批而未供(亩)", "approved_unsupplied_mu", "area"),
        Col("土地供应率", "supply_rate", "pct"), Col("已建成(亩)", "built_mu", "area"),
        Col("土地建成率", "built_rate", "pct"), Col("工矿仓储用地(亩)", "industrial_mu", "area"),
        Col("总建筑面积(平方米)", "floor_area_m2", "area"), Col("工业用地综合容积率", "industrial_far", "area"),
        Col("固定资产投资(万元)", "fixed_asset_wan", "area"),
        Col("工业用地固定资产投入强度(万元/亩)", "fixed_asset_per_mu_wan", "area"),
        Col("税收总额(万元)", "tax_wan", "area"), Col("工业用地地均税收(万元/亩)", "tax_per_mu_wan", "area"),
        Col("闲置土地(亩)", "idle_mu", "area"), Col("闲置土地占比", "idle_share", "pct"),
        Col("城镇低效用地(亩)", "inefficient_mu", "area"), Col("城镇低效用地占比", "inefficient_share", "pct"),
        Col("未计算原因", "unavailable", width=40), Col("说明", "notes", width=30)],
        totals=False, heading=f"{title}开发区土地节约集约利用（截至 {(section or {}).get('as_of', '')}）",
        note=definitions_text(section))


def zone_layer(res) -> dict[str, gpd.GeoDataFrame]:
    """{开发区节约集约: the zones with their figures, Chinese field names} for results.gpkg."""
    if res is None or res.zones is None or not len(res.zones):
        return {}
    z = res.zones
    names = {"code": "开发区代码", "name": "开发区名称", "level": "级别", "blocks": "区块", "area_mu": "面积_亩",
             "supply_condition_mu": "已达供地条件_亩", "supplied_mu": "已供应_亩",
             "approved_unsupplied_mu": "批而未供_亩", "supply_rate": "土地供应率", "built_mu": "已建成_亩",
             "built_rate": "土地建成率", "industrial_mu": "工矿仓储用地_亩", "floor_area_m2": "总建筑面积_平方米",
             "industrial_far": "工业用地综合容积率", "fixed_asset_wan": "固定资产投资_万元",
             "fixed_asset_per_mu_wan": "投入强度_万元每亩", "tax_wan": "税收总额_万元",
             "tax_per_mu_wan": "地均税收_万元每亩", "idle_mu": "闲置土地_亩", "idle_share": "闲置土地占比",
             "inefficient_mu": "低效用地_亩", "inefficient_share": "低效用地占比", "unavailable": "未计算原因"}
    g = gpd.GeoDataFrame(z[list(names)].rename(columns=names), geometry=z.geometry.values, crs=z.crs)
    return {LAYER: g}


# ------------------------------------------------------------------ report
def report_context(summary: dict) -> dict | None:
    """What the report's 开发区 section shows: {rows, total, definitions, notes, reason} or None
    when the summary has no ``development_zones`` section."""
    sec = summary.get("development_zones")
    if not isinstance(sec, dict):
        return None
    if sec.get("available") is False:
        return {"available": False, "reason": sec.get("reason") or ""}
    return {"available": True, "rows": list(sec.get("zones") or []), "total": sec.get("total"),
            "definitions": definitions(sec), "as_of": sec.get("as_of"), "notes": list(sec.get("notes") or []),
            "source": INDICATORS["supply_rate"]["source"], "fmt": display}


def display(v, kind: str) -> str:
    """A figure as the report shows it: % or 2 decimals (half up), thousands separators."""
    from ..standards.units import round_half_up
    if v is None or not np.isfinite(float(v)):
        return "—"
    if kind == "pct":
        return f"{round_half_up(float(v) * 100, 2):.2f}%"
    return f"{round_half_up(float(v), 2):,.2f}"


# ------------------------------------------------------------------ map
ZONE_STYLE = {"color": "#0d47a1", "weight": 2.5, "opacity": 1, "fill": True, "fillColor": "#64b5f6",
              "fillOpacity": 0.06, "dashArray": "10 4"}


def map_values(res) -> tuple[gpd.GeoDataFrame | None, list[str], list[list[str]]]:
    """(zones, popup field labels, values per zone) for the map's 开发区 layer; (None, [], [])
    without zones. Values are display text (2 decimals, half up, as the report rounds)."""
    if res is None or res.zones is None or not len(res.zones):
        return None, [], []
    z = res.zones

    def show(v, key, kind):
        if v is None or not np.isfinite(float(v)):
            return "未提供数据"
        unit = INDICATORS[key]["unit"]
        return display(v, kind) + (f" {unit}" if "/" in unit else "")
    fields = ["开发区", "代码", "面积"] + [INDICATORS[k]["name"] for k, _ in SHOWN]
    values = [["" if r["name"] is None else str(r["name"]), "" if r["code"] is None else str(r["code"]),
               display(r["area_mu"], "mu") + " 亩"] + [show(r[k], k, kind) for k, kind in SHOWN]
              for _, r in z.iterrows()]
    return z, fields, values

"""开发区 土地节约集约利用 indicators per development zone (docs/rules.md §3.4, §3.6, R14;
《开发区土地集约利用评价规程》).

For each 开发区 (the features of the zone layer sharing a 开发区代码, else a 开发区名称, are its
区块) and for all zones together (their union: land in two zones counts once):

* 土地供应率 = 已供应国有建设用地 ÷ 已达到供地条件的土地 (``[zones] supply_basis``);
* 土地建成率 = 已建成城镇建设用地 ÷ 已供应国有建设用地 (DLTB codes ``[zones] built_dlbm``,
  on the supplied land or the whole zone: ``[zones] built_scope``);
* 工业用地综合容积率 = Σ 建筑面积 ÷ 工矿仓储用地面积 (宗地 whose 用途 is in ``[zones]
  industrial_uses``);
* 工业用地固定资产投入强度 = Σ 固定资产投资 ÷ 工矿仓储用地面积 (万元/亩, and 万元/公顷 as the
  规程 states it);
* 工业用地地均税收 = Σ 税收总额 ÷ 工矿仓储用地面积 (万元/亩, 万元/公顷);
* 闲置土地占比 = 闲置土地 ÷ 已供应国有建设用地; 城镇低效用地占比 = 城镇低效用地 ÷ 已建成城镇建设用地
  (or ÷ 已供应: ``[zones] inefficient_basis``).

Areas are the exact intersections with the zone (CGCS2000 ellipsoidal m², the overlay engine,
union semantics: supply or parcels overlapping each other count once); a parcel's 建筑面积 /
投资 / 税收 are shared out by the part of the parcel inside the zone. 批而未供, 闲置 and 低效
are the inventory's own results (:mod:`landkit.analyses.inventory`), not classified again here.
A figure whose layer, field or denominator is missing is None with the reason in the row's
``unavailable`` (never 0). Pure: reads no files and writes none.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..findings import Finding
from ..overlay.engine import overlay_areas
from ..settings import settings_for
from ..standards.area import ellipsoidal_area
from ..standards.units import m2_to_mu
from .stock import date_field, geometry_values, layer_file, numeric_column, polygonal_only, resolve_as_of, \
    row_ids, text_column

SOURCE = "《开发区土地集约利用评价规程》（TD/T 1029）"

#: every indicator: Chinese name, definition, unit, source (docs/rules.md §3.6); the report's
#: footnotes and the ledger's notes are these
INDICATORS: dict[str, dict[str, str]] = {
    "supply_rate": {
        "name": "土地供应率", "unit": "%", "source": SOURCE,
        "formula": "已供应国有建设用地面积 ÷ 已达到供地条件的土地面积"},
    "built_rate": {
        "name": "土地建成率", "unit": "%", "source": SOURCE,
        "formula": "已建成城镇建设用地面积 ÷ 已供应国有建设用地面积"},
    "industrial_far": {
        "name": "工业用地综合容积率", "unit": "", "source": SOURCE,
        "formula": "工矿仓储用地上的总建筑面积 ÷ 工矿仓储用地面积"},
    "fixed_asset_per_mu_wan": {
        "name": "工业用地固定资产投入强度", "unit": "万元/亩", "source": SOURCE + "，规程单位为万元/公顷（= 万元/亩 × 15）",
        "formula": "工业（物流）企业累计固定资产投资总额 ÷ 工矿仓储用地面积"},
    "tax_per_mu_wan": {
        "name": "工业用地地均税收", "unit": "万元/亩", "source": SOURCE + "，规程单位为万元/公顷（= 万元/亩 × 15）",
        "formula": "工业（物流）企业税收总额 ÷ 工矿仓储用地面积"},
    "idle_share": {
        "name": "闲置土地占比", "unit": "%", "source": "闲置土地按《闲置土地处置办法》（国土资源部令第53号）认定",
        "formula": "开发区内闲置土地面积 ÷ 已供应国有建设用地面积"},
    "inefficient_share": {
        "name": "城镇低效用地占比", "unit": "%", "source": "城镇低效用地按 [inventory] 的筛查规则认定（docs/rules.md §3.1）",
        "formula": "开发区内城镇低效用地面积 ÷ 开发区内已建成城镇建设用地面积（或 ÷ 已供应国有建设用地面积，"
                   "[zones] inefficient_basis）"},
}

#: parcel totals the industrial indicators sum: (field, key of the sum, indicator, what it is)
VALUE_FIELDS = (("建筑面积", "floor_area_m2", "industrial_far", "建筑面积"),
                ("固定资产投资", "fixed_asset_wan", "fixed_asset_per_mu_wan", "固定资产投资"),
                ("税收总额", "tax_wan", "tax_per_mu_wan", "税收总额"))
ACTIVE_APPROVALS = ("unsupplied", "supplied", "empty")
TOTAL_CODE = "合计"
TOTAL_NAME = "全部开发区（重叠部分计一次）"


@dataclass
class ZonesResult:
    """开发区 节约集约 indicators.

    summary : summary.json ``development_zones`` (docs/summary-schema.md)
    zones : one row per 开发区 (geometry = its 区块 together), areas ``*_m2`` / ``*_mu``, the
        indicators (NaN where None), or None without a zone layer
    total : the same figures for all zones together (one row, geometry = their union)
    """

    summary: dict
    zones: gpd.GeoDataFrame | None = None
    total: gpd.GeoDataFrame | None = None
    findings: list = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """The zones and the total row, without geometry (what the ledger sheet shows)."""
        if self.zones is None:
            return pd.DataFrame()
        return pd.concat([self.zones, self.total], ignore_index=True).drop(columns="geometry")

    def _repr_html_(self) -> str:
        if self.zones is None:
            return f"<b>开发区节约集约</b>：{self.summary.get('reason')}"
        cols = ["code", "name", "area_mu", "supply_rate", "built_rate", "industrial_far", "fixed_asset_per_mu_wan",
                "tax_per_mu_wan", "idle_share", "inefficient_share"]
        return "<b>开发区土地节约集约利用</b>" + self.table()[cols].to_html(index=False)


# --------------------------------------------------------------------------------------
# the zones
# --------------------------------------------------------------------------------------


def _zone_groups(z: gpd.GeoDataFrame, findings: list, file) -> list[dict]:
    """The zones of the layer: features sharing a 开发区代码 (else a 开发区名称) are one zone's
    区块, in the order they first appear; a feature with neither is a zone of its own."""
    codes, names = text_column(z, "开发区代码"), text_column(z, "开发区名称")
    levels, blocks = text_column(z, "开发区级别"), text_column(z, "区块名称")
    fids = z["lk_fid"].to_numpy() if "lk_fid" in z.columns else np.arange(len(z))
    g = geometry_values(z)
    groups: dict[str, dict] = {}
    unnamed = []
    for i in range(len(z)):
        key = f"code:{codes[i]}" if codes[i] else f"name:{names[i]}" if names[i] else f"fid:{fids[i]}"
        if not codes[i] and not names[i]:
            unnamed.append(f"FID {fids[i]}")
        grp = groups.setdefault(key, {"code": codes[i], "name": names[i], "level": levels[i], "rows": [],
                                      "names": []})
        grp["rows"].append(i)
        if names[i] and names[i] not in grp["names"]:
            grp["names"].append(names[i])
        grp["name"] = grp["name"] or names[i]
        grp["level"] = grp["level"] or levels[i]
    if unnamed:
        findings.append(Finding("warning", "zone_unnamed", f"{len(unnamed)} 个开发区要素没有开发区代码和名称，"
                                "各按一个开发区统计（以要素编号称呼）", "zones", file, "开发区名称", unnamed, len(unnamed)))
    out = []
    for key, grp in groups.items():
        if len(grp["names"]) > 1:
            findings.append(Finding("warning", "zone_names_differ",
                                    f"开发区代码 {grp['code']} 的区块名称不一致（{'、'.join(grp['names'])}），"
                                    f"按同一开发区统计，称为 {grp['names'][0]}", "zones", file, "开发区名称",
                                    [grp["code"]], len(grp["rows"])))
        rows = grp["rows"]
        geom = g[rows[0]] if len(rows) == 1 else shapely.union_all(g[rows])
        label = grp["name"] or grp["code"] or f"开发区 FID {fids[rows[0]]}"
        out.append({"code": grp["code"], "name": label, "level": grp["level"],
                    "blocks": [b for b in (blocks[i] for i in rows) if b],
                    "feature_count": len(rows), "geometry": polygonal_only(np.array([geom], dtype=object))[0]})
    return out


def _ratio(num, den, why_num: str | None, why_den: str | None, zero_den: str) -> tuple[float | None, str | None]:
    """num ÷ den, or (None, why): the numerator's or the denominator's reason, or ``zero_den``."""
    if why_num or why_den:
        return None, why_num or why_den
    if den is None or not np.isfinite(den) or den <= 0:
        return None, zero_den
    return float(num / den), None


def _industrial(uses: np.ndarray, words: list[str]) -> np.ndarray:
    ws = [str(w).strip() for w in words if str(w).strip()]
    return np.array([u is not None and any(w in u for w in ws) for u in uses], dtype=bool)


def development_zones(county, inventory_result=None, config=None, as_of=None) -> ZonesResult:
    """开发区 节约集约 indicators of every zone in ``county.zones`` at the as-of date D.

    ``inventory_result``: the county's :func:`~landkit.analyses.inventory.inventory` result (its
    批而未供, 闲置 and 低效 land are used as they are); computed here when not given.
    Summary keys: docs/summary-schema.md ``development_zones``. Areas in 亩 (``*_mu``), 建筑面积
    in m², money in 万元, ratios as fractions.
    """
    cfg = settings_for(county, config)
    s = cfg.zones
    D, notes = resolve_as_of(county, as_of)
    findings: list[Finding] = []
    z = county.zones
    if z is None or len(z) == 0:
        return ZonesResult({"available": False, "reason": "该县没有开发区图层（文件名含“开发区”或 KFQ，"
                                                          "或在 landkit.toml 的 [layers] 中写明 zones）"})
    if inventory_result is None:
        from .inventory import inventory
        inventory_result = inventory(county, as_of=D, config=cfg)
    inv = inventory_result
    sliver = cfg.sliver_m2
    crs = county.crs
    groups = _zone_groups(z, findings, layer_file(county, "zones"))
    zg = np.array([grp["geometry"] for grp in groups] + [None], dtype=object)
    zg[-1] = polygonal_only(np.array([shapely.union_all(zg[:-1])], dtype=object))[0]
    n = len(zg)
    area = ellipsoidal_area(zg, crs=crs)
    overlap_zones = float(area[:-1].sum() - area[-1])
    if len(groups) > 1 and overlap_zones >= sliver:
        notes.append(f"开发区之间有 {m2_to_mu(overlap_zones):.2f} 亩重叠；各开发区分别统计，合计行重叠部分只计一次")

    def over(geoms, **kw) -> tuple[np.ndarray, object]:
        """(m² of each zone on the union of ``geoms``, the overlay result)."""
        geoms = np.asarray(geoms, dtype=object)
        if not len(geoms):
            return np.zeros(n), None
        r = overlay_areas(zg, geoms, crs=crs, sliver_m2=sliver, a_area_m2=area, **kw)
        return r.table["overlap_m2"].to_numpy(dtype="float64"), r

    def touched(r) -> np.ndarray:
        return np.zeros(n, dtype=np.int64) if r is None else np.array([len(x) for x in r.table["b_ids"]])

    col: dict[str, np.ndarray] = {"area_m2": area}
    why: dict[str, str] = {}            # figure → reason, for every zone (a layer or field is missing)

    # 已供应: supply with 供地日期 ≤ D (or none: counted as supplied, as 批而未供 counts it)
    sup = county.supply
    pieces = None
    if sup is None:
        why["supplied_mu"] = "没有供地图层，无法统计已供应土地"
    else:
        gd, _ = date_field(county, sup, "supply", "供地日期", row_ids(sup, "supply"), [])
        at = np.array([d is None or d <= D for d in gd], dtype=bool)
        col["supplied_m2"], r = over(geometry_values(sup)[at], keep_pieces=True, b_ids=row_ids(sup, "supply")[at],
                                     b_valid=True)
        col["supply_count"] = touched(r)
        pieces = None if r is None else r.pieces

    # 批而未供 and 已批准: the inventory's pieces and approvals
    au = inv.results.get("approved_unsupplied")
    if au is None or not au.summary.get("available"):
        why["approved_unsupplied_mu"] = why["approved_mu"] = (
            "；".join((au.summary.get("notes") or []) if au is not None else []) or "没有批准用地或供地图层，无法计算批而未供")
    else:
        col["approved_unsupplied_m2"], _ = over(geometry_values(au.features), b_valid=True)
        act = au.approvals[au.approvals["status"].isin(ACTIVE_APPROVALS)]
        col["approved_m2"], _ = over(geometry_values(act), b_valid=True)
    if s.supply_basis == "approved":
        cond_why = why.get("approved_mu")
        if not cond_why:
            col["supply_condition_m2"] = col["approved_m2"]
            supplied_num = np.clip(col["approved_m2"] - col["approved_unsupplied_m2"], 0.0, None)
        basis = "已达到供地条件的土地取开发区内已批准（农转用/征收）的土地，已供应取其中已供地的部分"
    else:
        cond_why = why.get("supplied_mu") or why.get("approved_unsupplied_mu")
        if not cond_why:
            col["supply_condition_m2"] = col["supplied_m2"] + col["approved_unsupplied_m2"]
            supplied_num = col["supplied_m2"]
        basis = "已达到供地条件的土地取开发区内已批准或已供应的土地（已供应 + 批而未供）"
    if cond_why:
        why["supply_condition_mu"] = cond_why

    # 已建成: DLTB built-up codes, on the supplied land (pieces) and in the whole zone
    d = county.dltb
    if d is None or "DLBM" not in d.columns:
        why["built_in_zone_mu"] = why["built_on_supplied_mu"] = "没有地类图斑（DLTB）图层，无法判断已建成土地"
    else:
        built = d[d["DLBM"].isin([str(c) for c in s.built_dlbm])]
        bg = geometry_values(built)
        col["built_in_zone_m2"], _ = over(bg, union=False, b_valid=True)
        if "supplied_m2" in col:
            on = np.zeros(n)
            if pieces is not None and len(pieces) and len(bg):
                rb = overlay_areas(pieces.geometry.values, bg, crs=crs, sliver_m2=sliver, union=False,
                                   a_area_m2=pieces["area_m2"].to_numpy(), b_valid=True)
                on = np.bincount(pieces["ia"].to_numpy(), weights=rb.table["overlap_m2"].to_numpy(), minlength=n)
            col["built_on_supplied_m2"] = on
        else:
            why["built_on_supplied_mu"] = why["supplied_mu"]
    built_key = "built_on_supplied" if s.built_scope == "supplied" else "built_in_zone"
    if f"{built_key}_m2" in col:
        col["built_m2"] = col[f"{built_key}_m2"]
    else:
        why["built_mu"] = why[f"{built_key}_mu"]
    what = "地类图斑（DLTB）地类为城镇建设用地（不含农村宅基地、空闲地、盐田）"
    built_basis = (f"已建成城镇建设用地取已供应土地中{what}的部分" if s.built_scope == "supplied"
                   else f"已建成城镇建设用地取开发区内{what}的土地")

    # 闲置, 低效: the inventory's land
    for key, frame, label in (("idle", inv.idle, "闲置土地"), ("inefficient", inv.inefficient, "城镇低效用地")):
        if frame is None:
            why[f"{key}_mu"] = (inv.summary.get("unavailable") or {}).get(f"{key}_mu") or f"{label}未提供数据"
        else:
            col[f"{key}_m2"], r = over(geometry_values(frame), b_valid=True)
            col[f"{key}_count"] = touched(r)

    # 工矿仓储用地 and the parcels' totals
    p = county.parcels
    ind_why = None
    if p is None:
        ind_why = "没有宗地图层，无法统计工矿仓储用地"
    elif "用途" not in p.columns:
        ind_why = "宗地图层缺少用途字段，无法识别工矿仓储用地"
    if ind_why:
        why["industrial_mu"] = ind_why
        for _, key, _, _ in VALUE_FIELDS:
            why[key] = ind_why
    else:
        ind = _industrial(text_column(p, "用途"), s.industrial_uses)
        ip = p[ind]
        ig = geometry_values(ip)
        col["industrial_m2"], r = over(ig, b_valid=True)
        col["industrial_parcel_count"] = touched(r)
        pairs = None
        if len(ip):
            rp = overlay_areas(zg, ig, crs=crs, sliver_m2=sliver, a_area_m2=area, union=False, keep_pieces=True,
                               b_valid=True)
            pairs = rp.pieces
        parcel_m2 = ip["lk_area_m2"].to_numpy(dtype="float64") if "lk_area_m2" in ip.columns \
            else ellipsoidal_area(ig, crs=crs)
        scale = 1e-4 if s.money_unit == "元" else 1.0
        for fld, key, _, label in VALUE_FIELDS:
            if fld not in p.columns:
                why[key] = f"宗地图层缺少{label}字段，无法计算"
                continue
            v = numeric_column(ip, fld) * (1.0 if key == "floor_area_m2" else scale)
            has = np.isfinite(v)
            total, den = np.zeros(n), col["industrial_m2"]
            if pairs is not None and len(pairs):
                ia, ib = pairs["ia"].to_numpy(), pairs["ib"].to_numpy()
                share = np.minimum(pairs["area_m2"].to_numpy() / np.where(parcel_m2[ib] > 0, parcel_m2[ib], 1.0), 1.0)
                ok = has[ib]
                total = np.bincount(ia[ok], weights=v[ib[ok]] * share[ok], minlength=n)
                if not has.all():
                    den, _ = over(ig[has], b_valid=True)
                    lacking = ~has[ib]
                    miss = np.bincount(ia[lacking], minlength=n)
                    col[f"{key}_missing_count"] = miss
            # a zone whose 工矿仓储 parcels all lack the value: its sum is unknown, not 0
            col[key] = np.where((col["industrial_m2"] > 0) & (den <= 0), np.nan, total)
            col[f"{key}_denominator_m2"] = den
    # the indicators
    notes_by_zone = [[] for _ in range(n)]
    ratios: dict[str, list] = {k: [None] * n for k in INDICATORS}
    row_why: list[dict] = [dict(why) for _ in range(n)]
    no_cond = "开发区内没有已批准的土地" if s.supply_basis == "approved" else "开发区内没有已批准或已供应的土地"
    no_supply = "开发区内没有已供应的国有建设用地"
    no_built = "开发区内没有已建成城镇建设用地"
    ineff_den = "built_in_zone" if s.inefficient_basis == "built" else "supplied"
    for i in range(n):
        w = row_why[i]

        def m(key, i=i):
            return col[key][i] if key in col else None
        if cond_why:
            w["supply_rate"] = cond_why
        else:
            ratios["supply_rate"][i], r = _ratio(supplied_num[i], m("supply_condition_m2"), None, None, no_cond)
            if r:
                w["supply_rate"] = r
        for key, num, den in (("built_rate", "built", "supplied"), ("idle_share", "idle", "supplied"),
                              ("inefficient_share", "inefficient", ineff_den)):
            ratios[key][i], r = _ratio(m(f"{num}_m2"), m(f"{den}_m2"), why.get(f"{num}_mu"),
                                       why.get(f"{den}_mu"), no_supply if den == "supplied" else no_built)
            if r:
                w[key] = r
        for _, key, ikey, label in VALUE_FIELDS:
            den = m(f"{key}_denominator_m2")
            if key != "floor_area_m2" and den is not None:
                den = float(m2_to_mu(den))            # 万元 per 亩
            zero = ("开发区内没有工矿仓储用地宗地" if not m("industrial_m2")
                    else f"开发区内的工矿仓储用地宗地均缺少{label}")
            ratios[ikey][i], r = _ratio(m(key), den, why.get(key), None, zero)
            if r:
                w[ikey] = r
            if m(key) is not None and not np.isfinite(m(key)):
                w[key] = zero
            miss = m(f"{key}_missing_count")
            if miss and ratios[ikey][i] is not None:
                notes_by_zone[i].append(f"{int(miss)} 宗工矿仓储用地宗地缺少{label}，{INDICATORS[ikey]['name']}"
                                        "按其余宗地计算（分子、分母同口径）")
    rows = []

    # the rows: m² → 亩, None where the figure cannot be computed
    def area_mu(key, i):
        return None if key not in col else float(m2_to_mu(col[key][i]))

    for i in range(n):
        total_row = i == n - 1
        grp = groups[i] if not total_row else {"code": TOTAL_CODE, "name": TOTAL_NAME, "level": None, "blocks": [],
                                               "feature_count": int(len(z))}
        row = {"code": grp["code"], "name": grp["name"], "level": grp["level"], "blocks": grp["blocks"],
               "feature_count": grp["feature_count"], "area_mu": area_mu("area_m2", i)}
        for key in ("supply_condition", "supplied", "approved", "approved_unsupplied", "built", "built_in_zone",
                    "built_on_supplied", "industrial", "idle", "inefficient"):
            row[f"{key}_mu"] = area_mu(f"{key}_m2", i)
        for key in ("supply_count", "industrial_parcel_count", "idle_count", "inefficient_count"):
            row[key] = int(col[key][i]) if key in col else None
        for key in ("floor_area_m2", "fixed_asset_wan", "tax_wan"):
            row[key] = float(col[key][i]) if key in col and np.isfinite(col[key][i]) else None
        for key in INDICATORS:
            row[key] = ratios[key][i]
        for key, ha in (("fixed_asset_per_mu_wan", "fixed_asset_per_ha_wan"), ("tax_per_mu_wan", "tax_per_ha_wan")):
            row[ha] = None if row[key] is None else row[key] * 15.0
            if row[key] is None and key in row_why[i]:
                row_why[i][ha] = row_why[i][key]
        un = {k: v for k, v in row_why[i].items() if k in row and row[k] is None}
        if un:
            row["unavailable"] = un
        if notes_by_zone[i]:
            row["notes"] = notes_by_zone[i]
        rows.append(row)

    frame = _frame(rows, zg, crs)
    section_why = {k: v for k, v in why.items() if any(k in r and r[k] is None for r in rows)}
    summary = {"available": True, "as_of": D.isoformat(), "zone_count": len(groups), "feature_count": int(len(z)),
               "supply_basis": s.supply_basis, "built_scope": s.built_scope,
               "inefficient_basis": s.inefficient_basis,
               "basis": {"supply_condition": basis, "built": built_basis,
                         "industrial": "工矿仓储用地取用途含" + "、".join(s.industrial_uses) + "的宗地；建筑面积、"
                         "固定资产投资、税收按宗地落在开发区内的面积比例分摊",
                         "inefficient": "分母为" + ("开发区内已建成城镇建设用地（地类图斑，不限于已供应土地）"
                                                    if s.inefficient_basis == "built"
                                                    else "开发区内已供应国有建设用地")},
               "zones": rows[:-1], "total": rows[-1]}
    if section_why:
        summary["unavailable"] = section_why
    if notes:
        summary["notes"] = notes
    return ZonesResult(summary, frame.iloc[:-1].copy(), frame.iloc[-1:].copy(), findings)


def _frame(rows: list[dict], geoms: np.ndarray, crs) -> gpd.GeoDataFrame:
    """The rows as a GeoDataFrame: None → NaN in number columns (counts Int64), lists joined with
    、, the reasons of the indicators as one text column, 公顷 beside every 亩 column."""
    cols: dict = {}
    for k in rows[0]:
        if k in ("unavailable", "notes"):
            continue
        vals = [r.get(k) for r in rows]
        if k == "blocks":
            cols[k] = ["、".join(v) for v in vals]
        elif k.endswith("_count"):
            cols[k] = pd.array(vals, dtype="Int64")
        elif k.endswith(("_mu", "_m2", "_wan", "_rate", "_share", "_far")):
            cols[k] = np.array([np.nan if v is None else v for v in vals], dtype="float64")
            if k.endswith("_mu"):
                cols[k[:-3] + "_ha"] = cols[k] / 15.0
        else:
            cols[k] = vals
    cols["unavailable"] = ["；".join(f"{INDICATORS[k]['name']}：{v}" for k, v in (r.get("unavailable") or {}).items()
                                    if k in INDICATORS) for r in rows]
    cols["notes"] = ["；".join(r.get("notes") or []) for r in rows]
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)

"""开发区 节约集约 indicators (landkit/analyses/zones.py) on a hand-made county written as GBK
shapefiles without .cpg, and on the sample county. Every expected figure comes from an
independent oracle: geopandas.overlay for the pieces, pyproj.Geod (densified, conftest.geod_area_m2)
for their areas, and the ratios worked out here by hand."""
from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import landkit as lk
from landkit.analyses.zones import development_zones
from landkit.analyses.county_analysis import analyse

from conftest import SAMPLE, X0, Y0, geod_area_m2, write_shp

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # GDAL cutting long Chinese field names

CRS = "EPSG:4526"
MU = 3 / 2000
REL = 1e-6


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


# ---------------------------------------------------------------------------------------------
# the county: 6 × 3 DLTB cells of 200 m; three zones (one in two 区块, two overlapping)
# ---------------------------------------------------------------------------------------------
CODES = [["0601", "0601", "0508", "0601", "0101", "1201"],
         ["0701", "0702", "0601", "05H1", "0101", "0101"],
         ["0101", "1004", "0101", "0101", "0101", "0101"]]
BUILT = {"0601", "0508", "0701", "05H1", "1004"}          # the default [zones] built_dlbm among these

ZONES = [  # 开发区代码, 名称 (the field is 所属开发区名称: a shapefile cuts it to 所属开发区), 级别, 区块, box
    ("KFQ01", "临江经济开发区", "省级", "东区", (0, 0, 400, 400)),
    ("KFQ01", "临江经济开发区", "省级", "西区", (500, 0, 700, 300)),
    ("KFQ02", "新港产业园", "县级", "", (650, 0, 1000, 400)),        # overlaps 西区 on x 650–700
    ("KFQ03", "白沙园区", "县级", "", (1050, 0, 1200, 200)),         # nothing approved, supplied or built
]
SUPPLY = {  # 电子监管号: box, 供地日期, 约定动工日期, 实际动工日期
    "GD01": ((50, 50, 250, 250), "2020-03-01", "2020-09-01", "2020-10-01"),
    "GD02": ((300, 300, 500, 500), "2021-01-01", "2021-06-01", "2021-07-01"),     # a quarter in 东区
    "GD03": ((550, 50, 650, 150), "2021-01-01", "2021-06-01", ""),               # 闲置 (not started)
    "GD04": ((100, 100, 200, 200), "2019-05-01", "2019-09-01", "2019-08-01"),     # inside GD01: counted once
    "GD05": ((1100, 300, 1150, 350), "2020-01-01", "2020-06-01", "2020-07-01"),   # in no zone
    "GD06": ((250, 0, 350, 100), "2024-05-01", "2024-11-01", ""),                # supplied after D
}
APPROVALS = {"鄂土批〔2019〕1号": ((0, 0, 400, 400), "2019-01-01"),
             "鄂土批〔2022〕2号": ((820, 20, 980, 380), "2022-01-01"),          # 新港: approved, nothing supplied
             "鄂土批〔2020〕3号": ((500, 0, 700, 300), "2020-01-01")}
PARCELS = {  # 宗地代码: box, 用途, 容积率, 建筑面积 m², 固定资产投资 万元, 税收总额 万元 (None = blank)
    "ZD01": ((50, 50, 250, 250), "工业用地", 1.2, 48000.0, 6000.0, 450.0),
    "ZD02": ((300, 300, 500, 500), "仓储用地", 1.1, 22000.0, 3000.0, 100.0),     # a quarter in 东区
    "ZD03": ((560, 160, 690, 290), "工业用地", 0.5, 8450.0, 900.0, None),       # 低效; 40 of 130 m in 新港
    "ZD04": ((850, 50, 950, 150), "商服用地", 2.0, 20000.0, 5000.0, 300.0),     # not 工矿仓储
    "ZD05": ((1100, 300, 1180, 380), "工业用地", 1.5, 9600.0, 1000.0, 80.0),    # in no zone
}
D = dt.date(2023, 12, 31)


def dltb() -> gpd.GeoDataFrame:
    rows = []
    for r, line in enumerate(CODES):
        for c, code in enumerate(line):
            rows.append((f"T{r}{c}", code, box(200 * c, 200 * r, 200 * (c + 1), 200 * (r + 1))))
    g = [x[2] for x in rows]
    from landkit.standards.area import ellipsoidal_area
    tbmj = np.round(ellipsoidal_area(gpd.GeoSeries(g, crs=CRS)), 2)
    return gpd.GeoDataFrame({"BSM": [x[0] for x in rows], "DLBM": [x[1] for x in rows],
                             "QSXZ": ["20"] * len(rows), "ZLDWDM": ["4207041001010000000"] * len(rows),
                             "ZLDWMC": ["泽林村"] * len(rows), "TBMJ": tbmj, "KCXS": np.zeros(len(rows)),
                             "TBDLMJ": tbmj}, geometry=g, crs=CRS)


def zones_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"开发区代码": [z[0] for z in ZONES], "所属开发区名称": [z[1] for z in ZONES],
                             "开发区级别": [z[2] for z in ZONES], "区块名称": [z[3] for z in ZONES]},
                            geometry=[box(*z[4]) for z in ZONES], crs=CRS)


def parcels_frame(with_tax=True) -> gpd.GeoDataFrame:
    df = gpd.GeoDataFrame({
        "宗地代码": list(PARCELS), "用途": [p[1] for p in PARCELS.values()], "行业": ["金属制品业"] * len(PARCELS),
        "容积率": [p[2] for p in PARCELS.values()], "亩均税收": [20.0] * len(PARCELS),
        "是否规上": ["否"] * len(PARCELS), "投产年份": [2010] * len(PARCELS),
        "建筑面积": [p[3] for p in PARCELS.values()], "固定资产投资": [p[4] for p in PARCELS.values()],
        "税收总额": [np.nan if p[5] is None else p[5] for p in PARCELS.values()],
    }, geometry=[box(*p[0]) for p in PARCELS.values()], crs=CRS)
    return df if with_tax else df.drop(columns="税收总额")


def make_county(d, *, with_tax=True, zones=True):
    write_shp(dltb(), d / "DLTB.shp")
    if zones:
        write_shp(zones_frame(), d / "开发区.shp")
    write_shp(gpd.GeoDataFrame({"电子监管号": list(SUPPLY), "供地日期": [s[1] for s in SUPPLY.values()],
                                "约定动工日期": [s[2] for s in SUPPLY.values()],
                                "实际动工日期": [s[3] for s in SUPPLY.values()],
                                "土地用途": ["工业用地"] * len(SUPPLY)},
                               geometry=[box(*s[0]) for s in SUPPLY.values()], crs=CRS), d / "供地.shp")
    write_shp(gpd.GeoDataFrame({"批准文号": list(APPROVALS), "批准日期": [a[1] for a in APPROVALS.values()]},
                               geometry=[box(*a[0]) for a in APPROVALS.values()], crs=CRS), d / "批准用地.shp")
    write_shp(parcels_frame(with_tax), d / "宗地.shp")
    (d / "landkit.toml").write_text('[county]\nname = "鄂城区"\nadcode = "420704"\nyear = 2023\n', encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory):
    return make_county(tmp_path_factory.mktemp("kfq") / "420704_鄂城区")


@pytest.fixture(scope="module")
def county(county_dir):
    return lk.read_county(county_dir)


@pytest.fixture(scope="module")
def result(county):
    return development_zones(county)


def by_code(res):
    return {r["code"]: r for r in res.summary["zones"]}


# ---------------------------------------------------------------------------------------------
# the oracle: geopandas.overlay pieces, pyproj.Geod areas
# ---------------------------------------------------------------------------------------------
def frame(geoms):
    return gpd.GeoDataFrame(geometry=list(geoms), crs=CRS)


def zone_geoms() -> dict:
    z = zones_frame().dissolve(by="开发区代码")
    out = {code: g for code, g in zip(z.index, z.geometry)}
    out["合计"] = shapely.union_all(list(out.values()))
    return out


def on(zone, *layers) -> float:
    """Geod m² of zone ∩ layer₁ ∩ layer₂ …, each layer a list of geometries (union semantics),
    the pieces made by geopandas.overlay."""
    cur = frame([zone])
    for geoms in layers:
        if not geoms:
            return 0.0
        cur = gpd.overlay(cur, frame([shapely.union_all(geoms)]), how="intersection", keep_geom_type=True)
        if cur.empty:
            return 0.0
    return float(sum(geod_area_m2(g) for g in cur.geometry))


SUPPLIED = [box(*s[0]) for s in SUPPLY.values() if dt.date.fromisoformat(s[1]) <= D]
APPROVED = [box(*a[0]) for a in APPROVALS.values()]
UNSUPPLIED = [shapely.difference(shapely.union_all(APPROVED), shapely.union_all(SUPPLIED))]
BUILT_CELLS = [box(200 * c, 200 * r, 200 * (c + 1), 200 * (r + 1))
               for r, line in enumerate(CODES) for c, code in enumerate(line) if code in BUILT]
INDUSTRIAL = {k: p for k, p in PARCELS.items() if p[1] in ("工业用地", "仓储用地")}
IDLE = [box(*SUPPLY["GD03"][0])]
INEFFICIENT = [box(*PARCELS["ZD03"][0])]


def value_in(zone, k: int) -> tuple[float, float]:
    """(Σ value × share of the parcel inside the zone, m² of the industrial parcels with a value)."""
    total, with_value = 0.0, []
    for p in INDUSTRIAL.values():
        g = box(*p[0])
        if p[k] is None:
            continue
        with_value.append(g)
        total += p[k] * on(zone, [g]) / geod_area_m2(g)
    return total, on(zone, with_value)


# ---------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------
def test_zone_layer_read_from_gbk_shapefile(county_dir, county, result):
    assert not (county_dir / "开发区.cpg").exists()
    assert "所属开发区" in pyogrio.read_info(county_dir / "开发区.shp", encoding="GBK")["fields"]   # cut to 10 bytes
    z = county.zones
    assert z is not None and len(z) == 4
    assert list(z["开发区名称"]) == [x[1] for x in ZONES]           # GBK decoded, the cut name mapped
    s = result.summary
    assert s["available"] and s["zone_count"] == 3 and s["feature_count"] == 4
    z1 = by_code(result)["KFQ01"]
    assert z1["name"] == "临江经济开发区" and z1["level"] == "省级" and z1["blocks"] == ["东区", "西区"]
    assert z1["feature_count"] == 2
    assert [r["code"] for r in s["zones"]] == ["KFQ01", "KFQ02", "KFQ03"] and s["total"]["code"] == "合计"


def test_areas_are_the_exact_intersections(result):
    zg = zone_geoms()
    rows = {**by_code(result), "合计": result.summary["total"]}
    for code, zone in zg.items():
        r = rows[code]
        want = {"area_mu": geod_area_m2(zone), "supplied_mu": on(zone, SUPPLIED),
                "approved_unsupplied_mu": on(zone, UNSUPPLIED), "approved_mu": on(zone, APPROVED),
                "built_on_supplied_mu": on(zone, SUPPLIED, BUILT_CELLS), "built_in_zone_mu": on(zone, BUILT_CELLS),
                "industrial_mu": on(zone, [box(*p[0]) for p in INDUSTRIAL.values()]),
                "idle_mu": on(zone, IDLE), "inefficient_mu": on(zone, INEFFICIENT)}
        want["supply_condition_mu"] = want["supplied_mu"] + want["approved_unsupplied_mu"]
        want["built_mu"] = want["built_on_supplied_mu"]                  # default [zones] built_scope
        for k, m2 in want.items():
            assert r[k] == pytest.approx(m2 * MU, rel=REL, abs=1e-9), (code, k)
    # by hand (planar boxes, ellipsoidal ≈ planar here to 1e-3): 东区 holds 200×200 of GD01/GD04 once,
    # a quarter of GD02, 西区 all of GD03; GD06 is after the as-of date
    assert rows["KFQ01"]["supplied_mu"] == pytest.approx((40000 + 10000 + 10000) * MU, rel=2e-3)
    # the zones overlap (西区 × 新港: 50 × 300 m): the total counts it once
    assert rows["合计"]["area_mu"] < sum(r["area_mu"] for r in result.summary["zones"])


def test_ratios_by_hand(result):
    zg = zone_geoms()
    rows = {**by_code(result), "合计": result.summary["total"]}
    for code in ("KFQ01", "合计"):
        zone, r = zg[code], rows[code]
        sup, uns = on(zone, SUPPLIED), on(zone, UNSUPPLIED)
        assert r["supply_rate"] == pytest.approx(sup / (sup + uns), rel=REL)
        assert r["built_rate"] == pytest.approx(on(zone, SUPPLIED, BUILT_CELLS) / sup, rel=REL)
        assert r["idle_share"] == pytest.approx(on(zone, IDLE) / sup, rel=REL)
        assert r["inefficient_share"] == pytest.approx(on(zone, INEFFICIENT) / on(zone, BUILT_CELLS), rel=REL)
        floor, ind = value_in(zone, 3)
        assert r["floor_area_m2"] == pytest.approx(floor, rel=REL)
        assert r["industrial_far"] == pytest.approx(floor / ind, rel=REL)
        inv, ind = value_in(zone, 4)
        assert r["fixed_asset_wan"] == pytest.approx(inv, rel=REL)
        assert r["fixed_asset_per_mu_wan"] == pytest.approx(inv / (ind * MU), rel=REL)
        assert r["fixed_asset_per_ha_wan"] == pytest.approx(inv / (ind / 10000), rel=REL)     # the 规程's unit
        tax, ind_tax = value_in(zone, 5)                  # ZD03 has no 税收: out of numerator and denominator
        assert ind_tax < ind
        assert r["tax_per_mu_wan"] == pytest.approx(tax / (ind_tax * MU), rel=REL)
        assert r["tax_per_ha_wan"] == pytest.approx(r["tax_per_mu_wan"] * 15, rel=1e-12)
    # 东区: ZD01 whole, ZD02 a quarter, 西区: ZD03 whole → 容积率 by hand from the planar boxes
    assert rows["KFQ01"]["industrial_far"] == pytest.approx((48000 + 22000 / 4 + 8450) / (40000 + 10000 + 16900),
                                                            rel=2e-3)
    assert any("1 宗工矿仓储用地宗地缺少税收总额" in n for n in rows["KFQ01"]["notes"])


def test_zone_without_supply_is_none_with_a_reason_not_zero(result):
    rows = by_code(result)
    z2, z3 = rows["KFQ02"], rows["KFQ03"]
    # 新港: approved land, none of it supplied → a real 0 %, but nothing to measure 建成率 or 闲置 on
    assert z2["supplied_mu"] == 0.0 and z2["supply_condition_mu"] > 0 and z2["supply_rate"] == 0.0
    for k in ("built_rate", "idle_share"):
        assert z2[k] is None and z2["unavailable"][k] == "开发区内没有已供应的国有建设用地"
    # ZD03's 40 m strip is in 新港, with no 税收 there at all
    assert z2["industrial_far"] == pytest.approx(0.5, rel=2e-3)
    for k in ("tax_wan", "tax_per_mu_wan"):                    # unknown, not 0
        assert z2[k] is None and z2["unavailable"][k] == "开发区内的工矿仓储用地宗地均缺少税收总额", k
    # 白沙: nothing approved, supplied, built or industrial
    assert z3["supply_condition_mu"] == 0.0 and z3["tax_wan"] == 0.0          # no 工矿仓储 land: nothing to sum
    for k, why in (("supply_rate", "开发区内没有已批准或已供应的土地"), ("built_rate", "开发区内没有已供应的国有建设用地"),
                   ("idle_share", "开发区内没有已供应的国有建设用地"),
                   ("inefficient_share", "开发区内没有已建成城镇建设用地"),
                   ("industrial_far", "开发区内没有工矿仓储用地宗地"),
                   ("fixed_asset_per_mu_wan", "开发区内没有工矿仓储用地宗地")):
        assert z3[k] is None and z3["unavailable"][k] == why, k
    assert result.zones.set_index("code").loc["KFQ03", ["supply_rate", "built_rate"]].isna().all()


def test_missing_tax_field_is_none_with_a_reason(tmp_path):
    c = lk.read_county(make_county(tmp_path / "420704_鄂城区", with_tax=False))
    s = development_zones(c).summary
    why = "宗地图层缺少税收总额字段，无法计算"
    assert s["unavailable"]["tax_wan"] == why
    for r in s["zones"] + [s["total"]]:
        assert r["tax_wan"] is None and r["tax_per_mu_wan"] is None and r["tax_per_ha_wan"] is None
        assert r["unavailable"]["tax_per_mu_wan"] == why
    z1 = next(r for r in s["zones"] if r["code"] == "KFQ01")
    assert z1["fixed_asset_per_mu_wan"] is not None and z1["industrial_far"] is not None


def test_missing_layers_say_why(tmp_path):
    d = make_county(tmp_path / "420704_鄂城区")
    for f in d.glob("宗地.*"):
        f.unlink()
    for f in d.glob("批准用地.*"):
        f.unlink()
    s = development_zones(lk.read_county(d)).summary
    z1 = next(r for r in s["zones"] if r["code"] == "KFQ01")
    assert z1["supply_rate"] is None and "批准用地" in z1["unavailable"]["supply_rate"]
    assert z1["built_rate"] is not None                       # needs only supply and DLTB
    assert z1["industrial_far"] is None and z1["unavailable"]["industrial_far"] == "没有宗地图层，无法统计工矿仓储用地"
    assert z1["inefficient_share"] is None and "宗地" in z1["unavailable"]["inefficient_share"]
    no = tmp_path / "none" / "420704_鄂城区"
    res = analyse(lk.read_county(make_county(no, zones=False)))
    assert res.summary["development_zones"]["available"] is False
    assert "开发区图层" in res.summary["development_zones"]["reason"]
    assert "zones" not in res.results


def test_settings_change_the_definitions(county_dir):
    cfg = {"zones": {"supply_basis": "approved", "built_scope": "zone", "inefficient_basis": "supplied",
                     "money_unit": "元", "industrial_uses": ["工业"]}}
    c = lk.read_county(county_dir, config=cfg)
    r = by_code(development_zones(c))["KFQ01"]
    zone = zone_geoms()["KFQ01"]
    sup, app, uns = on(zone, SUPPLIED), on(zone, APPROVED), on(zone, UNSUPPLIED)
    assert r["supply_condition_mu"] == pytest.approx(app * MU, rel=REL)
    assert r["supply_rate"] == pytest.approx((app - uns) / app, rel=REL)
    assert r["built_rate"] == pytest.approx(on(zone, BUILT_CELLS) / sup, rel=REL)
    assert r["inefficient_share"] == pytest.approx(on(zone, INEFFICIENT) / sup, rel=REL)
    ind = [box(*p[0]) for p in PARCELS.values() if p[1] == "工业用地"]          # 仓储 no longer counted
    assert r["industrial_mu"] == pytest.approx(on(zone, ind) * MU, rel=REL)
    inv = sum(p[4] * on(zone, [box(*p[0])]) / geod_area_m2(box(*p[0])) for p in PARCELS.values() if p[1] == "工业用地")
    assert r["fixed_asset_wan"] == pytest.approx(inv / 10000, rel=REL)            # 元 → 万元


def ymd(v) -> dt.date | None:
    """2021-03-01, 2021/3/1, 20210301, 2021年3月1日 (the forms in the sample's 供地) or None."""
    import re
    parts = re.findall(r"\d+", str(v or ""))
    if len(parts) == 1 and len(parts[0]) == 8:
        parts = [parts[0][:4], parts[0][4:6], parts[0][6:]]
    return dt.date(*map(int, parts)) if len(parts) == 3 else None


def test_sample_county_zones_against_its_files():
    """The sample county's 开发区.shp, 供地.shp and 宗地.gpkg read straight with pyogrio (GBK),
    overlaid with geopandas and measured with pyproj.Geod, against what landkit computes."""
    c = lk.read_county(SAMPLE)
    res = analyse(c)
    s = res.summary["development_zones"]
    assert s["available"] and s["zone_count"] == 3 and s["feature_count"] == 4
    z = pyogrio.read_dataframe(SAMPLE / "开发区.shp", encoding="GBK")
    sup = pyogrio.read_dataframe(SAMPLE / "供地.shp", encoding="GBK")
    zd = pyogrio.read_dataframe(SAMPLE / "宗地.gpkg", layer="宗地")
    at = sup[[d is None or d <= c.as_of for d in map(ymd, sup["供地日期"])]]
    ind = zd[zd["用途"].isin(["工业用地", "仓储用地"])]
    rows = {r["code"]: r for r in s["zones"]}
    for code, grp in z.groupby("开发区代码"):
        zone = shapely.union_all(grp.geometry.values)
        r = rows[code]
        assert r["area_mu"] == pytest.approx(geod_area_m2(zone) * MU, rel=REL)
        assert r["supplied_mu"] == pytest.approx(on(zone, list(at.geometry)) * MU, rel=REL)
        assert r["industrial_mu"] == pytest.approx(on(zone, list(ind.geometry)) * MU, rel=REL)
        tax = sum(t * on(zone, [g]) / geod_area_m2(g) for t, g in zip(ind["税收总额"], ind.geometry)
                  if shapely.intersects(zone, g))
        assert r["tax_per_mu_wan"] == pytest.approx(tax / (r["industrial_mu"]), rel=REL)
        for k in ("supply_rate", "built_rate", "industrial_far", "fixed_asset_per_mu_wan", "tax_per_mu_wan",
                  "idle_share", "inefficient_share"):
            assert r[k] is not None and 0 < r[k] or k == "idle_share", (code, k)
    assert rows["KFQ42070401"]["blocks"] == ["北区", "南区"]


def test_zones_without_names_or_with_two_names(tmp_path):
    d = make_county(tmp_path / "420704_鄂城区")
    for f in d.glob("开发区.*"):
        f.unlink()
    write_shp(gpd.GeoDataFrame({"备注": ["东片", "西片"]}, geometry=[box(0, 0, 400, 400), box(500, 0, 700, 300)],
                               crs=CRS), d / "开发区.shp")
    c = lk.read_county(d)
    res = development_zones(c)
    assert [r["name"] for r in res.summary["zones"]] == ["开发区 FID 0", "开发区 FID 1"]
    assert [f.code for f in res.findings] == ["zone_unnamed"] and res.findings[0].features == ["FID 0", "FID 1"]
    for f in d.glob("开发区.*"):
        f.unlink()
    write_shp(gpd.GeoDataFrame({"KFQDM": ["K1", "K1"], "KFQMC": ["临江开发区", "临江经济开发区"]},
                               geometry=[box(0, 0, 400, 400), box(500, 0, 700, 300)], crs=CRS), d / "开发区.shp")
    res = development_zones(lk.read_county(d))
    assert len(res.summary["zones"]) == 1 and res.summary["zones"][0]["name"] == "临江开发区"
    assert res.summary["zones"][0]["area_mu"] == pytest.approx(
        geod_area_m2(shapely.union_all([box(0, 0, 400, 400), box(500, 0, 700, 300)])) * MU, rel=REL)
    f, = res.findings
    assert f.code == "zone_names_differ" and "临江开发区、临江经济开发区" in f.message and f.field == "开发区名称"

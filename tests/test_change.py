"""Two DLTB vintages compared (landkit.analyses.change): the transfer matrix, the 耕地 balance,
非农化 / 非粮化 and the 卫片 cross-check, against an independent overlay (geopandas.overlay +
pyproj.Geod areas), against the changes the sample county's generator recorded, and on a hand-built
county of boxes with known areas (GBK shapefiles without .cpg, Chinese field names, a bow-tie)."""
from __future__ import annotations

import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from conftest import SAMPLE, X0, Y0, write_shp

import landkit as lk
from landkit.analyses.change import identical_pairs, land_change
from landkit.analyses.satellite import satellite_ratio
from landkit.pipeline.run import analyse

MU = 3 / 2000
GEOD = pyproj.Geod(a=6378137.0, rf=298.257222101)
TO_LL = pyproj.Transformer.from_crs("EPSG:4526", "EPSG:4490", always_xy=True)
CULT = {"0101", "0102", "0103"}
WETLAND = {"0303", "0304", "0306", "0402", "0603", "1105", "1106", "1108"}


def geod_areas(geoms, step=20.0) -> np.ndarray:
    """Independent ellipsoidal areas (m²): edges densified to ``step`` m, unprojected, geodesic area."""
    g = shapely.segmentize(np.asarray(geoms, dtype=object), step)
    ll = shapely.transform(g, lambda xy: np.column_stack(TO_LL.transform(xy[:, 0], xy[:, 1])))
    return np.array([abs(GEOD.geometry_area_perimeter(x)[0]) if not x.is_empty else 0.0 for x in ll])


def level1(code: str) -> str:
    return "00" if code in WETLAND else code[:2]


# ------------------------------------------------------------------ the sample county, independent overlay
@pytest.fixture(scope="module")
def sample():
    county = lk.read_county(SAMPLE)
    sat = satellite_ratio(county)
    res = land_change(county, satellite={"available": True, **sat.summary})
    return county, sat, res


@pytest.fixture(scope="module")
def oracle():
    """geopandas.overlay of the two files as written, Geod areas, pieces under 1 m² dropped."""
    new = gpd.read_file(SAMPLE / "DLTB.shp", encoding="GBK", columns=["DLBM", "KCXS", "ZZSXDM"], engine="pyogrio")
    old = gpd.read_file(SAMPLE / "DLTB_2023.gpkg", layer="DLTB", columns=["DLBM", "KCXS", "ZZSXDM"], engine="pyogrio")
    for g in (new, old):
        g["geometry"] = g.geometry.make_valid()
        g["KCXS"] = np.where(g["DLBM"].isin(CULT), g["KCXS"].fillna(0.0), 0.0)
    o = gpd.overlay(old, new, how="intersection", keep_geom_type=True)
    o["a"] = geod_areas(o.geometry.values)
    o = o[o["a"] >= 1.0].copy()
    o["k1"], o["k2"] = o["KCXS_1"], o["KCXS_2"]
    o["z1"], o["z2"] = o["ZZSXDM_1"].fillna(""), o["ZZSXDM_2"].fillna("")
    old["a"] = geod_areas(old.geometry.values)
    new["a"] = geod_areas(new.geometry.values)
    return o, old, new


def cells(summary_cells, value="gross_mu") -> pd.Series:
    df = pd.DataFrame(summary_cells)
    return df.set_index(["from_code", "to_code"])[value]


def compare(ours: pd.Series, theirs: pd.Series, tol=0.01):
    j = pd.concat([ours.rename("ours"), theirs.rename("oracle")], axis=1).fillna(0.0)
    diff = (j["ours"] - j["oracle"]).abs()
    assert (diff <= tol).all(), j[diff > tol]
    return j


def test_sample_reads_both_vintages(sample):
    county, _, res = sample
    assert county.sources["dltb"].path.name == "DLTB.shp"
    assert county.sources["dltb_previous"].path.name == "DLTB_2023.gpkg"
    s = res.summary
    assert (s["previous_year"], s["current_year"]) == (2023, 2024)
    assert s["previous_polygon_count"] == len(county.dltb_previous) and s["current_polygon_count"] == len(county.dltb)
    assert not [f for f in county.qa.findings if f.layer == "dltb_previous" and f.level != "info"]


def test_matrix_level2_gross_within_a_hundredth_of_a_mu_per_cell(sample, oracle):
    _, _, res = sample
    o, _, _ = oracle
    theirs = o.groupby(["DLBM_1", "DLBM_2"])["a"].sum() * MU
    j = compare(cells(res.summary["matrix_level2"]), theirs)
    assert len(j) > 80 and (j.index.get_level_values(0) != j.index.get_level_values(1)).sum() > 30


def test_matrix_level1_and_three_classes(sample, oracle):
    _, _, res = sample
    o, _, _ = oracle
    from landkit.standards.codes import big_class
    l1 = o.assign(f=o["DLBM_1"].map(level1), t=o["DLBM_2"].map(level1)).groupby(["f", "t"])["a"].sum() * MU
    compare(cells(res.summary["matrix_level1"]), l1)
    cls = o.assign(f=o["DLBM_1"].map(big_class), t=o["DLBM_2"].map(big_class)).groupby(["f", "t"])["a"].sum() * MU
    compare(cells(res.summary["matrix_class"]), cls)
    piv = res.matrix("level1", "gross")
    assert piv.loc["合计", "合计"] == pytest.approx(o["a"].sum() * MU, abs=0.01)
    assert piv.loc["01 耕地", "合计"] == pytest.approx(o.loc[o["DLBM_1"].isin(CULT), "a"].sum() * MU, abs=0.01)


def test_net_matrix_rows_and_columns_are_each_vintages_net_areas(sample, oracle):
    """Net: 耕地 × (1 − KCXS), 田坎 (1203) its own class; row sums = the previous vintage's net class
    areas, column sums = the current one's (each vintage measured on its own, by Geod)."""
    _, _, res = sample
    _, old, new = oracle
    net = pd.DataFrame(res.summary["matrix_level2"])
    for side, layer in (("from", old), ("to", new)):
        got = net.groupby(f"{side}_code")["net_mu"].sum()
        want = (layer["a"] * (1 - layer["KCXS"])).groupby(layer["DLBM"]).sum() * MU
        want.loc["1203"] = want.get("1203", 0.0) + (layer["a"] * layer["KCXS"]).sum() * MU
        compare(got, want, tol=0.02)


def test_cultivated_balance_against_the_oracle(sample, oracle):
    _, _, res = sample
    o, old, new = oracle
    s = res.summary
    gd1, gd2 = o["DLBM_1"].isin(CULT), o["DLBM_2"].isin(CULT)
    from landkit.settings import NONFOOD_DLBM, NONGRAIN_ZZSXDM
    from landkit.standards.codes import construction_codes
    cons = o["DLBM_2"].isin(construction_codes())
    nf = o["DLBM_2"].isin(NONFOOD_DLBM)
    out, inn, stay = gd1 & ~gd2, ~gd1 & gd2, gd1 & gd2
    ng = stay & o["z2"].isin(NONGRAIN_ZZSXDM) & ~o["z1"].isin(NONGRAIN_ZZSXDM)
    a, k1, k2 = o["a"], o["k1"], o["k2"]
    want = {"gross": {"cultivated_out_mu": a[out].sum(), "cultivated_in_mu": a[inn].sum(),
                      "cultivated_to_construction_mu": a[out & cons].sum(),
                      "cultivated_to_nonfood_by_class_mu": a[out & nf].sum(), "cultivated_to_nongrain_mu": a[ng].sum(),
                      "cultivated_kcxs_change_mu": 0.0},
            "net": {"cultivated_out_mu": (a * (1 - k1))[out].sum(), "cultivated_in_mu": (a * (1 - k2))[inn].sum(),
                    "cultivated_to_construction_mu": (a * (1 - k1))[out & cons].sum(),
                    "cultivated_to_nonfood_by_class_mu": (a * (1 - k1))[out & nf].sum(),
                    "cultivated_to_nongrain_mu": (a * (1 - k2))[ng].sum(),
                    "cultivated_kcxs_change_mu": (a * (k1 - k2))[stay].sum()}}
    for mode, w in want.items():
        for k, v in w.items():
            assert s[mode][k] == pytest.approx(v * MU, abs=0.01), (mode, k)
        b = s[mode]
        assert b["cultivated_net_change_mu"] == pytest.approx(
            (w["cultivated_in_mu"] - w["cultivated_out_mu"] + w["cultivated_kcxs_change_mu"]) * MU, abs=0.01)
    assert s["farmland_mode"] == "net" and s["cultivated_out_mu"] == s["net"]["cultivated_out_mu"]
    # the balance closes on the two vintages' own 耕地 totals (the sample's vintages cover the same land)
    for col, layer in (("cultivated_previous_mu", old), ("cultivated_current_mu", new)):
        m = layer["DLBM"].isin(CULT)
        assert s[col] == pytest.approx((layer["a"] * (1 - layer["KCXS"]))[m].sum() * MU, abs=0.02)
    assert s["cultivated_current_mu"] - s["cultivated_previous_mu"] == pytest.approx(s["cultivated_net_change_mu"],
                                                                                     abs=0.02)
    assert s["cultivated_to_nonfood_mu"] == pytest.approx(s["cultivated_to_nonfood_by_class_mu"]
                                                          + s["cultivated_to_nongrain_mu"], abs=1e-9)


def test_the_generators_known_changes(sample):
    """synth_manifest.toml lists every 图斑 P of DLTB.shp that changed since 2023; the 耕地 flows are
    exactly those P (measured here by Geod on DLTB.shp), and the unmonitored ones are the 疑似漏监测."""
    county, _, res = sample
    man = tomllib.loads((SAMPLE / "synth_manifest.toml").read_text(encoding="utf-8"))["previous_vintage"]
    items = pd.DataFrame(man["changes"])
    new = gpd.read_file(SAMPLE / "DLTB.shp", encoding="GBK", columns=["BSM"], engine="pyogrio")
    area = dict(zip(new["BSM"], geod_areas(new.geometry.values)))
    items["a"] = items["bsm"].map(area)
    assert items["a"].notna().all() and len(items) == sum(v["count"] for v in man["by_kind"].values())
    g = res.summary["gross"]

    def total(*kinds):
        return items.loc[items["kind"].isin(kinds), "a"].sum() * MU
    assert g["cultivated_to_construction_mu"] == pytest.approx(
        total("to_construction_monitored", "to_construction_unmonitored"), abs=0.01)
    assert g["cultivated_to_nonfood_by_class_mu"] == pytest.approx(total("to_nonfood"), abs=0.01)
    assert g["cultivated_out_mu"] == pytest.approx(
        total("to_construction_monitored", "to_construction_unmonitored", "to_nonfood"), abs=0.01)
    assert g["cultivated_in_mu"] == pytest.approx(total("from_other"), abs=0.01)
    assert g["cultivated_to_nongrain_mu"] == pytest.approx(total("to_nongrain"), abs=0.01)
    s = res.summary
    assert s["unmonitored_count"] == man["by_kind"]["to_construction_unmonitored"]["count"]
    out = res.outflow
    unmon = set(out.loc[out["unmonitored"], "to_bsm"])
    assert unmon == set(items.loc[items["kind"] == "to_construction_unmonitored", "bsm"])
    mon = out[out["to_bsm"].isin(items.loc[items["kind"] == "to_construction_monitored", "bsm"])]
    assert len(mon) and (mon["has_patch"].isin(["yes", "partly"])).all() and mon["patch_ids"].notna().all()
    # a 图斑 that only changed attributes is one piece, the whole polygon
    only_attr = items[(items["kind"] == "to_construction_unmonitored") & (items["split_from"] == "")]
    assert set(only_attr["bsm"]) <= set(out.loc[out["unchanged_polygon"], "to_bsm"])
    splits = sum(v["split"] for v in man["by_kind"].values())
    assert s["unchanged_polygon_count"] == len(county.dltb) - 2 * splits     # a split P and its partner Q changed


def test_satellite_cross_check(sample):
    county, sat, res = sample
    s = res.summary
    D = sat.summary["new_construction_farmland_mu"]
    assert s["satellite_denominator_mu"] == D
    assert s["satellite_denominator_gap_mu"] == pytest.approx(s["new_construction_on_cultivated_mu"] - D, abs=1e-9)
    assert s["new_construction_on_cultivated_mu"] == s["cultivated_to_construction_mu"]
    towns = {r["code"]: r for r in s["by_township"]}
    for r in sat.summary["by_township"]:
        assert towns[r["code"]]["satellite_denominator_mu"] == pytest.approx(r["new_construction_farmland_mu"])
    assert sum(r["cultivated_out_mu"] for r in s["by_township"]) == pytest.approx(s["cultivated_out_mu"], abs=1e-6)
    assert sum(r["cultivated_in_mu"] for r in s["by_township"]) == pytest.approx(s["cultivated_in_mu"], abs=1e-6)
    assert sum(r["cultivated_net_change_mu"] for r in s["by_township"]) == pytest.approx(
        s["cultivated_net_change_mu"], abs=1e-6)
    assert sum(r["unmonitored_count"] for r in s["by_township"]) == s["unmonitored_count"]
    # without the 卫片 layer: the cross-check is null with the reason, never 0
    r2 = land_change(county, satellite={"available": False, "reason": "该县没有卫片图斑图层"})
    assert r2.summary["satellite_denominator_gap_mu"] is None
    assert "卫片" in r2.summary["unavailable"]["satellite_denominator_gap_mu"]


# ------------------------------------------------------------------ a hand-built county of boxes
def _box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


Z1, Z2 = "4207041001010000000", "4207041021020000000"     # 泽林镇 / 汀祖镇 villages


def hand_county(tmp_path, previous_year=2023, patches=True):
    """Previous: A 0101 (KCXS 0.1) 200×100, B 0301 100×100, C 0103 (KCXS 0.05) 100×100, D 0702 a bow-tie.
    Current: A split: A1 0101 (KCXS 0.2, ZZSXDM FLS) 100×100 and A2 0601 100×100; B → 0101 (KCXS 0.1);
    C → 0701 (no patch: 疑似漏监测); D unchanged. A patch covers half of A2."""
    d = tmp_path / "420704_测试区"
    bow = shapely.Polygon([(X0 + 400, Y0), (X0 + 500, Y0 + 100), (X0 + 500, Y0), (X0 + 400, Y0 + 100)])
    old = gpd.GeoDataFrame({
        "标识码": ["P-A", "P-B", "P-C", "P-D"], "地类编码": ["0101", "0301", "0103", "0702"],
        "坐落单位代码": [Z1, Z1, Z2, Z2], "扣除地类系数": [0.1, 0.0, 0.05, 0.0], "种植属性代码": ["LS", None, "LS", None]},
        geometry=[_box(0, 0, 200, 100), _box(200, 0, 300, 100), _box(300, 0, 400, 100), bow], crs="EPSG:4526")
    new = gpd.GeoDataFrame({
        "BSM": ["N-A1", "N-A2", "N-B", "N-C", "N-D"], "DLBM": ["0101", "0601", "0101", "0701", "0702"],
        "ZLDWDM": [Z1, Z1, Z1, Z2, Z2], "KCXS": [0.2, 0.0, 0.1, 0.0, 0.0], "ZZSXDM": ["FLS", None, "LS", None, None]},
        geometry=[_box(0, 0, 100, 100), _box(100, 0, 200, 100), _box(200, 0, 300, 100), _box(300, 0, 400, 100), bow],
        crs="EPSG:4526")
    write_shp(old, d / "旧数据" / f"地类图斑{previous_year}.shp")
    write_shp(new, d / "DLTB.shp")
    if patches:
        wp = gpd.GeoDataFrame({"监测编号": ["W1"], "判定类型": ["违法"]}, geometry=[_box(150, 0, 200, 100)],
                              crs="EPSG:4526")
        write_shp(wp, d / "卫片图斑.shp")
    (d / "landkit.toml").write_text('[county]\nyear = 2024\n', encoding="utf-8")
    return d


def test_hand_built_county_known_areas(tmp_path):
    c = lk.read_county(hand_county(tmp_path))
    assert c.vintages == {"dltb": 2024, "dltb_previous": 2023}
    assert c.dltb_previous["ZZSXDM"].tolist()[:3] == ["LS", None, "LS"]        # Chinese field names mapped
    res = analyse(c)
    s = res.summary["change"]
    assert s["available"] is True
    A1, A2, B, C = (geod_areas([_box(0, 0, 100, 100)])[0], geod_areas([_box(100, 0, 200, 100)])[0],
                    geod_areas([_box(200, 0, 300, 100)])[0], geod_areas([_box(300, 0, 400, 100)])[0])
    g, n = s["gross"], s["net"]
    assert g["cultivated_out_mu"] == pytest.approx((A2 + C) * MU, abs=1e-6)
    assert n["cultivated_out_mu"] == pytest.approx((A2 * 0.9 + C * 0.95) * MU, abs=1e-6)
    assert g["cultivated_in_mu"] == pytest.approx(B * MU, abs=1e-6)
    assert n["cultivated_in_mu"] == pytest.approx(B * 0.9 * MU, abs=1e-6)
    assert n["cultivated_kcxs_change_mu"] == pytest.approx(A1 * (0.1 - 0.2) * MU, abs=1e-6)
    assert n["cultivated_net_change_mu"] == pytest.approx((B * 0.9 - A2 * 0.9 - C * 0.95 - A1 * 0.1) * MU, abs=1e-6)
    assert n["cultivated_to_construction_mu"] == pytest.approx((A2 * 0.9 + C * 0.95) * MU, abs=1e-6)
    assert n["cultivated_to_nongrain_mu"] == pytest.approx(A1 * 0.8 * MU, abs=1e-6)     # LS → FLS on A1
    assert g["cultivated_to_nonfood_by_class_mu"] == 0.0
    net = {(r["from_code"], r["to_code"]): r["net_mu"] for r in s["matrix_level2"]}
    want = {("0101", "0101"): A1 * 0.8, ("0101", "1203"): A1 * 0.1, ("1203", "1203"): A1 * 0.1 + 0,
            ("0101", "0601"): A2 * 0.9, ("1203", "0601"): A2 * 0.1, ("0301", "0101"): B * 0.9,
            ("0301", "1203"): B * 0.1, ("0103", "0701"): C * 0.95, ("1203", "0701"): C * 0.05}
    for k, v in want.items():
        assert net[k] == pytest.approx(v * MU, abs=1e-6), k
    gross = {(r["from_code"], r["to_code"]): r["gross_mu"] for r in s["matrix_level2"]}
    assert gross[("0702", "0702")] == pytest.approx(geod_areas([shapely.make_valid(
        shapely.Polygon([(X0 + 400, Y0), (X0 + 500, Y0 + 100), (X0 + 500, Y0), (X0 + 400, Y0 + 100)]))])[0] * MU,
        abs=1e-6)                                                          # the bow-tie, repaired, unchanged
    assert s["unchanged_polygon_count"] == 3                # B, C (attributes only) and the bow-tie D
    # the 卫片 cover and the 疑似漏监测
    out = res.change.outflow.set_index("to_bsm")
    assert out.loc["N-A2", "has_patch"] == "partly" and out.loc["N-A2", "patch_ids"] == "W1"
    assert out.loc["N-A2", "patch_m2"] == pytest.approx(A2 / 2, rel=1e-6)
    assert out.loc["N-C", "has_patch"] == "no" and bool(out.loc["N-C", "unmonitored"])
    assert s["unmonitored_count"] == 1 and s["unmonitored_piece_mu"] == pytest.approx(C * 0.95 * MU, abs=1e-6)
    assert s["monitored_mu"] == pytest.approx(A2 / 2 * 0.9 * MU, abs=1e-6)
    D = res.summary["satellite"]["new_construction_farmland_mu"]
    assert D == pytest.approx(0.0, abs=1e-9)     # the patch lies on 工业用地 in the current DLTB: no 耕地
    assert s["satellite_denominator_gap_mu"] == pytest.approx(s["new_construction_on_cultivated_mu"] - D)
    towns = {r["code"]: r for r in s["by_township"]}
    assert towns["420704100"]["cultivated_out_mu"] == pytest.approx(A2 * 0.9 * MU, abs=1e-6)
    assert towns["420704102"]["cultivated_out_mu"] == pytest.approx(C * 0.95 * MU, abs=1e-6)
    assert towns["420704102"]["unmonitored_count"] == 1


def test_vintages_years_apart_are_not_checked_against_the_satellite(tmp_path):
    c = lk.read_county(hand_county(tmp_path, previous_year=2021))
    s = analyse(c).summary["change"]
    assert s["previous_year"] == 2021 and s["satellite_denominator_gap_mu"] is None
    assert "相隔 3 年" in s["unavailable"]["satellite_denominator_gap_mu"]
    assert s["cultivated_out_mu"] > 0                          # the rest is computed


def test_without_patches_the_cover_is_unknown_not_zero(tmp_path):
    c = lk.read_county(hand_county(tmp_path, patches=False))
    res = analyse(c)
    s = res.summary["change"]
    for k in ("unmonitored_count", "unmonitored_mu", "monitored_mu", "satellite_denominator_gap_mu"):
        assert s[k] is None and s["unavailable"][k], k
    assert set(res.change.outflow["has_patch"]) == {"no_layer"}


def test_gross_mode_setting(tmp_path):
    d = hand_county(tmp_path)
    c = lk.read_county(d, {"change": {"farmland_mode": "gross"}})
    s = land_change(c).summary
    assert s["farmland_mode"] == "gross" and s["cultivated_out_mu"] == s["gross"]["cultivated_out_mu"]
    assert all(r["area_mu"] == r["gross_mu"] for r in s["matrix_level2"])


def test_one_vintage_says_why(county_dir):
    s = analyse(lk.read_county(county_dir)).summary["change"]
    assert s["available"] is False and "只有一期" in s["reason"] and "dltb_previous" in s["reason"]


def test_without_zzsxdm_the_planting_part_is_unknown(tmp_path):
    d = hand_county(tmp_path)
    old = gpd.read_file(d / "旧数据" / "地类图斑2023.shp", encoding="GBK")
    old = old.drop(columns=[c for c in old.columns if c.startswith("种植")])
    write_shp(old, d / "旧数据" / "地类图斑2023.shp")
    s = analyse(lk.read_county(d)).summary["change"]
    assert s["cultivated_to_nongrain_mu"] is None and "ZZSXDM" in s["unavailable"]["cultivated_to_nongrain_mu"]
    assert s["cultivated_to_nonfood_mu"] == s["cultivated_to_nonfood_by_class_mu"]
    assert any("种植属性" in n for n in s["notes"])


# ------------------------------------------------------------------ unchanged polygons
def test_identical_pairs_ignore_orientation_start_and_single_part_multipolygon():
    a = [_box(0, 0, 10, 10), _box(10, 0, 20, 10), _box(20, 0, 30, 10), _box(30, 0, 40, 10), _box(40, 0, 50, 10)]
    ring = list(a[1].exterior.coords)[:-1]
    b = [shapely.MultiPolygon([a[0]]),                                   # single-part multipolygon
         shapely.Polygon(ring[2:] + ring[:2]),                           # another start vertex
         shapely.Polygon(list(a[2].exterior.coords)[::-1]),              # reversed
         _box(30, 0, 40, 10.001),                                        # moved by 1 mm: changed
         _box(40, 0, 50, 10), _box(40, 0, 50, 10)]                       # repeated: matched to nothing
    ma, mb = identical_pairs(np.array(a, dtype=object), np.array(b, dtype=object))
    assert ma.tolist() == [0, 1, 2, -1, -1] and mb.tolist() == [0, 1, 2, -1, -1, -1]


def test_township_matrices_add_up_to_the_county(sample):
    """Each township carries its 一级类 matrix; summed over townships they give the county's, cell by cell."""
    _, _, res = sample
    s = res.summary
    total = pd.concat([pd.DataFrame(r["matrix_level1"]) for r in s["by_township"] if r["matrix_level1"]])
    by = total.groupby(["from_code", "to_code"])[["gross_mu", "net_mu"]].sum()
    county = pd.DataFrame(s["matrix_level1"]).set_index(["from_code", "to_code"])[["gross_mu", "net_mu"]]
    j = county.join(by, rsuffix="_t", how="outer").fillna(0.0)
    assert np.allclose(j["gross_mu"], j["gross_mu_t"], atol=1e-6) and np.allclose(j["net_mu"], j["net_mu_t"], atol=1e-6)
    # the 耕地 rows of a township's matrix are its balance
    for r in s["by_township"]:
        m = pd.DataFrame(r["matrix_level1"])
        if not len(m):
            continue
        out = m[(m["from_code"] == "01") & (m["to_code"] != "01") & (m["to_code"] != "12")]["net_mu"].sum()
        assert out <= r["cultivated_out_mu"] + 1e-6

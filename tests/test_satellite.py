"""卫片 ratio: rules at their edges on a hand-made county, written to real shapefiles."""
import geopandas as gpd
import numpy as np
import pytest
import shapely

import landkit as lk
from landkit.analyses.satellite import (classify_judgements, parse_quarter, rectify_to_cap, satellite_ratio,
                                        status_of)
from landkit.errors import InputError

from conftest import X0, Y0, write_shp

import pandas as pd


def make_county(tmp_path, judgements, *, quarters=None, rectified=None, dlbm_left="0101", kcxs=0.1):
    """Two township strips of DLTB (west 420704100, east 420704101), patches across them."""
    d = tmp_path / "420704_鄂城区"
    dl = gpd.GeoDataFrame({
        "BSM": ["A", "B", "C"],
        "DLBM": [dlbm_left, "0103", "0701"],
        "ZLDWDM": ["4207041001010000000", "4207041011010000000", "4207041011020000000"],
        "KCXS": [kcxs if dlbm_left in ("0101", "0102", "0103") else 0.0, 0.0, 0.0],
        "KCDLBM": ["1203" if kcxs else None, None, None],
    }, geometry=[shapely.box(X0, Y0, X0 + 1000, Y0 + 1000), shapely.box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
                 shapely.box(X0, Y0 + 1000, X0 + 2000, Y0 + 2000)], crs="EPSG:4526")
    write_shp(dl, d / "DLTB.shp")
    n = len(judgements)
    # patch i: 100 m x 100 m at x = 950 + 200 i  (patch 0 straddles the township border 50/50)
    geoms = [shapely.box(X0 + 950 + 200 * i, Y0 + 100, X0 + 1050 + 200 * i, Y0 + 200) for i in range(n)]
    p = gpd.GeoDataFrame({"监测编号": [f"P{i}" for i in range(n)], "判定类型": judgements,
                          "季度": quarters or [1] * n, "整改状态": rectified or [None] * n,
                          "违法类型": ["未批先建" if "违法" in str(j) else None for j in judgements]},
                         geometry=geoms, crs="EPSG:4526")
    write_shp(p, d / "卫片图斑.shp")
    t = gpd.GeoDataFrame({"XZQDM": ["420704100", "420704101"], "XZQMC": ["泽林镇", "杜山镇"]},
                         geometry=[shapely.box(X0, Y0, X0 + 1000, Y0 + 2000),
                                   shapely.box(X0 + 1000, Y0, X0 + 2000, Y0 + 2000)], crs="EPSG:4526")
    write_shp(t, d / "XZQ.shp")
    return d


def test_judgement_classes():
    v = pd.Series(["合法", "用地审批（批文）", "土地供应", "临时用地", "违法", "非农违法", "设施农用地", "农村道路", "其他",
                   "伪变化", " 合法(补办) "])
    assert classify_judgements(v).tolist() == ["legal"] * 4 + ["illegal"] * 2 + ["other"] * 3 + ["pseudo", "legal"]


def test_unknown_judgement_values_are_listed():
    with pytest.raises(InputError) as e:
        classify_judgements(pd.Series(["合法", "待定", None, "待定"]))
    assert "待定" in str(e.value) and "（空）" not in str(e.value) and "[satellite.judgement]" in str(e.value)
    assert classify_judgements(pd.Series(["待定"]), {"待定": "other"}).tolist() == ["other"]
    # not judged yet (blank, 未判定, 待判定): its own class, kept out of the ratio, never an error
    assert classify_judgements(pd.Series([None, "", " 未判定", "待判定", "违法"])).tolist() == \
        ["unjudged"] * 4 + ["illegal"]


@pytest.mark.parametrize("q,date,expected", [
    (1, None, 1), ("第三季度", None, 3), ("2024Q2", None, 2), ("Q4", None, 4), ("二季度", None, 2),
    (None, "2024-05-20", 2), (None, "2024年11月3日", 4), (None, None, None), ("x", "bad", None),
])
def test_quarters(q, date, expected):
    assert parse_quarter(q, date) == expected


@pytest.mark.parametrize("ratio,status", [
    (0.0, "pass"), (0.05, "pass"), (0.0500001, "over_cap"), (0.1499, "over_cap"), (0.15, "accountability"),
    (0.6, "accountability"), (None, "no_data")])
def test_status_edges(ratio, status):
    assert status_of(ratio, 0.05, 0.15) == status


def test_rectify_formula_reaches_the_cap_exactly():
    I, D, c = 12.0, 100.0, 0.05
    x = rectify_to_cap(I, D, c)
    assert (I - x) / (D - x) == pytest.approx(c)
    assert rectify_to_cap(4.0, 100.0, c) == 0.0


def test_ratio_on_a_hand_made_county(tmp_path):
    # patch 0: 违法, straddles 泽林镇 (0101, KCXS 0.1) and 杜山镇 (0103, no KCXS) 50/50
    # patch 1: 合法 on 杜山镇 旱地; patch 2: 伪变化; patch 3: 设施农用地
    d = make_county(tmp_path, ["违法", "合法", "伪变化", "设施农用地"])
    c = lk.read_county(d)
    r = satellite_ratio(c)
    s = r.summary
    a = 10000.0 * 3 / 2000       # ~15 亩 per patch (ellipsoidal: slightly less)
    scale = c.patches["lk_area_m2"].iloc[0] / 10000.0
    ill = (5000 * 0.9 + 5000) * scale * 3 / 2000
    legal = 10000 * scale * 3 / 2000
    assert s["illegal_farmland_mu"] == pytest.approx(ill, rel=1e-6)
    assert s["new_construction_farmland_mu"] == pytest.approx(ill + legal, rel=1e-6)
    assert s["ratio"] == pytest.approx(ill / (ill + legal), rel=1e-5)
    assert s["status"] == "accountability" and s["counted_patch_count"] == 2 and s["patch_count"] == 4
    towns = {t["code"]: t for t in s["by_township"]}
    assert towns["420704100"]["name"] == "泽林镇"
    assert towns["420704100"]["illegal_farmland_mu"] == pytest.approx(4500 * scale * 1.5e-3, rel=1e-6)
    assert towns["420704101"]["illegal_farmland_mu"] == pytest.approx(5000 * scale * 1.5e-3, rel=1e-6)
    assert towns["420704100"]["ratio"] == pytest.approx(1.0)
    # gross mode counts the 田坎 too
    g = satellite_ratio(c, c.config.merged({"satellite": {"farmland_mode": "gross"}}))
    assert g.summary["illegal_farmland_mu"] == pytest.approx(10000 * scale * 1.5e-3, rel=1e-6)


def test_deducted_ratio_and_quarters(tmp_path):
    d = make_county(tmp_path, ["违法", "合法", "违法", "合法"], quarters=[1, 2, 3, "第四季度"],
                    rectified=["未整改", None, "已整改", None])
    s = satellite_ratio(lk.read_county(d)).summary
    assert s["rectified_patch_count"] == 1
    assert s["deducted_illegal_farmland_mu"] < s["illegal_farmland_mu"]
    assert s["deducted_ratio"] == pytest.approx(s["deducted_illegal_farmland_mu"] / s["deducted_new_construction_farmland_mu"])
    q = {x["quarter"]: x for x in s["by_quarter"]}
    assert q[1]["ratio"] == pytest.approx(1.0)             # only patch 0 (illegal)
    assert q[4]["ratio"] == pytest.approx(s["ratio"])
    assert q[2]["new_construction_farmland_mu"] < q[3]["new_construction_farmland_mu"]
    assert s["rectify_patches"] and s["rectify_to_cap_mu"] > 0
    got = sum(p["farmland_mu"] for p in s["rectify_patches"])
    assert got >= s["rectify_to_cap_mu"]
    # shortest list: dropping its smallest member falls short
    assert got - s["rectify_patches"][-1]["farmland_mu"] < s["rectify_to_cap_mu"]


def test_county_without_cultivated_land_stops(tmp_path):
    d = make_county(tmp_path, ["违法", "合法"], dlbm_left="0701", kcxs=0.0)
    # make the east strip non-cultivated too
    dl = gpd.read_file(d / "DLTB.shp", encoding="GBK")
    dl["DLBM"] = ["0701", "0601", "0701"]
    write_shp(dl, d / "DLTB.shp")
    with pytest.raises(InputError) as e:
        satellite_ratio(lk.read_county(d))
    assert "没有耕地" in str(e.value)


def test_unknown_judgement_in_a_county_names_the_file(tmp_path):
    d = make_county(tmp_path, ["违法", "待核实"])
    with pytest.raises(InputError) as e:
        satellite_ratio(lk.read_county(d))
    assert "待核实" in str(e.value) and "卫片图斑.shp" in str(e.value)


def test_a_patch_on_no_cultivated_land_still_has_its_township(tmp_path):
    """A patch that takes no 耕地 counts in neither side of the ratio, but the 台账 must still say
    where it is: the township by the DLTB 坐落单位 under it (here 杜山镇's 0701 strip)."""
    d = make_county(tmp_path, ["违法"])
    p = gpd.GeoDataFrame({"监测编号": ["P0", "P1"], "判定类型": ["违法", "违法"], "季度": [1, 1]},
                         geometry=[shapely.box(X0 + 100, Y0 + 100, X0 + 200, Y0 + 200),
                                   shapely.box(X0 + 1500, Y0 + 1500, X0 + 1600, Y0 + 1600)], crs="EPSG:4526")
    write_shp(p, d / "卫片图斑.shp")
    r = satellite_ratio(lk.read_county(d))
    t = r.patches.set_index("监测编号")
    assert t.loc["P1", "farmland_used_m2"] == 0
    assert t.loc["P0", "township"] == "420704100" and t.loc["P1", "township"] == "420704101"
    assert [x["code"] for x in r.summary["by_township"]] == ["420704100"]   # the ratio is unchanged


def test_patches_measured_on_the_previous_vintage_when_asked(tmp_path):
    """[satellite] base_dltb = "previous": a patch's 耕地 is what the earlier vintage (before the
    building) had there. The hand-built county of test_change: patch W1 covers half of A2, which
    was 耕地 (0101, KCXS 0.1) in 2023 and is 工业用地 in 2024."""
    import landkit as lk
    from landkit.analyses.county_analysis import analyse
    from test_change import MU, _box, geod_areas, hand_county
    d = hand_county(tmp_path)
    now = analyse(lk.read_county(d)).summary["satellite"]
    assert now["base_dltb"] == "dltb" and now["illegal_farmland_mu"] == 0.0 and now["ratio"] is None
    c = lk.read_county(d, {"satellite": {"base_dltb": "previous"}})
    s = analyse(c).summary
    sat = s["satellite"]
    w1 = geod_areas([_box(150, 0, 200, 100)])[0]
    assert sat["base_dltb"] == "dltb_previous" and "地类图斑2023" in sat["base_layer"]
    assert sat["illegal_farmland_mu"] == pytest.approx(w1 * 0.9 * MU, rel=1e-6)
    assert sat["new_construction_farmland_mu"] == pytest.approx(w1 * 0.9 * MU, rel=1e-6) and sat["ratio"] == 1.0
    assert any("上一期地类图斑" in n for n in s["change"]["notes"])
    # a county with one vintage keeps measuring on its DLTB
    from landkit.analyses.satellite import base_role
    one = lk.read_county(d, {"satellite": {"base_dltb": "previous"}, "layers": {"dltb_previous": False}})
    assert base_role(one, one.config.satellite) == "dltb"

"""locate(): township and village by the largest overlap of DLTB 坐落单位 codes (townships layer
where no code is valid, or first with ``[township] source = "layer"``), the 三大类 areas of each
geometry; piece_townships() for DLTB pieces; township_names()."""
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import landkit as lk
from landkit.analyses.location import locate, township_names

from conftest import X0, Y0, geod_area_m2, write_shp

#  DLTB: four 100 m squares in a row
#   A  [X0,     X0+100]  0101 水田     泽林镇 泽林村   4207041001010000000
#   A2 [X0+100, X0+200]  0404 其他草地 泽林镇 花湖村   4207041001020000000
#   B  [X0+200, X0+300]  0701 城镇住宅 汀祖镇 石山村   4207041021020000000
#   C  [X0+300, X0+400]  1207 裸岩石砾地 code of 18 digits (invalid): the townships layer decides
DLTB = [("A", "0101", "4207041001010000000", "泽林村"), ("A2", "0404", "4207041001020000000", "花湖村"),
        ("B", "0701", "4207041021020000000", "石山村"), ("C", "1207", "420704103101000000", "某某村")]
TOWNS = [("420704100", "泽林镇", 0, 200), ("420704102", "汀祖镇", 200, 300), ("420704103", "碧石渡镇", 300, 400)]


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _area(g):
    return geod_area_m2(g)


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    d = tmp_path_factory.mktemp("loc") / "420704_鄂城区"
    dl = gpd.GeoDataFrame({"BSM": [r[0] for r in DLTB], "DLBM": [r[1] for r in DLTB],
                           "ZLDWDM": [r[2] for r in DLTB], "ZLDWMC": [r[3] for r in DLTB]},
                          geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(4)], crs="EPSG:4526")
    write_shp(dl, d / "DLTB.shp")
    xzq = gpd.GeoDataFrame({"XZQDM": [t[0] for t in TOWNS], "XZQMC": [t[1] for t in TOWNS]},
                           geometry=[box(t[2], -50, t[3], 150) for t in TOWNS], crs="EPSG:4526")
    write_shp(xzq, d / "XZQ.shp")
    return lk.read_county(d)


def _locate(county, geoms, cfg=None, sliver=1.0):
    return locate(np.array(geoms, dtype=object), county, cfg or county.config, sliver)


def test_columns_and_one_row_per_geometry(county):
    r = _locate(county, [box(10, 10, 50, 50), box(210, 10, 250, 50), box(310, 10, 350, 50)])
    assert list(r.columns) == ["township", "township_name", "village", "village_name",
                               "construction_m2", "agri_m2", "unused_m2"]
    assert len(r) == 3


def test_inside_one_dltb_feature(county):
    g = box(10, 10, 60, 70)
    r = _locate(county, [g]).iloc[0]
    assert r["township"] == "420704100" and r["township_name"] == "泽林镇"
    assert r["village"] == "420704100101" and r["village_name"] == "泽林村"   # name from ZLDWMC
    assert r["agri_m2"] == pytest.approx(_area(g), rel=1e-7)
    assert r["construction_m2"] == 0 and r["unused_m2"] == 0
    # ellipsoidal, not the planar 3000 m²
    assert abs(r["agri_m2"] - g.area) > 0.1


def test_straddling_three_features_splits_the_areas_by_class(county):
    g = box(60, 20, 230, 80)           # 40 m in A (0101), 100 m in A2 (0404), 30 m in B (0701)
    r = _locate(county, [g]).iloc[0]
    a, a2, b = (_area(g.intersection(box(x, 0, x + 100, 100))) for x in (0, 100, 200))
    assert r["agri_m2"] == pytest.approx(a, rel=1e-7)
    assert r["unused_m2"] == pytest.approx(a2, rel=1e-7)          # 0404 其他草地 → 未利用地 by default
    assert r["construction_m2"] == pytest.approx(b, rel=1e-7)
    assert r["agri_m2"] + r["unused_m2"] + r["construction_m2"] == pytest.approx(_area(g), rel=1e-7)
    assert r["township"] == "420704100" and r["village"] == "420704100102" and r["village_name"] == "花湖村"


def test_township_is_the_largest_sum_not_the_largest_piece(county):
    """泽林镇 holds 45 + 45 m of the site, 汀祖镇 one piece of 80 m: the township is 泽林镇."""
    g = shapely.MultiPolygon([box(55, 10, 145, 60), box(220, 10, 300, 60)])
    r = _locate(county, [g]).iloc[0]
    assert r["township"] == "420704100" and r["township_name"] == "泽林镇"
    assert r["construction_m2"] == pytest.approx(_area(box(220, 10, 300, 60)), rel=1e-7)


def test_larger_share_in_the_other_township(county):
    g = box(180, 10, 290, 60)          # 20 m in A2, 90 m in B
    r = _locate(county, [g]).iloc[0]
    assert r["township"] == "420704102" and r["township_name"] == "汀祖镇"
    assert r["village"] == "420704102102" and r["village_name"] == "石山村"


def test_invalid_zldwdm_falls_back_to_the_townships_layer(county):
    g = box(320, 20, 380, 80)
    r = _locate(county, [g]).iloc[0]
    assert r["township"] == "420704103" and r["township_name"] == "碧石渡镇"
    assert pd.isna(r["village"]) and pd.isna(r["village_name"])    # a 9-digit code names no village
    assert r["unused_m2"] == pytest.approx(_area(g), rel=1e-7)      # 1207 裸岩石砾地


def test_outside_every_layer_and_empty_geometries(county):
    far = box(5000, 5000, 5100, 5100)
    r = _locate(county, [far, None, shapely.Polygon(), box(10, 10, 20, 20)])
    for i in range(3):
        assert r.loc[i, ["township", "township_name", "village", "village_name"]].isna().all()
        assert r.loc[i, ["construction_m2", "agri_m2", "unused_m2"]].sum() == 0
    assert r.loc[3, "township"] == "420704100"          # the missing rows do not shift the others


def test_empty_input(county):
    r = _locate(county, [])
    assert len(r) == 0 and "township" in r.columns


def test_slivers_below_the_tolerance_are_ignored(county):
    # 0.5 m² over B (0.01 m × 50 m), the rest in A2
    g = box(150, 10, 200.01, 60)
    r = _locate(county, [g], sliver=1.0).iloc[0]
    assert r["construction_m2"] == 0
    assert r["unused_m2"] == pytest.approx(_area(box(150, 10, 200, 60)), rel=1e-6)
    r0 = _locate(county, [g], sliver=0.0).iloc[0]
    assert r0["construction_m2"] == pytest.approx(_area(box(200, 10, 200.01, 60)), rel=1e-3)


def test_class_0404_setting_moves_other_grassland_to_agri(county):
    g = box(120, 10, 180, 90)
    default = _locate(county, [g]).iloc[0]
    assert default["unused_m2"] > 0 and default["agri_m2"] == 0
    cfg = county.config.merged({"classes": {"class_0404": "农用地"}})
    r = _locate(county, [g], cfg=cfg).iloc[0]
    assert r["agri_m2"] == pytest.approx(_area(g), rel=1e-7) and r["unused_m2"] == 0


def test_without_townships_layer_names_are_none_but_codes_stay(tmp_path):
    d = tmp_path / "420704_鄂城区"
    dl = gpd.GeoDataFrame({"BSM": ["1"], "DLBM": ["0101"], "ZLDWDM": ["4207041001010000000"]},
                          geometry=[box(0, 0, 100, 100)], crs="EPSG:4526")
    write_shp(dl, d / "DLTB.shp")
    c = lk.read_county(d)
    r = locate(np.array([box(10, 10, 20, 20), box(500, 500, 510, 510)], dtype=object), c, c.config, 1.0)
    assert r.loc[0, "township"] == "420704100" and r.loc[0, "village"] == "420704100101"
    assert pd.isna(r.loc[0, "township_name"]) and pd.isna(r.loc[0, "village_name"])   # no ZLDWMC, no XZQ
    assert pd.isna(r.loc[1, "township"])


def test_ring_orientation_does_not_matter(county):
    """The same square given twice, once as a polygon with its ring reversed: same answer."""
    g = box(10, 10, 60, 60)
    r = _locate(county, [g, g.reverse()])
    assert r.loc[0, "agri_m2"] == pytest.approx(r.loc[1, "agri_m2"], rel=1e-12)
    assert r.loc[0, "village"] == r.loc[1, "village"]


# ------------------------------------------------------------------ township_names

def _names(rows, cols=("XZQDM", "XZQMC")):
    data = {c: [r[k] for r in rows] for k, c in enumerate(cols)}
    t = gpd.GeoDataFrame(data, geometry=[shapely.box(0, 0, 1, 1)] * len(rows), crs="EPSG:4526")
    return township_names(SimpleNamespace(townships=t))


def test_township_names_towns_and_villages():
    towns, villages = _names([("420704100", "泽林镇"), ("420704100101", "泽林村"),
                              ("4207041021020000000", "石山村"), (" 420704102 ", "汀祖镇")])
    assert towns == {"420704100": "泽林镇", "420704102": "汀祖镇"}
    assert villages == {"420704100101": "泽林村", "420704102102": "石山村"}


def test_township_names_skips_missing_and_keeps_the_first():
    towns, villages = _names([("420704100", "泽林镇"), ("420704100", "别名"), (None, "无代码"),
                              ("420704101", None), ("420704103", float("nan"))])
    assert towns == {"420704100": "泽林镇"} and villages == {}


def test_township_names_padded_town_code_is_not_a_village():
    # 12 digits ending in the zeros of a town code: not a village
    towns, villages = _names([("420704100000", "泽林镇")])
    assert villages == {}


def test_township_names_without_the_layer_or_the_code_field():
    assert township_names(SimpleNamespace(townships=None)) == ({}, {})
    t = gpd.GeoDataFrame({"NAME": ["泽林镇"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4526")
    assert township_names(SimpleNamespace(townships=t)) == ({}, {})
    towns, villages = _names([("420704100",)], cols=("XZQDM",))          # codes without names
    assert towns == {} and villages == {}


def test_township_names_from_a_county_read_from_gbk_files(county):
    towns, _ = township_names(county)
    assert towns == {t[0]: t[1] for t in TOWNS}


# ------------------------------------------------------------------ [township] source, DLTB pieces

@pytest.fixture(scope="module")
def shifted(tmp_path_factory):
    """The same DLTB, with a townships layer whose 泽林镇 reaches 50 m further east (0–250 m)
    than the DLTB codes say (0–200 m): the two sources disagree on 200–250 m."""
    d = tmp_path_factory.mktemp("loc2") / "420704_鄂城区"
    dl = gpd.GeoDataFrame({"BSM": [r[0] for r in DLTB], "DLBM": [r[1] for r in DLTB],
                           "ZLDWDM": [r[2] for r in DLTB], "ZLDWMC": [r[3] for r in DLTB]},
                          geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(4)], crs="EPSG:4526")
    write_shp(dl, d / "DLTB.shp")
    towns = [("420704100", "泽林镇", 0, 250), ("420704102", "汀祖镇", 250, 300), ("420704103", "碧石渡镇", 300, 400)]
    xzq = gpd.GeoDataFrame({"XZQDM": [t[0] for t in towns], "XZQMC": [t[1] for t in towns]},
                           geometry=[box(t[2], -50, t[3], 150) for t in towns], crs="EPSG:4526")
    write_shp(xzq, d / "XZQ.shp")
    return lk.read_county(d)


def test_source_dltb_and_source_layer_follow_their_own_source(shifted):
    g = box(180, 10, 290, 60)      # DLTB: 20 m 泽林镇 code, 90 m 汀祖镇 code; layer: 70 m 泽林镇, 40 m 汀祖镇
    by_dltb = _locate(shifted, [g]).iloc[0]
    assert by_dltb["township"] == "420704102" and by_dltb["village"] == "420704102102"
    cfg = shifted.config.merged({"township": {"source": "layer"}})
    by_layer = _locate(shifted, [g], cfg=cfg).iloc[0]
    assert by_layer["township"] == "420704100" and by_layer["township_name"] == "泽林镇"
    # the DLTB village (石山村, in 汀祖镇) is not kept under another township
    assert pd.isna(by_layer["village"]) and pd.isna(by_layer["village_name"])
    # where both agree, the village from the codes stays
    agree = _locate(shifted, [box(10, 10, 50, 50)], cfg=cfg).iloc[0]
    assert agree["township"] == "420704100" and agree["village"] == "420704100101"


def test_source_setting_is_checked(shifted, tmp_path):
    from landkit.errors import LandkitError
    from landkit.settings import load_settings
    (tmp_path / "landkit.toml").write_text('[township]\nsource = "xzq"\n', encoding="utf-8")
    with pytest.raises(LandkitError) as e:
        load_settings(tmp_path)
    assert "township" in str(e.value) and "source" in str(e.value)


def test_piece_townships_codes_first_then_the_largest_layer_part(shifted):
    from landkit.analyses.location import piece_townships
    # piece 0 has a valid code; pieces 1, 2 do not: 1 lies 60 % in 碧石渡镇 (300–400) and 40 % in
    # 汀祖镇 (250–300) by the layer; 2 lies outside every township
    zl = np.array(["4207041021020000000", "4207041", None], dtype=object)
    geoms = np.array([box(210, 10, 240, 40), box(270, 0, 320, 100) | box(320, 0, 345, 100),
                      box(9000, 9000, 9010, 9010)], dtype=object)
    town, vill = piece_townships(zl, geoms, shifted, shifted.config, 1.0)
    assert town.tolist() == ["420704102", "420704103", None]
    assert vill.tolist() == ["420704102102", None, None]
    cfg = shifted.config.merged({"township": {"source": "layer"}})
    town, vill = piece_townships(zl, geoms, shifted, cfg, 1.0)
    assert town.tolist() == ["420704100", "420704103", None]        # 210–240 m is 泽林镇 in the layer
    assert vill.tolist() == [None, None, None]

"""永久基本农田 overlap checks on a hand-made county: 永农 (gross/net, ids), 耕地, 红线, 开发边界外."""
import geopandas as gpd
import numpy as np
import pytest
import shapely

import landkit as lk
from landkit.analyses.farmland import farmland_overlap
from landkit.errors import InputError
from landkit.standards.area import ellipsoidal_area

from conftest import X0, Y0, write_shp

CRS = "EPSG:4526"


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def ea(g):
    return float(ellipsoidal_area(np.array([g], dtype=object), crs=CRS)[0])


@pytest.fixture
def county(tmp_path):
    d = tmp_path / "420704_鄂城区"
    write_shp(gpd.GeoDataFrame({"BSM": ["D1", "D2"], "DLBM": ["0101", "0701"], "KCXS": [0.1, 0.0],
                                "ZLDWDM": ["4207041001010000000"] * 2},
                               geometry=[box(0, 0, 500, 1000), box(500, 0, 1000, 1000)], crs=CRS), d / "DLTB.shp")
    write_shp(gpd.GeoDataFrame({"YJJBNTTBBH": ["Y2", "Y1"], "KCXS": [0.2, 0.1]},
                               geometry=[box(0, 0, 300, 300), box(200, 0, 400, 300)], crs=CRS), d / "永久基本农田.shp")
    write_shp(gpd.GeoDataFrame({"HXMC": ["某湖"]}, geometry=[box(800, 800, 1000, 1000)], crs=CRS), d / "STBHHX.shp")
    write_shp(gpd.GeoDataFrame({"GHFQMC": ["城镇集中建设区"]}, geometry=[box(500, 0, 1000, 1000)], crs=CRS), d / "CZKFBJ.shp")
    return lk.read_county(d)


def test_site_check_all_layers(county):
    site = gpd.GeoDataFrame({"项目名称": ["甲", "乙", "丙"]}, crs=CRS,
                            geometry=[box(100, 100, 350, 200), box(600, 600, 900, 900), box(2000, 0, 2100, 100)])
    r = farmland_overlap(site, county, id_field="项目名称")
    f = r.features.set_index("id")
    # 甲: 永农 union (Y1 ∪ Y2) ∩ 甲 = 250 x 100 ; Y1 sorts first and keeps the shared 200–300 strip
    assert f.loc["甲", "yjjbnt_m2"] == pytest.approx(ea(box(100, 100, 350, 200)), rel=1e-9)
    net = ea(box(200, 100, 350, 200)) * 0.9 + ea(box(100, 100, 200, 200)) * 0.8
    assert f.loc["甲", "yjjbnt_net_m2"] == pytest.approx(net, rel=1e-6)
    assert f.loc["甲", "yjjbnt_ids"] == "Y1、Y2"
    assert f.loc["甲", "gd_m2"] == pytest.approx(ea(box(100, 100, 350, 200)), rel=1e-9)
    assert f.loc["甲", "gd_net_m2"] == pytest.approx(0.9 * ea(box(100, 100, 350, 200)), rel=1e-9)
    assert f.loc["甲", "outside_czkfbj_m2"] == pytest.approx(f.loc["甲", "area_m2"], rel=1e-9)
    assert f.loc["乙", "yjjbnt_m2"] == 0 and f.loc["乙", "outside_czkfbj_m2"] == 0
    assert f.loc["乙", "stbhhx_m2"] == pytest.approx(ea(box(800, 800, 900, 900)), rel=1e-9)
    assert f.loc["丙", "yjjbnt_m2"] == 0 and f.loc["丙", "yjjbnt_ids"] == ""
    s = r.summary
    assert s["features_checked"] == 3 and s["features_overlapping"] == 1
    assert s["overlap_mu"] == pytest.approx(f["yjjbnt_m2"].sum() * 1.5e-3)
    assert s["features_in_stbhhx"] == 1 and s["features_outside_czkfbj"] == 2
    assert f.loc["甲", "yjjbnt_mu"] == pytest.approx(f.loc["甲", "yjjbnt_m2"] * 3 / 2000)


def test_site_in_another_crs_is_reprojected(county):
    site = gpd.GeoDataFrame({"名称": ["甲"]}, crs=CRS, geometry=[box(100, 100, 350, 200)]).to_crs(4490)
    r = farmland_overlap(site, county, id_field="名称")
    assert r.features["yjjbnt_m2"].iloc[0] == pytest.approx(ea(box(100, 100, 350, 200)), rel=1e-6)


def test_county_without_yjjbnt(tmp_path):
    d = tmp_path / "c"
    write_shp(gpd.GeoDataFrame({"DLBM": ["0101"], "ZLDWDM": ["4207041001010000000"]}, geometry=[box(0, 0, 10, 10)],
                               crs=CRS), d / "DLTB.shp")
    with pytest.raises(InputError) as e:
        farmland_overlap(gpd.GeoDataFrame(geometry=[box(0, 0, 5, 5)], crs=CRS), lk.read_county(d))
    assert "永久基本农田" in str(e.value)

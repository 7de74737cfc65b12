"""CRS decisions: .prj (OGC, ESRI, custom GK), zone-prefixed eastings without .prj, lon/lat, errors."""
import shutil

import geopandas as gpd
import numpy as np
import pytest
from pyproj import CRS

import landkit as lk
from landkit.errors import InputError
from landkit.io.crs import crs_from_coordinates, crs_from_prj_text, match_gk

from conftest import XIAN80_GK38_ESRI, dltb_frame, write_shp


def test_zone_prefixed_eastings_without_prj(tmp_path):
    p = write_shp(dltb_frame(4), tmp_path / "DLTB.shp", prj=False)
    assert not p.with_suffix(".prj").exists()
    gdf = lk.read_layer(p, role="dltb")
    assert gdf.crs.to_epsg() == 4526
    f = gdf.attrs["landkit"]["findings"]
    assert any(x["code"] == "crs_guessed" and x["level"] == "warning" and "38" in x["message"] for x in f)


def test_six_degree_zone_prefix(tmp_path):
    # 6° zone 20 (CM 117E): eastings 20 5xx xxx
    p = write_shp(dltb_frame(4, x0=20_560_000.0, crs="EPSG:4498"), tmp_path / "DLTB.shp", prj=False)
    assert lk.read_layer(p, role="dltb").crs.to_epsg() == 4498


def test_six_digit_eastings_without_prj_stop(tmp_path):
    p = write_shp(dltb_frame(4, x0=560_000.0, crs="EPSG:4547"), tmp_path / "DLTB.shp", prj=False)
    with pytest.raises(InputError) as e:
        lk.read_layer(p, role="dltb")
    msg = str(e.value)
    assert "6 位" in msg and "longitude" in msg and "DLTB.shp" in msg


def test_six_digit_eastings_with_longitude_hint(tmp_path):
    p = write_shp(dltb_frame(4, x0=560_000.0, crs="EPSG:4547"), tmp_path / "DLTB.shp", prj=False)
    gdf = lk.read_layer(p, role="dltb", config={"county": {"longitude": 114.6}})
    assert gdf.crs.to_epsg() == 4547


def test_six_digit_layer_takes_the_crs_of_another_county_layer(county_dir):
    dl = dltb_frame(4, x0=560_000.0, crs="EPSG:4547")
    for p in county_dir.iterdir():
        p.unlink()
    write_shp(dl, county_dir / "DLTB.shp", prj=True)
    write_shp(dl.iloc[:2], county_dir / "基本农田.shp", prj=False)
    c = lk.read_county(county_dir)
    assert c.crs.to_epsg() == 4547 and c.yjjbnt.crs.to_epsg() == 4547


def test_esri_xian80_gk_prj(tmp_path):
    dl = dltb_frame(4)
    p = write_shp(dl, tmp_path / "DLTB.shp")
    p.with_suffix(".prj").write_text(XIAN80_GK38_ESRI)
    gdf = lk.read_layer(p, role="dltb")
    assert gdf.crs.to_epsg() == 2362       # Xian 1980 / 3-degree Gauss-Kruger zone 38
    assert "西安" in CRS.from_epsg(2362).name or "Xian" in gdf.crs.name


def test_custom_named_gk_matched_by_parameters():
    wkt = XIAN80_GK38_ESRI.replace("Xian_1980_3_Degree_GK_Zone_38", "我局自定义坐标系") \
        .replace("GCS_Xian_1980", "GCS_我的").replace("D_Xian_1980", "D_我的")
    d = crs_from_prj_text(wkt)
    assert d.crs.to_epsg() == 2362 and d.source in ("prj", "prj-params")
    # Beijing 1954 ellipsoid, truncated CM 114E: matched by parameters
    bj = XIAN80_GK38_ESRI.replace("6378140.0,298.257", "6378245.0,298.3").replace("38500000.0", "500000.0") \
        .replace("Xian_1980_3_Degree_GK_Zone_38", "BJ54_custom").replace("Xian_1980", "Krasovsky_custom")
    d = crs_from_prj_text(bj)
    assert d.crs.to_epsg() == 2435
    cg = XIAN80_GK38_ESRI.replace("6378140.0,298.257", "6378137.0,298.257222101") \
        .replace("Xian_1980_3_Degree_GK_Zone_38", "custom_cgcs").replace("Xian_1980", "custom2000")
    assert match_gk(CRS.from_wkt(cg)) == 4526


def test_geographic_without_prj(tmp_path):
    dl = dltb_frame(4).to_crs(4490)
    p = write_shp(dl, tmp_path / "DLTB.shp", prj=False)
    gdf = lk.read_layer(p, role="dltb")
    assert gdf.crs.to_epsg() == 4490


def test_lonlat_coordinates_under_a_gk_prj_stop(tmp_path):
    dl = dltb_frame(4).to_crs(4490)
    p = write_shp(dl, tmp_path / "DLTB.shp", prj=False)
    p.with_suffix(".prj").write_text(XIAN80_GK38_ESRI)
    with pytest.raises(InputError) as e:
        lk.read_layer(p, role="dltb")
    assert "经纬度" in str(e.value)


def test_coordinates_outside_china_cannot_be_guessed():
    with pytest.raises(ValueError):
        crs_from_coordinates((5_000_000, 100, 5_001_000, 200))


def test_mixed_crs_county_is_brought_to_one_projected_crs(county_dir):
    yj = gpd.read_file(county_dir / "永久基本农田.shp", encoding="GBK")
    for ext in ("shp", "shx", "dbf", "prj"):
        (county_dir / f"永久基本农田.{ext}").unlink()
    write_shp(yj.to_crs(4490), county_dir / "永久基本农田.shp")
    c = lk.read_county(county_dir)
    assert c.crs.to_epsg() == 4526
    assert c.yjjbnt.crs.to_epsg() == 4526
    # geometry came back where it was (within a millimetre)
    assert np.allclose(c.yjjbnt.total_bounds, yj.total_bounds, atol=1e-3)
    assert c.qa.by_code("reprojected")


def test_xian80_layer_in_cgcs2000_county_warns_about_datum(county_dir):
    prj = county_dir / "永久基本农田.prj"
    prj.write_text(XIAN80_GK38_ESRI)
    c = lk.read_county(county_dir)
    assert c.crs.to_epsg() == 4526
    assert c.qa.by_code("datum_shift")

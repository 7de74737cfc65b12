"""Reading single layers: formats, field aliases (incl. shapefile-cut names), geometry repair, bad input."""
import os

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

import landkit as lk
from landkit.errors import InputError
from landkit.io.fields import match_fields, shapefile_cuts

from conftest import X0, Y0, dltb_frame, grid_polygons, write_shp


def supply_frame(n=4):
    g = grid_polygons(n)
    return gpd.GeoDataFrame({
        "电子监管号": [f"4207042019B{i:05d}" for i in range(n)],
        "项目名称": ["鄂州某某机械厂项目"] * n,
        # the names a GBK shapefile really carries (10 bytes = 5 Chinese characters)
        "土地使用权": ["湖北某某机械有限公司"] * n,
        "供地日期": ["2019-03-01", "2019/3/1", "20190301", "2019年3月1日"][:n],
        "约定动工日": ["2020-03-01"] * n,
        "实际动工日": [None] * n,
        "出让价款": ["1200.5", "980", "", "无"][:n],
    }, geometry=g, crs="EPSG:4526")


def test_shapefile_cut_names():
    assert "约定动工日" in shapefile_cuts("约定动工日期")
    assert "土地使用权" in shapefile_cuts("土地使用权人")
    assert "约定动" in shapefile_cuts("约定动工日期")   # the UTF-8 cut (3 characters)
    assert shapefile_cuts("供地日期") == {"供地日"}   # only UTF-8 (12 bytes) cuts it
    assert shapefile_cuts("DLBM") == set()


def test_cut_field_names_map_to_standard_names(tmp_path):
    p = write_shp(supply_frame(), tmp_path / "供地.shp")
    # the file really has the cut names
    names = [f for f in pyogrio.read_info(p, encoding="GBK")["fields"]]
    assert "约定动工日" in names and "土地使用权" in names
    gdf = lk.read_layer(p, role="supply")
    for std in ("约定动工日期", "实际动工日期", "土地使用权人", "电子监管号", "供地日期"):
        assert std in gdf.columns
    assert gdf["土地使用权人"].iloc[0] == "湖北某某机械有限公司"
    # text in a numeric field: kept as NaN and reported with the feature ids
    assert gdf["出让价款"].tolist()[:2] == [1200.5, 980.0] and np.isnan(gdf["出让价款"].iloc[3])
    f = [x for x in gdf.attrs["landkit"]["findings"] if x["code"] == "field_not_numeric"]
    assert f and f[0]["field"] == "出让价款" and f[0]["features"] == ["4207042019B00003"]


def test_utf8_cut_names_also_match(tmp_path):
    p = write_shp(supply_frame().rename(columns={"约定动工日": "约定动"}), tmp_path / "供地.shp", encoding="UTF-8")
    assert "约定动工日期" in lk.read_layer(p, role="supply").columns


def test_aliases_and_case(tmp_path):
    df = dltb_frame(4).rename(columns={"DLBM": "dlbm", "KCXS": "TKXS", "ZLDWDM": "坐落单位代码"})
    p = write_shp(df, tmp_path / "DLTB.shp")
    gdf = lk.read_layer(p, role="dltb")
    assert {"DLBM", "KCXS", "ZLDWDM"} <= set(gdf.columns)
    assert gdf["KCXS"].iloc[0] == pytest.approx(0.08)


def test_config_field_map(tmp_path):
    df = dltb_frame(4).rename(columns={"DLBM": "地类代码X"}).drop(columns=["DLMC"])
    p = write_shp(df, tmp_path / "DLTB.shp")
    with pytest.raises(InputError):
        lk.read_layer(p, role="dltb")
    gdf = lk.read_layer(p, role="dltb", config={"fields": {"dltb": {"DLBM": "地类代码X"}}})
    assert gdf["DLBM"].iloc[0] == "0101"


def test_missing_required_field_names_layer_and_field(tmp_path):
    p = write_shp(dltb_frame(4).drop(columns=["DLBM", "DLMC"]), tmp_path / "DLTB.shp")
    with pytest.raises(InputError) as e:
        lk.read_layer(p, role="dltb")
    assert e.value.field == "DLBM" and "地类编码" in str(e.value) and "DLTB.shp" in str(e.value)


def test_numeric_dlbm_gets_its_leading_zero(tmp_path):
    df = dltb_frame(4)
    df["DLBM"] = df["DLBM"].map(lambda s: int(s) if s.isdigit() else 0)
    p = write_shp(df, tmp_path / "DLTB.shp")
    assert lk.read_layer(p, role="dltb")["DLBM"].tolist()[:2] == ["0101", "0103"]


def test_bowtie_repaired_with_area_preserved(tmp_path):
    df = dltb_frame(4)
    bow = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100), (X0, Y0)])
    assert not bow.is_valid and abs(bow.area) < 1e-6   # shapely's signed area cancels out
    df.loc[1, "geometry"] = bow
    p = write_shp(df, tmp_path / "DLTB.shp")
    gdf = lk.read_layer(p, role="dltb")
    fixed = gdf.geometry.iloc[1]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon"
    assert fixed.area == pytest.approx(5000.0)         # the two lobes, 2 × 50 × 100 / 2
    rep = [x for x in gdf.attrs["landkit"]["findings"] if x["code"] == "geometry_repaired"]
    assert rep and rep[0]["features"] == [df.loc[1, "BSM"]] and rep[0]["count"] == 1


def test_null_and_empty_geometries_dropped_and_listed(tmp_path):
    df = dltb_frame(5)
    df.loc[2, "geometry"] = None
    p = write_shp(df, tmp_path / "DLTB.shp")
    gdf = lk.read_layer(p, role="dltb")
    assert len(gdf) == 4 and df.loc[2, "BSM"] not in gdf["BSM"].tolist()
    f = {x["code"]: x for x in gdf.attrs["landkit"]["findings"]}
    dropped = f.get("geometry_null") or f.get("geometry_empty")
    assert dropped["features"] == [df.loc[2, "BSM"]]
    assert gdf["lk_fid"].tolist() == [0, 1, 3, 4]


def test_points_where_polygons_belong(tmp_path):
    df = dltb_frame(3)
    df["geometry"] = df.geometry.centroid
    p = write_shp(df, tmp_path / "DLTB.shp")
    with pytest.raises(InputError) as e:
        lk.read_layer(p, role="dltb")
    assert "面图层" in str(e.value) and "点" in str(e.value)


@pytest.mark.parametrize("ext,what", [(".dbf", ".dbf"), (".shx", ".shx")])
def test_missing_sidecar_files(tmp_path, ext, what):
    p = write_shp(dltb_frame(3), tmp_path / "DLTB.shp")
    p.with_suffix(ext).unlink()
    with pytest.raises(InputError) as e:
        lk.read_layer(p, role="dltb")
    assert what in str(e.value) and "DLTB.shp" in str(e.value)


def test_empty_layer(tmp_path):
    p = write_shp(dltb_frame(3).iloc[:0], tmp_path / "DLTB.shp")
    with pytest.raises(InputError) as e:
        lk.read_layer(p, role="dltb")
    assert "为空" in str(e.value)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "DLTB.gpkg"
    p.write_bytes(b"")
    with pytest.raises(InputError) as e:
        lk.read_layer(p, role="dltb")
    assert "0 字节" in str(e.value)


def test_multilayer_geopackage(tmp_path):
    p = tmp_path / "三调成果.gpkg"
    dl = dltb_frame(6)
    dl.to_file(p, layer="地类图斑", driver="GPKG")
    dl.iloc[:2][["DLBM", "geometry"]].to_file(p, layer="永久基本农田", driver="GPKG")
    with pytest.raises(InputError) as e:
        lk.read_layer(p, role="dltb")
    assert "多个图层" in str(e.value)
    gdf = lk.read_layer(p, layer="地类图斑", role="dltb")
    assert len(gdf) == 6 and gdf["DLMC"].iloc[0] == "水田" and gdf.crs.to_epsg() == 4526
    with pytest.raises(InputError) as e:
        lk.read_layer(p, layer="不存在", role="dltb")
    assert "没有图层" in str(e.value)


def test_filegdb(tmp_path):
    gdb = tmp_path / "县级数据库.gdb"
    dl = dltb_frame(6)
    dl.to_file(gdb, layer="DLTB", driver="OpenFileGDB")
    dl.iloc[:3].to_file(gdb, layer="YJJBNTTB", driver="OpenFileGDB")
    assert sorted(n for n, _ in pyogrio.list_layers(gdb)) == ["DLTB", "YJJBNTTB"]
    gdf = lk.read_layer(gdb, layer="DLTB", role="dltb")
    assert gdf["ZLDWMC"].iloc[0] == "汀祖镇石山村" and gdf.crs.to_epsg() == 4526
    # and a county folder holding only the .gdb finds both layers by name
    c = lk.read_county(tmp_path)
    assert len(c.dltb) == 6 and len(c.yjjbnt) == 3


def test_geojson(tmp_path):
    p = tmp_path / "dltb.geojson"
    dltb_frame(4).to_crs(4490).to_file(p, driver="GeoJSON")
    gdf = lk.read_layer(p, role="dltb")
    assert gdf.crs.is_geographic and gdf["DLMC"].iloc[1] == "旱地"


def test_match_fields_prefers_exact_over_cut():
    m, _ = match_fields(["约定动工日期", "约定动工日"], "supply")
    assert m["约定动工日期"] == "约定动工日期"

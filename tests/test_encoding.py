"""Encoding decisions on real .dbf files: GBK without .cpg, GBK with .cpg, UTF-8, lying .cpg."""
import struct

import pyogrio
import pytest

import landkit as lk
from landkit.errors import InputError
from landkit.io.encoding import detect_shapefile_encoding

from conftest import X0 as X, Y0 as Y, dbf_ldid, dltb_frame, write_shp


def test_gbk_without_cpg_reads_correct_chinese(tmp_path):
    p = write_shp(dltb_frame(6), tmp_path / "DLTB.shp", encoding="GBK", cpg=False)
    assert not p.with_suffix(".cpg").exists() and dbf_ldid(p) == 0
    # GDAL alone would read this as Latin-1 mojibake:
    assert pyogrio.read_info(p)["encoding"] == "ISO-8859-1"
    dec = detect_shapefile_encoding(p)
    assert dec.encoding == "GB18030" and dec.source == "bytes"
    gdf = lk.read_layer(p, role="dltb")
    assert gdf["DLMC"].tolist()[:3] == ["水田", "旱地", "城镇住宅用地"]
    assert gdf["ZLDWMC"].iloc[0] == "汀祖镇石山村"
    assert "GBK" in gdf.attrs["landkit"]["encoding"]


def test_gbk_with_cpg(tmp_path):
    p = write_shp(dltb_frame(6), tmp_path / "DLTB.shp", encoding="GBK", cpg=True)
    assert p.with_suffix(".cpg").read_text().strip().upper() == "GBK"
    dec = detect_shapefile_encoding(p)
    assert dec.source == "cpg"
    assert lk.read_layer(p, role="dltb")["DLMC"].iloc[3] == "乔木林地"


@pytest.mark.parametrize("cpg", [True, False])
def test_utf8(tmp_path, cpg):
    p = write_shp(dltb_frame(6), tmp_path / "DLTB.shp", encoding="UTF-8", cpg=cpg)
    dec = detect_shapefile_encoding(p)
    assert dec.encoding.upper().replace("-", "") == "UTF8"
    assert lk.read_layer(p, role="dltb")["DLMC"].iloc[2] == "城镇住宅用地"


def test_cpg_that_lies_is_overruled_by_the_bytes(tmp_path):
    p = write_shp(dltb_frame(6), tmp_path / "DLTB.shp", encoding="GBK", cpg=False)
    p.with_suffix(".cpg").write_text("UTF-8")
    dec = detect_shapefile_encoding(p)
    assert dec.encoding == "GB18030" and "不是该编码" in dec.detail
    gdf = lk.read_layer(p, role="dltb")
    assert gdf["DLMC"].iloc[0] == "水田"
    assert any(f["code"] == "encoding" and f["level"] == "warning" for f in gdf.attrs["landkit"]["findings"])


def test_utf8_bytes_under_a_gbk_cpg(tmp_path):
    p = write_shp(dltb_frame(6), tmp_path / "DLTB.shp", encoding="UTF-8", cpg=False)
    p.with_suffix(".cpg").write_text("GBK")
    assert detect_shapefile_encoding(p).encoding == "UTF-8"
    assert lk.read_layer(p, role="dltb")["DLMC"].iloc[1] == "旱地"


def test_bytes_in_no_known_encoding_stop_with_a_message(tmp_path):
    p = write_shp(dltb_frame(3), tmp_path / "DLTB.shp", encoding="UTF-8", cpg=False)
    dbf = p.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    hlen, rlen = struct.unpack("<HH", raw[8:12])
    # overwrite the start of the first text field of record 0 with bytes valid in neither codec
    raw[hlen + 1: hlen + 5] = b"\xff\xfe\xff\xfe"
    dbf.write_bytes(bytes(raw))
    with pytest.raises(InputError) as e:
        lk.read_layer(p, role="dltb")
    assert "编码" in str(e.value) and "DLTB.dbf" in str(e.value)


def test_config_encoding_override(tmp_path):
    p = write_shp(dltb_frame(3), tmp_path / "DLTB.shp", encoding="GBK", cpg=False)
    gdf = lk.read_layer(p, role="dltb", config={"encoding": {"DLTB.shp": "GBK"}})
    assert gdf["DLMC"].iloc[0] == "水田"
    assert "配置" in gdf.attrs["landkit"]["encoding"]


def test_gbk_text_decoded_in_python_equals_gdal_iconv(tmp_path, monkeypatch):
    """GBK shapefiles are read as Latin-1 (GDAL's byte copy) and decoded in Python, once per
    distinct value: the same frame as GDAL's own iconv decoding, Chinese field names included."""
    import geopandas as gpd
    import shapely
    import landkit.io.read as R
    n = 300
    g = gpd.GeoDataFrame({"标识码": [f"{i:06d}" for i in range(n)], "地类名称": ["水田", "旱地", "乔木林地"] * (n // 3),
                          "坐落单位名称": [f"汀祖镇第{i % 7}村" for i in range(n)], "备注": [None, "", "拆除"] * (n // 3)},
                         geometry=[shapely.box(X + i * 10, Y, X + i * 10 + 9, Y + 9) for i in range(n)], crs="EPSG:4526")
    p = write_shp(g, tmp_path / "图层.shp", encoding="GBK", cpg=False)
    fast, _, _ = R.load_layer(p)
    monkeypatch.setattr(R, "fast_codec", lambda enc: None)      # GDAL decodes GBK itself
    slow, _, _ = R.load_layer(p)
    assert list(fast.columns) == list(slow.columns) and "坐落单位名" in "".join(fast.columns)
    for c in fast.columns.drop("geometry"):
        assert fast[c].astype(object).tolist() == slow[c].astype(object).tolist(), c
    assert fast["地类名称"].tolist()[:3] == ["水田", "旱地", "乔木林地"]


def test_bytes_that_are_not_gbk_show_as_replacement_characters(tmp_path):
    """With [encoding] forced to GBK, a broken byte is shown as U+FFFD, never dropped silently."""
    import geopandas as gpd
    import shapely
    g = gpd.GeoDataFrame({"名称": ["耕地一", "林地"]}, geometry=[shapely.box(X, Y, X + 9, Y + 9),
                                                                 shapely.box(X + 20, Y, X + 29, Y + 9)], crs="EPSG:4526")
    p = write_shp(g, tmp_path / "t.shp", encoding="GBK", cpg=False)
    b = bytearray(p.with_suffix(".dbf").read_bytes())
    b[b.find("林地".encode("gbk"))] = 0xFF
    p.with_suffix(".dbf").write_bytes(bytes(b))
    from landkit.io.read import load_layer
    df, _, _ = load_layer(p, encoding_override="GBK")
    assert df["名称"].iloc[0] == "耕地一" and "\ufffd" in df["名称"].iloc[1]

"""read_county: discovery by name hints, landkit.toml, metadata and the QA checks on read."""
import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
import shapely

import landkit as lk
from landkit.errors import ConfigError, InputError
from landkit.io.discover import role_of

from conftest import dltb_frame, write_shp


@pytest.mark.parametrize("name,role", [
    ("DLTB", "dltb"), ("2023年地类图斑", "dltb"), ("YJJBNTBHTB", "yjjbnt"), ("永久基本农田", "yjjbnt"),
    ("JBNTBHTB", "yjjbnt"), ("卫片图斑", "patches"), ("WPTB_2024", "patches"), ("批准用地", "approvals"),
    ("供地", "supply"), ("GDYD", "supply"), ("宗地", "parcels"), ("ZD", "parcels"), ("XZQ", "townships"),
    ("乡镇界线", "townships"), ("STBHHX", "stbhhx"), ("城镇开发边界", "czkfbj"), ("CSKFBJ", "czkfbj"),
    ("开发区", "zones"), ("KFQ", "zones"), ("KFQ_2024", "zones"), ("开发区范围", "zones"), ("工业园区界线", "zones"),
    # "开发区" qualifies another layer's name: that layer, not the zone boundaries
    ("开发区宗地", "parcels"), ("开发区供地", "supply"), ("开发区批准用地", "approvals"), ("开发区DLTB", "dltb"),
    ("开发区城镇开发边界", "czkfbj"),
])
def test_role_hints(name, role):
    assert role_of(name)[0] == role


@pytest.mark.parametrize("name", ["XZQJX", "readme", "CZCDYD", "LSYD", "KFQJX2"])
def test_names_that_are_not_roles(name):
    assert role_of(name)[0] is None


def test_read_county_metadata_from_folder_and_codes(county_dir):
    c = lk.read_county(county_dir)
    assert c.name == "鄂城区" and c.adcode == "420704"
    assert c.crs.to_epsg() == 4526
    assert len(c.dltb) == 16 and len(c.yjjbnt) > 0
    assert c.patches is None and c.supply is None
    assert "lk_area_m2" in c.dltb.columns and (c.dltb["lk_area_m2"] > 9000).all()
    assert c.usable


def test_landkit_toml_overrides(county_dir):
    (county_dir / "landkit.toml").write_text(
        '[county]\nname = "测试区"\nadcode = "420704"\nyear = 2023\n\n'
        '[layers]\nyjjbnt = false\n', encoding="utf-8")
    c = lk.read_county(county_dir)
    assert c.name == "测试区" and c.year == 2023 and c.as_of == dt.date(2023, 12, 31)
    assert c.yjjbnt is None


def test_landkit_toml_layer_path_and_typos(county_dir):
    (county_dir / "DLTB.shp").rename(county_dir / "图斑2023.shp")
    for ext in ("shx", "dbf", "prj"):
        (county_dir / f"DLTB.{ext}").rename(county_dir / f"图斑2023.{ext}")
    with pytest.raises(InputError) as e:
        lk.read_county(county_dir)
    assert "DLTB" in str(e.value)
    (county_dir / "landkit.toml").write_text('[layers]\ndltb = "图斑2023.shp"\n', encoding="utf-8")
    assert len(lk.read_county(county_dir).dltb) == 16
    (county_dir / "landkit.toml").write_text('[layer]\ndltb = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        lk.read_county(county_dir)
    assert "[layer]" in str(e.value)


def test_collect_mode_records_unreadable_layers(county_dir):
    (county_dir / "永久基本农田.dbf").unlink()
    with pytest.raises(InputError):
        lk.read_county(county_dir)
    c = lk.read_county(county_dir, errors="collect")
    assert not c.usable and c.dltb is not None
    err = c.qa.errors[0]
    assert err.layer == "yjjbnt" and ".dbf" in err.message and err.file.endswith("永久基本农田.shp")


def test_qa_findings_on_dltb(tmp_path):
    d = tmp_path / "420704_鄂城区"
    dl = dltb_frame(12)
    dl.loc[4, "DLBM"] = "9999"                                  # unknown code (was 1101)
    dl.loc[2, "KCXS"] = 0.1                                     # 0701 with a 田坎 coefficient
    dl.loc[3, "BSM"] = dl.loc[9, "BSM"]                         # duplicate BSM
    dl.loc[5, "TBMJ"] = dl.loc[5, "TBMJ"] * 1.01                # declared area off by 1 %
    dl.loc[6, "TBDLMJ"] = dl.loc[6, "TBDLMJ"] + 5               # TBDLMJ != TBMJ - KCMJ
    dl.loc[7, "ZLDWDM"] = "420704100101000000"                  # 18 digits
    dl.loc[8, "QSXZ"] = "99"
    dl.loc[1, "KCXS"] = 1.2                                     # 耕地 with KCXS >= 1
    write_shp(dl, d / "DLTB.shp")
    c = lk.read_county(d)
    codes = {f.code: f for f in c.qa.findings}
    assert codes["dlbm_unknown"].features == [dl.loc[4, "BSM"]] and "9999" in codes["dlbm_unknown"].message
    assert codes["kcxs_not_cultivated"].features == [dl.loc[2, "BSM"]]
    assert codes["duplicate_id"].features == [dl.loc[9, "BSM"]] and codes["duplicate_id"].count == 2
    assert dl.loc[5, "BSM"] in codes["tbmj_mismatch"].features
    assert dl.loc[6, "BSM"] in codes["tbdlmj_mismatch"].features
    assert codes["zldwdm_invalid"].features == [dl.loc[7, "BSM"]]
    assert codes["qsxz_invalid"].features == [dl.loc[8, "BSM"]]
    assert codes["kcxs_range"].features == [dl.loc[1, "BSM"]]
    # a consistent feature is in none of them
    clean = dl.loc[10, "BSM"]
    assert not any(clean in f.features for f in c.qa.findings)
    assert c.usable      # warnings only


def test_yjjbnt_overlapping_each_other_is_a_finding(county_dir):
    yj = gpd.read_file(county_dir / "永久基本农田.shp", encoding="GBK")
    dup = yj.iloc[[0]].copy()
    dup["YJJBNTTBBH"] = "DUPLICATE"
    dup["geometry"] = dup.geometry.buffer(-20, join_style="mitre")   # 60 m x 60 m inside feature 0
    yj2 = gpd.GeoDataFrame(pd_concat([yj, dup]), crs=yj.crs)
    for ext in ("shp", "shx", "dbf", "prj"):
        (county_dir / f"永久基本农田.{ext}").unlink()
    write_shp(yj2, county_dir / "永久基本农田.shp")
    c = lk.read_county(county_dir)
    f = c.qa.by_code("self_overlap")
    assert f and f[0].count == 1 and "DUPLICATE" in f[0].features[0]
    assert "3600" in f[0].message


def pd_concat(frames):
    import pandas as pd
    return pd.concat(frames, ignore_index=True)


def test_layer_far_away_is_flagged(county_dir):
    dl = dltb_frame(3, x0=38_700_000.0, y0=3_500_000.0)
    write_shp(dl[["DLBM", "geometry"]], county_dir / "卫片图斑.shp")
    # no judgement field: patches unreadable, but the extent check needs a readable layer
    c = lk.read_county(county_dir, errors="collect")
    assert any(f.layer == "patches" and "判定类型" in f.message for f in c.qa.errors)


def test_missing_folder():
    with pytest.raises(InputError) as e:
        lk.read_county("/nonexistent/县")
    assert "不存在" in str(e.value)


def test_repr_html_escapes_and_summarises(county_dir):
    (county_dir / "landkit.toml").write_text('[county]\nname = "<script>x</script>县"\n', encoding="utf-8")
    c = lk.read_county(county_dir)
    h = c._repr_html_()
    assert "<script>x" not in h and "&lt;script&gt;x" in h
    assert "地类图斑" in h and "数据可以使用" in h and "16" in h


def test_reprojected_layers_stay_valid():
    """A County's layers are all valid (the analyses rely on it and skip the check): a layer
    that is invalid after reprojection is repaired, its polygonal part kept."""
    import geopandas as gpd
    import shapely
    from landkit.county import _still_valid
    bow = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    g = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[bow, shapely.box(20, 0, 30, 10)], crs="EPSG:4526")
    out = _still_valid(g)
    assert shapely.is_valid(out.geometry.values).all() and out.crs == g.crs
    assert out.geometry.iloc[0].area == pytest.approx(50.0) and out.geometry.iloc[1].equals(g.geometry.iloc[1])
    assert out["a"].tolist() == [1, 2]


def test_two_years_of_dltb_pick_the_analysis_year_and_the_previous_vintage(tmp_path):
    """A folder holding last year's and this year's 地类图斑: the one naming the analysis year is
    read as the DLTB (else the latest), the one before it as the previous vintage (an info says
    which and how to override it); a vintage used by neither is a layer_choice warning."""
    d = tmp_path / "420704_鄂城区"
    old, new = dltb_frame(6), dltb_frame(9)
    write_shp(old, d / "DLTB_2023.shp")
    write_shp(new, d / "DLTB_2024.shp")
    c = lk.read_county(d)
    assert c.sources["dltb"].path.name == "DLTB_2024.shp" and len(c.dltb) == 9
    assert c.sources["dltb_previous"].path.name == "DLTB_2023.shp" and len(c.dltb_previous) == 6
    assert c.vintages == {"dltb": 2024, "dltb_previous": 2023}
    assert not [f for f in c.qa.findings if f.code == "layer_choice"]
    info = [f for f in c.qa.findings if f.code == "previous_vintage"]
    assert len(info) == 1 and info[0].level == "info" and "DLTB_2023.shp" in info[0].message \
        and "dltb_previous" in info[0].message
    c23 = lk.read_county(d, {"county": {"year": 2023}})      # 2024 is later than the analysis year: not used
    assert c23.sources["dltb"].path.name == "DLTB_2023.shp" and len(c23.dltb) == 6 and c23.dltb_previous is None
    w = [f for f in c23.qa.findings if f.code == "layer_choice"]
    assert len(w) == 1 and w[0].level == "warning"
    assert "DLTB_2024.shp" in w[0].message and "[layers]" in w[0].message
    (d / "landkit.toml").write_text('[layers]\ndltb = "DLTB_2023.shp"\n', encoding="utf-8")
    assert lk.read_county(d).sources["dltb"].path.name == "DLTB_2023.shp"
    assert lk.read_county(d).dltb_previous is None
    assert not [f for f in lk.read_county(d).qa.findings if f.code == "layer_choice"]   # the user chose
    (d / "landkit.toml").write_text('[layers]\ndltb_previous = false\n', encoding="utf-8")
    assert lk.read_county(d).dltb_previous is None and len(lk.read_county(d).dltb) == 9


def test_previous_vintage_is_the_latest_earlier_year(tmp_path):
    """Three vintages for 2024: 2023 is the previous one, 2022 is left out (and said so); a DLTB
    without a year in its name is this year's when another names an earlier year."""
    d = tmp_path / "420704_鄂城区"
    for y, n in ((2022, 4), (2023, 6), (2024, 9)):
        write_shp(dltb_frame(n), d / f"DLTB_{y}.shp")
    c = lk.read_county(d, {"county": {"year": 2024}})
    assert c.sources["dltb"].path.name == "DLTB_2024.shp" and c.sources["dltb_previous"].path.name == "DLTB_2023.shp"
    w = [f for f in c.qa.findings if f.code == "layer_choice"]
    assert len(w) == 1 and "DLTB_2022.shp" in w[0].message and "DLTB_2023.shp" not in w[0].message.split("未使用")[1]
    e = tmp_path / "420705_x"
    write_shp(dltb_frame(9), e / "DLTB.shp")
    write_shp(dltb_frame(6), e / "旧" / "地类图斑2023.shp")
    c = lk.read_county(e, {"county": {"year": 2024}})
    assert c.sources["dltb"].path.name == "DLTB.shp" and c.sources["dltb_previous"].path.name == "地类图斑2023.shp"
    assert c.vintages == {"dltb": 2024, "dltb_previous": 2023}
    (e / "landkit.toml").write_text('[layers]\ndltb_previous = "旧/地类图斑2023.shp"\n[change]\nprevious_year = 2021\n',
                                    encoding="utf-8")
    c = lk.read_county(e, {"county": {"year": 2024}})
    assert c.vintages == {"dltb": 2024, "dltb_previous": 2023}      # the name's year wins over the setting
    write_shp(dltb_frame(6), e / "旧" / "上期图斑.shp")
    (e / "landkit.toml").write_text('[layers]\ndltb_previous = "旧/上期图斑.shp"\n[change]\nprevious_year = 2021\n',
                                    encoding="utf-8")
    c = lk.read_county(e, {"county": {"year": 2024}})
    assert c.sources["dltb_previous"].path.name == "上期图斑.shp" and c.vintages["dltb_previous"] == 2021

"""QA checks (landkit.qa) on layers read from GBK shapefiles, and the Finding / QAReport classes."""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from landkit.findings import MAX_LISTED, Finding, QAReport
from landkit.io.read import load_layer
from landkit.qa import (area_off, check_dates, check_dltb, check_duplicate_ids, check_judgements,
                        check_self_overlap, check_tbmj_adjusted)
from landkit.settings import load_settings

from conftest import X0, Y0, dltb_frame, geod_area_m2, write_shp


@pytest.fixture(scope="module")
def cfg():
    return load_settings()


def _load(gdf, path, role, cfg=None):
    write_shp(gdf, path)
    g, _, _ = load_layer(path, None, role, config=cfg or load_settings())
    return g


def _areas(g):
    return np.array([geod_area_m2(x, g.crs) for x in g.geometry])


def _codes(findings):
    return {f.code: f for f in findings}


@pytest.fixture
def dltb(tmp_path):
    """A consistent 12-feature DLTB read back from a GBK shapefile without .cpg."""
    return _load(dltb_frame(12), tmp_path / "DLTB.shp", "dltb")


# ------------------------------------------------------------------ check_dltb

def test_consistent_dltb_has_no_findings(dltb, cfg):
    assert check_dltb(dltb, _areas(dltb), cfg, adcode="420704", file="DLTB.shp") == []


def test_findings_name_layer_file_field_and_bsm(dltb, cfg):
    dltb.loc[3, "DLBM"] = "9999"
    f = _codes(check_dltb(dltb, _areas(dltb), cfg, file="/data/DLTB.shp"))["dlbm_unknown"]
    assert f.level == "warning" and f.layer == "dltb" and f.file == "/data/DLTB.shp" and f.field == "DLBM"
    assert f.features == [dltb.loc[3, "BSM"]] and f.count == 1 and "9999" in f.message


def test_tbmj_tolerance_needs_both_relative_and_absolute(tmp_path, cfg):
    """TBMJ is flagged only when it is off by more than 0.1 % *and* more than 1 m²."""
    big = [shapely.box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100) for i in range(2)]     # ≈ 1 ha
    small = [shapely.box(X0 + 200 * i, Y0 + 300, X0 + 200 * i + 10, Y0 + 310) for i in range(2)]  # ≈ 100 m²
    geoms = big + small
    true = np.array([geod_area_m2(g) for g in geoms])
    tbmj = true + np.array([5.0, 15.0, 0.9, 1.5])      # 0.05 %, 0.15 %; 0.9 % but < 1 m², 1.5 %
    g = gpd.GeoDataFrame({"BSM": ["B5", "B15", "S09", "S15"], "DLBM": ["0701"] * 4,
                          "ZLDWDM": ["4207041001010000000"] * 4, "TBMJ": np.round(tbmj, 2),
                          "KCXS": [0.0] * 4}, geometry=geoms, crs="EPSG:4526")
    g = _load(g, tmp_path / "DLTB.shp", "dltb")
    f = _codes(check_dltb(g, true, cfg))["tbmj_mismatch"]
    assert sorted(f.features) == ["B15", "S15"] and f.count == 2
    loose = cfg.merged({"area": {"tbmj_rel_tolerance": 0.01}})
    f2 = _codes(check_dltb(g, true, loose)).get("tbmj_mismatch")
    assert f2 is not None and f2.features == ["S15"]


def test_area_off_ignores_binary_noise_and_missing_values():
    declared = np.array([100.01, 100.02, 100.03, np.nan, 5000.0])
    reference = np.array([100.00, 100.00, 100.00, 100.0, 5003.0])
    # 100.01 - 100.00 is 0.010000000000005116 in floats: not more than 0.01
    assert area_off(declared, reference, 0.01).tolist() == [False, True, True, False, True]
    assert area_off(declared, reference, 0.01, rel_tol=0.001).tolist() == [False, False, False, False, False]


def test_declared_tbmj_against_adjusted_areas(tmp_path):
    """check_tbmj_adjusted: the 图斑 off by more than the tolerance, named by BSM, with the largest gap."""
    d = dltb_frame(6)
    g = _load(d, tmp_path / "DLTB.shp", "dltb")
    adjusted = g["TBMJ"].to_numpy() + np.array([0.0, 0.01, -0.99, 1.01, -250.0, 0.5])
    f = check_tbmj_adjusted(g, adjusted, 1.0, file="DLTB.shp")
    assert len(f) == 1 and f[0].code == "tbmj_adjusted_mismatch" and f[0].level == "warning"
    assert f[0].features == [d.loc[3, "BSM"], d.loc[4, "BSM"]] and f[0].count == 2
    assert "250.00 m²" in f[0].message and f[0].field == "TBMJ" and f[0].file == "DLTB.shp"
    assert [x.features for x in check_tbmj_adjusted(g, adjusted, 0.01)][0] == [
        d.loc[i, "BSM"] for i in (2, 3, 4, 5)]
    assert check_tbmj_adjusted(g, g["TBMJ"].to_numpy(), 0.01) == []
    none = check_tbmj_adjusted(g.drop(columns="TBMJ"), adjusted, 1.0)
    assert none[0].code == "tbmj_absent" and none[0].level == "info"


def test_tbdlmj_must_equal_tbmj_minus_kcmj(dltb, cfg):
    dltb.loc[0, "TBDLMJ"] = dltb.loc[0, "TBMJ"] - dltb.loc[0, "KCMJ"] + 0.01     # rounding: fine
    dltb.loc[1, "TBDLMJ"] = dltb.loc[1, "TBMJ"] - dltb.loc[1, "KCMJ"] + 0.02
    f = _codes(check_dltb(dltb, _areas(dltb), cfg))["tbdlmj_mismatch"]
    assert f.features == [dltb.loc[1, "BSM"]]


def test_missing_tbmj_values_and_absent_fields(tmp_path, cfg):
    d = dltb_frame(4)
    d.loc[2, "TBMJ"] = np.nan
    g = _load(d.drop(columns=["KCXS", "KCMJ", "TBDLMJ", "KCDLBM"]), tmp_path / "a" / "DLTB.shp", "dltb")
    c = _codes(check_dltb(g, _areas(g), cfg))
    assert c["tbmj_missing"].features == [d.loc[2, "BSM"]]
    assert c["kcxs_missing"].level == "warning" and c["kcxs_missing"].features == []
    g2 = _load(d[["BSM", "DLBM", "ZLDWDM", "geometry"]], tmp_path / "b" / "DLTB.shp", "dltb")
    c2 = _codes(check_dltb(g2, _areas(g2), cfg))
    assert c2["tbmj_absent"].level == "info" and "tbmj_mismatch" not in c2


def test_qsxz_invalid_and_missing(dltb, cfg):
    dltb.loc[4, "QSXZ"] = "99"
    dltb.loc[5, "QSXZ"] = None
    c = _codes(check_dltb(dltb, _areas(dltb), cfg))
    assert c["qsxz_invalid"].features == [dltb.loc[4, "BSM"]] and "99" in c["qsxz_invalid"].message
    assert c["qsxz_missing"].features == [dltb.loc[5, "BSM"]]


def test_zldwdm_invalid_and_other_county(dltb, cfg):
    dltb.loc[6, "ZLDWDM"] = "420704100101000000"      # 18 digits
    dltb.loc[7, "ZLDWDM"] = "4207031001010000000"     # 鄂州 华容区
    c = _codes(check_dltb(dltb, _areas(dltb), cfg, adcode="420704"))
    assert c["zldwdm_invalid"].features == [dltb.loc[6, "BSM"]]
    assert c["zldwdm_other_county"].features == [dltb.loc[7, "BSM"]] and "420704" in c["zldwdm_other_county"].message
    # without the county's code the other-county check is not made
    assert "zldwdm_other_county" not in _codes(check_dltb(dltb, _areas(dltb), cfg))


def test_kcxs_rules(dltb, cfg):
    gd = dltb.index[dltb["DLBM"].isin(["0101", "0102", "0103"])]
    non = dltb.index[dltb["DLBM"] == "0701"]
    dltb.loc[gd[0], "KCXS"] = 1.0                     # out of [0, 1)
    dltb.loc[non[0], "KCXS"] = 0.05                   # 田坎 on 城镇住宅用地
    dltb.loc[gd[1], "KCDLBM"] = "1201"                # 耕地 with KCXS but not 1203
    c = _codes(check_dltb(dltb, _areas(dltb), cfg))
    assert c["kcxs_range"].features == [dltb.loc[gd[0], "BSM"]]
    assert c["kcxs_not_cultivated"].features == [dltb.loc[non[0], "BSM"]]
    assert c["kcdlbm_invalid"].features == [dltb.loc[gd[1], "BSM"]]


def test_features_without_bsm_are_named_by_fid(dltb, cfg):
    dltb.loc[8, "BSM"] = None
    dltb.loc[8, "DLBM"] = "ABCD"
    f = _codes(check_dltb(dltb, _areas(dltb), cfg))["dlbm_unknown"]
    assert f.features == [f"FID {dltb.loc[8, 'lk_fid']}"]


# ------------------------------------------------------------------ duplicate ids

def test_duplicate_ids_list_values_and_count_rows():
    g = pd.DataFrame({"BSM": ["a", "b", "a", "c", "b", "a", None, None]})
    [f] = check_duplicate_ids(g, "BSM", "dltb", "x.shp")
    assert f.features == ["a", "b"] and f.count == 5          # None is not a duplicate
    assert f.field == "BSM" and f.file == "x.shp" and "2 个重复值" in f.message


def test_no_duplicates_or_no_field():
    assert check_duplicate_ids(pd.DataFrame({"BSM": ["a", "b", None]}), "BSM", "dltb") == []
    assert check_duplicate_ids(pd.DataFrame({"X": ["a", "a"]}), "BSM", "dltb") == []


# ------------------------------------------------------------------ self overlap

def _yjjbnt(tmp_path, geoms, ids):
    g = gpd.GeoDataFrame({"YJJBNTTBBH": ids, "KCXS": [0.1] * len(ids)}, geometry=geoms, crs="EPSG:4526")
    return _load(g, tmp_path / "永久基本农田.shp", "yjjbnt")


def test_self_overlap_reports_pairs_above_the_sliver(tmp_path):
    geoms = [shapely.box(X0, Y0, X0 + 100, Y0 + 100),
             shapely.box(X0 + 80, Y0, X0 + 180, Y0 + 100),           # overlaps Y0 by 20 × 100 m
             shapely.box(X0 + 180, Y0, X0 + 280, Y0 + 100),          # touches Y1 along an edge
             shapely.box(X0 + 500, Y0, X0 + 600, Y0 + 100),
             shapely.box(X0 + 599.99, Y0 + 50, X0 + 700, Y0 + 100)]  # 0.01 × 50 = 0.5 m² with Y3
    g = _yjjbnt(tmp_path, geoms, ["Y0", "Y1", "Y2", "Y3", "Y4"])
    [f] = check_self_overlap(g, "yjjbnt", 1.0, "永久基本农田.shp", "永久基本农田")
    assert f.code == "self_overlap" and f.count == 1 and f.features == ["Y0×Y1"]
    assert f.field == "YJJBNTTBBH" and f.message.startswith("永久基本农田有 1 对")
    assert f"{(geoms[0].intersection(geoms[1])).area:.1f}" in f.message     # 2000.0 m² planar
    [f0] = check_self_overlap(g, "yjjbnt", 0.0)
    assert f0.count == 2 and set(f0.features) == {"Y0×Y1", "Y3×Y4"}


def test_self_overlap_none_and_given_pairs(tmp_path):
    geoms = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(3)]
    g = _yjjbnt(tmp_path, geoms, ["A", "B", "C"])
    assert check_self_overlap(g, "yjjbnt", 1.0) == []
    # pairs passed in are used as they are (the county computes them once)
    assert check_self_overlap(g, "yjjbnt", 1.0, pairs=(np.zeros(0, int), np.zeros(0, int))) == []


# ------------------------------------------------------------------ dates

def test_unreadable_dates_are_warned_with_examples(tmp_path):
    vals = ["2024-03-05", "2024年3月5日", "20240305", "2024/3/5", "2024-13-01", "不详", None, ""]
    g = gpd.GeoDataFrame({"批准文号": [f"鄂政土批〔2024〕{i}号" for i in range(len(vals))], "批准日期": vals},
                         geometry=[shapely.box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(len(vals))],
                         crs="EPSG:4526")
    g = _load(g, tmp_path / "批准用地.shp", "approvals")
    [f] = check_dates(g, "approvals", "批准用地.shp")
    assert f.code == "date_unparseable" and f.field == "批准日期" and f.count == 2
    assert f.features == ["鄂政土批〔2024〕4号", "鄂政土批〔2024〕5号"]
    assert "2024-13-01" in f.message and "不详" in f.message


@pytest.mark.filterwarnings("ignore:Could not decode error message:RuntimeWarning")   # GDAL: laundered name
def test_dates_in_a_cut_shapefile_field_name(tmp_path):
    """约定动工日期 is 12 bytes in GBK: the .dbf keeps 约定动工日; the check uses the standard name."""
    g = gpd.GeoDataFrame({"电子监管号": ["J1", "J2"], "供地日期": ["2020-01-01", "2020-02-01"],
                          "约定动工日期": ["2021-01-01", "某日"]},
                         geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10), shapely.box(X0 + 20, Y0, X0 + 30, Y0 + 10)],
                         crs="EPSG:4526")
    g = _load(g, tmp_path / "供地.shp", "supply")
    [f] = check_dates(g, "supply")
    assert f.field == "约定动工日期" and f.features == ["J2"]


def test_all_dates_readable_gives_nothing(tmp_path):
    g = pd.DataFrame({"批准日期": ["2023-01-01", None], "lk_fid": [0, 1]})
    assert check_dates(g, "approvals") == []
    assert check_dates(g, "dltb") == []          # no date fields in the role


# ------------------------------------------------------------------ judgements

def _patches(tmp_path, values):
    g = gpd.GeoDataFrame({"监测编号": [f"W{i}" for i in range(len(values))], "判定类型": values},
                         geometry=[shapely.box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(len(values))],
                         crs="EPSG:4526")
    return _load(g, tmp_path / "卫片图斑.shp", "patches")


def test_known_judgements_pass(tmp_path, cfg):
    g = _patches(tmp_path, ["违法", "合法（补办）", "非农违法", "伪变化", "设施农用地"])
    assert check_judgements(g, cfg) == []


def test_unknown_judgement_is_an_error_naming_the_patches(tmp_path, cfg):
    g = _patches(tmp_path, ["违法", "待定", "合法", None, "待定"])
    [f] = check_judgements(g, cfg, "卫片图斑.shp")
    assert f.level == "error" and f.code == "judgement_unknown" and f.field == "判定类型"
    assert f.features == ["W1", "W4"] and f.count == 2       # a blank 判定类型 is 未判定, not unknown
    assert "待定" in f.message and "（空）" not in f.message and "[satellite.judgement]" in f.message
    r = QAReport()
    r.add([f])
    assert not r.usable


def test_local_judgement_setting_classifies_the_value(tmp_path, cfg):
    g = _patches(tmp_path, ["违法", "待定"])
    local = cfg.merged({"satellite": {"judgement": {"待定": "other"}}})
    assert check_judgements(g, local) == []


# ------------------------------------------------------------------ Finding / QAReport

def test_finding_count_defaults_and_feature_list_is_capped():
    f = Finding("warning", "x", "消息", features=list(range(MAX_LISTED + 7)))
    assert f.count == MAX_LISTED + 7 and len(f.features) == MAX_LISTED
    assert f.features[:3] == ["0", "1", "2"]                # ids kept as text
    assert Finding("info", "y", "m").count is None
    assert Finding("warning", "z", "m", features=["a"], count=10).count == 10


def test_finding_to_dict_round_trips():
    f = Finding("error", "unreadable", "无法读取", "dltb", "DLTB.shp", "DLBM", ["1"], 1)
    d = f.to_dict()
    assert d == {"level": "error", "code": "unreadable", "message": "无法读取", "layer": "dltb",
                 "file": "DLTB.shp", "field": "DLBM", "features": ["1"], "count": 1}
    assert Finding(**d) == f


def test_report_levels_and_lookup():
    r = QAReport()
    assert r.usable and r.to_dict() == {"usable": True, "error_count": 0, "warning_count": 0, "findings": []}
    r.add(Finding("info", "crs", "说明"))
    r.add([Finding("warning", "dup", "重复", features=["a", "b"]), Finding("warning", "dup", "重复2")])
    assert r.usable and len(r.warnings) == 2 and r.errors == []
    r.add(Finding("error", "bad", "错误"))
    assert not r.usable and [f.code for f in r.errors] == ["bad"]
    assert [f.message for f in r.by_code("dup")] == ["重复", "重复2"] and r.by_code("none") == []
    d = r.to_dict()
    assert d["usable"] is False and d["error_count"] == 1 and d["warning_count"] == 2 and len(d["findings"]) == 4


def test_report_frame_has_fixed_columns_even_when_empty():
    cols = ["level", "code", "message", "layer", "file", "field", "features", "count"]
    assert list(QAReport().to_frame().columns) == cols and len(QAReport().to_frame()) == 0
    r = QAReport([Finding("warning", "dup", "重复", "dltb", features=["a", "b"])])
    df = r.to_frame()
    assert list(df.columns) == cols and df.loc[0, "features"] == ["a", "b"] and df.loc[0, "count"] == 2

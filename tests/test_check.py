"""`landkit check` rendering (landkit.render.check): the JSON dict, the Chinese console report
and the one-screen run summary, printed with a rich Console into a StringIO."""
import datetime as dt
import io
import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from rich.console import Console

import landkit as lk
from landkit.render.check import check_dict, print_check, print_run_summary

from conftest import X0, Y0, dltb_frame, write_shp


def console():
    buf = io.StringIO()
    return Console(file=buf, width=240, color_system=None, highlight=False, soft_wrap=True), buf


def printed(county):
    con, buf = console()
    print_check(county, con)
    return buf.getvalue()


# ------------------------------------------------------------------ check_dict

def test_check_dict_of_a_county_folder(county_dir):
    (county_dir / "landkit.toml").write_text("[county]\nyear = 2024\n", encoding="utf-8")
    c = lk.read_county(county_dir)
    d = check_dict(c)
    assert d["county"] == {"name": "鄂城区", "adcode": "420704", "year": 2024, "as_of": "2024-12-31",
                           "crs": "EPSG:4526", "path": str(county_dir)}
    layers = {r["role"]: r for r in d["layers"]}
    assert set(layers) == {"dltb", "yjjbnt"}
    assert layers["dltb"]["文件"] == "DLTB.shp" and layers["dltb"]["要素数"] == 16 and layers["dltb"]["名称"] == "地类图斑"
    n_gd = int(dltb_frame(16)["DLBM"].isin(["0101", "0102", "0103"]).sum())    # conftest: 永农 = the 耕地
    assert layers["yjjbnt"]["要素数"] == n_gd and layers["yjjbnt"]["坐标系"] == "EPSG:4526"
    assert "GBK" in layers["dltb"]["编码"]
    assert {"patches", "approvals", "supply", "parcels", "townships"} <= set(d["missing_layers"])
    assert "dltb" not in d["missing_layers"] and d["imagery"] is None
    assert d["qa"]["usable"] is True and d["qa"]["error_count"] == 0
    json.dumps(d, ensure_ascii=False)                 # `landkit check --json` prints it as is


def test_check_dict_without_year_and_with_imagery(county_dir):
    import rasterio
    from affine import Affine
    tif = county_dir / "影像.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8", crs="EPSG:4526",
                       transform=Affine(100, 0, X0, 0, -100, Y0 + 400)) as ds:
        ds.write(np.ones((1, 4, 4), np.uint8))
    d = check_dict(lk.read_county(county_dir))
    assert d["county"]["year"] is None and d["county"]["as_of"] is None
    assert d["imagery"] == str(tif)


# ------------------------------------------------------------------ print_check

def test_print_check_clean_county(county_dir):
    c = lk.read_county(county_dir)
    out = printed(c)
    assert "县数据检查：鄂城区" in out and "行政区代码 420704" in out and "年度 未设" in out
    assert f"文件夹：{county_dir}" in out
    assert "统一坐标系：EPSG:4526" in out
    for cell in ("地类图斑", "DLTB.shp", "永久基本农田", "永久基本农田.shp", "16"):
        assert cell in out
    assert "未提供的图层：" in out and "卫片图斑" in out.split("未提供的图层：")[1].splitlines()[0]
    assert "错误（" not in out and "警告（" not in out
    info = [f for f in c.qa.findings if f.level == "info"]
    assert f"说明（{len(info)} 项）" in out
    assert "结论：数据可以使用" in out and "（0 个错误，0 个警告）" in out


def test_print_check_warnings_list_field_and_features(tmp_path):
    d = tmp_path / "420704_鄂城区"
    dl = dltb_frame(60)
    dl["DLBM"] = "9999"                               # 60 features with an unknown code
    dl["KCXS"], dl["KCMJ"], dl["TBDLMJ"], dl["KCDLBM"] = 0.0, 0.0, dl["TBMJ"], None   # no 田坎 left
    dl.loc[0, "BSM"] = dl.loc[1, "BSM"]               # and one duplicate BSM
    write_shp(dl, d / "DLTB.shp")
    out = printed(lk.read_county(d))
    assert "警告（2 项）" in out
    line = next(l for l in out.splitlines() if "地类编码不在三调工作分类中" in l)
    assert line.strip().startswith("[地类图斑 · 字段 DLBM] 60 个图斑")
    feats = out.splitlines()[out.splitlines().index(line) + 1]
    ids = dl["BSM"].tolist()
    assert feats.strip().startswith("涉及：" + "，".join(ids[:10]) + "…")
    assert feats.rstrip().endswith("等 60 个")         # the finding lists 50 of the 60
    assert ids[10] not in feats
    assert "结论：数据可以使用" in out and "（0 个错误，2 个警告）" in out


def test_print_check_error_keeps_square_brackets_and_names_the_file(tmp_path):
    """The unknown-judgement message names ``[satellite.judgement]``: data text, not rich markup."""
    d = tmp_path / "420704_鄂城区"
    write_shp(dltb_frame(4), d / "DLTB.shp")
    p = gpd.GeoDataFrame({"监测编号": ["W[1]", "W2"], "判定类型": ["违法", "待核实[bold]"]},
                         geometry=[shapely.box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20),
                                   shapely.box(X0 + 30, Y0 + 10, X0 + 40, Y0 + 20)], crs="EPSG:4526")
    write_shp(p, d / "卫片图斑.shp")
    c = lk.read_county(d)
    out = printed(c)
    assert "错误（1 项）" in out
    line = next(l for l in out.splitlines() if "无法识别的值" in l)
    assert "[卫片图斑 · 字段 判定类型]" in line and "待核实[bold]" in line and "[satellite.judgement]" in line
    assert f"（文件：{d / '卫片图斑.shp'}）" in line
    assert "涉及：W2" in out
    assert "结论：数据不能使用" in out and "（1 个错误，0 个警告）" in out


def test_print_check_unreadable_layer(county_dir):
    (county_dir / "永久基本农田.dbf").unlink()
    c = lk.read_county(county_dir, errors="collect")
    out = printed(c)
    line = next(l for l in out.splitlines() if ".dbf" in l and l.strip().startswith("[永久基本农田]"))
    assert "永久基本农田.shp" in line
    assert "结论：数据不能使用" in out


def test_print_check_escapes_markup_in_the_name(county_dir):
    (county_dir / "landkit.toml").write_text('[county]\nname = "[red]测试[/red]区"\n', encoding="utf-8")
    out = printed(lk.read_county(county_dir))
    assert "县数据检查：[red]测试[/red]区" in out


# ------------------------------------------------------------------ print_run_summary

def _summary(**sat):
    s = {"county": {"name": "鄂城区", "adcode": "420704", "year": 2024}, "run_seconds": 3.25,
         "satellite": {"available": True, "ratio": 0.123456, "status": "over_cap", "illegal_farmland_mu": 1.2345,
                       "new_construction_farmland_mu": 10.0, "rectify_to_cap_mu": 0.7436, "cap": 0.05},
         "farmland_overlap": {"tolerance_m2": 1.0, "available": True,
                              "approvals": {"name": "批准用地", "features_checked": 12, "features_overlapping": 3,
                                            "overlap_mu": 4.567},
                              "supply": {"name": "供地", "features_checked": 5, "features_overlapping": 0,
                                         "overlap_mu": 0.0}}}
    s["satellite"].update(sat)
    return s


def run_summary(summary, out_dir="/out/鄂城区", **kw):
    con, buf = console()
    print_run_summary(summary, out_dir, con, **kw)
    return buf.getvalue()


def test_run_summary_lines():
    out = run_summary(_summary())
    lines = out.splitlines()
    assert lines[0] == "鄂城区（420704）2024年度分析完成，用时 3.2 秒"
    assert lines[1] == "卫片违法占用耕地比例：12.35%（超过控制目标；违法 1.23 亩 / 新增建设占用耕地 10.00 亩）"
    assert lines[2].strip() == "降到 5% 以内需整改复耕 0.74 亩"
    assert "永久基本农田压占（批准用地）：3/12 个要素，4.57 亩" in out
    assert "永久基本农田压占（供地）：0/5 个要素，0.00 亩" in out
    assert lines[-1] == "结果已写入：/out/鄂城区"


def test_run_summary_total_seconds_and_passing_ratio():
    out = run_summary(_summary(ratio=0.01, status="pass", rectify_to_cap_mu=0.0), total_seconds=61.04)
    assert "用时 61.0 秒" in out and "1.00%（达标；" in out and "需整改复耕" not in out


def test_run_summary_without_ratio_or_satellite():
    out = run_summary(_summary(ratio=None, status="no_data", illegal_farmland_mu=0.0,
                               new_construction_farmland_mu=0.0, rectify_to_cap_mu=0.0))
    assert "卫片违法占用耕地比例：—（无数据；" in out
    s = _summary()
    s["satellite"] = {"available": False, "reason": "该县没有卫片图斑图层"}
    s["farmland_overlap"] = {"available": False, "reason": "该县没有永久基本农田图层", "tolerance_m2": 1.0}
    out = run_summary(s)
    assert "卫片：该县没有卫片图斑图层" in out and "永久基本农田压占" not in out


def test_run_summary_escapes_markup():
    s = _summary()
    s["county"]["name"] = "[bold]某[/bold]县"
    out = run_summary(s, out_dir="/out/[x]")
    assert out.startswith("[bold]某[/bold]县（420704）") and "结果已写入：/out/[x]" in out


def test_run_summary_of_a_real_analysis(tmp_path):
    from landkit.pipeline.run import analyse
    d = tmp_path / "420704_鄂城区"
    write_shp(dltb_frame(8), d / "DLTB.shp")
    c = lk.read_county(d, {"county": {"year": 2024}})
    s = analyse(c)["summary"]
    out = run_summary(s, out_dir=tmp_path / "o", total_seconds=1.0)
    assert out.startswith("鄂城区（420704）2024年度分析完成") and "卫片：该县没有卫片图斑图层" in out

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
    assert d["imagery_pair"] is None


def test_check_lists_the_before_after_images(county_dir):
    (county_dir / "影像").mkdir()
    for name in ("前时相_20231201.tif", "后时相_20241130.tif"):
        (county_dir / "影像" / name).write_bytes(b"")           # names only: nothing is opened
    c = lk.read_county(county_dir)
    assert check_dict(c)["imagery_pair"] == {"before": {"file": "影像/前时相_20231201.tif", "date": "2023-12-01"},
                                             "after": {"file": "影像/后时相_20241130.tif", "date": "2024-11-30"}}
    out = printed(c)
    assert "前时相影像：影像/前时相_20231201.tif（2023-12-01）" in out and "后时相影像：影像/后时相_20241130.tif" in out


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
    dl = dltb_frame(130)
    # 60 features with an unknown code: under half of the layer ([qa] max_invalid_share), so a warning
    dl.loc[:59, "DLBM"] = "9999"
    dl["KCXS"], dl["KCMJ"], dl["TBDLMJ"], dl["KCDLBM"] = 0.0, 0.0, dl["TBMJ"], None   # no 田坎 left
    dl.loc[0, "BSM"] = dl.loc[1, "BSM"]               # and one duplicate BSM
    write_shp(dl, d / "DLTB.shp")
    out = printed(lk.read_county(d))
    assert "警告（2 项）" in out
    line = next(l for l in out.splitlines() if "地类编码不在三调工作分类中" in l)
    assert line.strip().startswith("[地类图斑 · 字段 DLBM] 60 个图斑")
    feats = out.splitlines()[out.splitlines().index(line) + 1]
    ids = dl["BSM"].tolist()[:60]
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


def test_run_summary_zones_line():
    s = _summary()
    assert "开发区" not in run_summary(s)                             # no 开发区 layer: no line
    s["development_zones"] = {"available": True, "zone_count": 2, "total": {
        "supply_rate": 0.82304, "built_rate": None, "fixed_asset_per_mu_wan": 201.5406, "tax_per_mu_wan": 12.2133,
        "unavailable": {"built_rate": "开发区内没有已供应的国有建设用地"}}}
    out = run_summary(s)
    assert ("开发区（2 个，合计）：土地供应率 82.30%，土地建成率 未提供数据（开发区内没有已供应的国有建设用地），"
            "投入强度 201.54 万元/亩，地均税收 12.21 万元/亩") in out
    assert out.splitlines()[-1] == "结果已写入：/out/鄂城区"


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


# ------------------------------------------------------------------ the headline of a real `landkit run`

def landkit_run(county, out, *args):
    import os
    import subprocess
    import sys
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    r = subprocess.run([sys.executable, "-m", "landkit.cli", "run", str(county), "-o", str(out), *map(str, args)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def section(stdout: str, title: str) -> dict[str, str]:
    """The indented lines under a headline section (存量建设用地 / 处置率): {name: text}."""
    lines = stdout.splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith(title))
    out = {}
    for ln in lines[k + 1:]:
        if not ln.startswith("  "):
            break
        name, _, rest = ln.strip().partition("：")
        out[name] = rest
    return out


INV_NAMES = {"approved_unsupplied": "批而未供", "idle": "闲置土地", "inefficient": "城镇低效用地",
             "collective_commercial": "农村集体经营性建设用地"}


def test_run_headline_states_the_summary_figures(tmp_path):
    """`landkit run` of the demo county (a generated county on a real boundary) prints 卫片, 永农压占,
    the four 存量 categories with their total and both 处置率 against their targets, each equal to
    summary.json's figure to 2 decimals. The targets are set so that 批而未供 meets its target and
    闲置 does not (shortfall printed)."""
    from conftest import SAMPLE
    cfg = tmp_path / "targets.toml"
    cfg.write_text("[disposal]\napproved_unsupplied_target = 0.2\nidle_target = 0.9\n", encoding="utf-8")
    stdout, s = landkit_run(SAMPLE, tmp_path / "out", "--year", "2024", "--config", cfg)
    sat = s["satellite"]
    assert (f"卫片违法占用耕地比例：{sat['ratio']:.2%}（{STATUS[sat['status']]}；违法 {sat['illegal_farmland_mu']:.2f} 亩 / "
            f"新增建设占用耕地 {sat['new_construction_farmland_mu']:.2f} 亩）") in stdout
    for role, v in s["farmland_overlap"].items():
        if isinstance(v, dict) and "overlap_mu" in v:
            assert (f"永久基本农田压占（{v['name']}）：{v['features_overlapping']}/{v['features_checked']} 个要素，"
                    f"{v['overlap_mu']:.2f} 亩") in stdout
    inv = s["inventory"]
    lines = section(stdout, "存量建设用地")
    assert stdout.count(f"存量建设用地（截至 {inv['as_of']}）：") == 1
    for key, name in INV_NAMES.items():
        assert inv[f"{key}_mu"] is not None and lines[name] == f"{inv[f'{key}_mu']:.2f} 亩"
    assert lines["合计（去重）"] == f"{inv['total_mu']:.2f} 亩"
    disp = s["disposal"]
    lines = section(stdout, "处置率")
    au, idle = disp["approved_unsupplied"], disp["idle"]
    assert au["met"] is True and idle["met"] is False and idle["shortfall_mu"] > 0
    assert lines["批而未供"] == (f"{au['rate']:.2%}，达到目标 20%（基数 {au['base_mu']:.2f} 亩，"
                              f"已处置 {au['disposed_mu']:.2f} 亩）")
    assert lines["闲置土地"] == (f"{idle['rate']:.2%}，未达到目标 90%，尚差 {idle['shortfall_mu']:.2f} 亩（"
                             f"基数 {idle['base_mu']:.2f} 亩，已处置 {idle['disposed_mu']:.2f} 亩）")
    assert stdout.rstrip().splitlines()[-1].startswith("结果已写入：")


STATUS = {"pass": "达标", "over_cap": "超过控制目标", "accountability": "达到问责线", "no_data": "无数据"}


def test_run_headline_without_approvals_and_supply(tmp_path):
    """A county without 批准用地 and 供地 layers: 批而未供 and 闲置 (and their 处置率) print
    未提供数据 with the reason summary.json gives, never 0.00; the other figures are printed."""
    from landkit.synth import make_county
    d = make_county(tmp_path / "420111_洪山样区", seed=41, n_dltb=400, n_patches=40, n_approvals=20, n_supply=60,
                    n_parcels=80, boundary=None, adcode="420111", name="洪山样区", center_lonlat=(114.40, 30.50),
                    area_km2=120, image=False)
    for p in [*d.glob("批准用地.*"), *d.glob("供地.*")]:
        p.unlink()
    stdout, s = landkit_run(d, tmp_path / "out")
    inv, disp = s["inventory"], s["disposal"]
    assert inv["approved_unsupplied_mu"] is None and inv["idle_mu"] is None
    assert disp["approved_unsupplied"]["rate"] is None and disp["idle"]["rate"] is None
    stock = section(stdout, "存量建设用地")
    rates = section(stdout, "处置率")
    for lines in (stock, rates):
        for name in ("批而未供", "闲置土地"):
            assert lines[name].startswith("未提供数据（") and lines[name].endswith("）"), lines[name]
            assert "0.00" not in lines[name]
    # the reason is the one summary.json carries (its notes / unavailable entry), not a generic one
    said = json.dumps(inv, ensure_ascii=False) + json.dumps(disp, ensure_ascii=False)
    for lines in (stock, rates):
        why = lines["批而未供"][len("未提供数据（"):-1]
        assert why and why != "未计算" and all(part in said for part in why.split("；")), why
    assert "批准用地" in stock["批而未供"]
    assert stock["城镇低效用地"] == f"{inv['inefficient_mu']:.2f} 亩"
    assert stock["农村集体经营性建设用地"] == f"{inv['collective_commercial_mu']:.2f} 亩"
    assert stock["合计（去重）"].startswith(f"{inv['total_mu']:.2f} 亩")
    assert "批而未供：0.00" not in stdout and "闲置土地：0.00" not in stdout


def test_run_summary_is_none_safe():
    """Every figure null: nothing crashes, nothing prints 0.00, each null says 未提供数据 with its reason."""
    s = _summary(ratio=None, status=None, illegal_farmland_mu=None, new_construction_farmland_mu=None,
                 rectify_to_cap_mu=None, cap=None, unavailable={"ratio": "判定类型字段缺失"})
    s["farmland_overlap"]["approvals"]["overlap_mu"] = None
    s["farmland_overlap"]["approvals"]["reason"] = "批准用地几何无效"
    del s["farmland_overlap"]["supply"]                  # its 0.00 亩 is a real figure
    s["inventory"] = {"as_of": "2024-12-31", **{f"{k}_mu": None for k in INV_NAMES}, "total_mu": None,
                      "unavailable": {"approved_unsupplied_mu": "没有批准用地图层", "total_mu": "各类均无法统计"},
                      "notes": ["没有供地图层，无法认定闲置土地"]}
    s["disposal"] = {"year": 2024, "approved_unsupplied": {"rate": None, "target": 0.25, "base_mu": None,
                                                            "disposed_mu": None, "met": None, "shortfall_mu": None,
                                                            "reason": "没有批准用地图层，无法计算批而未供处置率"},
                     "idle": {"rate": None, "target": 0.25, "base_mu": 0.0, "disposed_mu": 0.0, "met": None,
                              "shortfall_mu": None}}
    out = run_summary(s)
    assert "0.00" not in out
    assert "卫片违法占用耕地比例：未提供数据（判定类型字段缺失）" in out
    assert "永久基本农田压占（批准用地）：未提供数据（批准用地几何无效）" in out
    stock, rates = section(out, "存量建设用地"), section(out, "处置率")
    assert stock["批而未供"] == "未提供数据（没有批准用地图层）"
    assert stock["闲置土地"] == "未提供数据（没有供地图层，无法认定闲置土地）"
    assert stock["合计（去重）"] == "未提供数据（各类均无法统计）"
    assert rates["批而未供"] == "未提供数据（没有批准用地图层，无法计算批而未供处置率）"
    assert rates["闲置土地"] == "未提供数据（考核基数为零，处置率无法计算）"
    # sections the summary does not have at all
    s.pop("inventory")
    s["disposal"] = {"available": False, "reason": "未计算处置率"}
    s.pop("run_seconds")
    out = run_summary(s)
    assert "存量建设用地：未提供数据（" in out and "处置率：未提供数据（未计算处置率）" in out


def test_run_summary_field_checks_and_town_alerts():
    """The headline says how many townships are 约谈候选 / 预警, the patches not judged yet, and the
    外业核查率 with its counts, or 未提供数据 with the reason (never 0)."""
    out = run_summary(_summary(township_alerts={"talk": ["420704100", "420704101"], "warning": ["420704102"]},
                               unjudged_patch_count=3, field_check_rate=0.375,
                               field_check={"checked_count": 3, "required_count": 8}))
    assert "乡镇：约谈候选 2 个，预警 1 个" in out and "尚有 3 个图斑未判定" in out
    assert "外业核查率：37.50%（3/8）" in out
    out = run_summary(_summary(field_check_rate=None, field_check={}, unavailable={"field_check_rate": "没有外业核查记录"}))
    assert "外业核查率：未提供数据（没有外业核查记录）" in out and "约谈候选" not in out

"""`landkit check` as a user runs it: exit codes, Chinese output, no tracebacks."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import SAMPLE, dltb_frame, write_shp


def run(*args, cwd=None):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "landkit.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def assert_no_traceback(r):
    assert "Traceback" not in r.stdout + r.stderr


def test_check_good_county(county_dir):
    r = run("check", str(county_dir))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "地类图斑" in r.stdout and "EPSG:4526" in r.stdout and "GBK/GB18030（按内容判定）" in r.stdout
    assert "结论：数据可以使用" in r.stdout


def test_check_json(county_dir):
    r = run("check", str(county_dir), "--json")
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["county"]["adcode"] == "420704" and d["qa"]["usable"] is True
    roles = {x["role"] for x in d["layers"]}
    assert {"dltb", "yjjbnt"} <= roles and "patches" in d["missing_layers"]


@pytest.mark.parametrize("breakage,needle", [
    ("no_dbf", ".dbf"), ("no_shx", ".shx"), ("empty", "为空"), ("no_field", "地类编码"),
    ("six_digit", "6 位"), ("bad_bytes", "编码"), ("no_dltb", "DLTB"),
])
def test_check_bad_input_exits_1_with_message(tmp_path, breakage, needle):
    d = tmp_path / "420704_某县"
    dl = dltb_frame(6)
    if breakage == "empty":
        dl = dl.iloc[:0]
    if breakage == "no_field":
        dl = dl.drop(columns=["DLBM", "DLMC"])       # (DLMC alone would give the codes)
    if breakage == "six_digit":
        dl = dltb_frame(6, x0=560_000.0, crs="EPSG:4547")
    p = write_shp(dl, d / ("DLTB.shp" if breakage != "no_dltb" else "其他数据.shp"),
                  prj=breakage != "six_digit")
    if breakage == "no_dbf":
        p.with_suffix(".dbf").unlink()
    if breakage == "no_shx":
        p.with_suffix(".shx").unlink()
    if breakage == "bad_bytes":
        dbf = p.with_suffix(".dbf")
        raw = bytearray(dbf.read_bytes())
        h = int.from_bytes(raw[8:10], "little")
        raw[h + 1:h + 5] = b"\xff\xfe\xff\xfe"
        dbf.write_bytes(bytes(raw))
    r = run("check", str(d))
    assert r.returncode == 1, r.stdout + r.stderr
    assert needle in r.stdout + r.stderr
    assert "不能使用" in r.stdout
    assert_no_traceback(r)


def test_check_missing_folder():
    r = run("check", "/nonexistent/某县")
    assert r.returncode == 1 and "不存在" in r.stderr
    assert_no_traceback(r)


def test_check_bad_toml(county_dir):
    (county_dir / "landkit.toml").write_text("[county\n", encoding="utf-8")
    r = run("check", str(county_dir))
    assert r.returncode == 1 and "配置文件格式错误" in r.stderr
    assert_no_traceback(r)


def test_console_script_is_installed():
    exe = shutil.which("landkit")
    assert exe, "pip install -e . should put a `landkit` command on PATH"
    r = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "check" in r.stdout


def test_check_sample_county():
    r = run("check", str(SAMPLE))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    out = r.stdout
    for needle in ("鄂城区", "420704", "EPSG:4526", "地类图斑", "永久基本农田", "卫片图斑", "批准用地", "供地",
                   "宗地", "GBK/GB18030", "结论：数据可以使用", "已修复"):
        assert needle in out, needle


def test_check_lists_files_it_did_not_read(county_dir):
    """Files that are no layer are listed with the reason, on screen and in --json; the parts of
    a shapefile (.dbf/.shx/.prj/.shp.xml) and landkit.toml are not."""
    import geopandas as gpd
    from conftest import grid_polygons
    write_shp(gpd.GeoDataFrame({"名称": ["甲"], "备注": ["乙"]}, geometry=grid_polygons(1), crs="EPSG:4526"),
              county_dir / "随便.shp")                                         # no hint, no telling fields
    write_shp(gpd.GeoDataFrame({"DLBM": ["0101"], "ZLDWDM": ["4207041001010000000"]}, geometry=grid_polygons(1),
                               crs="EPSG:4526"), county_dir / "资料" / "2023年底图.shp")  # fields of a DLTB
    (county_dir / "说明.txt").write_text("数据说明", encoding="gbk")
    (county_dir / "汇报.docx").write_bytes(b"PK\x03\x04")
    shutil.copy(county_dir / "DLTB.dbf", county_dir / "旧属性表.dbf")          # a .dbf without its .shp
    (county_dir / "DLTB.shp.xml").write_text("<metadata/>", encoding="utf-8")
    (county_dir / "landkit.toml").write_text('[county]\nname = "鄂城区"\n', encoding="utf-8")
    r = run("check", str(county_dir))
    assert r.returncode == 0, r.stdout + r.stderr      # still usable: the layers it needs are there
    assert_no_traceback(r)
    assert "未识别、未读取的文件（5 个）" in r.stdout
    lines = {ln.strip().split("：", 1)[0]: ln.strip().split("：", 1)[1] for ln in r.stdout.splitlines()
             if ln.startswith("  ") and "：" in ln and not ln.strip().startswith("[")}
    assert "名称不含任何图层名称提示" in lines["随便.shp"] and "未识别为任何图层" in lines["随便.shp"]
    assert "像是地类图斑" in lines["资料/2023年底图.shp"] and 'dltb = "资料/2023年底图.shp"' in lines["资料/2023年底图.shp"]
    assert "不是 landkit 读取的数据格式" in lines["说明.txt"] and "不是 landkit 读取的数据格式" in lines["汇报.docx"]
    assert "没有同名的 .shp" in lines["旧属性表.dbf"]
    d = json.loads(run("check", str(county_dir), "--json").stdout)
    got = {u["file"]: u["reason"] for u in d["unrecognised"]}
    assert set(got) == {"随便.shp", "资料/2023年底图.shp", "说明.txt", "汇报.docx", "旧属性表.dbf"}
    assert all(set(u) == {"file", "reason"} for u in d["unrecognised"]) and got["随便.shp"] == lines["随便.shp"]


def test_check_json_of_a_clean_folder_has_an_empty_unrecognised_list(county_dir):
    d = json.loads(run("check", str(county_dir), "--json").stdout)
    assert d["unrecognised"] == []

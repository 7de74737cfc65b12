"""What leaves the machine carries no machine details (issue "Real bureau exports", item 6).

* Times in summary.json, report.html and the batch roll-up are Beijing time (``+08:00``) whatever
  the machine's time zone (the runs below are made with ``TZ=America/New_York``), or the zone
  ``[report] timezone`` names; a bad value is a ConfigError naming file, section and key.
* No absolute path of the analyst's machine appears in report.html / summary.json of
  ``landkit run``, nor in the batch roll-up (summary.json, index.html, 汇总.xlsx): the paths they
  record are relative to the county folder (or the batch root).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import zoneinfo
from pathlib import Path

import openpyxl
import pytest

import landkit as lk
from landkit.analyses.county_analysis import generated_at, portable_paths
from landkit.errors import ConfigError
from landkit.pipeline import batch as B
from landkit.render.report import when_label
from landkit.settings import load_settings, timezone_of

NEW_YORK = "America/New_York"
BEIJING = dt.timezone(dt.timedelta(hours=8))


def cli(*args, tz=NEW_YORK, timeout=600):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "TZ": tz, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "landkit.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def machine_offset(tz=NEW_YORK) -> dt.timedelta:
    """The offset a child process with ``TZ=tz`` sees as its local zone (proves TZ took effect)."""
    r = subprocess.run([sys.executable, "-c", "import datetime as d; print(d.datetime.now().astimezone().utcoffset()"
                        ".total_seconds())"], capture_output=True, text=True, env={**os.environ, "TZ": tz})
    return dt.timedelta(seconds=float(r.stdout))


def small_county(folder: Path, seed: int, **kw) -> Path:
    from landkit.synth import make_county
    return make_county(folder, seed=seed, n_dltb=400, n_patches=40, n_approvals=20, n_supply=60, n_parcels=80,
                       boundary=None, area_km2=120, image=False, **kw)


def texts(path: Path) -> str:
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        return "\n".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    return path.read_text(encoding="utf-8")


def machine_paths(base: Path) -> list[str]:
    """The forms in which the test's folders could leak: tmp_path's parent (which every path of
    the test starts with), as given and resolved."""
    return sorted({str(base.parent), str(base.parent.resolve()), base.parent.as_posix()})


def assert_no_machine_path(text: str, base: Path, what: str):
    for p in machine_paths(base):
        assert p not in text, f"{what} holds the machine path {p}"


def assert_beijing_now(stamp: str, t0: dt.datetime, t1: dt.datetime):
    """``stamp`` is an ISO time with offset +08:00 taken between t0 and t1 (UTC)."""
    assert stamp.endswith("+08:00"), stamp
    t = dt.datetime.fromisoformat(stamp)
    assert t.utcoffset() == dt.timedelta(hours=8)
    assert t0 - dt.timedelta(seconds=2) <= t <= t1 + dt.timedelta(seconds=2)
    return t


# --------------------------------------------------------------------------------------
# landkit run
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def county_run(tmp_path_factory):
    """``landkit run`` under TZ=America/New_York of a generated county kept two folders deep, with a
    --config file in another folder that names the 卫片 layer by an absolute path outside it."""
    base = tmp_path_factory.mktemp("hygiene")
    county = small_county(base / "自然资源局" / "数据" / "420111_洪山样区", seed=21, adcode="420111", name="洪山样区",
                          center_lonlat=(114.40, 30.50))
    elsewhere = base / "别处"
    elsewhere.mkdir()
    for p in county.glob("卫片图斑.*"):
        shutil.move(p, elsewhere / p.name)
    cfg = base / "配置" / "附加.toml"
    cfg.parent.mkdir()
    cfg.write_text(f'[layers]\npatches = "{(elsewhere / "卫片图斑.shp").as_posix()}"\n', encoding="utf-8")
    out = base / "输出" / "洪山样区"
    t0 = dt.datetime.now(dt.timezone.utc)
    r = cli("run", county, "-o", out, "--config", cfg)
    t1 = dt.datetime.now(dt.timezone.utc)
    assert r.returncode == 0, r.stdout + r.stderr
    return {"base": base, "county": county, "out": out, "t0": t0, "t1": t1, "stdout": r.stdout,
            "summary": json.loads((out / "summary.json").read_text(encoding="utf-8")),
            "report": (out / "report.html").read_text(encoding="utf-8")}


def test_the_machine_zone_really_is_new_york():
    assert machine_offset(NEW_YORK) in (dt.timedelta(hours=-5), dt.timedelta(hours=-4))


def test_run_generated_at_is_beijing_time(county_run):
    s = county_run["summary"]
    t = assert_beijing_now(s["generated_at"], county_run["t0"], county_run["t1"])
    # the same instant as Beijing wall-clock time, not New York's
    assert t.replace(tzinfo=None) == t.astimezone(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(hours=8)


def test_report_shows_the_beijing_time(county_run):
    s, page = county_run["summary"], county_run["report"]
    t = dt.datetime.fromisoformat(s["generated_at"])
    shown = t.strftime("%Y-%m-%d %H:%M")
    assert f"生成时间：{shown}（UTC+08:00）" in page
    assert when_label(s["generated_at"]) == f"{shown}（UTC+08:00）"
    ny = t.astimezone(zoneinfo.ZoneInfo(NEW_YORK)).strftime("%Y-%m-%d %H:%M")
    assert f"生成时间：{ny}" not in page


def test_run_outputs_hold_no_machine_path(county_run):
    base = county_run["base"]
    assert_no_machine_path(json.dumps(county_run["summary"], ensure_ascii=False), base, "summary.json")
    assert_no_machine_path((county_run["out"] / "summary.json").read_text(encoding="utf-8"), base, "summary.json")
    assert_no_machine_path(county_run["report"], base, "report.html")
    assert_no_machine_path(county_run["stdout"].split("结果已写入")[0], base, "the headline")


def test_qa_files_are_relative_to_the_county_folder(county_run):
    """Each finding's file is a path relative to the county folder that exists there; the 卫片
    layer read from outside the folder is named by its file name only."""
    county = county_run["county"]
    files = {f["file"] for f in county_run["summary"]["qa"]["findings"] if f.get("file")}
    assert "DLTB.shp" in files and "卫片图斑.shp" in files
    for f in files:
        assert not Path(f).is_absolute() and "\\" not in f, f
        assert (county / f).exists() or f == "卫片图斑.shp", f
    assert '<div class="file">DLTB.shp</div>' in county_run["report"]


def test_timezone_setting_is_honoured(tmp_path):
    """[report] timezone in landkit.toml: the summary's generated_at and the report's 生成时间 follow it."""
    d = tmp_path / "420704_鄂城区"
    from conftest import dltb_frame, write_shp
    write_shp(dltb_frame(8), d / "DLTB.shp")
    (d / "landkit.toml").write_text('[report]\ntimezone = "+05:30"\n', encoding="utf-8")
    c = lk.read_county(d)
    assert c.config.report.timezone == "+05:30"
    s = lk.analyse(c).summary
    assert s["generated_at"].endswith("+05:30")
    assert when_label(s["generated_at"]).endswith("（UTC+05:30）")
    c = lk.read_county(d, {"report": {"timezone": "Asia/Shanghai"}})
    assert lk.analyse(c).summary["generated_at"].endswith("+08:00")
    c = lk.read_county(d, {"report": {"timezone": "UTC"}})
    assert lk.analyse(c).summary["generated_at"].endswith("+00:00")


def test_in_process_machine_zone_does_not_matter(monkeypatch):
    """With the process's own zone switched to New York (time.tzset), generated_at stays +08:00."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    monkeypatch.setenv("TZ", NEW_YORK)
    time.tzset()
    try:
        assert dt.datetime.now().astimezone().utcoffset() in (dt.timedelta(hours=-5), dt.timedelta(hours=-4))
        t0 = dt.datetime.now(dt.timezone.utc)
        stamp = generated_at(load_settings())
        assert_beijing_now(stamp, t0, dt.datetime.now(dt.timezone.utc))
        assert generated_at(None).endswith("+08:00")
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("value, offset", [("Asia/Shanghai", 8 * 60), ("+08:00", 8 * 60), ("UTC+8", 8 * 60),
                                           ("+0530", 5 * 60 + 30), ("-05:00", -5 * 60), ("UTC", 0),
                                           ("Europe/Berlin", None)])
def test_timezone_values(value, offset):
    tz = timezone_of(value)
    off = dt.datetime(2024, 1, 15, 12, tzinfo=tz).utcoffset()
    assert off == dt.timedelta(minutes=offset if offset is not None else 60)


@pytest.mark.parametrize("value", ["Mars/Olympus", "+25:00", "", "北京", "../../etc/localtime", 8, True])
def test_bad_timezone_is_a_config_error_naming_file_section_and_key(tmp_path, value):
    toml = tmp_path / "landkit.toml"
    v = json.dumps(value) if not isinstance(value, bool) else ("true" if value else "false")
    toml.write_text(f"[report]\ntimezone = {v}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path)
    msg = str(e.value)
    assert "[report] timezone" in msg and "landkit.toml" in msg and "时区" in msg


def test_bad_timezone_stops_landkit_check_with_exit_1(tmp_path):
    from conftest import dltb_frame, write_shp
    d = tmp_path / "420704_鄂城区"
    write_shp(dltb_frame(4), d / "DLTB.shp")
    (d / "landkit.toml").write_text('[report]\ntimezone = "Asia/Beijing"\n', encoding="utf-8")
    r = cli("check", d)
    assert r.returncode == 1 and "[report] timezone" in r.stderr and "landkit.toml" in r.stderr
    assert "Traceback" not in r.stderr


def test_beijing_without_the_iana_database(monkeypatch):
    """Without tzdata (Windows without the tzdata package) Asia/Shanghai is a fixed +08:00; a zone
    that cannot be resolved is refused rather than silently taken as the machine's."""
    def missing(key):
        raise zoneinfo.ZoneInfoNotFoundError(key)
    monkeypatch.setattr(zoneinfo, "ZoneInfo", missing)
    tz = timezone_of("Asia/Shanghai")
    assert dt.datetime(2024, 7, 1, tzinfo=tz).utcoffset() == dt.timedelta(hours=8)
    assert load_settings().report.now().isoformat().endswith("+08:00")
    with pytest.raises(ValueError):
        timezone_of("Europe/Berlin")
    with pytest.raises(ConfigError):
        load_settings(config={"report": {"timezone": "Europe/Berlin"}})


# --------------------------------------------------------------------------------------
# the path scrubber
# --------------------------------------------------------------------------------------

def test_portable_paths_makes_paths_relative(tmp_path):
    c = tmp_path / "县"
    got = portable_paths({
        "file": str(c / "三调" / "DLTB.shp"),
        "message": f"属性表不完整（文件：{c / 'DLTB.dbf'}；字段：DLBM）",
        "folder": str(c),
        "sibling": str(tmp_path / "县2" / "x.shp"),
        "outside": "/data/永农/YJJBNT.shp",
        "windows": "D:\\数据\\供地.shp",
        "named": "找不到（文件：/srv/其他/a.gpkg）",
        "note": f"{c}：无法列出文件夹内容",
        "ratio": "1/3", "n": 3, "none": None, "list": [str(c / "XZQ.shp")],
    }, {c: ""})
    assert got == {"file": "三调/DLTB.shp", "message": "属性表不完整（文件：DLTB.dbf；字段：DLBM）", "folder": "县",
                   "sibling": "x.shp", "outside": "YJJBNT.shp", "windows": "供地.shp",
                   "named": "找不到（文件：a.gpkg）", "note": "县：无法列出文件夹内容",
                   "ratio": "1/3", "n": 3, "none": None, "list": ["XZQ.shp"]}


def test_batch_rollup_paths_relative_to_the_root(tmp_path):
    """BatchResult.to_dict: root by its name, out relative to the root (or by its name), a county's
    input and its error message relative to the root, options.config likewise."""
    root = tmp_path / "湖北省"
    runs = [B.CountyRun(folder="420704_鄂城区", input=str(root / "鄂州市" / "420704_鄂城区"), status="failed",
                        error=f"坏了（文件：{root / '鄂州市' / '420704_鄂城区' / 'DLTB.dbf'}）",
                        notes=[f"{root / '旧'}：位于另一个县数据文件夹之内"],
                        detail=f'Traceback:\n  File "{Path(B.__file__).resolve()}", line 1\n'
                               f'  File "/usr/lib/python3/x.py", line 2\n')]
    for out, label in ((root / "结果", "结果"), (tmp_path / "输出", "输出")):
        d = B.BatchResult(root=root, out=out, counties=runs, seconds=1.0, cluster="local", workers=1,
                          options={"config": str(root / "配置.toml")}, generated_at="x").to_dict()
        assert d["root"] == "湖北省" and d["out"] == label and d["options"]["config"] == "配置.toml"
        (c,) = d["counties"]
        assert c["input"] == "鄂州市/420704_鄂城区"
        assert c["error"] == "坏了（文件：鄂州市/420704_鄂城区/DLTB.dbf）" == d["failures"][0]["message"]
        assert c["notes"] == ["旧：位于另一个县数据文件夹之内"]
        assert 'File "landkit/pipeline/batch.py"' in c["detail"] and 'File "x.py"' in c["detail"]
        assert_no_machine_path(json.dumps(d, ensure_ascii=False), tmp_path / "x", "the roll-up")
    assert runs[0].input == str(root / "鄂州市" / "420704_鄂城区")       # the Python object keeps the real path


# --------------------------------------------------------------------------------------
# landkit batch
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def batch_run(tmp_path_factory):
    """``landkit batch`` under TZ=America/New_York: two counties (one in a city folder) and one with a
    truncated DLTB.dbf, the output folder outside the root, a --config file outside both."""
    base = tmp_path_factory.mktemp("hygiene_batch")
    root = base / "省数据"
    small_county(root / "武汉市" / "420111_洪山样区", seed=31, adcode="420111", name="洪山样区",
                 center_lonlat=(114.40, 30.50))
    small_county(root / "420115_江夏样区", seed=32, adcode="420115", name="江夏样区", center_lonlat=(114.32, 30.10))
    shutil.copytree(root / "420115_江夏样区", root / "420999_坏县")
    with open(root / "420999_坏县" / "DLTB.dbf", "r+b") as f:
        f.truncate(1000)
    cfg = base / "配置" / "批量.toml"
    cfg.parent.mkdir()
    cfg.write_text("[satellite]\ncap = 0.05\n", encoding="utf-8")
    out = base / "结果"
    t0 = dt.datetime.now(dt.timezone.utc)
    r = cli("batch", root, "-o", out, "--workers", "1", "--config", cfg, timeout=900)
    t1 = dt.datetime.now(dt.timezone.utc)
    assert r.returncode == 2, r.stdout + r.stderr          # one county failed, the others not
    return {"base": base, "root": root, "out": out, "t0": t0, "t1": t1,
            "summary": json.loads((out / "summary.json").read_text(encoding="utf-8"))}


@pytest.mark.parametrize("name", ["summary.json", "index.html", "汇总.xlsx"])
def test_rollup_files_hold_no_machine_path(batch_run, name):
    assert_no_machine_path(texts(batch_run["out"] / name), batch_run["base"], name)


def test_county_outputs_of_a_batch_hold_no_machine_path(batch_run):
    for folder in ("420111_洪山样区", "420115_江夏样区"):
        for name in ("summary.json", "report.html"):
            assert_no_machine_path(texts(batch_run["out"] / folder / name), batch_run["base"], f"{folder}/{name}")


def test_rollup_paths_are_relative_to_the_root(batch_run):
    s = batch_run["summary"]
    assert s["root"] == "省数据" and s["out"] == "结果" and s["options"]["config"] == "批量.toml"
    by = {c["folder"]: c for c in s["counties"]}
    assert by["420111_洪山样区"]["input"] == "武汉市/420111_洪山样区"
    assert by["420115_江夏样区"]["input"] == "420115_江夏样区"
    (f,) = s["failures"]
    assert f["input"] == "420999_坏县" and "（文件：420999_坏县/DLTB.dbf）" in f["message"]
    # the relative paths point at the real folders
    for c in s["counties"]:
        assert (batch_run["root"] / c["input"]).is_dir()


def test_rollup_times_are_beijing_time(batch_run):
    s = batch_run["summary"]
    t = assert_beijing_now(s["generated_at"], batch_run["t0"], batch_run["t1"])
    page = (batch_run["out"] / "index.html").read_text(encoding="utf-8")
    assert f"生成时间 {t.strftime('%Y-%m-%d %H:%M')}（UTC+08:00）" in page
    notes = {r[0]: r[1] for r in openpyxl.load_workbook(batch_run["out"] / "汇总.xlsx")["说明"].iter_rows(
        min_row=3, values_only=True)}
    assert notes["生成时间"] == f"{t.strftime('%Y-%m-%d %H:%M')}（UTC+08:00）"
    for folder in ("420111_洪山样区", "420115_江夏样区"):
        one = json.loads((batch_run["out"] / folder / "summary.json").read_text(encoding="utf-8"))
        assert_beijing_now(one["generated_at"], batch_run["t0"], batch_run["t1"])
        rec = json.loads((batch_run["out"] / folder / "inputs.json").read_text(encoding="utf-8"))
        assert rec["finished_at"].endswith("+08:00")

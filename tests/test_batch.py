"""`landkit batch`: counties on a real dask.distributed cluster (scheduler and workers started as
separate processes on localhost), failure isolation, atomic outputs, content-hash resume, roll-up."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner

from landkit.pipeline import batch as B
from landkit.render import rollup

GOOD = ["420704_鄂城区", "420111_洪山样区", "420115_江夏样区"]
BAD = "420999_坏县"
OUTPUTS = ("summary.json", "results.gpkg", "ledger.xlsx", "inputs.json", "outline.geojson")


def batch_cli(*args, timeout=300):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "landkit.cli", "batch", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


# --------------------------------------------------------------------------------------
# fixtures: generated counties (once per session) and a dask cluster in separate processes
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def county_root(tmp_path_factory):
    """A root of 4 small generated counties; the 4th is corrupt (DLTB.dbf truncated)."""
    from landkit.synth import make_county
    root = tmp_path_factory.mktemp("province") / "湖北样例"
    small = dict(n_dltb=1500, n_patches=60, image=False)
    make_county(root / GOOD[0], seed=11, **small)                       # the real 鄂城区 outline
    make_county(root / GOOD[1], seed=12, boundary=None, adcode="420111", name="洪山样区",
                center_lonlat=(114.40, 30.50), area_km2=300, **small)
    make_county(root / "武汉样例" / GOOD[2], seed=13, boundary=None, adcode="420115", name="江夏样区",
                center_lonlat=(114.32, 30.10), area_km2=300, **small)   # one level deeper
    bad = root / BAD
    shutil.copytree(root / GOOD[1], bad)
    with open(bad / "DLTB.dbf", "r+b") as f:
        f.truncate(1000)
    return root


def _stop(procs, grace=15.0):
    t = time.monotonic()
    while any(p.poll() is None for p in procs) and time.monotonic() - t < grace:
        time.sleep(0.1)              # after Client.shutdown() they exit by themselves
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in reversed(procs):
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """``dask scheduler`` + ``dask worker`` (2 single-threaded processes) on localhost; yields the address."""
    from distributed import Client
    d = tmp_path_factory.mktemp("dask")
    sf = d / "scheduler.json"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    log = open(d / "cluster.log", "w")
    grace = 0.0
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(sf)],
                              cwd=d, stdout=log, stderr=subprocess.STDOUT, env=env)]
    try:
        t = time.monotonic()
        while not sf.exists() and time.monotonic() - t < 60:
            assert procs[0].poll() is None, (d / "cluster.log").read_text()
            time.sleep(0.2)
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                                       str(sf), "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                                       "--local-directory", str(d)],
                                      cwd=d, stdout=log, stderr=subprocess.STDOUT, env=env))
        address = json.loads(sf.read_text())["address"]
        with Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=120)
        yield address
        grace = 15.0
        try:
            with Client(address, timeout=10) as c:
                c.shutdown()         # scheduler and workers close themselves
        except Exception:  # noqa: BLE001 — then terminate them
            grace = 0.0
    except BaseException:
        grace = 0.0
        raise
    finally:
        _stop(procs, grace)
        log.close()


def _mtimes(out: Path) -> dict:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*")
            if p.is_file() and p.parent != out}


@pytest.fixture(scope="module")
def first_run(county_root, scheduler, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "结果"
    t = time.perf_counter()
    r = batch_cli(county_root, "-o", out, "--scheduler", scheduler)
    return out, r, time.perf_counter() - t


# --------------------------------------------------------------------------------------
# the batch on a distributed cluster
# --------------------------------------------------------------------------------------

def test_batch_on_cluster_outputs_and_exit_code(first_run):
    out, r, _ = first_run
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    for name in GOOD:
        for f in OUTPUTS:
            assert (out / name / f).is_file(), (name, f)
        s = json.loads((out / name / "summary.json").read_text(encoding="utf-8"))
        assert s["county"]["adcode"] == name[:6]
        rec = json.loads((out / name / "inputs.json").read_text(encoding="utf-8"))
        assert rec["inputs"]["algorithm"] == "blake2b-256" and len(rec["inputs"]["digest"]) == 64
        assert "DLTB.dbf" in rec["inputs"]["files"]
        assert rec["outputs"]["summary.json"] == (out / name / "summary.json").stat().st_size
        assert str(out.parent.parent) not in json.dumps(rec, ensure_ascii=False) and rec["county_dir"] == name  # no machine path
        ol = json.loads((out / name / "outline.geojson").read_text(encoding="utf-8"))
        lon, lat = next(rollup._rings(ol["geometry"]))[0]
        assert 108 < lon < 117 and 29 < lat < 34
    # the corrupt county: no folder at all, nothing half-written anywhere
    assert not (out / BAD).exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    # one log line per county, with its status
    for name in GOOD:
        line = next(ln for ln in r.stdout.splitlines() if name in ln and "完成" in ln)
        assert "秒" in line and "卫片违法占用耕地比例" in line
    assert any(BAD in ln and "失败" in ln for ln in r.stdout.splitlines())
    assert "DLTB.dbf" in r.stderr and "失败" in r.stderr


def test_rollup_summary_lists_every_county_and_the_failure(first_run, county_root):
    out, _, _ = first_run
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["kind"] == "landkit-batch" and s["cluster"].startswith("tcp://127.0.0.1:")
    assert s["counts"] == {"total": 4, "ok": 3, "skipped": 0, "failed": 1}
    by = {c["folder"]: c for c in s["counties"]}
    assert set(by) == set(GOOD) | {BAD}
    for name in GOOD:
        h = by[name]["headline"]
        one = json.loads((out / name / "summary.json").read_text(encoding="utf-8"))
        assert by[name]["status"] == "ok" and h["adcode"] == name[:6]
        assert h["satellite_ratio"] == one["satellite"]["ratio"]
        assert by[name]["worker"]["address"].startswith("tcp://127.0.0.1:")
    assert by[GOOD[2]]["input"] == f"武汉样例/{GOOD[2]}"          # relative to the batch root
    (f,) = s["failures"]
    assert f["folder"] == BAD and f["error_type"] == "InputError"
    assert "不完整" in f["message"] and f"（文件：{BAD}/DLTB.dbf）" in f["message"]
    assert by[BAD]["status"] == "failed" and by[BAD]["headline"] is None
    tot = s["totals"]
    ill = sum(by[n]["headline"]["illegal_farmland_mu"] for n in GOOD)
    new = sum(by[n]["headline"]["new_construction_farmland_mu"] for n in GOOD)
    assert tot["satellite_ratio"] == pytest.approx(ill / new)


def test_rollup_workbook(first_run):
    out, _, _ = first_run
    wb = openpyxl.load_workbook(out / "汇总.xlsx")
    assert wb.sheetnames[:2] == ["县区汇总", "失败清单"]
    ws = wb["县区汇总"]
    headers = [c.value for c in ws[3]]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4, max_row=7)]
    col = {h: i for i, h in enumerate(headers)}
    assert {r[col["行政区代码"]] for r in rows} == {n[:6] for n in GOOD + [BAD]}
    assert rows[-1][col["运行状态"]] == "失败"          # failures sorted last
    ratios = [r[col["卫片违法占用耕地比例"]] for r in rows[:3]]
    assert ratios == sorted(ratios, reverse=True)
    assert ws.cell(8, 1).value == "合计"
    # colours follow the status
    for k, r in enumerate(rows[:3]):
        cell = ws.cell(4 + k, col["卫片状态"] + 1)
        fill = cell.fill.fgColor.rgb[-6:]
        expect = {"达标": rollup.GREEN, "超过控制目标": rollup.RED, "达到问责线": rollup.DARK_RED}[cell.value]
        assert fill == expect
    assert ws.cell(7, col["运行状态"] + 1).fill.fgColor.rgb[-6:] == rollup.RED
    fails = wb["失败清单"]
    assert fails.cell(3, 1).value == BAD and "DLTB.dbf" in fails.cell(3, 3).value


def test_index_html_is_offline_and_links_reports(first_run):
    out, _, _ = first_run
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "http:" not in page and "https:" not in page and "//" not in page.replace("<!--", "")
    assert "<script" not in page and "<svg" in page
    assert page.count("<path ") >= 3        # the good counties and the failed one (from its XZQ)
    from urllib.parse import quote
    for name in GOOD:
        target = "report.html" if (out / name / "report.html").is_file() else "summary.json"
        assert f'href="{quote(name)}/{target}"' in page
    assert f'href="{quote(BAD)}/' not in page
    assert "分析失败" in page
    # 处置率 cells coloured against the target, as in 汇总.xlsx; the 生成时间 reads as a time
    import re
    rows = re.findall(r"<tr class=\"ok\">(.*?)</tr>", page)
    assert len(rows) == len(GOOD)
    for row in rows:
        cells = re.findall(r'<td class="([^"]*)">([^<]*)</td>', row)
        name = re.search(r"<td>([^<]*)</td>", row).group(1)
        folder = next(n for n in GOOD if n.endswith(name))
        disp = json.loads((out / folder / "summary.json").read_text(encoding="utf-8"))["disposal"]
        for cat in ("approved_unsupplied", "idle"):
            rate = disp[cat]["rate"]
            if rate is None:
                continue
            cls = next(c for c, v in cells if v == f"{rate:.2%}" and c.startswith("n"))
            assert ("st-pass" in cls) == (rate >= disp[cat]["target"]), (name, cat, cls)
    assert re.search(r"生成时间 \d{4}-\d{2}-\d{2} \d{2}:\d{2}（UTC[+-]\d{2}:\d{2}）", page)


def test_resume_redoes_nothing(first_run, county_root, scheduler):
    out, _, first_seconds = first_run
    before = _mtimes(out)
    r = batch_cli(county_root, "-o", out, "--scheduler", scheduler, "--resume")
    assert r.returncode == 2, r.stdout + r.stderr          # the corrupt county still fails
    assert _mtimes(out) == before
    for name in GOOD:
        assert any(name in ln and "跳过" in ln for ln in r.stdout.splitlines()), r.stdout
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["counts"] == {"total": 4, "ok": 0, "skipped": 3, "failed": 1}
    assert all(c["headline"] for c in s["counties"] if c["status"] == "skipped")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("<path ") == 4 and ">nan<" not in page    # skipped counties keep their outline


def test_resume_hashes_content_not_size_and_mtime(first_run, county_root, scheduler):
    """Same size, same mtime, one byte different: the county is analysed again, the others skipped."""
    out, _, _ = first_run
    f = county_root / GOOD[1] / "synth_manifest.toml"
    orig = f.read_bytes()
    st = f.stat()
    try:
        i = orig.index(b"seed = ")
        f.write_bytes(orig[:i] + b"seed = 9" + orig[i + 8:] if orig[i + 7:i + 8] != b"9"
                      else orig[:i] + b"seed = 8" + orig[i + 8:])
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
        before = _mtimes(out)
        r = batch_cli(county_root, "-o", out, "--scheduler", scheduler, "--resume")
        assert r.returncode == 2, r.stdout + r.stderr
        lines = r.stdout.splitlines()
        assert any(GOOD[1] in ln and "完成" in ln for ln in lines), r.stdout
        assert all(any(n in ln and "跳过" in ln for ln in lines) for n in (GOOD[0], GOOD[2]))
        after = _mtimes(out)
        assert after[f"{GOOD[1]}/summary.json"] != before[f"{GOOD[1]}/summary.json"]
        assert after[f"{GOOD[0]}/summary.json"] == before[f"{GOOD[0]}/summary.json"]
    finally:
        f.write_bytes(orig)
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))


# --------------------------------------------------------------------------------------
# pieces, without a cluster
# --------------------------------------------------------------------------------------

def _touch(p: Path, text=""):
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def test_find_counties_layouts(tmp_path):
    root = tmp_path / "省"
    _touch(root / "武汉市" / "420111_洪山区" / "DLTB.shp")                      # city / county
    _touch(root / "武汉市" / "420111_洪山区" / "YJJBNT.shp")
    _touch(root / "420704_鄂城区" / "三调" / "DLTB.shp")                        # layers in sub-folders
    _touch(root / "420704_鄂城区" / "永农" / "YJJBNTBHTB.shp")
    _touch(root / "420702_梁子湖区" / "landkit.toml", "[county]\nname = \"梁子湖区\"\n")   # toml marks it
    _touch(root / "420702_梁子湖区" / "数据" / "2023" / "地类图斑.shp")
    _touch(root / "420703_华容区" / "DLTB.shp")
    _touch(root / "420703_华容区" / "旧数据" / "DLTB.shp")                      # an old copy inside a county
    _touch(root / ".hidden" / "DLTB.shp")
    _touch(root / "说明文档" / "readme.txt")
    _touch(root / "out" / "x" / "DLTB.shp")                                    # the output folder
    found, notes = B.find_counties(root, exclude=[root / "out"])
    rel = [p.relative_to(root).as_posix() for p in found]
    assert rel == ["420702_梁子湖区", "420703_华容区", "420704_鄂城区", "武汉市/420111_洪山区"]
    assert any("旧数据" in n for n in notes)


def test_find_counties_root_is_a_county_and_bad_root(tmp_path):
    _touch(tmp_path / "c" / "DLTB.shp")
    assert B.find_counties(tmp_path / "c")[0] == [(tmp_path / "c").resolve()]
    with pytest.raises(B.InputError, match="不存在"):
        B.find_counties(tmp_path / "nope")


def test_unreadable_gpkg_named_dltb_still_counts(tmp_path):
    _touch(tmp_path / "r" / "420111_x" / "DLTB.gpkg", "not a geopackage")
    found, notes = B.find_counties(tmp_path / "r")
    assert [p.name for p in found] == ["420111_x"] and notes


def test_output_names_unique(tmp_path):
    root = tmp_path
    names = B._output_names([root / "a" / "县", root / "b" / "县", root / "c"], root)
    assert names == ["a_县", "b_县", "c"]


def test_hash_inputs_follows_content(tmp_path):
    d = tmp_path / "c"
    _touch(d / "DLTB.dbf", "abcdef")
    _touch(d / ".DS_Store", "x")
    h1 = B.hash_inputs(d)
    assert set(h1["files"]) == {"DLTB.dbf"} and h1["bytes"] == 6
    st = (d / "DLTB.dbf").stat()
    (d / "DLTB.dbf").write_text("abcdeg", encoding="utf-8")
    os.utime(d / "DLTB.dbf", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert B.hash_inputs(d)["digest"] != h1["digest"]
    (d / "DLTB.dbf").write_text("abcdef", encoding="utf-8")
    os.utime(d / "DLTB.dbf", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert B.hash_inputs(d)["digest"] == h1["digest"]          # a touch alone changes nothing
    (d / "DLTB.dbf").rename(d / "DLTB2.dbf")
    assert B.hash_inputs(d)["digest"] != h1["digest"]          # names count too


def test_failed_county_leaves_no_folder(tmp_path, monkeypatch):
    """A county failing half-way through writing leaves neither its folder nor a temp folder."""
    import landkit.pipeline.run
    county = tmp_path / "in" / "420111_x"
    _touch(county / "DLTB.shp")

    def half_written(county_dir, out_dir, **kw):
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "summary.json").write_text("{", encoding="utf-8")
        raise RuntimeError("disk went away")
    monkeypatch.setattr(landkit.pipeline.run, "run_county", half_written)
    out = tmp_path / "out"
    out.mkdir()
    r = B.run_one_county(str(county), str(out), "420111_x")
    assert r["status"] == "failed" and r["error_type"] == "RuntimeError"
    assert "程序内部错误" in r["error"] and "disk went away" in r["error"] and "Traceback" in r["detail"]
    assert list(out.iterdir()) == []


def test_publish_replaces_previous_results(tmp_path):
    final = tmp_path / "县"
    _touch(final / "summary.json", "old")
    _touch(final / "stale.txt", "old")
    tmp = tmp_path / ".tmp-县-1"
    _touch(tmp / "summary.json", "new")
    B._publish(tmp, final)
    assert (final / "summary.json").read_text(encoding="utf-8") == "new"
    assert not (final / "stale.txt").exists() and [p.name for p in tmp_path.iterdir()] == ["县"]


def test_headline_missing_sections_are_blank_not_zero(tmp_path):
    s = {"county": {"name": "甲县", "adcode": "420111", "year": 2024},
         "satellite": {"available": True, "ratio": 0.2, "status": "accountability", "illegal_farmland_mu": 2.0,
                       "new_construction_farmland_mu": 10.0},
         "farmland_overlap": {"available": False}, "qa": {"error_count": 0, "warning_count": 1}}
    h = rollup.headline(s)
    assert h["approved_unsupplied_disposal_rate"] is None and h["inventory_total_mu"] is None
    assert h["disposal_available"] is False and h["yjjbnt_overlap_approvals_mu"] is None
    s2 = {**s, "county": {"name": "乙县", "adcode": "420112"},
          "satellite": {"available": True, "ratio": 0.01, "status": "pass", "illegal_farmland_mu": 0.1,
                        "new_construction_farmland_mu": 10.0},
          "disposal": {"approved_unsupplied": {"rate": 0.1, "target": 0.25, "met": False, "base_mu": 10.0,
                                               "disposed_mu": 1.0},
                       "idle": {"rate": None, "target": 0.25, "met": None, "base_mu": None, "disposed_mu": None}}}
    batch = {"counties": [
        {"folder": "420111_甲县", "status": "ok", "headline": h, "seconds": 1.0},
        {"folder": "420112_乙县", "status": "ok", "headline": rollup.headline(s2), "seconds": 1.0}],
        "counts": {"total": 2, "ok": 2, "skipped": 0, "failed": 0}, "failures": [],
        "totals": rollup.totals([h, rollup.headline(s2)])}
    rollup.rollup_workbook(batch).save(tmp_path / "汇总.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "汇总.xlsx")["县区汇总"]
    headers = [c.value for c in ws[3]]
    rate = headers.index("批而未供处置率") + 1
    inv = headers.index("存量合计(去重,亩)") + 1
    first = {ws.cell(4, 1).value: 4, ws.cell(5, 1).value: 5}
    assert ws.cell(first["甲县"], rate).value is None and ws.cell(first["甲县"], inv).value is None
    assert ws.cell(first["乙县"], rate).value == 0.1
    assert ws.cell(first["乙县"], rate).fill.fgColor.rgb[-6:] == rollup.RED         # below target
    assert ws.cell(6, inv).value is None                                             # no 0 in the totals row
    assert ws.cell(first["甲县"], headers.index("卫片状态") + 1).fill.fgColor.rgb[-6:] == rollup.DARK_RED
    assert ws.cell(6, headers.index("卫片违法占用耕地比例") + 1).value == pytest.approx(2.1 / 20, abs=1e-4)
    page = rollup.index_html(batch, {"420111_甲县": {"type": "Polygon", "coordinates": [
        [[114.0, 30.0], [114.1, 30.0], [114.1, 30.1], [114.0, 30.0]]]}}, None)
    assert page.count("<path ") == 1 and 'href="420111_%E7%94%B2%E5%8E%BF/report.html"' in page


def _fake_result(statuses):
    runs = [B.CountyRun(folder=f"c{i}", input=f"/x/c{i}", status=s, error="坏" if s == "failed" else None)
            for i, s in enumerate(statuses)]
    return B.BatchResult(root=Path("/x"), out=Path("/o"), counties=runs, seconds=1.0, cluster="local", workers=1)


@pytest.mark.parametrize("statuses,code", [(["ok", "skipped"], 0), (["ok", "failed"], 2), (["failed", "failed"], 1)])
def test_exit_codes_when_registered_in_a_group(monkeypatch, statuses, code):
    import landkit.cli.batch as command
    monkeypatch.setattr(command, "run_batch", lambda *a, **k: _fake_result(statuses))

    @click.group()
    def cli():
        pass
    cli.add_command(command.batch, "batch")
    r = CliRunner().invoke(cli, ["batch", "root", "-o", "out", "--quiet"])
    assert r.exit_code == code, r.output
    assert _fake_result(statuses).exit_code == code


def test_no_counties_is_bad_input(tmp_path):
    (tmp_path / "empty").mkdir()
    r = batch_cli(tmp_path / "empty", "-o", tmp_path / "out", timeout=120)
    assert r.returncode == 1 and "没有找到县数据文件夹" in r.stderr and "Traceback" not in r.stderr


def test_unreachable_scheduler_is_bad_input(county_root, tmp_path, monkeypatch):
    monkeypatch.setenv("LANDKIT_DASK_TIMEOUT", "1.5")
    r = batch_cli(county_root, "-o", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9", timeout=120)
    assert r.returncode == 1 and "无法连接 dask 调度器" in r.stderr, r.stderr


def test_workers_that_cannot_see_the_paths(tmp_path):
    r = B.run_one_county(str(tmp_path / "missing" / "420111_x"), str(tmp_path), "420111_x")
    assert r["status"] == "failed" and "共享存储" in r["error"] and "找不到县数据文件夹" in r["error"]
    r = B.run_one_county(str(tmp_path), str(tmp_path / "no-out"), "x")
    assert r["status"] == "failed" and "找不到输出文件夹" in r["error"]
    assert not (tmp_path / "no-out").exists()


def test_killed_batch_leaves_only_complete_county_folders(county_root, tmp_path):
    """SIGKILL the whole batch (driver and its local workers) right after the first county is done:
    every county folder present is complete; the next --resume run cleans up and finishes the rest."""
    import signal
    root = tmp_path / "root"
    for n in (GOOD[0], GOOD[1]):
        shutil.copytree(county_root / n, root / n)
    shutil.copytree(county_root / "武汉样例" / GOOD[2], root / GOOD[2])
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    p = subprocess.Popen([sys.executable, "-m", "landkit.cli", "batch", str(root), "-o", str(out),
                          "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                         start_new_session=True)
    try:
        for line in p.stdout:
            if "✓" in line:
                break
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    done = [d for d in out.iterdir() if d.is_dir() and not d.name.startswith(".")]
    assert 1 <= len(done) < 3
    for d in done:
        rec = json.loads((d / "inputs.json").read_text(encoding="utf-8"))
        assert all((d / f).stat().st_size == n for f, n in rec["outputs"].items())
        assert set(OUTPUTS) <= {f.name for f in d.iterdir()}
    # the library API this time (run_batch on the default LocalCluster)
    res = B.run_batch(root, out, workers=2, resume=True, progress=False)
    assert res.exit_code == 0 and res.cluster == "local" and res.workers == 2
    assert len(res.skipped) == len(done) and len(res.ok) == 3 - len(done)
    assert all(c.headline["adcode"] == c.folder[:6] and c.outline["type"] in ("Polygon", "MultiPolygon")
               for c in res.counties)
    assert sorted(d.name for d in out.iterdir() if d.is_dir()) == sorted(GOOD)   # no .tmp-* left
    # 2 local workers share the cores: each county's overlay ran on cores ÷ 2 threads
    assert all(c.worker["threads"] == max(1, (os.cpu_count() or 1) // 2) for c in res.ok)
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["counts"]["skipped"] == len(done)


def test_resume_redoes_a_county_after_landkit_changed(county_root, tmp_path, monkeypatch):
    """The resume record holds a fingerprint of landkit's code: a changed landkit (same version
    number) redoes the county instead of trusting results made by the old code."""
    out = tmp_path / "out"
    out.mkdir()
    src = str(county_root / GOOD[1])
    assert B.run_one_county(src, str(out), GOOD[1], resume=True)["status"] == "ok"
    assert B.run_one_county(src, str(out), GOOD[1], resume=True)["status"] == "skipped"
    rec = json.loads((out / GOOD[1] / B.RECORD).read_text(encoding="utf-8"))
    assert rec["options"]["landkit_code"] == B.code_digest() and len(B.code_digest()) == 32
    monkeypatch.setattr(B, "code_digest", lambda: "0" * 32)
    assert B.run_one_county(src, str(out), GOOD[1], resume=True)["status"] == "ok"


# --------------------------------------------------------------------------------------
# folders under the root that are not counties: listed with the reason, never dropped silently
# --------------------------------------------------------------------------------------

def _yjjbnt_only(d: Path):
    """A folder holding only a 永久基本农田 layer (GBK shapefile without .cpg, as delivered)."""
    import geopandas as gpd
    import shapely
    from conftest import X0, Y0, write_shp
    write_shp(gpd.GeoDataFrame({"YJJBNTTBBH": ["Y1"], "DLMC": ["水田"], "KCXS": [0.1]},
                               geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100)], crs="EPSG:4526"),
              d / "YJJBNTBHTB.shp")


SKIP_REASONS = {"空文件夹": "文件夹为空", "说明材料": "说明.docx", "420702_永农": "没有地类图斑（DLTB）图层"}


def test_batch_lists_folders_it_did_not_treat_as_counties(county_root, tmp_path):
    root = tmp_path / "湖北"
    for n in GOOD[:2]:
        shutil.copytree(county_root / n, root / n)
    (root / "空文件夹").mkdir()
    _touch(root / "说明材料" / "说明.docx", "PK")
    _yjjbnt_only(root / "420702_永农")
    _touch(root / ".git" / "config", "[core]")                                   # hidden: not listed
    _touch(root / "旧结果" / "summary.json", json.dumps({"kind": "landkit-batch"}))  # landkit's own output
    out = root / "结果"                                                           # the output folder itself
    r = batch_cli(root, "-o", out, "--workers", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["counts"] == {"total": 2, "ok": 2, "skipped": 0, "failed": 0}
    assert [x["folder"] for x in s["skipped"]] == sorted(SKIP_REASONS)
    for x in s["skipped"]:
        assert set(x) == {"folder", "reason"} and SKIP_REASONS[x["folder"]] in x["reason"]
        # on screen, one line per folder with its reason
        assert any(x["folder"] in ln and x["reason"] in ln for ln in r.stdout.splitlines()), r.stdout
    assert "永久基本农田" in next(x["reason"] for x in s["skipped"] if x["folder"] == "420702_永农")
    for hidden in (".git", "旧结果", "结果"):
        assert f"{hidden}：" not in r.stdout and all(x["folder"] != hidden for x in s["skipped"])
    # the roll-up workbook and the overview page list them too
    ws = openpyxl.load_workbook(out / "汇总.xlsx")["未作为县处理的文件夹"]
    rows = {r_[0]: r_[1] for r_ in ws.iter_rows(min_row=3, values_only=True) if r_[0]}
    assert rows == {x["folder"]: x["reason"] for x in s["skipped"]}
    page = (out / "index.html").read_text(encoding="utf-8")
    assert all(x["folder"] in page and x["reason"] in page for x in s["skipped"])
    # --quiet still names them
    r = batch_cli(root, "-o", out, "--workers", "1", "--resume", "-q")
    assert r.returncode == 0 and all(f"未作为县处理：{x['folder']}：{x['reason']}" in r.stdout for x in s["skipped"])


def test_discover_counties_gives_each_reason(tmp_path):
    root = tmp_path / "省"
    _touch(root / "420111_洪山区" / "DLTB.shp")
    _touch(root / "420111_洪山区" / "旧数据" / "DLTB.shp")                 # a copy inside a county
    _touch(root / "420111_洪山区" / "说明.txt")                             # inside a county: not a folder issue
    _touch(root / "武汉市" / "420112_东西湖区" / "DLTB.shp")                  # above a county: not listed
    _touch(root / "武汉市" / "资料" / "会议纪要.pdf")                         # next to a county, in a city
    _touch(root / "杂项" / "随便.shp")                                       # a shapefile named after nothing
    _touch(root / "杂项" / "子目录" / "x.dbf")                               # only the top-most is listed
    (root / "空壳" / "a" / "b").mkdir(parents=True)
    _touch(root / "坏包" / "数据.gpkg", "not a geopackage")
    _touch(root / "批地" / "PZYD.shp")
    _touch(root / "批地" / "GDYD.shp")
    d = B.discover_counties(root)
    assert [p.relative_to(root.resolve()).as_posix() for p in d.counties] == ["420111_洪山区", "武汉市/420112_东西湖区"]
    got = {x["folder"]: x["reason"] for x in d.skipped}
    assert set(got) == {"420111_洪山区/旧数据", "武汉市/资料", "杂项", "空壳", "坏包", "批地"}
    assert "420111_洪山区" in got["420111_洪山区/旧数据"] and "不单独分析" in got["420111_洪山区/旧数据"]
    assert "会议纪要.pdf" in got["武汉市/资料"] and "没有可识别的图层" in got["武汉市/资料"]
    assert "随便.shp" in got["杂项"] and "名称不含图层名称提示" in got["杂项"]
    assert got["空壳"] == "文件夹为空（只有空的子文件夹）"
    assert "数据.gpkg" in got["坏包"] and "无法打开" in got["坏包"]
    assert "批准用地、供地" in got["批地"] and "没有地类图斑（DLTB）图层" in got["批地"]
    # find_counties keeps its (counties, notes) contract, the nested copy among the notes
    found, notes = B.find_counties(root)
    assert found == d.counties and any("旧数据" in n for n in notes)


def test_no_counties_names_every_folder_and_why(tmp_path):
    root = tmp_path / "root"
    (root / "空").mkdir(parents=True)
    _touch(root / "文档" / "说明.docx", "PK")
    _yjjbnt_only(root / "永农")
    r = batch_cli(root, "-o", tmp_path / "out", timeout=120)
    assert r.returncode == 1 and "没有找到县数据文件夹" in r.stderr and "Traceback" not in r.stderr
    for folder, why in (("空", "文件夹为空"), ("文档", "说明.docx"), ("永农", "没有地类图斑")):
        assert f"{folder}：" in r.stderr and why in r.stderr, r.stderr


# --------------------------------------------------------------------------------------
# the cycle over a province: --previous per county, the roll-up shows each county's movement
# --------------------------------------------------------------------------------------

def _first_row(ws, first_header):
    hr = next(r for r in range(1, 8) if ws.cell(r, 1).value == first_header)
    h = {c.value: j + 1 for j, c in enumerate(ws[hr]) if c.value}
    return hr + 1, h


def test_batch_with_previous_carries_each_county_and_shows_movement(first_run, county_root, scheduler, tmp_path):
    """OUT1's ledgers come back filled (one county's 批而未供 plan past its deadline, one county
    missing from OUT1); `landkit batch ROOT -o OUT2 --previous OUT1` carries each county's typed
    values, and the roll-up (summary.json, 汇总.xlsx, index.html) shows each county's movement."""
    out1, _, _ = first_run
    prev = tmp_path / "第一期"
    shutil.copytree(out1, prev)
    shutil.rmtree(prev / "武汉样例" / GOOD[2]) if (prev / "武汉样例" / GOOD[2]).exists() else None
    missing = next(c["folder"] for c in json.loads((out1 / "summary.json").read_text(encoding="utf-8"))["counties"]
                   if c["folder"].endswith(GOOD[2]))
    shutil.rmtree(prev / missing, ignore_errors=True)
    led = prev / GOOD[0] / "ledger.xlsx"
    wb = openpyxl.load_workbook(led)
    ws = wb["批而未供"]
    r, h = _first_row(ws, "批次名称")
    key, area = ws.cell(r, h["批准文号"]).value, ws.cell(r, h["未供面积(亩)"]).value
    ws.cell(r, h["责任单位"]).value = "葛店镇人民政府"
    ws.cell(r, h["完成时限"]).value = "2025/3/31"
    ws = wb["卫片图斑清单"]
    pr, ph = _first_row(ws, "监测编号")
    ws.cell(pr, ph["核查状态"]).value = "已核查"
    changed = ws.cell(pr + 1, ph["监测编号"]).value + "（改）"      # a key staff changed by hand
    ws.cell(pr + 1, ph["监测编号"]).value = changed
    ws.cell(pr + 1, ph["核查结论"]).value = "违法，已立案"
    wb.save(led)
    out2 = tmp_path / "第二期"
    res = batch_cli(county_root, "-o", out2, "--scheduler", scheduler, "--previous", prev, "--as-of", "2025-06-30")
    assert res.returncode == 2, res.stdout + res.stderr           # the corrupt county still fails
    # the county's own outputs: the typed value carried, tracking in its summary.json
    ws = openpyxl.load_workbook(out2 / GOOD[0] / "ledger.xlsx")["批而未供"]
    r2, h2 = _first_row(ws, "批次名称")
    row = next(i for i in range(r2, ws.max_row + 1) if ws.cell(i, h2["批准文号"]).value == key)
    assert ws.cell(row, h2["责任单位"]).value == "葛店镇人民政府"
    cs = json.loads((out2 / GOOD[0] / "summary.json").read_text(encoding="utf-8"))
    assert cs["tracking"]["overdue_count"] == 1 and cs["tracking"]["overdue_mu"] == pytest.approx(area, abs=0.005)
    assert [x["as_of"] for x in cs["history"]] == [cs["tracking"]["previous_as_of"], "2025-06-30"]
    assert cs["tracking"]["unmatched_rows"] == 1
    un = openpyxl.load_workbook(out2 / GOOD[0] / "ledger.xlsx")["未匹配记录"]
    assert any(changed in [c for c in row] and "违法，已立案" in row for row in un.iter_rows(values_only=True))
    n = cs["satellite"]["field_check"]["required_count"]
    assert cs["satellite"]["field_check_rate"] == pytest.approx(1 / n)
    html = (out2 / GOOD[0] / "report.html").read_text(encoding="utf-8")
    import re
    sec = re.search(r'<section id="progress".*?</section>', html, re.S).group(0)
    assert sec.count("<svg") == 2 and "葛店镇人民政府" in sec and "未匹配记录" in sec
    # the roll-up
    s = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    assert s["options"]["previous"] == "第一期"                    # no machine path
    by = {c["folder"]: c for c in s["counties"]}
    h0 = by[GOOD[0]]["headline"]
    first = json.loads((out1 / GOOD[0] / "summary.json").read_text(encoding="utf-8"))
    assert h0["previous_as_of"] == first["county"]["as_of"] and h0["overdue_count"] == 1
    assert h0["unmatched_rows"] == 1 and h0["field_check_rate"] == pytest.approx(1 / n)
    assert h0["inventory_total_change_mu"] == pytest.approx(cs["inventory"]["total_mu"] - first["inventory"]["total_mu"])
    gone = by[missing]
    assert gone["status"] == "ok" and gone["headline"]["previous_as_of"] is None
    assert any("上一期输出中没有该县的台账" in n for n in gone["notes"])
    assert s["totals"]["tracked_counties"] == 2 and s["totals"]["overdue_count"] == 1
    ws = openpyxl.load_workbook(out2 / "汇总.xlsx")["县区汇总"]
    headers = [c.value for c in ws[3]]
    assert {"上期截至", "逾期项数", "逾期面积(亩)", "上期以来处置(亩)", "存量变化(亩)"} <= set(headers)
    row = next(r for r in ws.iter_rows(min_row=4, values_only=True) if r[headers.index("行政区代码")] == GOOD[0][:6])
    assert row[headers.index("逾期项数")] == 1
    page = (out2 / "index.html").read_text(encoding="utf-8")
    assert "<th>与上期相比</th>" in page and "逾期 1 项" in page and "无上期结果" in page
    # --resume: nothing changed, nothing redone; staff change the ledger again: that county is redone
    r = batch_cli(county_root, "-o", out2, "--scheduler", scheduler, "--previous", prev, "--as-of", "2025-06-30",
                  "--resume")
    s = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    assert s["counts"]["skipped"] == 3, r.stdout
    wb = openpyxl.load_workbook(led)
    wb["批而未供"].cell(_first_row(wb["批而未供"], "批次名称")[0], h["责任人"]).value = "赵六"
    wb.save(led)
    r = batch_cli(county_root, "-o", out2, "--scheduler", scheduler, "--previous", prev, "--as-of", "2025-06-30",
                  "--resume")
    s = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    assert {c["folder"]: c["status"] for c in s["counties"]}[GOOD[0]] == "ok"
    assert s["counts"]["skipped"] == 2, r.stdout


def test_batch_previous_must_be_another_folder(county_root, tmp_path):
    r = batch_cli(county_root, "-o", tmp_path / "o", "--previous", tmp_path / "nowhere")
    assert r.returncode == 1 and "--previous" in r.stderr
    assert not (tmp_path / "o").exists()              # bad input: nothing written
    (tmp_path / "o").mkdir()
    r = batch_cli(county_root, "-o", tmp_path / "o", "--previous", tmp_path / "o")
    assert r.returncode == 1 and "不能与输出文件夹相同" in r.stderr

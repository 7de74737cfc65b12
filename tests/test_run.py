"""`landkit run` and `landkit overlap` end to end: files written, their contents, failures."""
import json
import os
import re
import subprocess
import sys

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely

from conftest import SAMPLE, X0, Y0, write_shp


def run(*args):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "landkit.cli", *args], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "鄂城区 结果"
    r = run("run", str(SAMPLE), "-o", str(out), "--year", "2024")
    assert r.returncode == 0, r.stdout + r.stderr
    return out, r


def test_run_writes_the_contract_files(sample_run):
    out, r = sample_run
    for name in ("summary.json", "results.gpkg", "ledger.xlsx"):
        assert (out / name).is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".landkit-")]
    assert "卫片违法占用耕地比例" in r.stdout


def test_run_writes_chips_and_the_field_check_sheets(sample_run):
    """The demo county's before/after pair gives chips in the report and one 外业核查表 page per patch."""
    out = sample_run[0]
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))["imagery"]
    assert s["available"] and s["before"] == {"file": "前时相_20230921.tif", "date": "2023-09-21"}
    assert s["patch_count"] == 20 and s["chip_count"] == 40 and s["candidate_count"] >= 20
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count('<img id="lkchip-') == 40 and 'href="外业核查表.html"' in report
    sheets = (out / "外业核查表.html").read_text(encoding="utf-8")
    assert sheets.count('<section class="sheet"') == 20 and sheets.count("data:image/jpeg;base64,") == 40
    assert [p["id"] for p in s["patches"]] == re.findall(r'<section class="sheet" data-patch="([^"]+)"', sheets)
    assert (out / "report.html").stat().st_size < 10 * 1024 * 1024


def test_summary_json_keys(sample_run):
    s = json.loads((sample_run[0] / "summary.json").read_text(encoding="utf-8"))
    assert s["schema_version"] == "1.0"
    assert s["county"]["adcode"] == "420704" and s["county"]["year"] == 2024 and s["county"]["as_of"] == "2024-12-31"
    sat = s["satellite"]
    for k in ("patch_count", "counted_patch_count", "illegal_patch_count", "new_construction_farmland_mu",
              "illegal_farmland_mu", "ratio", "deducted_ratio", "cap", "accountability_threshold", "status", "basis",
              "illegal_yjjbnt_mu", "rectify_to_cap_mu", "by_township", "by_quarter"):
        assert k in sat, k
    assert sat["status"] in ("pass", "over_cap", "accountability")
    assert 0 <= sat["ratio"] <= 1 and sat["cap"] == 0.05 and sat["accountability_threshold"] == 0.15
    for t in sat["by_township"]:
        assert set(t) >= {"code", "name", "ratio", "illegal_farmland_mu", "new_construction_farmland_mu", "status"}
        assert len(t["code"]) == 9 and t["name"] != t["code"]
    assert [q["quarter"] for q in sat["by_quarter"]] == [1, 2, 3, 4]
    assert sat["by_quarter"][-1]["ratio"] == pytest.approx(sat["ratio"])
    fo = s["farmland_overlap"]
    assert fo["tolerance_m2"] == 1.0
    for role in ("approvals", "supply"):
        assert set(fo[role]) >= {"features_checked", "features_overlapping", "overlap_mu", "overlap_net_mu"}
    assert "findings" in s["qa"]


def test_results_gpkg_layers(sample_run):
    layers = [n for n, _ in pyogrio.list_layers(sample_run[0] / "results.gpkg")]
    assert "卫片图斑结果" in layers and "永农压占_批准用地" in layers
    g = gpd.read_file(sample_run[0] / "results.gpkg", layer="卫片图斑结果")
    s = json.loads((sample_run[0] / "summary.json").read_text(encoding="utf-8"))
    assert len(g) == s["satellite"]["patch_count"]
    ill = g[g["类别"] == "违法"]["计入耕地_亩"].sum()
    assert ill == pytest.approx(s["satellite"]["illegal_farmland_mu"], abs=1e-6)


def test_results_gpkg_holds_the_ledger_tables(sample_run):
    """Every ledger sheet is also an attribute table 台账_<sheet> in results.gpkg: same headers,
    same rows (no 合计 row), the same 亩 figures as the workbook's cells."""
    out = sample_run[0]
    wb = openpyxl.load_workbook(out / "ledger.xlsx", data_only=True)
    layers = dict(pyogrio.list_layers(out / "results.gpkg"))
    assert {f"台账_{t}" for t in wb.sheetnames} <= set(layers)
    ws = wb["卫片图斑清单"]
    header_row = next(r for r in range(1, 6) if ws.cell(r, 1).value == "监测编号")
    headers = [c.value for c in ws[header_row]]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=header_row + 1)]
    rows = [r for r in rows if any(v is not None for v in r) and r[0] != "合计"]
    t = pyogrio.read_dataframe(out / "results.gpkg", layer="台账_卫片图斑清单", read_geometry=False)
    assert list(t.columns) == headers and len(t) == len(rows)
    area = next(h for h in headers if h.endswith("(亩)"))
    j = headers.index(area)
    assert t[area].tolist() == pytest.approx([r[j] for r in rows], abs=1e-9)
    assert layers["台账_卫片图斑清单"] is None or layers["台账_卫片图斑清单"] in ("", "None", "Unknown")


def test_ledger_sheets_headers_and_formats(sample_run):
    wb = openpyxl.load_workbook(sample_run[0] / "ledger.xlsx")
    assert {"卫片统计", "永农压占清单"} <= set(wb.sheetnames)
    ws = wb["卫片统计"]
    header_row = next(r for r in range(1, 6) if ws.cell(r, 1).value == "乡镇代码")
    headers = [c.value for c in ws[header_row]]
    assert "违法占用耕地(亩)" in headers and "状态" in headers
    col = headers.index("违法占用耕地(亩)") + 1
    cell = ws.cell(header_row + 1, col)
    assert cell.number_format == "0.00" and cell.value == round(cell.value, 2)
    assert ws.freeze_panes == f"A{header_row + 1}"
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows
    s = json.loads((sample_run[0] / "summary.json").read_text(encoding="utf-8"))
    assert ws.cell(header_row + 1, 2).value == "全县"
    assert cell.value == pytest.approx(s["satellite"]["illegal_farmland_mu"], abs=0.005)
    ws2 = wb["永农压占清单"]
    assert ws2.auto_filter.ref


def test_run_twice_same_figures(sample_run, tmp_path):
    r = run("run", str(SAMPLE), "-o", str(tmp_path), "--year", "2024")
    assert r.returncode == 0
    a = json.loads((sample_run[0] / "summary.json").read_text(encoding="utf-8"))
    b = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    for d in (a, b):
        d.pop("generated_at")          # the one field allowed to differ
    assert a == b
    wa = openpyxl.load_workbook(sample_run[0] / "ledger.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "ledger.xlsx")
    assert wa.sheetnames == wb.sheetnames
    for name in wa.sheetnames:
        va = [[c.value for c in row] for row in wa[name].iter_rows()]
        vb = [[c.value for c in row] for row in wb[name].iter_rows()]
        assert va == vb, name


def test_output_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("run", str(SAMPLE), "-o", str(blocker / "out"))
    assert r.returncode == 1 and "无法写入" in r.stderr and "Traceback" not in r.stderr


def _small_county(tmp_path, judgement_field="判定类型", values=("违法", "合法"), dlbm="0101"):
    d = tmp_path / "420704_测试"
    dl = gpd.GeoDataFrame({"BSM": ["1", "2"], "DLBM": [dlbm, "0701"], "ZLDWDM": ["4207041001010000000"] * 2},
                          geometry=[shapely.box(X0, Y0, X0 + 500, Y0 + 500), shapely.box(X0 + 500, Y0, X0 + 1000, Y0 + 500)],
                          crs="EPSG:4526")
    write_shp(dl, d / "DLTB.shp")
    cols = {"监测编号": ["W1", "W2"]}
    if judgement_field:
        cols[judgement_field] = list(values)
    p = gpd.GeoDataFrame(cols, geometry=[shapely.box(X0 + 100, Y0 + 100, X0 + 200, Y0 + 200),
                                         shapely.box(X0 + 300, Y0 + 100, X0 + 400, Y0 + 200)], crs="EPSG:4526")
    write_shp(p, d / "卫片图斑.shp")
    return d


@pytest.mark.parametrize("kind,needle", [
    ("no_field", "判定类型"), ("unknown", "待定"), ("no_cultivated", "没有耕地")])
def test_run_bad_input_exit_1(tmp_path, kind, needle):
    if kind == "no_field":
        d = _small_county(tmp_path, judgement_field=None)
    elif kind == "unknown":
        d = _small_county(tmp_path, values=("违法", "待定"))
    else:
        d = _small_county(tmp_path, dlbm="0301")
    out = tmp_path / "out"
    r = run("run", str(d), "-o", str(out))
    assert r.returncode == 1, r.stdout + r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_run_alternative_judgement_field_name(tmp_path):
    d = _small_county(tmp_path, judgement_field="核实认定意见", values=("非农违法", "合法"))
    r = run("run", str(d), "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert s["satellite"]["ratio"] == pytest.approx(0.5, abs=1e-6)
    assert s["farmland_overlap"]["available"] is False


def test_overlap_command_on_a_drawn_site(tmp_path):
    site = gpd.GeoDataFrame({"项目名称": ["某某物流园", "某某学校"]}, crs="EPSG:4526", geometry=[
        shapely.box(X0, Y0, X0 + 10, Y0 + 10), shapely.box(X0 + 20, Y0, X0 + 30, Y0 + 10)])
    county = _county_with_yjjbnt(tmp_path)
    f = tmp_path / "项目 红线.geojson"
    site.to_crs(4490).to_file(f, driver="GeoJSON")
    out = tmp_path / "压占结果"
    r = run("overlap", str(f), "--county", str(county), "-o", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    wb = openpyxl.load_workbook(out / "压占检查.xlsx")
    ws = wb["压占检查"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=1)]
    hdr = next(i for i, row in enumerate(rows) if row[0] == "编号")
    body = {row[0]: row for row in rows[hdr + 1:] if row[0] not in (None, "合计")}
    assert set(body) == {"某某物流园", "某某学校"}
    col = rows[hdr].index("压占永久基本农田(亩)")
    assert body["某某物流园"][col] == pytest.approx(100 * 1.5e-3, abs=0.005)
    assert body["某某学校"][col] == 0
    assert {n for n, _ in pyogrio.list_layers(out / "压占检查.gpkg")} >= {"地块"}


def _county_with_yjjbnt(tmp_path):
    d = _small_county(tmp_path / "c")
    yj = gpd.GeoDataFrame({"YJJBNTTBBH": ["Y1"], "KCXS": [0.1]}, crs="EPSG:4526",
                          geometry=[shapely.box(X0 - 5, Y0 - 5, X0 + 15, Y0 + 15)])
    write_shp(yj, d / "YJJBNTBHTB.shp")
    return d


def test_ledger_inventory_sheets(sample_run):
    wb = openpyxl.load_workbook(sample_run[0] / "ledger.xlsx")
    for name in ("汇总", "批而未供", "闲置土地", "低效用地", "集体经营性建设用地", "处置率"):
        assert name in wb.sheetnames, name
    assert wb.sheetnames[0] == "汇总"
    s = json.loads((sample_run[0] / "summary.json").read_text(encoding="utf-8"))
    for name, key in (("批而未供", "approved_unsupplied_mu"), ("闲置土地", "idle_mu")):
        ws = wb[name]
        hr = next(r for r in range(1, 6) if ws.cell(r, 1).value not in (None, "") and ws.cell(r, 2).value)
        headers = [c.value for c in ws[hr]]
        for h in ("乡镇", "村", "拟处置方式", "责任单位", "完成时限"):
            assert h in headers, (name, h)
        area_col = headers.index("未供面积(亩)" if name == "批而未供" else "面积(亩)") + 1
        last = ws.max_row
        assert ws.cell(last, 1).value == "合计"
        assert ws.cell(last, area_col).value == pytest.approx(s["inventory"][key], abs=0.01)
        assert ws.freeze_panes == f"A{hr + 1}" and ws.auto_filter.ref
        # the bureau's columns are left blank to fill in
        plan = headers.index("拟处置方式") + 1
        assert all(ws.cell(r, plan).value in (None, "") for r in range(hr + 1, last))
    ws = wb["闲置土地"]
    hr = next(r for r in range(1, 6) if ws.cell(r, 1).value == "电子监管号")
    headers = [c.value for c in ws[hr]]
    assert {"土地使用权人", "联系电话", "闲置原因", "土地闲置费(万元)"} <= set(headers)


def test_summary_inventory_and_disposal(sample_run):
    s = json.loads((sample_run[0] / "summary.json").read_text(encoding="utf-8"))
    inv, dis = s["inventory"], s["disposal"]
    for k in ("as_of", "approved_unsupplied_mu", "approved_unsupplied_count", "idle_mu", "idle_count",
              "inefficient_mu", "inefficient_count", "collective_commercial_mu", "collective_commercial_count",
              "total_mu", "by_township", "by_cohort"):
        assert k in inv, k
    parts = [inv[k] for k in ("approved_unsupplied_mu", "idle_mu", "inefficient_mu", "collective_commercial_mu")]
    assert max(parts) <= inv["total_mu"] + 1e-6 <= sum(parts) + 1e-6
    assert dis["year"] == 2024
    for cat in ("approved_unsupplied", "idle"):
        d = dis[cat]
        assert set(d) >= {"base_mu", "disposed_mu", "rate", "target", "shortfall_mu", "met"}
        if d["base_mu"]:
            assert d["rate"] == pytest.approx(d["disposed_mu"] / d["base_mu"])
            assert d["shortfall_mu"] == pytest.approx(max(0.0, d["target"] * d["base_mu"] - d["disposed_mu"]))


def test_county_without_approvals_or_supply_says_so(tmp_path):
    d = _small_county(tmp_path)
    r = run("run", str(d), "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    inv = s["inventory"]
    assert inv["approved_unsupplied_mu"] is None and inv["idle_mu"] is None
    assert {"approvals", "supply"} <= set(inv["missing"]) and inv["notes"]
    assert s["disposal"]["approved_unsupplied"]["rate"] is None
    wb = openpyxl.load_workbook(tmp_path / "o" / "ledger.xlsx")
    text = " ".join(str(c.value) for row in wb["批而未供"].iter_rows() for c in row if c.value)
    assert "未提供数据" in text


def test_report_idle_table_says_type_since_and_years(sample_run):
    """The report's 闲置土地 table: 闲置类型, 闲置起算日期 and 闲置年数 with one decimal, the same
    figures as the ledger's 闲置土地 sheet (largest first)."""
    import re
    html = (sample_run[0] / "report.html").read_text(encoding="utf-8")
    block = html[html.index("面积最大的闲置土地"):]
    block = block[:block.index("</table>")]
    head = re.findall(r"<th[^>]*>(.*?)</th>", block)
    assert head[4:8] == ["面积（亩）", "闲置类型", "闲置起算日期", "闲置年数"]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", block)[1:]]
    assert rows and all(len(r) == len(head) for r in rows)
    wb = openpyxl.load_workbook(sample_run[0] / "ledger.xlsx")
    ws = wb["闲置土地"]
    hr = next(r for r in range(1, 6) if ws.cell(r, 1).value == "电子监管号")
    h = [c.value for c in ws[hr]]
    ledger = {ws.cell(r, 1).value: (ws.cell(r, h.index("闲置类型") + 1).value, ws.cell(r, h.index("闲置年数") + 1).value)
              for r in range(hr + 1, ws.max_row) if ws.cell(r, 1).value not in (None, "合计")}
    for r in rows:
        assert r[5] in ("未动工", "中止开发")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r[6]) and re.fullmatch(r"\d+\.\d", r[7])
        kind, years = ledger[r[0]]
        assert {"未动工": "未动工开发满一年", "中止开发": "已动工但中止开发满一年"}[r[5]] == kind and float(r[7]) == pytest.approx(float(years), abs=0.05)


def test_report_quality_appendix_names_layers_in_chinese_and_folds_the_notes(sample_run):
    """Warnings and errors are listed with the layer's Chinese name; the many 说明 lines (CRS,
    encoding, field mapping) are folded under a <details> so the appendix stays short."""
    html = (sample_run[0] / "report.html").read_text(encoding="utf-8")
    findings = json.loads((sample_run[0] / "summary.json").read_text(encoding="utf-8"))["qa"]["findings"]
    qa = html[html.index("附录　数据质量"):html.index("<footer>")]
    warn = [f for f in findings if f["level"] in ("error", "warning")]
    info = [f for f in findings if f["level"] == "info"]
    assert warn and info
    shown, folded = qa.split('<details class="qa-notes">')
    assert shown.count('<tr class="lvl-warning">') + shown.count('<tr class="lvl-error">') == len(warn)
    assert folded.count('<tr class="lvl-info">') == len(info) and f"读取说明 {len(info)} 项" in folded
    assert "<td>地类图斑</td>" in qa and "<td>dltb</td>" not in qa


def test_results_kept_inside_the_county_folder_are_not_read_back(sample_run, tmp_path):
    """An analyst saves the output inside the county folder. The next read must not take
    results.gpkg's 永农压占_供地 for the county's missing 供地 layer (a silent wrong number)."""
    import shutil
    import landkit as lk
    d = tmp_path / "420704_鄂城区"
    shutil.copytree(SAMPLE, d)
    for f in d.glob("供地.*"):
        f.unlink()
    shutil.copytree(sample_run[0], d / "结果")
    assert {"results.gpkg", "summary.json"} <= {f.name for f in (d / "结果").iterdir()}
    c = lk.read_county(d)
    assert c.supply is None
    assert all("results.gpkg" not in str(s.path) for s in c.sources.values())
    r = run("check", str(d))
    assert r.returncode == 0 and "results.gpkg" not in r.stdout


def test_run_year_decides_which_dltb_vintage_is_read(tmp_path):
    """A folder with DLTB_2023 and DLTB_2024: `landkit run --year 2023` analyses DLTB_2023 (the
    command line is part of the settings before the folder is read), with the 2023 as-of date."""
    from conftest import dltb_frame
    d = tmp_path / "420704_鄂城区"
    write_shp(dltb_frame(6), d / "DLTB_2023.shp")
    write_shp(dltb_frame(9), d / "DLTB_2024.shp")
    for year, n in ((2023, 6), (2024, 9)):
        r = run("run", str(d), "-o", str(tmp_path / f"out{year}"), "--year", str(year))
        assert r.returncode == 0, r.stderr
        s = json.loads((tmp_path / f"out{year}" / "summary.json").read_text(encoding="utf-8"))
        assert s["county"]["year"] == year and s["county"]["as_of"] == f"{year}-12-31"
        assert s["county"]["layers"]["dltb"] == n


@pytest.mark.parametrize("command", ["check", "run"])
def test_misspelt_setting_is_refused_naming_file_section_and_key(tmp_path, command):
    from conftest import dltb_frame
    d = tmp_path / "420704_鄂城区"
    write_shp(dltb_frame(6), d / "DLTB.shp")
    (d / "landkit.toml").write_text("[satellite]\ncpa = 0.04\n", encoding="utf-8")
    args = [command, str(d)] + (["-o", str(tmp_path / "out")] if command == "run" else [])
    r = run(*args)
    assert r.returncode == 1
    assert "[satellite]" in r.stderr and "'cpa'" in r.stderr and "cap" in r.stderr and "landkit.toml" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()


def test_run_compares_the_two_vintages(sample_run):
    """The sample county holds DLTB_2023.gpkg beside DLTB.shp: the run analyses 2024 and compares it
    with 2023. The ledger's 地类转移矩阵 is a pivot whose 合计 row and column add up, 耕地流出清单 lists
    every piece with its 卫片 cover, results.gpkg has 耕地流出, the report shows the section and the
    headline the balance — all the figures of summary.json's change."""
    import re
    out, r = sample_run
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))["change"]
    assert s["available"] is True and (s["previous_year"], s["current_year"]) == (2023, 2024)
    assert s["current_layer"] == "DLTB.shp" and s["previous_layer"] == "DLTB_2023.gpkg:DLTB"
    wb = openpyxl.load_workbook(out / "ledger.xlsx")
    for name in ("地类转移矩阵", "三大类转移矩阵", "地类转移明细", "耕地进出平衡", "乡镇地类转移", "耕地流出清单", "耕地流入清单"):
        assert name in wb.sheetnames, name
    rows = [row for row in wb["地类转移矩阵"].iter_rows(values_only=True)]
    hr = next(i for i, row in enumerate(rows) if row[0] and "原地类" in str(row[0]))
    head = rows[hr]
    body = [row for row in rows[hr + 1:] if row[0]]
    assert body[-1][0] == "合计" and head[-1] == "合计"
    for row in body[:-1]:                                        # each row's 合计 is the sum of its cells
        assert row[-1] == pytest.approx(sum(v or 0 for v in row[1:-1]), abs=0.01 * len(row))
    for j in range(1, len(head)):                                # the 合计 row sums each column
        assert body[-1][j] == pytest.approx(sum(r_[j] or 0 for r_ in body[:-1]), abs=0.01 * len(body))
    gd = next(row for row in body if str(row[0]).startswith("01 "))
    assert gd[-1] == pytest.approx(s["cultivated_previous_mu"], abs=0.01)
    assert body[-1][head.index("01 耕地")] == pytest.approx(s["cultivated_current_mu"], abs=0.01)
    rows = [row for row in wb["耕地流出清单"].iter_rows(values_only=True)]
    hr = next(i for i, row in enumerate(rows) if row[0] == "编号")
    head = list(rows[hr])
    data = [row for row in rows[hr + 1:] if row[0] and row[0] != "合计"]
    assert len(data) == s["out_piece_count"]
    assert sum(1 for row in data if row[head.index("疑似漏监测")] == "是") == s["unmonitored_count"]
    assert {row[head.index("是否有卫片图斑")] for row in data} <= {"是", "部分", "否"}
    assert sum(row[head.index("面积(亩)")] for row in data) == pytest.approx(s["gross"]["cultivated_out_mu"],
                                                                             abs=0.01 * len(data))
    layers = dict(pyogrio.list_layers(out / "results.gpkg"))
    assert {"耕地流出", "耕地流入", "台账_地类转移矩阵", "台账_耕地流出清单"} <= set(layers)
    g = gpd.read_file(out / "results.gpkg", layer="耕地流出")
    assert len(g) == s["out_piece_count"] and int(g["疑似漏监测"].sum()) == s["unmonitored_count"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="change"' in html and "地类转移矩阵" in html and "耕地流出（按现地类）" in html
    m = re.search(r'data-kpi="change.cultivated_out_mu" data-value="([^"]+)"', html)
    assert m and json.loads(m.group(1)) == s["cultivated_out_mu"]
    assert "耕地进出平衡（2023—2024年，扣除田坎）" in r.stdout and "疑似漏监测" in r.stdout

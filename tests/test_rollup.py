"""The batch roll-up (landkit.render.rollup): 汇总.xlsx, index.html and the roll-up summary.json
written for three small generated counties run for real (one without a 卫片 layer) and one
county whose DLTB.dbf is truncated (a real failure). Every figure the roll-up shows is checked
against figures recomputed here from each county's own summary.json: per-county rows, and the
province totals as sums (卫片 ratio = Σ违法占用耕地 ÷ Σ新增建设占用耕地, 处置率 = Σ已处置 ÷ Σ基数,
over the counties that have the figures). A figure a county's summary.json does not have
(null, or a missing section) must stay blank in the roll-up, never become 0.

The counties run through :func:`landkit.pipeline.batch.run_one_county` (the task each batch
worker runs), without a dask cluster, so the module stays fast; tests/test_batch.py runs the
whole batch on a cluster."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote

import openpyxl
import pytest

from landkit.pipeline import batch as B
from landkit.render import rollup

# folder -> make_county arguments; the third county has no 卫片 layer
COUNTIES = {
    "420111_洪山样区": {"seed": 5, "adcode": "420111", "name": "洪山样区", "center_lonlat": (114.40, 30.50)},
    "420115_江夏样区": {"seed": 7, "adcode": "420115", "name": "江夏样区", "center_lonlat": (114.32, 30.10)},
    "420116_黄陂样区": {"seed": 9, "adcode": "420116", "name": "黄陂样区", "center_lonlat": (114.37, 30.88)},
}
GOOD = list(COUNTIES)
NO_SAT = "420116_黄陂样区"
BAD = "420999_坏县"

# what the roll-up should say for a 卫片 status (summary-schema.md: pass / over_cap / accountability / no_data)
STATUS_CN = {"pass": "达标", "over_cap": "超过控制目标", "accountability": "达到问责线", "no_data": "无数据"}
OVERLAP_CN = {"approvals": "批准用地", "supply": "供地", "parcels": "宗地", "patches": "卫片图斑"}
INVENTORY_CN = {"approved_unsupplied": "批而未供", "idle": "闲置土地", "inefficient": "城镇低效用地",
                "collective_commercial": "农村集体经营性建设用地"}
DISPOSAL_CN = {"approved_unsupplied": "批而未供", "idle": "闲置土地"}


# --------------------------------------------------------------------------------------
# fixture: real county outputs and their roll-up, built once
# --------------------------------------------------------------------------------------

def _batch(root: Path, out: Path, runs: list) -> dict:
    return B.BatchResult(root=root, out=out, counties=runs, seconds=1.0, cluster="local", workers=1,
                         options={"year": None, "as_of": None, "config": None, "resume": False},
                         generated_at=dt.datetime.now().astimezone().isoformat(timespec="seconds")).to_dict()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Generate and run the counties into OUT, then write the roll-up there.
    Returns a dict: base (the tmp folder), root, out, runs (CountyRun), batch, paths."""
    from landkit.synth import make_county
    base = tmp_path_factory.mktemp("rollup").resolve()
    root = base / "湖北样例"
    out = base / "结果"
    out.mkdir()
    for folder, kw in COUNTIES.items():
        make_county(root / folder, n_dltb=400, n_patches=40, n_approvals=20, n_supply=60, n_parcels=80,
                    boundary=None, area_km2=120, image=False, **kw)
    for p in (root / NO_SAT).glob("卫片图斑.*"):
        p.unlink()
    from landkit.synth.vintage import make_previous_vintage
    make_previous_vintage(root / GOOD[0], rate=0.05, seed=5)       # one county with two DLTB vintages
    shutil.copytree(root / GOOD[0], root / BAD)
    with open(root / BAD / "DLTB.dbf", "r+b") as f:
        f.truncate(1000)
    runs = []
    for folder in GOOD + [BAD]:
        r = B.run_one_county(str(root / folder), str(out), folder)
        r.pop("folder")
        r.pop("input")
        runs.append(B.CountyRun(folder=folder, input=str(root / folder), **r))
    batch = _batch(root, out, runs)
    paths = rollup.write_rollup(batch, out, outlines={c.folder: c.outline for c in runs if c.outline})
    return {"base": base, "root": root, "out": out, "runs": runs, "batch": batch, "paths": paths}


def county_summary(out: Path, folder: str) -> dict:
    return json.loads((out / folder / "summary.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------
# readers of what the roll-up wrote
# --------------------------------------------------------------------------------------

def read_county_sheet(path: Path):
    """(rows keyed by 行政区代码 as {header: value}, the 合计 row as {header: value}, row order)."""
    ws = openpyxl.load_workbook(path)["县区汇总"]
    headers = [c.value for c in ws[3]]
    rows, order, total = {}, [], None
    for values in ws.iter_rows(min_row=4, values_only=True):
        rec = dict(zip(headers, values))
        if values[0] == "合计":
            total = rec
            break
        rows[rec["行政区代码"]] = rec
        order.append(rec["行政区代码"])
    return rows, total, order


class _Page(HTMLParser):
    """Table rows (class, [cell texts], [hrefs]), every href and the cards of index.html."""

    def __init__(self):
        super().__init__()
        self.rows, self.hrefs, self.cards = [], [], {}
        self._row = self._cell = self._card = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "href" in a:
            self.hrefs.append(a["href"])
        if tag == "tr" and a.get("class"):
            self._row = (a["class"], [], [])
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "a" and self._row is not None:
            self._row[2].append(a["href"])
        elif tag == "div" and a.get("class") == "card":
            self._card = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row[1].append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "div" and self._card is not None:
            label, _, value = "\x00".join(self._card).partition("\x00")
            self.cards[label] = value
            self._card = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._card is not None:
            self._card.append(data)


HTML_COLS = ("县（区）", "行政区代码", "运行状态", "卫片违法占用耕地比例", "卫片状态", "批而未供处置率", "闲置土地处置率",
             "存量合计(亩)", "报告", "说明")


def read_page(path: Path):
    p = _Page()
    p.feed(path.read_text(encoding="utf-8"))
    rows = {}
    for cls, cells, links in p.rows:
        rec = dict(zip(HTML_COLS, cells))
        rec["_class"], rec["_links"] = cls, links
        rows[rec["行政区代码"]] = rec
    return rows, p.cards, p.hrefs


def near(cell, expected, places):
    """A cell shown with ``places`` decimals: within half a unit of the last place of the exact figure."""
    assert isinstance(cell, (int, float)) and not isinstance(cell, bool), (cell, expected)
    assert abs(cell - expected) <= 0.5 * 10 ** -places + 1e-9, (cell, expected)


def pct(x) -> str:
    return f"{x * 100:.2f}%"


# --------------------------------------------------------------------------------------
# independent figures from the counties' summary.json
# --------------------------------------------------------------------------------------

def expected_row(s: dict) -> dict:
    """The 汇总.xlsx row of one county as its summary.json gives it (None where it has no figure)."""
    sat = s.get("satellite") or {}
    on = bool(sat.get("available"))
    e = {"县（区）": s["county"]["name"], "行政区代码": s["county"]["adcode"], "运行状态": "完成",
         "卫片违法占用耕地比例": sat.get("ratio") if on else None,
         "卫片状态": STATUS_CN[sat["status"]] if on else "无卫片图层",
         "违法占用耕地(亩)": sat.get("illegal_farmland_mu") if on else None,
         "新增建设占用耕地(亩)": sat.get("new_construction_farmland_mu") if on else None,
         "降到控制目标需整改(亩)": sat.get("rectify_to_cap_mu") if on else None,
         "质检错误": s["qa"]["error_count"], "质检警告": s["qa"]["warning_count"]}
    disp = s.get("disposal") or {}
    for cat, cn in DISPOSAL_CN.items():
        e[f"{cn}处置率"] = (disp.get(cat) or {}).get("rate")
        e[f"{cn}处置目标"] = (disp.get(cat) or {}).get("target")
    fo = s.get("farmland_overlap") or {}
    for role, cn in OVERLAP_CN.items():
        r = fo.get(role) if fo.get("available") else None
        e[f"压占永农·{cn}(亩)"] = r.get("overlap_mu") if isinstance(r, dict) else None
    inv = s.get("inventory")
    for cat, cn in INVENTORY_CN.items():
        e[f"{cn}(亩)"] = inv.get(f"{cat}_mu") if isinstance(inv, dict) else None
    e["存量合计(去重,亩)"] = inv.get("total_mu") if isinstance(inv, dict) else None
    return e


PLACES = {"卫片违法占用耕地比例": 4, "批而未供处置率": 4, "批而未供处置目标": 4, "闲置土地处置率": 4, "闲置土地处置目标": 4}


def check_row(row: dict, exp: dict):
    for k, v in exp.items():
        if v is None:
            assert row[k] is None, (exp["县（区）"], k, row[k])           # blank, not 0
        elif isinstance(v, str) or k in ("质检错误", "质检警告"):
            assert row[k] == v, (exp["县（区）"], k, row[k], v)
        else:
            near(row[k], v, PLACES.get(k, 2))


def province(summaries: list[dict]) -> dict:
    """Province figures from the parts: each sum over the counties that have the figure; the
    卫片 ratio Σ违法 ÷ Σ新增 and the 处置率 Σdisposed ÷ Σbase over counties having both parts."""
    def total(vals):
        vals = [v for v in vals if v is not None]
        return sum(vals) if vals else None

    sat = [s["satellite"] for s in summaries if (s.get("satellite") or {}).get("available")]
    both = [x for x in sat if x.get("illegal_farmland_mu") is not None
            and x.get("new_construction_farmland_mu") is not None]
    p = {"satellite_counties": len(sat),
         "illegal_farmland_mu": total(x.get("illegal_farmland_mu") for x in sat),
         "new_construction_farmland_mu": total(x.get("new_construction_farmland_mu") for x in sat)}
    num = sum(x["illegal_farmland_mu"] for x in both)
    den = sum(x["new_construction_farmland_mu"] for x in both)
    p["satellite_ratio"] = num / den if den else None
    for cat in DISPOSAL_CN:
        parts = [(s.get("disposal") or {}).get(cat) or {} for s in summaries]
        parts = [b for b in parts if b.get("base_mu") is not None and b.get("disposed_mu") is not None]
        base = sum(b["base_mu"] for b in parts)
        p[f"{cat}_disposal_rate"] = sum(b["disposed_mu"] for b in parts) / base if base else None
    for role in OVERLAP_CN:
        p[f"yjjbnt_overlap_{role}_mu"] = total(
            (s["farmland_overlap"].get(role) or {}).get("overlap_mu") for s in summaries
            if (s.get("farmland_overlap") or {}).get("available"))
    for cat in INVENTORY_CN:
        p[f"{cat}_mu"] = total((s.get("inventory") or {}).get(f"{cat}_mu") for s in summaries)
    p["inventory_total_mu"] = total((s.get("inventory") or {}).get("total_mu") for s in summaries)
    return p


# --------------------------------------------------------------------------------------
# the roll-up of real county outputs
# --------------------------------------------------------------------------------------

def test_rollup_files_are_written(built):
    """write_rollup writes summary.json, 汇总.xlsx and index.html into OUT and returns their paths,
    leaving no temporary file behind; the county runs it rolls up are real (3 done, 1 failed)."""
    out, paths = built["out"], built["paths"]
    assert paths == {"summary": out / "summary.json", "xlsx": out / "汇总.xlsx", "html": out / "index.html"}
    for p in paths.values():
        assert p.is_file() and p.stat().st_size > 0
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert [c.status for c in built["runs"]] == ["ok", "ok", "ok", "failed"]
    s = json.loads(paths["summary"].read_text(encoding="utf-8"))
    assert s["kind"] == "landkit-batch" and s["schema_version"] == "1.0"
    assert s["counts"] == {"total": 4, "ok": 3, "skipped": 0, "failed": 1}
    # the three good counties really differ (else the sums below would prove little)
    sums = [county_summary(out, f) for f in GOOD]
    assert len({x["county"]["adcode"] for x in sums}) == 3
    assert [x["satellite"]["available"] for x in sums] == [True, True, False]
    ill = [x["satellite"]["illegal_farmland_mu"] for x in sums[:2]]
    assert all(v > 0 for v in ill) and ill[0] != ill[1]
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["县区汇总", "失败清单", "说明"]
    ws = wb["县区汇总"]
    assert ws.cell(1, 1).value == "批量分析汇总"
    assert ws.cell(2, 1).value.startswith("共 4 个县（区）：完成 3，沿用上次结果 0，失败 1")


def test_county_rows_equal_each_county_summary(built):
    """Each county's row in 汇总.xlsx, its headline in the roll-up summary.json and its row in
    index.html show that county's own summary.json figures (亩 to 2 decimals, ratios to 4; blank where
    the county has no figure, e.g. no 卫片 layer)."""
    out = built["out"]
    rows, _, order = read_county_sheet(built["paths"]["xlsx"])
    assert set(rows) == {f[:6] for f in GOOD + [BAD]}
    roll = {c["folder"]: c for c in json.loads(built["paths"]["summary"].read_text(encoding="utf-8"))["counties"]}
    page_rows, _, _ = read_page(built["paths"]["html"])
    for folder in GOOD:
        s = county_summary(out, folder)
        exp = expected_row(s)
        check_row(rows[folder[:6]], exp)
        assert rows[folder[:6]]["输出文件夹"] == folder
        h = roll[folder]["headline"]
        assert roll[folder]["status"] == "ok" and roll[folder]["output"] == folder
        assert h["name"] == s["county"]["name"] and h["adcode"] == s["county"]["adcode"]
        sat = s["satellite"]
        for k in ("ratio", "illegal_farmland_mu", "new_construction_farmland_mu", "status"):
            assert h[f"satellite_{k}" if k in ("ratio", "status") else k] == (sat[k] if sat["available"] else None)
        assert h["inventory_total_mu"] == s["inventory"]["total_mu"]
        assert h["approved_unsupplied_disposal_base_mu"] == s["disposal"]["approved_unsupplied"]["base_mu"]
        # index.html: the same figures, formatted
        r = page_rows[folder[:6]]
        assert r["_class"] == "ok" and r["县（区）"] == s["county"]["name"] and r["运行状态"] == "完成"
        assert r["卫片违法占用耕地比例"] == (pct(sat["ratio"]) if sat["available"] else "")
        assert r["卫片状态"] == (STATUS_CN[sat["status"]] if sat["available"] else "无卫片图层")
        for cat, cn in DISPOSAL_CN.items():
            rate = s["disposal"][cat]["rate"]
            assert r[f"{cn}处置率"] == ("" if rate is None else pct(rate))
        assert r["存量合计(亩)"] == f"{s['inventory']['total_mu']:,.2f}"
    # worst 卫片 ratio first, the county without a ratio next, the failure last
    ratios = sorted(((county_summary(out, f)["satellite"]["ratio"], f[:6]) for f in GOOD if f != NO_SAT),
                    reverse=True)
    assert order == [a for _, a in ratios] + [NO_SAT[:6], BAD[:6]]


def test_province_totals_recomputed_from_the_parts(built):
    """The province figures (roll-up summary.json totals, the 合计 row and 说明 sheet of 汇总.xlsx,
    the card of index.html) equal sums over the counties' summary.json; the 卫片 ratio is Σ违法 ÷ Σ新增
    (not a sum or mean of the county ratios) and 处置率 Σ已处置 ÷ Σ基数; the county without a 卫片 layer
    and the failed county add nothing."""
    out = built["out"]
    p = province([county_summary(out, f) for f in GOOD])
    t = json.loads(built["paths"]["summary"].read_text(encoding="utf-8"))["totals"]
    assert t["counties"] == 3 and t["satellite_counties"] == p["satellite_counties"] == 2
    for k, v in p.items():
        if k != "inventory_total_mu":        # totals() has the four 存量 sums; 存量合计 is in the 合计 row
            assert t[k] == pytest.approx(v, rel=1e-12), k
    ratios = [county_summary(out, f)["satellite"]["ratio"] for f in GOOD if f != NO_SAT]
    assert t["satellite_ratio"] != pytest.approx(sum(ratios) / 2, rel=1e-6)     # not a mean of ratios
    _, total, _ = read_county_sheet(built["paths"]["xlsx"])
    assert total["县（区）"] == "合计"
    near(total["卫片违法占用耕地比例"], p["satellite_ratio"], 4)
    near(total["违法占用耕地(亩)"], p["illegal_farmland_mu"], 2)
    near(total["新增建设占用耕地(亩)"], p["new_construction_farmland_mu"], 2)
    for cat, cn in DISPOSAL_CN.items():
        near(total[f"{cn}处置率"], p[f"{cat}_disposal_rate"], 4)
    for role, cn in OVERLAP_CN.items():
        near(total[f"压占永农·{cn}(亩)"], p[f"yjjbnt_overlap_{role}_mu"], 2)
    for cat, cn in INVENTORY_CN.items():
        near(total[f"{cn}(亩)"], p[f"{cat}_mu"], 2)
    near(total["存量合计(去重,亩)"], p["inventory_total_mu"], 2)
    notes = {r[0]: r[1] for r in openpyxl.load_workbook(built["paths"]["xlsx"])["说明"].iter_rows(
        min_row=3, values_only=True)}
    near(notes["全省（市）卫片违法占用耕地比例"], p["satellite_ratio"], 4)
    _, cards, _ = read_page(built["paths"]["html"])
    assert cards["全域卫片违法占用耕地比例"] == pct(p["satellite_ratio"])
    assert cards["县（区）"] == "4" and cards["完成"] == "3" and cards["失败"] == "1"


def test_failed_county_is_listed_with_its_reason(built):
    """The county whose DLTB.dbf is truncated is listed as failed, with the reason its run gave
    (the truncated DLTB.dbf), in summary.json, both sheets of 汇总.xlsx and index.html, and shows
    no figures (blank, not 0) and no link."""
    run = next(c for c in built["runs"] if c.folder == BAD)
    assert run.status == "failed" and "DLTB.dbf" in run.error and "不完整" in run.error
    # the roll-up names the file relative to the batch root (no machine path)
    error = run.error.replace(str(built["root"]) + "/", "")
    assert f"（文件：{BAD}/DLTB.dbf）" in error
    s = json.loads(built["paths"]["summary"].read_text(encoding="utf-8"))
    (f,) = s["failures"]
    assert f == {"folder": BAD, "input": BAD, "message": error, "error_type": "InputError"}
    c = next(c for c in s["counties"] if c["folder"] == BAD)
    assert c["status"] == "failed" and c["headline"] is None and c["output"] is None
    assert s["totals"]["counties"] == 3
    wb = openpyxl.load_workbook(built["paths"]["xlsx"])
    fails = [r for r in wb["失败清单"].iter_rows(min_row=3, values_only=True) if any(r)]
    assert fails == [(BAD, BAD, error, "InputError")]
    rows, _, _ = read_county_sheet(built["paths"]["xlsx"])
    r = rows[BAD[:6]]
    assert r["县（区）"] == "坏县" and r["运行状态"] == "失败" and r["错误信息 / 说明"] == error
    figures = [k for k in r if k.endswith(("(亩)", "率")) or k.startswith("质检")]
    assert figures and all(r[k] is None for k in figures), {k: r[k] for k in figures}
    page_rows, _, hrefs = read_page(built["paths"]["html"])
    pr = page_rows[BAD[:6]]
    assert pr["_class"] == "failed" and pr["运行状态"] == "失败" and pr["说明"] == error
    assert pr["_links"] == [] and pr["卫片违法占用耕地比例"] == "" and pr["存量合计(亩)"] == ""
    assert not [h for h in hrefs if unquote(h).startswith(BAD)]
    page = built["paths"]["html"].read_text(encoding="utf-8")
    assert re.search(r"<title>坏县：分析失败 — [^<]*DLTB\.dbf", page)         # its place on the map


def test_index_html_links_are_relative_and_resolve(built):
    """index.html is offline (no network address, no script) and links each good county to its own
    report.html by a relative link that resolves inside OUT; the map draws every county outline."""
    out, page_path = built["out"], built["paths"]["html"]
    page = page_path.read_text(encoding="utf-8")
    assert "http:" not in page and "https:" not in page and "<script" not in page
    rows, _, hrefs = read_page(page_path)
    assert set(hrefs) == {f"{quote(f)}/report.html" for f in GOOD}         # on the map and in the table
    for f in GOOD:
        assert rows[f[:6]]["_links"] == [f"{quote(f)}/report.html"] and rows[f[:6]]["报告"] == "报告"
    for h in hrefs:
        target = (out / unquote(h)).resolve()
        assert target.is_file() and out in target.parents
    assert page.count("<path ") == 4


# --------------------------------------------------------------------------------------
# missing figures
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def with_gaps(built, tmp_path_factory):
    """A copy of OUT where 洪山样区's summary.json lacks some figures (null) and 江夏样区's has no
    inventory section at all; the roll-up rebuilt from those files (as a --resume batch does:
    headline() of each county's summary.json)."""
    out = tmp_path_factory.mktemp("gaps").resolve() / "结果"
    shutil.copytree(built["out"], out)
    a, b = GOOD[0], GOOD[1]
    sa = county_summary(out, a)
    sa["satellite"].update(illegal_farmland_mu=None, ratio=None, status="no_data", rectify_to_cap_mu=None)
    sa["inventory"]["total_mu"] = None
    sa["inventory"]["idle_mu"] = None
    sa["disposal"]["approved_unsupplied"].update(disposed_mu=None, rate=None, met=None)
    sa["farmland_overlap"]["approvals"]["overlap_mu"] = None
    (out / a / "summary.json").write_text(json.dumps(sa, ensure_ascii=False), encoding="utf-8")
    sb = county_summary(out, b)
    del sb["inventory"]
    (out / b / "summary.json").write_text(json.dumps(sb, ensure_ascii=False), encoding="utf-8")
    runs = []
    for c in built["runs"]:
        if c.succeeded:
            c = dataclasses.replace(c, status="skipped", headline=rollup.headline(county_summary(out, c.folder)))
        runs.append(c)
    batch = _batch(built["root"], out, runs)
    paths = rollup.write_rollup(batch, out, outlines={c.folder: c.outline for c in runs if c.outline})
    sums = [county_summary(out, f) for f in GOOD]
    return {"out": out, "paths": paths, "summaries": sums, "p": province(sums)}


def test_null_figures_stay_blank_and_out_of_the_sums(with_gaps):
    """A figure that is null in a county's summary.json (or whose section is missing) is blank in that
    county's row of 汇总.xlsx and index.html, not 0, and the 合计 row / totals sum only the counties
    that have it (a column nobody has stays blank)."""
    rows, total, _ = read_county_sheet(with_gaps["paths"]["xlsx"])
    a, b = GOOD[0][:6], GOOD[1][:6]
    for folder, s in zip(GOOD, with_gaps["summaries"]):
        exp = expected_row(s)
        exp["运行状态"] = "沿用上次结果"
        check_row(rows[folder[:6]], exp)
    for k in ("卫片违法占用耕地比例", "违法占用耕地(亩)", "降到控制目标需整改(亩)", "批而未供处置率", "闲置土地(亩)",
              "存量合计(去重,亩)", "压占永农·批准用地(亩)"):
        assert rows[a][k] is None, k
    assert rows[a]["卫片状态"] == "无数据"
    assert all(rows[b][f"{cn}(亩)"] is None for cn in INVENTORY_CN.values()) and rows[b]["存量合计(去重,亩)"] is None
    p = with_gaps["p"]
    t = json.loads(with_gaps["paths"]["summary"].read_text(encoding="utf-8"))["totals"]
    for k in ("illegal_farmland_mu", "new_construction_farmland_mu", "idle_mu", "yjjbnt_overlap_approvals_mu"):
        assert t[k] == pytest.approx(p[k], rel=1e-12), k
    # only 黄陂样区 still has an inventory total; only 江夏样区 an illegal 耕地 figure
    assert p["inventory_total_mu"] == with_gaps["summaries"][2]["inventory"]["total_mu"]
    assert p["illegal_farmland_mu"] == with_gaps["summaries"][1]["satellite"]["illegal_farmland_mu"]
    near(total["违法占用耕地(亩)"], p["illegal_farmland_mu"], 2)
    near(total["存量合计(去重,亩)"], p["inventory_total_mu"], 2)
    near(total["压占永农·批准用地(亩)"], p["yjjbnt_overlap_approvals_mu"], 2)
    near(total["闲置土地(亩)"], p["idle_mu"], 2)
    page_rows, _, _ = read_page(with_gaps["paths"]["html"])
    assert page_rows[a]["卫片违法占用耕地比例"] == "" and page_rows[a]["存量合计(亩)"] == ""
    assert page_rows[a]["批而未供处置率"] == "" and page_rows[b]["存量合计(亩)"] == ""
    assert ">0.00<" not in with_gaps["paths"]["html"].read_text(encoding="utf-8")


def _province_ratio_shown(paths) -> dict:
    t = json.loads(paths["summary"].read_text(encoding="utf-8"))["totals"]
    _, total, _ = read_county_sheet(paths["xlsx"])
    _, cards, _ = read_page(paths["html"])
    return {"totals": t, "row": total, "card": cards["全域卫片违法占用耕地比例"]}


def test_null_illegal_farmland_not_counted_as_zero_in_province_ratio(with_gaps):
    """With 洪山样区's 违法占用耕地 null, the province 卫片 ratio is Σ违法 ÷ Σ新增 over the counties that
    have both parts (here 江夏样区 alone), or not given at all; never as if 洪山样区 had 0 违法."""
    p = with_gaps["p"]
    shown = _province_ratio_shown(with_gaps["paths"])
    r = shown["totals"]["satellite_ratio"]
    if r is None:
        assert shown["row"]["卫片违法占用耕地比例"] is None and shown["card"] == "—"
    else:
        assert r == pytest.approx(p["satellite_ratio"], rel=1e-12)
        near(shown["row"]["卫片违法占用耕地比例"], p["satellite_ratio"], 4)
        assert shown["card"] == pct(p["satellite_ratio"])


def test_null_disposed_not_counted_as_zero_in_province_disposal_rate(with_gaps):
    """With 洪山样区's 批而未供 disposed_mu null, the province 批而未供处置率 is Σdisposed ÷ Σbase over the
    counties that have both (or not given), not Σdisposed ÷ Σbase with 洪山样区's base included."""
    p = with_gaps["p"]
    t = json.loads(with_gaps["paths"]["summary"].read_text(encoding="utf-8"))["totals"]
    _, total, _ = read_county_sheet(with_gaps["paths"]["xlsx"])
    r = t["approved_unsupplied_disposal_rate"]
    if r is None:
        assert total["批而未供处置率"] is None
    else:
        assert r == pytest.approx(p["approved_unsupplied_disposal_rate"], rel=1e-12)
        near(total["批而未供处置率"], p["approved_unsupplied_disposal_rate"], 4)


# --------------------------------------------------------------------------------------
# no machine paths
# --------------------------------------------------------------------------------------

def _texts(path: Path) -> str:
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        return "\n".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    return path.read_text(encoding="utf-8")


def test_county_table_and_links_carry_no_machine_path(built):
    """What points at a county's outputs is relative to OUT: the folder names in 汇总.xlsx, the
    ``output`` of each county in summary.json and every href of index.html; a good county's row
    carries no absolute path."""
    base = str(built["base"])
    rows, _, _ = read_county_sheet(built["paths"]["xlsx"])
    for folder in GOOD:
        assert rows[folder[:6]]["输出文件夹"] == folder
        assert not [v for v in rows[folder[:6]].values() if isinstance(v, str) and base in v]
    s = json.loads(built["paths"]["summary"].read_text(encoding="utf-8"))
    assert [c["output"] for c in s["counties"] if c["status"] == "ok"] == GOOD
    _, _, hrefs = read_page(built["paths"]["html"])
    assert hrefs and not [h for h in hrefs if base in unquote(h) or unquote(h).startswith("/")]


@pytest.mark.parametrize("which", ["summary", "xlsx", "html"])
def test_rollup_files_carry_no_machine_path(built, which):
    """No absolute path of the machine (the test's tmp folder) appears anywhere in the roll-up
    summary.json, 汇总.xlsx or index.html, so the roll-up can be handed on without revealing it."""
    text = _texts(built["paths"][which])
    assert str(built["base"]) not in text


def test_movement_since_the_previous_run():
    """movement(): changes against the history entry of the previous run's as-of date; None
    (not 0) without a previous run or when either side is unknown."""
    s = {"tracking": {"previous_as_of": "2025-03-31", "carried_rows": 4, "unmatched_rows": 1, "overdue_count": 2,
                      "overdue_mu": 3.5, "newly_disposed_mu": 10.25},
         "history": [{"as_of": "2024-12-31", "satellite_ratio": 0.30, "inventory_total_mu": 900.0},
                     {"as_of": "2025-03-31", "satellite_ratio": 0.08, "inventory_total_mu": 1000.0, "idle_mu": None},
                     {"as_of": "2025-06-30", "satellite_ratio": 0.05, "inventory_total_mu": 950.5, "idle_mu": 3.0}]}
    m = rollup.movement(s)
    assert m["satellite_ratio_change"] == pytest.approx(-0.03)
    assert m["inventory_total_change_mu"] == pytest.approx(-49.5)
    assert m["idle_change_mu"] is None and m["approved_unsupplied_change_mu"] is None
    assert (m["previous_as_of"], m["overdue_count"], m["newly_disposed_mu"]) == ("2025-03-31", 2, 10.25)
    text = rollup.movement_text({**m})
    assert "卫片比例下降 3.00 个百分点" in text and "存量减少 49.50 亩" in text and "逾期 2 项（3.50 亩）" in text
    first = rollup.movement({"history": [{"as_of": "2024-12-31", "satellite_ratio": 0.1}]})
    assert all(v is None for v in first.values())
    assert rollup.movement_text(first) == "无上期结果"


def test_change_and_zone_figures_per_county(built):
    """The county with two DLTB vintages shows its 耕地 balance in the roll-up (equal to its own
    summary.json), the others leave those cells blank, not 0; the 开发区 indicators likewise."""
    batch, out = built["batch"], built["out"]
    by = {c["folder"]: c for c in batch["counties"]}
    two = county_summary(out, GOOD[0])["change"]
    assert two["available"] is True
    h = by[GOOD[0]]["headline"]
    for k in rollup.CHANGE_KEYS:
        assert h[f"change_{k}"] == two.get(k), k
    one = by[GOOD[1]]["headline"]
    assert county_summary(out, GOOD[1])["change"]["available"] is False
    assert all(one[f"change_{k}"] is None for k in rollup.CHANGE_KEYS)
    t = batch["totals"]
    assert t["change_counties"] == 1
    assert t["change_cultivated_net_change_mu"] == pytest.approx(two["cultivated_net_change_mu"])
    for folder in GOOD:
        z = county_summary(out, folder).get("development_zones") or {}
        zt = z.get("total") if z.get("available") else {}
        assert by[folder]["headline"]["zones_supply_rate"] == (zt or {}).get("supply_rate")
    wb = openpyxl.load_workbook(built["paths"]["xlsx"] if "xlsx" in built["paths"] else out / "汇总.xlsx")
    ws = wb["县区汇总"]
    headers = [c.value for c in ws[3]]
    assert "耕地净变化(亩)" in headers and "疑似漏监测(块)" in headers
    rows = {r[headers.index("行政区代码")]: r for r in ws.iter_rows(min_row=4, values_only=True)}
    col = headers.index("耕地净变化(亩)")
    assert rows[GOOD[0][:6]][col] == pytest.approx(round(two["cultivated_net_change_mu"], 2))
    assert rows[GOOD[1][:6]][col] is None

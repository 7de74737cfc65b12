"""Ledger round-trip (landkit.tracking): a ledger written by `landkit run`, filled in with openpyxl
the way staff do (typed plans, a date typed as text, a junk date, a changed key), re-saved, read
back and carried into the next run's ledger record by record."""
import datetime as dt
import shutil
import sys
from pathlib import Path

import openpyxl
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_bad_corpus as corpus  # noqa: E402

import landkit as lk  # noqa: E402
from landkit.errors import InputError  # noqa: E402
from landkit.pipeline.run import run_county  # noqa: E402
from landkit.render.outputs import ledger_workbook  # noqa: E402
from landkit.tracking.carry import UNMATCHED_SHEET, carry_forward  # noqa: E402
from landkit.tracking.previous import read_previous_ledger  # noqa: E402


def _header(ws, first):
    hr = next(r for r in range(1, 8) if ws.cell(r, 1).value == first)
    return hr, {c.value: j + 1 for j, c in enumerate(ws[hr]) if c.value}


def _row_of(ws, hr, col, key):
    return next(r for r in range(hr + 1, ws.max_row + 1) if ws.cell(r, col).value == key)


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    """(county folder, first output, the filled ledger path, the keys used)."""
    base = tmp_path_factory.mktemp("track")
    county = corpus.county_dir("unbroken_base_county", corpus.BAD)
    out1 = base / "out1"
    run_county(county, out1)
    filled = base / "returned" / "ledger.xlsx"
    filled.parent.mkdir()
    shutil.copy(out1 / "ledger.xlsx", filled)
    wb = openpyxl.load_workbook(filled)
    # 批而未供: the first approval planned in full, the second one's 批准文号 changed by hand
    ws = wb["批而未供"]
    hr, h = _header(ws, "批次名称")
    r1 = _row_of(ws, hr, h["批准文号"], "鄂政土批〔2019〕123号")
    ws.cell(r1, h["拟处置方式"]).value = "供地"
    ws.cell(r1, h["责任单位"]).value = "汀祖镇人民政府"
    ws.cell(r1, h["责任人"]).value = "张三"
    ws.cell(r1, h["完成时限"]).value = dt.datetime(2025, 6, 30)
    ws.cell(r1, h["处置进展"]).value = "已挂牌"
    r2 = _row_of(ws, hr, h["批准文号"], "鄂政土批〔2021〕45号")
    ws.cell(r2, h["批准文号"]).value = "鄂政土批〔2021〕45号（改）"
    ws.cell(r2, h["备注"]).value = "文号待核"
    # 闲置土地: a date typed as text and a junk date
    ws = wb["闲置土地"]
    hr, h = _header(ws, "电子监管号")
    r3 = _row_of(ws, hr, h["电子监管号"], "4207042019B00001")
    ws.cell(r3, h["完成时限"]).value = "下月底"
    ws.cell(r3, h["责任单位"]).value = "自然资源局执法大队"
    # 卫片图斑清单: a field check on one patch, a rectification date typed as text on another
    ws = wb["卫片图斑清单"]
    hr, h = _header(ws, "监测编号")
    r4 = _row_of(ws, hr, h["监测编号"], "42070420240001")
    ws.cell(r4, h["核查状态"]).value = "已核查"
    ws.cell(r4, h["核查人"]).value = "李四"
    ws.cell(r4, h["备注"]).value = "已立案"
    r5 = _row_of(ws, hr, h["监测编号"], "42070420240002")
    ws.cell(r5, h["整改完成日期"]).value = "2025/3/31"
    wb.save(filled)                                    # re-saved, as Excel or WPS does
    return county, out1, filled, {"r1": r1, "r2": r2, "r3": r3}


def test_read_previous_ledger_keeps_what_was_typed(rounds):
    _, _, filled, rows = rounds
    prev = read_previous_ledger(filled)
    au = prev.by_key("批而未供")
    got = au["鄂政土批〔2019〕123号"].typed
    assert got == {"拟处置方式": "供地", "责任单位": "汀祖镇人民政府", "责任人": "张三",
                   "完成时限": dt.date(2025, 6, 30), "处置进展": "已挂牌"}
    assert "鄂政土批〔2021〕45号（改）" in au and au["鄂政土批〔2021〕45号（改）"].row == rows["r2"]
    idle = prev.by_key("闲置土地")["4207042019B00001"]
    assert idle.typed["完成时限"] == "下月底"                       # kept as typed
    assert prev.by_key("卫片图斑清单")["42070420240002"].typed == {"整改完成日期": dt.date(2025, 3, 31)}
    assert prev.by_key("卫片图斑清单")["42070420240001"].typed == {"核查状态": "已核查", "核查人": "李四", "备注": "已立案"}
    bad = [f for f in prev.findings if f.code == "previous_value_unreadable"]
    assert len(bad) == 1 and "闲置土地" in bad[0].message and f"第 {rows['r3']} 行" in bad[0].message
    assert bad[0].field == "完成时限" and "下月底" in bad[0].message
    # 合计 rows and blank rows are not records
    assert all(r.key != "合计" for rs in prev.rows.values() for r in rs)


def test_carry_forward_into_the_next_ledger(rounds, tmp_path):
    county_dir, _, filled, _ = rounds
    c = lk.read_county(county_dir)
    res = lk.analyse(c)
    ledger = ledger_workbook(c, res)
    result = carry_forward(ledger, read_previous_ledger(filled))
    p = tmp_path / "ledger.xlsx"
    ledger.save(p)
    wb = openpyxl.load_workbook(p)
    ws = wb["批而未供"]
    hr, h = _header(ws, "批次名称")
    r = _row_of(ws, hr, h["批准文号"], "鄂政土批〔2019〕123号")
    assert [ws.cell(r, h[k]).value for k in ("拟处置方式", "责任单位", "责任人", "处置进展")] == \
        ["供地", "汀祖镇人民政府", "张三", "已挂牌"]
    assert ws.cell(r, h["完成时限"]).value == dt.datetime(2025, 6, 30)
    # the record whose key staff changed is still in the new ledger (from the data), unplanned ...
    r2 = _row_of(ws, hr, h["批准文号"], "鄂政土批〔2021〕45号")
    assert ws.cell(r2, h["备注"]).value is None
    # ... and the typed row went to 未匹配记录 with all its columns and the reason
    un = wb[UNMATCHED_SHEET]
    uhr, uh = _header(un, "工作表")
    rows = [[c.value for c in row] for row in un.iter_rows(min_row=uhr + 1)]
    assert len(rows) == 1 and rows[0][uh["记录编号"] - 1] == "鄂政土批〔2021〕45号（改）"
    assert "没有批准文号为" in rows[0][uh["未匹配原因"] - 1]
    assert rows[0][uh["备注"] - 1] == "文号待核" and rows[0][uh["批次名称"] - 1] == "鄂州市2021年度第1批次城镇建设用地"
    ws = wb["闲置土地"]
    hr, h = _header(ws, "电子监管号")
    r3 = _row_of(ws, hr, h["电子监管号"], "4207042019B00001")
    assert ws.cell(r3, h["完成时限"]).value == "下月底" and ws.cell(r3, h["责任单位"]).value == "自然资源局执法大队"
    ws = wb["卫片图斑清单"]
    hr, h = _header(ws, "监测编号")
    r4 = _row_of(ws, hr, h["监测编号"], "42070420240001")
    assert [ws.cell(r4, h[k]).value for k in ("核查状态", "核查人", "备注")] == ["已核查", "李四", "已立案"]
    r5 = _row_of(ws, hr, h["监测编号"], "42070420240002")
    assert ws.cell(r5, h["整改完成日期"]).value == dt.datetime(2025, 3, 31)
    assert result.carried_rows == 4 and result.unmatched_rows == 1
    assert result.by_sheet["批而未供"] == {"carried": 1, "unmatched": 1}
    assert {f.code for f in result.findings} >= {"previous_value_unreadable", "previous_rows_unmatched"}


def test_a_file_that_is_no_workbook_is_refused_in_chinese(tmp_path):
    p = tmp_path / "ledger.xlsx"
    p.write_text("不是表格", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_previous_ledger(p)
    assert "上一期台账无法打开" in str(e.value) and "ledger.xlsx" in str(e.value)


def test_landkit_run_with_previous(rounds, tmp_path, capsys):
    """`landkit run COUNTY -o OUT2 --previous OUT1` with OUT1's ledger filled in: the typed values
    are in OUT2's ledger, the unmatched row kept, summary.json tracking says what happened."""
    import json
    from landkit.cli import main
    county_dir, _, filled, _ = rounds
    out2 = tmp_path / "out2"
    with pytest.raises(SystemExit) as e:
        main(["run", str(county_dir), "-o", str(out2), "--previous", str(filled.parent)])
    assert e.value.code == 0, capsys.readouterr()
    s = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    t = s["tracking"]
    assert t["carried_rows"] == 4 and t["unmatched_rows"] == 1 and t["previous_ledger"] == "returned/ledger.xlsx"
    assert str(tmp_path) not in json.dumps(s, ensure_ascii=False)
    wb = openpyxl.load_workbook(out2 / "ledger.xlsx")
    assert UNMATCHED_SHEET in wb.sheetnames
    ws = wb["批而未供"]
    hr, h = _header(ws, "批次名称")
    assert ws.cell(_row_of(ws, hr, h["批准文号"], "鄂政土批〔2019〕123号"), h["责任人"]).value == "张三"
    # a --previous that is no ledger: a Chinese message, exit 1, nothing written
    with pytest.raises(SystemExit) as e:
        main(["run", str(county_dir), "-o", str(tmp_path / "out3"), "--previous", str(tmp_path / "nowhere")])
    assert e.value.code == 1 and "--previous" in capsys.readouterr().err
    assert not (tmp_path / "out3").exists()


def test_overdue_and_newly_disposed_after_the_deadline(rounds, tmp_path):
    """Run again at 2025-12-31: the plan due 2025-06-30 is overdue (its area and 责任单位 listed, its
    cell marked in the ledger); "下月底" is no date and not counted; the record whose key no longer
    matches counts as gone from the inventory with the area the previous ledger gave it."""
    import json
    county_dir, _, filled, rows = rounds
    out = tmp_path / "out"
    run_county(county_dir, out, as_of=dt.date(2025, 12, 31), previous=filled.parent)
    t = json.loads((out / "summary.json").read_text(encoding="utf-8"))["tracking"]
    wb = openpyxl.load_workbook(out / "ledger.xlsx")
    ws = wb["批而未供"]
    hr, h = _header(ws, "批次名称")
    r = _row_of(ws, hr, h["批准文号"], "鄂政土批〔2019〕123号")
    area = ws.cell(r, h["未供面积(亩)"]).value
    assert t["overdue_count"] == 1 and t["overdue_mu"] == pytest.approx(area, abs=0.005)
    assert t["overdue"][0] | {"area_mu": None} == {"sheet": "批而未供", "key": "鄂政土批〔2019〕123号",
                                                    "责任单位": "汀祖镇人民政府", "乡镇": None,
                                                    "完成时限": "2025-06-30", "area_mu": None}
    assert ws.cell(r, h["完成时限"]).fill.fgColor.rgb.endswith("F8CBAD")
    old = openpyxl.load_workbook(filled, data_only=True)["批而未供"]
    ohr, oh = _header(old, "批次名称")
    gone = old.cell(rows["r2"], oh["未供面积(亩)"]).value
    assert t["newly_disposed"]["批而未供"] == pytest.approx(gone) and t["newly_disposed_mu"] == pytest.approx(gone)
    assert t["new_records"]["批而未供"] == 1          # the record under its old key is "new" to the edited ledger


def test_history_grows_run_by_run(rounds, tmp_path):
    """A first run has a history of one entry (itself); a run with --previous carries the earlier
    entries forward, newest last; re-running the same as-of date replaces its entry."""
    import json
    county_dir, out1, filled, _ = rounds
    first = json.loads((out1 / "summary.json").read_text(encoding="utf-8"))
    assert [h["as_of"] for h in first["history"]] == ["2024-12-31"]
    assert first["history"][0]["satellite_ratio"] == pytest.approx(first["satellite"]["ratio"])
    assert first["history"][0]["approved_unsupplied_mu"] == pytest.approx(first["inventory"]["approved_unsupplied_mu"])
    out2 = tmp_path / "q1"
    s2 = run_county(county_dir, out2, as_of=dt.date(2025, 3, 31), previous=out1)
    assert [h["as_of"] for h in s2["history"]] == ["2024-12-31", "2025-03-31"]
    assert s2["history"][-1]["idle_mu"] == s2["inventory"]["idle_mu"]
    s3 = run_county(county_dir, tmp_path / "q1again", as_of=dt.date(2025, 3, 31), previous=out2)
    assert [h["as_of"] for h in s3["history"]] == ["2024-12-31", "2025-03-31"]


def test_report_shows_progress_and_trend(rounds, tmp_path):
    """The second run's report has the 进展 section: carried and unmatched rows, the overdue item
    under its 责任单位 (who to remind), and the trend charts of the two runs."""
    import re
    county_dir, out1, filled, _ = rounds
    # the filled ledger beside the first run's summary.json, as a bureau keeps them
    shutil.copy(filled, out1 / "ledger.xlsx")
    out = tmp_path / "q4"
    s = run_county(county_dir, out, as_of=dt.date(2025, 12, 31), previous=out1)
    html = (out / "report.html").read_text(encoding="utf-8")
    sec = re.search(r'<section id="progress".*?</section>', html, re.S).group(0)
    assert f"已带入本期：{s['tracking']['carried_rows']} 条记录" in sec and "未匹配记录" in sec
    remind = re.search(r'<table class="data" id="remind">.*?</table>', sec, re.S).group(0)
    assert "汀祖镇人民政府" in remind and "鄂政土批〔2019〕123号（2025-06-30）" in remind
    assert sec.count("<svg") == 2 and "2024-12-31" in sec and "2025-12-31" in sec
    assert [h["as_of"] for h in s["history"]] == ["2024-12-31", "2025-12-31"]


def test_cultivated_outflow_checks_round_trip(tmp_path):
    """耕地流出清单's 核查结论 / 备注, typed by staff, come back by the piece's two 图斑 (原标识码 +
    现标识码); a row whose 图斑 no longer pair up goes to 未匹配记录 with what was typed."""
    from test_change import hand_county
    county = hand_county(tmp_path)
    out1 = tmp_path / "out1"
    run_county(county, out1)
    led = out1 / "ledger.xlsx"
    wb = openpyxl.load_workbook(led)
    ws = wb["耕地流出清单"]
    hr, h = _header(ws, "编号")
    rows = {(ws.cell(r, h["原标识码"]).value, ws.cell(r, h["现标识码"]).value): r
            for r in range(hr + 1, ws.max_row + 1) if ws.cell(r, h["原标识码"]).value}
    assert set(rows) == {("P-A", "N-A2"), ("P-C", "N-C")}
    ws.cell(rows[("P-A", "N-A2")], h["核查结论"]).value = "已建厂房，已立案"
    ws.cell(rows[("P-C", "N-C")], h["备注"]).value = "待外业"
    ws.cell(rows[("P-C", "N-C")], h["现标识码"]).value = "N-C（旧）"          # a key that no longer matches
    wb.save(led)
    out2 = tmp_path / "out2"
    s = run_county(county, out2, previous=out1)
    assert s["tracking"]["by_sheet"]["耕地流出清单"] == {"carried": 1, "unmatched": 1}
    wb2 = openpyxl.load_workbook(out2 / "ledger.xlsx")
    ws = wb2["耕地流出清单"]
    hr, h = _header(ws, "编号")
    got = {(ws.cell(r, h["原标识码"]).value, ws.cell(r, h["现标识码"]).value): (ws.cell(r, h["核查结论"]).value,
                                                                       ws.cell(r, h["备注"]).value)
           for r in range(hr + 1, ws.max_row + 1) if ws.cell(r, h["原标识码"]).value}
    assert got == {("P-A", "N-A2"): ("已建厂房，已立案", None), ("P-C", "N-C"): (None, None)}
    un = wb2[UNMATCHED_SHEET]
    uhr, uh = _header(un, "工作表")
    [row] = [[c.value for c in r] for r in un.iter_rows(min_row=uhr + 1)]
    assert row[uh["记录编号"] - 1] == "P-C→N-C（旧）" and row[uh["备注"] - 1] == "待外业"
    assert "原标识码+现标识码" in row[uh["未匹配原因"] - 1]

"""卫片 field checks and 月清 (landkit.analyses.field_check): the rate of checked patches, the
issuance month of each patch and the 月清 rate by the deadline; 未判定 patches; township 预警 and
约谈. Hand-computed expectations on a small table, then a round trip on real files: a county
written as GBK shapefiles, its ledger's 卫片图斑清单 filled in with openpyxl and brought back."""
import datetime as dt
import json
import re
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_bad_corpus as corpus  # noqa: E402

from landkit.analyses.field_check import NO_RECORD, field_checks, issue_months, month_deadline, month_of_batch  # noqa: E402
from landkit.analyses.satellite import township_alert  # noqa: E402
from landkit.pipeline.run import run_county  # noqa: E402
from landkit.settings import SatelliteSettings  # noqa: E402


def test_month_of_a_batch():
    assert month_of_batch("2024年3月") == "2024-03"
    assert month_of_batch("2024-03") == "2024-03"
    assert month_of_batch("202403") == "2024-03"
    assert month_of_batch("2024年03月第2批") == "2024-03"
    assert month_of_batch("2024-03-18") == "2024-03"
    assert month_of_batch("2024年第3批") is None          # a batch without a month
    assert month_of_batch(None) is None and month_of_batch("  ") is None


def test_deadline_is_the_end_of_the_following_month():
    assert month_deadline("2024-01", 1) == dt.date(2024, 2, 29)
    assert month_deadline("2024-12", 1) == dt.date(2025, 1, 31)
    assert month_deadline("2024-05", 0) == dt.date(2024, 5, 31)
    assert month_deadline("2024年第3批", 1) is None


def test_issue_month_prefers_issue_date_then_batch_then_after_image():
    p = pd.DataFrame({"下发日期": ["2024-02-03", None, None, None, "不知道"],
                      "下发批次": ["2023年12月", "2024年5月", "2024年第3批", None, None],
                      "后时相": ["2024-01-01", "2024-01-01", "2024-01-01", "2024/7/9", None]})
    months, basis = issue_months(p)
    assert months == ["2024-02", "2024-05", "2024年第3批", "2024-07", "未知"]
    assert basis == ["下发日期", "下发批次", "下发批次", "后时相", "未知"]


def _table():
    """Five patches: areas 1, 6, 10, 2, 0.5 亩; P3 is a 矿产 patch; P2 not judged yet."""
    return pd.DataFrame({
        "监测编号": ["P0", "P1", "P2", "P3", "P4"],
        "class": ["legal", "illegal", "unjudged", "illegal", "pseudo"],
        "area_mu": [1.0, 6.0, 10.0, 2.0, 0.5],
        "rectified": [False, True, False, False, False],
        "township": ["420704100"] * 5,
        "图斑类型": ["新增建设", "新增建设", "新增建设", "采矿用地", "新增建设"],
        "下发日期": ["2024-01-05", "2024-02-10", "2024-02-11", "2024-02-20", "2024-03-01"],
        "核查状态": ["未核查", None, "未核查", None, None],      # what the layer says
    })


#: what staff typed in the returned 卫片图斑清单 (监测编号 → columns)
TYPED = {"P0": {"核查状态": "已核查", "核查日期": dt.date(2024, 2, 10)},     # overrides the layer: on time
         "P1": {"核查日期": "2024/4/5"},                                      # date only: checked, after 03-31
         "P2": {"核查日期": dt.date(2024, 3, 1)},                             # the layer's 未核查 stays
         "P3": {"核查状态": "已核查"}}                                        # undated


def test_field_check_rate_over_every_patch():
    r = field_checks(_table(), SatelliteSettings(), dt.date(2024, 12, 31), TYPED)
    assert r["field_check_rate"] == pytest.approx(3 / 5)         # P0, P1, P3 of all five
    fc = r["field_check"]
    assert (fc["required_count"], fc["checked_count"], fc["unchecked_count"]) == (5, 3, 2)
    assert fc["met"] is False and fc["target"] == 1.0 and fc["mineral_patch_count"] == 1
    assert [u["id"] for u in fc["unchecked"]] == ["P2", "P4"]     # largest first
    assert fc["record_source"] == "图层字段、上一期台账"
    by = {m["month"]: m for m in r["by_issue_month"]}
    assert list(by) == ["2024-01", "2024-02", "2024-03"]
    jan, feb, mar = by["2024-01"], by["2024-02"], by["2024-03"]
    assert (jan["issued"], jan["checked"], jan["month_clear_count"], jan["month_clear_rate"]) == (1, 1, 1, 1.0)
    assert jan["deadline"] == "2024-02-29" and jan["due"] is True and jan["basis"] == ["下发日期"]
    # February: P1 checked late (2024-04-05 > 03-31), P2 not judged and not checked, P3 undated but checked
    assert (feb["issued"], feb["judged"], feb["unjudged"], feb["checked"]) == (3, 2, 1, 2)
    assert (feb["illegal"], feb["rectified"], feb["month_clear_count"]) == (2, 1, 1)
    assert feb["month_clear_rate"] == pytest.approx(1 / 3)
    assert (mar["issued"], mar["checked"], mar["month_clear_rate"]) == (1, 0, 0.0)
    # before the deadline a month is not due yet
    early = field_checks(_table(), SatelliteSettings(), dt.date(2024, 3, 15), TYPED)
    assert [m["due"] for m in early["by_issue_month"]] == [True, False, False]


def test_large_patches_and_mineral_patches_only():
    s = SatelliteSettings(field_check_scope="large", large_patch_mu=5.0)
    r = field_checks(_table(), s, dt.date(2024, 12, 31), TYPED)
    # required: P1 (6 亩), P2 (10 亩) and the 矿产 patch P3 (2 亩); checked: P1 and P3
    assert r["field_check"]["required_count"] == 3 and r["field_check"]["checked_count"] == 2
    assert r["field_check_rate"] == pytest.approx(2 / 3)
    assert "5 亩" in r["field_check"]["rule"]
    s = SatelliteSettings(field_check_scope="large", large_patch_mu=50.0, mineral_values=[])
    r = field_checks(_table(), s, dt.date(2024, 12, 31), TYPED)
    assert r["field_check_rate"] is None and "没有需要外业核查的图斑" in r["unavailable"]["field_check_rate"]


def test_no_check_record_is_no_rate_not_zero():
    t = _table().drop(columns=["核查状态"])
    r = field_checks(t, SatelliteSettings(), dt.date(2024, 12, 31), None)
    assert r["field_check_rate"] is None and r["unavailable"]["field_check_rate"] == NO_RECORD
    assert r["field_check"]["checked_count"] is None
    assert all(m["month_clear_rate"] is None and m["checked"] is None for m in r["by_issue_month"])
    assert sum(m["issued"] for m in r["by_issue_month"]) == 5
    # a checked_values setting decides what 核查状态 counts as done
    t["核查状态"] = ["外业已完成", None, None, None, None]
    r = field_checks(t, SatelliteSettings(checked_values=["外业已完成"]), dt.date(2024, 12, 31), None)
    assert r["field_check_rate"] == pytest.approx(1 / 5)


def test_township_alert_levels():
    assert township_alert(0.06, 0.05, 0.8) == "talk"              # over the cap: 约谈候选
    assert township_alert(0.05, 0.05, 0.8) == "warning"           # at the cap: still passing, 预警
    assert township_alert(0.04, 0.05, 0.8) == "warning"           # 80 % of the cap
    assert township_alert(0.039, 0.05, 0.8) is None
    assert township_alert(0.0, 0.05, 0.8) is None and township_alert(None, 0.05, 0.8) is None


# ------------------------------------------------------------------ round trip on real files

def _county(d: Path, drop_last=False) -> Path:
    layers = corpus.base_layers()
    p = layers["卫片图斑"]
    p["下发批次"] = ["2024年1月", "2024年1月", "2024年2月", "2024年2月", "2024年第3批", None]
    p["后时相"] = [None, None, None, None, None, "2024-03-15"]
    p.loc[5, "判定类型"] = None                       # issued in March, not judged yet
    if drop_last:
        layers["卫片图斑"] = p.iloc[:5]
    return corpus.write_county(d, layers)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """(county, first output, second output with --previous, second summary)."""
    base = tmp_path_factory.mktemp("fieldcheck")
    county = _county(base / "county")
    out1 = base / "out1"
    run_county(county, out1)
    wb = openpyxl.load_workbook(out1 / "ledger.xlsx")
    ws = wb["卫片图斑清单"]
    hr = next(r for r in range(1, 8) if ws.cell(r, 1).value == "监测编号")
    h = {c.value: j + 1 for j, c in enumerate(ws[hr]) if c.value}
    row = {ws.cell(r, 1).value: r for r in range(hr + 1, ws.max_row + 1)}
    ws.cell(row["42070420240000"], h["核查状态"]).value = "已核查"
    ws.cell(row["42070420240000"], h["核查日期"]).value = "2024/2/20"            # typed as text, on time
    ws.cell(row["42070420240001"], h["核查日期"]).value = dt.datetime(2024, 3, 15)  # a date cell, late
    ws.cell(row["42070420240002"], h["核查状态"]).value = "核查中"
    ws.cell(row["42070420240004"], h["核查状态"]).value = "已核查"
    ws.cell(row["42070420240004"], h["核查人"]).value = "王五"
    wb.save(out1 / "ledger.xlsx")                      # re-saved in place, as staff do
    out2 = base / "out2"
    s2 = run_county(county, out2, as_of=dt.date(2024, 12, 31), previous=out1)
    return county, out1, out2, s2


def test_first_run_has_months_but_no_rate(checked):
    _, out1, _, _ = checked
    s = json.loads((out1 / "summary.json").read_text(encoding="utf-8"))["satellite"]
    assert s["field_check_rate"] is None and "--previous" in s["unavailable"]["field_check_rate"]
    assert s["unjudged_patch_count"] == 1
    assert [(m["month"], m["issued"]) for m in s["by_issue_month"]] == \
        [("2024-01", 2), ("2024-02", 2), ("2024-03", 1), ("2024年第3批", 1)]
    assert s["by_issue_month"][2]["basis"] == ["后时相"] and s["by_issue_month"][2]["unjudged"] == 1


def test_rates_after_the_ledger_comes_back(checked):
    _, _, out2, s2 = checked
    s = s2["satellite"]
    assert s["field_check_rate"] == pytest.approx(3 / 6)        # 0000, 0001 (date only), 0004; 0002 核查中
    assert s["field_check"]["record_source"] == "上一期台账"
    by = {m["month"]: m for m in s["by_issue_month"]}
    assert (by["2024-01"]["checked"], by["2024-01"]["month_clear_count"]) == (2, 1)     # 0001 after 02-29
    assert by["2024-01"]["month_clear_rate"] == pytest.approx(0.5)
    assert by["2024-02"]["month_clear_rate"] == 0.0 and by["2024-03"]["month_clear_rate"] == 0.0
    assert by["2024年第3批"]["deadline"] is None and by["2024年第3批"]["month_clear_rate"] == 1.0
    # the typed values are in the new ledger, and the 卫片月清 sheet has the months
    wb = openpyxl.load_workbook(out2 / "ledger.xlsx")
    ws = wb["卫片图斑清单"]
    hr = next(r for r in range(1, 8) if ws.cell(r, 1).value == "监测编号")
    h = {c.value: j + 1 for j, c in enumerate(ws[hr]) if c.value}
    row = {ws.cell(r, 1).value: r for r in range(hr + 1, ws.max_row + 1)}
    assert ws.cell(row["42070420240004"], h["核查人"]).value == "王五"
    assert ws.cell(row["42070420240000"], h["下发月份"]).value == "2024-01"
    mc = wb["卫片月清"]
    mhr = next(r for r in range(1, 8) if mc.cell(r, 1).value == "下发月份")
    mh = {c.value: j + 1 for j, c in enumerate(mc[mhr]) if c.value}
    jan = next(r for r in range(mhr + 1, mc.max_row + 1) if mc.cell(r, 1).value == "2024-01")
    assert mc.cell(jan, mh["下发图斑数"]).value == 2 and mc.cell(jan, mh["月清率"]).value == 0.5
    assert "外业核查率 50.00%" in " ".join(str(c.value) for r in mc.iter_rows() for c in r if c.value)


def test_unjudged_patch_is_out_of_the_ratio(checked, tmp_path):
    """The county with a patch not judged yet has the ratio of the same county without that patch."""
    _, _, _, s2 = checked
    without = run_county(_county(tmp_path / "c", drop_last=True), tmp_path / "o")["satellite"]
    assert s2["satellite"]["ratio"] == pytest.approx(without["ratio"], rel=1e-12)
    assert s2["satellite"]["new_construction_farmland_mu"] == pytest.approx(without["new_construction_farmland_mu"])
    assert without["unjudged_patch_count"] == 0
    assert [j["class"] for j in s2["satellite"]["by_judgement"]][-1] == "unjudged"


def test_report_lists_field_checks_months_and_alerts(checked, tmp_path):
    county, _, out2, s2 = checked
    html = (out2 / "report.html").read_text(encoding="utf-8")
    actions = re.search(r'<section id="actions">.*?</section>', html, re.S).group(0)
    assert "外业核查率" in actions and "50.00%" in actions and "3/6" in actions
    assert "1 个图斑未判定" in actions
    assert "月清未完成" in actions and "2024-02 下发 2 个" in actions
    months = re.search(r'<table class="data" id="issue-months">.*?</table>', html, re.S).group(0)
    assert months.count("<tr") == 1 + 4 and "2024年第3批" in months and "（按后时相）" in months
    # a cap just above the township's ratio: 预警; just below: 约谈候选
    ratio = s2["satellite"]["by_township"][0]["ratio"]
    assert 0 < ratio < 1
    for cap, alert, word in ((ratio / 0.9, "warning", "预警"), (ratio * 0.9, "talk", "约谈候选")):
        out = tmp_path / alert
        s = run_county(county, out, config={"satellite": {"cap": cap}})
        t = s["satellite"]["by_township"][0]
        assert t["alert"] == alert and s["satellite"]["township_alerts"][alert] == [t["code"]]
        html = (out / "report.html").read_text(encoding="utf-8")
        table = re.search(r'<table class="data" id="town-alerts">.*?</table>', html, re.S).group(0)
        assert f'data-alert="{alert}"' in table and word in table and t["name"] in table

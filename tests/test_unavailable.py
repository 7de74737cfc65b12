"""A figure whose input field is missing is null with a Chinese reason, never 0 (issue 15, class 1).

Each case removes one field from the corpus' base county (GBK shapefiles without .cpg, as
bureaus send them) and runs `landkit run`: summary.json carries null and the reason, the report
says 未提供数据（reason）, the ledger's 汇总 sheet says 未提供数据 with the reason beside it. The
same county with the field present gives a number there, so each test can fail.
"""
import json
import sys
from pathlib import Path

import openpyxl
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_bad_corpus as corpus  # noqa: E402

from landkit.pipeline.run import run_county  # noqa: E402


def _layers():
    """The corpus base county with one collective 0601 parcel and the 供地 fields a full 闲置 analysis reads (处置日期, 停工/复工)."""
    layers = corpus.base_layers()
    layers["DLTB"].loc[layers["DLTB"]["DLBM"] == "0601", "QSXZ"] = "30"     # a collective 工业用地 parcel
    sup = layers["供地"]
    sup["处置日期"] = [None, "2024-06-30"]
    sup["停工日期"] = [None, None]
    sup["复工日期"] = [None, None]
    return layers


def _run(tmp_path, drop: dict[str, list[str]], name="420704_测试县"):
    layers = _layers()
    for layer, cols in drop.items():
        layers[layer] = layers[layer].drop(columns=cols)
    d = corpus.write_county(tmp_path / name, layers)
    out = tmp_path / "out"
    run_county(d, out)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    report = (out / "report.html").read_text(encoding="utf-8")
    ws = openpyxl.load_workbook(out / "ledger.xlsx")["汇总"]
    overview = {r[0]: r[1:] for r in ws.iter_rows(values_only=True) if r and r[0]}
    return summary, report, overview


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("complete"), {})


def test_the_complete_county_has_the_figures(complete):
    s, _, overview = complete
    inv, disp, sat = s["inventory"], s["disposal"], s["satellite"]
    assert inv["collective_commercial_mu"] > 0 and inv["idle_mu"] is not None
    assert disp["idle"]["rate"] is not None and sat["deducted_ratio"] is not None
    # only the field-check rate is unknown: a first run has no check record yet
    assert set(sat.get("unavailable") or {}) == {"field_check_rate"}
    assert not (inv.get("unavailable") or {}).get("collective_commercial_mu")
    assert isinstance(overview["农村集体经营性建设用地（亩）"][0], float)


def test_dltb_without_qsxz_gives_no_collective_figure(tmp_path):
    s, report, overview = _run(tmp_path, {"DLTB": ["QSXZ"]})
    inv = s["inventory"]
    assert inv["collective_commercial_mu"] is None and inv["collective_commercial_count"] is None
    why = inv["unavailable"]["collective_commercial_mu"]
    assert "QSXZ" in why and "权属性质" in why
    # the total says what it covers instead of silently leaving a category out
    assert "collective_commercial" not in inv["total_covers"]
    assert "合计只含" in inv["unavailable"]["total_mu"]
    assert f"未提供数据（{why}）" in report
    assert overview["农村集体经营性建设用地（亩）"] == ("未提供数据", why)
    assert "0.00 亩" not in report.split("集体经营性建设用地")[1][:200]


def test_patches_without_rectification_field_give_no_deducted_ratio(tmp_path, complete):
    s, report, _ = _run(tmp_path, {"卫片图斑": ["整改状态"]})
    sat = s["satellite"]
    assert sat["ratio"] == pytest.approx(complete[0]["satellite"]["ratio"])      # the ratio itself is known
    for k in ("deducted_ratio", "deducted_illegal_farmland_mu", "rectified_patch_count", "unrectified_farmland_mu"):
        assert sat[k] is None, k
        assert "整改状态" in sat["unavailable"][k]
    assert "无法认定已整改图斑" in report


def test_supply_without_disposal_date_gives_no_idle_disposal_rate(tmp_path, complete):
    s, report, overview = _run(tmp_path, {"供地": ["处置日期"]})
    idle = s["disposal"]["idle"]
    assert idle["rate"] is None and idle["disposed_mu"] is None
    assert "处置日期" in idle["reason"] and s["disposal"]["unavailable"]["idle"] == idle["reason"]
    assert f"未提供数据（{idle['reason']}）" in report
    assert overview["闲置土地处置率（2024年）"] == ("未提供数据", idle["reason"])
    assert complete[0]["disposal"]["idle"]["rate"] is not None
    assert s["disposal"]["approved_unsupplied"]["rate"] == pytest.approx(
        complete[0]["disposal"]["approved_unsupplied"]["rate"])


def test_supply_without_start_date_gives_no_idle_figure(tmp_path):
    s, report, overview = _run(tmp_path, {"供地": ["实际动工日"]})
    inv = s["inventory"]
    assert inv["idle_mu"] is None and "实际动工日期" in inv["unavailable"]["idle_mu"]
    assert s["disposal"]["idle"]["rate"] is None and "实际动工日期" in s["disposal"]["idle"]["reason"]
    assert overview["闲置土地（亩）"][0] == "未提供数据" and "实际动工日期" in overview["闲置土地（亩）"][1]
    assert "未提供数据（供地图层缺少实际动工日期字段" in report


def test_no_category_countable_makes_the_total_unknown_not_zero(tmp_path):
    layers = _layers()
    layers["DLTB"] = layers["DLTB"].drop(columns=["QSXZ"])
    del layers["批准用地"], layers["供地"]
    d = corpus.write_county(tmp_path / "420704_测试县", layers)
    s = run_county(d, tmp_path / "out")
    inv = s["inventory"]
    assert inv["total_mu"] is None and inv["unavailable"]["total_mu"] == "各类均无法统计"

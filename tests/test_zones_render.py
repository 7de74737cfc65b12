"""开发区节约集约 in the outputs (landkit/render/zones.py): the ledger sheet, the results.gpkg layer,
the report section and the map layer, from a real run on the hand-made GBK county of test_zones."""
from __future__ import annotations

import json
import re

import openpyxl
import pyogrio
import pytest

import landkit as lk
from landkit.analyses.zones import INDICATORS
from landkit.pipeline.run import run_county
from landkit.render.maps import display_layers
from landkit.standards.units import round_half_up

from test_report import KPIs, get
from test_zones import make_county

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = make_county(tmp_path_factory.mktemp("kfqr") / "420704_鄂城区")
    out = d.parent / "out"
    run_county(d, out)
    return d, out, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def sheet_rows(path):
    ws = openpyxl.load_workbook(path)["开发区节约集约"]
    rows = list(ws.iter_rows(values_only=True))
    hr = next(i for i, r in enumerate(rows) if r[0] == "开发区代码")
    head = list(rows[hr])
    return rows[:hr], head, [dict(zip(head, r)) for r in rows[hr + 1:] if r[0] is not None]


def test_ledger_sheet(run):
    d, out, sj = run
    top, head, rows = sheet_rows(out / "ledger.xlsx")
    s = sj["development_zones"]
    assert [r["开发区代码"] for r in rows] == ["KFQ01", "KFQ02", "KFQ03", "合计"]
    want = {r["code"]: r for r in s["zones"] + [s["total"]]}
    cols = {"面积(亩)": ("area_mu", 2), "已供应(亩)": ("supplied_mu", 2), "批而未供(亩)": ("approved_unsupplied_mu", 2),
            "土地供应率": ("supply_rate", 4), "土地建成率": ("built_rate", 4),
            "工业用地综合容积率": ("industrial_far", 2), "工业用地固定资产投入强度(万元/亩)": ("fixed_asset_per_mu_wan", 2),
            "工业用地地均税收(万元/亩)": ("tax_per_mu_wan", 2), "闲置土地占比": ("idle_share", 4),
            "城镇低效用地占比": ("inefficient_share", 4)}
    for r in rows:
        w = want[r["开发区代码"]]
        for h, (k, nd) in cols.items():
            assert r[h] == (None if w[k] is None else round_half_up(w[k], nd)), (r["开发区代码"], h)
    z1, z3 = rows[0], rows[2]
    assert z1["开发区名称"] == "临江经济开发区" and z1["区块"] == "东区、西区"
    # a figure that cannot be computed: blank, never 0, and the reason beside it
    assert z3["土地供应率"] is None and "土地供应率：开发区内没有已批准或已供应的土地" in z3["未计算原因"]
    assert rows[1]["土地供应率"] == 0                                   # 新港: approved, nothing supplied
    assert "缺少税收总额" in z1["说明"]
    note = top[1][0]
    for k in ("supply_rate", "built_rate", "industrial_far", "fixed_asset_per_mu_wan", "tax_per_mu_wan",
              "idle_share"):
        assert f"{INDICATORS[k]['name']} = {INDICATORS[k]['formula']}" in note
    assert "开发区土地集约利用评价规程" in note


def test_gpkg_layer(run):
    d, out, sj = run
    layers = dict(pyogrio.list_layers(out / "results.gpkg"))
    assert "开发区节约集约" in layers and "台账_开发区节约集约" in layers
    g = pyogrio.read_dataframe(out / "results.gpkg", layer="开发区节约集约")
    assert list(g["开发区名称"]) == ["临江经济开发区", "新港产业园", "白沙园区"]
    z1 = sj["development_zones"]["zones"][0]
    assert g.loc[0, "土地建成率"] == pytest.approx(z1["built_rate"], rel=1e-12)
    assert g.loc[0, "地均税收_万元每亩"] == pytest.approx(z1["tax_per_mu_wan"], rel=1e-12)
    assert g.geometry.iloc[0].geom_type == "MultiPolygon"          # the two 区块 as one zone


def test_report_section(run):
    d, out, sj = run
    html = (out / "report.html").read_text(encoding="utf-8")
    sec = html[html.index('<section id="zones">'):html.index('<section id="map"')]
    assert "开发区土地节约集约利用" in sec and "临江经济开发区" in sec and "全部开发区（重叠部分计一次）" in sec
    p = KPIs()
    p.feed(sec)
    items = {k: (json.loads(raw), t.strip()) for k, raw, t in p.items}
    assert len(items) == 3 * 8 + 8 + 4 * 7          # 3 zones and the total, indicators and area parts
    for path, (raw, text) in items.items():
        assert raw == get(sj, path), path
    z1 = sj["development_zones"]["zones"][0]
    assert items["development_zones.zones.0.supply_rate"][1] == f"{round_half_up(z1['supply_rate'] * 100, 2):.2f}%"
    assert items["development_zones.zones.0.tax_per_mu_wan"][1] == f"{round_half_up(z1['tax_per_mu_wan'], 2):,.2f}"
    # None: 未提供数据, the reason as the cell's tooltip
    assert items["development_zones.zones.2.supply_rate"] == (None, "未提供数据")
    assert re.search(r'title="开发区内没有已批准或已供应的土地" data-kpi="development_zones.zones.2.supply_rate"', sec)
    # each indicator's definition: the header tooltip and a footnote naming the source
    for k in ("supply_rate", "built_rate", "industrial_far", "fixed_asset_per_mu_wan", "tax_per_mu_wan",
              "idle_share", "inefficient_share"):
        d_ = INDICATORS[k]
        assert re.search(rf'<th class="num" title="{re.escape(d_["name"])} = ', sec), k
        assert f"<b>{d_['name']}</b> = " in sec, k
    assert sec.count("依据：《开发区土地集约利用评价规程》（TD/T 1029）") == 5
    assert "万元/公顷" in sec


def test_report_without_zone_layer_says_why(tmp_path):
    d = make_county(tmp_path / "420704_鄂城区", zones=False)
    out = tmp_path / "out"
    run_county(d, out)
    html = (out / "report.html").read_text(encoding="utf-8")
    sec = html[html.index('<section id="zones">'):html.index('<section id="map"')]
    assert "未提供数据：该县没有开发区图层" in sec and "0.00" not in sec
    ws = openpyxl.load_workbook(out / "ledger.xlsx")["开发区节约集约"]
    assert any("未提供数据：该县没有开发区图层" in str(c) for row in ws.iter_rows(values_only=True) for c in row if c)
    assert "开发区节约集约" not in dict(pyogrio.list_layers(out / "results.gpkg"))


def test_map_layer(run):
    d, out, sj = run
    c = lk.read_county(d)
    from landkit.analyses.county_analysis import analyse
    layers = {lay.key: lay for lay in display_layers(c, analyse(c))}
    z = layers["zones"]
    assert z.name == "开发区范围" and z.count == 3
    assert z.fields[:3] == ["开发区", "代码", "面积"] and "土地供应率" in z.fields and "工业用地地均税收" in z.fields
    assert z.values[2][z.fields.index("土地供应率")] == "未提供数据"
    assert z.values[0][z.fields.index("工业用地地均税收")].endswith("万元/亩")
    # without an analysis: the zone layer's own outlines and names
    bare = {lay.key: lay for lay in display_layers(c)}["zones"]
    assert bare.count == 4 and bare.values[0][0] == "临江经济开发区"

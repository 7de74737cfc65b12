"""results.gpkg layers and ledger.xlsx (landkit.render.outputs) for a small county read from GBK
shapefiles: sheet names, headers, and the 亩 figures (2 decimals) checked against areas computed
here independently (shapely intersections measured with pyproj.Geod on the CGCS2000 ellipsoid)."""
import geopandas as gpd
import numpy as np
import openpyxl
import pytest
import shapely

import landkit as lk
from landkit.pipeline.run import analyse
from landkit.render.outputs import ledger_workbook, result_layers

from conftest import X0, Y0, geod_area_m2, write_shp

MU = 3 / 2000
# 约定动工日期 is cut to 约定动工日 when the shapefile is written (GDAL says so in GBK bytes)
pytestmark = pytest.mark.filterwarnings("ignore:Could not decode error message:RuntimeWarning")


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


# DLTB: four 100 m squares; 0101 (田坎 0.1) and 0103 (0.05) are 耕地
DL = {"D0": (box(0, 0, 100, 100), "0101", 0.10, "4207041001010000000"),
      "D1": (box(100, 0, 200, 100), "0103", 0.05, "4207041021020000000"),
      "D2": (box(200, 0, 300, 100), "0701", 0.0, "4207041021020000000"),
      "D3": (box(300, 0, 400, 100), "0301", 0.0, "4207041001010000000")}
YJ = box(0, 0, 137.5, 100)                     # 永久基本农田 Y1, KCXS 0.1
YJ_KCXS = 0.1
PATCHES = {"W1": (box(43.7, 12.1, 151.3, 58.9), "违法"),      # on D0 and D1, mostly in Y1
           "W2": (box(171.9, 20.3, 263.1, 71.6), "合法"),     # on D1 and D2
           "W3": (box(312.2, 20.0, 377.7, 66.6), "违法")}     # on 乔木林地: no 耕地
APPROVALS = {"鄂土批〔2020〕1号": (box(0, 61.3, 100, 100), "2020年第一批次", "2020-05-01"),
             "鄂土批〔2019〕2号": (box(200, 0, 300, 100), "2019年第二批次", "2019-08-01")}
SUPPLY = box(200, 0, 247.3, 100)               # inside the second approval; never started


def A(g):
    return geod_area_m2(g)


def near2(cell, expected):
    """A ledger area: a number with 2 decimals, within half a cent of the exact figure."""
    assert isinstance(cell, (int, float)), cell
    assert cell == round(cell, 2) and abs(cell - expected) <= 0.005 + 1e-9, (cell, expected)


def _write_county(d, *, patches=True, yjjbnt=True):
    geoms = [v[0] for v in DL.values()]
    tb = np.round([A(g) for g in geoms], 2)
    kc = np.array([v[2] for v in DL.values()])
    kcmj = np.round(tb * kc, 2)
    dl = gpd.GeoDataFrame({"BSM": list(DL), "DLBM": [v[1] for v in DL.values()],
                           "DLMC": ["水田", "旱地", "城镇住宅用地", "乔木林地"], "QSXZ": ["30", "30", "20", "30"],
                           "ZLDWDM": [v[3] for v in DL.values()], "ZLDWMC": ["泽林村", "石山村", "石山村", "泽林村"],
                           "TBMJ": tb, "KCDLBM": ["1203", "1203", None, None], "KCXS": kc, "KCMJ": kcmj,
                           "TBDLMJ": np.round(tb - kcmj, 2)}, geometry=geoms, crs="EPSG:4526")
    write_shp(dl, d / "DLTB.shp")
    if yjjbnt:
        write_shp(gpd.GeoDataFrame({"YJJBNTTBBH": ["Y1"], "DLBM": ["0101"], "KCXS": [YJ_KCXS]},
                                   geometry=[YJ], crs="EPSG:4526"), d / "永久基本农田.shp")
    if patches:
        write_shp(gpd.GeoDataFrame({"监测编号": list(PATCHES), "判定类型": [v[1] for v in PATCHES.values()]},
                                   geometry=[v[0] for v in PATCHES.values()], crs="EPSG:4526"), d / "卫片图斑.shp")
    write_shp(gpd.GeoDataFrame({"批准文号": list(APPROVALS), "批次名称": [v[1] for v in APPROVALS.values()],
                                "批准日期": [v[2] for v in APPROVALS.values()]},
                               geometry=[v[0] for v in APPROVALS.values()], crs="EPSG:4526"), d / "批准用地.shp")
    write_shp(gpd.GeoDataFrame({"电子监管号": ["4207042021B00001"], "项目名称": ["某某物流园"],
                                "供地日期": ["2021-01-01"], "约定动工日期": ["2021-06-01"],
                                "实际动工日期": [None]},
                               geometry=[SUPPLY], crs="EPSG:4526"), d / "供地.shp")
    return d


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    d = _write_county(tmp_path_factory.mktemp("out") / "420704_鄂城区")
    c = lk.read_county(d, {"county": {"year": 2024}})
    return c, analyse(c)


@pytest.fixture(scope="module")
def ledger(analysed, tmp_path_factory):
    c, res = analysed
    p = tmp_path_factory.mktemp("ledger") / "ledger.xlsx"
    ledger_workbook(c, res).save(p)
    return openpyxl.load_workbook(p)


def table(ws, first_header):
    """(header row number, headers, data rows as lists, totals row or None)."""
    hr = next(r for r in range(1, 8) if ws.cell(r, 1).value == first_header)
    headers = [c.value for c in ws[hr]]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=hr + 1)]
    total = rows.pop() if rows and rows[-1][0] == "合计" else None
    return hr, headers, rows, total


# independent figures --------------------------------------------------------------------

def farmland(g):
    """(gross, net) m² of 耕地 under g, by DLTB feature: {BSM: (gross, net)}."""
    out = {}
    for bsm, (cell, dlbm, kcxs, _) in DL.items():
        if dlbm in ("0101", "0102", "0103"):
            a = A(g.intersection(cell))
            if a > 0:
                out[bsm] = (a, a * (1 - kcxs))
    return out


def test_result_layer_names(analysed):
    c, res = analysed
    layers = result_layers(c, res)
    assert {"卫片图斑结果", "永农压占_批准用地", "永农压占_供地", "永农压占_卫片图斑", "批而未供", "闲置土地"} <= set(layers)
    for name, g in layers.items():
        assert isinstance(g, gpd.GeoDataFrame) and g.crs.to_epsg() == 4526 and len(g), name


def test_patch_layer_figures_are_ellipsoidal(analysed):
    c, res = analysed
    g = result_layers(c, res)["卫片图斑结果"].set_index("监测编号")
    assert set(g.index) == set(PATCHES)
    for wid, (geom, judgement) in PATCHES.items():
        r = g.loc[wid]
        fl = farmland(geom)
        assert r["判定类型"] == judgement
        assert r["图斑面积_亩"] == pytest.approx(A(geom) * MU, rel=1e-7)
        assert abs(r["图斑面积_亩"] - geom.area * MU) > 1e-5 * geom.area * MU * 0.5     # not planar
        assert r["占用耕地_亩"] == pytest.approx(sum(v[0] for v in fl.values()) * MU, rel=1e-7, abs=1e-9)
        assert r["占用耕地净_亩"] == pytest.approx(sum(v[1] for v in fl.values()) * MU, rel=1e-7, abs=1e-9)
        assert r["计入耕地_亩"] == pytest.approx(r["占用耕地净_亩"], rel=1e-12, abs=1e-12)   # net mode
        assert r["占用永久基本农田_亩"] == pytest.approx(A(geom.intersection(YJ)) * MU, rel=1e-7, abs=1e-9)
        assert g.loc[wid].geometry.equals(geom)


def test_yjjbnt_overlap_layer(analysed):
    c, res = analysed
    g = result_layers(c, res)["永农压占_批准用地"].set_index("编号")
    for wh, (geom, pc, _) in APPROVALS.items():
        r = g.loc[wh]
        ov = A(geom.intersection(YJ))
        assert r["面积_亩"] == pytest.approx(A(geom) * MU, rel=1e-7)
        assert r["压占永农_亩"] == pytest.approx(ov * MU, rel=1e-7, abs=1e-9)
        assert r["压占永农净_亩"] == pytest.approx(ov * (1 - YJ_KCXS) * MU, rel=1e-7, abs=1e-9)
        assert r["压占比例"] == pytest.approx(ov / A(geom), rel=1e-7, abs=1e-9)
        assert r["批次名称"] == pc
    assert g.loc["鄂土批〔2020〕1号", "永农图斑编号"] == "Y1" and g.loc["鄂土批〔2019〕2号", "永农图斑编号"] == ""


def test_ledger_sheets_in_order(ledger):
    names = ledger.sheetnames
    assert names[0] == "汇总"
    expected = ["卫片统计", "卫片图斑清单", "批而未供", "闲置土地", "低效用地", "集体经营性建设用地", "处置率",
                "永农压占清单", "数据质检"]
    assert [n for n in names if n in expected] == expected


def test_satellite_sheet_county_and_township_rows(ledger):
    ws = ledger["卫片统计"]
    hr, h, rows, _ = table(ws, "乡镇代码")
    assert h == ["乡镇代码", "乡镇", "违法占用耕地比例", "违法占用耕地(亩)", "新增建设用地占用耕地(亩)", "违法图斑数",
                 "整改到控制目标需复耕(亩)", "状态", "建议"]
    # independent: per township, the net 耕地 of the illegal and of all counted (legal + illegal) patches
    town_of = {"D0": "420704100", "D1": "420704102"}
    ill, new = {}, {}
    for wid, (geom, judgement) in PATCHES.items():
        for bsm, (_, net) in farmland(geom).items():
            t = town_of[bsm]
            new[t] = new.get(t, 0) + net * MU
            if judgement == "违法":
                ill[t] = ill.get(t, 0) + net * MU
    I, D = sum(ill.values()), sum(new.values())
    county = rows[0]
    assert county[:2] == ["合计", "全县"]
    near2(county[3], I)
    near2(county[4], D)
    assert county[2] == pytest.approx(I / D, abs=5e-5)                  # ratio, 4 decimals
    assert county[5] == sum(1 for v in PATCHES.values() if v[1] == "违法")
    assert county[7] == "达到问责线" and I / D >= 0.15
    by_code = {r[0]: r for r in rows[1:]}
    assert set(by_code) == set(new)
    for t in new:
        near2(by_code[t][4], new[t])
        near2(by_code[t][3], ill.get(t, 0.0))
        assert by_code[t][2] == pytest.approx(ill.get(t, 0.0) / new[t], abs=5e-5)
    # formats: percentages and 2-decimal areas, header frozen, printing set up
    assert ws.cell(hr + 1, 3).number_format == "0.00%" and ws.cell(hr + 1, 4).number_format == "0.00"
    assert ws.freeze_panes == f"A{hr + 1}"


def test_patch_list_sheet(ledger):
    ws = ledger["卫片图斑清单"]
    hr, h, rows, total = table(ws, "监测编号")
    col = {name: h.index(name) for name in h}
    by_id = {r[0]: r for r in rows}
    assert set(by_id) == set(PATCHES)
    sums = np.zeros(3)
    for wid, (geom, judgement) in PATCHES.items():
        r = by_id[wid]
        fl = farmland(geom)
        gross, net = sum(v[0] for v in fl.values()) * MU, sum(v[1] for v in fl.values()) * MU
        yj = A(geom.intersection(YJ)) * MU
        assert r[col["判定类型"]] == judgement and r[col["类别"]] == judgement
        near2(r[col["图斑面积(亩)"]], A(geom) * MU)
        near2(r[col["占用耕地(亩)"]], gross)
        near2(r[col["占用耕地扣除田坎(亩)"]], net)
        near2(r[col["计入比例的耕地(亩)"]], net)
        near2(r[col["占用永久基本农田(亩)"]], yj)
        sums += [A(geom) * MU, gross, yj]
    # the totals row sums the exact figures, then rounds
    near2(total[col["图斑面积(亩)"]], sums[0])
    near2(total[col["占用耕地(亩)"]], sums[1])
    near2(total[col["占用永久基本农田(亩)"]], sums[2])
    assert ws.auto_filter.ref


def test_approved_unsupplied_and_idle_sheets(ledger):
    hr, h, rows, total = table(ledger["批而未供"], "批次名称")
    col = {name: h.index(name) for name in h}
    by_no = {r[col["批准文号"]]: r for r in rows}
    assert set(by_no) == set(APPROVALS)
    exp_un = 0.0
    for wh, (geom, pc, date) in APPROVALS.items():
        r = by_no[wh]
        supplied = A(geom.intersection(SUPPLY))
        un = A(geom) - supplied
        exp_un += un
        assert r[col["批次名称"]] == pc and r[col["批准日期"]].date().isoformat() == date
        near2(r[col["批准面积(亩)"]], A(geom) * MU)
        near2(r[col["已供面积(亩)"]], supplied * MU)
        near2(r[col["未供面积(亩)"]], un * MU)
        near2(r[col["未供面积(公顷)"]], un / 10000)
        near2(r[col["压占永久基本农田(亩)"]], A(geom.difference(SUPPLY).intersection(YJ)) * MU)
        assert r[col["拟处置方式"]] is None                          # left for the bureau to fill in
    assert by_no["鄂土批〔2020〕1号"][col["村"]] == "泽林村"            # from DLTB ZLDWMC
    near2(total[col["未供面积(亩)"]], exp_un * MU)

    hr, h, rows, total = table(ledger["闲置土地"], "电子监管号")
    col = {name: h.index(name) for name in h}
    [r] = rows
    assert r[col["电子监管号"]] == "4207042021B00001" and r[col["项目名称"]] == "某某物流园"
    near2(r[col["面积(亩)"]], A(SUPPLY) * MU)
    near2(r[col["面积(公顷)"]], A(SUPPLY) / 10000)
    assert r[col["闲置类型"]] == "未动工开发满一年"
    assert r[col["约定动工日期"]].date().isoformat() == "2021-06-01"


def test_summary_sheet_uses_the_same_figures(ledger):
    ws = ledger["汇总"]
    kv = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}
    un = sum(A(g) - A(g.intersection(SUPPLY)) for g, _, _ in APPROVALS.values())
    near2(kv["批而未供（亩）"], un * MU)
    near2(kv["闲置土地（亩）"], A(SUPPLY) * MU)
    assert kv["城镇低效用地（亩）"] == "未提供数据"                     # no 宗地 layer
    assert kv["截至日期"] == "2024-12-31"


def test_farmland_overlap_sheet(ledger):
    hr, h, rows, total = table(ledger["永农压占清单"], "图层")
    assert h == ["图层", "编号", "名称", "面积(亩)", "压占永久基本农田(亩)", "扣除田坎(亩)", "压占比例", "永久基本农田图斑编号"]
    got = {(r[0], r[1]): r for r in rows}
    # every feature of any layer that overlaps Y1, and nothing else
    expect = {("卫片图斑", w): g for w, (g, _) in PATCHES.items() if A(g.intersection(YJ)) > 1}
    expect.update({("批准用地", w): g for w, (g, _, _) in APPROVALS.items() if A(g.intersection(YJ)) > 1})
    assert set(got) == set(expect)
    for key, geom in expect.items():
        r = got[key]
        ov = A(geom.intersection(YJ))
        near2(r[3], A(geom) * MU)
        near2(r[4], ov * MU)
        near2(r[5], ov * (1 - YJ_KCXS) * MU)
        assert r[6] == pytest.approx(ov / A(geom), abs=5e-5) and r[7] == "Y1"
    assert got[("批准用地", "鄂土批〔2020〕1号")][2] == "2020年第一批次"
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)           # grouped by layer


def test_qa_sheet_lists_warnings_in_chinese(tmp_path):
    d = _write_county(tmp_path / "420704_鄂城区", patches=False)
    dl = gpd.read_file(d / "DLTB.shp", encoding="GBK")
    dl.loc[3, "DLBM"] = "9999"
    for ext in ("shp", "shx", "dbf", "prj"):
        (d / f"DLTB.{ext}").unlink()
    write_shp(dl, d / "DLTB.shp")
    c = lk.read_county(d, {"county": {"year": 2024}})
    p = tmp_path / "l.xlsx"
    ledger_workbook(c, analyse(c)).save(p)
    wb = openpyxl.load_workbook(p)
    assert "卫片统计" not in wb.sheetnames and "卫片图斑清单" not in wb.sheetnames
    hr, h, rows, _ = table(wb["数据质检"], "级别")
    assert h == ["级别", "图层", "字段", "问题", "数量", "涉及要素（前20个）"]
    [w] = [r for r in rows if r[0] == "警告" and r[2] == "DLBM"]
    assert w[1] == "地类图斑" and "9999" in w[3] and w[4] == 1 and w[5] == "D3"
    assert {r[0] for r in rows} <= {"错误", "警告", "说明"}


def test_county_without_patches_or_yjjbnt(tmp_path):
    d = _write_county(tmp_path / "420704_鄂城区", patches=False, yjjbnt=False)
    c = lk.read_county(d, {"county": {"year": 2024}})
    res = analyse(c)
    layers = result_layers(c, res)
    assert not any(k.startswith("永农压占_") for k in layers) and "卫片图斑结果" not in layers
    assert "批而未供" in layers
    p = tmp_path / "l.xlsx"
    ledger_workbook(c, res).save(p)
    wb = openpyxl.load_workbook(p)
    _, _, rows, total = table(wb["永农压占清单"], "图层")
    assert rows == [] and total is None

"""存量 inventory: 批而未供, 闲置土地, 城镇低效用地, 集体经营性建设用地 on hand-made counties
written as GBK shapefiles; every expected figure is derived here from the boxes drawn."""
import datetime as dt
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer

import landkit as lk
from landkit.analyses.approved_unsupplied import approved_unsupplied
from landkit.analyses.collective import collective_commercial
from landkit.analyses.idle import classify_cause, idle_land
from landkit.analyses.inefficient import inefficient_land
from landkit.analyses.inventory import inventory
from landkit.analyses.stock import cohort_label, subtract_union
from landkit.errors import ConfigError
from landkit.standards.area import ellipsoidal_area

from conftest import X0, Y0, write_shp

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # GDAL laundering long Chinese field names

CRS = "EPSG:4526"
D = dt.date(2023, 12, 31)
MU = 3 / 2000


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def area(*boxes):
    """Ellipsoidal m² of the union of the boxes (each given as x1, y1, x2, y2 tuples)."""
    u = shapely.union_all([box(*b) for b in boxes])
    return float(ellipsoidal_area(gpd.GeoSeries([u], crs=CRS))[0])


def mu(*boxes):
    return area(*boxes) * MU


def geod_area(x1, y1, x2, y2):
    """The same square measured independently: pyproj.Geod on CGCS2000 lon/lat corners."""
    tr = Transformer.from_crs(CRS, "EPSG:4490", always_xy=True)
    xs = [X0 + x1, X0 + x2, X0 + x2, X0 + x1]
    ys = [Y0 + y1, Y0 + y1, Y0 + y2, Y0 + y2]
    lon, lat = tr.transform(xs, ys)
    a, _ = Geod(a=6378137, rf=298.257222101).polygon_area_perimeter(lon, lat)
    return abs(a)


# ---------------------------------------------------------------------------------------------
# the county
# ---------------------------------------------------------------------------------------------

def dltb():
    """F1 0601 集体 | F2 0101 集体 | F3 0701 国有 | F4 05H1 集体(42), south strip; F5a/F5b 0103 north strip.
    West half (x < 400) is 泽林镇 420704100, east half 杜山镇 420704101."""
    rows = [
        ("F1", (0, 0, 200, 200), "0601", "30", "4207041001010000000", "泽林村", 0.0, +0.5),
        ("F2", (200, 0, 400, 200), "0101", "30", "4207041001020000000", "石桥村", 0.1, 0.0),
        ("F3", (400, 0, 600, 200), "0701", "20", "4207041011010000000", "杜山村", 0.0, 0.0),
        ("F4", (600, 0, 800, 200), "05H1", "42", "4207041011020000000", "新港村", 0.0, +100.0),
        ("F5a", (0, 200, 400, 400), "0103", "30", "4207041001010000000", "泽林村", 0.05, 0.0),
        ("F5b", (400, 200, 800, 400), "0103", "30", "4207041011010000000", "杜山村", 0.05, 0.0),
    ]
    geoms = [box(*r[1]) for r in rows]
    comp = ellipsoidal_area(gpd.GeoSeries(geoms, crs=CRS))
    tbmj = np.round(comp + np.array([r[7] for r in rows]), 2)
    kcxs = np.array([r[6] for r in rows])
    kcmj = np.round(tbmj * kcxs, 2)
    return gpd.GeoDataFrame({
        "BSM": [r[0] for r in rows], "DLBM": [r[2] for r in rows], "QSXZ": [r[3] for r in rows],
        "ZLDWDM": [r[4] for r in rows], "ZLDWMC": [r[5] for r in rows], "TBMJ": tbmj,
        "KCDLBM": ["1203" if k else None for k in kcxs], "KCXS": kcxs, "KCMJ": kcmj, "TBDLMJ": np.round(tbmj - kcmj, 2),
    }, geometry=geoms, crs=CRS)


def townships():
    return gpd.GeoDataFrame({"XZQDM": ["420704100", "420704101"], "XZQMC": ["泽林镇", "杜山镇"]},
                            geometry=[box(0, 0, 400, 600), box(400, 0, 800, 600)], crs=CRS)


APPROVALS = [  # 批准文号, box, 批准日期, 撤回日期, 未供原因
    ("鄂土批〔2019〕1号", (0, 0, 200, 100), "2019-05-10", None, "规划调整"),
    ("鄂土批〔2020〕2号", (200, 0, 400, 100), "2020/2/29", None, None),
    ("鄂土批〔2022〕3号", (400, 0, 600, 200), "20220601", None, None),
    ("鄂土批〔2018〕4号", (0, 300, 100, 400), "2018年1月1日", "2023-06-30", None),      # withdrawn before D
    ("鄂土批〔2024〕5号", (100, 300, 200, 400), "2024-01-05", None, None),             # approved after D
    ("鄂土批〔2021〕6号", (100, 50, 320, 150), "44197", None, None),                    # Excel 44197 = 2021-01-01
    ("鄂土批〔2021〕7号", (600, 0, 700, 100), "2021-01-01", None, None),               # supplied but a sliver
    ("鄂土批〔2021〕8号", (700, 300, 800, 400), "", None, None),                       # no date
    ("鄂土批〔2021〕9号", (200, 300, 300, 400), "待查", None, None),                   # not a date
    ("鄂土批〔2021〕10号", (300, 300, 400, 400), "2021-06-01", "2024-03-01", None),    # withdrawn after D
    ("鄂土批〔2021〕11号", (500, 300, 600, 400), "2021-12-31", None, None),            # exactly 2 years at D
    ("鄂土批〔2022〕12号", (600, 300, 700, 400), "2022-01-01", None, None),            # 2 years minus a day
    ("鄂土批〔2020〕13号", (700, 0, 800, 200), "2020-01-01", None, None),
]

SUPPLY = [  # 电子监管号, box, 供地日期, 约定动工日期, 实际动工日期
    ("S3", (400, 0, 500, 200), "2022-12-01", "2022-12-01", None),
    ("S4", (600, 0, 700, 99.995), "2023-01-01", "2023-06-01", "2023-06-01"),
    ("S5", (0, 0, 100, 100), "2024-02-01", None, None),                  # supplied after D
    ("S6", (700, 0, 800, 100), None, None, None),                        # no 供地日期
]

PARCELS = [  # 宗地代码, x, 行业, 亩均税收, 容积率, 是否规上, 投产年份
    ("Q1", 0, "纺织", 8.0, 1.2, "否", 2010),
    ("Q2", 50, "纺织", 2.0, 1.5, "否", 2010),      # exactly 40 % of the 纺织 average (5.0): not low
    ("Q3", 100, "机械", 8.0, 1.2, "否", 2010),
    ("Q4", 150, "机械", 1.9, 1.2, "否", 2010),     # < 40 % of 4.95
    ("Q5", 200, None, 0.5, 1.3, "否", 2010),        # no 行业: county average
    ("Q6", 250, "化工", 10.0, 0.8, "否", 2020),     # 容积率 < 1; 3 years in production: not exempt
    ("Q7", 300, "化工", 10.0, 0.5, "是", 2010),     # 规上: exempt
    ("Q8", 350, "化工", 10.0, 0.9, "否", 2021),     # 2 years in production: exempt
    ("Q9", 400, "化工", 10.0, 1.0, "否", 2010),     # 容积率 exactly 1.0: not low
]


def make_county(tmp_path, *, approvals=True, supply=True, parcels=True, protect=True, year=2023):
    d = tmp_path / "420704_鄂城区"
    write_shp(dltb(), d / "DLTB.shp")
    write_shp(townships(), d / "XZQ.shp")
    if approvals:
        a = gpd.GeoDataFrame({"批次名称": [f"批次{i}" for i in range(len(APPROVALS))],
                              "批准文号": [r[0] for r in APPROVALS], "批准日期": [r[2] for r in APPROVALS],
                              "撤回日期": [r[3] for r in APPROVALS], "批准面积": [1.5] * len(APPROVALS),
                              "未供原因": [r[4] for r in APPROVALS]},
                             geometry=[box(*r[1]) for r in APPROVALS], crs=CRS)
        write_shp(a, d / "批准用地.shp")
    if supply:
        s = gpd.GeoDataFrame({"电子监管号": [r[0] for r in SUPPLY], "土地使用权人": [f"公司{r[0]}" for r in SUPPLY],
                              "供地日期": [r[2] for r in SUPPLY], "约定动工日期": [r[3] for r in SUPPLY],
                              "实际动工日期": [r[4] for r in SUPPLY]},
                             geometry=[box(*r[1]) for r in SUPPLY], crs=CRS)
        write_shp(s, d / "供地.shp")
    if parcels:
        p = gpd.GeoDataFrame({"宗地代码": [r[0] for r in PARCELS], "行业": [r[2] for r in PARCELS],
                              "亩均税收": [r[3] for r in PARCELS], "容积率": [r[4] for r in PARCELS],
                              "是否规上": [r[5] for r in PARCELS], "投产年份": [r[6] for r in PARCELS]},
                             geometry=[box(r[1], 400, r[1] + 50, 450) for r in PARCELS], crs=CRS)
        write_shp(p, d / "宗地.shp")
    if protect:
        write_shp(gpd.GeoDataFrame({"YJJBNTTBBH": ["Y1"], "DLBM": ["0101"], "KCXS": [0.1]},
                                   geometry=[box(200, 0, 400, 50)], crs=CRS), d / "永久基本农田.shp")
        write_shp(gpd.GeoDataFrame({"BSM": ["H1"]}, geometry=[box(300, 300, 350, 400)], crs=CRS),
                  d / "生态保护红线.shp")
    (d / "landkit.toml").write_text(f"[county]\nyear = {year}\n", encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    return lk.read_county(make_county(tmp_path_factory.mktemp("inv")))


# remainders at D = 2023-12-31, derived by hand from the boxes above
REM = {
    "鄂土批〔2019〕1号": [(0, 0, 200, 100)],
    "鄂土批〔2020〕2号": [(200, 0, 400, 100)],
    "鄂土批〔2022〕3号": [(500, 0, 600, 200)],
    "鄂土批〔2021〕6号": [(100, 100, 320, 150)],       # loses what 1号 and 2号 (earlier) already hold
    "鄂土批〔2021〕10号": [(300, 300, 400, 400)],
    "鄂土批〔2021〕11号": [(500, 300, 600, 400)],
    "鄂土批〔2022〕12号": [(600, 300, 700, 400)],
    "鄂土批〔2020〕13号": [(700, 100, 800, 200)],      # S6 (undated supply) counts as supplied
}


def test_approved_unsupplied_rows_and_areas(county):
    r = approved_unsupplied(county)
    f = r.features.set_index("批准文号")
    assert set(f.index) == set(REM)
    for k, boxes in REM.items():
        assert f.loc[k, "unsupplied_m2"] == pytest.approx(area(*boxes), rel=1e-7), k
        assert f.loc[k, "unsupplied_mu"] == pytest.approx(area(*boxes) * MU, rel=1e-7)
        assert f.loc[k, "unsupplied_ha"] == pytest.approx(area(*boxes) / 10000, rel=1e-7)
        assert shapely.equals(shapely.normalize(f.loc[k, "geometry"]),
                              shapely.normalize(shapely.union_all([box(*b) for b in boxes])))
    # independent check of one figure with pyproj.Geod (geodesic edges: agrees to ~1e-6)
    assert f.loc["鄂土批〔2020〕2号", "unsupplied_m2"] == pytest.approx(geod_area(200, 0, 400, 100), rel=1e-5)
    # partly supplied: 已供 + 未供 = 批准 (computed); the declared 批准面积 is kept as it was
    p3 = f.loc["鄂土批〔2022〕3号"]
    assert p3["approved_m2"] == pytest.approx(area((400, 0, 600, 200)), rel=1e-7)
    assert p3["supplied_m2"] == pytest.approx(area((400, 0, 500, 200)), rel=1e-6)
    assert p3["批准面积"] == 1.5 and p3["supply_ids"] == "S3"
    assert r.summary["unsupplied_mu"] == pytest.approx(sum(mu(*b) for b in REM.values()), rel=1e-7)
    assert r.summary["count"] == len(REM)


def test_statuses_withdrawn_future_and_undated(county):
    r = approved_unsupplied(county)
    st = dict(zip(r.approvals["批准文号"], r.approvals["status"]))
    assert st["鄂土批〔2018〕4号"] == "withdrawn"
    assert st["鄂土批〔2024〕5号"] == "after_as_of"
    assert st["鄂土批〔2021〕7号"] == "supplied"           # the 0.5 m² strip is a sliver, dropped
    assert st["鄂土批〔2021〕8号"] == "no_date" and st["鄂土批〔2021〕9号"] == "no_date"
    assert st["鄂土批〔2021〕10号"] == "unsupplied"        # withdrawn after D: still counted at D
    codes = {x.code: x for x in r.findings}
    bad = codes["date_unparseable"]
    assert bad.field == "批准日期" and bad.features == ["鄂土批〔2021〕9号"] and "待查" in bad.message
    assert codes["approval_date_missing"].count == 2
    assert codes["supply_date_missing"].features == ["S6"]
    assert r.summary["withdrawn_count"] == 1 and r.summary["after_as_of_count"] == 1
    # one day later the withdrawal of 10号 (2024-03-01) still lies ahead; after it, it is gone
    later = approved_unsupplied(county, as_of="2024-03-01").features["批准文号"].tolist()
    assert "鄂土批〔2021〕10号" not in later and "鄂土批〔2024〕5号" in later
    # supply after D does not count; on its date it does
    s5 = approved_unsupplied(county, as_of=dt.date(2024, 2, 1)).features.set_index("批准文号")
    assert s5.loc["鄂土批〔2019〕1号", "unsupplied_m2"] == pytest.approx(area((100, 0, 200, 100)), rel=1e-7)


def test_overlapping_approvals_counted_once(county):
    r = approved_unsupplied(county)
    ov = [x for x in r.findings if x.code == "approvals_overlap"]
    assert len(ov) == 1 and ov[0].count == 2
    assert all("鄂土批〔2021〕6号" in p for p in ov[0].features)
    f = r.features.set_index("批准文号")
    # the union of 1号, 2号 and 6号 is counted exactly once
    tot = f.loc[["鄂土批〔2019〕1号", "鄂土批〔2020〕2号", "鄂土批〔2021〕6号"], "unsupplied_m2"].sum()
    assert tot == pytest.approx(area((0, 0, 200, 100), (200, 0, 400, 100), (100, 50, 320, 150)), rel=1e-7)
    assert f.loc["鄂土批〔2021〕6号", "overlap_prior_m2"] == pytest.approx(area((100, 50, 320, 100)), rel=1e-6)


def test_flags_township_village_and_protection(county):
    f = approved_unsupplied(county).features.set_index("批准文号")
    # 未供即用: the remainder is ≥ half 建设用地 in DLTB
    assert f.loc["鄂土批〔2019〕1号", "in_use"] and f.loc["鄂土批〔2022〕3号", "in_use"]
    assert f.loc["鄂土批〔2020〕13号", "in_use"]
    assert not f.loc["鄂土批〔2021〕6号", "in_use"]          # 100 m of 0601, 120 m of 0101
    assert f.loc["鄂土批〔2021〕6号", "construction_m2"] == pytest.approx(area((100, 100, 200, 150)), rel=1e-6)
    # lapse: ≥ 2 years, nothing supplied, mostly 农用地 (6号: 120 m of its 220 m on 0101)
    lapse = set(f.index[f["lapse_candidate"]])
    assert lapse == {"鄂土批〔2020〕2号", "鄂土批〔2021〕6号", "鄂土批〔2021〕10号", "鄂土批〔2021〕11号"}
    assert not f.loc["鄂土批〔2022〕12号", "lapse_candidate"]      # 2 years minus a day
    assert not f.loc["鄂土批〔2020〕13号", "lapse_candidate"]      # partly supplied, 建设用地
    assert f.loc["鄂土批〔2022〕12号", "years_since_approval"] == 1     # one day short of 2 years
    assert f.loc["鄂土批〔2020〕2号", "years_since_approval"] == 3      # 2020-02-29 → 2023-02-28 is 3 years
    # township and village from DLTB ZLDWDM, names from the townships layer / ZLDWMC
    assert f.loc["鄂土批〔2022〕3号", "township"] == "420704101"
    assert f.loc["鄂土批〔2022〕3号", "township_name"] == "杜山镇"
    assert f.loc["鄂土批〔2019〕1号", "village"] == "420704100101"
    assert f.loc["鄂土批〔2019〕1号", "village_name"] == "泽林村"
    assert f.loc["鄂土批〔2021〕11号", "township"] == "420704101"
    # pressing on 永久基本农田 / 生态保护红线
    assert f.loc["鄂土批〔2020〕2号", "yjjbnt_m2"] == pytest.approx(area((200, 0, 400, 50)), rel=1e-6)
    assert f.loc["鄂土批〔2019〕1号", "yjjbnt_m2"] == 0
    assert f.loc["鄂土批〔2021〕10号", "stbhhx_m2"] == pytest.approx(area((300, 300, 350, 400)), rel=1e-6)
    assert f.loc["鄂土批〔2019〕1号", "未供原因"] == "规划调整"
    assert {"拟处置方式", "责任单位", "完成时限"} <= set(f.columns)


def test_cohorts(county):
    r = approved_unsupplied(county)
    assert [c["cohort"] for c in r.summary["by_cohort"]] == ["2018年及以前", "2019年及以后"]
    assert r.summary["by_cohort"][1]["count"] == len(REM)
    cfg = county.config.merged({"inventory": {"cohorts": [2019, 2021]}})
    r2 = approved_unsupplied(county, config=cfg)
    by = {c["cohort"]: c for c in r2.summary["by_cohort"]}
    assert list(by) == ["2019年及以前", "2020—2021年", "2022年及以后"]
    assert by["2019年及以前"]["count"] == 1
    assert by["2020—2021年"]["unsupplied_mu"] == pytest.approx(
        sum(mu(*REM[k]) for k in ("鄂土批〔2020〕2号", "鄂土批〔2021〕6号", "鄂土批〔2021〕10号",
                                  "鄂土批〔2021〕11号", "鄂土批〔2020〕13号")), rel=1e-7)
    assert by["2022年及以后"]["count"] == 2
    assert cohort_label(2020, [2019, 2020]) == "2020年" and cohort_label(None, [2018]) == "未知"


def test_inefficient_screen(county):
    r = inefficient_land(county)
    p = r.parcels.set_index("宗地代码")
    assert set(r.features["宗地代码"]) == {"Q4", "Q5", "Q6"}
    assert p.loc["Q2", "tax_average"] == pytest.approx((8.0 + 2.0) / 2) and not p.loc["Q2", "low_tax"]
    assert p.loc["Q4", "low_tax"] and "机械" in p.loc["Q4", "reasons"]
    county_avg = np.mean([r_[3] for r_ in PARCELS])
    assert p.loc["Q5", "tax_average"] == pytest.approx(county_avg) and p.loc["Q5", "low_tax"]
    assert p.loc["Q6", "low_far"] and "容积率" in p.loc["Q6", "reasons"]
    assert p.loc["Q7", "exempt"] and "规上" in p.loc["Q7", "exempt_reasons"]
    assert p.loc["Q8", "exempt"] and "投产不满3年" in p.loc["Q8", "exempt_reasons"]
    assert not p.loc["Q9", "low_far"]
    assert r.summary["inefficient_mu"] == pytest.approx(sum(mu((x, 400, x + 50, 450)) for x in (150, 200, 250)),
                                                        rel=1e-7)
    t = r.features.set_index("宗地代码")
    assert t.loc["Q4", "township"] == "420704100" and t.loc["Q4", "township_name"] == "泽林镇"
    # the rule pack is configuration
    loose = county.config.merged({"inventory": {"far_min": 0.7, "exempt_above_scale": False,
                                                "exempt_new_years": 0}})
    r2 = inefficient_land(county, loose)
    assert set(r2.features["宗地代码"]) == {"Q4", "Q5", "Q7"}


def test_collective_commercial_areas_follow_qa(county):
    r = collective_commercial(county)
    f = r.features.set_index("BSM")
    assert set(f.index) == {"F1", "F4"}                      # F3 0701 国有; F2/F5 not 经营性
    d = dltb().set_index("BSM")
    assert f.loc["F1", "area_m2"] == pytest.approx(d.loc["F1", "TBDLMJ"], abs=1e-6)   # declared, passed QA
    assert f.loc["F1", "area_m2"] != pytest.approx(area((0, 0, 200, 200)), abs=0.1)
    assert any(x.code == "tbmj_mismatch" for x in county.qa.findings)
    assert f.loc["F4", "area_m2"] == pytest.approx(area((600, 0, 800, 200)), rel=1e-7)  # TBMJ off: computed
    assert f.loc["F4", "township"] == "420704101" and f.loc["F4", "village"] == "420704101102"
    assert f.loc["F4", "township_name"] == "杜山镇" and f.loc["F4", "village_name"] == "新港村"
    only = collective_commercial(county, county.config.merged({"inventory": {"collective_dlbm": ["05H1"]}}))
    assert only.features["BSM"].tolist() == ["F4"]


def test_inventory_summary(county):
    r = inventory(county)
    s = r.summary
    # the fixture's 供地 has no 停工/复工/处置/竣工 fields: said in a note, not silently
    lacking = [f for f in ("停工日期", "复工日期", "处置日期", "实际竣工日期") if f not in county.supply.columns]
    if lacking:
        assert any("、".join(lacking) in n for n in s.pop("notes"))
    assert set(s) == {"as_of", "approved_unsupplied_mu", "approved_unsupplied_count", "idle_mu", "idle_count",
                      "inefficient_mu", "inefficient_count", "collective_commercial_mu",
                      "collective_commercial_count", "total_mu", "by_township", "by_cohort"}
    assert s["as_of"] == "2023-12-31"
    assert s["approved_unsupplied_count"] == len(REM)
    assert s["idle_count"] == 1 and s["idle_mu"] == pytest.approx(mu((400, 0, 500, 200)), rel=1e-7)
    assert s["inefficient_count"] == 3 and s["collective_commercial_count"] == 2
    # total: every category's land, overlaps (1号 on F1, 13号 on F4) counted once
    land = [b for v in REM.values() for b in v] + [(400, 0, 500, 200), (0, 0, 200, 200), (600, 0, 800, 200)] \
        + [(x, 400, x + 50, 450) for x in (150, 200, 250)]
    assert s["total_mu"] == pytest.approx(mu(*land), rel=1e-7)
    parts = s["approved_unsupplied_mu"] + s["idle_mu"] + s["inefficient_mu"] + s["collective_commercial_mu"]
    assert s["total_mu"] < parts
    towns = {t["code"]: t for t in s["by_township"]}
    assert set(towns) == {"420704100", "420704101"}
    east = ["鄂土批〔2022〕3号", "鄂土批〔2021〕11号", "鄂土批〔2022〕12号", "鄂土批〔2020〕13号"]
    assert towns["420704101"]["name"] == "杜山镇"
    assert towns["420704101"]["approved_unsupplied_mu"] == pytest.approx(sum(mu(*REM[k]) for k in east), rel=1e-7)
    assert towns["420704101"]["idle_mu"] == pytest.approx(s["idle_mu"])
    assert towns["420704100"]["idle_mu"] == 0.0
    assert sum(t["total_mu"] for t in towns.values()) == pytest.approx(s["total_mu"], rel=1e-7)
    assert s["by_cohort"][1] == {"cohort": "2019年及以后", "approved_unsupplied_mu": s["approved_unsupplied_mu"],
                                 "count": len(REM)}
    assert set(r.layers()) == {"批而未供", "闲置土地", "城镇低效用地", "农村集体经营性建设用地"}
    assert r.approved_unsupplied.crs.to_epsg() == 4526
    import json
    json.dumps(s, ensure_ascii=False)          # JSON-ready
    assert [f.code for f in r.findings].count("supply_date_missing") == 1    # reported once, not per analysis
    for res in [r, *r.results.values()]:
        if hasattr(res, "_repr_html_"):
            assert isinstance(res._repr_html_(), str)


def test_county_without_approvals_or_supply(tmp_path):
    c = lk.read_county(make_county(tmp_path, approvals=False, supply=False, parcels=False, protect=False))
    s = inventory(c).summary
    assert s["approved_unsupplied_mu"] is None and s["approved_unsupplied_count"] is None
    assert s["idle_mu"] is None and s["inefficient_mu"] is None
    assert set(s["missing"]) == {"approvals", "supply", "parcels"}
    assert any("批准用地" in n for n in s["notes"]) and any("供地" in n for n in s["notes"])
    assert s["collective_commercial_count"] == 2 and s["by_cohort"] == []
    assert s["total_mu"] == pytest.approx(mu((0, 0, 200, 200), (600, 0, 800, 200)), rel=1e-7)
    assert all(t["approved_unsupplied_mu"] is None for t in s["by_township"])


def test_county_with_approvals_but_no_supply(tmp_path):
    c = lk.read_county(make_county(tmp_path / "b", supply=False))
    s = inventory(c).summary
    assert s["approved_unsupplied_mu"] is None and "supply" in s["missing"] and "approvals" not in s["missing"]
    assert s["inefficient_count"] == 3


# ---------------------------------------------------------------------------------------------
# 闲置土地 at the edges
# ---------------------------------------------------------------------------------------------

def idle_county(tmp_path, rows, name="idle"):
    """A county with a small DLTB and a supply layer of 50 m squares, one per row dict."""
    d = tmp_path / name / "420704_鄂城区"
    write_shp(dltb(), d / "DLTB.shp")
    cols = ["电子监管号", "项目名称", "土地使用权人", "联系人", "联系电话", "供地日期", "约定动工日期", "实际动工日期",
            "停工日期", "复工日期", "处置日期", "处置方式", "实际竣工日期", "应开发面积", "已开发面积", "总投资额",
            "已投资额", "闲置原因", "出让价款"]
    num = {"应开发面积", "已开发面积", "总投资额", "已投资额", "出让价款"}
    data = {c: [r.get(c, np.nan if c in num else None) for r in rows] for c in cols}
    data["供地日期"] = [r.get("供地日期", "2019-01-01") for r in rows]
    data["项目名称"] = [f"项目{r['电子监管号']}" for r in rows]
    data["土地使用权人"] = [f"某某公司{i}" for i in range(len(rows))]
    data["联系人"] = ["张三"] * len(rows)
    data["联系电话"] = ["13800000000"] * len(rows)
    geoms = [box(50 * (i % 16), 50 * (i // 16), 50 * (i % 16) + 50, 50 * (i // 16) + 50) for i in range(len(rows))]
    write_shp(gpd.GeoDataFrame(data, geometry=geoms, crs=CRS), d / "供地.shp")
    return lk.read_county(d)


STALL = {"实际动工日期": "2020-01-01", "停工日期": "2022-12-31", "应开发面积": 300.0, "已开发面积": 100.0,
         "总投资额": 1000.0, "已投资额": 250.0}

IDLE_ROWS = [
    {"电子监管号": "I01", "约定动工日期": "2022-12-31"},                              # anniversary = D: idle
    {"电子监管号": "I02", "约定动工日期": "2023-01-01"},                              # a day short
    {"电子监管号": "I03", "约定动工日期": "2022-01-01", "实际动工日期": "2024-01-01"},  # started the day after D
    {"电子监管号": "I04", "约定动工日期": "2022-01-01", "实际动工日期": "2023-12-31"},  # started on D
    {"电子监管号": "I05"},                                                          # no 约定动工日期
    {"电子监管号": "I06", "约定动工日期": "明年三月"},                                 # not a date
    {"电子监管号": "I07", **STALL},                                                 # exactly 1/3 and 25 %
    {"电子监管号": "I08", **STALL, "已开发面积": 99.99},
    {"电子监管号": "I09", **STALL, "已投资额": 249.99},
    {"电子监管号": "I10", **STALL, "已开发面积": 99.99, "复工日期": "2023-06-01"},
    {"电子监管号": "I11", **STALL, "已开发面积": 99.99, "停工日期": "2023-01-01"},
    {"电子监管号": "I12", "实际动工日期": "2020-01-01", "停工日期": "2022-01-01"},      # stalled, no figures
    {"电子监管号": "I13", "约定动工日期": "2021-12-31", "闲置原因": "企业原因：资金不足", "出让价款": 500.0},
    {"电子监管号": "I14", "约定动工日期": "2022-01-01", "闲置原因": "企业", "出让价款": 500.0},
    {"电子监管号": "I15", "约定动工日期": "2021-01-01", "闲置原因": "政府原因：规划调整", "出让价款": 500.0},
    {"电子监管号": "I16", "约定动工日期": "2021-01-01", "处置日期": "2023-05-01", "处置方式": "收回"},
    {"电子监管号": "I17", "约定动工日期": "2021-01-01", "供地日期": "2024-03-01"},
    {"电子监管号": "I18", **STALL, "已开发面积": 99.99, "复工日期": "2022-06-01"},    # resumed before it stopped
    {"电子监管号": "I19", "约定动工日期": "2021-01-01", "实际竣工日期": "2023-06-01"},
    {"电子监管号": "I20", "约定动工日期": "2020-02-29"},
    {"电子监管号": "I21", "约定动工日期": "2022-06-01", "停工日期": "某日"},            # bad value elsewhere
]


@pytest.fixture(scope="module")
def idle_c(tmp_path_factory):
    return idle_county(tmp_path_factory.mktemp("idle"), IDLE_ROWS)


def test_idle_rules_at_their_edges(idle_c):
    r = idle_land(idle_c, as_of=D)
    st = dict(zip(r.records["电子监管号"], r.records["status"]))
    assert st["I01"] == "idle_not_started" and st["I02"] == "not_idle"
    assert st["I03"] == "idle_not_started" and st["I04"] == "not_idle"
    assert st["I05"] == "cannot_judge" and st["I06"] == "cannot_judge"
    assert st["I07"] == "not_idle"                        # 1/3 and 25 % exactly: the rule is strictly less
    assert st["I08"] == "idle_stalled" and st["I09"] == "idle_stalled"
    assert st["I10"] == "not_idle" and st["I11"] == "not_idle"
    assert st["I12"] == "cannot_judge"
    assert st["I16"] == "disposed" and st["I17"] == "not_supplied" and st["I19"] == "completed"
    assert st["I18"] == "idle_stalled"
    assert st["I21"] == "cannot_judge"
    f = r.features.set_index("电子监管号")
    assert set(f.index) == {"I01", "I03", "I08", "I09", "I13", "I14", "I15", "I18", "I20"}
    assert f.loc["I01", "idle_since"] == pd.Timestamp("2023-12-31") and f.loc["I01", "idle_days"] == 0
    assert f.loc["I08", "idle_since"] == pd.Timestamp("2023-12-31")
    assert f.loc["I20", "idle_since"] == pd.Timestamp("2021-02-28")
    assert f.loc["I20", "idle_days"] == (D - dt.date(2021, 2, 28)).days
    assert f.loc["I20", "idle_years"] == pytest.approx((D - dt.date(2021, 2, 28)).days / 365.25)
    # holder and contact on every row
    assert f.loc["I03", "土地使用权人"] == "某某公司2" and f.loc["I03", "联系人"] == "张三"
    assert f.loc["I03", "联系电话"] == "13800000000" and f.loc["I03", "项目名称"] == "项目I03"
    # area: the parcel's ellipsoidal area
    assert f.loc["I01", "area_m2"] == pytest.approx(area((0, 0, 50, 50)), rel=1e-7)
    assert r.summary["idle_mu"] == pytest.approx(sum(f["area_m2"]) * MU, rel=1e-12)


def test_idle_cause_fee_and_recovery(idle_c):
    f = idle_land(idle_c, as_of=D).features.set_index("电子监管号")
    assert f.loc["I13", "cause"] == "企业" and f.loc["I13", "idle_fee_wan"] == pytest.approx(0.2 * 500.0)
    assert f.loc["I13", "overdue_years"] == 2 and f.loc["I13", "recover_candidate"]      # 未动工满两年
    assert f.loc["I14", "overdue_years"] == 1 and not f.loc["I14", "recover_candidate"]
    assert f.loc["I14", "idle_fee_wan"] == pytest.approx(100.0)
    assert f.loc["I15", "cause"] == "政府" and np.isnan(f.loc["I15", "idle_fee_wan"])
    assert not f.loc["I15", "recover_candidate"]
    assert pd.isna(f.loc["I01", "cause"]) and not f.loc["I01", "recover_candidate"]


def test_idle_findings_name_rows_and_fields(idle_c):
    r = idle_land(idle_c, as_of=D)
    bad = {(x.field, x.code): x for x in r.findings}
    f = bad[("约定动工日期", "date_unparseable")]
    assert f.features == ["I06"] and "I06" in f.message and "明年三月" in f.message and f.layer == "supply"
    assert bad[("停工日期", "date_unparseable")].features == ["I21"]
    assert "I05" in bad[("约定动工日期", "idle_start_date_missing")].features
    assert bad[("已开发面积", "idle_ratio_missing")].features == ["I12"]


def test_29_february(idle_c):
    def status(day):
        rec = idle_land(idle_c, as_of=day).records
        return rec.loc[rec["电子监管号"] == "I20", "status"].iloc[0]
    assert status(dt.date(2021, 2, 27)) == "not_idle"
    assert status(dt.date(2021, 2, 28)) == "idle_not_started"     # 2020-02-29 + 1 year = 2021-02-28
    assert status("2021-03-01") == "idle_not_started"


@pytest.mark.parametrize("value", ["2022-03-01", "2022/3/1", "20220301", "2022年3月1日", "2022.3.1", "44621",
                                   " 2022-03-01 00:00:00 "])
def test_date_forms(tmp_path, value):
    c = idle_county(tmp_path, [{"电子监管号": "F1", "约定动工日期": value}])
    assert idle_land(c, as_of="2023-02-28").summary["count"] == 0
    f = idle_land(c, as_of="2023-03-01").features
    assert len(f) == 1 and f["idle_since"].iloc[0] == pd.Timestamp("2023-03-01")


def test_datetime_and_numeric_date_columns(tmp_path):
    """实际动工日期 as a datetime column (GeoPackage), 复工日期 numeric (Excel serial / yyyymmdd)."""
    d = tmp_path / "420704_鄂城区"
    write_shp(dltb(), d / "DLTB.shp")
    s = gpd.GeoDataFrame({
        "电子监管号": ["N1", "N2", "N3"], "供地日期": ["2019-01-01"] * 3,
        "实际动工日期": pd.to_datetime(["2020-01-01", "2020-01-01", None]),
        "停工日期": ["2022-03-01", "2022-03-01", None],
        "复工日期": [45000.0, 20230301.0, np.nan],     # 45000 = 2023-03-15 in Excel
        "约定动工日期": ["2020-01-01", "2020-01-01", "2022-03-01"],
        "应开发面积": [100.0] * 3, "已开发面积": [10.0] * 3,
    }, geometry=[box(0, 0, 50, 50), box(50, 0, 100, 50), box(100, 0, 150, 50)], crs=CRS)
    s.to_file(d / "供地.gpkg", engine="pyogrio")
    c = lk.read_county(d)
    assert pd.api.types.is_datetime64_any_dtype(c.supply["实际动工日期"])
    assert pd.api.types.is_numeric_dtype(c.supply["复工日期"])
    st = lambda day: dict(zip(*idle_land(c, as_of=day).records[["电子监管号", "status"]].T.values))  # noqa: E731
    assert st("2023-03-14") == {"N1": "idle_stalled", "N2": "not_idle", "N3": "idle_not_started"}
    assert st("2023-03-15")["N1"] == "not_idle"
    assert st("2023-02-28") == {"N1": "not_idle", "N2": "not_idle", "N3": "not_idle"}


def test_cause_classification():
    s = lk.Settings().inventory
    assert classify_cause("政府原因", s) == "政府" and classify_cause("企业原因", s) == "企业"
    assert classify_cause("未按约定交地", s) == "政府" and classify_cause("资金链断裂", s) == "企业"
    assert classify_cause("非企业原因", s) == "政府"
    assert classify_cause("", s) is None and classify_cause(None, s) is None
    assert classify_cause("说不清", s) == "未明"


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="cohort"):
        lk.Settings().merged({"inventory": {"cohort": [2018]}})      # typo
    with pytest.raises(ConfigError, match="develop_share"):
        lk.Settings().merged({"inventory": {"develop_share": "a third"}})
    assert lk.Settings().merged({"inventory": {"develop_share": "1/2"}}).inventory.develop_share == 0.5


def test_subtract_union_is_fast_at_county_size():
    """200 approvals against 2000 supply features: the per-approval union stays well under a second."""
    rng = np.random.default_rng(7)
    a = np.array([box(x, y, x + rng.uniform(200, 600), y + rng.uniform(200, 600))
                  for x, y in rng.uniform(0, 9000, (200, 2))], dtype=object)
    pick = rng.integers(0, 200, 2000)
    s = []
    for k in pick:
        x1, y1, x2, y2 = a[k].bounds
        x, y = rng.uniform(x1, x2), rng.uniform(y1, y2)
        s.append(shapely.box(x, y, x + rng.uniform(40, 120), y + rng.uniform(40, 120)))
    s = np.array(s, dtype=object)
    t = time.perf_counter()
    rem, m2, touch, _, _ = subtract_union(a, s, CRS, 1.0)
    took = time.perf_counter() - t
    assert took < 1.0
    # spot check against a plain shapely computation
    for i in (0, 57, 199):
        exp = shapely.difference(a[i], shapely.union_all(s)) if len(touch[i]) else a[i]
        assert m2[i] == pytest.approx(float(ellipsoidal_area(gpd.GeoSeries([exp], crs=CRS))[0]), rel=1e-6, abs=1.0)


def test_difference_falls_back_to_grid_on_topology_errors(monkeypatch):
    """A GEOS TopologyException in the difference is redone on the 1 mm grid, never raised."""
    from shapely.errors import GEOSException
    import landkit.analyses.stock as inv
    real = shapely.difference
    calls = []

    def flaky(a, b, grid_size=None, **kw):
        calls.append(grid_size)
        if grid_size is None:
            raise GEOSException("TopologyException: side location conflict")
        return real(a, b, grid_size=grid_size, **kw)
    monkeypatch.setattr(inv.shapely, "difference", flaky)
    a = np.array([box(0, 0, 200, 100), box(300, 0, 400, 100)], dtype=object)
    s = np.array([box(0, 0, 100, 100), box(50, 0, 150, 100)], dtype=object)
    rem, m2, touch, _, fb = subtract_union(a, s, CRS, 1.0)
    assert fb == 1 and calls[-1] == inv.GRID
    assert m2[0] == pytest.approx(area((150, 0, 200, 100)), rel=1e-6)
    assert m2[1] == pytest.approx(area((300, 0, 400, 100)), rel=1e-9)
    assert [list(t) for t in touch] == [[0, 1], []]

"""处置率 of 批而未供 and 闲置土地 on a hand-made county (GBK shapefiles); expected figures are
derived here from the boxes drawn. Year 2024: base date 2023-12-31, period 2024-01-01..12-31."""
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import landkit as lk
from landkit.analyses.disposal import BLOCK_KEYS, block, disposal_rate
from landkit.errors import ConfigError
from landkit.standards.area import ellipsoidal_area

from conftest import X0, Y0, write_shp

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # GDAL laundering long Chinese field names

CRS = "EPSG:4526"
MU = 3 / 2000


def box(x1, y1, x2, y2):
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def mu(*boxes):
    u = shapely.union_all([box(*b) for b in boxes])
    return float(ellipsoidal_area(gpd.GeoSeries([u], crs=CRS))[0]) * MU


def dltb():
    return gpd.GeoDataFrame({
        "BSM": ["F1", "F2"], "DLBM": ["0701", "0101"], "QSXZ": ["20", "30"],
        "ZLDWDM": ["4207041001010000000", "4207041011010000000"], "KCXS": [0.0, 0.0],
    }, geometry=[box(0, 0, 400, 200), box(400, 0, 800, 200)], crs=CRS)


APPROVALS = [  # 批准文号, box, 批准日期, 撤回日期
    ("A1", (0, 0, 200, 100), "2016-05-01", None),
    ("A2", (200, 0, 400, 100), "2019-02-01", "2024-05-01"),        # withdrawn during Y
    ("A3", (400, 0, 600, 100), "2021-01-01", None),
    ("A4", (600, 0, 700, 100), "2024-03-01", None),                # approved after B
    ("A5", (700, 0, 800, 100), "2018-01-01", "2023-06-30"),        # withdrawn before B
]

SUPPLY = [  # 电子监管号, box, 供地日期, extra
    ("T1", (0, 0, 100, 100), "2024-03-01", {}),
    ("T2", (50, 0, 150, 100), "2024/8/1", {}),                     # overlaps T1: counted once
    ("T3", (200, 0, 250, 100), "20240901", {}),                    # on the withdrawn A2: no double count
    ("T4", (400, 0, 500, 100), "2023-12-31", {}),                  # on B: before the base
    ("T5", (500, 0, 600, 100), "2025-01-01", {}),                  # after Y
    ("T6", (550, 0, 600, 100), "2024年12月31日", {}),               # last day of Y
    ("T7", (600, 0, 700, 100), "2024-06-01", {}),                  # on A4, not in the base
    # idle records (50 m squares along y 150..200)
    ("J1", (0, 150, 50, 200), "2018-06-01", {"约定动工日期": "2022-01-01", "实际动工日期": "2024-03-01"}),
    ("J2", (100, 150, 150, 200), "2019-01-01", {"实际动工日期": "2020-01-01", "停工日期": "2022-06-01",
                                                "应开发面积": 1000.0, "已开发面积": 100.0, "复工日期": "2024-02-01"}),
    ("J3", (200, 150, 250, 200), "2019-01-01", {"约定动工日期": "2021-01-01", "处置日期": "2024-07-01",
                                                "处置方式": "收回"}),
    ("J4", (450, 150, 500, 200), "2019-01-01", {"约定动工日期": "2021-06-01"}),
    ("J5", (550, 150, 600, 200), "2019-01-01", {"约定动工日期": "2021-01-01", "处置日期": "2023-06-01"}),
    ("J6", (650, 150, 700, 200), "2019-01-01", {"约定动工日期": "2022-06-01", "实际动工日期": "2025-01-01"}),
    ("J7", (700, 150, 750, 200), "2019-01-01", {"约定动工日期": "2023-06-01"}),   # idle only from 2024-06-01
]


def make_county(tmp_path, *, approvals=True, supply=True, year=2024):
    d = tmp_path / "420704_鄂城区"
    write_shp(dltb(), d / "DLTB.shp")
    write_shp(gpd.GeoDataFrame({"XZQDM": ["420704100", "420704101"], "XZQMC": ["泽林镇", "杜山镇"]},
                               geometry=[box(0, 0, 400, 200), box(400, 0, 800, 200)], crs=CRS), d / "XZQ.shp")
    if approvals:
        write_shp(gpd.GeoDataFrame({"批准文号": [r[0] for r in APPROVALS], "批准日期": [r[2] for r in APPROVALS],
                                    "撤回日期": [r[3] for r in APPROVALS]},
                                   geometry=[box(*r[1]) for r in APPROVALS], crs=CRS), d / "批准用地.shp")
    if supply:
        cols = ["约定动工日期", "实际动工日期", "停工日期", "复工日期", "处置日期", "处置方式", "应开发面积", "已开发面积"]
        data = {"电子监管号": [r[0] for r in SUPPLY], "供地日期": [r[2] for r in SUPPLY]}
        for c in cols:
            data[c] = [r[3].get(c, np.nan if "面积" in c else None) for r in SUPPLY]
        write_shp(gpd.GeoDataFrame(data, geometry=[box(*r[1]) for r in SUPPLY], crs=CRS), d / "供地.shp")
    (d / "landkit.toml").write_text(f"[county]\nyear = {year}\n", encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    return lk.read_county(make_county(tmp_path_factory.mktemp("disp")))


BASE = {"A1": [(0, 0, 200, 100)], "A2": [(200, 0, 400, 100)], "A3": [(500, 0, 600, 100)]}
DISPOSED = {"A1": [(0, 0, 150, 100)], "A2": [(200, 0, 400, 100)], "A3": [(550, 0, 600, 100)]}
IDLE_BASE = {"J1": (0, 150, 50, 200), "J2": (100, 150, 150, 200), "J3": (200, 150, 250, 200),
             "J4": (450, 150, 500, 200), "J6": (650, 150, 700, 200)}
IDLE_DONE = ("J1", "J2", "J3")


def test_summary_shape(county):
    s = disposal_rate(county).summary
    assert set(s) == {"year", "approved_unsupplied", "idle", "by_township", "by_cohort"}
    assert s["year"] == 2024
    assert set(s["approved_unsupplied"]) == set(BLOCK_KEYS) == set(s["idle"])
    for t in s["by_township"]:
        assert set(t) == {"code", "name", "approved_unsupplied", "idle"}
    for c in s["by_cohort"]:
        assert set(c) == {"cohort", "approved_unsupplied", "idle"}
    json.dumps(s, ensure_ascii=False)


def test_approved_unsupplied_rate(county):
    r = disposal_rate(county)
    a = r.summary["approved_unsupplied"]
    base = sum(mu(*v) for v in BASE.values())
    done = sum(mu(*v) for v in DISPOSED.values())
    assert a["base_mu"] == pytest.approx(base, rel=1e-7)
    assert a["disposed_mu"] == pytest.approx(done, rel=1e-7)
    assert a["rate"] == pytest.approx(done / base, rel=1e-7)
    assert a["target"] == 0.25 and a["met"] is True and a["shortfall_mu"] == 0.0
    rows = r.approved_unsupplied.set_index("id")
    assert set(rows.index) == set(BASE)                       # A4 after B, A5 withdrawn before B
    assert rows.loc["A2", "disposal_way"] == "撤回" and rows.loc["A1", "disposal_way"] == "供地"
    assert rows.loc["A1", "disposed_mu"] == pytest.approx(mu(*DISPOSED["A1"]), rel=1e-7)   # T1 ∪ T2 once
    assert r.base_date.isoformat() == "2023-12-31"


def test_per_township_and_cohort(county):
    s = disposal_rate(county).summary
    towns = {t["code"]: t for t in s["by_township"]}
    east = towns["420704101"]
    assert east["name"] == "杜山镇"
    assert east["approved_unsupplied"]["base_mu"] == pytest.approx(mu(*BASE["A3"]), rel=1e-7)
    assert east["approved_unsupplied"]["rate"] == pytest.approx(mu(*DISPOSED["A3"]) / mu(*BASE["A3"]), rel=1e-7)
    west = towns["420704100"]["approved_unsupplied"]
    assert west["base_mu"] == pytest.approx(mu(*BASE["A1"]) + mu(*BASE["A2"]), rel=1e-7)
    by = {c["cohort"]: c for c in s["by_cohort"]}
    old = by["2018年及以前"]["approved_unsupplied"]
    assert old["base_mu"] == pytest.approx(mu(*BASE["A1"]), rel=1e-7)
    assert old["rate"] == pytest.approx(mu(*DISPOSED["A1"]) / mu(*BASE["A1"]), rel=1e-7)
    # idle cohorts follow the 供地 year: only J1 was supplied in 2018
    assert by["2018年及以前"]["idle"]["base_mu"] == pytest.approx(mu(IDLE_BASE["J1"]), rel=1e-7)
    assert by["2018年及以前"]["idle"]["rate"] == pytest.approx(1.0)


def test_idle_rate(county):
    r = disposal_rate(county)
    i = r.summary["idle"]
    base = sum(mu(b) for b in IDLE_BASE.values())
    done = sum(mu(IDLE_BASE[k]) for k in IDLE_DONE)
    assert set(r.idle["id"]) == set(IDLE_BASE)
    assert i["base_mu"] == pytest.approx(base, rel=1e-7) and i["disposed_mu"] == pytest.approx(done, rel=1e-7)
    assert i["rate"] == pytest.approx(done / base, rel=1e-7)
    ways = dict(zip(r.idle["id"], r.idle["disposal_way"]))
    assert ways["J1"] == "动工" and ways["J2"] == "复工" and ways["J3"] == "处置（收回）"
    assert pd.isna(ways["J4"]) and pd.isna(ways["J6"])


def test_target_shortfall_and_cohort_filter(county):
    cfg = county.config.merged({"disposal": {"target": 0.9, "idle_target": 0.5}})
    s = disposal_rate(county, config=cfg).summary
    a = s["approved_unsupplied"]
    assert a["target"] == 0.9 and a["met"] is False
    assert a["shortfall_mu"] == pytest.approx(0.9 * a["base_mu"] - a["disposed_mu"], rel=1e-9)
    assert s["idle"]["target"] == 0.5 and s["idle"]["met"] is True and s["idle"]["shortfall_mu"] == 0.0
    only_old = county.config.merged({"disposal": {"approved_to": 2018}})
    a2 = disposal_rate(county, config=only_old).summary["approved_unsupplied"]
    assert a2["base_mu"] == pytest.approx(mu(*BASE["A1"]), rel=1e-7)


def test_year_argument_and_empty_base(county):
    # 2017: base at 2016-12-31 holds only A1, nothing happened to it in 2017; nothing idle yet
    s = disposal_rate(county, year=2017).summary
    assert s["year"] == 2017
    assert s["approved_unsupplied"]["base_mu"] == pytest.approx(mu(*BASE["A1"]), rel=1e-7)
    assert s["approved_unsupplied"]["rate"] == 0.0 and s["approved_unsupplied"]["met"] is False
    assert s["approved_unsupplied"]["shortfall_mu"] == pytest.approx(0.25 * s["approved_unsupplied"]["base_mu"])
    assert s["idle"]["base_mu"] == 0.0 and s["idle"]["rate"] is None and s["idle"]["met"] is None
    assert s["idle"]["shortfall_mu"] == 0.0


def test_block_edges():
    assert block(1000.0, 250.0, 0.25)["met"] is True                  # exactly the target
    assert block(1000.0, 249.0, 0.25)["met"] is False
    assert block(0.0, 0.0, 0.25)["rate"] is None
    b = block(None, None, 0.25)
    assert b["base_mu"] is None and b["rate"] is None and b["target"] == 0.25


def test_county_without_approvals_or_supply(tmp_path):
    c = lk.read_county(make_county(tmp_path / "a", approvals=False, supply=False))
    s = disposal_rate(c).summary
    assert s["approved_unsupplied"]["base_mu"] is None and s["idle"]["base_mu"] is None
    assert set(s["missing"]) == {"approvals", "supply"} and s["notes"]
    assert s["by_township"] == []
    c2 = lk.read_county(make_county(tmp_path / "b", approvals=False))
    s2 = disposal_rate(c2).summary
    assert s2["approved_unsupplied"]["base_mu"] is None and s2["missing"] == ["approvals"]
    assert s2["idle"]["base_mu"] == pytest.approx(sum(mu(b) for b in IDLE_BASE.values()), rel=1e-7)


def test_settings_are_checked():
    with pytest.raises(ConfigError):
        lk.Settings().merged({"disposal": {"targte": 0.3}})
    with pytest.raises(ConfigError):
        lk.Settings().merged({"disposal": {"target": 25}})        # a percentage, not a fraction

"""控制面积平差 (landkit.analyses.adjust, landkit.pipeline.adjust, ``landkit adjust``) on county
folders written as bureaus write them: GBK shapefiles without .cpg, Chinese field names cut to
10 bytes, a self-intersecting 图斑, a 图斑 without a usable 坐落单位代码, one township with a
控制面积 field value and one without.

Oracles: areas from pyproj.Geod on densified edges (conftest.geod_area_m2), hand-built geometry,
exact rational arithmetic (fractions.Fraction) for the largest-remainder shares and Decimal for
the 田坎 rounding; the exactness of the sums is checked in integer cents.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import pytest
import shapely

from landkit.analyses.adjust import adjust_areas, control_units, distribute_cents, tiankan_cents, to_cents
from landkit.county import read_county
from landkit.errors import InputError
from landkit.pipeline.adjust import run_adjust
from landkit.settings import load_settings

from conftest import X0, Y0, geod_area_m2, write_shp

T1, T2 = "420704100", "420704101"          # 新庙镇 (控制面积 in the field), 燕矶镇 (no value)
XS = {T1: [0.0, 137.3, 402.9, 650.1, 1000.0], T2: [1000.0, 1180.4, 1555.5, 2000.0]}
YS = [0.0, 211.7, 389.2, 600.0]
T1_FACTOR = 1.005                           # T1's 控制面积: its true area + 0.5 % (over tolerance)
KCXS = {"0101": 0.0832, "0103": 0.15, "0102": 0.0345}
CODES = ["0101", "0103", "0701", "0301", "0102", "1101", "0201"]


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def bowtie(x0, y0, x1, y1):
    """A self-intersecting quadrilateral over a cell and the two triangles it stands for."""
    a, b, c, d = (X0 + x0, Y0 + y0), (X0 + x1, Y0 + y1), (X0 + x1, Y0 + y0), (X0 + x0, Y0 + y1)
    mid = (X0 + (x0 + x1) / 2, Y0 + (y0 + y1) / 2)
    return shapely.Polygon([a, b, c, d, a]), [shapely.Polygon([a, mid, d, a]), shapely.Polygon([mid, b, c, mid])]


def county_frames():
    """(DLTB rows with their oracle geometry, townships) in plain Python."""
    rows = []
    for town, xs in XS.items():
        for i in range(len(xs) - 1):
            for j in range(len(YS) - 1):
                k = len(rows)
                g = box(xs[i], YS[j], xs[i + 1], YS[j + 1])
                truth = [g]
                if town == T1 and (i, j) == (1, 1):
                    g, truth = bowtie(xs[i], YS[j], xs[i + 1], YS[j + 1])
                dl = CODES[k % len(CODES)]
                zl = f"{town}{100 + i:03d}0000000"
                if town == T2 and (i, j) == (0, 1):
                    zl = ""                          # no 坐落单位代码: the layer places it
                if town == T2 and (i, j) == (2, 0):
                    zl = "42070410199"               # not 19 digits
                rows.append({"BSM": f"4207042024{k:08d}", "DLBM": dl, "zl": zl, "town": town, "geom": g,
                             "truth": truth, "kcxs": KCXS.get(dl, 0.0)})
    return rows


def truth_area(r) -> float:
    return sum(geod_area_m2(t) for t in r["truth"])


@pytest.fixture(scope="module")
def rows():
    rs = county_frames()
    for r in rs:
        r["area"] = truth_area(r)
    return rs


@pytest.fixture(scope="module")
def town_area():
    return {t: geod_area_m2(box(xs[0], YS[0], xs[-1], YS[-1])) for t, xs in XS.items()}


OFF_BSM = "420704202400000015"               # its declared TBMJ is 50 m² more than its area


def write_county(d, rows, town_area, *, xzq=True, dltb=True, xzq_codes=None, toml=None):
    """The county folder: DLTB.shp with Chinese field names, XZQ.shp with 控制面积, GBK, no .cpg."""
    d.mkdir(parents=True, exist_ok=True)
    if dltb:
        tbmj = np.array([round(r["area"], 2) + (50.0 if r["BSM"] == OFF_BSM else 0.0) for r in rows])
        kcxs = np.array([r["kcxs"] for r in rows])
        kcmj = np.round(tbmj * kcxs, 2)
        write_shp(gpd.GeoDataFrame({
            "标识码": [r["BSM"] for r in rows], "地类编码": [r["DLBM"] for r in rows],
            "坐落单位代码": [r["zl"] for r in rows], "坐落单位名称": ["某某村"] * len(rows),
            "图斑面积": tbmj, "扣除地类系数": kcxs, "扣除地类面积": kcmj, "图斑地类面积": np.round(tbmj - kcmj, 2),
        }, geometry=[r["geom"] for r in rows], crs="EPSG:4526"), d / "DLTB.shp")
    if xzq:
        codes = xzq_codes or [T1, T2]
        write_shp(gpd.GeoDataFrame({
            "XZQDM": codes, "XZQMC": ["新庙镇", "燕矶镇"],
            "控制面积": [round(town_area[T1] * T1_FACTOR, 2), np.nan],
        }, geometry=[box(XS[T1][0], 0, XS[T1][-1], 600), box(XS[T2][0], 0, XS[T2][-1], 600)], crs="EPSG:4526"),
            d / "XZQ.shp")
    if toml:
        (d / "landkit.toml").write_text(toml, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory, rows, town_area):
    return write_county(tmp_path_factory.mktemp("adj") / "420704_鄂城区", rows, town_area)


@pytest.fixture(scope="module")
def result(county_dir):
    county = read_county(county_dir, roles=("dltb", "townships"))
    return county, adjust_areas(county)


def _by_bsm(res):
    return res.features.set_index("BSM")


def cents(x) -> int:
    return int(Decimal(repr(float(x))).scaleb(2).quantize(Decimal(1), ROUND_HALF_UP))


# --------------------------------------------------------------------------------------
# control units and where each 图斑 goes
# --------------------------------------------------------------------------------------


def test_control_areas_from_the_field_and_from_the_ellipsoid(result, town_area):
    _, res = result
    u = res.units.set_index("code")
    assert list(u.index) == [T1, T2]
    assert u.loc[T1, "name"] == "新庙镇" and u.loc[T2, "name"] == "燕矶镇"
    # T1: the field value itself, to the cent
    assert cents(u.loc[T1, "control_m2"]) == cents(round(town_area[T1] * T1_FACTOR, 2))
    assert u.loc[T1, "source"] == "字段 控制面积"
    # T2: the field is empty, so the township polygon's ellipsoidal area (pyproj.Geod oracle)
    assert u.loc[T2, "control_m2"] == pytest.approx(town_area[T2], abs=0.01)
    assert "椭球面积" in u.loc[T2, "source"]
    assert any(f.code == "control_area_missing" and f.features == [f"{T2}（空）"] for f in res.findings)


def test_every_feature_is_in_its_unit_by_code_or_by_location(result, rows):
    _, res = result
    f = _by_bsm(res)
    for r in rows:
        assert f.loc[r["BSM"], "控制单元"] == r["town"], r["BSM"]
        by_layer = len(r["zl"]) != 19
        assert f.loc[r["BSM"], "归属依据"] == ("界线图层" if by_layer else "坐落单位代码"), r["BSM"]
    assert (f["平差状态"] == "已平差").all()


def test_the_bowtie_counts_with_its_two_lobes(result, rows):
    _, res = result
    f = _by_bsm(res)
    bow = next(r for r in rows if len(r["truth"]) == 2)
    assert f.loc[bow["BSM"], "计算面积"] == pytest.approx(bow["area"], rel=1e-7)
    cell = (XS[T1][2] - XS[T1][1]) * (YS[2] - YS[1])
    assert bow["area"] == pytest.approx(cell / 2, rel=2e-3)     # half the cell: a hole in T1


def test_differences_per_unit(result, rows, town_area):
    _, res = result
    u = res.units.set_index("code")
    for t in (T1, T2):
        before = sum(r["area"] for r in rows if r["town"] == t)
        control = round(town_area[T1] * T1_FACTOR, 2) if t == T1 else town_area[T2]
        assert u.loc[t, "features"] == sum(r["town"] == t for r in rows)
        assert u.loc[t, "before_m2"] == pytest.approx(before, abs=1e-3)
        assert u.loc[t, "difference_m2"] == pytest.approx(control - before, abs=0.02)
        assert u.loc[t, "difference_mu"] == pytest.approx((control - before) * 3 / 2000, abs=1e-4)
        assert u.loc[t, "relative"] == pytest.approx((control - before) / control, abs=0.02 / control)
    assert bool(u.loc[T1, "over_tolerance"])            # 0.5 % + the bow-tie's hole
    assert not bool(u.loc[T2, "over_tolerance"])        # tiles its township: a rounding cent at most
    assert abs(u.loc[T2, "difference_m2"]) < 0.02
    assert u["adjusted"].all()


# --------------------------------------------------------------------------------------
# the sums, the shares, the rounding
# --------------------------------------------------------------------------------------


def test_sums_are_exact_per_unit_in_integer_cents(result):
    _, res = result
    f = res.features
    got = (f["TBMJ"] * 100).round().astype(np.int64)
    assert (got.to_numpy() == res.tbmj_cents).all()              # the layer carries the exact cents
    for code, row in res.units.set_index("code").iterrows():
        s = int(got[f["控制单元"] == code].sum())
        assert s == cents(row["control_m2"]), code
        assert cents(row["after_m2"]) == cents(row["control_m2"])


def test_shares_are_proportional_to_the_ellipsoidal_areas(result, rows, town_area):
    _, res = result
    f = _by_bsm(res)
    for t in (T1, T2):
        mine = [r for r in rows if r["town"] == t]
        total = sum(r["area"] for r in mine)
        control = round(town_area[T1] * T1_FACTOR, 2) if t == T1 else town_area[T2]
        for r in mine:
            share = r["area"] * control / total
            assert abs(f.loc[r["BSM"], "TBMJ"] - share) <= 0.0101, r["BSM"]
            assert f.loc[r["BSM"], "平差值"] == pytest.approx(f.loc[r["BSM"], "TBMJ"] - f.loc[r["BSM"], "计算面积"])
    # T1 is short by 0.5 % and the bow-tie's hole: every 图斑 grew by the same ratio
    ratio = (f["TBMJ"] / f["计算面积"])[f["控制单元"] == T1]
    assert ratio.min() == pytest.approx(ratio.max(), abs=1e-6) and ratio.mean() > 1.005


def test_largest_remainder_against_exact_fractions(result):
    _, res = result
    f = res.features
    for code, row in res.units.set_index("code").iterrows():
        sel = (f["控制单元"] == code).to_numpy()
        a = [Fraction(float(x)) for x in f.loc[sel, "计算面积"]]
        c = cents(row["control_m2"])
        shares = [x * c / sum(a) for x in a]
        floors = [s.numerator // s.denominator for s in shares]
        k = c - sum(floors)
        assert 0 <= k < len(a)
        order = sorted(range(len(a)), key=lambda i: (-(shares[i] - floors[i]), i))
        expected = list(floors)
        for i in order[:k]:
            expected[i] += 1
        assert list(res.tbmj_cents[sel]) == expected, code


def test_tiankan_follows_the_adjusted_area_exactly(result):
    _, res = result
    f = res.features
    n_kc = 0
    for t, k, kc, dl in zip(f["TBMJ"], f["KCXS"], f["KCMJ"], f["TBDLMJ"]):
        dt_, dk = Decimal(repr(t)), Decimal(repr(k))
        want = (dt_ * dk).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert Decimal(repr(kc)).quantize(Decimal("0.01")) == want
        assert Decimal(repr(dl)).quantize(Decimal("0.01")) == dt_.quantize(Decimal("0.01")) - want
        n_kc += want > 0
    assert n_kc >= 6


def test_declared_values_kept_beside_the_adjusted(result, county_dir):
    _, res = result
    src = gpd.read_file(county_dir / "DLTB.shp", encoding="gbk").set_index("标识码")
    assert {"坐落单位代", "扣除地类系", "扣除地类面", "图斑地类面"} <= set(src.columns)   # cut to 10 bytes
    f = _by_bsm(res)
    assert (f["原TBMJ"] == src.loc[f.index, "图斑面积"]).all()
    assert (f["原KCMJ"] == src.loc[f.index, "扣除地类面"]).all()
    assert (f["原TBDLMJ"] == src.loc[f.index, "图斑地类面"]).all()
    assert f.loc[OFF_BSM, "原TBMJ"] - f.loc[OFF_BSM, "TBMJ"] > 40


# --------------------------------------------------------------------------------------
# the integer kernel on its own
# --------------------------------------------------------------------------------------


def test_distribute_cents_many_units_random():
    rng = np.random.default_rng(7)
    n, m = 20_000, 37
    base = rng.lognormal(7, 2, n)
    base[rng.choice(n, 30)] = 0.0                         # zero-area slivers get no cent
    u = rng.integers(0, m, n)
    s = np.bincount(u, weights=base, minlength=m)
    c = to_cents(s * (1 + rng.normal(0, 3e-3, m)))
    out = distribute_cents(base, u, c)
    assert (np.bincount(u, weights=out, minlength=m).astype(np.int64) == c).all()
    exact = base * c[u] / s[u]                            # exact shares, cents
    assert np.all(np.abs(out - exact) < 1.0 + 1e-6)
    assert (out[base == 0] == 0).all()


def test_distribute_cents_free_features_and_one_feature_units():
    out = distribute_cents([10.004, 10.005, 3.3333], [-1, 0, 1], [1200, 77])
    assert list(out) == [1000, 1200, 77]                   # -1: rounded half up; units: their control
    out = distribute_cents([1.0, 1.0, 1.0], [0, 0, 0], [100])   # 33.33… each: the earliest gets the cent
    assert list(out) == [34, 33, 33]


def test_tiankan_cents_half_up_in_integers():
    kc, dl = tiankan_cents(np.array([1000, 12345, 100, 5000]), np.array([0.15, 0.0832, 1.5, np.nan]))
    assert list(kc) == [150, 1027, 0, 0]                   # 123.45 × 0.0832 = 10.27104 → 10.27
    assert list(kc + dl) == [1000, 12345, 100, 5000]
    kc, _ = tiankan_cents(np.array([1]), np.array([0.5]))  # 0.005 → 0.01 (half up)
    assert kc[0] == 1


def test_control_field_in_mu_and_a_village_level_layer():
    g = [box(0, 0, 100, 100), box(100, 0, 200, 100), box(0, 100, 200, 200)]
    t = gpd.GeoDataFrame({"XZQDM": ["420704100101", "420704100102", "420704101201"], "XZQMC": ["甲村", "乙村", "丙村"],
                          "KZMJ": [15.0, None, "abc"]}, geometry=g, crs="EPSG:4526")
    cfg = load_settings(None, {"adjust": {"control_unit": "mu", "level": "township"}}).adjust
    u, findings = control_units(t, cfg)
    t100 = u.set_index("code").loc["420704100"]
    assert t100["parts"] == 2 and t100["name"] is None       # two villages of one township
    assert cents(t100["control_m2"]) == 1_000_000 + cents(geod_area_m2(g[1]))   # 15 亩 = 10000 m²
    assert "1 个要素无有效值" in t100["source"]
    assert any("420704101201（abc）" in f.features for f in findings)
    cfg = load_settings(None, {"adjust": {"level": "village"}}).adjust
    u, _ = control_units(t, cfg)
    assert list(u["code"]) == ["420704100101", "420704100102", "420704101201"]
    assert list(u["name"]) == ["甲村", "乙村", "丙村"]


# --------------------------------------------------------------------------------------
# settings that change the outcome
# --------------------------------------------------------------------------------------


def test_over_tolerance_unit_left_alone_when_asked(county_dir):
    county = read_county(county_dir, {"adjust": {"adjust_over_tolerance": False}}, roles=("dltb", "townships"))
    res = adjust_areas(county)
    f = res.features
    t1 = f["控制单元"] == T1
    assert f.loc[t1, "平差状态"].str.startswith("未平差").all()
    assert (f.loc[t1, "TBMJ"] == np.round(f.loc[t1, "计算面积"], 2)).all()
    assert (f.loc[~t1, "平差状态"] == "已平差").all()
    u = res.units.set_index("code")
    assert not u.loc[T1, "adjusted"] and u.loc[T2, "adjusted"]
    assert "按设置未平差" in u.loc[T1, "note"]


def test_village_level_by_zldwdm_and_by_a_village_layer(tmp_path, rows, town_area):
    # 村级调查区 as the townships role: the two townships' polygons split into their villages
    d = tmp_path / "420704_鄂城区"
    write_county(d, rows, town_area, xzq=False)
    vill = []
    for town, xs in XS.items():
        for i in range(len(xs) - 1):
            vill.append((f"{town}{100 + i:03d}", box(xs[i], 0, xs[i + 1], 600)))
    write_shp(gpd.GeoDataFrame({"XZQDM": [v[0] for v in vill], "XZQMC": [f"第{i}村" for i in range(len(vill))]},
                               geometry=[v[1] for v in vill], crs="EPSG:4526"), d / "CJDCQ.shp")
    (d / "landkit.toml").write_text('[layers]\ntownships = "CJDCQ.shp"\n[adjust]\nlevel = "village"\n', encoding="utf-8")
    county = read_county(d, roles=("dltb", "townships"))
    res = adjust_areas(county)
    assert len(res.units) == len(vill)
    f = res.features
    for code, geom in vill:
        sel = f["控制单元"] == code
        assert sel.sum() == 3
        assert cents(res.units.set_index("code").loc[code, "control_m2"]) == cents(geod_area_m2(geom)) or \
            abs(res.units.set_index("code").loc[code, "control_m2"] - geod_area_m2(geom)) <= 0.01
        assert int(np.rint(f.loc[sel, "TBMJ"] * 100).sum()) == cents(res.units.set_index("code").loc[code, "control_m2"])


def test_a_unit_the_layer_lacks_is_reported_not_adjusted(tmp_path, rows, town_area):
    rs = [dict(r) for r in rows]
    moved = next(r for r in rs if r["town"] == T2 and len(r["zl"]) == 19)
    moved["zl"] = "4207041059990000000"            # a township the XZQ layer does not have
    d = write_county(tmp_path / "420704_鄂城区", rs, town_area)
    res = adjust_areas(read_county(d, roles=("dltb", "townships")))
    u = res.units.set_index("code")
    assert "420704105" in u.index and np.isnan(u.loc["420704105", "control_m2"])
    f = _by_bsm(res)
    assert f.loc[moved["BSM"], "平差状态"] == "未平差：控制单元图层中没有此单元"
    assert f.loc[moved["BSM"], "TBMJ"] == round(f.loc[moved["BSM"], "计算面积"], 2)
    assert bool(u.loc[T2, "over_tolerance"])         # its area is now missing from 燕矶镇
    assert any(x.code == "adjust_unit_missing" and x.features == ["420704105"] for x in res.findings)


# --------------------------------------------------------------------------------------
# QA: declared TBMJ against the adjusted areas
# --------------------------------------------------------------------------------------


def test_declared_tbmj_compared_with_the_adjusted(county_dir, rows, town_area, tmp_path):
    s = run_adjust(county_dir, tmp_path / "out")
    expected = set()
    for t in (T1, T2):
        mine = [r for r in rows if r["town"] == t]
        total = sum(r["area"] for r in mine)
        control = round(town_area[T1] * T1_FACTOR, 2) if t == T1 else town_area[T2]
        for r in mine:
            declared = round(r["area"], 2) + (50.0 if r["BSM"] == OFF_BSM else 0.0)
            diff = abs(declared - r["area"] * control / total)
            assert not 0.95 < diff < 1.05                 # nothing on the edge of the 1 m² tolerance
            if diff > 1.0:
                expected.add(r["BSM"])
    assert OFF_BSM in expected and len(expected) < len(rows)
    found = [f for f in s["qa"]["findings"] if f["code"] == "tbmj_adjusted_mismatch"]
    assert len(found) == 1 and set(found[0]["features"]) == expected and found[0]["count"] == len(expected)
    assert s["tbmj_check"]["over_tolerance"] == len(expected)
    wb = openpyxl.load_workbook(tmp_path / "out" / "平差.xlsx")
    ws = wb["面积核对"]
    listed = {r[0] for r in ws.iter_rows(min_row=4, values_only=True) if r[0] and r[0] != "合计"}
    assert listed == expected


# --------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------


def _cli(*args):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "landkit.cli", "adjust", *map(str, args)],
                          check=False, capture_output=True, text=True, env=env, timeout=300)


def test_cli_writes_the_layer_the_workbook_and_the_summary(county_dir, tmp_path, rows):
    out = tmp_path / "平差结果"
    r = _cli(county_dir, "-o", out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "2 个乡镇控制单元，2 个已平差，1 个差值超限" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == ["summary.json", "平差.xlsx", "平差地类图斑.gpkg"]
    assert pyogrio.list_layers(out / "平差地类图斑.gpkg")[:, 0].tolist() == ["地类图斑", "平差单元"]
    g = gpd.read_file(out / "平差地类图斑.gpkg", layer="地类图斑")
    assert len(g) == len(rows) and g.crs.to_epsg() == 4526
    for code in (T1, T2):
        sel = g["控制单元"] == code
        units = gpd.read_file(out / "平差地类图斑.gpkg", layer="平差单元").set_index("单元代码")
        assert int(np.rint(g.loc[sel, "TBMJ"] * 100).sum()) == cents(units.loc[code, "控制面积(平方米)"])
    assert {"原TBMJ", "原KCMJ", "原TBDLMJ", "计算面积", "平差值", "平差状态", "BSM", "ZLDWDM"} <= set(g.columns)
    text = (out / "summary.json").read_text(encoding="utf-8")
    s = json.loads(text)
    assert s["kind"] == "landkit-adjust" and s["adjust"]["unit_count"] == 2
    assert s["generated_at"].endswith("+08:00")                          # Beijing time
    assert s["adjust"]["adjusted_sum_m2"] == s["adjust"]["adjusted_control_m2"] == s["adjust"]["control_m2"]
    assert [u["code"] for u in s["units"]] == [T1, T2]
    assert str(tmp_path) not in text and str(county_dir) not in text      # no machine paths
    wb = openpyxl.load_workbook(out / "平差.xlsx")
    assert wb.sheetnames == ["汇总", "平差单元", "面积核对", "数据质检"]
    ws = wb["平差单元"]
    head = [c.value for c in ws[3]]
    body = {r[0]: dict(zip(head, r)) for r in ws.iter_rows(min_row=4, values_only=True)}
    assert body[T1]["超限"] == "是" and body[T2]["超限"] is None
    assert body[T1]["平差后面积合计(平方米)"] == body[T1]["控制面积(平方米)"]
    assert ws.cell(4, head.index("差值(平方米)") + 1).fill.fgColor.rgb.endswith("FCE4D6")
    qa = [r[3] for r in wb["数据质检"].iter_rows(min_row=3, values_only=True)]
    assert any("自相交" in (m or "") for m in qa)       # the bow-tie repaired on reading


def test_cli_without_townships_layer(tmp_path, rows, town_area):
    d = write_county(tmp_path / "420704_鄂城区", rows, town_area, xzq=False)
    out = tmp_path / "out"
    r = _cli(d, "-o", out)
    assert r.returncode == 1
    assert r.stderr.startswith("错误：没有控制单元") and "XZQ" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_cli_without_dltb(tmp_path, rows, town_area):
    d = write_county(tmp_path / "420704_鄂城区", rows, town_area, dltb=False)
    r = _cli(d, "-o", tmp_path / "out")
    assert r.returncode == 1 and "没有找到地类图斑（DLTB）图层" in r.stderr and "Traceback" not in r.stderr


def test_village_level_on_a_township_layer_is_explained(tmp_path, rows, town_area):
    d = write_county(tmp_path / "420704_鄂城区", rows, town_area, toml='[adjust]\nlevel = "village"\n')
    r = _cli(d, "-o", tmp_path / "out")
    assert r.returncode == 1
    assert "level = \"village\"" in r.stderr and "9 位乡镇代码" in r.stderr and "XZQ.shp" in r.stderr


def test_invalid_township_codes_are_explained(tmp_path, rows, town_area):
    d = write_county(tmp_path / "420704_鄂城区", rows, town_area, xzq_codes=["新庙镇", "燕矶"],
                     toml="[qa]\nmax_invalid_share = 1.0\n")
    with pytest.raises(InputError) as e:
        run_adjust(d, tmp_path / "out")
    assert "没有控制单元" in e.value.message and "新庙镇" in e.value.message and e.value.field == "XZQDM"


def test_bad_adjust_setting_is_a_config_error(tmp_path, rows, town_area):
    d = write_county(tmp_path / "420704_鄂城区", rows, town_area, toml='[adjust]\nlevle = "village"\n')
    r = _cli(d, "-o", tmp_path / "out")
    assert r.returncode == 1 and "[adjust] 中有未知配置项 'levle'（是否应为 level？）" in r.stderr

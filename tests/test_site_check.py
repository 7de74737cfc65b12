"""`landkit overlap` (landkit.pipeline.site_check.run_site_check): a drawn site file in another CRS
checked against a small county folder; 压占检查.xlsx and 压占检查.gpkg, with the overlaps checked
against shapely intersections measured independently with pyproj.Geod."""
import geopandas as gpd
import openpyxl
import pyogrio
import pyproj
import pytest
import shapely

from landkit.errors import InputError
from landkit.pipeline.site_check import run_site_check

from conftest import X0, Y0, geod_area_m2, write_shp

MU = 3 / 2000


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


YJ = {"Y1": (box(0, 0, 137.5, 100), 0.1), "Y2": (box(300, 0, 400, 100), 0.0)}
STBHHX = box(100, 0, 200, 100)
CZKFBJ = box(-1000, -1000, 250, 1000)
GD = {"D0": (box(0, 0, 100, 100), 0.1), "D1": (box(100, 0, 200, 100), 0.05)}     # 耕地 in DLTB
SITES = {"某某物流园": box(20.5, 10.2, 80.7, 55.9),          # inside Y1
         "某某学校": box(120, 30, 320, 70),                  # across Y1 and Y2
         "某某公园": box(500, 500, 560, 540),                # nowhere
         "边角地块": box(137.49, 90, 150, 140)}               # 0.1 m² over Y1: a sliver


def _county(d, extra=True):
    dl = gpd.GeoDataFrame({"BSM": ["D0", "D1", "D2", "D3"], "DLBM": ["0101", "0103", "0701", "0301"],
                           "ZLDWDM": ["4207041001010000000"] * 4, "KCXS": [0.1, 0.05, 0.0, 0.0]},
                          geometry=[box(100 * i, 0, 100 * (i + 1), 100) for i in range(4)], crs="EPSG:4526")
    write_shp(dl, d / "DLTB.shp")
    write_shp(gpd.GeoDataFrame({"YJJBNTTBBH": list(YJ), "KCXS": [v[1] for v in YJ.values()]},
                               geometry=[v[0] for v in YJ.values()], crs="EPSG:4526"), d / "永久基本农田.shp")
    if extra:
        write_shp(gpd.GeoDataFrame({"HXMC": ["长港湿地"]}, geometry=[STBHHX], crs="EPSG:4526"), d / "STBHHX.shp")
        write_shp(gpd.GeoDataFrame({"GHFQMC": ["城镇集中建设区"]}, geometry=[CZKFBJ], crs="EPSG:4526"), d / "CZKFBJ.shp")
    return d


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    return _county(tmp_path_factory.mktemp("c") / "420704_鄂城区")


def _lonlat_site(path, names=SITES, field="项目名称"):
    g = gpd.GeoDataFrame({field: list(names)}, geometry=list(names.values()), crs="EPSG:4526").to_crs(4490)
    g.to_file(path, driver="GeoJSON")
    return path


def _back_in_4526(geom_4490):
    """The site as landkit must see it: its lon/lat vertices projected to EPSG:4526 (pyproj)."""
    tr = pyproj.Transformer.from_crs(4490, 4526, always_xy=True)
    return shapely.transform(geom_4490, lambda xy: shapely.get_coordinates(shapely.points(
        list(zip(*tr.transform(xy[:, 0], xy[:, 1]))))))


@pytest.fixture(scope="module")
def checked(county, tmp_path_factory):
    base = tmp_path_factory.mktemp("site")
    site = _lonlat_site(base / "项目 红线.geojson")
    out = base / "压占结果"
    s = run_site_check(site, county, out)
    drawn = gpd.read_file(site).set_index("项目名称")
    geoms = {k: _back_in_4526(drawn.geometry[k]) for k in SITES}
    return s, out, geoms


def expected(g):
    ov = {k: geod_area_m2(g.intersection(y)) for k, (y, _) in YJ.items()}
    ov = {k: a for k, a in ov.items() if a >= 1.0}           # pieces under 1 m² are not counted
    net = sum(a * (1 - YJ[k][1]) for k, a in ov.items())
    gd = sum(geod_area_m2(g.intersection(c)) for c, _ in GD.values())
    return {"area": geod_area_m2(g), "yj": sum(ov.values()), "net": net, "ids": "、".join(sorted(ov)),
            "gd": gd, "stbhhx": geod_area_m2(g.intersection(STBHHX)),
            "outside": geod_area_m2(g.difference(CZKFBJ))}


def _sheet(path, name="压占检查"):
    ws = openpyxl.load_workbook(path)[name]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    hr = next(i for i, r in enumerate(rows) if r[0] == "编号")
    body = {r[0]: r for r in rows[hr + 1:] if r[0] not in (None, "合计")}
    total = next((r for r in rows[hr + 1:] if r[0] == "合计"), None)
    return rows[hr], body, total, ws


def near2(cell, exact):
    assert cell == round(cell, 2) and abs(cell - exact) <= 0.005 + 1e-9, (cell, exact)


def test_outputs_written_and_no_staging_left(checked):
    s, out, _ = checked
    assert sorted(p.name for p in out.iterdir()) == ["压占检查.gpkg", "压占检查.xlsx"]
    assert {n for n, _ in pyogrio.list_layers(out / "压占检查.gpkg")} == {"地块", "压占部分"}


def test_summary_figures(checked):
    s, _, geoms = checked
    e = {k: expected(g) for k, g in geoms.items()}
    assert s["features_checked"] == 4
    assert s["features_overlapping"] == sum(1 for v in e.values() if v["yj"] > 0) == 2
    assert s["tolerance_m2"] == 1.0
    assert s["area_mu"] == pytest.approx(sum(v["area"] for v in e.values()) * MU, rel=1e-7)
    assert s["overlap_mu"] == pytest.approx(sum(v["yj"] for v in e.values()) * MU, rel=1e-7)
    assert s["overlap_net_mu"] == pytest.approx(sum(v["net"] for v in e.values()) * MU, rel=1e-7)
    assert s["stbhhx_mu"] == pytest.approx(sum(v["stbhhx"] for v in e.values()) * MU, rel=1e-7)
    assert s["outside_czkfbj_mu"] == pytest.approx(sum(v["outside"] for v in e.values()) * MU, rel=1e-7)


def test_workbook_rows(checked):
    _, out, geoms = checked
    head, body, total, ws = _sheet(out / "压占检查.xlsx")
    assert head == ["编号", "面积(亩)", "压占永久基本农田(亩)", "扣除田坎(亩)", "压占比例", "永久基本农田图斑编号",
                    "占用耕地(亩)", "占用生态保护红线(亩)", "城镇开发边界外(亩)"]
    assert set(body) == set(SITES)
    for name, g in geoms.items():
        e, r = expected(g), body[name]
        near2(r[1], e["area"] * MU)
        near2(r[2], e["yj"] * MU)
        near2(r[3], e["net"] * MU)
        assert r[4] == pytest.approx(e["yj"] / e["area"], abs=5e-5)
        assert (r[5] or "") == e["ids"]
        near2(r[6], e["gd"] * MU)
        near2(r[7], e["stbhhx"] * MU)
        near2(r[8], e["outside"] * MU)
    assert body["某某学校"][5] == "Y1、Y2" and body["某某公园"][2] == 0 and body["边角地块"][2] == 0
    near2(total[2], sum(expected(g)["yj"] for g in geoms.values()) * MU)
    assert "项目 红线.geojson" in ws.cell(1, 1).value and "1 m²" in ws.cell(2, 1).value


def test_workbook_summary_sheet(checked):
    s, out, _ = checked
    ws = openpyxl.load_workbook(out / "压占检查.xlsx")["汇总"]
    kv = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}
    assert kv["检查地块数"] == 4 and kv["压占永久基本农田的地块数"] == 2
    near2(kv["压占永久基本农田(亩)"], s["overlap_mu"])
    near2(kv["压占永久基本农田扣除田坎(亩)"], s["overlap_net_mu"])
    near2(kv["地块总面积(亩)"], s["area_mu"])


def test_gpkg_layers(checked):
    _, out, geoms = checked
    sites = gpd.read_file(out / "压占检查.gpkg", layer="地块")
    assert sites.crs.to_epsg() == 4526 and set(sites["编号"]) == set(SITES)        # the county's CRS
    for _, r in sites.iterrows():
        g = geoms[r["编号"]]
        assert r.geometry.symmetric_difference(g).area < 1e-6
        assert r["yjjbnt_m2"] == pytest.approx(expected(g)["yj"], rel=1e-7, abs=1e-9)
    pieces = gpd.read_file(out / "压占检查.gpkg", layer="压占部分")
    exact = sum(expected(g)["yj"] for g in geoms.values())
    assert sum(geod_area_m2(p, "EPSG:4526") for p in pieces.geometry) == pytest.approx(exact, rel=1e-6)


def test_shapefile_site_with_plot_numbers_and_no_extra_layers(tmp_path):
    """A GBK shapefile of plots named by 地块编号, against a county with only DLTB and 永久基本农田."""
    county = _county(tmp_path / "420704_鄂城区", extra=False)
    g = SITES["某某学校"]
    site = write_shp(gpd.GeoDataFrame({"地块编号": ["DK-01", "DK-02"], "备注": ["东区", "西区"]},
                                      geometry=[g, SITES["某某公园"]], crs="EPSG:4526"), tmp_path / "地块.shp")
    out = tmp_path / "out"
    s = run_site_check(site, county, out)
    head, body, _, _ = _sheet(out / "压占检查.xlsx")
    assert "占用生态保护红线(亩)" not in head and "城镇开发边界外(亩)" not in head and "占用耕地(亩)" in head
    assert set(body) == {"DK-01", "DK-02"}
    near2(body["DK-01"][2], expected(g)["yj"] * MU)
    assert s["overlap_mu"] == pytest.approx(expected(g)["yj"] * MU, rel=1e-7)
    assert "stbhhx_mu" not in s and "outside_czkfbj_mu" not in s


def test_id_field_choice(county, tmp_path):
    site = _lonlat_site(tmp_path / "s.geojson", {"甲": SITES["某某物流园"], "乙": SITES["某某公园"]}, field="名称")
    s = run_site_check(site, county, tmp_path / "a")
    assert set(_sheet(tmp_path / "a" / "压占检查.xlsx")[1]) == {"甲", "乙"}
    with pytest.raises(InputError) as e:
        run_site_check(site, county, tmp_path / "b", id_field="宗地号")
    assert e.value.field == "宗地号" and "宗地号" in str(e.value)
    assert not (tmp_path / "b").exists()


def test_site_without_a_name_field_gets_numbers(county, tmp_path):
    g = gpd.GeoDataFrame({"面积": [1.0, 2.0]}, geometry=[SITES["某某物流园"], SITES["某某公园"]],
                         crs="EPSG:4526").to_crs(4490)
    g.to_file(tmp_path / "s.geojson", driver="GeoJSON")
    run_site_check(tmp_path / "s.geojson", county, tmp_path / "o")
    # unnamed sites are labelled by their FID (0-based, as ArcGIS shows them), like every message
    assert set(_sheet(tmp_path / "o" / "压占检查.xlsx")[1]) == {"FID 0", "FID 1"}


def test_county_without_yjjbnt_is_refused(tmp_path):
    d = tmp_path / "420704_鄂城区"
    write_shp(gpd.GeoDataFrame({"BSM": ["1"], "DLBM": ["0101"], "ZLDWDM": ["4207041001010000000"]},
                               geometry=[box(0, 0, 100, 100)], crs="EPSG:4526"), d / "DLTB.shp")
    site = _lonlat_site(tmp_path / "s.geojson", {"甲": SITES["某某物流园"]})
    out = tmp_path / "o"
    with pytest.raises(InputError) as e:
        run_site_check(site, d, out)
    assert "永久基本农田" in str(e.value)
    assert not out.exists() or not any(out.iterdir())


# --------------------------------------------------------------------------------------
# a county folder holding only 永久基本农田 (no DLTB): the check runs, and says what it left out
# --------------------------------------------------------------------------------------

def _yjjbnt_only(d):
    """Only YJJBNTBHTB.shp, GBK without .cpg (Chinese text in 地类名称), as a bureau sends it."""
    write_shp(gpd.GeoDataFrame({"YJJBNTTBBH": list(YJ), "DLMC": ["水田", "旱地"], "KCXS": [v[1] for v in YJ.values()]},
                               geometry=[v[0] for v in YJ.values()], crs="EPSG:4526"), d / "YJJBNTBHTB.shp")
    return d


def _overlap_cli(*args):
    import os
    import subprocess
    import sys
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "landkit.cli", "overlap", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_overlap_with_only_a_yjjbnt_layer(tmp_path):
    county = _yjjbnt_only(tmp_path / "420704_鄂城区")
    site = write_shp(gpd.GeoDataFrame({"项目名称": list(SITES)}, geometry=list(SITES.values()), crs="EPSG:4526")
                     .to_crs(4490), tmp_path / "项目红线.shp")                  # lon/lat GBK shapefile
    out = tmp_path / "结果"
    r = _overlap_cli(site, "--county", county, "-o", out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    # what needs a missing layer is said, not silently dropped
    assert "占用耕地：未计算（该县文件夹没有地类图斑（DLTB）图层）" in r.stdout
    assert "占用生态保护红线：未计算" in r.stdout and "城镇开发边界外：未计算" in r.stdout
    drawn = gpd.read_file(site, encoding="gbk").set_index("项目名称")
    geoms = {k: _back_in_4526(drawn.geometry[k]) for k in SITES}
    head, body, total, ws = _sheet(out / "压占检查.xlsx")
    assert head == ["编号", "面积(亩)", "压占永久基本农田(亩)", "扣除田坎(亩)", "压占比例", "永久基本农田图斑编号"]
    assert set(body) == set(SITES)
    for name, g in geoms.items():          # independent: pyproj.Geod areas of shapely intersections
        e, row = expected(g), body[name]
        near2(row[1], e["area"] * MU)
        near2(row[2], e["yj"] * MU)
        near2(row[3], e["net"] * MU)
        assert (row[5] or "") == e["ids"]
    assert "占用耕地未计算（该县文件夹没有地类图斑（DLTB）图层）" in ws.cell(2, 1).value
    kv = {row[0]: row[1:] for row in openpyxl.load_workbook(out / "压占检查.xlsx")["汇总"].iter_rows(values_only=True)}
    assert kv["占用耕地(亩)"] == ("未计算", "该县文件夹没有地类图斑（DLTB）图层")
    sites = gpd.read_file(out / "压占检查.gpkg", layer="地块").set_index("编号")
    exact = {k: expected(g)["yj"] for k, g in geoms.items()}
    for k, v in exact.items():
        assert sites.loc[k, "yjjbnt_m2"] == pytest.approx(v, rel=1e-7, abs=1e-9)
    assert "gd_m2" not in sites.columns


def test_yjjbnt_only_summary_and_the_read_option(tmp_path):
    from landkit.county import read_county
    county = _yjjbnt_only(tmp_path / "420704_鄂城区")
    c = read_county(county, require=("yjjbnt",))
    assert c.dltb is None and c.yjjbnt is not None and c.usable and c.crs.to_epsg() == 4526
    with pytest.raises(InputError, match="地类图斑"):          # the default still needs the DLTB
        read_county(county)
    site = _lonlat_site(tmp_path / "s.geojson")
    s = run_site_check(site, county, tmp_path / "o")
    assert [n["item"] for n in s["not_computed"]] == ["占用耕地", "占用生态保护红线", "城镇开发边界外"]
    assert "cultivated_mu" not in s
    geoms = {k: _back_in_4526(g) for k, g in gpd.read_file(site).set_index("项目名称").geometry.items()}
    assert s["overlap_mu"] == pytest.approx(sum(expected(g)["yj"] for g in geoms.values()) * MU, rel=1e-7)
    assert s["overlap_net_mu"] == pytest.approx(sum(expected(g)["net"] for g in geoms.values()) * MU, rel=1e-7)


def test_overlap_ignores_layers_it_does_not_use(tmp_path):
    """A broken 卫片 layer (truncated .dbf) does not stop the 永农 check, which never reads it."""
    county = _county(tmp_path / "420704_鄂城区")
    p = write_shp(gpd.GeoDataFrame({"监测编号": ["W1"], "判定类型": ["违法"]}, geometry=[box(0, 0, 50, 50)],
                                   crs="EPSG:4526"), county / "卫片图斑.shp")
    with open(p.with_suffix(".dbf"), "r+b") as f:
        f.truncate(40)
    s = run_site_check(_lonlat_site(tmp_path / "s.geojson"), county, tmp_path / "o")
    assert s["features_checked"] == len(SITES) and s["not_computed"] == [] and s["cultivated_mu"] > 0


def test_dltb_without_farmland_gives_zero_not_a_missing_column(tmp_path):
    d = tmp_path / "420704_鄂城区"
    _yjjbnt_only(d)
    write_shp(gpd.GeoDataFrame({"BSM": ["D0"], "DLBM": ["0701"], "ZLDWDM": ["4207041001010000000"]},
                               geometry=[box(0, 0, 400, 100)], crs="EPSG:4526"), d / "DLTB.shp")
    out = tmp_path / "o"
    s = run_site_check(_lonlat_site(tmp_path / "s.geojson"), d, out)
    assert s["cultivated_mu"] == 0.0 and [n["item"] for n in s["not_computed"]] == ["占用生态保护红线", "城镇开发边界外"]
    head, body, _, _ = _sheet(out / "压占检查.xlsx")
    assert "占用耕地(亩)" in head and all(r[head.index("占用耕地(亩)")] == 0 for r in body.values())

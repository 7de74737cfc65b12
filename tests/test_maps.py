"""County maps: layers, styles, escaping, basemaps (天地图/OSM/GCJ-02/GeoTIFF), size rules, offline output."""
from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

import landkit as lk
from landkit.errors import ConfigError
from landkit.render import basemaps as bm
from landkit.render.maps import DisplayLayer, county_map, display_layers, inventory_frames, print_svg
from landkit.render.offline import OfflineError, assert_offline, external_references, inline_assets
from landkit.pipeline.run import analyse

from conftest import X0, Y0, write_shp

PAYLOAD = "<script>window.__pwned=1</script>\"'&<img src=x onerror=\"window.__pwned=2\">`${x}`"
TOWNS = {"420704100": "泽林镇", "420704101": "杜山镇"}


def build_county_dir(tmp_path, *, payload: bool = False, name="420704_鄂城区"):
    """A small county folder: DLTB grid over two townships, 永久基本农田, 卫片图斑 of every judgement,
    批准用地 and 供地 partly on 永久基本农田. With ``payload`` every free-text field holds HTML/JS."""
    d = tmp_path / name
    n = 20
    cells, codes, zl = [], [], []
    cycle = ["0101", "0103", "0102", "0701", "0301", "1101", "0601", "1006", "0201", "0101"]
    for i in range(n):
        for j in range(n):
            cells.append(shapely.box(X0 + j * 100, Y0 + i * 100, X0 + (j + 1) * 100, Y0 + (i + 1) * 100))
            codes.append(cycle[(i * 3 + j) % len(cycle)])
            zl.append(("420704100" if j < n // 2 else "420704101") + "0010000000")
    gd = np.isin(codes, ["0101", "0102", "0103"])
    dl = gpd.GeoDataFrame({"BSM": [f"4207042024{k:08d}" for k in range(len(cells))], "DLBM": codes,
                           "DLMC": ["耕地" if g else "其他" for g in gd], "ZLDWDM": zl,
                           "KCXS": np.where(gd, 0.05, 0.0), "KCDLBM": [("1203" if g else None) for g in gd]},
                          geometry=cells, crs="EPSG:4526")
    write_shp(dl, d / "DLTB.shp")
    yj = dl[gd & (np.arange(len(dl)) % 2 == 0)]
    y = gpd.GeoDataFrame({"YJJBNTTBBH": [f"YJ{k:05d}" for k in range(len(yj))], "DLBM": yj["DLBM"].values,
                          "KCXS": yj["KCXS"].values}, geometry=yj.geometry.values, crs=dl.crs)
    write_shp(y, d / "永久基本农田.shp")
    txt = PAYLOAD if payload else None
    judg = ["违法", "违法", "违法", "合法", "合法", "合法", "伪变化", "设施农用地", "违法", "合法", "违法", "合法"]
    geoms = [shapely.box(X0 + 60 + 160 * k, Y0 + 250 + (k % 3) * 500, X0 + 200 + 160 * k, Y0 + 390 + (k % 3) * 500)
             for k in range(len(judg))]
    p = gpd.GeoDataFrame({
        "监测编号": [(txt if (payload and k == 0) else f"WP2024{k:04d}") for k in range(len(judg))],
        "判定类型": judg,
        "违法类型": [(txt or "未批先建") if j == "违法" else None for j in judg],
        "整改状态": [("已整改" if k == 8 else "未整改") if j == "违法" else None for k, j in enumerate(judg)],
        "季度": [1 + k % 4 for k in range(len(judg))],
        "项目名称": [txt or f"项目{k}" for k in range(len(judg))],
        "用地单位": [txt or f"鄂州某某公司{k}" for k in range(len(judg))],
    }, geometry=geoms, crs=dl.crs)
    write_shp(p, d / "卫片图斑.shp")
    t = gpd.GeoDataFrame({"XZQDM": list(TOWNS), "XZQMC": [PAYLOAD[:60] if payload else TOWNS["420704100"],
                                                          TOWNS["420704101"]]},
                         geometry=[shapely.box(X0, Y0, X0 + 1000, Y0 + 2000), shapely.box(X0 + 1000, Y0, X0 + 2000,
                                                                                          Y0 + 2000)], crs=dl.crs)
    write_shp(t, d / "XZQ.shp")
    ap = gpd.GeoDataFrame({"批次名称": [txt or "2020年第一批次", "2021年第三批次"], "批准文号": ["鄂政土批〔2020〕1号",
                                                                                "鄂政土批〔2021〕9号"],
                           "批准日期": ["2020-05-01", "2021-08-09"]},
                          geometry=[shapely.box(X0 + 1200, Y0 + 1200, X0 + 1500, Y0 + 1500),
                                    shapely.box(X0 + 300, Y0 + 1600, X0 + 600, Y0 + 1900)], crs=dl.crs)
    write_shp(ap, d / "批准用地.shp")
    return d


def fake_inventory(county, payload=False):
    """Result frames and summary sections shaped like the inventory/disposal analyses'."""
    txt = PAYLOAD if payload else None
    g1 = gpd.GeoDataFrame({"id": ["PEWG-1", "PEWG-2"], "area_mu": [12.345, 3.5], "项目名称": [txt or "园区道路", "仓储"],
                           "township": ["420704101", "420704100"], "cohort": ["2009–2018", "2019–2023"]},
                          geometry=[shapely.box(X0 + 1250, Y0 + 1250, X0 + 1450, Y0 + 1450),
                                    shapely.box(X0 + 350, Y0 + 1650, X0 + 500, Y0 + 1800)], crs=county.crs)
    g2 = gpd.GeoDataFrame({"电子监管号": ["4207042019B00001"], "area_mu": [20.0], "土地使用权人": [txt or "鄂州某物流公司"],
                           "约定动工日期": ["2021-03-01"], "township": ["420704101"]},
                          geometry=[shapely.box(X0 + 1600, Y0 + 200, X0 + 1800, Y0 + 400)], crs=county.crs)
    results = {"inventory": {"approved_unsupplied": g1, "idle": g2}}
    inv = {"available": True, "as_of": "2024-12-31", "approved_unsupplied_mu": 15.845, "approved_unsupplied_count": 2,
           "idle_mu": 20.0, "idle_count": 1, "inefficient_mu": None, "inefficient_count": None,
           "collective_commercial_mu": 0.0, "collective_commercial_count": 0, "total_mu": 35.845,
           "by_township": [{"code": "420704101", "name": "杜山镇", "approved_unsupplied_mu": 12.345, "idle_mu": 20.0},
                           {"code": "420704100", "name": txt or "泽林镇", "approved_unsupplied_mu": 3.5, "idle_mu": 0.0}],
           "by_cohort": [{"cohort": "2009–2018", "approved_unsupplied_mu": 12.345},
                         {"cohort": "2019–2023", "approved_unsupplied_mu": 3.5}]}
    disp = {"available": True, "year": 2024,
            "approved_unsupplied": {"base_mu": 100.0, "disposed_mu": 18.0, "rate": 0.18, "target": 0.25,
                                    "shortfall_mu": 7.0, "met": False},
            "idle": {"base_mu": 40.0, "disposed_mu": 12.0, "rate": 0.3, "target": 0.25, "shortfall_mu": 0.0,
                     "met": True},
            "by_township": [{"code": "420704101", "name": "杜山镇",
                             "approved_unsupplied": {"base_mu": 60.0, "disposed_mu": 6.0, "rate": 0.1,
                                                     "shortfall_mu": 9.0},
                             "idle": {"base_mu": 40.0, "disposed_mu": 12.0, "rate": 0.3, "shortfall_mu": 0.0}},
                            {"code": "420704100", "name": txt or "泽林镇",
                             "approved_unsupplied": {"base_mu": 40.0, "disposed_mu": 12.0, "rate": 0.3,
                                                     "shortfall_mu": 0.0}}]}
    return results, inv, disp


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = build_county_dir(tmp_path_factory.mktemp("maps"))
    c = lk.read_county(d)
    return c, analyse(c)


def _scripts(html):
    return "\n".join(re.findall(r"<script>(.*?)</script>", html, flags=re.S))


def test_layers_and_legend(small):
    c, res = small
    m = county_map(c, res)
    keys = [lay.key for lay in m.lk_layers]
    for k in ("dltb", "township_ratio", "yjjbnt", "overlap", "patches_illegal", "patches_legal", "patches_other",
              "patches_pseudo", "township_lines", "township_labels"):
        assert k in keys, k
    assert keys.index("patches_illegal") > keys.index("patches_legal") > keys.index("yjjbnt")  # illegal on top
    html = m.to_html()
    assert_offline(html)
    for label in ("卫片图斑·违法", "永久基本农田", "乡镇卫片违法占用耕地比例", "压占永久基本农田", "图例", "≤ 5%（达标）"):
        assert label in html
    # the DLTB image is off by default, the others on
    lays = {lay.key: lay for lay in m.lk_layers}
    assert lays["dltb"].kind == "image" and not lays["dltb"].show
    assert lays["dltb"].image.uri.startswith("data:image/png;base64,")
    ill = lays["patches_illegal"]
    assert ill.count == sum(res["results"]["satellite"].patches["class"] == "illegal")
    assert ill.styles["illegal"]["fillColor"] == "#e53935"
    # areas in 亩 with 2 decimals
    assert all(re.fullmatch(r"[\d,]+\.\d\d 亩", v[6]) for v in ill.values)
    assert m.lk_stats["vector_features_shown"] == sum(
        lay.count for lay in m.lk_layers if lay.kind == "vector" and lay.show)


def test_choropleth_uses_summary_ratio(small):
    c, res = small
    m = county_map(c, res)
    town = next(lay for lay in m.lk_layers if lay.key == "township_ratio")
    rows = {r["code"]: r for r in res["summary"]["satellite"]["by_township"]}
    for key, vals in zip(town.keys, town.values):
        r = rows.get(vals[1])
        if r is None:
            assert key == "nd"
            continue
        expect = "c3" if r["ratio"] >= 0.15 else "c2" if r["ratio"] >= 0.10 else "c1" if r["ratio"] > 0.05 else "c0"
        assert key == expect
        assert vals[2] == f"{round(r['ratio'] * 100 + 1e-12, 2):.2f}%"


def test_map_without_analysis_and_simplification(small):
    c, _ = small
    m = county_map(c)
    keys = [lay.key for lay in m.lk_layers]
    assert "township_ratio" not in keys and "township_lines" in keys
    assert any(k.startswith("patches_") for k in keys)
    # coordinates rounded to 6 decimals, no bbox, no feature ids
    lay = next(lay for lay in m.lk_layers if lay.key == "yjjbnt")
    x, y = np.asarray(lay.geoms.iloc[0].exterior.coords)[0]
    assert round(x, 6) == x and round(y, 6) == y
    html = m.to_html()
    assert '"bbox"' not in html and '"id":' not in html


def test_dense_layers_become_images(small):
    c, res = small
    m = county_map(c, res, vector_limit=10)
    lays = {lay.key: lay for lay in m.lk_layers}
    assert lays["yjjbnt"].kind == "image"
    assert lays["yjjbnt"].image.width <= 2048 and lays["yjjbnt"].image.height <= 2048
    (s, w), (n, e) = lays["yjjbnt"].image.bounds
    b = bm.to_lonlat(c.yjjbnt.geometry, c.crs).total_bounds
    assert w == pytest.approx(b[0], abs=1e-4) and e == pytest.approx(b[2], abs=1e-4)
    assert s == pytest.approx(b[1], abs=1e-4) and n == pytest.approx(b[3], abs=1e-4)


def test_values_are_never_html(tmp_path):
    c = lk.read_county(build_county_dir(tmp_path, payload=True))
    res = analyse(c)
    inv_results, inv, disp = fake_inventory(c, payload=True)
    res["results"].update(inv_results)
    m = county_map(c, res)
    html = m.to_html()
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    # the payload travels only as JSON string data (\u003c...) and is set with textContent
    assert "\\u003cscript\\u003ewindow.__pwned=1" in html
    own = _scripts(m.get_root().render())          # landkit's scripts, without the inlined Leaflet
    assert own.count(".innerHTML") == 1 and "d.innerHTML = " in own    # only the static legend
    svg = print_svg(m.lk_layers)
    assert "<script" not in svg and "&lt;script&gt;" in svg


def test_inventory_layers(small):
    c, res = small
    inv_results, _, _ = fake_inventory(c)
    r = {"summary": res["summary"], "results": {**res["results"], **inv_results}}
    m = county_map(c, r)
    lays = {lay.key: lay for lay in m.lk_layers}
    assert lays["approved_unsupplied"].name == "批而未供土地" and lays["approved_unsupplied"].count == 2
    assert lays["idle"].values[0][0] == "4207042019B00001" and "20.00 亩" in lays["idle"].values[0]
    assert "inefficient" not in lays
    # other shapes of results["inventory"]
    class R:
        layers = {"闲置土地": inv_results["inventory"]["idle"]}
    assert list(inventory_frames(R())) == ["idle"]
    both = gpd.GeoDataFrame(
        {"category": ["idle", "inefficient"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2)], crs=c.crs)
    assert sorted(inventory_frames(both)) == ["idle", "inefficient"]


def test_tianditu_needs_a_token(small, monkeypatch):
    c, res = small
    monkeypatch.delenv("TIANDITU_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="tianditu_token"):
        county_map(c, res, basemap="tianditu_img")
    monkeypatch.setenv("TIANDITU_TOKEN", "abc123")
    m = county_map(c, res, basemap="天地图影像")
    html = m.to_html()
    assert "DataServer?T=img_w" in html and "T=cia_w" in html and "tk=abc123" in html
    assert "底图不可用（离线）" in html
    assert_offline(html)       # tiles are loaded by script, never by a tag
    m2 = county_map(c, res, basemap="tianditu_vec", tianditu_token="zzz")
    assert "T=vec_w" in m2.to_html() and "tk=zzz" in m2.to_html()


def test_no_basemap_means_no_tiles(small):
    c, res = small
    html = county_map(c, res).to_html()
    assert "L.tileLayer" not in html and "底图不可用" not in html
    assert not external_references(html)


def test_gaode_shifts_the_data_into_gcj02(small):
    c, res = small
    plain = {lay.key: lay for lay in county_map(c, res).lk_layers}
    gaode = county_map(c, res, basemap="gaode")
    assert gaode.lk_stats["gcj02"]
    g = {lay.key: lay for lay in gaode.lk_layers}
    from landkit.standards.gcj02 import wgs84_to_gcj02
    x, y = np.asarray(plain["patches_illegal"].geoms.iloc[0].exterior.coords)[0]
    gx, gy = np.asarray(g["patches_illegal"].geoms.iloc[0].exterior.coords)[0]
    ex, ey = wgs84_to_gcj02(x, y)
    assert gx == pytest.approx(float(ex), abs=2e-6) and gy == pytest.approx(float(ey), abs=2e-6)
    assert abs(gx - x) > 1e-4       # hundreds of metres: not silently misaligned
    with pytest.raises(ConfigError):
        bm.normalise(["gaode", "osm"])


def test_osm_and_unknown_basemap(small):
    c, res = small
    assert "tile.openstreetmap.org" in county_map(c, res, basemap="osm").to_html()
    with pytest.raises(ConfigError, match="未知的底图"):
        county_map(c, res, basemap="bing")


def _write_geotiff(path, crs, bounds, w=200, h=150, nodata_corner=True):
    import rasterio
    from rasterio.transform import from_bounds
    arr = np.zeros((3, h, w), np.uint8)
    arr[0] = np.linspace(0, 255, w)[None, :]
    arr[1] = np.linspace(0, 255, h)[:, None]
    arr[2] = 120
    if nodata_corner:
        arr[:, :10, :10] = 0
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=3, dtype="uint8", crs=crs,
                       transform=from_bounds(*bounds, w, h), nodata=0 if nodata_corner else None) as ds:
        ds.write(arr)
    return path


def test_geotiff_imagery_overlay_is_reprojected(small, tmp_path):
    c, res = small
    b = (X0, Y0, X0 + 2000, Y0 + 2000)
    tif = _write_geotiff(tmp_path / "img.tif", "EPSG:4526", b)
    img = bm.imagery_layer(tif, max_px=256)
    assert max(img.width, img.height) <= 256
    assert img.uri.startswith("data:image/png;base64,")     # nodata → alpha → PNG
    # a GK raster is rotated with respect to Mercator: the lat/lon box covers the footprint
    fp = bm.to_lonlat(gpd.GeoSeries([shapely.box(*b)], crs="EPSG:4526"), "EPSG:4526").total_bounds
    (s, w), (n, e) = img.bounds
    px = max((e - w) / img.width, (n - s) / img.height) * 1.5     # within a pixel and a half
    assert w <= fp[0] + px and e >= fp[2] - px and s <= fp[1] + px and n >= fp[3] - px
    assert e - w < (fp[2] - fp[0]) * 1.05
    m = county_map(c, res, basemap="imagery", imagery=tif, raster_px=256)
    assert m.lk_layers[0].key == "imagery" and json.dumps("本县影像")[1:-1] in m.to_html()
    # rotated corners are transparent; an image already in Web Mercator with no nodata has none → JPEG
    mb = (12_760_000.0, 3_560_000.0, 12_762_000.0, 3_561_500.0)
    jpg = bm.imagery_layer(_write_geotiff(tmp_path / "full.tif", "EPSG:3857", mb, nodata_corner=False), max_px=128)
    assert jpg.uri.startswith("data:image/jpeg;base64,")
    with pytest.raises(ConfigError):
        county_map(c, res, basemap="imagery")


def test_geotiff_on_gaode_is_resampled(tmp_path):
    b = (X0, Y0, X0 + 2000, Y0 + 2000)
    tif = _write_geotiff(tmp_path / "img.tif", "EPSG:4526", b, nodata_corner=False)
    a = bm.imagery_layer(tif, max_px=200)
    g = bm.imagery_layer(tif, max_px=200, gcj02=True)
    assert a.bounds == g.bounds and a.uri != g.uri


def test_offline_inliner_fails_closed():
    page = ('<html><head><script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>'
            '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"/>'
            '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css"/>'
            '</head><body></body></html>')
    out = inline_assets(page)
    assert "Leaflet 1.9.4" in out and "BSD 2-Clause" in out and "<!--" in out
    assert "images/layers.png" not in out and "data:image/png;base64," in out
    assert "L.Icon.Default.imagePath=''" in out
    with pytest.raises(OfflineError, match="jQuery"):
        inline_assets('<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>')
    with pytest.raises(OfflineError):
        inline_assets('<script src="https://example.org/plugin.js"></script>')
    for bad in ('<img src="https://x/a.png">', '<link rel="icon" href="//x/y.ico">',
                '<style>a{background:url(http://x/y.png)}</style>', "<style>@import 'https://x/y.css';</style>"):
        with pytest.raises(OfflineError):
            assert_offline(bad)
    assert_offline('<img src="data:image/png;base64,AAAA"><a href="https://example.org">x</a>')


def test_map_does_not_touch_folium_defaults(small):
    import folium
    before = list(folium.Map.default_js), list(folium.Map.default_css)
    c, res = small
    county_map(c, res).to_html()
    assert (list(folium.Map.default_js), list(folium.Map.default_css)) == before
    assert any("jquery" in u for _, u in folium.Map.default_js)


def test_jupyter_repr_is_offline(small):
    c, res = small
    h = county_map(c, res)._repr_html_()
    assert h.startswith("<div") and "srcdoc=" in h and "https://cdn" not in h


def test_print_svg_draws_the_shown_layers(small):
    c, res = small
    m = county_map(c, res)
    svg = print_svg(m.lk_layers)
    assert svg.startswith("<svg") and svg.count("<path") >= 4
    assert "#e53935" in svg and "泽林镇" in svg
    assert print_svg([DisplayLayer("x", "x")]).startswith("<svg")
    assert len(svg) < 200_000


def test_display_layers_empty_county(tmp_path):
    d = tmp_path / "420704_鄂城区"
    dl = gpd.GeoDataFrame({"DLBM": ["0101"], "ZLDWDM": ["4207041001010000000"]},
                          geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100)], crs="EPSG:4526")
    write_shp(dl, d / "DLTB.shp")
    c = lk.read_county(d)
    layers = display_layers(c)
    assert [lay.key for lay in layers] == ["dltb"]
    html = county_map(c).to_html()
    assert_offline(html)
    json.dumps(county_map(c).lk_stats)


def test_dltb_only_county_shows_the_land_use_overview(tmp_path, small):
    """A county with DLTB only gets a map that says something: the 地类图斑 layer (三调一级类
    colours, legend by class) is shown; where thematic layers exist it stays a hidden context layer."""
    d = tmp_path / "420704_鄂城区"
    cells = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(4)]
    dl = gpd.GeoDataFrame({"DLBM": ["0101", "0301", "0701", "1101"], "ZLDWDM": ["4207041001010000000"] * 4},
                          geometry=cells, crs="EPSG:4526")
    write_shp(dl, d / "DLTB.shp")
    c = lk.read_county(d)
    only = {lay.key: lay for lay in display_layers(c, analyse(c))}
    assert only["dltb"].show is True
    assert [label for label, _ in only["dltb"].legend] == ["耕地", "林地", "住宅用地", "水域及水利设施用地"]
    full = {lay.key: lay for lay in display_layers(*small)}
    assert full["dltb"].show is False


def test_patch_popups_carry_the_chips(tmp_path):
    """A standalone map embeds each selected patch's two pictures in its popup data; the report's
    map (embed_chips=False) only names them (the report's cards hold the pictures)."""
    from landkit.render.chips import patch_chips
    from test_chips import _county_with_pair
    c = lk.read_county(_county_with_pair(tmp_path), {"imagery": {"chip_count": 2, "chip_px": 128}})
    res = analyse(c)
    chips = patch_chips(c, res)
    m = county_map(c, res, chips=chips)
    ill = next(lay for lay in m.lk_layers if lay.key == "patches_illegal")
    keys = [k for k in ill.media if k]
    assert keys == ["c0", "c1"] and len(ill.media) == ill.count
    assert ill.media_src["c0"][0][1] == chips.items[0].chips["before"].uri
    html = m.to_html()
    assert chips.items[1].chips["after"].uri in html and '"m":"c1"' in html
    ref = county_map(c, res, chips=chips, embed_chips=False)
    ill = next(lay for lay in ref.lk_layers if lay.key == "patches_illegal")
    assert ill.media_src["c0"][1][:2] == ["后时相（2024-11-30）", ""]
    assert "data:image/jpeg" not in ref.to_html()
    assert all(not lay.media for lay in county_map(c, res).lk_layers)


def test_change_layer_coloured_by_destination_with_unmonitored_marked(tmp_path):
    """Two vintages: 耕地流出 is one layer, a style per 一级类 it became, pieces without a 卫片 patch
    (疑似漏监测) drawn with the red dashed border and said so in the legend."""
    from test_change import hand_county
    c = lk.read_county(hand_county(tmp_path))
    res = analyse(c)
    layers = {lay.key: lay for lay in display_layers(c, res)}
    lay = layers["change_out"]
    out = res.change.outflow
    assert lay.count == len(out) == 2 and lay.show
    assert sorted(lay.keys) == ["06", "07_u"]                  # A2 → 工业 (under a patch), C → 住宅 (none)
    assert lay.styles["07_u"]["dashArray"] and lay.styles["07_u"]["color"] == "#b71c1c"
    assert any("疑似漏监测" in lbl for lbl, _ in lay.legend)
    assert [v[0] for v in lay.values] == out["piece_id"].tolist()

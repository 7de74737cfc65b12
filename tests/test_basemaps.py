"""Basemap choice, the 天地图 key, tile-layer settings, display coordinates and image encoding
(landkit.render.basemaps). No tile is ever fetched: these tests build settings only."""
import math
import warnings

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from landkit.errors import ConfigError
from landkit.render import basemaps as bm
from landkit.settings import load_settings

from conftest import X0, Y0


# ------------------------------------------------------------------ normalise

@pytest.mark.parametrize("given,expected", [
    (None, []), ("", []), ("none", []), ("无", []), ("无底图", []), ("NONE", []),
    ("osm", ["osm"]), ("OSM", ["osm"]), (" OpenStreetMap ", ["osm"]),
    ("tianditu", ["tianditu_vec"]), ("天地图", ["tianditu_vec"]), ("天地图影像", ["tianditu_img"]),
    ("Tianditu_Img", ["tianditu_img"]), ("高德", ["gaode_vec"]), ("高德影像", ["gaode_img"]),
    ("影像", ["imagery"]), ("GeoTIFF", ["imagery"]),
    (["osm", "openstreetmap", "none"], ["osm"]),                      # duplicates and none dropped
    (("tianditu_img", "tianditu_vec", "imagery"), ["tianditu_img", "tianditu_vec", "imagery"]),
    (["gaode_vec", "gaode_img", "imagery"], ["gaode_vec", "gaode_img", "imagery"]),
])
def test_normalise(given, expected):
    assert bm.normalise(given) == expected


def test_unknown_basemap_is_a_config_error_listing_the_choices():
    with pytest.raises(ConfigError) as e:
        bm.normalise(["osm", "google"])
    msg = str(e.value)
    assert "'google'" in msg and all(n in msg for n in bm.BASEMAPS)


@pytest.mark.parametrize("combo", [["gaode", "osm"], ["天地图", "高德影像"], ["gaode_img", "tianditu_img"]])
def test_gcj02_and_wgs84_tiles_cannot_be_mixed(combo):
    with pytest.raises(ConfigError) as e:
        bm.normalise(combo)
    assert "GCJ-02" in str(e.value)


@pytest.mark.parametrize("names,gcj,online", [
    ([], False, False), (["imagery"], False, False), (["osm"], False, True),
    (["tianditu_vec", "imagery"], False, True), (["gaode_img"], True, True), (["imagery", "gaode_vec"], True, True),
])
def test_needs_gcj02_and_is_online(names, gcj, online):
    assert bm.needs_gcj02(names) is gcj
    assert bm.is_online(names) is online


# ------------------------------------------------------------------ the 天地图 key

def test_token_argument_wins(monkeypatch):
    monkeypatch.setenv("TIANDITU_TOKEN", "from-env")
    cfg = load_settings(config={"report": {"tianditu_token": "from-config"}})
    assert bm.tianditu_token(cfg, "explicit") == "explicit"


def test_token_from_environment(monkeypatch):
    monkeypatch.setenv("TIANDITU_TOKEN", "from-env")
    assert bm.tianditu_token() == "from-env"
    assert bm.tianditu_token(load_settings()) == "from-env"          # settings read the variable too


def test_token_from_landkit_toml_beats_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TIANDITU_TOKEN", "from-env")
    (tmp_path / "landkit.toml").write_text('[report]\ntianditu_token = "abc123"\n', encoding="utf-8")
    assert bm.tianditu_token(load_settings(tmp_path)) == "abc123"


@pytest.mark.parametrize("env", [None, ""])
def test_no_token_anywhere(monkeypatch, env):
    if env is None:
        monkeypatch.delenv("TIANDITU_TOKEN", raising=False)
    else:
        monkeypatch.setenv("TIANDITU_TOKEN", env)
    assert bm.tianditu_token() is None and bm.tianditu_token(load_settings()) is None


# ------------------------------------------------------------------ tile layers

@pytest.mark.parametrize("name", ["tianditu_vec", "tianditu_img"])
def test_tianditu_without_a_key_is_refused(monkeypatch, name):
    monkeypatch.delenv("TIANDITU_TOKEN", raising=False)
    with pytest.raises(ConfigError) as e:
        bm.tile_layers([name], config=load_settings())
    assert "tianditu_token" in str(e.value) and "TIANDITU_TOKEN" in str(e.value)


def test_tianditu_layers_and_their_urls(monkeypatch):
    monkeypatch.delenv("TIANDITU_TOKEN", raising=False)
    [base, note] = bm.tile_layers(["tianditu_vec"], token="KEY42")
    assert "T=vec_w" in base["tiles"] and "T=cva_w" in note["tiles"]
    for t in (base, note):
        assert "tk=KEY42" in t["tiles"] and "{tk}" not in t["tiles"] and "{layer}" not in t["tiles"]
        assert all(p in t["tiles"] for p in ("{s}", "{x}", "{y}", "{z}"))      # for Leaflet to fill
        assert t["subdomains"] == "01234567" and t["tiles"].startswith("https://t{s}.tianditu.gov.cn/")
    assert base["overlay"] is False and base["show"] is True and note["overlay"] is True
    assert base["name"] == "天地图矢量" and note["name"] == "天地图矢量注记"
    [img, cia] = bm.tile_layers(["tianditu_img"], token="K")
    assert "T=img_w" in img["tiles"] and "T=cia_w" in cia["tiles"]


def test_tianditu_url_template_from_settings():
    cfg = load_settings(config={"report": {"tianditu_token": "T0K",
                                           "tianditu_url": "http://10.1.2.3/tdt/{layer}/{z}/{x}/{y}.png?tk={tk}"}})
    urls = [t["tiles"] for t in bm.tile_layers(["tianditu_img"], config=cfg)]
    assert urls == ["http://10.1.2.3/tdt/img_w/{z}/{x}/{y}.png?tk=T0K",
                    "http://10.1.2.3/tdt/cia_w/{z}/{x}/{y}.png?tk=T0K"]


def test_only_the_first_base_layer_is_shown(monkeypatch):
    layers = bm.tile_layers(["tianditu_vec", "tianditu_img"], token="K")
    bases = [t for t in layers if not t["overlay"]]
    assert [t["name"] for t in bases] == ["天地图矢量", "天地图影像"]
    assert [t["show"] for t in bases] == [True, False]


def test_osm_and_gaode_layers():
    [osm] = bm.tile_layers(["osm"])
    assert osm["tiles"] == "https://tile.openstreetmap.org/{z}/{x}/{y}.png" and osm["show"] and not osm["overlay"]
    assert "OpenStreetMap" in osm["attr"]
    vec, img = bm.tile_layers(["gaode_vec", "gaode_img"])
    assert vec["subdomains"] == "1234" and "autonavi.com" in vec["tiles"] and "GCJ-02" in vec["name"]
    assert vec["show"] is True and img["show"] is False


def test_imagery_and_none_have_no_tiles(monkeypatch):
    monkeypatch.delenv("TIANDITU_TOKEN", raising=False)
    assert bm.tile_layers(["imagery"]) == [] and bm.tile_layers([]) == []


# ------------------------------------------------------------------ display coordinates

def _gcj02(lon, lat):
    """The published WGS-84 → GCJ-02 formula, written out here independently of landkit."""
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
            + (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
            + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
            + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * math.sqrt(magic)) * math.pi)
    dlon = (dlon * 180.0) / (a / math.sqrt(magic) * math.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


@pytest.fixture
def squares():
    return [shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 5000, Y0 - 3000, X0 + 5200, Y0 - 2900)]


def test_to_lonlat_matches_pyproj(squares):
    ll = bm.to_lonlat(np.array(squares, dtype=object), "EPSG:4526")
    assert ll.crs.to_epsg() == 4326 and len(ll) == 2
    tr = pyproj.Transformer.from_crs(4526, 4326, always_xy=True)
    for g, out in zip(squares, ll):
        x, y = np.asarray(g.exterior.coords).T
        lon, lat = tr.transform(x, y)
        assert np.allclose(np.asarray(out.exterior.coords), np.column_stack([lon, lat]), atol=1e-10, rtol=0)
    assert 114.5 < lon[0] < 115.0 and 30.2 < lat[0] < 30.5            # near 鄂州


def test_to_lonlat_keeps_a_geoseries_index_and_its_own_crs(squares):
    gs = gpd.GeoSeries(squares, index=["甲", "乙"], crs="EPSG:4526")
    ll = bm.to_lonlat(gs, None)
    assert list(ll.index) == ["甲", "乙"] and ll.crs.to_epsg() == 4326


def test_to_lonlat_gcj02_shifts_every_vertex(squares):
    ll = bm.to_lonlat(np.array(squares, dtype=object), "EPSG:4526")
    gc = bm.to_lonlat(np.array(squares, dtype=object), "EPSG:4526", gcj02=True)
    for w, g in zip(ll, gc):
        expect = np.array([_gcj02(lon, lat) for lon, lat in w.exterior.coords])
        assert np.allclose(np.asarray(g.exterior.coords), expect, atol=1e-8, rtol=0)
    # the shift is hundreds of metres (why a Gaode basemap needs it)
    geod = pyproj.Geod(ellps="WGS84")
    (lon0, lat0), (lon1, lat1) = ll.iloc[0].exterior.coords[0], gc.iloc[0].exterior.coords[0]
    assert 100 < geod.inv(lon0, lat0, lon1, lat1)[2] < 1000


def test_to_mercator_matches_pyproj(squares):
    m = bm.to_mercator(np.array(squares, dtype=object), "EPSG:4526")
    assert m.crs.to_epsg() == 3857
    tr = pyproj.Transformer.from_crs(4526, 3857, always_xy=True)
    x, y = np.asarray(squares[0].exterior.coords).T
    mx, my = tr.transform(x, y)
    assert np.allclose(np.asarray(m.iloc[0].exterior.coords), np.column_stack([mx, my]), atol=1e-3, rtol=0)
    mg = bm.to_mercator(np.array(squares, dtype=object), "EPSG:4526", gcj02=True)
    lon, lat = _gcj02(*bm.to_lonlat(np.array(squares[:1], dtype=object), "EPSG:4526").iloc[0].exterior.coords[0])
    ex, ey = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    assert mg.iloc[0].exterior.coords[0] == pytest.approx((ex, ey), abs=1e-3)


# ------------------------------------------------------------------ images

def _decode(data):
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(data) as mf, mf.open() as ds:
            cmap = ds.colormap(1) if ds.count == 1 else None
            return ds.driver, ds.read(), cmap


def _pattern(bands, h=5, w=7):
    return (np.arange(bands * h * w).reshape(bands, h, w) * 7 % 256).astype(np.uint8)


@pytest.mark.parametrize("bands", [3, 4])
def test_encode_png_is_lossless(bands):
    arr = _pattern(bands)
    data = bm.encode_image(arr)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    driver, back, _ = _decode(data)
    assert driver == "PNG" and np.array_equal(back, arr)


def test_encode_palette_png_from_a_2d_array():
    img = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    colors = {0: (0, 0, 0, 0), 1: (255, 0, 0, 255), 2: (0, 128, 255, 200)}
    driver, back, cmap = _decode(bm.encode_image(img, colormap=colors))
    assert driver == "PNG" and back.shape == (1, 2, 3) and np.array_equal(back[0], img)
    assert all(tuple(cmap[k]) == v for k, v in colors.items())


def test_encode_jpeg():
    rgb = np.full((3, 16, 16), 120, dtype=np.uint8)
    rgb[0] = 200
    data = bm.encode_image(rgb, fmt="JPEG")
    assert data[:3] == b"\xff\xd8\xff"
    driver, back, _ = _decode(data)
    assert driver == "JPEG" and back.shape == (3, 16, 16)
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 8      # lossy, but close

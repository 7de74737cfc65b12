"""Before/after chips of 卫片 patches (landkit.render.chips) on real GeoTIFF files.

The oracles are the images' own content and georeference: a raster painted in another CRS
(UTM) with a bright square whose corners, moved into the patches' CRS with pyproj, are the
patch; the real Landsat scene (tests/data/realdata/landsat_rgb) sampled pixel by pixel through
pyproj and the file's own transform; pyproj's meridian convergence for the north arrow.
"""
from __future__ import annotations

import base64
import time

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from rasterio.transform import Affine
from rasterio.windows import Window

import landkit as lk
from landkit.render import chips as C
from landkit.settings import load_settings

from conftest import REALDATA, X0, Y0
from test_maps import TOWNS, build_county_dir

LANDSAT = REALDATA / "landsat_rgb" / "RGB.byte.tif"
GK = "EPSG:4526"
UTM = "EPSG:32650"
GREY = (90, 90, 90)


def to_gk(geom_utm):
    """A UTM polygon as the same ground in CGCS2000 GK zone 38 (densified so it keeps its shape)."""
    t = pyproj.Transformer.from_crs(UTM, GK, always_xy=True)
    g = shapely.segmentize(geom_utm, 2.0)
    return shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def utm_of(x, y):
    return pyproj.Transformer.from_crs(GK, UTM, always_xy=True).transform(x, y)


def sparse_raster(path, *, crs, origin, res, size, paint, tile=256, overviews=None, compress="deflate"):
    """A ``size`` × ``size`` px RGB GeoTIFF (tiled, sparse: only the tiles under ``paint`` are
    written, grey with each polygon in its colour). ``paint`` = [(polygon in crs, (r, g, b))]."""
    tr = Affine(res, 0, origin[0], 0, -res, origin[1])
    prof = dict(driver="GTiff", width=size, height=size, count=3, dtype="uint8", crs=crs, transform=tr, nodata=0,
                tiled=True, blockxsize=tile, blockysize=tile, compress=compress, sparse_ok=True)
    last = (size - 1) // tile
    tiles = set()
    for g, _ in paint:                    # the tiles within 400 m of each polygon
        x0, y0, x1, y1 = shapely.buffer(g, 400).bounds
        c0, c1 = int((x0 - origin[0]) / res // tile), int((x1 - origin[0]) / res // tile)
        r0, r1 = int((origin[1] - y1) / res // tile), int((origin[1] - y0) / res // tile)
        tiles |= {(r, c) for r in range(max(r0, 0), min(r1, last) + 1) for c in range(max(c0, 0), min(c1, last) + 1)}
    from rasterio.features import rasterize
    with rasterio.open(path, "w", **prof) as dst:
        for r, c in sorted(tiles):
            win = Window(c * tile, r * tile, tile, tile)
            wt = rasterio.windows.transform(win, tr)
            box = shapely.box(*rasterio.windows.bounds(win, tr))
            img = np.empty((3, tile, tile), np.uint8)
            img[:] = np.array(GREY, np.uint8)[:, None, None]
            for g, rgb in paint:
                if not shapely.intersects(g, box):
                    continue
                m = rasterize([(g, 1)], out_shape=(tile, tile), transform=wt, dtype="uint8").astype(bool)
                for b in range(3):
                    img[b][m] = rgb[b]
            dst.write(img, window=win)
        if overviews:
            dst.build_overviews(overviews, rasterio.enums.Resampling.average)
    return path


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 100 000 × 100 000 px (30 GB as pixels) 1 m UTM raster; a bright 80 m square (the patch)
    and a green marker 15 m north of it are the only content."""
    ux, uy = utm_of(X0 + 700, Y0 + 700)
    target = shapely.box(ux - 40, uy - 40, ux + 40, uy + 40)
    marker = shapely.box(ux - 10, uy + 55, ux + 10, uy + 75)
    path = sparse_raster(tmp_path_factory.mktemp("big") / "后时相_20240601.tif", crs=UTM,
                         origin=(round(ux) - 50_000, round(uy) + 50_000), res=1.0, size=100_000,
                         paint=[(target, (250, 60, 60)), (marker, (40, 250, 40))])
    return path, target, marker


def test_chip_lines_up_with_the_patch_in_another_crs(big):
    path, target, marker = big
    patch = to_gk(target)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32650 and src.width == 100_000
        grid = C.chip_grid(patch, GK, px=320, margin=0.6)
        rgb, valid, win, shape = C.read_chip(src, grid)
        img, line, info = C.render_chip(src, patch, grid)
    assert valid.all()
    from rasterio.features import rasterize
    inner = rasterize([(shapely.buffer(patch, -3 * grid.res), 1)], out_shape=(320, 320), transform=grid.transform,
                      dtype="uint8").astype(bool)
    outer = ~rasterize([(shapely.buffer(patch, 3 * grid.res), 1)], out_shape=(320, 320), transform=grid.transform,
                       dtype="uint8").astype(bool)
    # what the image shows inside the outline is the painted square, and nothing of it outside
    assert rgb[0][inner].min() > 230 and rgb[0][outer].max() < 120
    assert inner.sum() > 0.1 * 320 * 320
    # the green marker is north of the patch: above it in the chip
    g = (rgb[1] > 200) & (rgb[0] < 100)
    rows = np.flatnonzero(g.any(axis=1))
    patch_top = np.flatnonzero(inner.any(axis=1)).min()
    assert len(rows) and rows.max() < patch_top
    mk = to_gk(marker).centroid
    col, row = ~grid.transform @ (mk.x, mk.y)
    assert g[int(row), int(col)]
    # outline pixels lie on the patch boundary (within the band drawn, 1.2 px, plus a pixel)
    ys, xs = np.nonzero(line)
    wx, wy = grid.transform @ (xs + 0.5, ys + 0.5)
    d = shapely.distance(shapely.boundary(patch), shapely.points(wx, wy))
    assert line.sum() > 200 and d.max() <= 2.3 * grid.res
    assert (img[line] == C.OUTLINE_RGB).all()


def test_only_a_window_is_read(big, monkeypatch):
    """The raster is 30 GB as pixels: reading it whole would fail. Every read is a window the
    size of the chip's ground, counted by a wrapper around rasterio's read."""
    path, target, _ = big
    calls = []
    real_read, real_mask = rasterio.io.DatasetReader.read, rasterio.io.DatasetReader.dataset_mask

    def read(self, *a, **kw):
        calls.append(("read", kw.get("window"), kw.get("out_shape")))
        return real_read(self, *a, **kw)

    def mask(self, *a, **kw):
        calls.append(("mask", kw.get("window"), kw.get("out_shape")))
        return real_mask(self, *a, **kw)
    monkeypatch.setattr(rasterio.io.DatasetReader, "read", read)
    monkeypatch.setattr(rasterio.io.DatasetReader, "dataset_mask", mask)
    patch = to_gk(target)
    t = time.perf_counter()
    with rasterio.open(path) as src:
        chip, why = C.cut_chip(src, patch, GK, "after", None, px=320)
    secs = time.perf_counter() - t
    assert why is None and chip is not None
    side_m = 80 * 2.2                                    # the chip's ground: 80 m + 60 % each side
    assert {k for k, _, _ in calls} == {"read", "mask"} and len(calls) == 2
    for _, win, shape in calls:
        assert win is not None and win.width * win.height <= (side_m * 1.1 + 4) ** 2
    assert chip.window[2] * chip.window[3] <= (side_m * 1.1 + 4) ** 2
    data = base64.b64decode(chip.uri.split(",", 1)[1])
    assert data[:2] == b"\xff\xd8" and chip.nbytes == len(data)
    with rasterio.MemoryFile(data) as mf, mf.open() as ds:
        assert (ds.width, ds.height, ds.count) == (320, 320, 3)
    assert secs < 2.0, secs


def test_a_coarse_read_comes_from_the_overviews(tmp_path):
    """A patch much larger than the chip's pixels is read decimated (out_shape): GDAL serves it
    from the overviews. The base was repainted after the overviews were built, so the colour
    tells which level was read."""
    ux, uy = utm_of(X0 + 700, Y0 + 700)
    target = shapely.box(ux - 1500, uy - 1500, ux + 1500, uy + 1500)
    path = sparse_raster(tmp_path / "ovr.tif", crs=UTM, origin=(round(ux) - 4096, round(uy) + 4096), res=1.0,
                         size=8192, paint=[(target, (60, 200, 60))], overviews=[2, 4, 8, 16])
    with rasterio.open(path, "r+") as dst:          # repaint the base red: the overviews stay green
        w = Window(4096 - 1536, 4096 - 1536, 3072, 3072)
        a = dst.read(window=w)
        a[0][a[1] == 200], a[1][a[1] == 200] = 255, 0
        dst.write(a, window=w)
    patch = to_gk(target)
    with rasterio.open(path) as src:
        assert src.overviews(1) == [2, 4, 8, 16]
        assert src.read(1, window=Window(4096, 4096, 1, 1))[0, 0] == 255       # the base is red now
        grid = C.chip_grid(patch, GK, px=320, margin=0.2)
        rgb, valid, win, shape = C.read_chip(src, grid)
    assert shape[0] * shape[1] < win[2] * win[3] / 16          # decimated read
    centre = rgb[:, 140:180, 140:180]
    assert np.abs(centre[1].astype(int) - 200).max() <= 2 and centre[0].max() < 70      # green: an overview


def test_real_landsat_scene_reprojected(tmp_path):
    """The real USGS Landsat subset (EPSG:32618) under a patch drawn in UTM zone 17 (another CRS):
    every chip pixel is the scene's pixel at that ground point (pyproj + the file's transform)."""
    with rasterio.open(LANDSAT) as src:
        full = src.read()
        s_crs, s_tr = src.crs, src.transform
        cx, cy = (src.bounds.left + src.bounds.right) / 2, (src.bounds.bottom + src.bounds.top) / 2
        # a 40 km patch at the scene's centre, and one at its corner (partly outside the scene)
        to17 = pyproj.Transformer.from_crs(s_crs, "EPSG:32617", always_xy=True)
        patch = shapely.transform(shapely.segmentize(shapely.box(cx - 20e3, cy - 20e3, cx + 20e3, cy + 20e3), 500),
                                  lambda xy: np.column_stack(to17.transform(xy[:, 0], xy[:, 1])))
        grid = C.chip_grid(patch, "EPSG:32617", px=512, margin=0.6)     # 172 m chip pixels on 300 m ones
        rgb, valid, win, shape = C.read_chip(src, grid)
        chip, why = C.cut_chip(src, patch, "EPSG:32617", "before", None, px=512)
    assert chip is not None and why is None and chip.covered > 0.99 and shape == (win[3], win[2])
    rows, cols = np.mgrid[4:512:8, 4:512:8]
    wx, wy = grid.transform @ (cols + 0.5, rows + 0.5)
    back = pyproj.Transformer.from_crs("EPSG:32617", s_crs, always_xy=True)
    sx, sy = back.transform(wx, wy)
    sc, sr = ~s_tr @ (sx, sy)
    # the oracle: the scene bilinearly interpolated at those ground points (pixel centres at .5)
    fc, fr = sc - 0.5, sr - 0.5
    c0, r0 = np.floor(fc).astype(int), np.floor(fr).astype(int)
    tx, ty = fc - c0, fr - r0
    f = full.astype(float)
    oracle = (f[:, r0, c0] * (1 - tx) * (1 - ty) + f[:, r0, c0 + 1] * tx * (1 - ty)
              + f[:, r0 + 1, c0] * (1 - tx) * ty + f[:, r0 + 1, c0 + 1] * tx * ty)
    near = np.stack([full[:, r0 + a, c0 + b] for a in (0, 1) for b in (0, 1)])
    ok = (near > 0).all(axis=(0, 1)) & valid[rows, cols]
    assert ok.sum() > 3000
    diff = np.abs(rgb[:, rows, cols].astype(float) - oracle)[:, ok]
    # GDAL's warper approximates the projection to 1/8 pixel, which shows on sharp edges only
    assert np.median(diff) <= 1.0 and np.percentile(diff, 95) <= 5 and diff.max() <= 20
    # the same check against the scene half a source pixel off fails by far: the test can tell
    off = np.abs(rgb[:, rows, cols].astype(float) - f[:, r0 + 1, c0 + 1])[:, ok]
    assert np.percentile(off, 95) > 30
    # on the scene's edge the chip is partly nodata, drawn light grey; the covered share says so
    with rasterio.open(LANDSAT) as src:
        mask = src.dataset_mask()
        col = int(np.flatnonzero(mask[359])[0])               # the first valid pixel of the middle row
        ex, ey = src.xy(359, col)
        edge = shapely.transform(shapely.box(ex - 10e3, ey - 10e3, ex + 10e3, ey + 10e3),
                                 lambda xy: np.column_stack(to17.transform(xy[:, 0], xy[:, 1])))
        img, _, info = C.render_chip(src, edge, C.chip_grid(edge, "EPSG:32617", px=256))
    assert 0.2 < info["covered"] < 0.8
    assert (img.reshape(-1, 3) == C.NODATA_RGB).all(axis=1).sum() > 256 * 256 * 0.2


def test_north_arrow_and_scale_bar():
    # true north on a GK grid 0.9° east of the central meridian: minus pyproj's meridian convergence
    x, y = pyproj.Transformer.from_crs(4490, GK, always_xy=True).transform(114.9, 30.4)
    grid = C.chip_grid(shapely.box(x - 50, y - 50, x + 50, y + 50), GK, px=256)
    gamma = pyproj.Proj(GK).get_factors(114.9, 30.4).meridian_convergence
    assert abs(C.north_angle(grid) + gamma) < 0.01 and abs(gamma) > 0.4
    assert [C.nice_length(v) for v in (0.9, 7, 64, 199, 2600)] == [0.5, 5, 50, 100, 2000]
    assert C.length_label(2000) == "2 km" and C.length_label(50) == "50 m"
    # the drawn bar's black half is length / 2 metres long on the chip's pixels
    img = np.full((256, 256, 3), 128, np.uint8)
    res = 0.86
    length = C.draw_scale_bar(img, res)
    n = int(round(length / res))
    runs = []
    for row in img[200:]:
        black = np.all(row == 0, axis=1).astype(int)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], black, [0]])))
        runs += list(edges[1::2] - edges[::2])
    assert length == 50 and max(runs) == n and n // 2 in runs


def _county_with_pair(tmp_path, *, before=True, after=True):
    """The small test county with a UTM before/after pair: the 卫片 patches painted (after only)."""
    d = build_county_dir(tmp_path)
    p = gpd.read_file(d / "卫片图斑.shp", encoding="GBK")
    tr = pyproj.Transformer.from_crs(GK, UTM, always_xy=True)
    utm = [shapely.transform(shapely.segmentize(g, 5), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
           for g in p.geometry]
    ux, uy = utm_of(X0, Y0 + 2000)
    common = dict(crs=UTM, origin=(round(ux) - 3000, round(uy) + 3000), res=1.5, size=6_000)
    if before:
        sparse_raster(d / "前时相_20231201.tif", paint=[(g, (70, 140, 70)) for g in utm], **common)
    if after:
        sparse_raster(d / "后时相_20241130.tif", paint=[(g, (250, 250, 250)) for g in utm], **common)
    return d


def test_patch_chips_of_a_county(tmp_path):
    d = _county_with_pair(tmp_path)
    c = lk.read_county(d, {"imagery": {"chip_count": 4}})
    res = lk.analyse(c)
    cs = C.patch_chips(c, res)
    assert cs.available and cs.reason is None and cs.chip_count == 8
    # illegal first by area (all equal here: layer order), at most chip_count
    ids = [p.id for p in cs.items]
    sat = res["results"]["satellite"].patches
    illegal = sat[sat["class"] == "illegal"]
    assert ids == list(illegal["监测编号"][:4]) and cs.candidate_count == len(illegal)
    for p in cs.items:
        assert p.info["类别"] == "违法" and p.info["乡镇"] in TOWNS.values()
        g = sat.loc[p.index].geometry
        lon, lat = pyproj.Transformer.from_crs(4490, GK, always_xy=True).transform(p.info["lon"], p.info["lat"])
        assert g.buffer(0.01).contains(shapely.Point(lon, lat))
        assert p.info["area_mu"] == pytest.approx(g.area * 3 / 2000, rel=1e-3)   # GK planar ≈ ellipsoidal here
        assert set(p.chips) == {"before", "after"}
        assert p.chips["after"].date == "2024-11-30" and p.chips["before"].date == "2023-12-01"
    s = cs.summary()
    assert s["before"] == {"file": "前时相_20231201.tif", "date": "2023-12-01"}
    assert s["patch_count"] == 4 and s["chip_count"] == 8 and "reason" not in s


def test_selection_rule(tmp_path):
    c = lk.read_county(build_county_dir(tmp_path))
    sat = lk.analyse(c)["results"]["satellite"].patches.copy()
    sat["area_m2"] = np.arange(len(sat), dtype=float) * 300.0          # 0, 300, 600 … m²
    st = load_settings(None, {"imagery": {"classes": ["illegal", "legal"], "min_area_mu": 1.0, "chip_count": 3}})
    sel, n = C.select_patches(sat, st)
    mu = sat["area_m2"] * 3 / 2000
    want = sat[sat["class"].isin(["illegal", "legal"]) & (mu >= 1.0)].sort_values("area_m2", ascending=False)
    assert list(sel.index) == list(want.index[:3]) and n == len(want)
    # without a judgement (no analysis, or a value not in the table) a patch is 未判定
    raw = c.patches.copy()
    raw["判定类型"] = ["违法", None, "待核实", "合法"] + list(raw["判定类型"][4:])
    cls = C.patch_classes(raw, c.config)
    assert list(cls[:4]) == ["illegal", "unjudged", "unjudged", "legal"]


@pytest.mark.parametrize("case", ["missing", "corrupt", "no_crs", "outside", "none"])
def test_bad_imagery_gives_a_chinese_reason(tmp_path, case):
    d = _county_with_pair(tmp_path, before=case != "missing" and case != "none", after=case != "none")
    cfg = {}
    if case == "missing":
        cfg = {"imagery": {"before": {"path": "影像/前时相.tif", "date": "2023-12-01"}}}
    elif case == "corrupt":
        (d / "前时相_20231201.tif").write_bytes(b"II*\x00" + b"\x17" * 5000)
    elif case == "no_crs":
        with rasterio.open(d / "前时相_20231201.tif") as src:
            prof, arr = src.profile, src.read(window=Window(0, 0, 512, 512))
        prof.update(crs=None, width=512, height=512, sparse_ok=False)
        (d / "前时相_20231201.tif").unlink()
        with rasterio.open(d / "前时相_20231201.tif", "w", **prof) as dst:
            dst.write(arr)
    elif case == "outside":
        far = shapely.box(*[v + 90_000 for v in utm_of(X0, Y0)], *[v + 90_200 for v in utm_of(X0, Y0)])
        sparse_raster(d / "前时相_20231201.tif", crs=UTM, origin=(far.bounds[0], far.bounds[3]), res=1.0, size=512,
                      paint=[(far, (1, 2, 3))])
    c = lk.read_county(d, cfg)
    cs = C.patch_chips(c, lk.analyse(c))
    reasons = {p.reasons.get("before") for p in cs.items}
    expect = {"missing": "前时相影像 影像/前时相.tif 不存在", "corrupt": "无法读取前时相影像 前时相_20231201.tif",
              "no_crs": "前时相影像 前时相_20231201.tif 没有坐标系", "outside": "影像未覆盖该图斑",
              "none": "县文件夹中没有前后时相影像"}[case]
    assert len(reasons) == 1 and expect in reasons.pop()
    assert str(tmp_path) not in str(cs.summary())                  # no machine paths
    if case == "none":
        assert not cs.available and expect in cs.summary()["reason"]
    else:
        assert all(set(p.chips) == {"after"} for p in cs.items)      # the other date still gives chips
        assert cs.available and "前时相" not in {r for p in cs.items for r in p.chips}


def test_four_band_16_bit_image_with_chosen_bands(tmp_path):
    """A GF-2-like 4-band uint16 image (blue, green, red, NIR, no colour interpretation): with
    [imagery] bands = [3, 2, 1] the patch, bright in band 3, is red in the chip; by default the
    first three bands are shown, so it is blue. Values are stretched 2–98 % to bytes."""
    from rasterio.features import rasterize
    ux, uy = utm_of(X0 + 700, Y0 + 700)
    target = shapely.box(ux - 40, uy - 40, ux + 40, uy + 40)
    tr = Affine(1.0, 0, round(ux) - 512, 0, -1.0, round(uy) + 512)
    inside = rasterize([(target, 1)], out_shape=(1024, 1024), transform=tr, dtype="uint8").astype(bool)
    data = np.full((4, 1024, 1024), 400, np.uint16)
    data[2][inside] = 3000                     # red band bright on the patch
    data[0][~inside] = 2500                    # blue band bright around it
    path = tmp_path / "gf2.tif"
    with rasterio.open(path, "w", driver="GTiff", width=1024, height=1024, count=4, dtype="uint16", crs=UTM,
                       transform=tr, tiled=True, blockxsize=256, blockysize=256, photometric="minisblack") as dst:
        dst.write(data)
    patch = to_gk(target)
    grid = C.chip_grid(patch, GK, px=160)
    inner = rasterize([(shapely.buffer(patch, -3 * grid.res), 1)], out_shape=(160, 160), transform=grid.transform,
                      dtype="uint8").astype(bool)
    with rasterio.open(path) as src:
        rgb, _, _, _ = C.read_chip(src, grid, bands=[3, 2, 1])
        default, _, _, _ = C.read_chip(src, grid)
        with pytest.raises(ValueError, match="只有 4 个波段"):
            C.read_chip(src, grid, bands=[5, 2, 1])
    assert rgb.dtype == np.uint8
    assert rgb[0][inner].mean() > 200 and rgb[2][inner].mean() < 40 and rgb[2][~inner].mean() > 150
    assert default[2][inner].mean() > 200 and default[0][inner].mean() < 40

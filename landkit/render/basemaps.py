"""Basemaps for landkit maps: none (reports), 天地图, OpenStreetMap, Gaode (GCJ-02), local imagery.

* ``None`` / ``"none"`` (default for reports): no tiles, a neutral background; the vector and
  rendered context layers carry the map. Opening the report makes no network request.
* ``"tianditu_vec"`` / ``"tianditu_img"``: 天地图 vector or imagery ``_w`` (Web Mercator) tiles
  with their annotation layer. The key (``tk``) comes from config ``[report] tianditu_token``
  or the ``TIANDITU_TOKEN`` environment variable; the URL template can be replaced with
  ``[report] tianditu_url`` (provincial nodes, intranet tile servers). 天地图 is CGCS2000, so
  the data need no shift.
* ``"osm"``: OpenStreetMap (WGS84; no shift).
* ``"gaode_vec"`` / ``"gaode_img"``: Gaode tiles are drawn in GCJ-02. They are only offered with
  every displayed geometry and image shifted into GCJ-02 (:func:`needs_gcj02`), never misaligned.
* ``"imagery"``: the county's own GeoTIFF (``county.imagery`` or ``[report] imagery``),
  reprojected to EPSG:3857 with rasterio, downsampled and embedded as a PNG/JPEG ``data:`` URI.

Whenever tiles are used, a banner "底图不可用（离线）" appears if they fail to load.
"""
from __future__ import annotations

import base64
import gc
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputError

TIANDITU_URL = "https://t{s}.tianditu.gov.cn/DataServer?T={layer}&x={x}&y={y}&l={z}&tk={tk}"
TIANDITU = {
    "tianditu_vec": (("vec_w", "天地图矢量"), ("cva_w", "天地图矢量注记")),
    "tianditu_img": (("img_w", "天地图影像"), ("cia_w", "天地图影像注记")),
}
GAODE = {
    "gaode_vec": ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                  "高德地图（GCJ-02）", "1234"),
    "gaode_img": ("https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
                  "高德影像（GCJ-02）", "1234"),
}
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

ALIASES = {
    None: "none", "": "none", "none": "none", "无": "none", "无底图": "none",
    "tianditu": "tianditu_vec", "tianditu_vec": "tianditu_vec", "天地图": "tianditu_vec", "天地图矢量": "tianditu_vec",
    "tianditu_img": "tianditu_img", "天地图影像": "tianditu_img",
    "osm": "osm", "openstreetmap": "osm",
    "gaode": "gaode_vec", "gaode_vec": "gaode_vec", "高德": "gaode_vec", "gaode_img": "gaode_img", "高德影像": "gaode_img",
    "imagery": "imagery", "影像": "imagery", "geotiff": "imagery",
}
BASEMAPS = ("none", "tianditu_vec", "tianditu_img", "osm", "gaode_vec", "gaode_img", "imagery")
ONLINE = {"tianditu_vec", "tianditu_img", "osm", "gaode_vec", "gaode_img"}


def normalise(basemap) -> list[str]:
    """Basemap name(s) → a list of canonical names (``[]`` for none). Raises ConfigError."""
    items = basemap if isinstance(basemap, (list, tuple)) else [basemap]
    out = []
    for b in items:
        key = b.strip().lower() if isinstance(b, str) else b
        name = ALIASES.get(key, ALIASES.get(b))
        if name is None:
            raise ConfigError(f"未知的底图 {b!r}，可用：{'、'.join(BASEMAPS)}")
        if name != "none" and name not in out:
            out.append(name)
    if sum(n.startswith("gaode") for n in out) and any(n in ("tianditu_vec", "tianditu_img", "osm") for n in out):
        raise ConfigError("高德底图（GCJ-02）不能与天地图/OpenStreetMap 底图同时使用：两者坐标相差数百米")
    return out


def needs_gcj02(names) -> bool:
    """True when a GCJ-02 basemap is chosen: every displayed geometry must then be shifted."""
    return any(n.startswith("gaode") for n in names)


def is_online(names) -> bool:
    return any(n in ONLINE for n in names)


def tianditu_token(config=None, token: str | None = None) -> str | None:
    """The 天地图 key: explicit argument, else config ``[report] tianditu_token``, else $TIANDITU_TOKEN."""
    if token:
        return token
    if config is not None:
        t = config.report.tianditu_token
        if t:
            return str(t)
    return os.environ.get("TIANDITU_TOKEN") or None


def tile_layers(names, *, config=None, token: str | None = None) -> list[dict]:
    """folium.TileLayer keyword sets for the online basemaps in ``names`` (first one shown)."""
    out = []
    for n in names:
        if n in TIANDITU:
            tk = tianditu_token(config, token)
            if not tk:
                raise ConfigError("使用天地图底图需要天地图密钥：请在 landkit.toml 的 [report] 中设置 tianditu_token，"
                                  "或设置环境变量 TIANDITU_TOKEN")
            tmpl = (config.report.tianditu_url if config is not None else None) or TIANDITU_URL
            for i, (layer, label) in enumerate(TIANDITU[n]):
                url = (tmpl.replace("{layer}", layer).replace("{tk}", tk))
                out.append(dict(tiles=url, attr="&copy; 天地图 国家地理信息公共服务平台", name=label,
                                subdomains="01234567", max_zoom=18, overlay=i > 0, control=True,
                                show=not out or i > 0))
        elif n == "osm":
            out.append(dict(tiles=OSM_URL, attr="&copy; OpenStreetMap contributors", name="OpenStreetMap",
                            max_zoom=19, overlay=False, show=not out))
        elif n in GAODE:
            url, label, sub = GAODE[n]
            out.append(dict(tiles=url, attr="&copy; 高德地图", name=label, subdomains=sub, max_zoom=18,
                            overlay=False, show=not out))
    return out


# ------------------------------------------------------------------ display coordinates
def to_lonlat(geoms, crs, gcj02: bool = False):
    """Geometries (array/GeoSeries in ``crs``) → lon/lat (EPSG:4326) for display; GCJ-02 if asked."""
    import geopandas as gpd
    gs = gpd.GeoSeries(geoms, crs=crs) if not isinstance(geoms, gpd.GeoSeries) else geoms
    ll = gs.to_crs(4326)
    if gcj02:
        from ..standards.gcj02 import geometries_wgs84_to_gcj02
        ll = gpd.GeoSeries(geometries_wgs84_to_gcj02(ll.values), index=ll.index, crs=4326)
    return ll


def to_mercator(geoms, crs, gcj02: bool = False):
    """Geometries → EPSG:3857 (via GCJ-02 lon/lat when asked), for rasterising and print SVG."""
    ll = to_lonlat(geoms, crs, gcj02)
    return ll.to_crs(3857)


# ------------------------------------------------------------------ images
@dataclass
class ImageLayer:
    """An image for a Leaflet ImageOverlay: a ``data:`` URI and lat/lon bounds [[S, W], [N, E]]."""
    uri: str
    bounds: list
    width: int
    height: int
    size_bytes: int


def encode_image(arr: np.ndarray, *, colormap: dict | None = None, fmt: str = "PNG") -> bytes:
    """Encode a (bands, rows, cols) uint8 array (1 band + colormap, 3 = RGB, 4 = RGBA) with GDAL."""
    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile
    if arr.ndim == 2:
        arr = arr[None]
    count, h, w = arr.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as mf:
            opts = {"QUALITY": 85} if fmt == "JPEG" else {"ZLEVEL": 6}
            with mf.open(driver=fmt, width=w, height=h, count=count, dtype="uint8", **opts) as ds:
                ds.write(arr)
                if colormap:
                    ds.write_colormap(1, colormap)
            return mf.read()


def _data_uri(data: bytes, fmt: str) -> str:
    mime = "image/jpeg" if fmt == "JPEG" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _mercator_grid(bounds3857, max_px: int):
    from rasterio.transform import from_origin
    x0, y0, x1, y1 = bounds3857
    span = max(x1 - x0, y1 - y0, 1.0)
    res = span / max_px
    w = max(1, int(np.ceil((x1 - x0) / res)))
    h = max(1, int(np.ceil((y1 - y0) / res)))
    return from_origin(x0, y1, res, res), w, h


def _latlon_bounds(transform, w, h):
    from rasterio.transform import array_bounds
    from rasterio.warp import transform_bounds
    left, bottom, right, top = array_bounds(h, w, transform)
    wst, s, e, n = transform_bounds("EPSG:3857", "EPSG:4326", left, bottom, right, top)
    return [[s, wst], [n, e]]


def _geojson_shapes(geoms, classes):
    """(GeoJSON-like dict, value) pairs built from shapely's ragged arrays.

    shapely's per-object ``__geo_interface__`` costs ~60 µs a polygon (13 s for a 150k DLTB);
    slicing one coordinate array is ~20x cheaper.
    """
    import shapely
    geoms = np.asarray(geoms, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms, classes = geoms[ok], np.asarray(classes)[ok]
    if len(geoms) == 0:
        return
    polys = shapely.get_parts(geoms, return_index=True)
    parts, owner = polys
    coords, offsets = shapely.to_ragged_array(parts)[1:]
    ring_off, part_off = offsets[0], offsets[1]
    for k in range(len(parts)):
        r0, r1 = part_off[k], part_off[k + 1]
        rings = [coords[ring_off[r]:ring_off[r + 1]].tolist() for r in range(r0, r1)]
        yield {"type": "Polygon", "coordinates": rings}, int(classes[owner[k]])


def rasterize_layer(geoms3857, classes: np.ndarray, colors: dict[int, tuple], *, max_px: int = 2048,
                    bounds3857=None) -> ImageLayer:
    """Draw polygons (EPSG:3857) into a palette PNG: pixel = class (1..255), 0 = transparent.

    Used for dense context layers (all 永久基本农田, all DLTB) that would be too heavy as vectors.
    Leaflet stretches an ImageOverlay linearly in EPSG:3857, so a Mercator-aligned grid is exact.
    """
    from rasterio.features import rasterize
    geoms3857 = np.asarray(geoms3857, dtype=object)
    if bounds3857 is None:
        import shapely
        bounds3857 = shapely.total_bounds(geoms3857)
    tr, w, h = _mercator_grid(bounds3857, max_px)
    # the GeoJSON-like rings are millions of small lists: Python's cycle collector would scan
    # them again and again while they are made (0.9 s -> 0.3 s for 60k polygons without it)
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        img = rasterize(_geojson_shapes(geoms3857, classes), out_shape=(h, w), transform=tr, fill=0,
                        dtype="uint8", all_touched=False, skip_invalid=False)
    finally:
        if gc_was_on:
            gc.enable()
    cmap = {0: (0, 0, 0, 0)}
    cmap.update({int(k): tuple(int(x) for x in v) for k, v in colors.items()})
    data = encode_image(img, colormap=cmap)
    return ImageLayer(_data_uri(data, "PNG"), _latlon_bounds(tr, w, h), w, h, len(data))


def _stretch(band: np.ndarray, valid: np.ndarray) -> np.ndarray:
    if band.dtype == np.uint8:
        return band
    v = band[valid]
    if v.size == 0:
        return np.zeros(band.shape, np.uint8)
    lo, hi = np.percentile(v, [2, 98])
    if hi <= lo:
        hi = lo + 1
    return (np.clip((band.astype("float64") - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def imagery_layer(path, *, max_px: int = 2048, gcj02: bool = False) -> ImageLayer:
    """A GeoTIFF reprojected to EPSG:3857, downsampled to ≤ ``max_px``, as an ImageOverlay image.

    1 band → grey, ≥ 3 bands → RGB (the first three); non-byte data are stretched 2–98 %;
    nodata/mask → transparent (PNG), otherwise JPEG. With ``gcj02`` the picture is resampled
    into GCJ-02 Mercator so that it stays aligned with shifted vectors on a Gaode basemap.
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.warp import calculate_default_transform, reproject
    path = Path(path)
    if not path.exists():
        raise InputError("影像文件不存在", file=path)
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as e:
        raise InputError(f"无法读取影像（{e}）", file=path)
    with src:
        if src.crs is None:
            raise InputError("影像没有坐标系，无法叠加显示", file=path)
        tr, w, h = calculate_default_transform(src.crs, "EPSG:3857", src.width, src.height, *src.bounds)
        f = max(w, h) / max_px
        if f > 1:
            from affine import Affine
            tr = tr @ Affine.scale(f) if hasattr(tr, "__matmul__") else tr * Affine.scale(f)
            w, h = max(1, int(np.ceil(w / f))), max(1, int(np.ceil(h / f)))
        bands = [1, 2, 3] if src.count >= 3 else [1]
        out = np.zeros((len(bands), h, w), dtype=src.dtypes[0])
        mask = np.zeros((h, w), dtype=np.uint8)
        for i, b in enumerate(bands):
            reproject(rasterio.band(src, b), out[i], dst_transform=tr, dst_crs="EPSG:3857",
                      resampling=Resampling.average if f > 1 else Resampling.bilinear)
        reproject(src.dataset_mask(), mask, src_transform=src.transform, src_crs=src.crs,
                  dst_transform=tr, dst_crs="EPSG:3857", resampling=Resampling.nearest)
    valid = mask > 0
    rgb = np.stack([_stretch(out[i], valid) for i in range(len(bands))])
    if rgb.shape[0] == 1:
        rgb = np.repeat(rgb, 3, axis=0)
    if gcj02:
        rgb, valid = _resample_to_gcj02(rgb, valid, tr)
    if valid.all():
        fmt, arr = "JPEG", rgb
    else:
        fmt, arr = "PNG", np.concatenate([rgb, (valid * 255).astype(np.uint8)[None]])
    data = encode_image(arr, fmt=fmt)
    return ImageLayer(_data_uri(data, fmt), _latlon_bounds(tr, w, h), w, h, len(data))


def _resample_to_gcj02(rgb: np.ndarray, valid: np.ndarray, tr):
    """Move a Mercator image into GCJ-02 Mercator: out(gcj pixel) = in(wgs position of it)."""
    from pyproj import Transformer
    from ..standards.gcj02 import gcj02_to_wgs84
    _, h, w = rgb.shape
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    x = tr.c + cols * tr.a
    y = tr.f + rows * tr.e
    to_ll = Transformer.from_crs(3857, 4326, always_xy=True)
    lon, lat = to_ll.transform(x, y)
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    sx, sy = to_ll.transform(wlon, wlat, direction="INVERSE")
    c = np.floor((sx - tr.c) / tr.a).astype(int)
    r = np.floor((sy - tr.f) / tr.e).astype(int)
    inside = (c >= 0) & (c < w) & (r >= 0) & (r < h)
    c, r = np.clip(c, 0, w - 1), np.clip(r, 0, h - 1)
    out = rgb[:, r, c]
    return out, valid[r, c] & inside

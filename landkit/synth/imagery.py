"""A synthetic before/after image pair (前时相 / 后时相) at 2 m around the 卫片 patches.

The two GeoTIFFs span the whole county at 2 m (about 20 000 × 13 000 pixels, 256 × 256 JPEG
tiles), but only the tiles around the chosen patches are written (a sparse GeoTIFF: GDAL reads
the missing tiles as nodata), so the files stay small while being far too big to read whole:
exactly the case the chip code must handle with windowed reads.

The before image shows the land as the DLTB has it (colour-infrared look, the palette of
``影像.tif``, field stripes and texture); the after image is a later season of the same land
with the patches' change drawn in: bare ground, buildings with shadows (违法 / 合法 / 其他),
greenhouses (设施农用地), a paved strip (农村道路); 伪变化 patches only change their tint.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import rasterio
import shapely
import shapely.affinity
from rasterio import features
from rasterio.transform import Affine
from rasterio.windows import Window

from ._base import Frame
from ._util import rng_for
from .raster import CIR

#: which patches get imagery around them (判定类型 values)
COVER = ("违法", "非农违法")
TILE = 256

_BUILT = {"违法": "built", "非农违法": "built", "合法": "built", "其他": "houses", "设施农用地": "greenhouse",
          "农村道路": "road", "伪变化": "tint"}


def _hash_noise(x: np.ndarray, y: np.ndarray, scale: float, seed: int) -> np.ndarray:
    """Seamless value noise in [-1, 1] from an integer hash of the lattice (no stored lattice)."""
    gx, gy = x / scale, y / scale
    ix, iy = np.floor(gx).astype(np.int64), np.floor(gy).astype(np.int64)
    fx, fy = gx - ix, gy - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)

    def h(i, j):
        v = (i * 73856093) ^ (j * 19349663) ^ (seed * 83492791)
        v = (v ^ (v >> 13)) * 1274126177
        v = v ^ (v >> 16)
        return (v & 0xFFFF).astype(np.float64) / 32767.5 - 1.0
    a, b, c, d = h(ix, iy), h(ix + 1, iy), h(ix, iy + 1), h(ix + 1, iy + 1)
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _buildings(rng, g, kind: str) -> list:
    """Footprints drawn inside a changed patch: buildings, greenhouse strips or a road strip."""
    rect = shapely.minimum_rotated_rectangle(g)
    xy = np.asarray(rect.exterior.coords)[:4]
    e1, e2 = xy[1] - xy[0], xy[3] - xy[0]
    if np.hypot(*e1) < np.hypot(*e2):
        e1, e2 = e2, e1
    ang = np.arctan2(e1[1], e1[0])
    c = np.asarray(g.centroid.coords[0])
    L, W = np.hypot(*e1), np.hypot(*e2)
    u, v = np.array([np.cos(ang), np.sin(ang)]), np.array([-np.sin(ang), np.cos(ang)])

    def box(cx, cy, a, b):
        p = [c + u * (cx + sx * a / 2) + v * (cy + sy * b / 2) for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
        return shapely.Polygon(p)
    out = []
    if kind == "greenhouse":
        n = max(1, int(W // 9))
        for k in range(n):
            out.append(box(0, -W / 2 + (k + 0.5) * W / n, L * 0.85, W / n * 0.7))
    elif kind == "road":
        out.append(box(0, 0, L, max(3.0, W * 0.6)))
    else:
        n = int(rng.integers(1, 4)) if kind == "built" else int(rng.integers(2, 5))
        size = (0.55, 0.3) if kind == "built" else (0.22, 0.22)
        for k in range(n):
            a, b = L * size[0] * rng.uniform(0.6, 1.0), W * size[1] * 1.6 * rng.uniform(0.6, 1.0)
            cx = rng.uniform(-(L - a) / 2, (L - a) / 2) if L > a else 0.0
            cy = rng.uniform(-(W - b) / 2, (W - b) / 2) if W > b else 0.0
            out.append(box(cx, cy, a, b))
    inside = [shapely.intersection(o, g) for o in out]
    return [x for x in inside if not x.is_empty and x.area > 4]


def _tiles(fr: Frame, geoms, res: float, tile: int, x0: float, y1: float, w: int, h: int) -> list[tuple[int, int]]:
    """(tile column, tile row) of every tile under the chip area of each patch (its longer side
    + 60 % on each side, at least 150 m), plus a 40 m border."""
    step = res * tile
    out = set()
    for g in geoms:
        bx0, by0, bx1, by1 = g.bounds
        side = max(max(bx1 - bx0, by1 - by0) * 2.2, 150.0) / 2 + 40.0
        cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
        c0, c1 = int((cx - side - x0) // step), int((cx + side - x0) // step)
        r0, r1 = int((y1 - (cy + side)) // step), int((y1 - (cy - side)) // step)
        for c in range(max(c0, 0), min(c1, (w - 1) // tile) + 1):
            for r in range(max(r0, 0), min(r1, (h - 1) // tile) + 1):
                out.add((c, r))
    return sorted(out, key=lambda t: (t[1], t[0]))


def render_pair(fr: Frame, dl_geom, dlbm, wp_geom, wp_df, out_dir: Path, seed: int, *, res: float = 2.0,
                tile: int = TILE, cover=COVER, quality: int = 72) -> tuple[Path, Path]:
    """Write ``前时相_YYYYMMDD.tif`` and ``后时相_YYYYMMDD.tif`` (see the module docstring).

    The dates are the earliest 前时相 and the latest 后时相 of the patches. Returns both paths.
    """
    out_dir = Path(out_dir)
    d_before = min(dt.date.fromisoformat(s) for s in wp_df["前时相"])
    d_after = max(dt.date.fromisoformat(s) for s in wp_df["后时相"])
    bx0, by0, bx1, by1 = fr.boundary.bounds
    x0, y1 = np.floor(bx0 / (res * tile)) * res * tile, np.ceil(by1 / (res * tile)) * res * tile
    w = int(np.ceil((bx1 - x0) / res / tile)) * tile
    h = int(np.ceil((y1 - by0) / res / tile)) * tile
    transform = Affine(res, 0.0, x0, 0.0, -res, y1)
    jt = wp_df["判定类型"].to_numpy()
    wp_geom = np.asarray(wp_geom, dtype=object)
    tiles = _tiles(fr, wp_geom[np.isin(jt, list(cover))], res, tile, x0, y1, w, h)

    rng = rng_for(seed, "imagery_pair")
    dl_geom = np.asarray(dl_geom, dtype=object)
    n = len(dlbm)
    base = np.array([CIR.get(c, (120, 120, 120)) for c in dlbm], dtype=np.float32)
    veg = np.array([c[:2] in ("01", "02", "03", "04") for c in dlbm])
    crop = np.array([c[:2] in ("01", "02") for c in dlbm])
    bright = 1.0 + rng.normal(0, 0.06, n) + veg * rng.normal(0, 0.08, n)
    tint = rng.normal(0, 7.0, (n, 3)) * veg[:, None]
    angle = rng.uniform(0, np.pi, n)
    period = rng.uniform(5.0, 11.0, n)
    season = 1.0 + veg * rng.normal(-0.10, 0.05, n)          # the after image: a later, drier season
    lut_b = np.zeros((n + 1, 3), np.float32)
    lut_b[1:] = base * bright[:, None] + tint
    lut_a = lut_b.copy()
    lut_a[1:] *= season[:, None]
    lut_a[1:, 1] += veg * 6.0
    tree = shapely.STRtree(dl_geom)
    wp_tree = shapely.STRtree(wp_geom)
    kinds = [_BUILT.get(j, "built") for j in jt]
    feats = [_buildings(rng_for(seed, f"imagery_patch_{i}"), g, k) if k not in ("tint",) else []
             for i, (g, k) in enumerate(zip(wp_geom, kinds))]
    ground = {"built": (196, 186, 178), "houses": (188, 176, 170), "greenhouse": (200, 196, 190),
              "road": (176, 178, 180), "tint": None}
    roof = {"built": [(118, 162, 206), (222, 222, 224), (170, 96, 92)], "houses": [(150, 120, 118), (210, 206, 204)],
            "greenhouse": [(236, 240, 244)], "road": [(150, 152, 156)]}
    profile = dict(driver="GTiff", width=w, height=h, count=3, dtype="uint8", crs=f"EPSG:{fr.epsg}",
                   transform=transform, nodata=0, tiled=True, blockxsize=tile, blockysize=tile,
                   compress="jpeg", photometric="ycbcr", jpeg_quality=quality, sparse_ok=True)
    paths = (out_dir / f"前时相_{d_before:%Y%m%d}.tif", out_dir / f"后时相_{d_after:%Y%m%d}.tif")
    dsts = [rasterio.open(p, "w", **profile) for p in paths]
    try:
        for tc, tr in tiles:
            win = Window(tc * tile, tr * tile, tile, tile)
            wt = rasterio.windows.transform(win, transform)
            tb = rasterio.windows.bounds(win, transform)
            box = shapely.box(*tb)
            idx = tree.query(box, predicate="intersects")
            cls = features.rasterize(((dl_geom[i], int(i) + 1) for i in idx), out_shape=(tile, tile),
                                     transform=wt, fill=0, dtype="int32") if len(idx) else \
                np.zeros((tile, tile), np.int32)
            xs = tb[0] + (np.arange(tile) + 0.5) * res
            ys = tb[3] - (np.arange(tile) + 0.5) * res
            gx, gy = np.meshgrid(xs, ys)
            tex = 0.06 * _hash_noise(gx, gy, 90.0, seed) + 0.04 * _hash_noise(gx, gy, 14.0, seed + 1)
            pi = np.maximum(cls - 1, 0)
            stripes = np.where(crop[pi] & (cls > 0),
                               0.05 * np.sin(2 * np.pi * (gx * np.cos(angle[pi]) + gy * np.sin(angle[pi])) / period[pi]),
                               0.0)
            noise_rng = rng_for(seed, f"imagery_tile_{tc}_{tr}")
            pix = noise_rng.normal(0, 2.5, size=(2, tile, tile, 3))
            for k, (lut, dst) in enumerate(((lut_b, dsts[0]), (lut_a, dsts[1]))):
                rgb = lut[cls] * (1.0 + tex + stripes)[..., None]
                if k == 1:
                    _draw_changes(rgb, wp_tree, wp_geom, kinds, feats, ground, roof, box, wt, tile)
                rgb += pix[k]
                img = np.clip(np.round(rgb), 12, 255).astype(np.uint8)
                img[cls == 0] = 0
                dst.write(np.moveaxis(img, -1, 0), window=win)
        for dst, d in zip(dsts, (d_before, d_after)):
            dst.update_tags(SOURCE="landkit.synth: synthetic 2 m colour-infrared image; only the tiles around "
                                   "the 违法 patches are written (sparse)", ACQUISITION_DATE=d.isoformat())
    finally:
        for dst in dsts:
            dst.close()
    return paths


def _draw_changes(rgb, wp_tree, wp_geom, kinds, feats, ground, roof, box, wt, tile) -> None:
    """Paint the patches' change into one after-image tile (in place)."""
    for i in wp_tree.query(box, predicate="intersects"):
        kind = kinds[i]
        m = features.rasterize([(wp_geom[i], 1)], out_shape=(tile, tile), transform=wt, dtype="uint8").astype(bool)
        if not m.any():
            continue
        if kind == "tint":
            rgb[m] = rgb[m] * np.array([0.82, 0.9, 1.08], np.float32)
            continue
        rgb[m] = np.array(ground[kind], np.float32) * (0.95 + 0.1 * rgb[m] / 255.0)
        colours = roof[kind]
        for k, b in enumerate(feats[i]):
            shadow = shapely.affinity.translate(b, 2.5, -2.5)
            ms = features.rasterize([(shadow, 1)], out_shape=(tile, tile), transform=wt, dtype="uint8").astype(bool)
            rgb[ms & m] = (70, 72, 84)
            mb = features.rasterize([(b, 1)], out_shape=(tile, tile), transform=wt, dtype="uint8").astype(bool)
            rgb[mb] = colours[(i + k) % len(colours)]

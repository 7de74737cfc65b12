"""Before/after image chips of 卫片 patches: a small picture of each date around each patch.

    >>> from landkit.render.chips import patch_chips
    >>> chips = patch_chips(county, analysis)          # a ChipSet
    >>> chips.items[0].chips["after"].uri              # "data:image/jpeg;base64,…"

Which patches (``[imagery]``): the classes in ``classes`` (default 违法 and 未判定), at least
``min_area_mu`` 亩, largest first, at most ``chip_count``. Which images: ``county.imagery_pair``
(landkit.io.imagery: 前时相 / 后时相 by settings, name or date).

How a chip is cut (:func:`cut_chip`), never reading a whole raster:

1. The chip grid: a square around the patch in the patch's projected CRS (north up), the
   patch's longer side plus ``margin`` on each side, at least ``min_extent_m`` metres, ``chip_px``
   pixels a side.
2. The source window: the chip's outline (densified) moved into the raster's CRS and its pixel
   grid; only that window is read, decimated with ``out_shape`` when the raster is much finer
   than the chip (GDAL then reads from the overviews when the file has them).
3. The window is reprojected in memory onto the chip grid (rasterio.warp.reproject), so a
   raster in any CRS lines up with the patch.
4. Drawn on top: the patch outline (yellow on a dark halo), a scale bar (digits and "m"/"km"
   from a built-in pixel font, so no font is needed) and a north arrow pointing to true north
   (the grid's meridian convergence is taken into account). Chinese text goes in the HTML.
5. Encoded as JPEG (GDAL) and kept as a ``data:`` URI for the report, popups and 外业核查表.

Any problem is a Chinese reason, never an exception: a missing or unreadable file, a raster
without CRS, a patch outside the image. The report then says 未提供数据 with that reason.
"""
from __future__ import annotations

import base64
import functools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from affine import Affine

from ..io.imagery import ROLE_NAMES, ROLES, relative_name
from ..standards.units import m2_to_mu
from ..standards.vocabulary import CLASS_NAMES, classify_judgements
from . import basemaps as bm

UNJUDGED = "unjudged"
#: names of the chip classes (the judgement classes and 未判定)
CHIP_CLASS_NAMES = {**CLASS_NAMES, UNJUDGED: "未判定"}
OUTLINE_RGB = (255, 235, 0)
HALO_RGB = (20, 20, 20)
NODATA_RGB = (222, 222, 222)
#: source pixels per chip pixel above which the read is decimated (out_shape)
OVERSAMPLE = 1.5


# ------------------------------------------------------------------ results
@dataclass
class Chip:
    """One date's picture of one patch (JPEG data URI) and how it was made."""
    role: str                       # before | after
    date: str | None                # ISO acquisition date of the image, when known
    uri: str                        # data:image/jpeg;base64,...
    width: int
    height: int
    crs: str                        # the chip grid's CRS (WKT or EPSG:xxxx)
    transform: tuple                # the chip grid's affine (a, b, c, d, e, f)
    scale_bar_m: float              # length of the drawn scale bar, metres
    north_deg: float                # true north, degrees clockwise from the chip's up
    window: tuple                   # source window read: (col_off, row_off, width, height), pixels
    read_shape: tuple               # the array read from it: (rows, cols), after decimation
    covered: float                  # share of the patch's pixels the image covers (0–1)
    nbytes: int                     # JPEG bytes

    @property
    def name(self) -> str:
        return ROLE_NAMES[self.role]


@dataclass
class PatchChips:
    """A selected patch: what the report and the 外业核查表 show of it, and its chips."""
    key: str                        # "c0", "c1", … (safe in HTML ids)
    index: object                   # the patch's index in the patch layer
    info: dict                      # display values (监测编号, 类别, 乡镇, 村, 面积 亩, 坐标, …)
    chips: dict = field(default_factory=dict)      # role -> Chip
    reasons: dict = field(default_factory=dict)    # role -> Chinese reason the chip is missing

    @property
    def id(self) -> str:
        return str(self.info.get("监测编号") or self.key)


@dataclass
class ChipSet:
    """The chips of a county: the images used, the selected patches, and why not when not."""
    items: list = field(default_factory=list)      # PatchChips, in selection order
    images: dict = field(default_factory=dict)     # role -> {"file", "date"} (file relative to the folder)
    reason: str | None = None                      # why there are no chips at all
    image_reasons: dict = field(default_factory=dict)   # role -> why that date gives no chips
    selection: str = ""                            # the rule, in Chinese
    candidate_count: int = 0                       # patches meeting the rule (before chip_count)
    seconds: float = 0.0
    has_patches: bool = False                      # the county has a 卫片 layer

    @property
    def available(self) -> bool:
        return any(p.chips for p in self.items)

    @property
    def chip_count(self) -> int:
        return sum(len(p.chips) for p in self.items)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for p in self.items for c in p.chips.values())

    def by_index(self) -> dict:
        return {p.index: p for p in self.items}

    def caption(self, role: str) -> str:
        d = (self.images.get(role) or {}).get("date")
        return f"{ROLE_NAMES[role]}（{d}）" if d else ROLE_NAMES[role]

    def limited(self, max_bytes: int) -> "ChipSet":
        """This set with chips only for the first patches whose pictures (as base64 text) fit in
        ``max_bytes``; the later ones get the reason instead (their chips stay in the 外业核查表)."""
        import copy
        out, used, full = copy.copy(self), 0, False
        out.items = []
        for p in self.items:
            size = sum(len(c.uri) for c in p.chips.values())
            if full or used + size > max_bytes:
                full = True
                q = copy.copy(p)
                q.chips = {}
                q.reasons = {**p.reasons, **{r: "报告大小所限，影像见外业核查表" for r in p.chips}}
                out.items.append(q)
            else:
                used += size
                out.items.append(p)
        return out

    def summary(self) -> dict:
        """summary.json ``imagery`` (docs/summary-schema.md)."""
        out = {"available": self.available,
               "before": self.images.get("before"), "after": self.images.get("after"),
               "selection": self.selection, "candidate_count": self.candidate_count,
               "patch_count": len(self.items), "chip_count": self.chip_count,
               "patches": [{"id": p.id, "before": "before" in p.chips, "after": "after" in p.chips,
                            **({"reasons": dict(p.reasons)} if p.reasons else {})} for p in self.items]}
        if self.reason or not self.available:
            out["reason"] = self.reason or next(iter(self.image_reasons.values()), None) or "没有截取到影像"
        if self.image_reasons:
            out["unavailable"] = dict(self.image_reasons)
        return out


# ------------------------------------------------------------------ which patches
def patch_classes(patches, settings) -> np.ndarray:
    """The chip class of every patch: its judgement class, or ``unjudged`` where there is none
    (no 判定类型, an empty or unknown value, or a layer the 卫片 analysis did not judge)."""
    if "class" in patches.columns:
        cls = patches["class"].astype(object).to_numpy()
        return np.array([c if isinstance(c, str) and c in CLASS_NAMES else UNJUDGED for c in cls], dtype=object)
    if "判定类型" not in patches.columns:
        return np.full(len(patches), UNJUDGED, dtype=object)
    extra = settings.satellite.judgement
    table = {}
    for v in pd.unique(patches["判定类型"].astype(object)):
        try:
            table[v] = classify_judgements(pd.Series([v], dtype=object), extra).iloc[0]
        except Exception:  # noqa: BLE001 — an unknown or empty value: not judged
            table[v] = UNJUDGED
    return np.array([table.get(v, UNJUDGED) if not _blank(v) else UNJUDGED
                     for v in patches["判定类型"].astype(object)], dtype=object)


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _missing(v) -> bool:
    """None, NaN, NA, NaT or blank text."""
    if isinstance(v, str):
        return not v.strip()
    try:
        return bool(pd.isna(v)) if np.ndim(v) == 0 else False
    except (TypeError, ValueError):
        return False


def _mu_or_none(m2) -> float | None:
    return None if m2 is None else float(m2_to_mu(float(m2)))


def selection_rule(settings) -> str:
    c = settings.imagery
    names = "、".join(CHIP_CLASS_NAMES[k] for k in c.classes)
    area = f"、面积不小于 {c.min_area_mu:g} 亩" if c.min_area_mu > 0 else ""
    return f"{names}图斑{area}，按面积从大到小取前 {c.chip_count} 个"


def select_patches(patches, settings):
    """The patches to cut chips for: (frame of them in order, number meeting the rule)."""
    c = settings.imagery
    cls = patch_classes(patches, settings)
    area = patches["area_m2"].to_numpy(dtype=float) if "area_m2" in patches.columns \
        else patches["lk_area_m2"].to_numpy(dtype=float)
    ok = np.isin(cls, list(c.classes)) & (m2_to_mu(area) >= c.min_area_mu - 1e-9)
    ok &= ~(shapely.is_missing(patches.geometry.values) | shapely.is_empty(patches.geometry.values))
    pos = np.flatnonzero(ok)
    pos = pos[np.argsort(-area[pos], kind="stable")]
    sel = patches.iloc[pos[: c.chip_count]].copy()
    sel["chip_class"] = cls[pos[: c.chip_count]]
    sel["chip_area_m2"] = area[pos[: c.chip_count]]
    return sel, int(len(pos))


# ------------------------------------------------------------------ the chip grid
@dataclass
class ChipGrid:
    """A north-up square pixel grid around a patch."""
    crs: object            # pyproj / rasterio CRS of the grid (the patch's projected CRS)
    transform: Affine
    width: int
    height: int

    @property
    def res(self) -> float:
        return abs(self.transform.a)

    @property
    def bounds(self) -> tuple:
        x0, y1 = self.transform.c, self.transform.f
        return x0, y1 - self.height * self.res, x0 + self.width * self.res, y1


def chip_grid(geom, crs, *, px: int = 320, margin: float = 0.6, min_extent_m: float = 150.0) -> ChipGrid:
    """The grid of a chip around ``geom`` (in projected ``crs``, metres): the longer side of its
    bounding box plus ``margin`` × that on each side, at least ``min_extent_m``, ``px`` pixels."""
    from rasterio.crs import CRS as RioCRS
    crs = RioCRS.from_user_input(crs)
    x0, y0, x1, y1 = shapely.bounds(geom)
    side = max(x1 - x0, y1 - y0)
    side = max(side * (1 + 2 * margin), float(min_extent_m))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    res = side / px
    return ChipGrid(crs, Affine(res, 0.0, cx - side / 2, 0.0, -res, cy + side / 2), int(px), int(px))


def _grid_outline(grid: ChipGrid, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Points along the chip's edges (for the source window of a reprojected raster)."""
    x0, y0, x1, y1 = grid.bounds
    t = np.linspace(0, 1, n)
    xs = np.concatenate([x0 + (x1 - x0) * t, np.full(n, x1), x1 - (x1 - x0) * t, np.full(n, x0)])
    ys = np.concatenate([np.full(n, y0), y0 + (y1 - y0) * t, np.full(n, y1), y1 - (y1 - y0) * t])
    return xs, ys


def source_window(src, grid: ChipGrid):
    """(window clipped to the raster, the unclipped one) of ``src`` pixels under the chip, as
    (col_off, row_off, width, height) integer tuples; the clipped one is None when they miss."""
    from rasterio.warp import transform as warp_transform
    xs, ys = _grid_outline(grid)
    if src.crs != grid.crs:
        xs, ys = (np.asarray(v) for v in warp_transform(grid.crs, src.crs, xs.tolist(), ys.tolist()))
    inv = ~src.transform
    cols, rows = inv @ (xs, ys)
    ok = np.isfinite(cols) & np.isfinite(rows)
    if not ok.any():
        return None, None
    c0, c1 = math.floor(np.min(cols[ok])) - 1, math.ceil(np.max(cols[ok])) + 1
    r0, r1 = math.floor(np.min(rows[ok])) - 1, math.ceil(np.max(rows[ok])) + 1
    full = (c0, r0, c1 - c0, r1 - r0)
    cc0, cc1 = max(c0, 0), min(c1, src.width)
    rr0, rr1 = max(r0, 0), min(r1, src.height)
    if cc1 <= cc0 or rr1 <= rr0:
        return None, full
    return (cc0, rr0, cc1 - cc0, rr1 - rr0), full


# ------------------------------------------------------------------ reading
def _rgb_bands(src, bands=None) -> list[int]:
    """The bands shown as red, green, blue: ``bands`` (``[imagery] bands``) when given and in the
    file, else the file's colour interpretation, else the first three (one band: grey)."""
    from rasterio.enums import ColorInterp
    if bands:
        if len(bands) not in (1, 3) or any(not 1 <= b <= src.count for b in bands):
            raise ValueError(f"[imagery] bands = {list(bands)}，但影像只有 {src.count} 个波段（应写 1 个或 3 个波段号）")
        return list(bands)
    ci = list(src.colorinterp)
    want = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]
    if all(w in ci for w in want):
        return [ci.index(w) + 1 for w in want]
    return [1, 2, 3] if src.count >= 3 else [1]


def _stretch(band: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """A band as uint8: byte data as they are, other data stretched 2–98 % over the valid pixels."""
    if band.dtype == np.uint8:
        return band
    v = band[valid]
    v = v[np.isfinite(v)] if v.dtype.kind == "f" else v
    if v.size == 0:
        return np.zeros(band.shape, np.uint8)
    lo, hi = np.percentile(v, [2, 98])
    if hi <= lo:
        hi = lo + 1
    out = np.clip((band.astype("float64") - lo) / (hi - lo), 0, 1) * 255
    return np.nan_to_num(out).astype(np.uint8)


def read_chip(src, grid: ChipGrid, bands=None):
    """The raster under a chip grid: (rgb (3, h, w) uint8, valid (h, w) bool, window, read shape).

    Reads only the window of ``src`` under the chip (decimated when the raster is finer than
    the chip by more than OVERSAMPLE), then reprojects it in memory. (None, None, None, None)
    when the raster does not reach the chip.
    """
    from rasterio.enums import Resampling
    from rasterio.warp import reproject
    from rasterio.windows import Window
    win, full = source_window(src, grid)
    if win is None:
        return None, None, None, None
    # decimate by the ratio of the whole (unclipped) window to the chip
    f = math.sqrt(max(full[2], 1) * max(full[3], 1) / (grid.width * grid.height)) / OVERSAMPLE
    f = max(1.0, f)
    oh, ow = max(1, math.ceil(win[3] / f)), max(1, math.ceil(win[2] / f))
    window = Window(*win)
    bands = _rgb_bands(src, bands)
    res = Resampling.average if f > 1 else Resampling.nearest
    data = src.read(bands, window=window, out_shape=(len(bands), oh, ow), resampling=res)
    mask = src.dataset_mask(window=window, out_shape=(oh, ow))
    wt = src.window_transform(window) @ Affine.scale(win[2] / ow, win[3] / oh)
    # one warp for the bands and the mask (as one more band: valid where it interpolates to ≥ ½)
    dtype = data.dtype if data.dtype == np.uint8 else np.float32
    stack = np.concatenate([data.astype(dtype, copy=False), mask[None].astype(dtype)])
    warped = np.zeros((len(bands) + 1, grid.height, grid.width), dtype=dtype)
    reproject(stack, warped, src_transform=wt, src_crs=src.crs, dst_transform=grid.transform, dst_crs=grid.crs,
              resampling=Resampling.bilinear, src_nodata=None, dst_nodata=None, init_dest_nodata=False)
    out = warped[:-1]
    ok = warped[-1] >= 128
    if len(bands) == 1 and src.count == 1:
        try:
            cmap = src.colormap(1)
        except ValueError:
            cmap = None
        if cmap and out.dtype == np.uint8:
            lut = np.zeros((256, 3), np.uint8)
            for k, v in cmap.items():
                if 0 <= k < 256:
                    lut[k] = v[:3]
            rgb = np.moveaxis(lut[out[0]], -1, 0)
            return rgb, ok, win, (oh, ow)
    rgb = np.stack([_stretch(out[i], ok) for i in range(len(bands))])
    if rgb.shape[0] == 1:
        rgb = np.repeat(rgb, 3, axis=0)
    return rgb, ok, win, (oh, ow)


# ------------------------------------------------------------------ drawing
#: a 5 × 7 pixel font for the scale bar ("0"–"9", "k", "m") and the north arrow ("N"): 7 rows each
_GLYPHS = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
    ".": (".....", ".....", ".....", ".....", ".....", ".##..", ".##.."),
    "k": ("#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."),
    "m": (".....", ".....", "##.#.", "#.#.#", "#.#.#", "#...#", "#...#"),
    "N": ("#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#", "#...#"),
    " ": (".....",) * 7,
}


def _text_mask(text: str, scale: int = 2) -> np.ndarray:
    cols = []
    for ch in text:
        g = np.array([[c == "#" for c in row] for row in _GLYPHS.get(ch, _GLYPHS[" "])], dtype=bool)
        cols += [g, np.zeros((7, 1), bool)]
    m = np.concatenate(cols[:-1], axis=1) if cols else np.zeros((7, 0), bool)
    return np.kron(m, np.ones((scale, scale), dtype=bool))


def _paint(img: np.ndarray, mask: np.ndarray, rgb, y: int, x: int, alpha: float = 1.0) -> None:
    """Paint ``rgb`` where ``mask`` is true, with the mask's top-left corner at (y, x); img is (h, w, 3)."""
    h, w = img.shape[:2]
    mh, mw = mask.shape
    y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + mh, h), min(x + mw, w)
    if y1 <= y0 or x1 <= x0:
        return
    sub = mask[y0 - y:y1 - y, x0 - x:x1 - x]
    region = img[y0:y1, x0:x1]
    col = np.array(rgb, dtype=np.float32)
    region[sub] = np.round(region[sub] * (1 - alpha) + col * alpha).astype(np.uint8)


def _halo(mask: np.ndarray, r: int = 1) -> np.ndarray:
    out = np.zeros((mask.shape[0] + 2 * r, mask.shape[1] + 2 * r), dtype=bool)
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            out[dy:dy + mask.shape[0], dx:dx + mask.shape[1]] |= mask
    return out


def outline_mask(geom, grid: ChipGrid, width_px: float = 1.2) -> np.ndarray:
    """Pixels of the chip on the patch's boundary (a band ``width_px`` either side of it)."""
    from rasterio.features import rasterize
    band = shapely.buffer(shapely.boundary(geom), width_px * grid.res)
    if band.is_empty:
        return np.zeros((grid.height, grid.width), bool)
    return rasterize([(band, 1)], out_shape=(grid.height, grid.width), transform=grid.transform, fill=0,
                     dtype="uint8").astype(bool)


def nice_length(max_m: float) -> float:
    """The longest 1, 2 or 5 × 10^k metres not above ``max_m``."""
    if max_m <= 0:
        return 0.0
    k = math.floor(math.log10(max_m))
    for m in (5, 2, 1):
        if m * 10 ** k <= max_m:
            return float(m * 10 ** k)
    return float(10 ** (k - 1) * 5)


def length_label(m: float) -> str:
    return f"{m / 1000:g} km" if m >= 1000 else f"{m:g} m"


def draw_scale_bar(img: np.ndarray, res: float, *, max_share: float = 0.3) -> float:
    """A scale bar at the bottom left (half black, half white) with its length above it; metres."""
    h, w = img.shape[:2]
    length = nice_length(max_share * w * res)
    n = max(2, int(round(length / res)))
    label = _text_mask(length_label(length))
    pad, bar_h = 6, 6
    box_w = max(n, label.shape[1]) + 2 * pad
    box_h = label.shape[0] + bar_h + 3 * pad
    y0, x0 = h - box_h - 6, 6
    _paint(img, np.ones((box_h, box_w), bool), (255, 255, 255), y0, x0, alpha=0.75)
    _paint(img, label, (0, 0, 0), y0 + pad, x0 + pad)
    by = y0 + pad + label.shape[0] + pad
    _paint(img, np.ones((bar_h, n), bool), (0, 0, 0), by, x0 + pad)
    inner = np.zeros((bar_h, n), bool)
    inner[1:-1, n // 2:n - 1] = True
    _paint(img, inner, (255, 255, 255), by, x0 + pad)
    return length


@functools.lru_cache(maxsize=16)
def _to_lonlat(wkt: str):
    from pyproj import CRS, Transformer
    crs = CRS.from_wkt(wkt)
    return Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)


def north_angle(grid: ChipGrid) -> float:
    """True north at the chip's centre, degrees clockwise from the grid's up (meridian convergence)."""
    x0, y0, x1, y1 = grid.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    to_ll = _to_lonlat(grid.crs.to_wkt())
    lon, lat = to_ll.transform(cx, cy)
    nx, ny = to_ll.transform(lon, min(lat + 0.001, 89.9), direction="INVERSE")
    return math.degrees(math.atan2(nx - cx, ny - cy))


def draw_north_arrow(img: np.ndarray, angle_deg: float) -> None:
    """A north arrow with "N" at the top right, rotated to ``angle_deg`` (clockwise from up)."""
    from rasterio.features import rasterize
    h, w = img.shape[:2]
    cx, cy = w - 20.5, 40.5
    t = math.radians(angle_deg)

    def rot(x, y):      # pixel offsets, y down; clockwise rotation on the screen
        return cx + x * math.cos(t) - y * math.sin(t), cy + x * math.sin(t) + y * math.cos(t)
    left = shapely.Polygon([rot(0, -15), rot(0, 4), rot(-8, 10)])
    right = shapely.Polygon([rot(0, -15), rot(8, 10), rot(0, 4)])
    both = shapely.union(left, right)
    # drawn in a small box around the arrow (pixel coordinates shifted to its corner)
    bx, by = int(cx) - 24, int(cy) - 24
    box = Affine.translation(bx, by)
    halo = rasterize([(shapely.buffer(both, 1.6), 1)], out_shape=(48, 48), transform=box, dtype="uint8").astype(bool)
    _paint(img, halo, (255, 255, 255), by, bx)
    _paint(img, rasterize([(left, 1)], out_shape=(48, 48), transform=box, dtype="uint8").astype(bool), (0, 0, 0), by, bx)
    n = _text_mask("N")
    ny, nx = int(round(cy - 15 - 6 - n.shape[0] + 2 * math.cos(t))), int(round(cx - n.shape[1] / 2 + 15 * math.sin(t)))
    _paint(img, _halo(n), (255, 255, 255), ny - 1, nx - 1)
    _paint(img, n, (0, 0, 0), ny, nx)


def render_chip(src, geom, grid: ChipGrid, bands=None):
    """The picture of one patch on one image: (rgb (h, w, 3) uint8, outline mask, info dict) or
    (None, None, reason) when the image does not cover the patch."""
    rgb, valid, win, shape = read_chip(src, grid, bands)
    if rgb is None:
        return None, None, "影像未覆盖该图斑"
    from rasterio.features import rasterize
    inside = rasterize([(geom, 1)], out_shape=(grid.height, grid.width), transform=grid.transform, fill=0,
                       dtype="uint8", all_touched=True).astype(bool)
    covered = float(valid[inside].mean()) if inside.any() else float(valid.mean())
    if covered == 0:
        return None, None, "影像未覆盖该图斑"
    img = np.moveaxis(rgb, 0, -1).copy()
    img[~valid] = NODATA_RGB
    line = outline_mask(geom, grid)
    halo = outline_mask(geom, grid, 2.4) & ~line
    img[halo] = HALO_RGB
    img[line] = OUTLINE_RGB
    bar = draw_scale_bar(img, grid.res)
    north = north_angle(grid)
    draw_north_arrow(img, north)
    return img, line, {"window": win, "read_shape": shape, "covered": covered, "scale_bar_m": bar, "north": north}


def encode_chip(img: np.ndarray) -> bytes:
    """A (h, w, 3) uint8 picture as JPEG bytes."""
    return bm.encode_image(np.ascontiguousarray(np.moveaxis(img, -1, 0)), fmt="JPEG")


def cut_chip(src, geom, crs, role: str, date, *, px: int = 320, margin: float = 0.6,
             min_extent_m: float = 150.0, bands=None) -> tuple[Chip | None, str | None]:
    """One chip of ``geom`` (in projected ``crs``) on the open raster ``src``: (Chip, None) or
    (None, Chinese reason)."""
    grid = chip_grid(geom, crs, px=px, margin=margin, min_extent_m=min_extent_m)
    img, _, info = render_chip(src, geom, grid, bands)
    if img is None:
        return None, info
    data = encode_chip(img)
    uri = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    epsg = grid.crs.to_epsg() if hasattr(grid.crs, "to_epsg") else None
    return Chip(role, date.isoformat() if date else None, uri, grid.width, grid.height,
                f"EPSG:{epsg}" if epsg else str(grid.crs), tuple(grid.transform)[:6], info["scale_bar_m"],
                info["north"], tuple(int(v) for v in info["window"]), tuple(int(v) for v in info["read_shape"]),
                info["covered"], len(data)), None


# ------------------------------------------------------------------ a county's chips
def open_image(path: Path, role: str, folder):
    """An open rasterio dataset, or (None, Chinese reason)."""
    import rasterio
    from rasterio.errors import RasterioError
    name = f"{ROLE_NAMES[role]}影像 {relative_name(folder, path)}"
    if not Path(path).is_file():
        return None, f"{name} 不存在"
    try:
        src = rasterio.open(path)
    except (RasterioError, OSError) as e:
        detail = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        detail = detail.replace(str(Path(path)), Path(path).name).replace(str(Path(path).parent), "")
        return None, f"无法读取{name}（不是有效的 GeoTIFF 或文件已损坏：{detail}）"
    if src.crs is None:
        src.close()
        return None, f"{name} 没有坐标系，无法与图斑对应"
    return src, None


def _chip_crs(crs, geoms):
    """The chips' CRS: the patches' projected CRS; for lon/lat patches a transverse Mercator at them."""
    from pyproj import CRS
    crs = CRS.from_user_input(crs)
    if crs.is_projected:
        return crs
    lon = float(np.mean(shapely.bounds(geoms)[:, [0, 2]]))
    return CRS.from_proj4(f"+proj=tmerc +lon_0={lon:.4f} +lat_0=0 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m")


def patch_info(sel, county, settings) -> list[dict]:
    """Display values of the selected patches: ids, class, location, areas (亩), coordinates."""
    from pyproj import CRS, Transformer
    from ..analyses.location import locate
    geoms = np.asarray(sel.geometry.values, dtype=object)
    loc = locate(geoms, county, settings, settings.sliver_m2) if len(sel) else None
    raw = county.patches
    crs = CRS.from_user_input(sel.crs)
    pts = shapely.point_on_surface(geoms)
    to_ll = Transformer.from_crs(crs, 4490, always_xy=True)
    lon, lat = to_ll.transform(shapely.get_x(pts), shapely.get_y(pts))
    out = []
    for i, (idx, r) in enumerate(sel.iterrows()):
        rows = (r, raw.loc[idx] if raw is not None and idx in raw.index else None)

        def get(col):       # the analysis' value, else the layer's as read; None when blank
            for row in rows:
                if row is not None and col in row.index and not _missing(row[col]):
                    return row[col]
            return None
        ident = get("监测编号")
        out.append({
            "监测编号": str(ident) if ident is not None else f"FID {get('lk_fid')}",
            "class": r["chip_class"], "类别": CHIP_CLASS_NAMES.get(r["chip_class"], "未判定"),
            "判定类型": get("判定类型"), "违法类型": get("违法类型"), "整改状态": get("整改状态"),
            "项目名称": get("项目名称"), "用地单位": get("用地单位"),
            "前时相": get("前时相"), "后时相": get("后时相"),
            "乡镇": loc["township_name"].iloc[i] if loc is not None else None,
            "乡镇代码": loc["township"].iloc[i] if loc is not None else None,
            "村": loc["village_name"].iloc[i] if loc is not None else None,
            "area_mu": float(m2_to_mu(r["chip_area_m2"])),
            "farmland_mu": _mu_or_none(get("farmland_used_m2")),
            "yjjbnt_mu": _mu_or_none(get("yjjbnt_m2")),
            "lon": float(lon[i]), "lat": float(lat[i]),
            "x": float(shapely.get_y(pts[i])) if crs.is_projected else None,     # 北坐标 X (surveying)
            "y": float(shapely.get_x(pts[i])) if crs.is_projected else None,     # 东坐标 Y
            "crs": f"EPSG:{crs.to_epsg()}" if crs.to_epsg() else crs.name,
        })
    return out


def _patch_frame(county, analysis):
    from ..analyses.county_analysis import summary_and_results
    _, results = summary_and_results(analysis) if analysis is not None else ({}, {})
    sat = (results or {}).get("satellite")
    if sat is not None and getattr(sat, "patches", None) is not None:
        return sat.patches
    return county.patches


def patch_chips(county, analysis=None, *, settings=None) -> ChipSet:
    """The before/after chips of the county's 卫片 patches that matter (see the module docstring).

    Never raises for bad imagery: a ChipSet with Chinese reasons comes back instead.
    """
    t0 = time.perf_counter()
    settings = settings or county.config
    c = settings.imagery
    out = ChipSet(selection=selection_rule(settings))
    patches = _patch_frame(county, analysis)
    pair = getattr(county, "imagery_pair", None)
    folder = county.path
    if pair is not None:
        for img in pair:
            out.images[img.role] = {"file": relative_name(folder, img.path), "date": img.date.isoformat() if img.date else None}
    if patches is None or len(patches) == 0:
        out.reason = "该县没有卫片图斑图层"
        out.seconds = time.perf_counter() - t0
        return out
    out.has_patches = True
    if c.chip_count == 0:
        out.reason = "按设置（[imagery] chip_count = 0）不截取影像"
    sel, out.candidate_count = select_patches(patches, settings)
    if not len(sel):
        out.reason = out.reason or f"没有符合条件的图斑（{out.selection}）"
        out.seconds = time.perf_counter() - t0
        return out
    infos = patch_info(sel, county, settings)
    out.items = [PatchChips(f"c{i}", idx, info) for i, (idx, info) in enumerate(zip(sel.index, infos))]
    if pair is None or not list(pair):
        out.reason = ("县文件夹中没有前后时相影像（文件名含“前时相”“后时相”或带日期的 GeoTIFF，"
                      "或在 landkit.toml 的 [imagery] 中设置 before / after）")
        for p in out.items:
            p.reasons = {r: out.reason for r in ROLES}
        out.seconds = time.perf_counter() - t0
        return out
    from rasterio.crs import CRS as RioCRS
    crs = _chip_crs(sel.crs, np.asarray(sel.geometry.values, dtype=object))
    geoms = sel.geometry.to_crs(crs).values if not crs.equals(sel.crs) else sel.geometry.values
    crs = RioCRS.from_user_input(crs)

    def unusable(role, why):          # this date's image gives no chip: every patch says why
        out.image_reasons[role] = why
        for p in out.items:
            p.reasons[role] = why
    for role in ROLES:
        img = pair.get(role)
        if img is None:
            unusable(role, f"县文件夹中没有{ROLE_NAMES[role]}影像")
            continue
        src, why = open_image(img.path, role, folder)
        if src is None:
            unusable(role, why)
            continue
        with src:
            try:
                _rgb_bands(src, c.bands)
            except ValueError as e:
                unusable(role, f"{ROLE_NAMES[role]}影像 {relative_name(folder, img.path)}：{e}")
                continue
            for p, g in zip(out.items, geoms):
                try:
                    chip, why = cut_chip(src, g, crs, role, img.date, px=c.chip_px, margin=c.margin,
                                         min_extent_m=c.min_extent_m, bands=c.bands)
                except Exception as e:  # noqa: BLE001 — a damaged tile or a failed warp: this chip only
                    chip, why = None, f"读取{ROLE_NAMES[role]}影像失败（{type(e).__name__}：{str(e)[:100]}）"
                if chip is not None:
                    p.chips[role] = chip
                else:
                    p.reasons[role] = why
    if not out.available and not out.reason:
        out.reason = "；".join(dict.fromkeys(out.image_reasons.values())) or "影像未覆盖所选图斑"
    out.seconds = time.perf_counter() - t0
    return out

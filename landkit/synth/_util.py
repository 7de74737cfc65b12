"""Small deterministic helpers for the synthetic-county generator.

Everything here is seeded: the same arguments give the same numbers on any machine
with the same numpy/shapely/GEOS versions.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pyproj
import shapely

GRID = 0.001  # coordinate precision of all generated geometries, metres (1 mm)


# ----------------------------------------------------------------- random streams
def rng_for(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per (seed, component name).

    Changing the size of one layer does not change the random numbers of another.
    """
    h = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, h])


# ----------------------------------------------------------------- smooth noise
class Noise:
    """Smooth value noise on the plane: a sum of octaves of bilinearly (smoothstep)
    interpolated random lattices. Values are roughly in [-1, 1], mean 0."""

    def __init__(self, rng: np.random.Generator, bounds, scale: float, octaves: int = 3,
                 persistence: float = 0.5):
        x0, y0, x1, y1 = bounds
        self.layers = []
        amp, total = 1.0, 0.0
        for o in range(octaves):
            s = scale / (2 ** o)
            nx = int(np.ceil((x1 - x0) / s)) + 3
            ny = int(np.ceil((y1 - y0) / s)) + 3
            grid = rng.uniform(-1.0, 1.0, size=(ny, nx))
            self.layers.append((x0 - s, y0 - s, s, grid, amp))
            total += amp
            amp *= persistence
        self.total = total

    def __call__(self, x, y) -> np.ndarray:
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        out = np.zeros(np.broadcast(x, y).shape)
        for ox, oy, s, grid, amp in self.layers:
            gx = np.clip((x - ox) / s, 0, grid.shape[1] - 1.000001)
            gy = np.clip((y - oy) / s, 0, grid.shape[0] - 1.000001)
            ix = np.floor(gx).astype(int)
            iy = np.floor(gy).astype(int)
            fx = gx - ix
            fy = gy - iy
            fx = fx * fx * (3 - 2 * fx)
            fy = fy * fy * (3 - 2 * fy)
            v00 = grid[iy, ix]
            v01 = grid[iy, ix + 1]
            v10 = grid[iy + 1, ix]
            v11 = grid[iy + 1, ix + 1]
            out += amp * ((v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy)
        # value noise has a smaller spread than its lattice; stretch to about [-1, 1]
        return np.clip(out / self.total * 1.8, -1.0, 1.0)


# ----------------------------------------------------------------- shapes
def snap(geoms):
    """Round coordinates to the 1 mm grid (consistently for shared vertices)."""
    return shapely.set_precision(geoms, GRID, mode="valid_output")


def blob(rng: np.random.Generator, cx: float, cy: float, radius: float, *, wobble: float = 0.3,
         aspect: float = 1.0, angle: float | None = None, n: int = 48) -> shapely.Polygon:
    """An irregular, star-shaped blob polygon around (cx, cy)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in (2, 3, 4, 5, 7):
        r += wobble / k ** 0.8 * rng.uniform(-1, 1) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.35, None) * radius
    a = rng.uniform(0, np.pi) if angle is None else angle
    x = r * np.cos(t) * aspect
    y = r * np.sin(t) / aspect
    xr = cx + x * np.cos(a) - y * np.sin(a)
    yr = cy + x * np.sin(a) + y * np.cos(a)
    return shapely.make_valid(shapely.Polygon(np.column_stack([xr, yr])))


def quad(rng: np.random.Generator, cx: float, cy: float, area: float, *, aspect: float = 1.5,
         angle: float | None = None, jitter: float = 0.12) -> shapely.Polygon:
    """A jittered rotated rectangle of about ``area`` m² centred at (cx, cy)."""
    w = np.sqrt(area * aspect)
    h = area / w
    pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    pts = pts + rng.uniform(-jitter, jitter, size=pts.shape) * np.array([w, h])
    a = rng.uniform(0, np.pi) if angle is None else angle
    c, s = np.cos(a), np.sin(a)
    xy = np.column_stack([cx + pts[:, 0] * c - pts[:, 1] * s, cy + pts[:, 0] * s + pts[:, 1] * c])
    return shapely.make_valid(shapely.Polygon(xy))


def wiggly_line(rng: np.random.Generator, p0, p1, *, amp: float = 0.08, n: int = 24) -> shapely.LineString:
    """A gently meandering line from p0 to p1 (lateral offsets ∝ length × amp)."""
    p0 = np.asarray(p0, float)
    p1 = np.asarray(p1, float)
    d = p1 - p0
    length = float(np.hypot(*d)) or 1.0
    normal = np.array([-d[1], d[0]]) / length
    t = np.linspace(0, 1, n)
    off = np.zeros(n)
    for k in (1, 2, 3):
        off += amp / k * rng.uniform(-1, 1) * np.sin(np.pi * k * t)
    pts = p0 + np.outer(t, d) + np.outer(off * length, normal)
    return shapely.LineString(pts)


def round_mm(geoms):
    """Round coordinates to the 1 mm grid by plain vertex rounding (fast; shared vertices
    stay shared). Geometries that rounding makes invalid are snap-rounded by GEOS."""
    geoms = np.asarray(geoms, dtype=object)
    out = shapely.transform(geoms, lambda c: np.round(c, 3))
    bad = ~shapely.is_valid(out) & ~shapely.is_empty(out)
    if bad.any():
        src = geoms[bad]
        src = np.where(shapely.is_valid(src), src, shapely.make_valid(src))
        out[bad] = shapely.set_precision(src, GRID, mode="valid_output")
    return out


def overlay(op, a, b):
    """Vectorised overlay (shapely.intersection / difference) in floating point, then
    rounded to the mm grid; pairs that fail or come out invalid are redone with GEOS
    snap-rounding at the same grid."""
    try:
        r = op(a, b)
    except shapely.errors.GEOSException:
        return op(a, b, grid_size=GRID)
    return round_mm(r)


def point_in(rng: np.random.Generator, poly, tries: int = 64) -> np.ndarray:
    """One random point inside a (small) polygon."""
    shapely.prepare(poly)
    x0, y0, x1, y1 = poly.bounds
    for _ in range(50):
        x = rng.uniform(x0, x1, tries)
        y = rng.uniform(y0, y1, tries)
        ok = np.flatnonzero(shapely.contains_xy(poly, x, y))
        if len(ok):
            return np.array([x[ok[0]], y[ok[0]]])
    c = shapely.point_on_surface(poly)
    return np.array([c.x, c.y])


def points_in_each(rng: np.random.Generator, polys, tries: int = 16) -> np.ndarray:
    """One random point inside each polygon of an array (vectorised rejection)."""
    polys = np.asarray(polys, dtype=object)
    n = len(polys)
    out = np.full((n, 2), np.nan)
    b = shapely.bounds(polys)
    todo = np.arange(n)
    for _ in range(30):
        if not len(todo):
            break
        k = len(todo)
        x = rng.uniform(b[todo, 0, None], b[todo, 2, None], (k, tries))
        y = rng.uniform(b[todo, 1, None], b[todo, 3, None], (k, tries))
        ok = shapely.contains_xy(np.repeat(polys[todo], tries).reshape(k, tries), x, y)
        hit = ok.any(axis=1)
        first = np.argmax(ok, axis=1)
        rows = todo[hit]
        out[rows, 0] = x[hit, first[hit]]
        out[rows, 1] = y[hit, first[hit]]
        todo = todo[~hit]
    if len(todo):
        c = shapely.get_coordinates(shapely.point_on_surface(polys[todo]))
        out[todo] = c
    return out


def sample_in(rng: np.random.Generator, region, n: int, *, density=None, max_density=1.0,
              batch: int | None = None) -> np.ndarray:
    """n points inside ``region`` (prepared), optionally by rejection on density(x, y)."""
    if n == 1 and density is None:
        return point_in(rng, region)[None, :]
    shapely.prepare(region)
    x0, y0, x1, y1 = region.bounds
    out = []
    got = 0
    frac = max(shapely.area(region) / ((x1 - x0) * (y1 - y0)), 0.05)
    while got < n:
        m = batch or int((n - got) / frac * 1.3) + 64
        x = rng.uniform(x0, x1, m)
        y = rng.uniform(y0, y1, m)
        keep = shapely.contains_xy(region, x, y)
        if density is not None:
            u = rng.uniform(0, max_density, m)
            keep &= u < density(x, y)
        pts = np.column_stack([x[keep], y[keep]])
        out.append(pts)
        got += len(pts)
    return np.concatenate(out)[:n]


def spread_points(rng: np.random.Generator, region, k: int, *, candidates: int = 2000,
                  fixed: np.ndarray | None = None) -> np.ndarray:
    """k well-spread points in region (greedy farthest-point sampling)."""
    cand = sample_in(rng, region, candidates)
    chosen = [] if fixed is None else [tuple(p) for p in fixed]
    dmin = np.full(len(cand), np.inf)
    for p in chosen:
        dmin = np.minimum(dmin, np.hypot(cand[:, 0] - p[0], cand[:, 1] - p[1]))
    if not chosen:
        chosen.append(tuple(cand[0]))
        dmin = np.hypot(cand[:, 0] - cand[0, 0], cand[:, 1] - cand[0, 1])
        k -= 1
    for _ in range(k):
        i = int(np.argmax(dmin))
        chosen.append(tuple(cand[i]))
        dmin = np.minimum(dmin, np.hypot(cand[:, 0] - cand[i, 0], cand[:, 1] - cand[i, 1]))
    pts = np.array(chosen)
    return pts if fixed is None else pts[len(fixed):]


def explode(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split multi-part geometries: returns (parts, index of the source geometry)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    return parts, idx


def polygons_only(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Explode collections and keep only non-empty Polygon parts (with source index)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    ok = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    parts, idx = parts[ok], idx[ok]
    # nested collections (rare): one more level
    return parts, idx


# ----------------------------------------------------------------- area
def ellipsoidal(geoms, crs) -> np.ndarray:
    """Official CGCS2000 ellipsoidal area (m²) of each polygon."""
    from landkit.standards.area import ellipsoidal_area

    return np.asarray(ellipsoidal_area(np.asarray(geoms, dtype=object), crs), dtype="float64")


# ----------------------------------------------------------------- CRS
def gk3_epsg_for_lon(lon: float) -> int:
    """EPSG code of the CGCS2000 3° Gauss-Krüger zone (zone-prefixed eastings) for lon."""
    zone = int(round(lon / 3.0))
    if not 25 <= zone <= 45:
        raise ValueError(f"经度 {lon} 不在中国 3 度带范围内（25–45 带）")
    return 4513 + (zone - 25)


def to_projected(epsg: int):
    return pyproj.Transformer.from_crs(4490, epsg, always_xy=True)


# ----------------------------------------------------------------- dates
def fmt_date(d: dt.date | None, style: str = "iso") -> str:
    """A date as text the way bureau spreadsheets write it."""
    if d is None:
        return ""
    if style == "iso":
        return d.strftime("%Y-%m-%d")
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if style == "compact":
        return d.strftime("%Y%m%d")
    if style == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    raise ValueError(style)


def add_months(d: dt.date, months: int) -> dt.date:
    m = d.month - 1 + months
    y = d.year + m // 12
    m = m % 12 + 1
    import calendar

    day = min(d.day, calendar.monthrange(y, m)[1])
    return dt.date(y, m, day)


# ----------------------------------------------------------------- writing
def gpkg_fixup(path: Path, stamp: dt.date) -> None:
    """Pin the GeoPackage's last_change timestamps so the file bytes are reproducible."""
    import sqlite3

    ts = f"{stamp.isoformat()}T00:00:00.000Z"
    con = sqlite3.connect(path)
    try:
        con.execute("UPDATE gpkg_contents SET last_change = ?", (ts,))
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()


# Standard widths of 三调 text fields (docs/rules.md §4.2); longer content widens the field.
STD_WIDTH = {"BSM": 18, "YSDM": 10, "TBYBH": 18, "TBBH": 8, "DLBM": 5, "QSXZ": 2, "QSDWDM": 19,
             "ZLDWDM": 19, "KCDLBM": 5, "GDLX": 2, "GDPDJB": 2, "TBXHDM": 6, "ZZSXDM": 6, "FRDBS": 1,
             "CZCSXM": 4, "MSSM": 2, "XZQDM": 12, "YJJBNTTBBH": 20}
NUM_FORMAT = {"KCXS": (6, 4), "XZDWKD": (5, 1), "GDDB": (2, 0), "SJNF": (4, 0), "季度": (1, 0),
              "投产年份": (4, 0), "容积率": (8, 2)}


def write_dbf(path: Path, df, encoding: str, stamp: dt.date) -> None:
    """Write a dBASE III table the way survey software does: C fields for text (GBK or
    UTF-8 bytes), N fields for numbers with fixed decimals, LDID byte 0.

    GDAL's own writer recodes every value through iconv and is ~20× slower for big
    tables; this writer is vectorised per column.
    """
    import struct

    n = len(df)
    fields = []   # (name bytes, type, width, decimals, (n, width) uint8 block)
    seen = set()
    for col in df.columns:
        s = df[col]
        # names longer than 10 bytes are cut at a character boundary, as ArcGIS does
        name = str(col)
        while len(name.encode(encoding)) > 10:
            name = name[:-1]
        name_b = name.encode(encoding)
        if name_b in seen:
            raise ValueError(f"字段名截断到 10 字节后重复：{col}")
        seen.add(name_b)
        kind = s.dtype.kind
        if kind in "iu" or (kind == "f" and col in NUM_FORMAT and NUM_FORMAT[col][1] == 0):
            vals = np.asarray(s, dtype="int64")
            txt = [str(v) for v in vals]
            w = max([NUM_FORMAT.get(col, (1, 0))[0]] + [len(t) for t in txt])
            block = np.frombuffer("".join(t.rjust(w) for t in txt).encode("ascii"), np.uint8).reshape(n, w)
            fields.append((name_b, b"N", w, 0, block))
        elif kind == "f":
            w0, d = NUM_FORMAT.get(col, (12, 2))
            vals = np.asarray(s, dtype="float64")
            txt = [f"{v:.{d}f}" for v in vals]
            w = max([w0] + [len(t) for t in txt])
            if w > 19:
                raise ValueError(f"数值超出 N(19) 字段宽度：{col}")
            block = np.frombuffer("".join(t.rjust(w) for t in txt).encode("ascii"), np.uint8).reshape(n, w)
            fields.append((name_b, b"N", w, d, block))
        else:
            import pandas as pd

            codes, uniq = pd.factorize(s.astype(object).where(s.notna(), ""), sort=False)
            enc = [str(v).encode(encoding) for v in uniq]
            w = max([STD_WIDTH.get(col, 1)] + [len(b) for b in enc])
            w = min(w, 254)
            arr = np.array(enc, dtype=f"S{w}")[codes].view(np.uint8).reshape(n, w).copy()
            arr[arr == 0] = 0x20
            fields.append((name_b, b"C", w, 0, arr))
    rec_len = 1 + sum(f[2] for f in fields)
    hdr_len = 32 + 32 * len(fields) + 1
    header = bytearray(32)
    header[0] = 0x03
    header[1:4] = bytes([stamp.year - 1900, stamp.month, stamp.day])
    header[4:8] = struct.pack("<I", n)
    header[8:10] = struct.pack("<H", hdr_len)
    header[10:12] = struct.pack("<H", rec_len)
    header[29] = 0  # LDID: none (as bureau files arrive)
    desc = bytearray()
    for name_b, typ, w, d, _ in fields:
        fd = bytearray(32)
        fd[0:len(name_b)] = name_b
        fd[11:12] = typ
        fd[16] = w
        fd[17] = d
        desc += fd
    body = np.empty((n, rec_len), np.uint8)
    body[:, 0] = 0x20
    pos = 1
    for *_, w, _d, block in [(f[0], f[1], f[2], f[3], f[4]) for f in fields]:
        body[:, pos:pos + w] = block
        pos += w
    with open(path, "wb") as f:
        f.write(bytes(header))
        f.write(bytes(desc))
        f.write(b"\r")
        f.write(body.tobytes())
        f.write(b"\x1a")

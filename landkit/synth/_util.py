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


def sample_in(rng: np.random.Generator, region, n: int, *, density=None, max_density=1.0,
              batch: int | None = None) -> np.ndarray:
    """n points inside ``region`` (prepared), optionally by rejection on density(x, y)."""
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
def dbf_fixup(shp_path: Path, stamp: dt.date, *, keep_cpg: bool = False) -> None:
    """Make a shapefile look like it arrived from a bureau: no .cpg, DBF LDID byte = 0.

    Also sets the DBF "last update" date (bytes 1–3) to ``stamp`` so that the bytes do
    not depend on the day the generator ran.
    """
    shp_path = Path(shp_path)
    cpg = shp_path.with_suffix(".cpg")
    if cpg.exists() and not keep_cpg:
        cpg.unlink()
    dbf = shp_path.with_suffix(".dbf")
    with open(dbf, "r+b") as f:
        f.seek(1)
        f.write(bytes([stamp.year - 1900, stamp.month, stamp.day]))
        if not keep_cpg:
            f.seek(29)
            f.write(b"\x00")


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

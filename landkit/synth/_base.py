"""The county frame: boundary, CRS, and the spatial "story" (river, lakes, hills, city,
towns, industrial parks, mines, hamlets) that all synthetic layers are drawn from."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pyproj
import shapely
from shapely import ops

from landkit.standards.gcj02 import geometries_gcj02_to_wgs84

from . import names as N
from ._util import GRID, Noise, blob, gk3_epsg_for_lon, rng_for, snap, spread_points

EZHOU_GEOJSON = "ezhou_420704_gcj02.geojson"


@dataclass
class Township:
    seg: str          # 3-digit segment
    name: str
    seat: tuple[float, float]
    kind: str         # 街道 / 镇 / 乡

    def code(self, adcode: str) -> str:
        return adcode + self.seg


@dataclass
class Frame:
    adcode: str
    name: str
    city: str
    province: str
    year: int
    as_of: dt.date
    seed: int
    epsg: int
    crs: pyproj.CRS
    boundary: shapely.Polygon                 # projected (EPSG:epsg)
    boundary_source_lonlat: shapely.Geometry | None = None   # GCJ-02 as published (ezhou)
    boundary_wgs_lonlat: shapely.Geometry | None = None
    river_section: shapely.LineString | None = None
    river_zone: shapely.Geometry | None = None
    bank_zone: shapely.Geometry | None = None
    urban: shapely.Geometry | None = None
    urban_center: tuple[float, float] = (0.0, 0.0)
    urban_radius: float = 3000.0
    street_angle: float = 0.0
    towns: dict[int, shapely.Geometry] = field(default_factory=dict)   # township index -> blob
    industrial: list[shapely.Geometry] = field(default_factory=list)
    mining: list[shapely.Geometry] = field(default_factory=list)
    lakes: list[tuple[str, shapely.Geometry]] = field(default_factory=list)
    hamlets: np.ndarray | None = None          # (n, 3): x, y, radius
    hamlet_union: shapely.Geometry | None = None
    townships: list[Township] = field(default_factory=list)
    hill_bumps: list[tuple[float, float, float, float]] = field(default_factory=list)  # x, y, r, h
    noise: dict[str, Noise] = field(default_factory=dict)
    rivers_small: list[tuple[shapely.LineString, float]] = field(default_factory=list)

    # ------------------------------------------------------------- fields
    def hill(self, x, y) -> np.ndarray:
        """Relief index, roughly -1 (lowland) … 1 (hill top)."""
        h = 0.55 * self.noise["hill"](x, y) - 0.15
        for bx, by, r, a in self.hill_bumps:
            h = h + a * np.exp(-((x - bx) ** 2 + (y - by) ** 2) / (r * r))
        return np.clip(h, -1, 1.2)

    @property
    def lake_union(self):
        return shapely.union_all([g for _, g in self.lakes]) if self.lakes else shapely.Polygon()

    def project(self, lon, lat):
        tr = pyproj.Transformer.from_crs(4490, self.epsg, always_xy=True)
        return tr.transform(lon, lat)


# ----------------------------------------------------------------- boundary
def _to_gk(geom_lonlat, epsg):
    tr = pyproj.Transformer.from_crs(4490, epsg, always_xy=True)

    def f(c):
        x, y = tr.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom_lonlat, f)


def _largest_polygon(g):
    parts = shapely.get_parts(g)
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[int(np.argmax(shapely.area(parts)))]


def load_ezhou_lonlat():
    """The real 鄂城区 outline: (GCJ-02 as published, converted to WGS84/CGCS2000)."""
    text = resources.files("landkit.synth").joinpath("data", EZHOU_GEOJSON).read_text(encoding="utf-8")
    gj = json.loads(text)
    geom = shapely.from_geojson(json.dumps(gj["features"][0]["geometry"]))
    return geom, geometries_gcj02_to_wgs84(geom)


def synthetic_outline(rng, center_xy, area_m2: float) -> shapely.Polygon:
    """A square-ish county outline (superellipse with a wobbly edge) of about area_m2."""
    n = 200
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    p = 4.0
    ct, st = np.cos(t), np.sin(t)
    r = 1.0 / (np.abs(ct) ** p + np.abs(st) ** p) ** (1 / p)
    wob = np.zeros(n)
    for k in (3, 5, 7, 11, 17, 23):
        wob += 0.06 / k ** 0.5 * rng.uniform(-1, 1) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    r = r * (1 + wob) * rng.uniform(0.9, 1.1, 1)
    x = r * ct * rng.uniform(1.0, 1.35)
    y = r * st
    poly = shapely.Polygon(np.column_stack([x, y]))
    s = np.sqrt(area_m2 / poly.area)
    a = rng.uniform(-0.3, 0.3)
    xy = np.column_stack([x * s, y * s]) @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    return shapely.make_valid(shapely.Polygon(xy + np.asarray(center_xy)))


def _ring_section(ring: shapely.LineString, pa, pb) -> shapely.LineString:
    """The part of a closed ring between the points nearest pa and pb that runs north."""
    L = ring.length
    da = ring.project(shapely.Point(pa))
    db = ring.project(shapely.Point(pb))
    lo, hi = sorted((da, db))
    inner = ops.substring(ring, lo, hi)
    outer = shapely.line_merge(shapely.union(ops.substring(ring, hi, L), ops.substring(ring, 0, lo)))
    if outer.geom_type != "LineString":
        outer = shapely.LineString(np.concatenate([shapely.get_coordinates(ops.substring(ring, hi, L)),
                                                   shapely.get_coordinates(ops.substring(ring, 0, lo))]))
    ci = shapely.centroid(inner).y
    co = shapely.centroid(outer).y
    return inner if ci >= co else outer


# ----------------------------------------------------------------- the frame
def build_frame(*, seed: int, boundary, adcode, name, center_lonlat, area_km2, year,
                city=None, province=None) -> Frame:
    rng = rng_for(seed, "frame")
    as_of = dt.date(year, 12, 31)
    if boundary == "ezhou":
        adcode = adcode or "420704"
        name = name or "鄂城区"
        raw, wgs = load_ezhou_lonlat()
        epsg = 4526
        poly = _largest_polygon(snap(shapely.make_valid(_to_gk(wgs, epsg))))
        fr = Frame(adcode=adcode, name=name, city=city or "鄂州市", province=province or "湖北省",
                   year=year, as_of=as_of, seed=seed, epsg=epsg, crs=pyproj.CRS.from_epsg(epsg),
                   boundary=poly, boundary_source_lonlat=raw, boundary_wgs_lonlat=wgs)
        _ezhou_story(fr, rng)
    elif boundary is None:
        if center_lonlat is None:
            raise ValueError("boundary=None 时需要 center_lonlat（县中心经纬度）")
        adcode = adcode or "429999"
        name = name or "示例县"
        lon, lat = center_lonlat
        epsg = gk3_epsg_for_lon(lon)
        cx, cy = pyproj.Transformer.from_crs(4490, epsg, always_xy=True).transform(lon, lat)
        poly = snap(synthetic_outline(rng, (cx, cy), area_km2 * 1e6))
        poly = _largest_polygon(poly)
        fr = Frame(adcode=adcode, name=name, city=city or "示例市", province=province or "示例省",
                   year=year, as_of=as_of, seed=seed, epsg=epsg, crs=pyproj.CRS.from_epsg(epsg),
                   boundary=poly)
        _generic_story(fr, rng)
    else:
        raise ValueError(f"未知的 boundary 参数：{boundary!r}（可用 'ezhou' 或 None）")
    shapely.prepare(fr.boundary)
    return fr


def _noise_fields(fr: Frame, rng):
    b = fr.boundary.bounds
    pad = 3000
    bb = (b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)
    fr.noise["hill"] = Noise(rng, bb, 6000, octaves=4)
    fr.noise["texture"] = Noise(rng, bb, 900, octaves=2)
    fr.noise["bank"] = Noise(rng, bb, 1500, octaves=2)
    fr.noise["shore"] = Noise(rng, bb, 700, octaves=2)


def _river(fr: Frame, section: shapely.LineString, half_width: float, rng):
    fr.river_section = section
    zone = shapely.intersection(fr.boundary, shapely.buffer(section, half_width, cap_style="flat"),
                                grid_size=GRID)
    fr.river_zone = _largest_polygon(zone)
    bank = shapely.intersection(fr.boundary, shapely.buffer(section, half_width + 350), grid_size=GRID)
    fr.bank_zone = shapely.difference(bank, fr.river_zone, grid_size=GRID)


def _townships_from(fr: Frame, specs):
    out = []
    for seg, nm, x, y in specs:
        p = shapely.Point(x, y)
        if not fr.boundary.contains(p):
            q = ops.nearest_points(shapely.buffer(fr.boundary, -800), p)[0]
            x, y = q.x, q.y
        kind = "街道" if nm.endswith("街道") else ("乡" if nm.endswith("乡") else "镇")
        out.append(Township(seg, nm, (float(x), float(y)), kind))
    fr.townships = out


def _common_story(fr: Frame, rng):
    """Towns, industrial parks, mines, hamlets: shared by the real and generic frames."""
    land = shapely.difference(fr.boundary, shapely.union_all([fr.river_zone, fr.lake_union]),
                              grid_size=GRID)
    # town centres for 镇/乡 seats
    for i, t in enumerate(fr.townships):
        if t.kind == "街道":
            continue
        r = rng.uniform(380, 650) if t.kind == "镇" else rng.uniform(250, 380)
        g = shapely.intersection(blob(rng, *t.seat, r, wobble=0.35, aspect=rng.uniform(1, 1.6)), land,
                                 grid_size=GRID)
        fr.towns[i] = g
    # hills: bumps where none are given
    # mines: in the hilliest places
    cand = spread_points(rng, land, 200)
    h = fr.hill(cand[:, 0], cand[:, 1])
    order = np.argsort(-h)
    n_mines = 3 + int(fr.boundary.area / 2.5e8)
    for k in order[:n_mines]:
        fr.mining.append(shapely.intersection(blob(rng, *cand[k], rng.uniform(160, 330), wobble=0.4),
                                              land, grid_size=GRID))
    # hamlets (自然村): spread in the lowlands, not in town/city/lakes
    settled = shapely.union_all([fr.urban] + list(fr.towns.values()) + fr.industrial)
    rural = shapely.difference(land, shapely.buffer(settled, 300), grid_size=GRID)
    n_ham = int(fr.boundary.area / 1.0e6 * 0.9)
    pts = spread_points(rng, rural, n_ham, candidates=max(4 * n_ham, 2000))
    hh = fr.hill(pts[:, 0], pts[:, 1])
    keep = hh < 0.55
    pts = pts[keep]
    # jitter: spread_points is too regular for villages
    pts = pts + rng.normal(0, 250, size=pts.shape)
    ok = shapely.contains_xy(rural, pts[:, 0], pts[:, 1])
    pts = pts[ok]
    radius = rng.uniform(60, 170, len(pts))
    fr.hamlets = np.column_stack([pts, radius])
    circles = shapely.buffer(shapely.points(pts), radius, quad_segs=4)
    fr.hamlet_union = shapely.union_all(circles)
    shapely.prepare(fr.hamlet_union)


def _ezhou_story(fr: Frame, rng):
    _noise_fields(fr, rng)
    P = fr.project
    # The Yangtze forms the district's north and north-east edge.
    ring = fr.boundary.exterior
    section = _ring_section(ring, P(114.815, 30.415), P(115.088, 30.285))
    _river(fr, section, 650, rng)
    land0 = shapely.difference(fr.boundary, fr.river_zone, grid_size=GRID)
    # city proper (鄂州 city) on the river, centred near 114.885E 30.385N
    cx, cy = P(114.885, 30.383)
    fr.urban_center = (cx, cy)
    fr.urban_radius = 3600.0
    fr.street_angle = -0.12
    u = blob(rng, cx, cy, 3600, wobble=0.28, aspect=1.55, angle=-0.12, n=72)
    fr.urban = shapely.intersection(u, land0, grid_size=GRID)
    # lakes (synthetic shapes at plausible places: an urban lake, lowland lakes)
    lakes = [("洋澜湖", 114.872, 30.372, 850, 2.0, 1.2), ("花马湖", 114.985, 30.322, 2100, 1.5, 0.5),
             ("三山湖", 114.735, 30.305, 1700, 1.4, -0.4), ("鸭儿湖", 114.790, 30.378, 1100, 1.7, 0.3),
             ("五四湖", 115.045, 30.335, 800, 1.3, 0.9)]
    for nm, lon, lat, r, asp, ang in lakes:
        g = shapely.intersection(blob(rng, *P(lon, lat), r, wobble=0.45, aspect=asp, angle=ang, n=64),
                                 land0, grid_size=GRID)
        fr.lakes.append((nm, g))
    # hills: 西山 in the city, the south-eastern hills (汀祖/碧石渡), western ridges
    fr.hill_bumps = [(*P(114.858, 30.392), 900.0, 1.1), (*P(114.965, 30.245), 5500.0, 0.95),
                     (*P(114.905, 30.262), 3000.0, 0.55), (*P(114.80, 30.31), 2600.0, 0.5),
                     (*P(115.03, 30.28), 2500.0, 0.45), (*P(114.70, 30.32), 1500.0, 0.35)]
    # small rivers (港): 长港 from the west to 樊口, 花马湖港 to the Yangtze
    fr.rivers_small = [
        (_smooth(rng, [P(114.672, 30.318), P(114.74, 30.345), P(114.80, 30.385), P(114.838, 30.41)]), 70.0),
        (_smooth(rng, [P(114.99, 30.335), P(115.02, 30.36), P(115.05, 30.385)]), 40.0),
    ]
    _townships_from(fr, [(seg, nm, *P(lon, lat)) for seg, nm, lon, lat in N.EZHOU_TOWNSHIPS])
    # industrial parks at the city fringe and near two towns
    for lon, lat, r in [(114.935, 30.372, 1100), (114.830, 30.392, 800), (114.905, 30.345, 900),
                        (115.005, 30.355, 650), (114.975, 30.262, 550)]:
        fr.industrial.append(shapely.intersection(blob(rng, *P(lon, lat), r, wobble=0.3, aspect=1.4),
                                                  land0, grid_size=GRID))
    _common_story(fr, rng)


def _smooth(rng, pts) -> shapely.LineString:
    """A meandering line through the given points."""
    pts = np.asarray(pts, float)
    out = []
    for a, b in zip(pts[:-1], pts[1:]):
        d = b - a
        L = np.hypot(*d)
        nrm = np.array([-d[1], d[0]]) / L
        t = np.linspace(0, 1, 12, endpoint=False)
        off = 0.06 * L * np.sin(np.pi * t * 2) * rng.uniform(-1, 1) + 0.03 * L * np.sin(np.pi * t * 5) * rng.uniform(-1, 1)
        out.append(a + np.outer(t, d) + np.outer(off, nrm))
    out.append(pts[-1:])
    return shapely.LineString(np.concatenate(out))


def _generic_story(fr: Frame, rng):
    """Story for a synthetic square-ish county: river on the north edge, city near it."""
    _noise_fields(fr, rng)
    b = fr.boundary
    x0, y0, x1, y1 = b.bounds
    ring = b.exterior
    section = _ring_section(ring, (x0, y1), (x1, y1 - 0.25 * (y1 - y0)))
    _river(fr, section, rng.uniform(250, 500), rng)
    land0 = shapely.difference(b, fr.river_zone, grid_size=GRID)
    c = shapely.centroid(b)
    mid = shapely.line_interpolate_point(section, 0.45, normalized=True)
    cx = c.x + 0.62 * (mid.x - c.x)
    cy = c.y + 0.62 * (mid.y - c.y)
    area = b.area
    R = float(np.sqrt(area * 0.05 / np.pi))
    fr.urban_center = (cx, cy)
    fr.urban_radius = R
    fr.street_angle = rng.uniform(-0.4, 0.4)
    fr.urban = shapely.intersection(blob(rng, cx, cy, R, wobble=0.3, aspect=1.3, angle=fr.street_angle, n=72),
                                    land0, grid_size=GRID)
    # lakes in the lowland, away from the city
    n_lakes = 2 + int(rng.integers(0, 3))
    far = shapely.difference(shapely.buffer(land0, -1500), shapely.buffer(fr.urban, 1500), grid_size=GRID)
    centers = spread_points(rng, far, n_lakes)
    lake_names = N.place_names(rng, n_lakes)
    for (lx, ly), nm in zip(centers, lake_names):
        g = shapely.intersection(blob(rng, lx, ly, np.sqrt(area * rng.uniform(0.006, 0.015) / np.pi),
                                      wobble=0.45, aspect=rng.uniform(1.1, 1.8), n=64), land0, grid_size=GRID)
        fr.lakes.append((nm + "湖", g))
    # hills: a few bumps far from the river
    n_hills = 3 + int(area / 4e8)
    hp = spread_points(rng, shapely.difference(shapely.buffer(land0, -2000), shapely.buffer(fr.urban, 2500)),
                       n_hills)
    fr.hill_bumps = [(float(x), float(y), float(rng.uniform(3000, 6500)), float(rng.uniform(0.7, 1.1)))
                     for x, y in hp]
    fr.hill_bumps.sort(key=lambda t: -t[1])
    # a small river from the first lake to the big river
    if fr.lakes:
        lc = shapely.centroid(fr.lakes[0][1])
        q = ops.nearest_points(section, lc)[0]
        fr.rivers_small = [(_smooth(rng, [(lc.x, lc.y), (q.x, q.y)]), 45.0)]
    # townships: 2–3 街道 around the city, 镇/乡 spread over the rest
    n_town = max(6, int(round(area / 6e7)))
    n_jd = 3 if area > 4e8 else 2
    taken: set[str] = set()
    base_names = N.place_names(rng, n_town + n_jd, taken)
    specs = []
    ang = rng.uniform(0, 2 * np.pi)
    for k in range(n_jd):
        a = ang + 2 * np.pi * k / n_jd
        specs.append((f"{k + 1:03d}", base_names[k] + "街道", cx + 0.45 * R * np.cos(a), cy + 0.45 * R * np.sin(a)))
    rest = shapely.difference(land0, shapely.buffer(fr.urban, 1500), grid_size=GRID)
    seats = spread_points(rng, rest, n_town, candidates=3000,
                          fixed=np.array([[cx, cy]]))
    n_xiang = max(1, n_town // 5)
    for k, (x, y) in enumerate(seats):
        if k < n_town - n_xiang:
            specs.append((f"{100 + k:03d}", base_names[n_jd + k] + "镇", x, y))
        else:
            specs.append((f"{200 + k - (n_town - n_xiang):03d}", base_names[n_jd + k] + "乡", x, y))
    _townships_from(fr, specs)
    # industrial parks: at the city fringe
    for k in range(3):
        a = fr.street_angle + np.pi * (0.3 + 0.7 * k) + rng.uniform(-0.3, 0.3)
        px, py = cx + 1.1 * R * np.cos(a), cy - abs(1.1 * R * np.sin(a))
        fr.industrial.append(shapely.intersection(blob(rng, px, py, R * rng.uniform(0.18, 0.3), wobble=0.3),
                                                  land0, grid_size=GRID))
    _common_story(fr, rng)

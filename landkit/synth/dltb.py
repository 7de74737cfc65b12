"""Synthetic 地类图斑 (DLTB): a Voronoi partition of the county into land-use patches
with townships, villages, land classes in believable clumps, and linear features
(rivers, roads, streets, canals, farm roads) cut through them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from . import names as N
from ._base import Frame
from ._util import (GRID, Noise, blob, ellipsoidal, overlay, polygons_only, rng_for, sample_in, snap, spread_points,
                    wiggly_line)

WATER_MERGE = ("1101", "1102", "1106")
AGRI_CUT = {"0101", "0102", "0103", "0201", "0202", "0204", "0307", "0305", "1104", "1202", "0404", "1203", "1206"}
FOREST = {"0301", "0302", "0305", "0307"}
STREET_CUT = (set(N.CONSTRUCTION) - {"0810", "1003", "1004"}) | {"0101", "0102", "0103", "1104", "0204", "1202"}
STATE_CLASSES = {"1101", "1102", "1106", "1003", "1004", "1005", "1008", "1109", "08H1", "09"}


@dataclass
class Partition:
    """The cells with their township/village and land class, before attributes."""
    geom: np.ndarray          # shapely polygons
    x: np.ndarray             # a point inside each (seed)
    y: np.ndarray
    town: np.ndarray          # township index
    village: np.ndarray       # global village index
    cls: np.ndarray           # DLBM (object)
    zone: np.ndarray          # CZCSXM candidate ('' / 201 / 202 / 203 / 201A …)
    width: np.ndarray         # XZDWKD for linear pieces


@dataclass
class Villages:
    town: np.ndarray          # township index per village
    code: list                # 12-digit
    name: list                # with 村/社区
    qsxz: np.ndarray          # default collective code per village


# ----------------------------------------------------------------- cells
def _density(fr: Frame):
    urban, towns = fr.urban, shapely.union_all(list(fr.towns.values()))
    ind = shapely.union_all(fr.industrial)
    lakes = fr.lake_union
    for g in (urban, towns, ind, lakes, fr.river_zone):
        shapely.prepare(g)
    ham = fr.hamlet_union
    tex = fr.noise["texture"]

    def f(x, y):
        d = np.ones_like(x)
        d += 5.0 * shapely.contains_xy(urban, x, y)
        d += 3.0 * shapely.contains_xy(towns, x, y)
        d += 1.0 * shapely.contains_xy(ind, x, y)
        d += 3.0 * shapely.contains_xy(ham, x, y)
        h = fr.hill(x, y)
        d *= np.where(h > 0.45, 0.45, 1.0)
        d *= np.where(shapely.contains_xy(lakes, x, y), 0.12, 1.0)
        d *= np.where(shapely.contains_xy(fr.river_zone, x, y), 0.06, 1.0)
        d *= 1.0 + 0.45 * tex(x, y)
        return d

    return f, 9.0


def _density_grid(fr: Frame, res: float = 40.0):
    """The seed density sampled once on a grid; returns a fast lookup function."""
    dens, dmax = _density(fr)
    x0, y0, x1, y1 = fr.boundary.bounds
    nx = int(np.ceil((x1 - x0) / res)) + 1
    ny = int(np.ceil((y1 - y0) / res)) + 1
    gx, gy = np.meshgrid(x0 + (np.arange(nx) + 0.5) * res, y0 + (np.arange(ny) + 0.5) * res)
    grid = dens(gx.ravel(), gy.ravel()).reshape(ny, nx)

    def f(x, y):
        ix = np.clip(((x - x0) / res).astype(int), 0, nx - 1)
        iy = np.clip(((y - y0) / res).astype(int), 0, ny - 1)
        return grid[iy, ix]

    return f, float(grid.max())


def make_cells(fr: Frame, n: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dens, dmax = _density_grid(fr)
    pts = sample_in(rng, fr.boundary, n, density=dens, max_density=dmax)
    pts = np.round(pts, 3)
    vor = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=fr.boundary, ordered=True)
    cells = shapely.get_parts(vor)
    inside = shapely.contains_properly(fr.boundary, cells)
    out = np.empty(len(cells), dtype=object)
    # pure vertex rounding to the 1 mm grid (shared vertices round identically)
    rounded = shapely.transform(cells[inside], lambda c: np.round(c, 3))
    bad = ~shapely.is_valid(rounded)
    rounded[bad] = snap(cells[inside][bad])
    out[inside] = rounded
    out[~inside] = shapely.intersection(cells[~inside], fr.boundary, grid_size=GRID)
    parts, idx = polygons_only(out)
    keep = shapely.area(parts) > 0.01
    parts, idx = parts[keep], idx[keep]
    x, y = pts[idx, 0].copy(), pts[idx, 1].copy()
    has = shapely.contains_xy(parts, x, y)
    if not has.all():
        rp = shapely.get_coordinates(shapely.point_on_surface(parts[~has]))
        x[~has], y[~has] = rp[:, 0], rp[:, 1]
    return parts, x, y


# ----------------------------------------------------------------- townships & villages
def dissolve(geoms) -> shapely.Geometry:
    """Union of polygons that form a coverage (fast path), robust overlay as fallback."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 1:
        return geoms[0]
    u = shapely.coverage_union_all(geoms)
    if not shapely.is_valid(u) or abs(shapely.area(u) - shapely.area(geoms).sum()) > 1e-6 * shapely.area(u) + 1:
        u = shapely.union_all(geoms, grid_size=GRID)
    return u


def assign_townships(fr: Frame, cells, x, y, rng) -> np.ndarray:
    b = fr.boundary.bounds
    k = len(fr.townships)
    score = np.empty((len(x), k))
    for i, t in enumerate(fr.townships):
        nz = Noise(rng, b, 4000, octaves=2)
        f = 1.9 if t.kind == "街道" else 1.0
        score[:, i] = np.hypot(x - t.seat[0], y - t.seat[1]) * f + 1100.0 * nz(x, y)
    town = np.argmin(score, axis=1)
    return _make_contiguous(fr, cells, x, y, town)  # (labels, regions)


def _make_contiguous(fr, cells, x, y, label, max_rounds=6):
    """Give stray parts of a label's region to the neighbouring label that borders them most.

    Returns the labels and the dissolved region of every label."""
    tree = shapely.STRtree(cells)
    regions = {}
    for _ in range(max_rounds):
        changed = False
        for lab in np.unique(label):
            sel = np.flatnonzero(label == lab)
            u = dissolve(cells[sel])
            regions[int(lab)] = u
            parts = shapely.get_parts(u)
            if len(parts) <= 1:
                continue
            areas = shapely.area(parts)
            main = int(np.argmax(areas))
            pts = shapely.points(x[sel], y[sel])
            for j, part in enumerate(parts):
                if j == main:
                    continue
                shapely.prepare(part)
                members = sel[shapely.intersects(part, pts)]
                if len(members) == 0:
                    continue
                a, b_ = tree.query(cells[members], predicate="intersects")
                nb = label[b_]
                nb = nb[nb != lab]
                if len(nb) == 0:
                    continue
                label[members] = np.bincount(nb).argmax()
                changed = True
        if not changed:
            return label, regions
    regions = {int(lab): dissolve(cells[label == lab]) for lab in np.unique(label)}
    return label, regions


def _spread_among(rng, x, y, k, m=3000):
    """k well-spread points chosen among the given points (farthest-point sampling)."""
    pick = rng.choice(len(x), size=min(m, len(x)), replace=False)
    px, py = x[pick], y[pick]
    chosen = [0]
    d = np.hypot(px - px[0], py - py[0])
    for _ in range(k - 1):
        i = int(np.argmax(d))
        chosen.append(i)
        d = np.minimum(d, np.hypot(px - px[i], py - py[i]))
    return np.column_stack([px[chosen], py[chosen]])


def assign_villages(fr: Frame, cells, x, y, town, rng) -> tuple[np.ndarray, Villages]:
    vtown, vcode, vname, vq = [], [], [], []
    village = np.zeros(len(x), dtype=int)
    taken: set[str] = set()
    b = fr.boundary.bounds
    nz = Noise(rng, b, 1500, octaves=2)
    for ti, t in enumerate(fr.townships):
        sel = np.flatnonzero(town == ti)
        if len(sel) == 0:
            continue
        area_km2 = shapely.area(cells[sel]).sum() / 1e6
        if t.kind == "街道":
            k = int(np.clip(round(area_km2 / 2.0), 3, 9))
        else:
            k = int(np.clip(round(area_km2 / 3.2), 4, 22))
        k = min(k, len(sel))
        seeds = _spread_among(rng, x[sel], y[sel], k)
        d = np.hypot(x[sel, None] - seeds[None, :, 0], y[sel, None] - seeds[None, :, 1])
        d += 600 * nz(x[sel], y[sel])[:, None] * rng.uniform(-1, 1, size=(1, k))
        local = np.argmin(d, axis=1)
        # 社区: all units of a 街道; the unit holding the seat of a 镇/乡
        seat_local = int(np.argmin(np.hypot(seeds[:, 0] - t.seat[0], seeds[:, 1] - t.seat[1])))
        is_comm = np.array([t.kind == "街道" or j == seat_local for j in range(k)])
        n_comm = int(is_comm.sum())
        cnames = N.community_names(rng, n_comm, taken)
        vnames = N.village_names(rng, k - n_comm, taken)
        ci = vi = 0
        base = len(vtown)
        # codes ordered from north-west to south-east
        order = np.lexsort((seeds[:, 0], -np.round(seeds[:, 1], -3)))
        rank = np.empty(k, dtype=int)
        rank[order] = np.arange(k)
        cnum = vnum = 0
        codes = [None] * k
        for j in order:
            if is_comm[j]:
                cnum += 1
                codes[j] = f"{fr.adcode}{t.seg}{cnum:03d}"
            else:
                vnum += 1
                codes[j] = f"{fr.adcode}{t.seg}{199 + vnum:03d}"
        for j in range(k):
            vtown.append(ti)
            vcode.append(codes[j])
            if is_comm[j]:
                vname.append(cnames[ci] + "社区")
                ci += 1
            else:
                vname.append(vnames[vi] + "村")
                vi += 1
            vq.append(["30", "30", "30", "32", "32", "31"][rng.integers(6)])
        village[sel] = base + local
    return village, Villages(np.array(vtown), vcode, vname, np.array(vq))


# ----------------------------------------------------------------- classes
class _Chooser:
    """Noisy arg-max over classes: clumps instead of salt and pepper."""

    def __init__(self, fr: Frame, rng, scale: float):
        self.fr, self.rng, self.scale = fr, rng, scale
        self.fields: dict[str, Noise] = {}
        b = fr.boundary.bounds
        self.bounds = (b[0] - 2000, b[1] - 2000, b[2] + 2000, b[3] + 2000)

    def __call__(self, x, y, table: dict[str, float], strength=1.6, temp=0.55) -> np.ndarray:
        codes = list(table)
        w = np.array([table[c] for c in codes], dtype=float)
        score = np.empty((len(x), len(codes)))
        for j, c in enumerate(codes):
            if c not in self.fields:
                self.fields[c] = Noise(self.rng, self.bounds, self.scale, octaves=2)
            score[:, j] = np.log(w[j]) + strength * self.fields[c](x, y)
        score += self.rng.gumbel(size=score.shape) * temp
        return np.array(codes, dtype=object)[np.argmax(score, axis=1)]


RURAL_FOREST = {"0301": 52, "0305": 16, "0307": 12, "0302": 3, "0103": 6, "0201": 3, "0202": 2,
                "0404": 3, "1206": 0.6, "1104": 1.5}
RURAL_FOOT = {"0103": 22, "0101": 22, "0301": 17, "0307": 9, "0201": 7, "0204": 6, "0305": 5,
              "1104": 5, "0404": 1.5, "1202": 2}
RURAL_PLAIN = {"0101": 60, "0103": 8, "0102": 3, "1104": 10, "0201": 1.2, "0204": 2, "1202": 2.5,
               "0307": 2, "1203": 0.5, "0404": 0.6, "1206": 0.25, "0702": 2.5, "0601": 0.6}
HAMLET = {"0702": 74, "1202": 4, "0204": 4, "08H2": 1.5, "1104": 4, "0101": 6, "0103": 4, "0307": 2,
          "1201": 0.5}
TOWN = {"0701": 32, "05H1": 15, "0702": 14, "08H2": 8, "08H1": 4, "0601": 10, "0809": 4, "0810": 2,
        "1201": 3, "0101": 4, "1104": 2, "1005": 1}
INDUSTRIAL = {"0601": 68, "0508": 12, "05H1": 4, "0809": 3, "1201": 5, "0101": 5, "1104": 3}
URBAN_CORE = {"05H1": 30, "0701": 38, "08H1": 8, "08H2": 10, "0809": 3, "0810": 7, "09": 1, "1201": 1,
              "1005": 1, "0508": 1}
URBAN_MID = {"0701": 44, "05H1": 12, "08H2": 8, "0601": 10, "0809": 5, "0810": 6, "08H1": 3,
             "0508": 4, "1201": 2, "1005": 1, "1104": 1}
URBAN_EDGE = {"0701": 28, "0601": 22, "0508": 6, "1201": 6, "05H1": 5, "0809": 3, "08H2": 3,
              "0101": 14, "0103": 4, "1104": 6, "0702": 3}
MINING = {"0602": 80, "1206": 6, "0305": 6, "0307": 5, "1104": 3}
BANK = {"1106": 55, "0307": 15, "0404": 10, "0103": 10, "1104": 5, "1008": 3, "1109": 2}


def classify(fr: Frame, x, y, rng, landuse=None) -> tuple[np.ndarray, np.ndarray]:
    """DLBM and CZCSXM zone for each cell seed point."""
    n = len(x)
    rural = _Chooser(fr, rng, 1400.0)
    urb = _Chooser(fr, rng, 450.0)
    h = fr.hill(x, y)
    cls = np.empty(n, dtype=object)
    zone = np.full(n, "", dtype=object)
    f = h > 0.45
    m = (h > 0.2) & ~f
    p = ~(f | m)
    cls[f] = rural(x[f], y[f], RURAL_FOREST)
    cls[m] = rural(x[m], y[m], RURAL_FOOT)
    cls[p] = rural(x[p], y[p], RURAL_PLAIN)
    # aquaculture ponds ring the lakes
    lakes = fr.lake_union
    dl = shapely.distance(lakes, shapely.points(x, y)) if not lakes.is_empty else np.full(n, np.inf)
    shore = (dl < 1300) & (h < 0.3)
    sh = fr.noise["shore"](x, y)
    pond = shore & (sh > -0.15) & (rng.random(n) < 0.75 - dl / 2600)
    cls[pond] = "1104"
    # hamlets
    ham = shapely.contains_xy(fr.hamlet_union, x, y)
    cls[ham] = rural(x[ham], y[ham], HAMLET, strength=0.6)
    zone[ham] = "203"
    # town centres
    for ti, g in fr.towns.items():
        shapely.prepare(g)
        s = shapely.contains_xy(g, x, y)
        cls[s] = urb(x[s], y[s], TOWN)
        zone[s] = "202"
    # industrial parks
    for g in fr.industrial:
        shapely.prepare(g)
        s = shapely.contains_xy(g, x, y)
        cls[s] = urb(x[s], y[s], INDUSTRIAL, strength=1.0)
        c = shapely.centroid(g)
        du = shapely.distance(fr.urban, c)
        dt_ = min([shapely.distance(t, c) for t in fr.towns.values()] or [np.inf])
        zone[s] = "201A" if du < 2500 else ("202A" if dt_ < 2500 else "203A")
    # city proper
    s = shapely.contains_xy(fr.urban, x, y)
    cx, cy = fr.urban_center
    r = np.hypot(x - cx, y - cy) / fr.urban_radius
    for sel, tab in ((s & (r < 0.35), URBAN_CORE), (s & (r >= 0.35) & (r < 0.75), URBAN_MID),
                     (s & (r >= 0.75), URBAN_EDGE)):
        cls[sel] = urb(x[sel], y[sel], tab)
    zone[s] = "201"
    # the hill in the city stays green (a forest park)
    green = s & (h > 0.5)
    cls[green] = np.where(rng.random(green.sum()) < 0.7, "0301", "0810")
    # mines
    for g in fr.mining:
        shapely.prepare(g)
        sm = shapely.contains_xy(g, x, y)
        cls[sm] = rural(x[sm], y[sm], MINING, strength=0.5)
        zone[sm] = "204"
    # approvals / supply already built or used
    if landuse:
        lg = np.array([g for g, _ in landuse], dtype=object)
        lc = np.array([c for _, c in landuse], dtype=object)
        pi, gi = shapely.STRtree(lg).query(shapely.points(x, y), predicate="within")
        if len(pi):
            # the last matching override wins (they are listed in priority order)
            order = np.lexsort((gi, pi))
            pi, gi = pi[order], gi[order]
            last = np.r_[pi[1:] != pi[:-1], True]
            pi, gi = pi[last], gi[last]
            keep = lc[gi] != "keep"
            cls[pi[keep]] = lc[gi[keep]]
    # river bank (滩涂, 防护林), lakes, the river
    bank = shapely.contains_xy(fr.bank_zone, x, y) & (fr.noise["bank"](x, y) > -0.35)
    cls[bank] = rural(x[bank], y[bank], BANK, strength=0.8)
    # (lakes and the river are carved out of the cells exactly afterwards, see carve_water)
    # 0601 scattered in the countryside = 村庄独立工业; 0702 anywhere = 村庄
    zone[(cls == "0601") & (zone == "")] = "203A"
    zone[(cls == "0702") & ~np.isin(zone, ["201", "202"])] = "203"
    zone[(cls == "09") & (zone == "")] = "205"
    zone[(cls == "0602")] = "204"
    return cls, zone


# ----------------------------------------------------------------- merging water
def merge_water(part: Partition) -> Partition:
    key = pd.Series(part.village.astype(str)) + "_" + pd.Series(part.cls.astype(str))
    is_w = np.isin(part.cls, WATER_MERGE)
    keep = ~is_w
    geoms, xs, ys, towns, vills, clss, zones = [], [], [], [], [], [], []
    for k, idx in pd.Series(np.arange(len(key)))[is_w].groupby(key[is_w].values):
        idx = idx.to_numpy()
        u = shapely.union_all(part.geom[idx], grid_size=GRID) if len(idx) > 1 else part.geom[idx[0]]
        for g in shapely.get_parts(u):
            if shapely.get_type_id(g) != 3:
                continue
            inside = shapely.contains_xy(g, part.x[idx], part.y[idx])
            j = idx[int(np.argmax(inside))] if inside.any() else idx[0]
            geoms.append(g)
            if inside.any():
                xs.append(part.x[j]); ys.append(part.y[j])
            else:
                c = shapely.point_on_surface(g)
                xs.append(c.x); ys.append(c.y)
            towns.append(part.town[j]); vills.append(part.village[j]); clss.append(part.cls[j])
            zones.append(part.zone[j])
    return Partition(
        geom=np.concatenate([part.geom[keep], np.array(geoms, dtype=object)]),
        x=np.concatenate([part.x[keep], xs]), y=np.concatenate([part.y[keep], ys]),
        town=np.concatenate([part.town[keep], towns]).astype(int),
        village=np.concatenate([part.village[keep], vills]).astype(int),
        cls=np.concatenate([part.cls[keep], np.array(clss, dtype=object)]),
        zone=np.concatenate([part.zone[keep], np.array(zones, dtype=object)]),
        width=np.zeros(keep.sum() + len(geoms)),
    )


# ----------------------------------------------------------------- linear features
def linear_network(fr: Frame, rng, detail: float = 1.0) -> list[tuple[str, np.ndarray, np.ndarray, set | None, shapely.Geometry | None]]:
    """(class, lines, widths, classes allowed to be cut (None = all but water), clip region)."""
    out = []
    B = fr.boundary
    # small rivers
    if fr.rivers_small:
        lines = [l for l, _ in fr.rivers_small]
        w = np.array([w for _, w in fr.rivers_small])
        out.append(("1101", np.array(lines, dtype=object), w, None, None))
    # highways: city to every town seat, a tree among the seats, one expressway
    cx, cy = fr.urban_center
    seats = np.array([t.seat for t in fr.townships if t.kind != "街道"])
    lines, widths = [], []
    for s in seats:
        lines.append(wiggly_line(rng, (cx, cy), s, amp=0.05, n=20))
        widths.append(22.0)
    # nearest-neighbour links between seats (a sparse tree)
    for i in range(len(seats)):
        d = np.hypot(*(seats - seats[i]).T)
        d[i] = np.inf
        j = int(np.argmin(d))
        if j > i or np.argmin(np.hypot(*(seats - seats[j]).T) + np.where(np.arange(len(seats)) == j, np.inf, 0)) != i:
            lines.append(wiggly_line(rng, seats[i], seats[j], amp=0.06, n=16))
            widths.append(14.0)
    x0, y0, x1, y1 = B.bounds
    ym = cy - 0.35 * (cy - y0)
    ex = wiggly_line(rng, (x0 - 1000, ym + rng.uniform(-3000, 3000)), (x1 + 1000, ym + rng.uniform(-3000, 3000)),
                     amp=0.03, n=30)
    lines.append(ex)
    widths.append(36.0)
    lines = shapely.intersection(np.array(lines, dtype=object), B)
    w = np.array(widths)
    out.append(("1003", lines, w, None, None))
    fr.highways = lines
    # city and town streets
    lines, widths = [], []
    a = fr.street_angle
    R = fr.urban_radius * 1.8
    u, v = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    sp = 520.0
    for k, off in enumerate(np.arange(-R, R, sp)):
        for d1, d2 in ((u, v), (v, u)):
            p0 = np.array([cx, cy]) + d2 * off - d1 * R
            p1 = np.array([cx, cy]) + d2 * off + d1 * R
            lines.append(wiggly_line(rng, p0, p1, amp=0.01, n=8))
            widths.append(34.0 if k % 3 == 0 else 18.0)
    zone_streets = shapely.union_all([fr.urban] + list(fr.towns.values()))
    for ti, g in fr.towns.items():
        sx, sy = fr.townships[ti].seat
        for ang in (rng.uniform(0, np.pi), ):
            for aa in (ang, ang + np.pi / 2):
                d = np.array([np.cos(aa), np.sin(aa)]) * 1500
                lines.append(shapely.LineString([(sx, sy) - d, (sx, sy) + d]))
                widths.append(14.0)
    lines = shapely.intersection(np.array(lines, dtype=object), zone_streets)
    w = np.array(widths)
    ok = ~shapely.is_empty(lines)
    out.append(("1004", lines[ok], w[ok], STREET_CUT, zone_streets))
    # canals and farm roads in irrigation districts
    area = B.area
    low = shapely.difference(shapely.buffer(B, -500), shapely.union_all([fr.urban, fr.lake_union]), grid_size=GRID)
    n_d = max(2, int(area / 2.2e7 * detail))
    centres = spread_points(rng, low, n_d, candidates=3000)
    can, cw, road, rw = [], [], [], []
    for (px, py) in centres:
        if fr.hill(np.array([px]), np.array([py]))[0] > 0.35:
            continue
        ang = rng.uniform(0, np.pi)
        d1 = np.array([np.cos(ang), np.sin(ang)])
        d2 = np.array([-d1[1], d1[0]])
        L = rng.uniform(2500, 4500)
        c = np.array([px, py])
        can.append(wiggly_line(rng, c - d1 * L, c + d1 * L, amp=0.02, n=10))
        cw.append(12.0)
        for off in np.arange(-L * 0.9, L * 0.9, rng.uniform(380, 600)):
            bl = rng.uniform(900, 2200)
            q = c + d1 * off
            can.append(shapely.LineString([q - d2 * bl * rng.uniform(0.3, 1), q + d2 * bl * rng.uniform(0.3, 1)]))
            cw.append(float(rng.choice([5.0, 6.0, 8.0])))
        # farm roads at an angle of their own, coarser
        ang2 = ang + rng.uniform(-0.2, 0.2)
        e1 = np.array([np.cos(ang2), np.sin(ang2)])
        e2 = np.array([-e1[1], e1[0]])
        for off in np.arange(-L, L, rng.uniform(600, 900)):
            q = c + e2 * off + e1 * rng.uniform(-200, 200)
            bl = rng.uniform(1500, 3500)
            road.append(shapely.LineString([q - e1 * bl, q + e1 * bl]))
            rw.append(float(rng.choice([4.0, 5.0, 6.0])))
    # farm roads linking hamlets to the highway network
    if fr.hamlets is not None and len(fr.hamlets):
        hp = shapely.points(fr.hamlets[:, :2])
        net = shapely.union_all(fr.highways)
        links = shapely.shortest_line(hp, net)
        ln = shapely.length(links)
        sel = (ln > 150) & (ln < 2500) & (rng.random(len(ln)) < detail)
        for g in links[sel]:
            road.append(g)
            rw.append(float(rng.choice([4.0, 5.0])))
    can = shapely.intersection(np.array(can, dtype=object), B)
    road = shapely.intersection(np.array(road, dtype=object), B)
    cw, rw = np.array(cw), np.array(rw)
    out.append(("1107", can, cw, AGRI_CUT, None))
    out.append(("1006", road, rw, AGRI_CUT | FOREST, None))
    return out


def cut_linear(part: Partition, code: str, lines, widths, allowed, clip) -> Partition:
    buffers = shapely.buffer(lines, widths / 2, cap_style="flat", join_style="mitre")
    return cut_with(part, code, buffers, widths, allowed, clip)


def carve_water(fr: Frame, part: Partition) -> Partition:
    """Carve the river zone and the lakes out of the cells exactly (smooth shores)."""
    part = cut_with(part, "1101", np.array([fr.river_zone], dtype=object), np.zeros(1), None, None,
                    linear=False)
    lakes = np.array([g for _, g in fr.lakes if not g.is_empty], dtype=object)
    if len(lakes):
        part = cut_with(part, "1102", lakes, np.zeros(len(lakes)), None, None, linear=False)
    return part


def cut_with(part: Partition, code: str, buffers, widths, allowed, clip, linear: bool = True) -> Partition:
    ok = ~shapely.is_empty(buffers)
    buffers, widths = buffers[ok], widths[ok]
    if len(buffers) == 0:
        return part
    if clip is not None:
        buffers = shapely.intersection(buffers, clip, grid_size=GRID)
        ok = ~shapely.is_empty(buffers)
        buffers, widths = buffers[ok], widths[ok]
    if allowed is None:
        cand = np.flatnonzero(~np.isin(part.cls, ["1101", "1102", code]) & (part.width == 0))
    else:
        cand = np.flatnonzero(np.isin(part.cls, list(allowed)) & (part.width == 0))
    tree = shapely.STRtree(buffers)
    pi, bi = tree.query(part.geom[cand], predicate="intersects")
    if len(pi) == 0:
        return part
    src = cand[pi]
    order = np.argsort(src, kind="stable")
    src, bi = src[order], bi[order]
    srcs, first, counts = np.unique(src, return_index=True, return_counts=True)
    # the cutter per cell: its buffer, or the union of the buffers that touch it. The
    # linear piece and the remainder are both cut with the same (unrounded) cutter, so
    # their common edges coincide and the remainder splits cleanly where a road crosses.
    cutter = buffers[bi[first]].copy()
    for j in np.flatnonzero(counts > 1):
        cutter[j] = shapely.union_all(buffers[bi[first[j]:first[j] + counts[j]]])
    wid = np.maximum.reduceat(widths[bi], first)
    cells = part.geom[srcs]
    L = overlay(shapely.intersection, cells, cutter)
    # cells touched only by a sliver of a road are not cut
    big = shapely.area(L) >= 5.0
    if not big.any():
        return part
    srcs, cutter, wid, cells, L = srcs[big], cutter[big], wid[big], cells[big], L[big]
    rem = overlay(shapely.difference, cells, cutter)
    rparts, rp_ = polygons_only(rem)
    small = shapely.area(rparts) < 25.0
    if small.any():
        for j in np.unique(rp_[small]):
            L[j] = shapely.union_all(np.concatenate([[L[j]], rparts[small & (rp_ == j)]]), grid_size=GRID)
        rparts, rp_ = rparts[~small], rp_[~small]
    lfin, lf_ = polygons_only(L)
    # numerical debris (< 0.5 m²) is dropped
    ok = shapely.area(lfin) >= 0.5
    lfin, lf_ = lfin[ok], lf_[ok]
    new_g = np.concatenate([rparts, lfin])
    new_src = srcs[np.concatenate([rp_, lf_])]
    new_cls = np.concatenate([part.cls[srcs[rp_]], np.full(len(lfin), code, dtype=object)])
    new_w = np.concatenate([np.zeros(len(rparts)), wid[lf_]])
    keep = np.ones(len(part.geom), bool)
    keep[srcs] = False
    rp = shapely.get_coordinates(shapely.point_on_surface(new_g))
    new_zone = part.zone[new_src].copy()
    if code != "1004":
        new_zone[new_cls == code] = ""
    if not linear:
        new_w = np.zeros(len(new_g))
    return Partition(
        geom=np.concatenate([part.geom[keep], new_g]),
        x=np.concatenate([part.x[keep], rp[:, 0]]), y=np.concatenate([part.y[keep], rp[:, 1]]),
        town=np.concatenate([part.town[keep], part.town[new_src]]),
        village=np.concatenate([part.village[keep], part.village[new_src]]),
        cls=np.concatenate([part.cls[keep], new_cls]),
        zone=np.concatenate([part.zone[keep], new_zone]),
        width=np.concatenate([part.width[keep], np.array(new_w)]),
    )


def add_holes(part: Partition, rng, k: int = 6) -> tuple[Partition, list[int]]:
    """Punch k small islands (house plots, ponds) into big patches: polygons with holes."""
    area = shapely.area(part.geom)
    cand = np.flatnonzero(np.isin(part.cls, ["0301", "0101", "0103", "0305"]) & (area > 40000)
                          & (shapely.get_num_interior_rings(part.geom) == 0))
    rng.shuffle(cand)
    done = []
    new_g, new_src, new_cls = [], [], []
    geoms = part.geom.copy()
    for i in cand:
        if len(done) >= k:
            break
        inner = shapely.buffer(geoms[i], -40)
        if inner.is_empty:
            continue
        c = shapely.point_on_surface(inner)
        isl = snap(blob(rng, c.x, c.y, rng.uniform(12, 28), wobble=0.25, n=10))
        if not shapely.contains(inner, isl):
            continue
        g = geoms[i]
        geoms[i] = shapely.Polygon(shapely.get_coordinates(g.exterior),
                                   [shapely.get_coordinates(r) for r in g.interiors]
                                   + [shapely.get_coordinates(isl.exterior)[::-1]])
        new_g.append(isl)
        new_src.append(i)
        new_cls.append("0702" if part.cls[i] in FOREST or rng.random() < 0.4 else "1104")
        done.append(i)
    if not done:
        return part, []
    new_src = np.array(new_src)
    new_g = np.array(new_g, dtype=object)
    rp = shapely.get_coordinates(shapely.point_on_surface(new_g))
    # the holed polygons' seed point must stay inside them
    x, y = part.x.copy(), part.y.copy()
    for i in done:
        if not shapely.contains_xy(geoms[i], x[i], y[i]):
            q = shapely.point_on_surface(geoms[i])
            x[i], y[i] = q.x, q.y
    cls_new = np.array(new_cls, dtype=object)
    zone_new = np.where(cls_new == "0702", "203", "").astype(object)
    out = Partition(
        geom=np.concatenate([geoms, new_g]),
        x=np.concatenate([x, rp[:, 0]]), y=np.concatenate([y, rp[:, 1]]),
        town=np.concatenate([part.town, part.town[new_src]]),
        village=np.concatenate([part.village, part.village[new_src]]),
        cls=np.concatenate([part.cls, cls_new]),
        zone=np.concatenate([part.zone, zone_new]),
        width=np.concatenate([part.width, np.zeros(len(new_g))]),
    )
    return out, done


# Patches added per unit of S·sqrt(n) by the linear cuts (a Poisson-Voronoi line crosses
# (4/π)·sqrt(λ) cells per metre; each crossing adds a linear piece and often splits the
# remainder; not every class is cut). Calibrated on the 鄂城区 frame.
_CUT_GAIN = 1.5


def _cells_for(fr: Frame, n_target: int, network, rng) -> int:
    """Number of Voronoi cells so that cells + linear pieces ≈ n_target."""
    dens, _ = _density(fr)
    mp = sample_in(rng, fr.boundary, 4000)
    mean_rho = float(dens(mp[:, 0], mp[:, 1]).mean())
    A = fr.boundary.area
    S = 0.0
    step = 100.0
    for _code, lines, _w, _allowed, clip in network:
        lines = lines[~shapely.is_empty(lines)]
        if len(lines) == 0:
            continue
        lens = shapely.length(lines)
        k = np.maximum((lens / step).astype(int), 1)
        idx = np.repeat(np.arange(len(lines)), k)
        frac = (np.concatenate([np.arange(m) for m in k]) + 0.5) / np.repeat(k, k)
        pts = shapely.line_interpolate_point(lines[idx], frac, normalized=True)
        c = shapely.get_coordinates(pts)
        rho = dens(c[:, 0], c[:, 1])
        S += float(np.sum(np.sqrt(rho / (mean_rho * A)) * np.repeat(lens / k, k)))
    beta = _CUT_GAIN * 4 / np.pi * S
    root = (-beta + np.sqrt(beta * beta + 4 * n_target)) / 2
    n = max(int(root * root), min(n_target, 500))
    _cells_for.last = (n, S)
    return n


def build_partition(fr: Frame, n_dltb: int, seed: int, landuse=None) -> tuple[Partition, Villages, np.ndarray]:
    rng = rng_for(seed, "dltb")
    # the density of canals and farm roads follows the level of detail asked for
    detail = float(np.clip(n_dltb / 60000, 0.12, 1.0))
    network = linear_network(fr, rng_for(seed, "linear"), detail)
    n_cells = _cells_for(fr, n_dltb, network, rng_for(seed, "estimate"))
    cells, x, y = make_cells(fr, n_cells, rng)
    town, regions = assign_townships(fr, cells, x, y, rng_for(seed, "townships"))
    village, vill = assign_villages(fr, cells, x, y, town, rng_for(seed, "villages"))
    cls, zone = classify(fr, x, y, rng_for(seed, "classes"), landuse)
    part = Partition(cells, x, y, town, village, cls, zone, np.zeros(len(x)))
    part = carve_water(fr, part)
    part = merge_water(part)
    for code, lines, widths, allowed, clip in network:
        part = cut_linear(part, code, lines, widths, allowed, clip)
    part, _ = add_holes(part, rng_for(seed, "holes"))
    # top up: split the largest farm/forest patches until there are n_dltb patches
    short = n_dltb - len(part.geom)
    if short > 0:
        part = _split_largest(part, short, rng_for(seed, "topup"))
    xzq = np.array([regions.get(i, shapely.Polygon()) for i in range(len(fr.townships))], dtype=object)
    return part, vill, xzq


def _half_planes(geoms, rng):
    """For each polygon, a rectangle covering the part on one side of a random line through
    its centroid (sized to the polygon, not the world, to keep the overlay cheap)."""
    c = shapely.centroid(geoms)
    b = shapely.bounds(geoms)
    L = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) + 10.0
    ang = rng.uniform(0, np.pi, len(geoms))
    cx, cy = shapely.get_x(c), shapely.get_y(c)
    dx, dy = np.cos(ang) * L, np.sin(ang) * L
    nx, ny = -np.sin(ang) * L, np.cos(ang) * L
    return shapely.polygons(np.stack([
        np.column_stack([cx - dx, cy - dy]), np.column_stack([cx + dx, cy + dy]),
        np.column_stack([cx + dx + nx, cy + dy + ny]), np.column_stack([cx - dx + nx, cy - dy + ny]),
        np.column_stack([cx - dx, cy - dy])], axis=1))


def split_in_two(geoms, rng):
    """Split every polygon by a random line through its centroid.

    Returns (parts, index of the source polygon)."""
    half = _half_planes(geoms, rng)
    ga, ia = polygons_only(overlay(shapely.intersection, geoms, half))
    gb, ib = polygons_only(overlay(shapely.difference, geoms, half))
    return np.concatenate([ga, gb]), np.concatenate([ia, ib])


def _split_largest(part: Partition, k: int, rng) -> Partition:
    area = shapely.area(part.geom)
    cand = np.flatnonzero(np.isin(part.cls, ["0101", "0103", "0301", "0305", "0307", "1104", "0201"]))
    cand = cand[np.argsort(-area[cand])][:k]
    new_g, idx = split_in_two(part.geom[cand], rng)
    src = cand[idx]
    keep = np.ones(len(part.geom), bool)
    keep[cand] = False
    rp = shapely.get_coordinates(shapely.point_on_surface(new_g))
    return Partition(
        geom=np.concatenate([part.geom[keep], new_g]),
        x=np.concatenate([part.x[keep], rp[:, 0]]), y=np.concatenate([part.y[keep], rp[:, 1]]),
        town=np.concatenate([part.town[keep], part.town[src]]),
        village=np.concatenate([part.village[keep], part.village[src]]),
        cls=np.concatenate([part.cls[keep], part.cls[src]]),
        zone=np.concatenate([part.zone[keep], part.zone[src]]),
        width=np.concatenate([part.width[keep], part.width[src]]),
    )


# ----------------------------------------------------------------- attributes
KCXS_TABLE = {("", 1): 0.0240, ("TT", 2): 0.0450, ("PD", 2): 0.0380, ("TT", 3): 0.0820, ("PD", 3): 0.0690,
              ("TT", 4): 0.1150, ("PD", 4): 0.0980, ("TT", 5): 0.1480, ("PD", 5): 0.1270}
ZZSX = {"LS": ("粮食作物", 78), "FLS": ("非粮食作物", 10), "LYFL": ("粮与非粮轮作", 6), "WG": ("未耕种", 4),
        "XG": ("休耕", 2)}


def attributes(fr: Frame, part: Partition, vill: Villages, seed: int):
    """Order the patches, fill every standard DLTB field, plant the deliberate defects.

    Returns (geometries, attribute table, defects, meta): ``defects`` maps a defect name to
    the row positions (0-based, in the written order) that carry it; ``meta`` holds the
    seed point, township and village index of every row.
    """
    rng = rng_for(seed, "dltb-attrs")
    n = len(part.geom)
    vcode = np.array(vill.code, dtype=object)[part.village]
    vname = np.array(vill.name, dtype=object)[part.village]
    # order: by village, then north to south, west to east (as numbering is done)
    order = np.lexsort((np.round(part.x, 0), -np.round(part.y, -1), vcode))
    P = Partition(part.geom[order], part.x[order], part.y[order], part.town[order], part.village[order],
                  part.cls[order], part.zone[order], part.width[order])
    vcode, vname = vcode[order], vname[order]
    geom = P.geom
    cls = P.cls.astype(str)
    x, y = P.x, P.y
    # TBBH: 1.. within each village
    tbbh = (pd.Series(np.ones(n)).groupby(vcode).cumsum().astype(int).astype(str)).to_numpy()
    bsm = np.array([f"{fr.adcode}{i + 1:012d}" for i in range(n)], dtype=object)
    is_gd = np.isin(cls, N.CULTIVATED)
    h = fr.hill(x, y)
    # slope level from relief, plus a little randomness
    lvl = np.digitize(h + rng.normal(0, 0.06, n), [0.08, 0.28, 0.48, 0.68]) + 1
    gdpdjb = np.where(is_gd, lvl.astype(str), "")
    gdlx = np.where(is_gd & (lvl >= 2), np.where((h > 0.3) & (rng.random(n) < 0.6), "TT", "PD"), "")
    kcxs = np.zeros(n)
    for (lx, lv), v in KCXS_TABLE.items():
        kcxs[is_gd & (gdlx == lx) & (lvl == lv)] = v
    kcxs[is_gd & (lvl == 1)] = KCXS_TABLE[("", 1)]
    kcdlbm = np.where(is_gd, "1203", "")
    # 图斑细化 and 种植属性
    lakes = fr.lake_union
    dl = shapely.distance(lakes, shapely.points(x, y)) if not lakes.is_empty else np.full(n, np.inf)
    tbxhdm = np.full(n, "", dtype=object)
    tbxhdm[is_gd & (dl < 700) & (rng.random(n) < 0.35)] = "HQGD"
    tbxhdm[is_gd & shapely.contains_xy(fr.bank_zone, x, y)] = "HDGD"
    tbxhdm[is_gd & (h > 0.5) & (rng.random(n) < 0.5)] = "LQGD"
    tbxhmc = np.array([{"HQGD": "湖区耕地", "HDGD": "河道耕地", "LQGD": "林区耕地"}.get(c, "") for c in tbxhdm],
                      dtype=object)
    zk = list(ZZSX)
    zp = np.array([ZZSX[k][1] for k in zk], float)
    zz = np.array(zk, dtype=object)[rng.choice(len(zk), size=n, p=zp / zp.sum())]
    zzsxdm = np.where(is_gd, zz, "").astype(object)
    former = np.isin(cls, ["0201", "0204", "0301", "0307", "1104"]) & (rng.random(n) < 0.08)
    zzsxdm[former] = np.where(rng.random(former.sum()) < 0.6, "JKHF", "GCHF")
    zzsxmc = np.array([{**{k: v[0] for k, v in ZZSX.items()}, "JKHF": "即可恢复", "GCHF": "工程恢复"}.get(c, "")
                       for c in zzsxdm], dtype=object)
    gddb = np.where(is_gd, np.where(lvl <= 1, rng.integers(5, 8, n), rng.integers(7, 11, n)), 0)
    # ownership
    zone = P.zone.astype(str)
    state = np.isin(cls, list(STATE_CLASSES)) | ((zone == "201") & np.isin(cls, N.CONSTRUCTION)) \
        | (np.isin(zone, ["201A", "202A"]) & np.isin(cls, ["0601", "0508"])) \
        | ((zone == "202") & np.isin(cls, ["05H1", "0701", "08H2", "0809", "0810", "1004"]))
    vq = vill.qsxz[P.village]
    qsxz = np.where(state, "10", np.where((vq == "31") & (rng.random(n) < 0.5), "31",
                                          np.where(vq == "31", "30", vq))).astype(object)
    zldwdm = np.array([c + "0000000" for c in vcode], dtype=object)
    grp = rng.integers(1, 13, n)
    qsdwdm = np.where(qsxz == "31", [c + f"{g:03d}0000" for c, g in zip(vcode, grp)], zldwdm).astype(object)
    qsdwmc = np.where(qsxz == "31", [f"{nm}第{g}村民小组" for nm, g in zip(vname, grp)], vname).astype(object)
    czcsxm = np.where(np.isin(cls, N.CONSTRUCTION) & (zone != ""), zone, "").astype(object)
    czcsxm[(cls == "1003")] = ""
    # areas
    tbmj = np.round(ellipsoidal(geom, fr.crs), 2)
    xzdwkd = np.round(P.width, 1)
    # ----------------------------------------------------------- deliberate defects
    defects: dict[str, list[int]] = {}
    area = shapely.area(geom)
    nv = shapely.get_num_coordinates(geom)
    simple = np.flatnonzero((shapely.get_num_interior_rings(geom) == 0) & (nv >= 6) & (nv <= 9)
                            & (area > 1500) & (area < 6000) & (P.width == 0))
    # 1) three bow-tie (self-intersecting) polygons: swap two neighbouring vertices
    geom = geom.copy()
    bow = []
    for i in rng.permutation(simple):
        c = shapely.get_coordinates(geom[i].exterior)[:-1]
        c[[1, 2]] = c[[2, 1]]
        g = shapely.Polygon(np.vstack([c, c[:1]]))
        if shapely.is_valid(g):
            continue
        geom[i] = g
        bow.append(int(i))
        if len(bow) == 3:
            break
    bow = np.array(bow)
    defects["bow_tie"] = sorted(int(i) for i in bow)
    # 2) one duplicate BSM
    rest = np.setdiff1d(np.arange(n), bow)
    dup = rng.choice(rest, size=2, replace=False)
    bsm[dup[1]] = bsm[dup[0]]
    defects["duplicate_bsm"] = [int(dup[0]), int(dup[1])]   # [original, the copy]
    # 3) two TBMJ off by more than 0.1 % (non-耕地, so KCMJ stays 0)
    non_gd = np.setdiff1d(np.flatnonzero(~is_gd & (area > 3000) & (P.width == 0)), np.concatenate([bow, dup]))
    off = rng.choice(non_gd, size=2, replace=False)
    tbmj[off[0]] = round(tbmj[off[0]] * 1.0042, 2)
    tbmj[off[1]] = round(tbmj[off[1]] * 0.9931, 2)
    defects["tbmj_off"] = sorted(int(i) for i in off)
    # 4) one KCXS on a non-耕地 patch (an orchard carrying a 田坎 coefficient)
    orch = np.setdiff1d(np.flatnonzero(np.isin(cls, ["0201", "0204", "0307"])), np.concatenate([bow, dup, off]))
    bad = int(rng.choice(orch))
    kcxs[bad] = 0.0450
    kcdlbm[bad] = "1203"
    defects["kcxs_non_cultivated"] = [bad]
    kcmj = np.round(tbmj * kcxs, 2)
    tbdlmj = np.round(tbmj - kcmj, 2)
    df = pd.DataFrame({
        "BSM": bsm,
        "YSDM": "2001010100",
        "TBYBH": tbbh,
        "TBBH": tbbh,
        "DLBM": cls,
        "DLMC": [N.DLMC[c] for c in cls],
        "QSXZ": qsxz,
        "QSDWDM": qsdwdm,
        "QSDWMC": qsdwmc,
        "ZLDWDM": zldwdm,
        "ZLDWMC": vname,
        "TBMJ": tbmj,
        "KCDLBM": kcdlbm,
        "KCXS": kcxs,
        "KCMJ": kcmj,
        "TBDLMJ": tbdlmj,
        "GDLX": gdlx,
        "GDPDJB": gdpdjb,
        "XZDWKD": xzdwkd,
        "TBXHDM": tbxhdm,
        "TBXHMC": tbxhmc,
        "ZZSXDM": zzsxdm,
        "ZZSXMC": zzsxmc,
        "GDDB": gddb.astype("int32"),
        "FRDBS": "0",
        "CZCSXM": czcsxm,
        "SJNF": np.int32(fr.year - 1),
        "MSSM": "00",
        "BZ": "",
    })
    for c in df.columns:
        if df[c].dtype == object or str(df[c].dtype).startswith("str"):
            df[c] = df[c].astype(object)
    meta = {"x": x, "y": y, "town": P.town, "village": P.village}
    return geom, df, defects, meta

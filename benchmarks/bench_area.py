"""Benchmark: landkit ellipsoidal_area (32号, numpy) vs a per-polygon pyproj.Geod loop.

    python benchmarks/bench_area.py [--n 150000] [--seed 0] [--repeat 3]

Builds N Voronoi cells over ~600 km² near 鄂州 in EPSG:4526 (CGCS2000 3° GK zone 38,
around x = 38 560 000, y = 3 365 000, i.e. ~60 km east of the central meridian), clipped
to a rectangle; ~5 % get a hole and ~2 % become two-part MultiPolygons. Times

* landkit: ``ellipsoidal_area(gs)`` on the projected GeoSeries (median of --repeat runs);
* peer: ``gs.to_crs(4490)`` (vectorised) then ``Geod(ellps="GRS80").geometry_area_perimeter``
  per polygon (run in --repeat slices interleaved with the landkit runs) — reported with
  and without the reprojection;

and checks agreement. Times are process CPU times (wall times are printed too; on a
shared machine they swing with other jobs). Exits 1 if the CPU-time speed-up against the
loop alone (the smaller ratio) is below 10× or the largest relative difference exceeds
1e-6.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import geopandas as gpd  # noqa: E402
import pyproj  # noqa: E402
import shapely  # noqa: E402

from landkit.standards.area import ellipsoidal_area, geodesic_area_lonlat  # noqa: E402

CRS = 4526
X0, Y0 = 38_560_000.0, 3_365_000.0
WIDTH, HEIGHT = 30_000.0, 20_000.0  # 600 km²


def build(n: int, seed: int) -> gpd.GeoSeries:
    rng = np.random.default_rng(seed)
    # more seeds than n: the clip drops the cells along the border
    m_pts = int(n * 1.08) + 100
    pts = np.column_stack(
        [rng.uniform(X0 - WIDTH / 2, X0 + WIDTH / 2, m_pts), rng.uniform(Y0 - HEIGHT / 2, Y0 + HEIGHT / 2, m_pts)]
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts)))
    clip = shapely.box(X0 - WIDTH / 2 + 300, Y0 - HEIGHT / 2 + 300, X0 + WIDTH / 2 - 300, Y0 + HEIGHT / 2 - 300)
    cells = shapely.intersection(cells, clip)
    # ordinary parcels only: the clip leaves slivers of a few cm² along the border, whose
    # Geod area is dominated by its ~1e-5 m² absolute rounding
    cells = cells[(shapely.get_type_id(cells) == 3) & (shapely.area(cells) >= 200.0)][:n]
    if cells.shape[0] < n:
        raise SystemExit(f"only {cells.shape[0]} cells; lower --n")
    # cells stay in creation order, so they lie in memory the way a freshly read layer
    # does (a random permutation makes every geometry access a cache miss, for both sides)

    # ~5 %: a 12-gon hole around the centroid
    idx = rng.choice(cells.shape[0], cells.shape[0] // 20, replace=False)
    r = 0.12 * np.sqrt(shapely.area(cells[idx]))
    holes = shapely.buffer(shapely.centroid(cells[idx]), r, quad_segs=3)
    ok = shapely.contains_properly(cells[idx], holes)
    cells[idx[ok]] = shapely.difference(cells[idx[ok]], holes[ok])
    # ~2 %: MultiPolygons made of this cell and a far-away (disjoint) one
    m = cells.shape[0] // 50
    a = rng.choice(cells.shape[0], m, replace=False)
    b = (a + cells.shape[0] // 2) % cells.shape[0]
    parts = np.column_stack([cells[a], cells[b]]).ravel()
    multi = shapely.multipolygons(parts, indices=np.repeat(np.arange(m), 2))
    disjoint = shapely.disjoint(cells[a], cells[b])
    cells[a[disjoint]] = multi[disjoint]
    return gpd.GeoSeries(cells, crs=CRS)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=150_000, help="number of polygons (default 150000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=5,
                    help="timed landkit runs (median reported), interleaved with as many slices of the Geod loop")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    gs = build(args.n, args.seed)
    geoms = np.asarray(gs.values)
    n_vert = int(shapely.get_num_coordinates(geoms).sum())
    n_holes = int((shapely.get_num_interior_rings(geoms) > 0).sum())
    n_multi = int((shapely.get_type_id(geoms) == 6).sum())
    print(f"data: {len(gs):,} polygons ({n_holes:,} with holes, {n_multi:,} multipolygons), "
          f"{n_vert:,} vertices, EPSG:{CRS}; built in {time.perf_counter() - t:.1f} s")

    # Timed in process CPU time (wall time printed too): both sides are single-threaded,
    # and CPU time is what stays comparable when other jobs share the machine. The peer's
    # Geod loop runs in --repeat slices interleaved with the landkit runs, so that both
    # see the same machine conditions.
    def clock():
        return time.perf_counter(), time.process_time()

    def since(t0):
        w, c = clock()
        return w - t0[0], c - t0[1]

    t0 = clock()
    ours = ellipsoidal_area(gs)
    first_wall, first_cpu = since(t0)

    t0 = clock()
    lonlat = np.asarray(gs.to_crs(4490).values)
    w_proj, t_proj = since(t0)
    geod = pyproj.Geod(ellps="GRS80")
    peer = np.empty(len(gs))
    slices = np.array_split(np.arange(len(gs)), max(args.repeat, 1))
    cpu, wall = [], []
    w_loop = t_loop = 0.0
    for sl in slices:
        t0 = clock()
        ours = ellipsoidal_area(gs)
        dw, dc = since(t0)
        wall.append(dw)
        cpu.append(dc)
        t0 = clock()
        peer[sl] = geodesic_area_lonlat(lonlat[sl], geod)
        dw, dc = since(t0)
        w_loop += dw
        t_loop += dc
    t_ours, w_ours = statistics.median(cpu), statistics.median(wall)
    naive = ellipsoidal_area(gs, refine=False)

    rel = np.abs(ours - peer) / peer
    rel_naive = np.abs(naive - peer) / peer
    total_rel = abs(ours.sum() - peer.sum()) / peer.sum()
    planar = shapely.area(geoms)

    ratio_loop = t_loop / t_ours
    ratio_full = (t_proj + t_loop) / t_ours
    print(f"landkit ellipsoidal_area : {t_ours * 1000:8.1f} ms CPU, {w_ours * 1000:8.1f} ms wall (median of "
          f"{len(cpu)}; first call {first_cpu * 1000:.0f} ms CPU) = {t_ours / n_vert * 1e9:.0f} ns/vertex CPU")
    print(f"peer to_crs(4490)        : {t_proj * 1000:8.1f} ms CPU, {w_proj * 1000:8.1f} ms wall")
    print(f"peer Geod loop           : {t_loop * 1000:8.1f} ms CPU, {w_loop * 1000:8.1f} ms wall")
    print(f"speed-up vs Geod loop    : {ratio_loop:6.1f}x CPU, {w_loop / w_ours:.1f}x wall   "
          f"(incl. reprojection: {ratio_full:.1f}x CPU, {(w_proj + w_loop) / w_ours:.1f}x wall)")
    print(f"agreement with Geod      : max rel {rel.max():.2e}, median rel {np.median(rel):.2e}, "
          f"total rel {total_rel:.2e} (sum {ours.sum() / 1e6:.6f} km²)")
    print(f"  per-vertex 32号 sum (refine=False) vs Geod: max rel {rel_naive.max():.2e}, "
          f"median rel {np.median(rel_naive):.2e}")
    print(f"  planar GK / ellipsoidal − 1: median {np.median(planar / ours - 1):.3e}")

    ok = True
    if ratio_loop < 10:
        print(f"FAIL: speed-up {ratio_loop:.1f}x < 10x")
        ok = False
    if rel.max() > 1e-6:
        print(f"FAIL: max relative difference {rel.max():.2e} > 1e-6")
        ok = False
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

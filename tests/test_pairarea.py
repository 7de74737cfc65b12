"""The pair-area kernel: intersection areas without building the intersection, checked
against GEOS (shapely.intersection + area) on general, degenerate and nearly degenerate
layouts, in the plane and on the ellipsoid."""
from fractions import Fraction

import numpy as np
import pytest
import shapely
import shapely.affinity
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import landkit.overlay.pairarea as pa
from landkit.overlay.engine import _polygonal, overlay_areas
from landkit.standards.area import ellipsoidal_area

CRS = "EPSG:4526"                 # CGCS2000 3-degree Gauss-Krüger zone 38 (8-digit eastings)
X0, Y0 = 38_500_000.0, 3_300_000.0


def geos_areas(A, B, ia, ib, planar):
    """The reference: GEOS's intersection computed on coordinates moved by (−X0, −Y0) (an
    exact move for these coordinates). At 8-digit eastings GEOS's own floating-point
    intersection of nearly degenerate pairs is off by up to ~1e-6 m² (found by hypothesis,
    checked against a rational clip); near the origin it is not."""
    A, B = np.asarray(A, dtype=object), np.asarray(B, dtype=object)
    local = shapely.transform(np.concatenate([A[ia], B[ib]]), lambda xy: xy - [X0, Y0])
    g = _polygonal(shapely.intersection(local[:len(ia)], local[len(ia):]))
    if planar:
        return np.nan_to_num(shapely.area(g))
    return ellipsoidal_area(shapely.transform(g, lambda xy: xy + [X0, Y0]), crs=CRS)


def kernel(A, B, ia=None, ib=None, planar=False, threads=1):
    A = np.asarray(A, dtype=object)
    B = np.asarray(B, dtype=object)
    if ia is None:
        ia = ib = np.arange(len(A))
    return pa.intersection_area(pa.edges_of(A), pa.edges_of(B), ia, ib, crs=CRS, planar=planar,
                                threads=threads)


def star(rng, cx, cy, r, n):
    """A random star-shaped polygon (valid), sometimes with a hole, either orientation."""
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = rng.uniform(0.3 * r, r, n)
    p = shapely.make_valid(shapely.Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)]))
    p = shapely.get_parts(p)[0] if p.geom_type != "Polygon" else p
    if rng.random() < 0.2:
        p = shapely.difference(p, shapely.Point(cx, cy).buffer(0.2 * r, quad_segs=3))
    if rng.random() < 0.5:
        p = p.reverse()
    return p


@pytest.mark.parametrize("planar", [True, False])
def test_random_polygons_match_geos(planar):
    rng = np.random.default_rng(1)
    A = np.array([star(rng, X0 + rng.uniform(0, 600), Y0 + rng.uniform(0, 600), 60, rng.integers(3, 12))
                  for _ in range(400)], dtype=object)
    B = np.array([star(rng, X0 + rng.uniform(0, 600), Y0 + rng.uniform(0, 600), 60, rng.integers(3, 12))
                  for _ in range(400)], dtype=object)
    B[:4] = [shapely.union(star(rng, X0 + 100, Y0 + 100, 50, 6), star(rng, X0 + 300, Y0 + 300, 50, 6))
             for _ in range(4)]                               # multipolygons
    ib, ia = shapely.STRtree(A).query(B)
    area, ok = kernel(A, B, ia, ib, planar=planar)
    ref = geos_areas(A, B, ia, ib, planar)
    assert ok.all()
    assert (ref > 0).sum() > 300 and (ref == 0).sum() > 100    # real overlaps and envelope-only pairs
    np.testing.assert_allclose(area, ref, rtol=1e-8, atol=1e-6)


def grid_polygon(rng, cell=10.0, n=6):
    """Polygons whose vertices lie on a coarse grid: shared vertices, shared and collinear
    edges, vertices on edges, identical rings: every degenerate case of an overlay."""
    while True:
        if rng.random() < 0.3:
            x0, y0 = rng.integers(0, n, 2)
            x1, y1 = x0 + rng.integers(1, n), y0 + rng.integers(1, n)
            p = shapely.box(X0 + x0 * cell, Y0 + y0 * cell, X0 + x1 * cell, Y0 + y1 * cell)
        else:
            pts = rng.integers(0, n, size=(rng.integers(3, 9), 2)) * cell + [X0, Y0]
            p = _polygonal(np.array([shapely.make_valid(shapely.Polygon(pts))], dtype=object))[0]
        if p is not None and not p.is_empty and p.area > 0:
            return p.reverse() if rng.random() < 0.5 else p


@pytest.mark.parametrize("planar", [True, False])
def test_degenerate_layouts_match_geos(planar):
    rng = np.random.default_rng(2)
    A = np.array([grid_polygon(rng) for _ in range(1500)], dtype=object)
    B = np.array([grid_polygon(rng) for _ in range(1500)], dtype=object)
    B[:100] = A[:100]                                      # identical polygons
    B[100:200] = [shapely.Polygon(np.roll(np.asarray(g.exterior.coords)[:-1], 2, axis=0)) if g.geom_type == "Polygon"
                  and not g.interiors else g for g in A[100:200]]   # same ring, other start vertex
    area, ok = kernel(A, B, planar=planar)
    ia = np.arange(len(A))
    ref = geos_areas(A, B, ia, ia, planar)
    assert ok.all()
    np.testing.assert_allclose(area, ref, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(area[:100], geos_areas(A, A, ia[:100], ia[:100], planar), rtol=1e-12)


def test_touching_only_is_zero_and_symmetry():
    a = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    touching = [shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100),      # shares an edge
                shapely.box(X0 + 100, Y0 + 100, X0 + 150, Y0 + 150),  # a corner
                shapely.Polygon([(X0 + 100, Y0 + 50), (X0 + 150, Y0), (X0 + 150, Y0 + 100)])]  # a vertex on the edge
    area, ok = kernel([a] * 3, touching, planar=True)
    assert ok.all() and np.array_equal(area, np.zeros(3))
    rng = np.random.default_rng(3)
    A = [grid_polygon(rng) for _ in range(300)]
    B = [grid_polygon(rng) for _ in range(300)]
    ab, _ = kernel(A, B)
    ba, _ = kernel(B, A)
    np.testing.assert_allclose(ab, ba, rtol=1e-10, atol=1e-7)


def test_nearly_degenerate_vertices_are_decided_exactly():
    """A vertex one ulp (7e-9 m) inside, on, or outside the other square's edge (below the
    rounding of naive floating point at 8-digit eastings): no crash, no stray area; the
    layouts are decided as they are, and the 1e-16 m² sliver inside rounds to about 0."""
    a = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    out = []
    for d in (-1e-9, 0.0, 1e-9):
        x = np.nextafter(X0 + 100, np.inf) if d > 0 else (np.nextafter(X0 + 100, -np.inf) if d < 0 else X0 + 100)
        out.append(shapely.Polygon([(x, Y0 + 50), (X0 + 150, Y0), (X0 + 150, Y0 + 100)]))
    area, ok = kernel([a] * 3, out, planar=True)
    ref = geos_areas(np.array([a] * 3, dtype=object), np.array(out, dtype=object), np.arange(3), np.arange(3), True)
    assert ok.all()
    np.testing.assert_allclose(area, ref, atol=1e-9)
    assert 0 <= area[0] < 1e-9 and area[1] == 0 and area[2] == 0


def test_nearly_collinear_edges_cross_where_they_should():
    """Found by fuzzing: B's edge lies within 1e-10 m of A's edge along 2.8 m, so where they
    cross is decided by 1e-10 m. With plain floating-point side values the crossing landed
    3e-7 m off and the pieces did not close (1.7e-6 m² off); the area agrees with GEOS (and
    with a rational triangulation) to 1e-9 m²."""
    a = shapely.from_wkt("POLYGON ((38500021 3300021, 38500020 3300020, 38500015 3300025, 38500021 3300021))")
    b = shapely.from_wkt("POLYGON ((38500012.85714286 3300019.6428571446, 38500017.64705882 3300023.2352941185, "
                         "38500020 3300021.6666666665, 38500020 3300015, 38500015 3300015, 38500005 3300000, "
                         "38500012.85714286 3300019.6428571446))")
    area, ok = kernel([a], [b], planar=True)
    assert ok[0] and area[0] == pytest.approx(shapely.intersection(a, b).area, abs=1e-9)
    local = [shapely.affinity.translate(g, -X0, -Y0) for g in (a, b)]
    area, ok = pa.intersection_area(*(pa.edges_of(np.array([g])) for g in local), [0], [0], planar=True)
    assert area[0] == pytest.approx(float(rational_clip_area(local[1], local[0])), abs=1e-12)


def rational_clip_area(subject, convex):
    """Exact area of subject ∩ convex in rational arithmetic (Sutherland-Hodgman: right for
    any simple subject ring against a convex clip polygon)."""
    c = [tuple(map(Fraction, xy)) for xy in list(shapely.orient_polygons(convex).exterior.coords)[:-1]]
    out = [tuple(map(Fraction, xy)) for xy in list(subject.exterior.coords)[:-1]]
    for (px, py), (qx, qy) in zip(c, c[1:] + c[:1]):
        side = [(qx - px) * (y - py) - (qy - py) * (x - px) for x, y in out]
        new = []
        for k in range(len(out)):
            (x0, y0), (x1, y1), s0, s1 = out[k - 1], out[k], side[k - 1], side[k]
            if (s0 >= 0) != (s1 >= 0):
                t = s0 / (s0 - s1)
                new.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0)))
            if s1 >= 0:
                new.append((x1, y1))
        out = new
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(out, out[1:] + out[:1]))) / 2


def test_exact_sign_agrees_with_rational_arithmetic():
    rng = np.random.default_rng(4)
    base = rng.uniform(-1e3, 1e3, (20000, 4))
    # near-cancelling cases: p·q ≈ r·s within a few ulps, and exact zeros
    p, q, r = base[:, 0], base[:, 1], base[:, 2]
    s = (p * q) / r
    s[::3] = np.nextafter(s[::3], np.inf)
    s[1::3] = np.nextafter(s[1::3], -np.inf)
    p[::7], q[::7], r[::7], s[::7] = 3.0, 5.0, 5.0, 3.0
    got = pa._exact_sign(p, q, r, s)
    want = [np.sign(Fraction(a) * Fraction(b) - Fraction(c) * Fraction(d)) for a, b, c, d in zip(p, q, r, s)]
    assert np.array_equal(got, np.array(want, dtype=float))
    assert (got == 0).sum() >= len(p) // 7 and (got > 0).any() and (got < 0).any()


def test_pairs_it_cannot_do_are_left_to_geos(monkeypatch):
    """Too many edge pairs, and coordinates whose differences are not exact (a CRS with no
    false easting, x around 0): not computed, and overlay_areas asks GEOS instead."""
    circle = shapely.Point(X0, Y0).buffer(100, quad_segs=64)       # 256 edges
    sq = shapely.box(X0 - 50, Y0 - 50, X0 + 150, Y0 + 150)
    monkeypatch.setattr(pa, "MAX_EDGE_PAIRS", 100)
    area, ok = kernel([circle], [circle.buffer(-1, quad_segs=64)])
    assert not ok[0]
    r = overlay_areas(np.array([circle, sq], dtype=object), [circle.buffer(-1, quad_segs=64), sq], crs=CRS,
                      sliver_m2=0)
    exp = ellipsoidal_area(_polygonal(shapely.intersection(np.array([circle, sq]), shapely.union(circle.buffer(-1, quad_segs=64), sq))), crs=CRS)
    np.testing.assert_allclose(r.table["overlap_m2"], exp, rtol=1e-9)
    assert r.stats["kernel_pairs"] < r.stats["candidate_pairs"]
    # around x = 0 the differences of coordinates are not exact: exact zeros are not trusted
    tiny = [shapely.box(-10, 0, 10, 10)]
    ea = pa.edges_of(np.array(tiny, dtype=object))
    assert not pa._differences_exact(ea, ea)
    area, ok = pa.intersection_area(ea, ea, [0], [0], planar=True)
    assert not ok[0]


@pytest.mark.parametrize("threads", [1, 3])
def test_threads_and_chunks_give_identical_results(monkeypatch, threads):
    rng = np.random.default_rng(5)
    A = np.array([grid_polygon(rng) for _ in range(500)], dtype=object)
    B = np.array([grid_polygon(rng) for _ in range(500)], dtype=object)
    ref, _ = kernel(A, B)
    monkeypatch.setattr(pa, "CHUNK_PAIRS", 37)
    got, _ = kernel(A, B, threads=threads)
    assert np.array_equal(got, ref)


# ---- properties ---------------------------------------------------------------

coord = st.integers(0, 12).map(lambda v: v * 5.0)
ring = st.lists(st.tuples(coord, coord), min_size=3, max_size=7)


def as_polygon(pts, dx=0.0, dy=0.0):
    g = shapely.make_valid(shapely.Polygon([(X0 + x + dx, Y0 + y + dy) for x, y in pts]))
    g = _polygonal(np.array([g], dtype=object))[0]
    return None if g is None or g.is_empty or g.area == 0 else g


@example([(0.0, 0.0), (0.0, 20.0), (5.0, 25.0)], [(0.0, 0.0), (0.0, 20.0), (5.0, 0.0)], 1e-7)  # GEOS 1.1e-6 off
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(ring, ring, st.sampled_from([0.0, 2.5, 1e-7, 1 / 3]))
def test_property_area_equals_geos_on_snapped_polygons(pa_pts, pb_pts, shift):
    """Polygons on a 5 m lattice (so edges and vertices coincide all the time), B shifted by
    0, half a cell, 1e-7 m or a third of a metre: the kernel equals GEOS."""
    a, b = as_polygon(pa_pts), as_polygon(pb_pts, shift, shift)
    if a is None or b is None:
        return
    for planar in (True, False):
        area, ok = kernel([a], [b], planar=planar)
        ref = geos_areas(np.array([a]), np.array([b]), [0], [0], planar)
        assert ok[0]
        assert area[0] == pytest.approx(ref[0], rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("crs, x0, y0", [
    ("EPSG:4547", 500_000.0, 3_400_000.0),        # CGCS2000 3-degree zone, 6-digit eastings (CM 114°E)
    ("EPSG:2362", 38_420_000.0, 3_300_000.0),     # 西安80 3-degree zone 38, 80 km west of its meridian
    ("EPSG:4498", 20_650_000.0, 3_300_000.0),     # CGCS2000 6-degree zone 20, 150 km east of its meridian
])
def test_other_gauss_kruger_crs_match_geos(crs, x0, y0):
    """Other Gauss-Krüger CRSs (6-digit eastings, 西安80's ellipsoid, 6-degree zones, far from
    the central meridian): the kernel's ellipsoidal areas equal those of GEOS's intersections."""
    rng = np.random.default_rng(6)
    A = np.array([star(rng, x0 + rng.uniform(0, 400), y0 + rng.uniform(0, 400), 50, rng.integers(3, 10))
                  for _ in range(150)], dtype=object)
    B = np.array([star(rng, x0 + rng.uniform(0, 400), y0 + rng.uniform(0, 400), 50, rng.integers(3, 10))
                  for _ in range(150)], dtype=object)
    ib, ia = shapely.STRtree(A).query(B)
    area, ok = pa.intersection_area(pa.edges_of(A), pa.edges_of(B), ia, ib, crs=crs)
    ref = ellipsoidal_area(_polygonal(shapely.intersection(A[ia], B[ib])), crs=crs)
    assert ok.all() and (ref > 0).sum() > 50
    np.testing.assert_allclose(area, ref, rtol=1e-8, atol=1e-6)

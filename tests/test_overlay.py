"""The overlay engine: exact figures on hand-made layouts and hypothesis properties."""
import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landkit.overlay.engine import overlay_areas, partition
from landkit.standards.area import ellipsoidal_area

X, Y = 38_560_000.0, 3_365_000.0
CRS = "EPSG:4526"
GEOD = pyproj.Geod(ellps="GRS80")
TO_LL = pyproj.Transformer.from_crs(CRS, 4490, always_xy=True)


def geod_area(g):
    """Independent reference: pyproj geodesic area of a projected polygon (densified)."""
    if g.is_empty:
        return 0.0
    ll = shapely.transform(shapely.segmentize(g, 5.0), lambda xy: np.column_stack(TO_LL.transform(xy[:, 0], xy[:, 1])))
    return abs(GEOD.geometry_area_perimeter(ll)[0])


def box(x0, y0, x1, y1):
    return shapely.box(X + x0, Y + y0, X + x1, Y + y1)


def test_simple_overlap_gross_net_share_ids():
    a = gpd.GeoSeries([box(0, 0, 100, 100), box(300, 0, 400, 100)], crs=CRS)
    b = [box(50, 0, 150, 100), box(0, 50, 100, 150), box(1000, 0, 1100, 100)]
    r = overlay_areas(a, b, b_ids=["B1", "B2", "B3"], b_kcxs=[0.1, 0.2, 0.0])
    t = r.table
    # B1 ∩ A0 = 50x100, B2 ∩ A0 = 100x50, B1 ∩ B2 overlap (50x50) inside A0 counted once
    exp_gross = geod_area(shapely.intersection(box(0, 0, 100, 100), shapely.union(b[0], b[1])))
    assert t.loc[0, "overlap_m2"] == pytest.approx(exp_gross, rel=1e-7)
    # B1 sorts first so it keeps the shared square: net = 5000*0.9 + 2500*0.8
    scale = exp_gross / 7500.0
    assert t.loc[0, "overlap_net_m2"] == pytest.approx((5000 * 0.9 + 2500 * 0.8) * scale, rel=1e-7)
    assert t.loc[0, "b_ids"] == ["B1", "B2"] and t.loc[0, "share"] == pytest.approx(0.75, rel=1e-6)
    assert t.loc[1, "overlap_m2"] == 0 and t.loc[1, "b_ids"] == []
    assert r.b_overlap_pairs == 1


def test_covered_feature_uses_its_own_area():
    a = gpd.GeoSeries([box(10, 10, 20, 20)], crs=CRS)
    r = overlay_areas(a, [box(0, 0, 100, 100)])
    assert r.table.loc[0, "share"] == pytest.approx(1.0)
    assert r.table.loc[0, "overlap_m2"] == pytest.approx(geod_area(box(10, 10, 20, 20)), rel=1e-7)
    assert r.stats["covered_pairs"] == 1


def test_slivers_ignored_and_counted():
    a = gpd.GeoSeries([box(0, 0, 100, 100)], crs=CRS)
    b = [box(99.99, 0, 200, 100), box(0, 0, 50, 100)]     # 0.01 m x 100 m = 1 m²-ish sliver
    r = overlay_areas(a, b, sliver_m2=1.5)
    assert r.sliver_count == 1 and 0.5 < r.sliver_m2 < 1.5
    assert r.table.loc[0, "b_ids"] == [1]
    r2 = overlay_areas(a, b, sliver_m2=0.1)
    assert r2.sliver_count == 0 and r2.table.loc[0, "b_ids"] == [0, 1]


def test_edge_touching_is_no_overlap():
    a = gpd.GeoSeries([box(0, 0, 100, 100)], crs=CRS)
    r = overlay_areas(a, [box(100, 0, 200, 100), box(0, 100, 100, 200)])
    assert r.table.loc[0, "overlap_m2"] == 0 and r.sliver_count == 0


def test_pieces_geometry():
    a = gpd.GeoSeries([box(0, 0, 100, 100)], crs=CRS)
    r = overlay_areas(a, [box(50, 50, 150, 150)], keep_pieces=True)
    assert len(r.pieces) == 1 and r.pieces.geometry.iloc[0].equals(box(50, 50, 100, 100))
    assert r.pieces["area_m2"].iloc[0] == pytest.approx(r.table.loc[0, "overlap_m2"])


def test_topology_exception_falls_back_to_grid(monkeypatch):
    import landkit.overlay.engine as ov
    real = shapely.intersection
    calls = []

    def flaky(a, b, grid_size=None, **kw):
        calls.append(grid_size)
        if grid_size is None:
            raise shapely.errors.GEOSException("TopologyException: side location conflict")
        return real(a, b, grid_size=grid_size, **kw)
    monkeypatch.setattr(ov.shapely, "intersection", flaky)
    a = gpd.GeoSeries([box(0, 0, 100, 100)], crs=CRS)
    r = overlay_areas(a, [box(50, 0, 150, 100)], keep_pieces=True)     # pieces: built by GEOS
    assert calls and calls[-1] == ov.GRID and r.fallback_pairs == 1
    assert r.table.loc[0, "overlap_m2"] == pytest.approx(geod_area(box(0, 0, 50, 100)), rel=1e-6)


def test_invalid_input_is_made_valid():
    spike = shapely.Polygon([(X, Y), (X + 100, Y), (X + 100, Y + 100), (X + 50, Y + 100),
                             (X + 50.0000000001, Y + 200), (X + 50, Y + 100.0000000001), (X, Y + 100)])
    a = gpd.GeoSeries([spike], crs=CRS)
    r = overlay_areas(a, [box(0, 0, 100, 50)])
    assert r.table.loc[0, "overlap_m2"] == pytest.approx(geod_area(box(0, 0, 100, 50)), abs=1.0)


# ---- properties ---------------------------------------------------------------

rect = st.tuples(st.floats(0, 900), st.floats(0, 900), st.floats(5, 300), st.floats(5, 300)).map(
    lambda t: box(t[0], t[1], t[0] + t[2], t[1] + t[3]))
layers = st.lists(rect, min_size=1, max_size=8)
PROP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def union_reference(a_geoms, b_geoms):
    u = shapely.union_all(np.array(b_geoms, dtype=object))
    return np.array([geod_area(shapely.intersection(g, u)) for g in a_geoms])


@PROP
@given(layers, layers)
def test_overlap_never_exceeds_feature_area_and_matches_union(a_list, b_list):
    a = gpd.GeoSeries(a_list, crs=CRS)
    r = overlay_areas(a, b_list, sliver_m2=0.0)
    area = ellipsoidal_area(a)
    assert (r.table["overlap_m2"].to_numpy() <= area * (1 + 1e-9) + 1e-6).all()
    np.testing.assert_allclose(r.table["overlap_m2"].to_numpy(), union_reference(a_list, b_list),
                               rtol=1e-6, atol=1e-3)


@PROP
@given(layers, layers, st.integers(2, 4))
def test_splitting_b_into_pieces_changes_nothing(a_list, b_list, k):
    a = gpd.GeoSeries(a_list, crs=CRS)
    pieces = []
    for g in b_list:
        x0, y0, x1, y1 = g.bounds
        xs = np.linspace(x0, x1, k + 1)
        pieces += [shapely.box(xs[i], y0, xs[i + 1], y1) for i in range(k)]
    r1 = overlay_areas(a, b_list, sliver_m2=0.0)
    r2 = overlay_areas(a, pieces, sliver_m2=0.0)
    np.testing.assert_allclose(r1.table["overlap_m2"], r2.table["overlap_m2"], rtol=1e-6, atol=1e-3)


@PROP
@given(layers, layers, st.randoms(use_true_random=False))
def test_feature_order_changes_nothing(a_list, b_list, rnd):
    a = gpd.GeoSeries(a_list, crs=CRS)
    kc = [0.05 * (i % 4) for i in range(len(b_list))]
    ids = [f"B{i:02d}" for i in range(len(b_list))]
    r1 = overlay_areas(a, b_list, b_ids=ids, b_kcxs=kc, sliver_m2=0.0)
    perm_b = list(range(len(b_list)))
    rnd.shuffle(perm_b)
    perm_a = list(range(len(a_list)))
    rnd.shuffle(perm_a)
    a2 = gpd.GeoSeries([a_list[i] for i in perm_a], index=perm_a, crs=CRS)
    r2 = overlay_areas(a2, [b_list[i] for i in perm_b], b_ids=[ids[i] for i in perm_b],
                       b_kcxs=[kc[i] for i in perm_b], sliver_m2=0.0)
    t2 = r2.table.sort_index()
    np.testing.assert_allclose(r1.table["overlap_m2"], t2["overlap_m2"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(r1.table["overlap_net_m2"], t2["overlap_net_m2"], rtol=1e-9, atol=1e-6)
    assert r1.table["b_ids"].tolist() == t2["b_ids"].tolist()


@PROP
@given(layers, layers)
def test_duplicates_in_b_not_double_counted(a_list, b_list):
    a = gpd.GeoSeries(a_list, crs=CRS)
    r1 = overlay_areas(a, b_list, sliver_m2=0.0)
    r2 = overlay_areas(a, b_list + b_list, sliver_m2=0.0)
    np.testing.assert_allclose(r1.table["overlap_m2"], r2.table["overlap_m2"], rtol=1e-6, atol=1e-3)


def test_partition_keeps_total_area_of_union():
    b = np.array([box(0, 0, 100, 100), box(50, 50, 150, 150), box(0, 0, 100, 100)], dtype=object)
    p, n = partition(b, np.array(["a", "b", "c"]))
    assert n >= 2
    assert shapely.area(p).sum() == pytest.approx(shapely.union_all(b).area)


@PROP
@given(layers, layers)
def test_precomputed_b_pairs_give_the_same_answer(a_list, b_list):
    from landkit.overlay.engine import overlapping_pairs
    a = gpd.GeoSeries(a_list, crs=CRS)
    kc = [0.1 * (i % 3) for i in range(len(b_list))]
    r1 = overlay_areas(a, b_list, b_kcxs=kc, sliver_m2=0.0)
    r2 = overlay_areas(a, b_list, b_kcxs=kc, sliver_m2=0.0,
                       b_pairs=overlapping_pairs(np.array(b_list, dtype=object)))
    np.testing.assert_allclose(r1.table["overlap_net_m2"], r2.table["overlap_net_m2"], rtol=1e-12, atol=1e-9)


def test_threads_and_chunking_give_identical_figures(monkeypatch):
    """A grid of 900 cells against 400 shifted squares: 1 thread and 4 threads, one chunk and
    many, give bit-identical sums (pairs are summed in one fixed order), with the area kernel
    and with GEOS pieces alike; the two agree."""
    import landkit.overlay.engine as ov
    import landkit.overlay.pairarea as pa
    a = gpd.GeoSeries([box(i * 10, j * 10, i * 10 + 10, j * 10 + 10) for i in range(30) for j in range(30)], crs=CRS)
    b = [box(i * 15 + 3, j * 15 + 3, i * 15 + 17, j * 15 + 17) for i in range(20) for j in range(20)]
    one = overlay_areas(a, b, threads=1, keep_pieces=True)
    many = overlay_areas(a, b, threads=4, keep_pieces=True)
    k_one = overlay_areas(a, b, threads=1)
    assert k_one.stats["kernel_pairs"] == k_one.stats["candidate_pairs"] > 0
    monkeypatch.setattr(ov, "CHUNK", 7)
    tiny = overlay_areas(a, b, threads=2, keep_pieces=True)
    monkeypatch.setattr(pa, "CHUNK_PAIRS", 13)
    k_tiny = overlay_areas(a, b, threads=4)
    for r, ref in ((many, one), (tiny, one), (k_tiny, k_one)):
        assert np.array_equal(r.table["overlap_m2"].to_numpy(), ref.table["overlap_m2"].to_numpy())
        assert r.table["b_ids"].tolist() == ref.table["b_ids"].tolist()
    np.testing.assert_allclose(k_one.table["overlap_m2"], one.table["overlap_m2"], rtol=1e-9, atol=1e-6)
    assert k_one.table["b_ids"].tolist() == one.table["b_ids"].tolist()
    assert list(zip(many.pieces["ia"], many.pieces["ib"])) == list(zip(one.pieces["ia"], one.pieces["ib"]))
    assert one.b_overlap_pairs == 0              # 14 m squares on a 15 m pitch do not overlap
    cover = shapely.box(X, Y, X + 300, Y + 300)   # the union of the 900 cells
    assert one.overlap_m2 == pytest.approx(sum(geod_area(shapely.intersection(cover, g)) for g in b), rel=1e-6)


def test_the_same_geometry_object_repeated_in_b_is_safe_in_threads():
    """One Python object used 200 times in B (pd.concat of one frame does this): the threads
    must never share a prepared GEOS geometry (libgeos#825 crashed here). With union=False the
    copies are counted as many times as they appear, by design."""
    big = box(0, 0, 1000, 1000)
    a = gpd.GeoSeries([box(i * 40, j * 40, i * 40 + 10, j * 40 + 10) for i in range(20) for j in range(20)], crs=CRS)
    b = np.array([big] * 200, dtype=object)
    r = overlay_areas(a, b, threads=4, union=False)
    cell = np.array([geod_area(g) for g in a])
    assert r.table["overlap_m2"].to_numpy() == pytest.approx(200 * cell, rel=1e-6)
    assert r.stats["covered_pairs"] == len(a) * 200
    assert not shapely.is_prepared(big)          # the caller's geometry is left as it was
    ru = overlay_areas(a, b, threads=4)          # union semantics: counted once
    assert ru.table["overlap_m2"].to_numpy() == pytest.approx(cell, rel=1e-6)


def test_landkit_threads_sets_the_default(monkeypatch):
    from landkit.overlay.engine import default_threads
    monkeypatch.setenv("LANDKIT_THREADS", "3")
    assert default_threads() == 3
    for bad in ("0", "", "x"):
        monkeypatch.setenv("LANDKIT_THREADS", bad)
        assert 1 <= default_threads() <= 4


def test_overlapping_pairs_threaded_equals_single(monkeypatch):
    """22,500 squares of 1.5 m on a 1 m pitch (~90k envelope pairs, split over threads): the
    same pairs with 1 and 2 threads; edge-only and corner-only contacts are not overlaps."""
    from landkit.overlay.engine import overlapping_pairs
    g = np.array([box(i, j, i + 1.5, j + 1.5) for i in range(150) for j in range(150)], dtype=object)
    monkeypatch.setenv("LANDKIT_THREADS", "1")
    one = overlapping_pairs(g)
    monkeypatch.setenv("LANDKIT_THREADS", "2")
    two = overlapping_pairs(g)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    # each square overlaps its 8 neighbours (1 m pitch, 1.5 m side): 4 per square, minus the border
    assert len(one[0]) == 149 * 150 * 2 + 149 * 149 * 2
    edge = np.array([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 1, 3, 2)], dtype=object)
    assert len(overlapping_pairs(edge)[0]) == 0


def test_shared_edges_are_neither_overlap_nor_sliver():
    """A jittered grid of parcels (extra vertices along their edges, as digitised) against
    every other parcel of the plain grid: the everyday case of 永久基本农田 drawn on 三调
    parcels, with shared edges and vertices lying on the other's edges. Each parcel is either
    wholly covered or not at all; the rounding noise of touching polygons (~1e-8 m²) is
    neither overlap nor sliver. Kernel and GEOS pieces agree."""
    rng = np.random.default_rng(8)
    n = 40
    gx = np.arange(n + 1)[:, None] * 37.3 + rng.uniform(-5, 5, (n + 1, n + 1))
    gy = np.arange(n + 1)[None, :] * 41.7 + rng.uniform(-5, 5, (n + 1, n + 1))
    cells = [shapely.Polygon([(X + gx[i, j], Y + gy[i, j]), (X + gx[i + 1, j], Y + gy[i + 1, j]),
                              (X + gx[i + 1, j + 1], Y + gy[i + 1, j + 1]), (X + gx[i, j + 1], Y + gy[i, j + 1])])
             for i in range(n) for j in range(n)]
    a = gpd.GeoSeries(shapely.segmentize(np.array(cells, dtype=object), 9.0), crs=CRS)
    b = cells[::2]
    area = ellipsoidal_area(a)
    for keep in (False, True):
        r = overlay_areas(a, b, keep_pieces=keep)
        assert r.sliver_count == 0
        expected = np.where(np.arange(len(cells)) % 2 == 0, area, 0.0)
        np.testing.assert_allclose(r.table["overlap_m2"].to_numpy(), expected, rtol=1e-9, atol=0)
        assert r.table["b_ids"].map(len).tolist() == [1 - i % 2 for i in range(len(cells))]


def test_a_huge_polygon_is_left_to_geos_with_its_covers_shortcut():
    """A 生态保护红线-like polygon of 4,000 vertices over 400 parcels: the area kernel leaves
    those pairs (it would expand 4,000 edges per parcel), GEOS takes them with the prepared
    covers shortcut, and the figures equal GEOS intersection areas."""
    red = shapely.Point(X + 200, Y + 200).buffer(150, quad_segs=1000)
    assert len(red.exterior.coords) > 4000
    cells = [box(i * 20, j * 20, i * 20 + 20, j * 20 + 20) for i in range(20) for j in range(20)]
    a = gpd.GeoSeries(cells, crs=CRS)
    r = overlay_areas(a, [red, box(1000, 1000, 1100, 1100)], sliver_m2=0)
    assert r.stats["kernel_pairs"] < r.stats["candidate_pairs"]
    inside = [red.covers(c) for c in cells]
    assert r.stats["covered_pairs"] == sum(inside) > 100
    exp = ellipsoidal_area(np.array([shapely.intersection(c, red) for c in cells], dtype=object), crs=CRS)
    np.testing.assert_allclose(r.table["overlap_m2"], exp, rtol=1e-9, atol=1e-6)
    assert (r.table["share"][np.array(inside)] == 1.0).all()


def test_pair_areas_of_explicit_pairs_equal_geos():
    """engine.pair_areas: explicit (i, j) pairs, the kernel, GEOS where it leaves a pair; equal to the
    ellipsoidal area of the GEOS intersection, identical polygons and touching ones included."""
    from landkit.overlay.engine import pair_areas, pair_pieces
    rng = np.random.default_rng(17)
    a = [box(x, y, x + w, y + h) for x, y, w, h in rng.uniform([0, 0, 5, 5], [300, 300, 80, 80], (40, 4))]
    b = [box(x, y, x + w, y + h) for x, y, w, h in rng.uniform([0, 0, 5, 5], [300, 300, 80, 80], (30, 4))]
    b += [a[0], shapely.Polygon(list(a[1].exterior.coords)[::-1]), box(1000, 0, 1010, 10)]
    ia, ib = np.meshgrid(np.arange(len(a)), np.arange(len(b)), indexing="ij")
    ia, ib = ia.ravel(), ib.ravel()
    got, fb = pair_areas(np.array(a, dtype=object), np.array(b, dtype=object), ia, ib, crs=CRS)
    pieces = pair_pieces(np.array(a, dtype=object), np.array(b, dtype=object), ia, ib)
    want = ellipsoidal_area(pieces, crs=CRS)
    assert np.allclose(got, want, rtol=1e-9, atol=1e-6) and fb == 0
    assert got[(ia == 0) & (ib == len(b) - 3)][0] == pytest.approx(geod_area(a[0]), rel=1e-7)
    assert (got > 0).sum() > 50

"""Tests for landkit.standards.area (32号 ellipsoidal area)."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from landkit.errors import LandkitError
from landkit.standards.area import (
    ellipsoidal_area,
    geodesic_area,
    gk_forward,
    gk_inverse,
    planar_area,
    trapezoid_area_32,
)

CGCS2000_A = 6378137.0
CGCS2000_RF = 298.257222101

XIAN80_ESRI_WKT = (
    'PROJCS["Xian_1980_3_Degree_GK_Zone_38",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",'
    'SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
    'PARAMETER["False_Easting",38500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
BEIJING54_GK = "+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=38500000 +y_0=0 +ellps=krass +units=m +no_defs"

# 鄂州 (~114.9°E, 30.4°N) in EPSG:4526 (CGCS2000 3° GK zone 38, CM 114°E, FE 38 500 000)
EZHOU_X, EZHOU_Y = (float(v) for v in pyproj.Transformer.from_crs(4490, 4526, always_xy=True).transform(114.9, 30.4))
# 1.4° east of the central meridian (~134.5 km): near the zone edge
EDGE_X, EDGE_Y = (float(v) for v in pyproj.Transformer.from_crs(4490, 4526, always_xy=True).transform(115.4, 30.4))


# --------------------------------------------------------------------------------------
# helpers (independent of the module under test)
# --------------------------------------------------------------------------------------


def star(cx, cy, r, n, rng, rmin=0.5):
    """A simple star-shaped polygon (angles sorted) of radius ≤ r around (cx, cy)."""
    ang = np.sort(rng.uniform(0.0, 2 * np.pi, n))
    rr = rng.uniform(rmin, 1.0, n) * r
    return Polygon(np.column_stack([cx + rr * np.cos(ang), cy + rr * np.sin(ang)]))


def star_with_hole(cx, cy, r, n, rng):
    outer = star(cx, cy, r, n, rng, rmin=0.5)
    hole = star(cx, cy, 0.35 * r, max(n // 2, 4), rng, rmin=0.5)  # hole radius ≤ 0.35 r < 0.5 r
    return Polygon(outer.exterior.coords, [hole.exterior.coords])


def patches(cx, cy, rng, count=40, sizes=(100.0, 2000.0)):
    """Ordinary parcels: stars, rectangles, stars with holes, two-part multipolygons."""
    out = []
    for i in range(count):
        r = float(np.exp(rng.uniform(np.log(sizes[0]), np.log(sizes[1])))) / 2
        x = cx + rng.uniform(-3000, 3000)
        y = cy + rng.uniform(-3000, 3000)
        kind = i % 4
        if kind == 0:
            out.append(star(x, y, r, int(rng.integers(5, 16)), rng))
        elif kind == 1:
            out.append(shapely.affinity.rotate(box(x - r, y - r / 2, x + r, y + r / 2), rng.uniform(0, 180)))
        elif kind == 2:
            out.append(star_with_hole(x, y, r, int(rng.integers(8, 16)), rng))
        else:
            out.append(MultiPolygon([star(x, y, r / 2, 8, rng), star(x + 3 * r, y, r / 2, 8, rng)]))
    return out


def geod_area(polys, crs, geod):
    """|Geod.geometry_area_perimeter| after a pyproj transformation to lon/lat.

    Rings are oriented first: Geod sums signed ring areas, so it needs holes drawn
    opposite to their exterior."""
    crs = pyproj.CRS.from_user_input(crs)
    tr = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    out = []
    for p in polys:
        p = shapely.orient_polygons(p, exterior_cw=False)
        ll = shapely.transform(p, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        out.append(abs(geod.geometry_area_perimeter(ll)[0]))
    return np.array(out)


GRS80 = pyproj.Geod(ellps="GRS80")


def rel(a, b):
    return np.abs(np.asarray(a) / np.asarray(b) - 1.0)


# --------------------------------------------------------------------------------------
# inverse / forward Gauss-Krüger
# --------------------------------------------------------------------------------------

TM_CRSS = [
    4526,
    4547,
    4491,  # CGCS2000 6° zone 13
    XIAN80_ESRI_WKT,
    BEIJING54_GK,
    32650,  # UTM 50N, k0 = 0.9996
    "+proj=tmerc +lat_0=30 +lon_0=114 +k=0.9999 +x_0=100 +y_0=-200 +ellps=GRS80 +units=us-ft +no_defs",
]


@pytest.mark.parametrize("crs", TM_CRSS, ids=lambda c: str(c)[:24])
def test_gk_inverse_matches_pyproj(crs):
    crs = pyproj.CRS.from_user_input(crs)
    lon0 = next(p.value for p in crs.coordinate_operation.params if str(p.code) == "8802")
    rng = np.random.default_rng(0)
    lon = lon0 + rng.uniform(-3.5, 3.5, 20000)
    lat = rng.uniform(0.0, 55.0, 20000)
    x, y = pyproj.Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True).transform(lon, lat)
    lon2, lat2 = gk_inverse(x, y, crs)
    assert np.abs(lon2 - lon).max() < 1e-9
    assert np.abs(lat2 - lat).max() < 1e-9
    # and the reverse direction, in CRS units (< 1 µm)
    x2, y2 = gk_forward(lon, lat, crs)
    assert np.abs(x2 - x).max() < 1e-6 and np.abs(y2 - y).max() < 1e-6


def test_gk_inverse_rejects_non_tm():
    with pytest.raises(ValueError):
        gk_inverse([0.0], [0.0], 3857)


# --------------------------------------------------------------------------------------
# agreement with the geodesic peer
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "crs,cx,cy",
    [
        (4526, EZHOU_X, EZHOU_Y),  # ~86 km east of the CM
        (4526, EDGE_X, EDGE_Y),  # ~134 km east of the CM (zone edge)
        (4547, EZHOU_X - 38_000_000, EZHOU_Y),  # same place, truncated false easting
    ],
    ids=["4526-ezhou", "4526-zone-edge", "4547-ezhou"],
)
def test_agrees_with_geod_on_ordinary_patches(crs, cx, cy):
    polys = patches(cx, cy, np.random.default_rng(1))
    ours = ellipsoidal_area(polys, crs)
    peer = geod_area(polys, crs, GRS80)
    # GK-straight edges vs geodesic edges differ by ≲ 5e-7 for parcels up to 2 km here
    assert rel(ours, peer).max() < 1e-6
    # the peer helper is the same thing
    np.testing.assert_allclose(geodesic_area(polys, crs), peer, rtol=1e-12)


@pytest.mark.parametrize("size", [2000.0, 10000.0, 40000.0])
def test_agrees_with_geod_when_edges_are_densified(size):
    # with the edges split into short pieces, geodesic and Gauss-straight edges coincide,
    # so the two areas must agree much more closely than the 1e-6 above
    rng = np.random.default_rng(2)
    polys = [star(EDGE_X - size, EDGE_Y + rng.uniform(-1e4, 1e4), size / 2, 9, rng) for _ in range(8)]
    dense = list(shapely.segmentize(np.array(polys), size / 200))
    ours = ellipsoidal_area(polys, 4526)
    peer = geod_area(dense, 4526, GRS80)
    assert rel(ours, peer).max() < 1e-8


def test_zone_edge_planar_area_is_about_5e_4_larger():
    polys = patches(EDGE_X, EDGE_Y, np.random.default_rng(3), count=12)
    ours = ellipsoidal_area(polys, 4526)
    ratio = planar_area(polys) / ours - 1
    # point scale of GK with k0 = 1 at y ≈ 134.5 km: m² − 1 ≈ y²/R² ≈ 4.5e-4
    assert np.all((ratio > 4.0e-4) & (ratio < 5.2e-4))
    assert rel(ours, geod_area(polys, 4526, GRS80)).max() < 1e-6


def test_same_parcels_in_4526_and_4547_have_same_area():
    polys = patches(EZHOU_X, EZHOU_Y, np.random.default_rng(4), count=20)
    shifted = [shapely.affinity.translate(p, xoff=-38_000_000) for p in polys]
    # translating by −38e6 m re-rounds the coordinates (ulp at 3.85e7 m is 7.5e-9 m)
    np.testing.assert_allclose(ellipsoidal_area(shifted, 4547), ellipsoidal_area(polys, 4526), rtol=1e-9)


# --------------------------------------------------------------------------------------
# property: never larger than the Gauss-plane area when k0 = 1
# --------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    dx=st.floats(-180_000, 180_000),
    lat=st.floats(18.0, 53.0),
    size=st.floats(5.0, 8000.0),
    n=st.integers(3, 24),
    seed=st.integers(0, 2**32 - 1),
    holes=st.booleans(),
)
def test_never_exceeds_planar_gk_area(dx, lat, size, n, seed, holes):
    rng = np.random.default_rng(seed)
    _, y = pyproj.Transformer.from_crs(4490, 4526, always_xy=True).transform(114.0, lat)
    cx = 38_500_000 + dx
    p = star_with_hole(cx, y, size, max(n, 6), rng) if holes else star(cx, y, size, n, rng, rmin=0.1)
    # the generator can draw a hole that crosses the outline; such input is repaired when read,
    # never measured as is
    assume(p.is_valid)
    e = ellipsoidal_area([p], 4526)[0]
    a = planar_area([p])[0]
    assert e > 0
    # area element on the ellipsoid = dx·dy / m², m ≥ 1 for k0 = 1 (equality on the CM).
    # Slack: floating-point position noise of ~1e-9 m per vertex along the boundary,
    # which matters only for parcels of a few metres lying on the central meridian.
    assert e <= a * (1 + 1e-12) + 2e-9 * p.length


# --------------------------------------------------------------------------------------
# known value
# --------------------------------------------------------------------------------------


def authalic_cell_area(lon1, lon2, lat1, lat2, a=CGCS2000_A, rf=CGCS2000_RF):
    """Closed form: (a²/2)·(q(φ2) − q(φ1))·Δλ, q the authalic function."""
    f = 1 / rf
    e2 = f * (2 - f)
    e = math.sqrt(e2)

    def q(phi):
        s = math.sin(phi)
        return (1 - e2) * (s / (1 - e2 * s * s) + math.atanh(e * s) / e)

    return a * a / 2 * (q(math.radians(lat2)) - q(math.radians(lat1))) * math.radians(lon2 - lon1)


def test_one_arc_minute_cell_matches_closed_form():
    lon1, lon2, lat1, lat2 = 114.0, 114.0 + 1 / 60, 30.0, 30.0 + 1 / 60
    cell = box(lon1, lat1, lon2, lat2)
    expected = authalic_cell_area(lon1, lon2, lat1, lat2)
    assert expected == pytest.approx(2_970_794.33, abs=0.01)
    for refine in (True, False):  # edges along meridians/parallels: both are exact
        got = ellipsoidal_area([cell], 4490, refine=refine)[0]
        assert abs(got / expected - 1) < 1e-9
    # and the 32号 trapezoid formula taken literally
    assert abs(trapezoid_area_32(lon1, lon2, lat1, lat2) / expected - 1) < 1e-9


def test_g_identity_matches_literal_32_formula():
    # the per-vertex G(B) form used internally equals formula (2) term for term
    rng = np.random.default_rng(5)
    lat1 = rng.uniform(-60, 60, 200)
    lat2 = lat1 + rng.uniform(-0.5, 0.5, 200)
    lon1 = rng.uniform(100, 120, 200)
    lon2 = lon1 + rng.uniform(0.001, 0.5, 200)
    cells = [box(a, min(b, d), c, max(b, d)) for a, b, c, d in zip(lon1, lat1, lon2, lat2)]
    got = ellipsoidal_area(cells, 4490)
    literal = np.abs(trapezoid_area_32(lon1, lon2, lat1, lat2))
    assert rel(got, literal).max() < 1e-10


# --------------------------------------------------------------------------------------
# geometry handling
# --------------------------------------------------------------------------------------


def test_hole_is_subtracted():
    outer = box(EZHOU_X, EZHOU_Y, EZHOU_X + 400, EZHOU_Y + 300)
    inner = box(EZHOU_X + 100, EZHOU_Y + 100, EZHOU_X + 200, EZHOU_Y + 150)
    holed = Polygon(outer.exterior.coords, [inner.exterior.coords])
    a_outer, a_inner, a_holed = ellipsoidal_area([outer, inner, holed], 4526)
    assert a_holed == pytest.approx(a_outer - a_inner, rel=1e-12)
    assert a_holed == pytest.approx(planar_area([holed])[0] * a_outer / planar_area([outer])[0], rel=1e-6)


def test_multipolygon_is_the_sum_of_its_parts():
    rng = np.random.default_rng(6)
    a = star_with_hole(EZHOU_X, EZHOU_Y, 300, 10, rng)
    b = star(EZHOU_X + 5000, EZHOU_Y - 2000, 800, 12, rng)
    got = ellipsoidal_area([MultiPolygon([a, b]), a, b], 4526)
    assert got[0] == pytest.approx(got[1] + got[2], rel=1e-12)


def test_missing_empty_and_non_polygonal_give_zero():
    p = box(EZHOU_X, EZHOU_Y, EZHOU_X + 100, EZHOU_Y + 100)
    geoms = [None, p, Polygon(), MultiPolygon(), Point(EZHOU_X, EZHOU_Y), LineString([(EZHOU_X, EZHOU_Y), (EZHOU_X + 1, EZHOU_Y)]), p]
    got = ellipsoidal_area(geoms, 4526)
    assert got.dtype == np.float64 and got.shape == (7,)
    assert got[[0, 2, 3, 4, 5]].tolist() == [0.0] * 5
    assert got[1] == got[6] == pytest.approx(10_000 * (1 - 1.9e-4), rel=2e-5)
    assert ellipsoidal_area([], 4526).shape == (0,)
    assert ellipsoidal_area([None], 4526).tolist() == [0.0]


def test_ring_orientation_does_not_matter():
    rng = np.random.default_rng(7)
    polys = [star_with_hole(EZHOU_X + 3000 * i, EZHOU_Y, 700, 12, rng) for i in range(5)]
    ccw = [shapely.orient_polygons(p, exterior_cw=False) for p in polys]
    cw = [shapely.orient_polygons(p, exterior_cw=True) for p in polys]
    mixed = [Polygon(p.exterior.coords[::-1], [p.interiors[0].coords]) for p in ccw]
    a = ellipsoidal_area(ccw, 4526)
    np.testing.assert_allclose(ellipsoidal_area(cw, 4526), a, rtol=1e-12)
    np.testing.assert_allclose(ellipsoidal_area(mixed, 4526), a, rtol=1e-12)


def test_vectorised_equals_one_by_one():
    # no segment may leak between consecutive rings / polygons
    polys = patches(EZHOU_X, EZHOU_Y, np.random.default_rng(8), count=60) + [None, Polygon()]
    together = ellipsoidal_area(polys, 4526)
    alone = np.array([ellipsoidal_area([p], 4526)[0] for p in polys])
    np.testing.assert_allclose(together, alone, rtol=1e-12, atol=0)


def test_geoseries_and_array_plus_crs_agree():
    polys = patches(EZHOU_X, EZHOU_Y, np.random.default_rng(9), count=12)
    gs = gpd.GeoSeries(polys, crs=4526)
    a = ellipsoidal_area(gs)
    np.testing.assert_array_equal(ellipsoidal_area(np.array(polys, dtype=object), crs="EPSG:4526"), a)
    np.testing.assert_array_equal(ellipsoidal_area(polys, pyproj.CRS(4526)), a)
    np.testing.assert_array_equal(ellipsoidal_area(gpd.GeoDataFrame(geometry=gs)), a)
    assert ellipsoidal_area(polys[0], 4526)[0] == a[0]


def test_missing_crs_raises_in_chinese():
    polys = [box(0, 0, 1, 1)]
    with pytest.raises(ValueError, match="缺少坐标参考系"):
        ellipsoidal_area(polys)
    with pytest.raises(ValueError, match="缺少坐标参考系") as err:
        ellipsoidal_area(gpd.GeoSeries(polys))
    assert isinstance(err.value, LandkitError)  # the CLI shows it without a traceback


# --------------------------------------------------------------------------------------
# other CRSs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("geo", [4490, 4326])
def test_geographic_input(geo):
    # parcels defined in GK, densified so that the edge shape no longer matters,
    # reprojected to lon/lat: same area as from the GK coordinates
    polys = patches(EZHOU_X, EZHOU_Y, np.random.default_rng(10), count=16)
    dense = gpd.GeoSeries(shapely.segmentize(np.array(polys), 5.0), crs=4526)
    ref = ellipsoidal_area(dense)
    got = ellipsoidal_area(dense.to_crs(geo))
    # WGS84 vs CGCS2000 ellipsoid: 1/f differ by 1.5e-9 → negligible here
    assert rel(got, ref).max() < 1e-8


def test_xian80_esri_wkt_uses_iag75_ellipsoid():
    crs = pyproj.CRS.from_wkt(XIAN80_ESRI_WKT)
    assert crs.ellipsoid.semi_major_metre == 6378140.0
    xian80 = pyproj.Geod(a=6378140.0, rf=298.257)
    polys = patches(EZHOU_X, EZHOU_Y, np.random.default_rng(11), count=24)
    ours = ellipsoidal_area(polys, XIAN80_ESRI_WKT)
    assert rel(ours, geod_area(polys, crs, xian80)).max() < 1e-6
    # bigger parcels with edges densified to 50 m (geodesic ≈ straight): much closer
    big = patches(EZHOU_X, EZHOU_Y, np.random.default_rng(15), count=12, sizes=(1000.0, 6000.0))
    dense = list(shapely.segmentize(np.array(big), 50.0))
    assert rel(ellipsoidal_area(big, XIAN80_ESRI_WKT), geod_area(dense, crs, xian80)).max() < 1e-8
    # The same GK coordinates read as CGCS2000 give almost the same area: GK coordinates
    # are already metric, only the scale distortion m² − 1 ≈ y²/R² depends on the
    # ellipsoid, through R ∝ a: Δ ≈ +2·(Δa/a)·(planar/ellipsoidal − 1) ≈ +1.7e-10 here.
    # Checking that magnitude shows the IAG-75 ellipsoid really is the one used.
    cgcs = ellipsoidal_area(big, 4526)
    diff = ellipsoidal_area(big, XIAN80_ESRI_WKT) / cgcs - 1
    expected = 2 * (6378140.0 - 6378137.0) / 6378137.0 * (planar_area(big) / cgcs - 1)
    np.testing.assert_allclose(diff, expected, rtol=0.15)


def test_beijing54_and_utm():
    polys = patches(EZHOU_X, EZHOU_Y, np.random.default_rng(12), count=12, sizes=(1000.0, 6000.0))
    dense = list(shapely.segmentize(np.array(polys), 50.0))
    assert rel(ellipsoidal_area(polys, BEIJING54_GK), geod_area(dense, BEIJING54_GK, pyproj.Geod(ellps="krass"))).max() < 1e-8
    utm = [shapely.transform(p, lambda xy: np.column_stack(
        pyproj.Transformer.from_crs(4526, 32650, always_xy=True).transform(xy[:, 0], xy[:, 1]))) for p in dense]
    assert rel(ellipsoidal_area(utm, 32650), geod_area(utm, 32650, pyproj.Geod(ellps="WGS84"))).max() < 1e-8


def test_non_tm_projection_falls_back_to_pyproj():
    albers = "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"
    gs = gpd.GeoSeries(shapely.segmentize(np.array(patches(EZHOU_X, EZHOU_Y, np.random.default_rng(13), count=12)), 5.0), crs=4526)
    ref = ellipsoidal_area(gs)
    got = ellipsoidal_area(gs.to_crs(albers))
    assert rel(got, ref).max() < 1e-8


def test_us_feet_tm_crs():
    feet = "+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=38500000 +y_0=0 +ellps=GRS80 +units=us-ft +no_defs"
    polys = patches(EZHOU_X, EZHOU_Y, np.random.default_rng(14), count=8)
    f = 1200 / 3937  # metres per US survey foot
    in_feet = [shapely.affinity.scale(p, 1 / f, 1 / f, origin=(0, 0)) for p in polys]
    np.testing.assert_allclose(ellipsoidal_area(in_feet, feet), ellipsoidal_area(polys, 4526), rtol=1e-10)


# --------------------------------------------------------------------------------------
# edges: why refine exists
# --------------------------------------------------------------------------------------


def test_vertex_only_sum_is_off_for_km_edges_and_converges_when_densified():
    tri = Polygon([(EZHOU_X, EZHOU_Y), (EZHOU_X + 1000, EZHOU_Y), (EZHOU_X, EZHOU_Y + 1000)])
    exact = ellipsoidal_area([tri], 4526)[0]
    vertex_only = ellipsoidal_area([tri], 4526, refine=False)[0]
    # the plain per-vertex 32号 sum of a 1 km triangle at 30°N is off by ~5e-5
    assert 1e-5 < abs(vertex_only / exact - 1) < 1e-4
    # … because it follows straight (L, B) chords; split the edges and it converges
    dense = shapely.segmentize(tri, 5.0)
    assert abs(ellipsoidal_area([dense], 4526, refine=False)[0] / exact - 1) < 1e-9
    assert abs(ellipsoidal_area([dense], 4526)[0] / exact - 1) < 1e-10
    assert abs(exact / geod_area([tri], 4526, GRS80)[0] - 1) < 1e-6


def test_long_edges_are_split():
    # a 60 km × 40 km block: edges far longer than 5 km
    blk = shapely.affinity.rotate(box(EZHOU_X - 30000, EZHOU_Y - 20000, EZHOU_X + 30000, EZHOU_Y + 20000), 17)
    got = ellipsoidal_area([blk], 4526)[0]
    dense = shapely.segmentize(blk, 100.0)
    assert abs(got / ellipsoidal_area([dense], 4526)[0] - 1) < 1e-10
    assert abs(got / geod_area([shapely.segmentize(blk, 500.0)], 4526, GRS80)[0] - 1) < 1e-8

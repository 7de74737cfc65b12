"""Tests for landkit.standards.gcj02 (WGS84 ↔ GCJ-02).

The oracle below is a plain scalar, per-point implementation written from the published
formula (math module only, different arrangement of the terms from the vectorised code).
Fixed points: the three WGS84/GCJ-02 pairs published in the test suite of
googollee/eviltransform (MIT), go/transform_test.go (Shanghai, Shenzhen, Beijing).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from landkit.standards.gcj02 import (
    CHINA_BBOX,
    gcj02_to_wgs84,
    geometries_gcj02_to_wgs84,
    geometries_wgs84_to_gcj02,
    in_china,
    transform_geometries,
    wgs84_to_gcj02,
)

# ---------------------------------------------------------------- scalar oracle
_A = 6378245.0
_EE = 0.00669342162296594323


def _oracle_wgs_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    if not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271):
        return lon, lat
    x, y = lon - 105.0, lat - 35.0
    # sum of sines, written with the 20/3 factor pulled out (as in PRCoords)
    s_lat = (2 * math.sin(x * 6 * math.pi) + 2 * math.sin(x * 2 * math.pi)
             + 2 * math.sin(y * math.pi) + 4 * math.sin(y / 3 * math.pi)
             + 16 * math.sin(y / 12 * math.pi) + 32 * math.sin(y / 30 * math.pi))
    s_lon = (2 * math.sin(x * 6 * math.pi) + 2 * math.sin(x * 2 * math.pi)
             + 2 * math.sin(x * math.pi) + 4 * math.sin(x / 3 * math.pi)
             + 15 * math.sin(x / 12 * math.pi) + 30 * math.sin(x / 30 * math.pi))
    dlat_m = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * abs(x) ** 0.5 + s_lat * 20 / 3
    dlon_m = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * abs(x) ** 0.5 + s_lon * 20 / 3
    rad = math.radians(lat)
    magic = 1 - _EE * math.sin(rad) ** 2
    lat_arc = (math.pi / 180) * _A * (1 - _EE) / magic ** 1.5
    lon_arc = (math.pi / 180) * _A * math.cos(rad) / math.sqrt(magic)
    return lon + dlon_m / lon_arc, lat + dlat_m / lat_arc


def _metres(lon1, lat1, lon2, lat2):
    """Local flat-earth distance in metres (fine for sub-km separations)."""
    lat1 = np.asarray(lat1, dtype=float)
    dy = (np.asarray(lat2) - lat1) * 111_320.0
    dx = (np.asarray(lon2) - np.asarray(lon1)) * 111_320.0 * np.cos(np.radians(lat1))
    return np.hypot(dx, dy)


# Published WGS84 → GCJ-02 pairs (lat, lon order as published).
PUBLISHED = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),     # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),     # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),     # Beijing
]


def _random_china(n, seed=12345):
    rng = np.random.default_rng(seed)
    lon = rng.uniform(73.0, 135.0, n)
    lat = rng.uniform(18.0, 53.5, n)
    return lon, lat


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize("wlat,wlon,glat,glon", PUBLISHED)
def test_published_fixed_points_forward(wlat, wlon, glat, glon):
    lon, lat = wgs84_to_gcj02(np.array([wlon]), np.array([wlat]))
    assert _metres(lon[0], lat[0], glon, glat) < 0.01


@pytest.mark.parametrize("wlat,wlon,glat,glon", PUBLISHED)
def test_published_fixed_points_inverse(wlat, wlon, glat, glon):
    lon, lat = gcj02_to_wgs84(np.array([glon]), np.array([glat]))
    assert _metres(lon[0], lat[0], wlon, wlat) < 0.01


def test_matches_scalar_oracle_on_random_points():
    lon, lat = _random_china(10_000, seed=1)
    glon, glat = wgs84_to_gcj02(lon, lat)
    ref = np.array([_oracle_wgs_to_gcj(a, b) for a, b in zip(lon, lat)])
    assert np.max(np.abs(glon - ref[:, 0])) < 1e-11
    assert np.max(np.abs(glat - ref[:, 1])) < 1e-11


def test_round_trip_below_1mm():
    lon, lat = _random_china(10_000, seed=2)
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    err = _metres(lon, lat, back_lon, back_lat)
    assert err.max() < 1e-3
    # and the other way round: GCJ-02 → WGS84 → GCJ-02
    g_lon, g_lat = _random_china(10_000, seed=3)
    again = wgs84_to_gcj02(*gcj02_to_wgs84(g_lon, g_lat))
    assert _metres(g_lon, g_lat, *again).max() < 1e-3


def test_inverse_better_than_crude_one_step():
    # the crude inverse g - (f(g) - g) is typically ~0.7 m (up to ~5 m) off; ours is sub-mm
    lon, lat = _random_china(2_000, seed=4)
    glon, glat = wgs84_to_gcj02(lon, lat)
    flon, flat = wgs84_to_gcj02(glon, glat)
    crude = _metres(lon, lat, 2 * glon - flon, 2 * glat - flat)
    exact = _metres(lon, lat, *gcj02_to_wgs84(glon, glat))
    assert np.median(crude) > 0.2 and crude.max() > 1.0
    assert exact.max() < 1e-3


def test_shift_at_ezhou():
    # 鄂州 (114.9E, 30.4N): GCJ-02 is ~484 m east and ~298 m south of WGS84 (~570 m total)
    lon, lat = np.array([114.9]), np.array([30.4])
    glon, glat = wgs84_to_gcj02(lon, lat)
    east = (glon[0] - lon[0]) * 111_320.0 * math.cos(math.radians(30.4))
    north = (glat[0] - lat[0]) * 110_850.0
    assert 470 < east < 495
    assert -310 < north < -285
    assert 550 < math.hypot(east, north) < 590


def test_outside_china_unchanged():
    lon = np.array([0.0, -74.0, 139.7, 151.2, 100.0, 72.0, 137.9, 110.0])
    lat = np.array([51.5, 40.7, 35.7, -33.9, 56.0, 30.0, 40.0, 0.5])
    assert not in_china(lon, lat).any()
    glon, glat = wgs84_to_gcj02(lon, lat)
    np.testing.assert_array_equal(glon, lon)
    np.testing.assert_array_equal(glat, lat)
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(wlon, lon)
    np.testing.assert_array_equal(wlat, lat)


def test_bbox_edges_inclusive():
    x0, y0, x1, y1 = CHINA_BBOX
    assert in_china(np.array([x0, x1]), np.array([y0, y1])).all()


def test_shapes_and_scalars():
    lon, lat = wgs84_to_gcj02(114.9, 30.4)
    assert np.ndim(lon) == 0 and np.ndim(lat) == 0
    grid_lon, grid_lat = np.meshgrid(np.linspace(110, 115, 4), np.linspace(25, 35, 3))
    out_lon, out_lat = wgs84_to_gcj02(grid_lon, grid_lat)
    assert out_lon.shape == (3, 4) and out_lat.shape == (3, 4)
    out_lon, out_lat = gcj02_to_wgs84(np.array([]), np.array([]))
    assert out_lon.shape == (0,)


def test_transform_geometries_round_trip():
    poly = shapely.Polygon([(114.8, 30.3), (114.95, 30.3), (114.95, 30.45), (114.8, 30.45)],
                           holes=[[(114.85, 30.35), (114.9, 30.35), (114.9, 30.4)]])
    geoms = np.array([poly, shapely.Point(114.9, 30.4), shapely.Point(0, 51.5), None], dtype=object)
    g = transform_geometries(geoms, wgs84_to_gcj02)
    assert g[3] is None
    assert g[2].equals(geoms[2])
    assert len(g[0].interiors) == 1
    # the point moved by the expected vector
    x, y = wgs84_to_gcj02(np.array([114.9]), np.array([30.4]))
    assert g[1].x == pytest.approx(x[0]) and g[1].y == pytest.approx(y[0])
    back = geometries_gcj02_to_wgs84(geometries_wgs84_to_gcj02(geoms[:3]))
    for a, b in zip(back, geoms[:3]):
        ca, cb = shapely.get_coordinates(a), shapely.get_coordinates(b)
        assert _metres(ca[:, 0], ca[:, 1], cb[:, 0], cb[:, 1]).max() < 1e-3

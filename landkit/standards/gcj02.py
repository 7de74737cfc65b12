"""WGS84 ↔ GCJ-02 ("火星坐标", the AMap/Gaode/Tencent frame), vectorised with numpy.

GCJ-02 is WGS84 plus a deliberate, smooth, non-linear shift of a few hundred metres
(about 570 m at 鄂州: ~484 m east, ~298 m south). The forward formula is public: a
polynomial plus sine perturbation in (lon − 105°, lat − 35°), giving metres that are
turned into degrees with the Krasovsky ellipsoid (a = 6 378 245 m,
e² = 0.00669342162296594323). Points outside China's bounding box
(72.004–137.8347 °E, 0.8293–55.8271 °N) are returned unchanged, as the reference
implementations do.

CGCS2000 (EPSG:4490) and WGS84 differ by well under a metre for this purpose (PROJ
itself treats EPSG:4490 → EPSG:4326 as a no-op "ballpark" transform), so
``gcj02_to_wgs84`` is also the GCJ-02 → CGCS2000 conversion for county data, and
``wgs84_to_gcj02`` shifts CGCS2000 data for display on Gaode basemaps.

The inverse has no closed form. ``gcj02_to_wgs84`` solves ``f(w) = g`` by fixed-point
iteration ``w ← w − (f(w) − g)`` starting at ``w = g``; the shift changes by at most
~250 m per degree, so each step shrinks the error by a factor of ≲ 0.003 and 4–5 steps
reach micrometres (the crude one-step inverse ``g − (f(g) − g)`` is off by 1–2 m).

Never compute areas or overlays in GCJ-02: convert to CGCS2000 first.
"""
from __future__ import annotations

import numpy as np
import shapely

__all__ = [
    "KRASOVSKY_A",
    "KRASOVSKY_EE",
    "CHINA_BBOX",
    "in_china",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "transform_geometries",
    "geometries_wgs84_to_gcj02",
    "geometries_gcj02_to_wgs84",
]

KRASOVSKY_A = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323
#: (min lon, min lat, max lon, max lat) of the box inside which the shift is applied.
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)

# Stop iterating once the correction is below this many degrees (1e-11° ≈ 1 µm).
_INV_TOL_DEG = 1e-11
_INV_MAX_ITER = 20


def in_china(lon, lat) -> np.ndarray:
    """Boolean array: True where (lon, lat) lies inside the GCJ-02 bounding box."""
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    x0, y0, x1, y1 = CHINA_BBOX
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def _shift_deg(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 shift (dlon, dlat) in degrees at WGS84 (lon, lat); zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    pi = np.pi
    common = 20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)
    # Metres-like perturbations along the meridian (north) and the parallel (east).
    north = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx
             + (common
                + 20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)
                + 160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * (2.0 / 3.0))
    east = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx
            + (common
               + 20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)
               + 150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * (2.0 / 3.0))
    phi = np.radians(lat)
    w = 1.0 - KRASOVSKY_EE * np.sin(phi) ** 2
    # metres per degree of latitude (meridian radius) and of longitude (parallel radius)
    m_per_deg_lat = np.pi / 180.0 * KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (w * np.sqrt(w))
    m_per_deg_lon = np.pi / 180.0 * KRASOVSKY_A * np.cos(phi) / np.sqrt(w)
    inside = in_china(lon, lat)
    dlon = np.where(inside, east / m_per_deg_lon, 0.0)
    dlat = np.where(inside, north / m_per_deg_lat, 0.0)
    return dlon, dlat


def _as_arrays(lon, lat):
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    lon, lat = np.broadcast_arrays(lon, lat)
    return lon, lat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 (or CGCS2000) degrees → GCJ-02 degrees. Arrays in, arrays out (same shape)."""
    lon, lat = _as_arrays(lon, lat)
    dlon, dlat = _shift_deg(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 degrees → WGS84 (≈ CGCS2000) degrees, exact inverse to well below 1 mm.

    Fixed-point iteration on the forward transform; points whose GCJ-02 position is
    outside China's box come back unchanged.
    """
    glon, glat = _as_arrays(lon, lat)
    wlon = glon.copy()
    wlat = glat.copy()
    for _ in range(_INV_MAX_ITER):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon = flon - glon
        elat = flat - glat
        wlon = wlon - elon
        wlat = wlat - elat
        err = max(float(np.max(np.abs(elon), initial=0.0)), float(np.max(np.abs(elat), initial=0.0)))
        if err < _INV_TOL_DEG:
            break
    outside = ~in_china(glon, glat)
    wlon = np.where(outside, glon, wlon)
    wlat = np.where(outside, glat, wlat)
    return wlon, wlat


def transform_geometries(geoms, func):
    """Apply a (lon, lat) → (lon, lat) array function to shapely geometries.

    ``geoms`` is a shapely geometry, an array/list of them or a GeoSeries' values;
    ``func`` is e.g. :func:`wgs84_to_gcj02` or :func:`gcj02_to_wgs84`. Z values are dropped.
    """
    def _xy(coords: np.ndarray) -> np.ndarray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, _xy)


def geometries_wgs84_to_gcj02(geoms):
    """Shortcut: shift WGS84/CGCS2000 lon/lat geometries to GCJ-02 (display on Gaode)."""
    return transform_geometries(geoms, wgs84_to_gcj02)


def geometries_gcj02_to_wgs84(geoms):
    """Shortcut: GCJ-02 lon/lat geometries → WGS84/CGCS2000 lon/lat."""
    return transform_geometries(geoms, gcj02_to_wgs84)

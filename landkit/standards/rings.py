"""Polygon rings as flat coordinate arrays: what the vectorised area kernels work on.

Shared by :mod:`landkit.standards.area` and :mod:`landkit.overlay.pairarea`.
"""
from __future__ import annotations

import numpy as np
import shapely

__all__ = ["MULTIPOLYGON_ID", "POLYGON_ID", "geometry_array", "polygon_rings"]

POLYGON_ID = 3
MULTIPOLYGON_ID = 6


def geometry_array(geoms, crs):
    """Object ndarray of geometries, and the CRS to use (explicit crs wins)."""
    gcrs = None
    if hasattr(geoms, "geometry") and hasattr(geoms, "columns"):  # GeoDataFrame
        geoms = geoms.geometry
    if hasattr(geoms, "crs"):  # GeoSeries / GeometryArray
        gcrs = geoms.crs
    if isinstance(geoms, shapely.Geometry):
        arr = np.array([geoms], dtype=object)
    elif hasattr(geoms, "values") and not isinstance(geoms, np.ndarray):  # (Geo)Series
        arr = np.asarray(geoms.values, dtype=object)
    else:
        arr = np.asarray(geoms, dtype=object)
    return arr.ravel(), (crs if crs is not None else gcrs)


def polygon_rings(arr: np.ndarray):
    """Flatten polygonal geometries into rings.

    Returns coords (N, 2), ring_len (R,), ring_hole (R,) bool and ring_geom (R,) index
    into ``arr``. Non-polygonal and missing geometries contribute no rings.
    """
    tid = shapely.get_type_id(arr)
    poly = tid == POLYGON_ID
    holed = shapely.get_num_interior_rings(arr) > 0  # 0 for anything but polygons
    simple = poly & ~holed
    multi = tid == MULTIPOLYGON_ID

    # fast path: polygons without holes are one ring each (ring lengths from the
    # coordinates' geometry index: cheaper than another pass over the GEOS objects)
    sgeoms = arr[simple]
    coords_s, cidx = shapely.get_coordinates(sgeoms, return_index=True)
    len_s = np.bincount(cidx, minlength=sgeoms.shape[0])
    del cidx
    geom_s = np.flatnonzero(simple)
    if not (holed.any() or multi.any()):
        return coords_s, len_s, np.zeros(len_s.shape[0], dtype=bool), geom_s

    # polygons with holes, and the parts of multipolygons, ring by ring
    hidx = np.flatnonzero(poly & holed)
    midx = np.flatnonzero(multi)
    parts, pidx = shapely.get_parts(arr[midx], return_index=True)
    polys = np.concatenate([arr[hidx], parts])
    poly_geom = np.concatenate([hidx, midx[pidx]])
    rings, ridx = shapely.get_rings(polys, return_index=True)
    coords_o = shapely.get_coordinates(rings)
    len_o = shapely.get_num_coordinates(rings)
    hole_o = np.zeros(ridx.shape[0], dtype=bool)
    hole_o[1:] = ridx[1:] == ridx[:-1]  # rings after the first of the same polygon
    return (
        np.concatenate([coords_s, coords_o]),
        np.concatenate([len_s, len_o]),
        np.concatenate([np.zeros(len_s.shape[0], dtype=bool), hole_o]),
        np.concatenate([geom_s, poly_geom[ridx]]),
    )

"""Geometry clean-up at the edge: polygons only, 2-D, valid, none empty.

Invalid polygons are repaired with ``shapely.make_valid(method="structure")`` keeping the
polygonal part (a bow-tie becomes its two lobes, so its area is the area a person sees).
Null and empty geometries are dropped. Everything done is returned for QA.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

POLYGONAL = {"Polygon", "MultiPolygon"}


@dataclass
class GeometryReport:
    dropped_null: list = field(default_factory=list)      # feature ids
    dropped_empty: list = field(default_factory=list)
    dropped_nonpolygon: list = field(default_factory=list)
    repaired: list = field(default_factory=list)
    repaired_rows: list = field(default_factory=list)     # input row positions of ``repaired``
    repaired_before: list = field(default_factory=list)   # their geometries as drawn (2-D)
    repaired_after: list = field(default_factory=list)    # and as repaired
    collapsed: list = field(default_factory=list)         # invalid and nothing polygonal left
    z_dropped: bool = False


def polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry (MultiPolygon/Polygon or None)."""
    out = np.empty(len(geoms), dtype=object)
    types = shapely.get_type_id(geoms)
    simple = (types == 3) | (types == 6)
    out[simple] = geoms[simple]
    for i in np.flatnonzero(~simple):
        g = geoms[i]
        if g is None:
            out[i] = None
            continue
        parts = shapely.get_parts(g)
        polys = []
        for p in parts:
            t = p.geom_type
            if t == "Polygon":
                polys.append(p)
            elif t == "MultiPolygon":
                polys.extend(shapely.get_parts(p))
            elif t == "GeometryCollection":
                sub = polygonal_part(np.array([p], dtype=object))[0]
                if sub is not None:
                    polys.extend(shapely.get_parts(sub))
        if not polys:
            out[i] = None
        elif len(polys) == 1:
            out[i] = polys[0]
        else:
            out[i] = shapely.MultiPolygon(polys)
    return out


def repair(geoms: np.ndarray) -> np.ndarray:
    """Invalid polygons made valid the one landkit way: ``make_valid(method="structure")``,
    collapsed parts dropped, the polygonal part kept."""
    return polygonal_part(shapely.make_valid(geoms, method="structure", keep_collapsed=False))


def clean_polygons(geoms: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, GeometryReport]:
    """Return (kept row positions, cleaned geometries for them, report).

    Raises ValueError when the layer holds no polygons at all (points or lines where
    polygons belong); the caller turns that into a Chinese message.
    """
    geoms = np.asarray(geoms, dtype=object)
    rep = GeometryReport()
    n = len(geoms)
    keep = np.ones(n, dtype=bool)
    isnull = shapely.is_missing(geoms)
    rep.dropped_null = ids[isnull].tolist()
    keep &= ~isnull
    if shapely.has_z(geoms[keep]).any():
        geoms = geoms.copy()
        geoms[keep] = shapely.force_2d(geoms[keep])
        rep.z_dropped = True
    empty = keep & shapely.is_empty(geoms)
    rep.dropped_empty = ids[empty].tolist()
    keep &= ~empty
    types = np.full(n, -1)
    types[keep] = shapely.get_type_id(geoms[keep])
    polygonal = (types == 3) | (types == 6)
    collection = types == 7
    other = keep & ~polygonal & ~collection
    if keep.any() and not (polygonal | collection)[keep].any():
        kinds = sorted({shapely.get_type_id(g) for g in geoms[keep]})
        names = {0: "点", 1: "线", 2: "线", 4: "点", 5: "线"}
        raise ValueError("、".join(sorted({names.get(k, "其他") for k in kinds})))
    rep.dropped_nonpolygon = ids[other].tolist()
    keep &= ~other
    out = geoms.copy()
    if collection.any():
        out[collection] = polygonal_part(out[collection])
    valid = np.ones(n, dtype=bool)
    valid[keep] = shapely.is_valid(out[keep])
    bad = keep & ~valid
    if bad.any():
        fixed = repair(out[bad])
        out[bad] = fixed
        gone = np.zeros(n, dtype=bool)
        gone[bad] = shapely.is_missing(fixed) | shapely.is_empty(fixed)
        rep.repaired = ids[bad & ~gone].tolist()
        rep.repaired_rows = np.flatnonzero(bad & ~gone).tolist()
        rep.repaired_before = list(geoms[rep.repaired_rows]) if rep.repaired_rows else []
        rep.repaired_after = list(out[rep.repaired_rows]) if rep.repaired_rows else []
        rep.collapsed = ids[gone].tolist()
        keep &= ~gone
    nowempty = keep & (shapely.is_missing(out) | shapely.is_empty(out))
    rep.dropped_nonpolygon += ids[nowempty & collection].tolist()
    keep &= ~nowempty
    pos = np.flatnonzero(keep)
    return pos, out[pos], rep


def valid_polygons(g: np.ndarray) -> np.ndarray:
    """Invalid polygons made valid by :func:`repair` (polygonal part kept); ``g`` itself, not a
    copy, when all are valid or missing. Layers read by landkit are already valid."""
    bad = ~shapely.is_valid(g) & ~shapely.is_missing(g)
    if bad.any():
        g = g.copy()
        g[bad] = repair(g[bad])
    return g

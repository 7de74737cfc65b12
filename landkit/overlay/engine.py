"""The one overlay engine: per-feature overlap areas of layer A with layer B.

For every feature of A: the overlapped area (CGCS2000 ellipsoidal, m²), the net area (each
piece × (1 − KCXS) of the B feature it lies in), the share of A's area, and the ids of the
B features touched; optionally the overlap pieces as geometries.

* **Union semantics**: where B's features overlap each other, the overlapped area is counted
  once. B is first made a partition: each B feature that overlaps others loses the part
  covered by features that sort before it (by id, then geometry), so the result does not
  depend on feature order.
* **Slivers**: pieces smaller than ``sliver_m2`` (default 1 m², configurable) are ignored
  and counted.
* **Fast**: an envelope-only STRtree query, then the area of every candidate pair by
  :mod:`landkit.overlay.pairarea`, which sums the ellipsoidal terms of the pieces of both
  boundaries that lie inside the other polygon, with exact predicates, without building
  any geometry (2–3× faster than GEOS intersection + area, shared edges included); chunks
  of pairs on a thread pool, ``np.bincount`` to sum.
* GEOS (``shapely.intersection``) is used where geometry is asked for (``keep_pieces``), for
  a non-Gauss-Krüger CRS, and for the rare pair the kernel leaves (very many edges close
  together). There a ``covers`` shortcut takes a piece that is all of A as A.
* **Robust**: the kernel cannot raise a TopologyException; on the GEOS path a chunk that
  fails is redone on a 1 mm fixed-precision grid, and a pair that still fails is repaired
  and retried alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.errors import GEOSException

from . import pairarea
from .threads import default_threads, row_slices, thread_map
from ..io.geometry import polygonal_part, valid_polygons
from ..standards.area import ellipsoidal_area

CHUNK = 50_000    # most B features per chunk (~200k candidate pairs; bounds peak memory)
GRID = 1e-3   # metres: the fixed-precision fallback grid
NOISE_M2 = 1e-6   # m²: a smaller overlap is floating-point noise of polygons that only touch
                  # (the kernel leaves ~1e-8 m² there, GEOS ~1e-13 m² slivers): no overlap


@dataclass
class OverlayResult:
    """Per-feature overlap figures of A against B (index = A's index)."""

    table: pd.DataFrame            # overlap_m2, overlap_net_m2, share, b_ids, pieces
    pieces: gpd.GeoDataFrame | None
    sliver_count: int
    sliver_m2: float               # total area of the ignored slivers
    b_overlap_pairs: int           # overlapping pairs among the B features that touch A (made a partition)
    fallback_pairs: int = 0        # pairs computed on the fixed-precision grid
    stats: dict = field(default_factory=dict)

    @property
    def overlap_m2(self) -> float:
        return float(self.table["overlap_m2"].sum())

    @property
    def overlap_net_m2(self) -> float:
        return float(self.table["overlap_net_m2"].sum())


def _geoms(x) -> np.ndarray:
    if isinstance(x, (gpd.GeoDataFrame, gpd.GeoSeries)):
        x = x.geometry if isinstance(x, gpd.GeoDataFrame) else x
        return np.asarray(x.values, dtype=object)
    return np.asarray(x, dtype=object)


def _one(op, a, b):
    """One pair, trying ever more forgiving ways; a pair no way can compute is a clear error."""
    attempts = (
        lambda: op(a, b),
        lambda: op(a, b, grid_size=GRID),
        lambda: op(shapely.make_valid(a), shapely.make_valid(b), grid_size=GRID),
        lambda: op(shapely.buffer(a, 0), shapely.buffer(b, 0), grid_size=GRID),
    )
    for attempt in attempts:
        try:
            return attempt()
        except GEOSException:
            continue
    from ..errors import InputError
    raise InputError(f"几何叠加计算失败（坐标约 {shapely.get_coordinates(a)[0].round(1).tolist()}），"
                     "请检查该处图形是否有自相交或重复点")


def safe_set_op(op, pa: np.ndarray, pb: np.ndarray) -> tuple[np.ndarray, int]:
    """Vectorised ``op`` (shapely.intersection / difference) that never lets a GEOS
    TopologyException escape: the whole array, else on the 1 mm grid, else pair by pair.
    Returns (result, number of pairs computed by a fallback)."""
    try:
        return op(pa, pb), 0
    except GEOSException:
        pass
    try:
        return op(pa, pb, grid_size=GRID), len(pa)
    except GEOSException:
        pass
    out = np.empty(len(pa), dtype=object)
    for i in range(len(pa)):
        out[i] = _one(op, pa[i], pb[i])
    return out, len(pa)


def _safe_intersection(pa: np.ndarray, pb: np.ndarray) -> tuple[np.ndarray, int]:
    """Vectorised intersection with the fixed-grid fallback. Returns (pieces, fallback count)."""
    return safe_set_op(shapely.intersection, pa, pb)


def _polygonal(g: np.ndarray) -> np.ndarray:
    """Drop the non-polygonal parts of intersection results (edges and points where they touch)."""
    t = shapely.get_type_id(g)
    bad = (t != 3) & (t != 6)
    if bad.any():
        g = g.copy()
        g[bad] = polygonal_part(g[bad])
    return g


def _threaded_difference(a: np.ndarray, b: np.ndarray, threads: int) -> np.ndarray:
    """``a − b`` pair by pair (with the fallbacks of :func:`safe_set_op`), split over threads."""
    return np.concatenate(thread_map(lambda r: safe_set_op(shapely.difference, a[r], b[r])[0],
                               row_slices(len(a), threads), threads))


def overlapping_pairs(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j), i < j: pairs of polygons whose interiors intersect (shared edges do not count)."""
    g = np.asarray(g, dtype=object)
    if len(g) < 2:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    tree = shapely.STRtree(g)
    i, j = tree.query(g)                       # envelope pairs: cheap
    k = i < j
    i, j = i[k], j[k]

    def interiors_meet(sl):
        try:
            return shapely.relate_pattern(g[i[sl]], g[j[sl]], "T********")
        except GEOSException:
            return shapely.area(_safe_intersection(g[i[sl]], g[j[sl]])[0]) > 0

    threads = default_threads()
    if len(i) <= 20_000 or shapely.is_prepared(g).any():   # small, or prepared geometries: never shared
        threads = 1
    m = np.concatenate(thread_map(interiors_meet, row_slices(len(i), threads), threads))
    return i[m], j[m]


def pair_areas_planar(g: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Planar area (CRS units²) of ``g[i] ∩ g[j]`` for pairs of one layer, by
    :mod:`landkit.overlay.pairarea` (GEOS for the pairs it leaves)."""
    g = np.asarray(g, dtype=object)
    used, k = np.unique(np.concatenate([i, j]), return_inverse=True)
    e = pairarea.edges_of(g[used])
    area, ok = pairarea.intersection_area(e, e, k[:len(i)], k[len(i):], planar=True, threads=default_threads())
    if not ok.all():
        rest = np.flatnonzero(~ok)
        area[rest] = shapely.area(_polygonal(_safe_intersection(g[i[rest]], g[j[rest]])[0]))
    return np.nan_to_num(area)


def partition(b_geoms: np.ndarray, keys: np.ndarray | None = None,
              pairs: tuple[np.ndarray, np.ndarray] | None = None,
              near: shapely.STRtree | None = None) -> tuple[np.ndarray, int]:
    """Make B a partition: a feature that overlaps features sorting before it loses those parts.

    ``keys`` orders the features (e.g. their ids); ties are broken by geometry (WKB), so the
    result does not depend on the input order. ``pairs`` are the overlapping pairs if already
    known (:func:`overlapping_pairs`). ``near``: only overlaps whose bounding box meets one of
    these geometries' envelopes are removed (elsewhere the result is left overlapping: use it
    only to measure those geometries). Returns (new geometries, overlapping pairs handled).
    """
    b = np.asarray(b_geoms, dtype=object).copy()
    if len(b) < 2:
        return b, 0
    i, j = pairs if pairs is not None else overlapping_pairs(b)
    if len(i) == 0:
        return b, 0
    # rank only the features that overlap others: by key, ties by WKB (order-independent)
    inv = np.unique(np.concatenate([i, j]))
    wkb = shapely.to_wkb(b[inv])
    k = np.asarray(keys if keys is not None else np.zeros(len(b)), dtype=object)[inv].astype(str)
    rank = np.zeros(len(b), dtype=np.int64)
    rank[inv[np.lexsort((wkb, k))]] = np.arange(len(inv))
    # j loses what it shares with i when i ranks first
    loser = np.where(rank[i] < rank[j], j, i)
    winner = np.where(rank[i] < rank[j], i, j)
    pairs_df = pd.DataFrame({"loser": loser, "winner": winner}).drop_duplicates()
    orig = np.asarray(b_geoms, dtype=object)
    if near is not None and len(pairs_df):
        # only overlaps that can lie on a measured feature matter
        bl = shapely.bounds(orig[pairs_df["loser"].to_numpy()])
        bw = shapely.bounds(orig[pairs_df["winner"].to_numpy()])
        lo_xy, hi_xy = np.maximum(bl[:, :2], bw[:, :2]), np.minimum(bl[:, 2:], bw[:, 2:])
        hit = np.unique(near.query(shapely.box(lo_xy[:, 0], lo_xy[:, 1], hi_xy[:, 0], hi_xy[:, 1]))[0])
        pairs_df = pairs_df.iloc[hit]
        if not len(pairs_df):
            return b, 0
    lo_all = pairs_df["loser"].to_numpy()
    wi_all = pairs_df["winner"].to_numpy()
    order = np.lexsort((wi_all, lo_all))
    lo_all, wi_all = lo_all[order], wi_all[order]
    losers, first, n_win = np.unique(lo_all, return_index=True, return_counts=True)
    threads = default_threads() if len(lo_all) > 2_000 else 1
    one = n_win == 1
    if one.any():            # most losers overlap one winner: one vectorised difference
        lo = losers[one]
        b[lo] = _threaded_difference(orig[lo], orig[wi_all[first[one]]], threads)
    if (~one).any():         # the others lose the union of their winners (one row each)
        lo = losers[~one]
        width = int(n_win[~one].max())
        table = np.full((len(lo), width), None, dtype=object)
        row, col = pairarea.expand(n_win[~one])
        table[row, col] = orig[wi_all[np.repeat(first[~one], n_win[~one]) + col]]
        cover = np.concatenate(thread_map(lambda r: shapely.union_all(table[r], axis=1),
                                    row_slices(len(lo), threads), threads))
        b[lo] = _threaded_difference(orig[lo], cover, threads)
    b = _polygonal(b)
    return b, len(pairs_df)


def _distinct_objects(g: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``g`` with every repeated Python object among ``g[pos]`` replaced by a copy, so that a
    geometry prepared by one thread is never touched by another."""
    obj = np.fromiter(map(id, g[pos]), dtype=np.int64, count=len(pos))
    first = np.zeros(len(pos), dtype=bool)
    first[np.unique(obj, return_index=True)[1]] = True
    dup = pos[~first]
    if len(dup):
        g = g.copy()
        g[dup] = shapely.from_wkb(shapely.to_wkb(g[dup]))
    return g


def overlay_areas(a, b, *, crs=None, b_ids=None, b_kcxs=None, sliver_m2: float = 1.0,
                  keep_pieces: bool = False, a_area_m2=None, threads: int | None = None,
                  union: bool = True, b_pairs=None, assume_valid: bool = False,
                  b_valid: bool = False) -> OverlayResult:
    """Overlap of every feature of ``a`` with the union of ``b`` (see the module docstring).

    Parameters
    ----------
    a, b : GeoDataFrame/GeoSeries or arrays of polygons in the same projected CRS
    crs : the CRS (taken from ``a`` when it is a GeoDataFrame/GeoSeries)
    b_ids : ids of B's features (listed per A feature; also orders the partition)
    b_kcxs : KCXS (田坎系数) of B's features for the net area; values outside [0, 1) count as 0
    sliver_m2 : pieces with an ellipsoidal area below this are ignored and counted
    keep_pieces : also return the overlap pieces (GeoDataFrame with ia, ib, area, net)
    a_area_m2 : A's ellipsoidal areas if already known (m²)
    union : make B a partition first (union semantics); False when B is known not to overlap
    threads : threads for the GEOS work (default :func:`default_threads`)
    b_pairs : B's overlapping pairs (positions, from :func:`overlapping_pairs`) when already known
    assume_valid : skip the validity check of both layers (layers of a :class:`County` are valid)
    b_valid : skip it for ``b`` only (``b`` is a county layer, ``a`` comes from elsewhere)

    Returns an :class:`OverlayResult`; areas in m².
    """
    if crs is None and isinstance(a, (gpd.GeoDataFrame, gpd.GeoSeries)):
        crs = a.crs
    index = a.index if isinstance(a, (gpd.GeoDataFrame, gpd.GeoSeries)) else pd.RangeIndex(len(a))
    ga, gb = _geoms(a), _geoms(b)
    if not assume_valid:
        ga = valid_polygons(ga)
        if not b_valid:
            gb = valid_polygons(gb)
    n_a, n_b = len(ga), len(gb)
    ids = np.asarray(b_ids, dtype=object) if b_ids is not None else np.arange(n_b).astype(object)
    kcxs = np.zeros(n_b) if b_kcxs is None else np.asarray(b_kcxs, dtype="float64").copy()
    kcxs[~np.isfinite(kcxs) | (kcxs < 0) | (kcxs >= 1)] = 0.0
    if a_area_m2 is None:
        a_area_m2 = ellipsoidal_area(ga, crs=crs)
    a_area_m2 = np.asarray(a_area_m2, dtype="float64")

    tree = shapely.STRtree(ga)
    n_pairs_b = 0
    if union and n_b > 1 and n_a:
        # Only B features near A matter: an overlap between a candidate and a feature that
        # touches no A lies outside every A, so partitioning the candidates is exact.
        sub_pairs = None
        if b_pairs is not None:
            # overlapping pairs known: only the features in them can change, so only they
            # are tested against A's envelopes
            pi, pj = (np.asarray(x, dtype=np.intp) for x in b_pairs)
            involved = np.unique(np.concatenate([pi, pj]))
            cand = involved[np.unique(tree.query(gb[involved])[0])]
            pos = np.full(n_b, -1, dtype=np.intp)
            pos[cand] = np.arange(len(cand))
            both = (pos[pi] >= 0) & (pos[pj] >= 0)
            sub_pairs = (pos[pi[both]], pos[pj[both]])
        else:
            cand = np.unique(tree.query(gb)[0])      # envelope test only: cheap
        if len(cand) > 1:
            sub, n_pairs_b = partition(gb[cand], ids[cand], sub_pairs, near=tree)
            gb = gb.copy()
            gb[cand] = sub
    query = np.flatnonzero(~(shapely.is_missing(gb) | shapely.is_empty(gb)))
    threads = threads or default_threads()
    if not keep_pieces and pairarea.supports(crs):
        ia, ib, area, fallback, n_inside, n_kernel = _areas_by_kernel(ga, gb, query, tree, a_area_m2, crs, threads)
        pieces = None
    else:
        ia, ib, area, pieces, fallback, n_inside = _areas_by_geos(ga, gb, query, tree, a_area_m2, crs, threads,
                                                                  keep_pieces)
        n_kernel = 0
    order = np.lexsort((ib, ia))          # the same order whatever the chunking: sums are reproducible
    ia, ib, area = ia[order], ib[order], area[order]
    if keep_pieces:
        pieces = pieces[order]

    nonzero = area >= NOISE_M2       # below: rounding noise of polygons that only touch
    sliver = nonzero & (area < sliver_m2)
    real = nonzero & ~sliver
    ia_r, ib_r, area_r = ia[real], ib[real], area[real]
    net_r = area_r * (1.0 - kcxs[ib_r])

    ov = np.bincount(ia_r, weights=area_r, minlength=n_a)
    ov_net = np.bincount(ia_r, weights=net_r, minlength=n_a)
    npieces = np.bincount(ia_r, minlength=n_a)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(a_area_m2 > 0, ov / a_area_m2, 0.0)
    share = np.minimum(share, 1.0)
    lists = [[] for _ in range(n_a)]
    if len(ia_r):
        id_rank = np.unique(ids.astype(str), return_inverse=True)[1]   # B's ids sorted once, as text
        order = np.lexsort((id_rank[ib_r], ia_r))
        sa, sb = ia_r[order], ids[ib_r[order]].tolist()
        starts = np.flatnonzero(np.r_[True, sa[1:] != sa[:-1]])
        ends = np.r_[starts[1:], len(sa)].tolist()
        for st, s0, s1 in zip(sa[starts].tolist(), starts.tolist(), ends):
            lists[st] = sb[s0:s1]
    table = pd.DataFrame({"area_m2": a_area_m2, "overlap_m2": ov, "overlap_net_m2": ov_net,
                          "share": share, "b_ids": lists, "pieces": npieces}, index=index)
    pieces_gdf = None
    if keep_pieces:
        pieces_gdf = gpd.GeoDataFrame({"ia": ia_r, "ib": ib_r, "a_index": np.asarray(index)[ia_r],
                                       "b_id": ids[ib_r], "area_m2": area_r, "net_m2": net_r},
                                      geometry=pieces[real], crs=crs)
    return OverlayResult(table, pieces_gdf, int(sliver.sum()), float(area[sliver].sum()), n_pairs_b,
                         int(fallback), {"candidate_pairs": int(len(ia)), "covered_pairs": n_inside,
                                         "kernel_pairs": int(n_kernel), "overlapping_pairs": int(nonzero.sum())})


def _areas_by_kernel(ga, gb, query, tree, a_area_m2, crs, threads):
    """Overlap areas of all envelope pairs by :mod:`landkit.overlay.pairarea` (no geometry is built);
    the few pairs it leaves, and any whose result is out of bounds, by GEOS."""
    qi, ia = tree.query(gb[query])                  # envelope pairs: cheap
    ib = query[qi]
    used_a, ka = np.unique(ia, return_inverse=True)
    used_b, kb = np.unique(ib, return_inverse=True)
    ea, eb = thread_map(pairarea.edges_of, [ga[used_a], gb[used_b]], threads)
    area, ok = pairarea.intersection_area(ea, eb, ka, kb, crs=crs, threads=threads)
    # a result outside [0, area of A] would be a bug: never trusted, GEOS decides
    tol = 1e-9 * a_area_m2[ia] + 1e-6
    ok &= (area > -tol) & (area < a_area_m2[ia] + tol)
    area = np.maximum(area, 0.0)
    covered = ok & (np.abs(area - a_area_m2[ia]) <= 1e-9 * a_area_m2[ia])
    area[covered] = a_area_m2[ia[covered]]          # the piece is all of A (to 1e-9): A's own area
    rest = np.flatnonzero(~ok)
    fallback = n_cov = 0
    if len(rest):          # by GEOS, with the prepared covers shortcut (big polygons: most are inside)
        area[rest], fallback, n_cov = _areas_by_geos(ga, gb, np.unique(ib[rest]), tree, a_area_m2, crs, threads,
                                                     False, pairs=(ia[rest], ib[rest]))
    return ia, ib, area, fallback, int(covered.sum()) + n_cov, int(ok.sum())


def _areas_by_geos(ga, gb, query, tree, a_area_m2, crs, threads, keep_pieces, pairs=None):
    """Overlap areas (and pieces) of the intersecting pairs by GEOS: query, ``covers``
    shortcut, intersection, ellipsoidal area, chunk by chunk of B on a thread pool.
    ``pairs`` (ia, ib): only these pairs (and ``query`` their B features), in their order."""
    gb = _distinct_objects(gb, query)
    if pairs is not None:
        p_ia, p_ib = (np.asarray(x, dtype=np.intp) for x in pairs)
        by_b = np.argsort(p_ib, kind="stable")
        sorted_ib = p_ib[by_b]

    def work(qpos):
        """Everything for one chunk of B: query, covers shortcut, intersections, areas.

        Chunks partition B, and ``covers`` prepares only this chunk's B objects, so no GEOS
        prepared geometry is ever shared between threads (they are not thread-safe, libgeos#825).
        """
        mine = gb[qpos]
        was_prepared = shapely.is_prepared(mine)
        shapely.prepare(mine)                                 # used by the query and by covers
        if pairs is None:
            qi, ia = tree.query(mine, predicate="intersects")
            ib = qpos[qi]
            sel = None
        else:
            lo = np.searchsorted(sorted_ib, qpos[0], side="left")
            hi = np.searchsorted(sorted_ib, qpos[-1], side="right")
            sel = by_b[lo:hi]
            ia, ib = p_ia[sel], p_ib[sel]
        inside = shapely.covers(gb[ib], ga[ia])               # the piece is all of A
        meets = ~inside if pairs is None else ~inside & shapely.intersects(gb[ib], ga[ia])
        shapely.destroy_prepared(mine[~was_prepared])
        area = np.zeros(len(ia))
        area[inside] = a_area_m2[ia[inside]]
        rest = np.flatnonzero(meets)
        pr, fb = _safe_intersection(ga[ia[rest]], gb[ib[rest]])
        pr = _polygonal(pr)
        area[rest] = ellipsoidal_area(pr, crs=crs)
        pieces = None
        if keep_pieces:
            pieces = np.empty(len(ia), dtype=object)
            pieces[inside] = ga[ia[inside]]
            pieces[rest] = pr          # (explicit pairs are never asked for pieces)
        return ia, ib, area, pieces, fb, int(inside.sum()), sel

    # A few large chunks per thread: GEOS releases the GIL, so 2 threads run ~2x on 2 cores.
    # Chunks are runs of sorted B positions (``query`` is sorted), so explicit pairs split by range.
    query = np.sort(query)
    n_chunks = max(1, min(len(query), max(2 * threads, -(-len(query) // CHUNK))))
    chunks = np.array_split(query, n_chunks)
    parts = thread_map(work, [c for c in chunks if len(c)], threads)
    if pairs is not None:
        area = np.zeros(len(p_ia))
        for p in parts:
            area[p[6]] = p[2]
        return area, sum(p[4] for p in parts), sum(p[5] for p in parts)
    ia = np.concatenate([p[0] for p in parts]).astype(np.intp)
    ib = np.concatenate([p[1] for p in parts]).astype(np.intp)
    area = np.concatenate([p[2] for p in parts])
    pieces = np.concatenate([p[3] for p in parts]) if keep_pieces else None
    return ia, ib, area, pieces, sum(p[4] for p in parts), sum(p[5] for p in parts)




def pair_areas(a, b, ia, ib, *, crs=None, a_area_m2=None, threads: int | None = None) -> tuple[np.ndarray, int]:
    """Ellipsoidal area (m²) of ``a[ia[k]] ∩ b[ib[k]]`` for explicit pairs of positions.

    For an overlay whose pairs are known already (two vintages of one layer: the pairs that can
    have changed). The same kernel as :func:`overlay_areas` (:mod:`landkit.overlay.pairarea`, no
    geometry built), GEOS for the pairs it leaves and for CRSs other than Gauss-Krüger. Returns
    (areas in pair order, pairs computed by a GEOS fallback on the fixed-precision grid).
    """
    if crs is None and isinstance(a, (gpd.GeoDataFrame, gpd.GeoSeries)):
        crs = a.crs
    ga, gb = _geoms(a), _geoms(b)
    ia = np.asarray(ia, dtype=np.intp)
    ib = np.asarray(ib, dtype=np.intp)
    area = np.zeros(len(ia))
    if not len(ia):
        return area, 0
    if a_area_m2 is None:
        a_area_m2 = ellipsoidal_area(ga, crs=crs)
    a_area_m2 = np.asarray(a_area_m2, dtype="float64")
    threads = threads or default_threads()
    if pairarea.supports(crs):
        used_a, ka = np.unique(ia, return_inverse=True)
        used_b, kb = np.unique(ib, return_inverse=True)
        ea, eb = thread_map(pairarea.edges_of, [ga[used_a], gb[used_b]], threads)
        area, ok = pairarea.intersection_area(ea, eb, ka, kb, crs=crs, threads=threads)
        tol = 1e-9 * a_area_m2[ia] + 1e-6          # out of [0, area of A]: never trusted, GEOS decides
        ok &= (area > -tol) & (area < a_area_m2[ia] + tol)
        area = np.maximum(area, 0.0)
        covered = ok & (np.abs(area - a_area_m2[ia]) <= 1e-9 * a_area_m2[ia])
        area[covered] = a_area_m2[ia[covered]]
        rest = np.flatnonzero(~ok)
    else:
        rest = np.arange(len(ia))
    fallback = 0
    if len(rest):
        area[rest], fallback, _ = _areas_by_geos(ga, gb, np.unique(ib[rest]), None, a_area_m2, crs, threads,
                                                 False, pairs=(ia[rest], ib[rest]))
    return area, int(fallback)


def pair_pieces(a, b, ia, ib, *, threads: int | None = None) -> np.ndarray:
    """The polygonal pieces ``a[ia[k]] ∩ b[ib[k]]`` (GEOS, with the fixed-grid fallbacks of
    :func:`safe_set_op`), split over threads. Empty where a pair only touches."""
    ga, gb = _geoms(a), _geoms(b)
    ia = np.asarray(ia, dtype=np.intp)
    ib = np.asarray(ib, dtype=np.intp)
    if not len(ia):
        return np.empty(0, dtype=object)
    threads = threads or default_threads()
    if len(ia) < 2_000:
        threads = 1
    pa, pb = ga[ia], gb[ib]          # intersection prepares nothing: objects may be shared by threads
    parts = thread_map(lambda r: safe_set_op(shapely.intersection, pa[r], pb[r])[0], row_slices(len(ia), threads),
                       threads)
    return _polygonal(np.concatenate(parts))

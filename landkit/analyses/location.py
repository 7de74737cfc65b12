"""Where a geometry lies: its township and village, and its area by 三大类 (农用地 / 建设用地 /
未利用地), ellipsoidal m².

One township rule serves every analysis (docs/rules.md, "乡镇归属"; ``[township] source``):

* ``dltb`` (default): the township is the 9-digit prefix of the 坐落单位代码 ZLDWDM of the DLTB
  parcels under the feature, the one with the largest overlap; where no valid ZLDWDM covers
  it, the township layer (XZQDM) holding the largest part of it;
* ``layer``: the township layer first (largest part), ZLDWDM where the layer has no answer.

A DLTB piece (a feature already cut by one parcel, as in the 卫片 and 集体经营性 analyses)
uses :func:`piece_townships`: its own parcel's ZLDWDM, else the layer, by the same order.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ..settings import Settings
from ..overlay.engine import overlay_areas
from ..standards.codes import AGRI, CONSTRUCTION, UNUSED, class_sets, is_township_code, is_valid_unit_code


def _empty(g: np.ndarray) -> np.ndarray:
    return shapely.is_missing(g) | shapely.is_empty(g)


def township_names(county) -> tuple[dict, dict]:
    """({9-digit code: name}, {12-digit code: name}) from the townships layer."""
    t = county.townships
    towns, villages = {}, {}
    if t is None or "XZQDM" not in t.columns:
        return towns, villages
    names = t["XZQMC"].tolist() if "XZQMC" in t.columns else [None] * len(t)
    for code, name in zip(t["XZQDM"].tolist(), names):
        if code is None or name is None or (isinstance(name, float) and np.isnan(name)):
            continue
        code = str(code).strip()
        if len(code) == 9:
            towns.setdefault(code, str(name))
        elif len(code) >= 12 and len(code.rstrip("0")) > 9:
            villages.setdefault(code[:12], str(name))
    return towns, villages


def townships_by_layer(geoms: np.ndarray, county, sliver_m2: float) -> tuple[np.ndarray, np.ndarray]:
    """(township 9-digit code, village 12-digit code or None) per geometry from the townships
    layer: the XZQDM of the layer feature holding the largest part of it (ellipsoidal m²; ties
    to the smaller code). None where the layer is absent, has no XZQDM or does not cover it."""
    n = len(geoms)
    town = np.full(n, None, dtype=object)
    vill = np.full(n, None, dtype=object)
    t = county.townships
    ok = np.flatnonzero(~_empty(geoms)) if n else np.zeros(0, dtype=np.int64)
    if t is None or not len(ok) or "XZQDM" not in t.columns or not len(t):
        return town, vill
    r = overlay_areas(geoms[ok], t.geometry, crs=county.crs, keep_pieces=True, sliver_m2=sliver_m2,
                      b_ids=t["XZQDM"].astype(str).to_numpy(dtype=object), b_valid=True)
    p = r.pieces
    if p is None or not len(p):
        return town, vill
    df = pd.DataFrame({"ia": ok[p["ia"].to_numpy()], "code": p["b_id"].to_numpy(dtype=object),
                       "a": p["area_m2"].to_numpy()})
    df = df.groupby(["ia", "code"])["a"].sum().reset_index()
    df = df.sort_values(["ia", "a", "code"], ascending=[True, False, True]).drop_duplicates("ia")
    for i, code in zip(df["ia"].to_numpy(), df["code"].to_numpy()):
        code = str(code).strip()
        if is_township_code(code[:9]):
            town[i] = code[:9]
            if len(code) >= 12 and len(code.rstrip("0")) > 9:
                vill[i] = code[:12]
    return town, vill


def piece_townships(zldwdm: np.ndarray, geoms: np.ndarray, county, cfg: Settings,
                    sliver_m2: float) -> tuple[np.ndarray, np.ndarray]:
    """(township, village) of DLTB pieces: each piece's own parcel code ``zldwdm`` (ZLDWDM[:9],
    [:12] where valid) and the townships layer (:func:`townships_by_layer`), in the order
    ``[township] source`` gives. None where neither answers."""
    zl = np.asarray(zldwdm, dtype=object)
    valid = np.array([is_valid_unit_code(z) for z in zl], dtype=bool)
    town = np.array([z[:9] if v else None for z, v in zip(zl, valid)], dtype=object)
    vill = np.array([z[:12] if v else None for z, v in zip(zl, valid)], dtype=object)
    layer_first = cfg.township.source == "layer"
    ask = np.arange(len(zl)) if layer_first else np.flatnonzero(~valid)
    if len(ask) and county.townships is not None:
        lt, lv = townships_by_layer(np.asarray(geoms, dtype=object)[ask], county, sliver_m2)
        has = np.array([x is not None for x in lt], dtype=bool)
        if layer_first:
            moved = has & (town[ask] != lt)
            vill[ask[moved]] = lv[moved]
        else:
            vill[ask[has]] = lv[has]
        town[ask[has]] = lt[has]
    return town, vill


def locate(geoms: np.ndarray, county, cfg: Settings, sliver_m2: float) -> pd.DataFrame:
    """Where each geometry lies: the township (9-digit code) and village (12 digits) holding
    most of it by the module's township rule (DLTB ZLDWDM and the townships layer, in the order
    ``[township] source`` gives), their names, and its area by 三大类 in the DLTB (computed
    ellipsoidal areas of the pieces, m²)."""
    n = len(geoms)
    town = np.full(n, None, dtype=object)
    vill = np.full(n, None, dtype=object)
    vname = np.full(n, None, dtype=object)
    cls_m2 = {AGRI: np.zeros(n), CONSTRUCTION: np.zeros(n), UNUSED: np.zeros(n)}
    ok = np.flatnonzero(~_empty(geoms)) if n else np.zeros(0, dtype=np.int64)
    d = county.dltb
    if d is not None and len(ok) and len(d):
        r = overlay_areas(geoms[ok], d.geometry, crs=county.crs, union=False, keep_pieces=True,
                          sliver_m2=sliver_m2, b_valid=True)
        p = r.pieces
        if p is not None and len(p):
            ia = ok[p["ia"].to_numpy()]
            ib = p["ib"].to_numpy()
            area = p["area_m2"].to_numpy()
            sets = class_sets(**cfg.classes.as_dict())
            big = {c: k for k, codes in sets.items() for c in codes}
            dl = d["DLBM"].to_numpy(dtype=object)[ib]
            kind = np.array([big.get(x) for x in dl], dtype=object)
            for k in cls_m2:
                m = kind == k
                cls_m2[k] = np.bincount(ia[m], weights=area[m], minlength=n)
            zl = d["ZLDWDM"].to_numpy(dtype=object)[ib] if "ZLDWDM" in d.columns else np.full(len(ib), None)
            zm = d["ZLDWMC"].to_numpy(dtype=object)[ib] if "ZLDWMC" in d.columns else np.full(len(ib), None)
            valid = np.array([is_valid_unit_code(z) for z in zl], dtype=bool)
            if valid.any():
                df = pd.DataFrame({"ia": ia[valid], "t": [z[:9] for z in zl[valid]],
                                   "v": [z[:12] for z in zl[valid]], "vn": zm[valid], "a": area[valid]})
                tt = df.groupby(["ia", "t"], sort=True)["a"].sum().reset_index()
                tt = tt.sort_values(["ia", "a", "t"], ascending=[True, False, True]).drop_duplicates("ia")
                town[tt["ia"].to_numpy()] = tt["t"].to_numpy()
                vv = df.groupby(["ia", "v"], sort=True)["a"].sum().reset_index()
                vv = vv.sort_values(["ia", "a", "v"], ascending=[True, False, True]).drop_duplicates("ia")
                vill[vv["ia"].to_numpy()] = vv["v"].to_numpy()
                nm = df.sort_values(["ia", "a"], ascending=[True, False]).drop_duplicates(["ia", "v"])
                nmap = {(i, v): x for i, v, x in zip(nm["ia"], nm["v"], nm["vn"])}
                for i in vv["ia"].to_numpy():
                    x = nmap.get((i, vill[i]))
                    if x is not None and not (isinstance(x, float) and np.isnan(x)) and str(x).strip():
                        vname[i] = str(x).strip()
    layer_first = cfg.township.source == "layer"
    ask = ok if layer_first else np.array([i for i in ok if town[i] is None], dtype=np.int64)
    lt, lv = townships_by_layer(geoms[ask], county, sliver_m2) if len(ask) else (None, None)
    if lt is not None:
        for i, t_code, v_code in zip(ask.tolist(), lt.tolist(), lv.tolist()):
            if t_code is None:
                continue
            if layer_first or town[i] is None:
                if layer_first and town[i] != t_code:
                    vill[i] = vname[i] = None       # the DLTB village belongs to another township
                town[i] = t_code
            if vill[i] is None and v_code is not None:
                vill[i] = v_code
    tnames, vnames = township_names(county)
    return pd.DataFrame({
        "township": town,
        "township_name": np.array([tnames.get(x) if x else None for x in town], dtype=object),
        "village": vill,
        "village_name": np.array([vnames.get(v) or vn if v else None for v, vn in zip(vill, vname)], dtype=object),
        "construction_m2": cls_m2[CONSTRUCTION], "agri_m2": cls_m2[AGRI], "unused_m2": cls_m2[UNUSED],
    })

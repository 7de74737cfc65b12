"""The previous 年度变更调查 vintage of a synthetic county's 地类图斑, made by reverting a known set
of changes from the current one (``DLTB.shp``), so that the 地类转移矩阵 of the two is known.

    >>> from landkit.synth.vintage import make_previous_vintage
    >>> path, changes = make_previous_vintage("sample_data/420704_鄂城区", year=2023)

The current DLTB is read as landkit reads it (repaired geometry, standard fields). A changed 图斑
P of the current vintage either had another class in the previous one (attribute change), or was
part of a neighbouring 图斑 Q of that class (the previous polygon is P ∪ Q: P was split off Q).
Every other 图斑 is the same polygon in both vintages. The changes (``changes["items"]``, one per
P with its BSM, previous and current DLBM, area and partner) are, by kind:

* ``to_construction_monitored`` / ``to_construction_unmonitored``: 耕地 → 建设用地 under a 合法 /
  违法 卫片 patch, and where no patch lies (疑似漏监测);
* ``to_nonfood``: 耕地 → 园地 / 林地 / 坑塘 (preferably 图斑 whose ZZSXDM says 即可恢复 / 工程恢复);
* ``from_other``: 林地 / 草地 / 裸土地 / 宅基地 / 坑塘 … → 耕地 (补充耕地);
* ``to_nongrain``: 耕地 in both, ZZSXDM LS (粮食作物) → FLS (非粮食作物);
* ``kcxs``: 耕地 in both, 田坎系数 changed; ``cultivated_internal``: 水田 ↔ 旱地 / 水浇地;
* ``other``: changes between classes other than 耕地.

The previous vintage is written as a GeoPackage (layer ``DLTB``, fields BSM, DLBM, DLMC, ZLDWDM,
KCXS, ZZSXDM), without a spatial index and without geometry envelopes, to keep the demo small;
the defects deliberately put into the current DLTB (duplicate BSM, KCXS on non-耕地) are not
repeated. Deterministic for a given seed.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ._util import gpkg_fixup, rng_for

FIELDS = ["BSM", "DLBM", "DLMC", "ZLDWDM", "KCXS", "ZZSXDM"]
#: share of all changes per kind
MIX = {"to_construction_monitored": 0.10, "to_construction_unmonitored": 0.10, "to_nonfood": 0.15,
       "from_other": 0.12, "to_nongrain": 0.20, "kcxs": 0.08, "cultivated_internal": 0.05, "other": 0.20}
MERGE_SHARE = 0.5          # of the changes that can be a split, how many are
FROM_NONCULTIVATED = {"0307": 0.25, "0301": 0.15, "0404": 0.15, "1206": 0.1, "0702": 0.15, "1104": 0.1, "0204": 0.1}
OTHER_FROM = {"0701": ("0702", "05H1"), "0702": ("0701", "0301"), "0601": ("1104", "0301", "0702"),
              "05H1": ("0702", "0701"), "1003": ("0301", "1104", "0307"), "1004": ("0702",), "08H2": ("0702", "0701"),
              "1104": ("0301", "0307"), "0301": ("0404", "0307"), "0307": ("0301", "0404"), "1006": ("1107",),
              "1107": ("1006",), "0201": ("0301", "0204"), "0204": ("0201", "0307")}


def _weighted(rng, table: dict) -> str:
    keys = list(table)
    p = np.array([table[k] for k in keys], float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path, stamp: dt.date) -> None:
    """The layer as a GeoPackage without spatial index and without geometry envelopes (a valid
    GeoPackage binary header with envelope indicator 0), timestamps pinned: reproducible bytes."""
    for p in (path, path.with_suffix(".gpkg-wal"), path.with_suffix(".gpkg-shm")):
        if p.exists():
            p.unlink()
    pyogrio.write_dataframe(gdf, path, layer="DLTB", driver="GPKG", promote_to_multi=False,
                            layer_options={"SPATIAL_INDEX": "NO"})
    env = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
    con = sqlite3.connect(path)
    try:
        rows = con.execute('SELECT fid, geom FROM "DLTB"').fetchall()
        new = []
        for fid, b in rows:
            b = bytes(b)
            n = env[(b[3] >> 1) & 7]
            new.append((b[:3] + bytes([b[3] & ~0x0E]) + b[4:8] + b[8 + n:], fid))
        con.executemany('UPDATE "DLTB" SET geom = ? WHERE fid = ?', new)
        con.commit()
    finally:
        con.close()
    gpkg_fixup(path, stamp)


def make_previous_vintage(county_dir, out=None, *, year: int | None = None, seed: int = 420704,
                          rate: float = 0.01, stamp: dt.date | None = None) -> tuple[Path, dict]:
    """Write the previous vintage of ``county_dir/DLTB.shp`` and return (its path, the changes).

    Parameters
    ----------
    county_dir : a county folder made by :func:`landkit.synth.make_county`
    out : the file to write (default ``county_dir/DLTB_<year>.gpkg``)
    year : the previous vintage's year (default: the folder's ``[county] year`` − 1)
    rate : changes as a share of the current 图斑 (default 1 %)
    stamp : the date pinned in the GeoPackage (default 31 Dec of ``year``)
    """
    from ..io.read import read_layer
    from ..overlay.engine import overlay_areas
    from ..settings import load_settings
    from ..standards.area import ellipsoidal_area
    from ..standards.codes import CULTIVATED, construction_codes, dlbm_name
    from ..standards.vocabulary import ILLEGAL, LEGAL, classify_judgements

    folder = Path(county_dir)
    cfg = load_settings(folder)
    if year is None:
        year = int(cfg.county.year or dt.date.today().year) - 1
    stamp = stamp or dt.date(int(year), 12, 31)
    out = Path(out) if out is not None else folder / f"DLTB_{year}.gpkg"
    rng = rng_for(seed, f"previous_vintage_{year}")
    d = read_layer(folder / "DLTB.shp", role="dltb").reset_index(drop=True)
    g = np.asarray(d.geometry.values, dtype=object)
    n = len(d)
    area = ellipsoidal_area(g, crs=d.crs)
    code = d["DLBM"].astype(object).to_numpy()
    bsm = d["BSM"].astype(object).to_numpy()
    kcxs = pd.to_numeric(d["KCXS"], errors="coerce").fillna(0.0).to_numpy() if "KCXS" in d.columns else np.zeros(n)
    zz = d["ZZSXDM"].astype(object).where(d["ZZSXDM"].notna(), None).to_numpy() if "ZZSXDM" in d.columns \
        else np.full(n, None, dtype=object)
    gd = np.isin(code, list(CULTIVATED))
    cons = np.isin(code, list(construction_codes()))
    single = shapely.get_type_id(g) == 3
    dup = pd.Series(bsm).duplicated(keep=False).to_numpy()
    usable = single & ~dup & (area > 200) & (area < 60_000)

    # 卫片 cover of each 图斑 by 合法 / 违法 patches
    cover = np.zeros(n)
    any_patch = np.zeros(n)
    wp = folder / "卫片图斑.shp"
    if wp.exists():
        p = read_layer(wp, role="patches")
        cls = classify_judgements(p["判定类型"]).to_numpy()
        counted = p[np.isin(cls, [LEGAL, ILLEGAL])]
        if len(counted):
            cover = overlay_areas(d.geometry, counted.geometry, a_area_m2=area, assume_valid=True).table["share"].to_numpy()
        any_patch = overlay_areas(d.geometry, p.geometry, a_area_m2=area, assume_valid=True).table["overlap_m2"].to_numpy()

    tree = shapely.STRtree(g)
    used = np.zeros(n, dtype=bool)
    prev_code = code.copy()
    prev_k = np.where(gd, kcxs, 0.0)                   # the current KCXS-on-non-耕地 defect is not repeated
    prev_zz = zz.copy()
    prev_geom = g.copy()
    drop = np.zeros(n, dtype=bool)
    items: list[dict] = []
    total = max(8, int(round(rate * n)))
    want = {k: max(1, int(round(total * v))) for k, v in MIX.items()}

    def partner(i: int, codes) -> int | None:
        """A neighbour of i sharing more than 10 m of boundary, of one of ``codes``, not yet used."""
        near = tree.query(g[i], predicate="intersects")
        near = near[(near != i) & ~used[near] & np.isin(code[near], list(codes)) & single[near] & ~dup[near]]
        if not len(near):
            return None
        shared = shapely.length(shapely.intersection(shapely.boundary(g[near]), shapely.boundary(g[i])))
        ok = near[shared > 10.0]
        if not len(ok):
            return None
        return int(ok[int(rng.integers(len(ok)))])

    def change(kind: str, i: int, from_codes, *, merge: bool = True, k: float | None = None,
               zz_prev: str | None = "keep"):
        """Revert 图斑 i to one of ``from_codes`` (a split off a neighbour of that class when possible)."""
        q = partner(i, from_codes) if merge and rng.random() < MERGE_SHARE else None
        if q is not None:
            u = shapely.union(g[i], g[q])
            if shapely.get_type_id(u) != 3 or not shapely.is_valid(u):
                q = None
        used[i] = True
        if q is not None:
            used[q] = True
            prev_geom[q] = u
            drop[i] = True
            frm = str(code[q])
            kp = float(prev_k[q])
        else:
            frm = str(from_codes[int(rng.integers(len(from_codes)))]) if not isinstance(from_codes, dict) \
                else _weighted(rng, from_codes)
            prev_code[i] = frm
            kp = (float(kcxs[i]) if gd[i] else 0.05) if frm in CULTIVATED else 0.0
            if k is not None:
                kp = k
            prev_k[i] = kp
            if zz_prev != "keep":
                prev_zz[i] = zz_prev
            elif frm in CULTIVATED and not gd[i]:
                prev_zz[i] = "LS"
            elif frm not in CULTIVATED:
                prev_zz[i] = None
        items.append({"kind": kind, "bsm": str(bsm[i]), "from": frm, "to": str(code[i]),
                      "area_m2": round(float(area[i]), 2), "split_from": str(bsm[q]) if q is not None else "",
                      "previous_kcxs": round(kp, 4), "current_kcxs": round(float(kcxs[i]) if gd[i] else 0.0, 4)})

    def pick(mask: np.ndarray, k: int) -> list[int]:
        cand = np.flatnonzero(mask & usable & ~used)
        if not len(cand):
            return []
        return [int(x) for x in rng.choice(cand, size=min(k, len(cand)), replace=False)]

    gd_codes = {"0101": 0.7, "0103": 0.3}
    for i in pick(cons & (cover >= 0.5), want["to_construction_monitored"]):
        if not used[i]:
            change("to_construction_monitored", i, gd_codes)
    for i in pick(cons & (any_patch < 1.0) & np.isin(code, ["0601", "0701", "0702", "05H1", "1003", "0809"]),
                  want["to_construction_unmonitored"]):
        if not used[i]:
            change("to_construction_unmonitored", i, gd_codes)
    nonfood_cur = np.isin(code, ["0201", "0204", "0301", "0307", "1104"])
    restorable = np.isin(zz, ["JKHF", "GCHF"])
    picks = pick(nonfood_cur & restorable, want["to_nonfood"])
    picks += pick(nonfood_cur & ~restorable, want["to_nonfood"] - len(picks))
    for i in picks:
        if not used[i]:
            change("to_nonfood", i, gd_codes)
    for i in pick(gd & (any_patch < 1.0), want["from_other"]):
        if not used[i]:
            change("from_other", i, FROM_NONCULTIVATED)
    for i in pick(gd & (zz == "FLS"), want["to_nongrain"]):
        if not used[i]:
            change("to_nongrain", i, [str(code[i])], merge=False, zz_prev="LS")
    for i in pick(gd & (kcxs > 0.03), want["kcxs"]):
        if not used[i]:
            dk = 0.02 if rng.random() < 0.5 else -0.02
            change("kcxs", i, [str(code[i])], merge=False, k=round(float(kcxs[i]) + dk, 4))
    for i in pick(np.isin(code, ["0101", "0103"]), want["cultivated_internal"]):
        if not used[i]:
            change("cultivated_internal", i, ["0103"] if code[i] == "0101" else ["0101"])
    for i in pick(np.isin(code, list(OTHER_FROM)), want["other"]):
        if not used[i]:
            change("other", i, list(OTHER_FROM[str(code[i])]))

    keep = ~drop
    bsm_prev = bsm.copy()
    if dup.any():                                      # the current duplicate BSM is not repeated
        seen = set()
        for j in np.flatnonzero(dup):
            if bsm_prev[j] in seen:
                bsm_prev[j] = f"{str(bsm_prev[j])[:-6]}{900000 + j:06d}"
            seen.add(bsm_prev[j])
    prev = gpd.GeoDataFrame({
        "BSM": bsm_prev[keep], "DLBM": prev_code[keep],
        "DLMC": [dlbm_name(str(c)) for c in prev_code[keep]],
        "ZLDWDM": d["ZLDWDM"].astype(object).to_numpy()[keep],
        "KCXS": np.round(prev_k[keep], 4), "ZZSXDM": prev_zz[keep],
    }, geometry=prev_geom[keep], crs=d.crs)
    prev = prev[FIELDS + ["geometry"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_gpkg(prev, out, stamp)
    by_kind: dict[str, dict] = {}
    for it in items:
        b = by_kind.setdefault(it["kind"], {"count": 0, "area_m2": 0.0, "split": 0})
        b["count"] += 1
        b["area_m2"] += it["area_m2"]
        b["split"] += bool(it["split_from"])
    return out, {"year": int(year), "file": out.name, "features": int(keep.sum()), "items": items,
                 "by_kind": {k: {**v, "area_m2": round(v["area_m2"], 2)} for k, v in by_kind.items()}}


def manifest_section(changes: dict) -> str:
    """The ``[previous_vintage]`` section of ``synth_manifest.toml`` for the changes."""
    def q(s):
        return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = [f"[previous_vintage]  # {changes['file']}: the {changes['year']} vintage, changes reverted from DLTB.shp",
             f"year = {changes['year']}", f"file = {q(changes['file'])}", f"features = {changes['features']}", ""]
    for k, v in changes["by_kind"].items():
        lines.append(f"[previous_vintage.by_kind.{k}]")
        lines.append(f"count = {v['count']}\narea_m2 = {v['area_m2']}\nsplit = {v['split']}")
    lines.append("")
    for it in changes["items"]:
        lines.append("[[previous_vintage.changes]]")
        lines += [f"{k} = {q(v) if isinstance(v, str) else v}" for k, v in it.items()]
    return "\n".join(lines) + "\n"

"""Two vintages of the 地类图斑 compared (docs/rules.md §4.9): the 地类转移矩阵, the 耕地 balance
(流出 / 流入), 非农化 and 非粮化, and the cross-check of the 卫片 ratio's denominator.

The previous vintage (``county.dltb_previous``, an earlier 年度变更调查) is overlaid exactly on the
current one (``county.dltb``); every overlay piece carries the class it had and the class it has:

* **Unchanged 图斑** — the same polygon in both vintages (equal after ``shapely.normalize``) —
  give one piece, the whole polygon, without any geometry work. Every pair of polygons in which
  at least one side changed is measured by the overlay engine
  (:func:`landkit.overlay.engine.pair_areas`: CGCS2000 ellipsoidal m², exact predicates). Two
  unchanged 图斑 are taken not to overlap each other (三调 图斑 do not overlap; the overlay of a
  vintage with itself would otherwise count such an overlap four times).
* **Slivers**: pieces under ``[area] sliver_m2`` are left out and counted, as everywhere.
* **田坎**: gross = the piece's area; net = the piece's 耕地 part, × (1 − KCXS) of the 耕地 图斑 it
  lies in (KCXS counts only on 耕地, R4). In the net matrix the deducted part is its own class,
  1203 田坎, and where KCXS differs between the vintages the larger 田坎 share stays 田坎 and the
  difference moves between 耕地 and 田坎, so rows sum to the previous vintage's net areas and
  columns to the current one's.
* **耕地** = 0101/0102/0103; **非农化** = 耕地 → 建设用地 (三大类, R5, with the ``[classes]``
  switches); **非粮化** = 耕地 → ``[change] nonfood_dlbm`` (园地, 林地, 草地, 坑塘水面), and where
  both vintages carry 种植属性 ZZSXDM, 耕地 that stays 耕地 but whose ZZSXDM turned to one of
  ``[change] nongrain_zzsxdm``.
* **卫片 cross-check**: 耕地 → 建设用地 over the period (``new_construction_on_cultivated_mu``)
  against the 卫片 denominator D (新增建设用地占用耕地 of legal + illegal patches) of the same
  year; every 耕地 piece that flowed out is overlaid with the 卫片 patches, and a piece that went
  to 建设用地 with no patch on it is listed as 疑似漏监测.

Figures are in 亩 in ``[change] farmland_mode`` (default: ``[satellite] farmland_mode``, net),
with both the gross and the net figures beside them; by township (R6a: the current vintage's
ZLDWDM, else the previous one's, else the townships layer). Pure: reads no files, writes none.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from ..overlay.engine import NOISE_M2, overlay_areas, pair_areas, pair_pieces
from ..settings import settings_for
from ..standards.codes import (
    AGRI,
    CONSTRUCTION,
    CULTIVATED,
    LEVEL1_NAMES,
    UNUSED,
    class_sets,
    dlbm_name,
    is_township_code,
    is_valid_unit_code,
    level1_code,
)
from ..standards.units import m2_to_mu
from .location import piece_townships, township_names, townships_by_layer

TIANKAN = "1203"
UNKNOWN = "未知"
CLASS_ORDER = (AGRI, CONSTRUCTION, UNUSED, UNKNOWN)
#: how a 耕地 piece changed (``kind`` in :attr:`ChangeResult.cultivated`)
KINDS = {"to_construction": "非农化（耕地变为建设用地）", "to_nonfood": "非粮化（耕地变为园地、林地、草地、坑塘等）",
         "to_other": "耕地变为其他地类", "to_nongrain": "非粮化（耕地改种非粮作物）", "from_other": "其他地类变为耕地"}
#: whether a 耕地 piece that flowed out lies under a 卫片 patch (``has_patch``)
PATCH_STATES = {"yes": "是", "partly": "部分", "no": "否", "no_layer": "无卫片图层"}


@dataclass
class ChangeResult:
    """The comparison of two DLTB vintages.

    summary : what summary.json holds under ``change`` (docs/summary-schema.md)
    pieces : every overlay piece ≥ the sliver tolerance (no geometry): ``ia``/``ib`` (positions in
        the previous / current vintage), ``from_code``/``to_code`` (DLBM), ``gross_m2``, ``from_kcxs``,
        ``to_kcxs`` (田坎 coefficients counted: 耕地 only), ``unchanged`` (the same polygon in both)
    cultivated : the 耕地 pieces that changed, with geometry: flowed out (``direction`` "out"),
        flowed in ("in"), stayed 耕地 but turned non-grain ("nongrain"); township, village, areas
        (``gross_m2``, ``net_m2``, ``area_m2`` in the summary's mode, and ``_mu``), 卫片 cover
    """

    summary: dict
    pieces: pd.DataFrame
    cultivated: gpd.GeoDataFrame

    @property
    def outflow(self) -> gpd.GeoDataFrame:
        """The 耕地 pieces that flowed out (the 耕地流出清单), largest first."""
        c = self.cultivated
        return c[c["direction"] == "out"].sort_values("area_m2", ascending=False, kind="stable")

    def matrix(self, level: str = "level1", mode: str | None = None) -> pd.DataFrame:
        """The transfer matrix as a pivot: rows = previous class, columns = current class, 亩, with
        合计 row and column. ``level``: ``level1`` (一级类), ``level2`` (二级类) or ``class`` (三大类);
        ``mode``: ``gross``, ``net`` or None (the summary's mode)."""
        key = {"level1": "matrix_level1", "level2": "matrix_level2", "class": "matrix_class"}[level]
        col = {"gross": "gross_mu", "net": "net_mu", None: "area_mu"}[mode]
        cells = pd.DataFrame(self.summary[key])
        if not len(cells):
            return pd.DataFrame()
        rows = _ordered(cells, "from")
        cols = _ordered(cells, "to")
        piv = cells.pivot_table(index="from_label", columns="to_label", values=col, aggfunc="sum", fill_value=0.0)
        piv = piv.reindex(index=rows, columns=cols, fill_value=0.0)
        piv["合计"] = piv.sum(axis=1)
        piv.loc["合计"] = piv.sum(axis=0)
        piv.index.name, piv.columns.name = "原地类（上一期）", "现地类（本期）"
        return piv

    def _repr_html_(self) -> str:
        s = self.summary
        return (f"<b>地类变化 {s['previous_year'] or '上一期'}→{s['current_year'] or '本期'}</b>："
                f"耕地流出 {s['cultivated_out_mu']:.2f} 亩，流入 {s['cultivated_in_mu']:.2f} 亩，"
                f"净变化 {s['cultivated_net_change_mu']:.2f} 亩；非农化 {s['cultivated_to_construction_mu']:.2f} 亩"
                + self.matrix().round(2).to_html())


def _ordered(cells: pd.DataFrame, side: str) -> list[str]:
    """Labels of one side of the matrix in code order (unknown codes last)."""
    lab = cells[[f"{side}_code", f"{side}_name"]].drop_duplicates()
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    lab = lab.assign(k=[(order.get(c, -1), c or "~") for c in lab[f"{side}_code"]]).sort_values("k")
    cells[f"{side}_label"] = [_label(c, n) for c, n in zip(cells[f"{side}_code"], cells[f"{side}_name"])]
    return [_label(c, n) for c, n in zip(lab[f"{side}_code"], lab[f"{side}_name"])]


def _label(code, name) -> str:
    return name if code == name else f"{code} {name}"


# ------------------------------------------------------------------ unchanged polygons
def _single(g: np.ndarray) -> np.ndarray:
    """Single-part MultiPolygons as Polygons (one vintage from a FileGDB, the other from a shapefile)."""
    g = np.asarray(g, dtype=object)
    one = (shapely.get_type_id(g) == 6) & (shapely.get_num_geometries(g) == 1)
    if one.any():
        g = g.copy()
        g[one] = shapely.get_geometry(g[one], 0)
    return g


def identical_pairs(ga: np.ndarray, gb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ma, mb): for every polygon of ``ga`` the position of the same polygon in ``gb`` (equal after
    ``shapely.normalize``: ring order, orientation, start vertex and a single-part MultiPolygon do
    not matter), else −1; and the reverse. A geometry repeated within one vintage is matched to nothing."""
    wa = pd.Series(shapely.to_wkb(shapely.normalize(_single(ga))))
    wb = pd.Series(shapely.to_wkb(shapely.normalize(_single(gb))))
    ua = ~wa.duplicated(keep=False).to_numpy()
    ub = ~wb.duplicated(keep=False).to_numpy()
    pos_b = pd.Series(np.flatnonzero(ub), index=wb[ub].to_numpy())
    hit = pos_b.reindex(wa[ua].to_numpy())
    ma = np.full(len(ga), -1, dtype=np.intp)
    ok = hit.notna().to_numpy()
    ma[np.flatnonzero(ua)[ok]] = hit.to_numpy()[ok].astype(np.intp)
    mb = np.full(len(gb), -1, dtype=np.intp)
    mb[ma[ma >= 0]] = np.flatnonzero(ma >= 0)
    return ma, mb


def overlay_vintages(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, crs, *, threads: int | None = None) -> dict:
    """Every piece of the exact overlay of two vintages (see the module docstring): positions
    ``ia`` (previous) and ``ib`` (current), ``area_m2`` (ellipsoidal, m², > 1e-6), ``unchanged``;
    and ``unchanged_count`` (polygons equal in both), ``fallback_pairs``."""
    ga = np.asarray(old.geometry.values, dtype=object)
    gb = np.asarray(new.geometry.values, dtype=object)
    area_a = old["lk_area_m2"].to_numpy(dtype="float64")
    ma, mb = identical_pairs(ga, gb)
    qb, qa = shapely.STRtree(ga).query(gb)             # envelope pairs: (current, previous)
    keep = (ma[qa] < 0) | (mb[qb] < 0)                 # a pair with a changed polygon on either side
    ia, ib = qa[keep], qb[keep]
    area, fallback = pair_areas(ga, gb, ia, ib, crs=crs, a_area_m2=area_a, threads=threads)
    same = np.flatnonzero(ma >= 0)
    ia = np.concatenate([same, ia]).astype(np.intp)
    ib = np.concatenate([ma[same], ib]).astype(np.intp)
    area = np.concatenate([area_a[same], area])
    unchanged = np.zeros(len(ia), dtype=bool)
    unchanged[:len(same)] = True
    real = area >= NOISE_M2
    order = np.lexsort((ib[real], ia[real]))
    return {"ia": ia[real][order], "ib": ib[real][order], "area_m2": area[real][order],
            "unchanged": unchanged[real][order], "unchanged_count": len(same), "fallback_pairs": fallback}


# ------------------------------------------------------------------ helpers
def _codes(d: gpd.GeoDataFrame) -> np.ndarray:
    """DLBM as text, "" where missing (object array)."""
    if "DLBM" not in d.columns:
        return np.full(len(d), "", dtype=object)
    return d["DLBM"].astype("string").fillna("").astype(object).to_numpy(dtype=object)


def _kcxs(d: gpd.GeoDataFrame, codes: np.ndarray) -> np.ndarray:
    """KCXS counted: on 耕地 only, values outside [0, 1) as 0 (R4)."""
    if "KCXS" not in d.columns:
        return np.zeros(len(d))
    k = pd.to_numeric(d["KCXS"], errors="coerce").to_numpy(dtype="float64")
    ok = np.isfinite(k) & (k >= 0) & (k < 1) & _isin(codes, list(CULTIVATED))
    return np.where(ok, k, 0.0)


def _text(d: gpd.GeoDataFrame, col: str) -> np.ndarray:
    """A text column as stripped strings, None where empty (object array)."""
    if col not in d.columns:
        return np.full(len(d), None, dtype=object)
    t = d[col].astype("string").str.strip()
    return t.where(t.notna() & (t != ""), None).astype(object).to_numpy(dtype=object)


def _isin(values: np.ndarray, among) -> np.ndarray:
    """``np.isin`` for object arrays of codes, by hashing (much faster than numpy's sort for text)."""
    return pd.Series(values, dtype=object).isin(list(among)).to_numpy(dtype=bool)


def _name2(code: str) -> str:
    if code == "":
        return "（空）"
    return dlbm_name(code) or code


def _level1(code: str) -> tuple[str, str]:
    c = level1_code(code)
    if c is None:
        return UNKNOWN, UNKNOWN
    return c, LEVEL1_NAMES[c]


def _cells(df: pd.DataFrame, key, mode: str) -> list[dict]:
    """Matrix cells [{from_code, from_name, to_code, to_name, area_mu, gross_mu, net_mu}] of piece
    rows (from, to, gross_m2, net_m2) grouped by ``key`` (a function of a code → (code, name))."""
    if not len(df):
        return []
    f = {c: key(c) for c in set(df["from"])}
    t = {c: key(c) for c in set(df["to"])}
    g = pd.DataFrame({"from_code": [f[c][0] for c in df["from"]], "from_name": [f[c][1] for c in df["from"]],
                      "to_code": [t[c][0] for c in df["to"]], "to_name": [t[c][1] for c in df["to"]],
                      "gross": df["gross"].to_numpy(), "net": df["net"].to_numpy()})
    g = g.groupby(["from_code", "from_name", "to_code", "to_name"], sort=False)[["gross", "net"]].sum().reset_index()
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    g = g.assign(k1=[(order.get(c, -1), c) for c in g["from_code"]],
                 k2=[(order.get(c, -1), c) for c in g["to_code"]]).sort_values(["k1", "k2"])
    out = []
    for r in g.itertuples(index=False):
        gross, net = float(m2_to_mu(r.gross)), float(m2_to_mu(r.net))
        out.append({"from_code": r.from_code, "from_name": r.from_name, "to_code": r.to_code, "to_name": r.to_name,
                    "area_mu": net if mode == "net" else gross, "gross_mu": gross, "net_mu": net})
    return out


def _by(values: np.ndarray, weights: np.ndarray, key) -> list[dict]:
    """[{code, name, ..., area_mu}] of summed ``weights`` per code (``key(code)`` → extra fields), largest first."""
    if not len(values):
        return []
    s = pd.Series(weights).groupby(pd.Series(values, dtype=object)).sum().sort_values(ascending=False)
    return [{"code": c, **key(c), "area_mu": float(m2_to_mu(v))} for c, v in s.items() if v > 0]


# ------------------------------------------------------------------ the analysis
@dataclass
class _Rules:
    """What the settings decide: mode, classes, the 非粮化 sets, the sliver tolerance."""
    mode: str
    sliver: float
    big: dict            # DLBM → 三大类
    construction: list
    nonfood: list
    nongrain: list

    @property
    def net(self) -> bool:
        return self.mode == "net"


@dataclass
class _Overlay:
    """The overlay pieces ≥ the sliver tolerance and what each side of them was (see the module docstring)."""
    ia: np.ndarray
    ib: np.ndarray
    g: np.ndarray               # gross area, m²
    fc: np.ndarray              # previous DLBM
    tc: np.ndarray              # current DLBM
    ka: np.ndarray              # KCXS counted, previous / current
    kb: np.ndarray
    unchanged: np.ndarray       # the same polygon in both vintages

    @cached_property
    def gd_from(self):
        return _isin(self.fc, CULTIVATED)

    @cached_property
    def gd_to(self):
        return _isin(self.tc, CULTIVATED)

    @property
    def out(self):      # 耕地 → not 耕地
        return self.gd_from & ~self.gd_to

    @property
    def into(self):     # not 耕地 → 耕地
        return ~self.gd_from & self.gd_to

    @property
    def stay(self):     # 耕地 in both
        return self.gd_from & self.gd_to

    @property
    def out_net(self):
        return self.g * (1.0 - self.ka)

    @property
    def in_net(self):
        return self.g * (1.0 - self.kb)

    @property
    def kcxs_gain(self):     # on 耕地 that stays 耕地: a smaller deduction is a gain
        return self.g * (self.ka - self.kb)


def _components(p: _Overlay) -> pd.DataFrame:
    """Per piece (``piece`` = its position) the matrix rows (from, to, gross m², net m²): gross as
    coded; net with 田坎 its own class, as much of the 耕地 and of the 田坎 part staying what it was
    as the two coefficients allow."""
    fc, tc, g, ka, kb = p.fc, p.tc, p.g, p.ka, p.kb
    k = np.arange(len(g))
    net_rows = [pd.DataFrame({"piece": k, "from": fc, "to": tc, "net": g * (1.0 - np.maximum(ka, kb))}),
                pd.DataFrame({"piece": k, "from": TIANKAN, "to": TIANKAN, "net": g * np.minimum(ka, kb)}),
                pd.DataFrame({"piece": k, "from": fc, "to": TIANKAN, "net": g * np.clip(kb - ka, 0, None)}),
                pd.DataFrame({"piece": k, "from": TIANKAN, "to": tc, "net": g * np.clip(ka - kb, 0, None)})]
    return pd.concat([pd.DataFrame({"piece": k, "from": fc, "to": tc, "gross": g, "net": 0.0})]
                     + [r[r["net"] > 0].assign(gross=0.0) for r in net_rows], ignore_index=True)


def _matrices(comp: pd.DataFrame, rules: _Rules) -> tuple[list, list, list]:
    """(二级类, 一级类, 三大类) cells of the components (:func:`_components`)."""
    comp = comp.groupby(["from", "to"], sort=False)[["gross", "net"]].sum().reset_index()
    return (_cells(comp, lambda c: (c or "", _name2(c)), rules.mode), _cells(comp, _level1, rules.mode),
            _cells(comp, lambda c: (rules.big.get(c, UNKNOWN),) * 2, rules.mode))


def _piece_townships(p: _Overlay, old, new, county, cfg, rules: _Rules, cult: gpd.GeoDataFrame) -> np.ndarray:
    """The township of every piece (R6a): the current 图斑's ZLDWDM, else the previous one's, else the
    townships layer on the current 图斑 (layer first with ``[township] source = "layer"``); the 耕地
    pieces keep the township found for them on their own geometry."""
    def codes(d):       # ZLDWDM[:9] where it is a valid 19-digit code (vectorised; prefixes checked once)
        if "ZLDWDM" not in d.columns:
            return np.full(len(d), None, dtype=object)
        z = d["ZLDWDM"].astype("string").str.strip()
        t = z.str[:9]
        ok_t = {x: is_township_code(x) for x in t.dropna().unique()}
        ok = z.str.fullmatch(r"\d{19}").fillna(False).to_numpy(dtype=bool) & t.map(ok_t).fillna(False).to_numpy(dtype=bool)
        return np.where(ok, t.to_numpy(dtype=object), None).astype(object)
    ta, tb = codes(old)[p.ia], codes(new)[p.ib]
    town = np.where(pd.isna(tb), ta, tb).astype(object)
    layer_first = cfg.township.source == "layer"
    ask = np.unique(p.ib if layer_first else p.ib[pd.isna(town)])
    if len(ask) and county.townships is not None:
        gb = np.asarray(new.geometry.values, dtype=object)
        lt, _ = townships_by_layer(gb[ask], county, rules.sliver)
        by_b = pd.Series(lt, index=ask, dtype=object)
        lay = by_b.reindex(p.ib).to_numpy(dtype=object)
        take = ~pd.isna(lay) if layer_first else pd.isna(town) & ~pd.isna(lay)
        town[take] = lay[take]
    town = np.where(pd.isna(town), UNKNOWN, town).astype(object)
    town[cult["piece"].to_numpy()] = cult["township"].to_numpy(dtype=object)
    return town


def _nongrain_mask(p: _Overlay, zz_a, zz_b, rules: _Rules) -> np.ndarray:
    """耕地 in both vintages whose ZZSXDM turned to a non-grain value."""
    return p.stay & _isin(zz_b[p.ib], rules.nongrain) & ~_isin(zz_a[p.ia], rules.nongrain)


def _balance(p: _Overlay, ng: np.ndarray | None, net: bool, rules: _Rules) -> dict:
    """The 耕地 balance in one mode (gross or net); ``ng`` the non-grain mask, None without ZZSXDM."""
    def mu(x) -> float:
        return float(m2_to_mu(np.sum(x)))
    out, into = p.out, p.into
    o = p.out_net if net else p.g
    i_ = p.in_net if net else p.g
    adj = mu(p.kcxs_gain[p.stay]) if net else 0.0
    to_ng = (mu((p.in_net if net else p.g)[ng]) if ng is not None else None)
    by_class = mu(o[out & _isin(p.tc, rules.nonfood)])
    return {"cultivated_out_mu": mu(o[out]), "cultivated_in_mu": mu(i_[into]), "cultivated_kcxs_change_mu": adj,
            "cultivated_net_change_mu": mu(i_[into]) - mu(o[out]) + adj,
            "cultivated_to_construction_mu": mu(o[out & _isin(p.tc, rules.construction)]),
            "cultivated_to_nonfood_by_class_mu": by_class, "cultivated_to_nongrain_mu": to_ng,
            "cultivated_to_nonfood_mu": by_class + (to_ng or 0.0)}


def _patch_cover(geoms, gross, patches, crs, sliver) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(covered m², 监测编号 joined, state yes/partly/no) of pieces against the 卫片 patches (union)."""
    ids = patches["监测编号"].astype("string").fillna("").to_numpy(dtype=object) if "监测编号" in patches.columns \
        else ("FID " + patches["lk_fid"].astype(str)).to_numpy(dtype=object)
    r = overlay_areas(geoms, patches.geometry, crs=crs, b_ids=ids, sliver_m2=sliver, a_area_m2=gross, b_valid=True)
    cov = np.minimum(r.table["overlap_m2"].to_numpy(), gross)
    names = np.array(["、".join(map(str, x)) or None for x in r.table["b_ids"]], dtype=object)
    state = np.where(cov < sliver, "no", np.where(gross - cov < sliver, "yes", "partly")).astype(object)
    return cov, names, state


def _cultivated_pieces(county, old, new, p: _Overlay, ng: np.ndarray, rules: _Rules, cfg,
                       threads: int | None) -> gpd.GeoDataFrame:
    """The 耕地 pieces that changed (流出, 流入, 改种非粮) with geometry, township, village and 卫片 cover."""
    sel = np.flatnonzero(p.out | p.into | ng)
    ia, ib = p.ia[sel], p.ib[sel]
    ga = np.asarray(old.geometry.values, dtype=object)
    gb = np.asarray(new.geometry.values, dtype=object)
    geoms = np.empty(len(sel), dtype=object)
    whole = p.unchanged[sel]
    geoms[whole] = gb[ib[whole]]                        # an unchanged polygon is its own piece
    if (~whole).any():
        geoms[~whole] = pair_pieces(ga, gb, ia[~whole], ib[~whole], threads=threads)
    zl_a, zl_b = _text(old, "ZLDWDM"), _text(new, "ZLDWDM")
    zl = np.array([b if is_valid_unit_code(b) else a for a, b in zip(zl_a[ia], zl_b[ib])], dtype=object)
    town, vill = piece_townships(zl, geoms, county, cfg, rules.sliver)
    tnames, vnames = township_names(county)
    direction = np.where(p.out[sel], "out", np.where(p.into[sel], "in", "nongrain")).astype(object)
    fc, tc = p.fc[sel], p.tc[sel]
    kind = np.where(direction == "in", "from_other", np.where(
        direction == "nongrain", "to_nongrain", np.where(
            _isin(tc, rules.construction), "to_construction", np.where(
                _isin(tc, rules.nonfood), "to_nonfood", "to_other"))))
    gross = p.g[sel]
    net = np.where(direction == "out", p.out_net[sel], p.in_net[sel])
    bsm_a, bsm_b = _text(old, "BSM"), _text(new, "BSM")
    zz_a, zz_b = _text(old, "ZZSXDM"), _text(new, "ZZSXDM")
    cult = gpd.GeoDataFrame({
        "direction": direction, "kind": kind, "kind_name": [KINDS[k] for k in kind],
        "from_bsm": bsm_a[ia], "to_bsm": bsm_b[ib],
        "from_code": fc, "from_name": [_name2(c) for c in fc], "to_code": tc, "to_name": [_name2(c) for c in tc],
        "to_level1": [_level1(c)[0] for c in tc], "to_level1_name": [_level1(c)[1] for c in tc],
        "from_level1": [_level1(c)[0] for c in fc], "from_level1_name": [_level1(c)[1] for c in fc],
        "to_class": [rules.big.get(c, UNKNOWN) for c in tc], "from_class": [rules.big.get(c, UNKNOWN) for c in fc],
        "from_zzsx": zz_a[ia], "to_zzsx": zz_b[ib],
        "township": [t if t else UNKNOWN for t in town],
        "township_name": [tnames.get(t, t) if t else UNKNOWN for t in town],
        "village": vill, "village_name": [vnames.get(v) if v else None for v in vill],
        "gross_m2": gross, "net_m2": net, "area_m2": net if rules.net else gross, "unchanged_polygon": whole,
    }, geometry=geoms, crs=county.crs)
    out = np.flatnonzero(direction == "out")
    patch_m2 = np.full(len(sel), np.nan)
    patch_ids = np.full(len(sel), None, dtype=object)
    has = np.full(len(sel), None, dtype=object)
    if county.patches is not None and len(out):
        patch_m2[out], patch_ids[out], has[out] = _patch_cover(geoms[out], gross[out], county.patches, county.crs,
                                                                rules.sliver)
    elif len(out):
        has[out] = "no_layer"
    cult["patch_m2"] = patch_m2
    cult["patch_ids"] = patch_ids
    cult["has_patch"] = has
    cult["has_patch_name"] = [PATCH_STATES.get(x) if x else None for x in has]
    cult["unmonitored"] = (kind == "to_construction") & (has == "no")
    scale = np.where(direction == "out", 1.0 - p.ka[sel], 1.0) if rules.net else np.ones(len(sel))
    cult["patch_used_m2"] = patch_m2 * scale           # the cover in the summary's mode
    for c in ("gross_m2", "net_m2", "area_m2", "patch_m2", "patch_used_m2"):
        cult[c[:-3] + "_mu"] = m2_to_mu(cult[c].to_numpy(dtype="float64"))
    cult.insert(0, "piece_id", [f"BH{i + 1:05d}" for i in range(len(cult))])
    cult["piece"] = sel                                 # position among the overlay pieces
    return cult


def _level1_cells_by(comp: pd.DataFrame, town: np.ndarray, mode: str) -> dict[str, list]:
    """{township: its 一级类 matrix cells} of the components, grouped once."""
    if not len(comp):
        return {}
    def level1_of(col):                 # by the distinct codes: no Python loop over the pieces
        k, uniq = pd.factorize(comp[col])
        return np.array([_level1(str(c))[0] for c in uniq], dtype=object)[k]
    g = pd.DataFrame({"t": town[comp["piece"].to_numpy()], "f": level1_of("from"), "o": level1_of("to"),
                      "gross": comp["gross"].to_numpy(), "net": comp["net"].to_numpy()})
    g = g.groupby(["t", "f", "o"], sort=True)[["gross", "net"]].sum().reset_index()
    out: dict[str, list] = {}
    for t, f, o, gross, net in g.itertuples(index=False, name=None):
        gm, nm = float(m2_to_mu(gross)), float(m2_to_mu(net))
        out.setdefault(t, []).append({"from_code": f, "from_name": LEVEL1_NAMES.get(f, UNKNOWN), "to_code": o,
                                      "to_name": LEVEL1_NAMES.get(o, UNKNOWN), "area_mu": nm if mode == "net" else gm,
                                      "gross_mu": gm, "net_mu": nm})
    return out


def _by_township(cult: gpd.GeoDataFrame, p: _Overlay, comp: pd.DataFrame, town: np.ndarray, county,
                 rules: _Rules, sat: dict | None, gap_known: bool, has_zz: bool) -> list[dict]:
    """The balance and the 一级类 matrix per township (``town``: each piece's township)."""
    tnames, _ = township_names(county)
    ct = pd.DataFrame({"t": cult["township"].to_numpy(dtype=object), "d": cult["direction"].to_numpy(dtype=object),
                       "k": cult["kind"].to_numpy(dtype=object), "a": cult["area_m2"].to_numpy(),
                       "u": cult["unmonitored"].to_numpy(), "p": cult["patch_used_m2"].fillna(0).to_numpy()})
    stay = p.stay
    adj_t = pd.Series(p.kcxs_gain[stay]).groupby(town[stay]).sum() if rules.net and stay.any() \
        else pd.Series(dtype=float)
    mats = _level1_cells_by(comp, town, rules.mode)
    sat_t = {str(r.get("code")): r for r in (sat or {}).get("by_township") or [] if isinstance(r, dict)}
    has_patches = county.patches is not None
    rows = []
    for code in sorted(set(ct["t"]) | set(adj_t.index) | set(sat_t) | set(mats)):
        sub = ct[ct["t"] == code]

        def mu(mask, col="a", sub=sub):
            return float(m2_to_mu(sub.loc[mask, col].sum()))
        o, i_ = mu(sub["d"] == "out"), mu(sub["d"] == "in")
        a_ = float(m2_to_mu(adj_t.get(code, 0.0)))
        cons = mu(sub["k"] == "to_construction")
        ngt = mu(sub["k"] == "to_nongrain") if has_zz else None
        D = ((sat_t.get(code) or {}).get("new_construction_farmland_mu") or 0.0) if sat else None
        rows.append({"code": code, "name": tnames.get(code, code), "cultivated_out_mu": o, "cultivated_in_mu": i_,
                     "cultivated_kcxs_change_mu": a_, "cultivated_net_change_mu": i_ - o + a_,
                     "cultivated_to_construction_mu": cons,
                     "cultivated_to_nonfood_mu": mu(sub["k"] == "to_nonfood") + (ngt or 0.0),
                     "cultivated_to_nongrain_mu": ngt, "new_construction_on_cultivated_mu": cons,
                     "satellite_denominator_mu": D,
                     "satellite_denominator_gap_mu": (cons - D) if gap_known and D is not None else None,
                     "unmonitored_count": int(sub["u"].sum()) if has_patches else None,
                     "unmonitored_mu": max(0.0, cons - mu(sub["k"] == "to_construction", "p")) if has_patches else None,
                     "matrix_level1": mats.get(code, [])})
    rows.sort(key=lambda r: (-r["cultivated_out_mu"], r["code"]))
    return rows


def land_change(county, config=None, *, satellite: dict | None = None, threads: int | None = None) -> ChangeResult:
    """Compare the county's previous and current 地类图斑 (see the module docstring).

    Parameters
    ----------
    county : a :class:`landkit.County` with ``dltb`` and ``dltb_previous``
    config : settings on top of the county's (a dict or Settings)
    satellite : the 卫片 summary of the same year (``summary["satellite"]``), for the cross-check
        of its denominator; None: the cross-check figures are null with the reason

    Returns a :class:`ChangeResult`; areas CGCS2000 ellipsoidal, ``*_m2`` m², ``*_mu`` 亩 (unrounded).
    """
    cfg = settings_for(county, config)
    old, new = county.dltb_previous, county.dltb
    if new is None:
        raise InputError("该县没有地类图斑图层，无法做两期地类比较", file=county.path)
    if old is None:
        raise InputError("该县只有一期地类图斑，无法做两期地类比较", file=county.path)
    sets = class_sets(**cfg.classes.as_dict())
    rules = _Rules(cfg.change.farmland_mode or cfg.satellite.farmland_mode, cfg.sliver_m2,
                   {c: k for k, codes in sets.items() for c in codes}, sorted(sets[CONSTRUCTION]),
                   [str(c).strip() for c in cfg.change.nonfood_dlbm], [str(c).strip() for c in cfg.change.nongrain_zzsxdm])
    mode, net_mode = rules.mode, rules.net
    code_a, code_b = _codes(old), _codes(new)
    k_a, k_b = _kcxs(old, code_a), _kcxs(new, code_b)
    area_a = old["lk_area_m2"].to_numpy(dtype="float64")
    area_b = new["lk_area_m2"].to_numpy(dtype="float64")

    ov = overlay_vintages(old, new, county.crs, threads=threads)
    small = ov["area_m2"] < rules.sliver
    n_sliver, sliver_m2 = int(small.sum()), float(ov["area_m2"][small].sum())
    ia, ib = ov["ia"][~small], ov["ib"][~small]
    p = _Overlay(ia, ib, ov["area_m2"][~small], code_a[ia], code_b[ib], k_a[ia], k_b[ib], ov["unchanged"][~small])
    pieces = pd.DataFrame({"ia": ia, "ib": ib, "from_code": p.fc, "to_code": p.tc, "gross_m2": p.g,
                           "from_kcxs": p.ka, "to_kcxs": p.kb, "unchanged": p.unchanged})
    comp = _components(p)
    matrix2, matrix1, matrix3 = _matrices(comp, rules)

    zz_a, zz_b = _text(old, "ZZSXDM"), _text(new, "ZZSXDM")
    has_zz = "ZZSXDM" in old.columns and "ZZSXDM" in new.columns
    ng = _nongrain_mask(p, zz_a, zz_b, rules) if has_zz else None
    blocks = {"gross": _balance(p, ng, False, rules), "net": _balance(p, ng, True, rules)}
    head = blocks[mode]
    cult = _cultivated_pieces(county, old, new, p, ng if ng is not None else np.zeros(len(p.g), dtype=bool),
                              rules, cfg, threads)

    ocls = p.out_net if net_mode else p.g
    icls = p.in_net if net_mode else p.g
    out, into = p.out, p.into

    def dest(c):
        c1, n1 = _level1(c)
        return {"name": _name2(c), "level1_code": c1, "level1_name": n1, "class": rules.big.get(c, UNKNOWN)}

    def by1(codes, w):
        return _by(np.array([_level1(c)[0] for c in codes], dtype=object), w,
                   lambda c: {"name": LEVEL1_NAMES.get(c, UNKNOWN)})

    def vintage_cultivated(codes, k, area):
        m = _isin(codes, list(CULTIVATED))
        return float(m2_to_mu((area * (1.0 - k) if net_mode else area)[m].sum()))
    cult_prev = vintage_cultivated(code_a, k_a, area_a)
    cult_cur = vintage_cultivated(code_b, k_b, area_b)
    stock_ng = None
    if "ZZSXDM" in new.columns:
        m = _isin(code_b, list(CULTIVATED)) & _isin(zz_b, rules.nongrain)
        stock_ng = float(m2_to_mu((area_b * (1.0 - k_b) if net_mode else area_b)[m].sum()))

    # --- the 卫片 cross-check
    years = getattr(county, "vintages", {}) or {}
    y0, y1 = years.get("dltb_previous"), years.get("dltb")
    if y1 is None:
        y1 = county.year
    unavailable, notes = {}, []
    new_cons = head["cultivated_to_construction_mu"]
    sat = satellite if isinstance(satellite, dict) and satellite.get("available", True) is not False else None
    D = sat.get("new_construction_farmland_mu") if sat else None
    gap = None
    same_period = y0 is not None and y1 is not None and int(y1) - int(y0) == 1
    if sat is None:
        unavailable["satellite_denominator_gap_mu"] = "该县没有卫片图斑图层，无法与卫片新增建设用地占用耕地面积核对"
        unavailable["satellite_denominator_mu"] = "该县没有卫片图斑图层"
    elif D is None:
        unavailable["satellite_denominator_gap_mu"] = "卫片新增建设用地占用耕地面积无法计算"
    elif y0 is not None and y1 is not None and not same_period:
        unavailable["satellite_denominator_gap_mu"] = (f"两期地类图斑相隔 {int(y1) - int(y0)} 年（{y0}→{y1}），"
                                                      f"与 {county.year} 年度卫片不是同一时期，不作核对")
    else:
        gap = new_cons - D
        if not same_period:
            notes.append("地类图斑的年度未知，按与本年度卫片同一时期核对")
    if sat is not None:
        base = sat.get("base_dltb") or "dltb"
        src = (getattr(county, "sources", {}) or {}).get(base)
        which = "上一期" if base == "dltb_previous" else "本期"
        notes.append(f"卫片新增建设用地占用耕地按{which}地类图斑（{src.display if src else which}）中的耕地计算"
                     + ("（卫片图斑落在本期仍为耕地的部分；[satellite] base_dltb = \"previous\" 时按建设前的上一期地类计算）"
                        if base == "dltb" else "（建设前的地类）"))
        if sat.get("farmland_mode") and sat.get("farmland_mode") != mode:
            notes.append(f"卫片耕地口径（{sat.get('farmland_mode')}）与本分析（{mode}）不同，核对差额含口径差异")
    if not has_zz:
        unavailable["cultivated_to_nongrain_mu"] = "两期地类图斑未都提供种植属性代码 ZZSXDM，无法统计改种非粮作物的耕地"
        notes.append("非粮化只含耕地变为园地、林地、草地、坑塘等的部分（缺少种植属性代码 ZZSXDM）")
    if stock_ng is None:
        unavailable["cultivated_nongrain_stock_mu"] = "本期地类图斑没有种植属性代码 ZZSXDM"
    if "KCXS" not in old.columns or "KCXS" not in new.columns:
        notes.append("有一期地类图斑没有扣除地类系数 KCXS，该期田坎按 0 计")
    outs = cult[cult["direction"] == "out"]
    cons_out = outs[outs["kind"] == "to_construction"]
    if county.patches is not None:
        monitored = float(cons_out["patch_used_mu"].sum())
        cover = {"monitored_mu": monitored, "unmonitored_mu": max(0.0, new_cons - monitored),
                 "unmonitored_count": int(cons_out["unmonitored"].sum()),
                 "unmonitored_piece_mu": float(cons_out.loc[cons_out["unmonitored"], "area_mu"].sum()),
                 "partly_monitored_count": int((cons_out["has_patch"] == "partly").sum())}
    else:
        cover = dict.fromkeys(("monitored_mu", "unmonitored_mu", "unmonitored_count", "unmonitored_piece_mu",
                               "partly_monitored_count"))
        unavailable.update(dict.fromkeys(cover, "该县没有卫片图斑图层，无法判断耕地变为建设用地处是否有卫片图斑"))

    total_a, total_b, overlaid = float(area_a.sum()), float(area_b.sum()), float(p.g.sum())
    src = getattr(county, "sources", {}) or {}
    summary = {
        "previous_year": y0, "current_year": y1,
        "previous_layer": src["dltb_previous"].display if "dltb_previous" in src else None,
        "current_layer": src["dltb"].display if "dltb" in src else None,
        "farmland_mode": mode,
        "basis": ("两期地类图斑精确叠加（CGCS2000 椭球面积）；耕地为 0101/0102/0103，"
                  + ("按扣除田坎后的净面积" if net_mode else "按毛面积（不扣田坎）")
                  + "；非农化为耕地变为建设用地，非粮化为耕地变为园地、林地、草地、坑塘等"
                  + ("及改种非粮作物（种植属性）" if has_zz else "")),
        "previous_polygon_count": len(old), "current_polygon_count": len(new),
        "unchanged_polygon_count": ov["unchanged_count"],
        "previous_area_mu": float(m2_to_mu(total_a)), "current_area_mu": float(m2_to_mu(total_b)),
        "overlaid_mu": float(m2_to_mu(overlaid)),
        "previous_only_mu": float(m2_to_mu(max(0.0, total_a - overlaid - sliver_m2))),
        "current_only_mu": float(m2_to_mu(max(0.0, total_b - overlaid - sliver_m2))),
        "sliver_count": n_sliver, "sliver_mu": float(m2_to_mu(sliver_m2)), "tolerance_m2": rules.sliver,
        "changed_mu": float(m2_to_mu(p.g[p.fc != p.tc].sum())),
        "cultivated_previous_mu": cult_prev, "cultivated_current_mu": cult_cur,
        **head,
        "cultivated_outside_overlay_mu": (cult_cur - cult_prev) - head["cultivated_net_change_mu"],
        "cultivated_out_by_destination": _by(p.tc[out], ocls[out], dest),
        "cultivated_out_by_level1": by1(p.tc[out], ocls[out]),
        "cultivated_in_by_source": _by(p.fc[into], icls[into], dest),
        "cultivated_in_by_level1": by1(p.fc[into], icls[into]),
        "cultivated_to_nongrain_by_zzsxdm": _by(zz_b[p.ib][ng], (p.in_net if net_mode else p.g)[ng],
                                                lambda c: {"name": c}) if has_zz else [],
        "cultivated_nongrain_stock_mu": stock_ng,
        "new_construction_on_cultivated_mu": new_cons,
        "satellite_denominator_mu": D if sat else None, "satellite_denominator_gap_mu": gap,
        "satellite_year": county.year if sat else None,
        **cover,
        "out_piece_count": len(outs), "in_piece_count": int((cult["direction"] == "in").sum()),
        "gross": blocks["gross"], "net": blocks["net"],
        "matrix_level1": matrix1, "matrix_level2": matrix2, "matrix_class": matrix3,
        "by_township": _by_township(cult, p, comp, _piece_townships(p, old, new, county, cfg, rules, cult), county,
                                    rules, sat, gap is not None, has_zz),
    }
    if unavailable:
        summary["unavailable"] = unavailable
    if notes:
        summary["notes"] = notes
    return ChangeResult(summary, pieces, cult)

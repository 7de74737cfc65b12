"""永久基本农田 overlap checks (docs/rules.md R15): any polygon layer against 永久基本农田, and,
where the county has them, 耕地 in DLTB, 生态保护红线 and 城镇开发边界 (area outside)."""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.fields import ID_FIELDS
from ..overlay.engine import overlay_areas
from ..standards.area import ellipsoidal_area
from ..standards.codes import CULTIVATED
from ..standards.units import m2_to_mu

AREA_COL = "lk_area_m2"


@dataclass
class FarmlandResult:
    """Per-feature overlap table (GeoDataFrame, geometry = the checked feature) and a summary."""

    features: gpd.GeoDataFrame
    summary: dict
    pieces: gpd.GeoDataFrame | None = None    # overlap pieces with 永久基本农田

    def _repr_html_(self) -> str:
        s = self.summary
        return (f"<b>永久基本农田压占检查</b>：检查 {s['features_checked']} 个要素，"
                f"{s['features_overlapping']} 个压占永久基本农田，合计 {s['overlap_mu']:.2f} 亩"
                f"（扣除田坎 {s['overlap_net_mu']:.2f} 亩）" + self.features.drop(columns="geometry").head(20).to_html())


def _feature_ids(features: gpd.GeoDataFrame, id_field: str | None, role: str | None) -> pd.Series:
    idf = id_field or ID_FIELDS.get(role or "", None)
    if idf and idf in features.columns:
        v = features[idf].astype("string")
        fallback = pd.Series([f"#{i + 1}" for i in range(len(features))], index=features.index, dtype="string")
        return v.where(v.notna() & (v.str.strip() != ""), fallback)
    if "lk_fid" in features.columns:
        return "FID " + features["lk_fid"].astype(str)
    return pd.Series([f"#{i + 1}" for i in range(len(features))], index=features.index, dtype="string")


def farmland_overlap(features: gpd.GeoDataFrame, county, *, role: str | None = None, id_field: str | None = None,
                     sliver_m2: float | None = None, keep_pieces: bool = False) -> FarmlandResult:
    """Check polygon ``features`` against the county's 永久基本农田 (and 耕地, 生态保护红线, 城镇开发边界).

    Parameters
    ----------
    features : polygons (any CRS; brought to the county's working CRS)
    county : a :class:`landkit.County`; needs ``yjjbnt``
    role : the role of ``features`` when they are a county layer (names the id field)
    id_field : the column that identifies a feature (default: the role's id field)
    sliver_m2 : overlap pieces under this area are ignored (default: config [area] sliver_m2, 1 m²)

    Returns a :class:`FarmlandResult`. Areas are CGCS2000 ellipsoidal: ``*_m2`` in m², ``*_mu``
    in 亩 (× 3/2000, unrounded); net areas deduct 田坎 (× (1 − KCXS)).
    """
    if county.yjjbnt is None:
        raise InputError("该县没有永久基本农田图层，无法做压占检查", file=county.path)
    sliver = county.config.sliver_m2 if sliver_m2 is None else float(sliver_m2)
    f = features
    if f.crs is None:
        raise InputError("待检查图层没有坐标系")
    if county.crs is not None and not f.crs.equals(county.crs):
        f = f.to_crs(county.crs)
    area = f[AREA_COL].to_numpy() if AREA_COL in f.columns else ellipsoidal_area(f.geometry)
    out = gpd.GeoDataFrame({"id": _feature_ids(f, id_field, role).to_numpy()}, geometry=f.geometry.values,
                           crs=f.crs, index=f.index)
    for col in ("项目名称", "批次名称", "土地使用权人", "判定类型", "权利人"):
        if col in f.columns:
            out[col] = f[col].values
    out["area_m2"] = area
    yj = county.yjjbnt
    ids = yj["YJJBNTTBBH"] if "YJJBNTTBBH" in yj.columns else ("FID " + yj["lk_fid"].astype(str))
    r = overlay_areas(f.geometry, yj.geometry, b_ids=ids.to_numpy(dtype=object),
                      b_kcxs=yj["KCXS"].to_numpy() if "KCXS" in yj.columns else None,
                      sliver_m2=sliver, a_area_m2=area, keep_pieces=keep_pieces,
                      b_pairs=getattr(county, "overlap_pairs", {}).get("yjjbnt"),
                      assume_valid=f is county.layers.get(role) if role else False, b_valid=True)
    t = r.table
    out["yjjbnt_m2"] = t["overlap_m2"].to_numpy()
    out["yjjbnt_net_m2"] = t["overlap_net_m2"].to_numpy()
    out["yjjbnt_share"] = t["share"].to_numpy()
    out["yjjbnt_ids"] = ["、".join(map(str, x)) for x in t["b_ids"]]
    summary = {
        "features_checked": int(len(out)),
        "features_overlapping": int((out["yjjbnt_m2"] > 0).sum()),
        "area_mu": float(m2_to_mu(area.sum())),
        "overlap_mu": float(m2_to_mu(out["yjjbnt_m2"].sum())),
        "overlap_net_mu": float(m2_to_mu(out["yjjbnt_net_m2"].sum())),
        "tolerance_m2": sliver,
        "sliver_count": r.sliver_count,
        "yjjbnt_self_overlap_pairs": r.b_overlap_pairs,
    }
    if county.dltb is not None:
        d = county.dltb
        gd = d[d["DLBM"].isin(list(CULTIVATED))]
        if len(gd):
            rg = overlay_areas(f.geometry, gd.geometry, b_ids=gd["BSM"].to_numpy(dtype=object)
                               if "BSM" in gd.columns else None,
                               b_kcxs=gd["KCXS"].to_numpy() if "KCXS" in gd.columns else None,
                               sliver_m2=sliver, a_area_m2=area, union=False, b_valid=True)
            out["gd_m2"] = rg.table["overlap_m2"].to_numpy()
            out["gd_net_m2"] = rg.table["overlap_net_m2"].to_numpy()
            summary["cultivated_mu"] = float(m2_to_mu(out["gd_m2"].sum()))
            summary["cultivated_net_mu"] = float(m2_to_mu(out["gd_net_m2"].sum()))
    if county.stbhhx is not None:
        rs = overlay_areas(f.geometry, county.stbhhx.geometry, sliver_m2=sliver, a_area_m2=area, b_valid=True)
        out["stbhhx_m2"] = rs.table["overlap_m2"].to_numpy()
        summary["stbhhx_mu"] = float(m2_to_mu(out["stbhhx_m2"].sum()))
        summary["features_in_stbhhx"] = int((out["stbhhx_m2"] > 0).sum())
    if county.czkfbj is not None:
        rc = overlay_areas(f.geometry, county.czkfbj.geometry, sliver_m2=sliver, a_area_m2=area, b_valid=True)
        outside = np.clip(area - rc.table["overlap_m2"].to_numpy(), 0, None)
        outside[outside < sliver] = 0.0
        out["outside_czkfbj_m2"] = outside
        summary["outside_czkfbj_mu"] = float(m2_to_mu(outside.sum()))
        summary["features_outside_czkfbj"] = int((outside > 0).sum())
    for col in [c for c in out.columns if c.endswith("_m2")]:
        out[col[:-3] + "_mu"] = m2_to_mu(out[col].to_numpy())
    return FarmlandResult(out, summary, r.pieces)

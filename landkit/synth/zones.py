"""开发区 (development zone) boundaries over the frame's industrial parks, and the 宗地 fields the
节约集约 indicators read (建筑面积, 固定资产投资, 税收总额)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ..standards.units import m2_to_mu
from ._base import Frame
from ._util import GRID, ellipsoidal, polygons_only, rng_for, snap

#: how far (m) a zone reaches beyond the industrial park it is drawn around
REACH = 300.0
#: the national-style abbreviations, for UTF-8 shapefiles (where 开发区代码 and 开发区名称 both cut
#: to 开发区 in 10 bytes)
PINYIN = {"开发区代码": "KFQDM", "开发区名称": "KFQMC", "开发区级别": "KFQJB", "区块名称": "QKMC"}


def make_zones(fr: Frame, seed: int, xzq_geom):
    """2–3 开发区 over the largest industrial parks: the biggest zone is two 区块 (two features
    with one 开发区代码, as 一区多园 boundaries arrive), the others one feature each.

    Fields (GBK shapefile names, all ≤ 10 bytes): 开发区代码, 开发区名称, 开发区级别, 区块名称.
    Returns (geometries, DataFrame); empty when the frame has no industrial park.
    """
    rng = rng_for(seed, "zones")
    land = shapely.difference(fr.boundary, shapely.union_all([fr.river_zone, fr.lake_union]), grid_size=GRID)
    parks = sorted((g for g in fr.industrial if g is not None and not g.is_empty), key=lambda g: -g.area)
    if not parks:
        return np.empty(0, dtype=object), pd.DataFrame(columns=["开发区代码", "开发区名称", "开发区级别", "区块名称"])
    towns = np.asarray(xzq_geom, dtype=object)

    def town_of(g) -> str:
        hit = [i for i, t in enumerate(towns) if shapely.intersects(t, g.representative_point())]
        name = fr.townships[hit[0]].name if hit else fr.name
        for suffix in ("街道", "镇", "乡"):
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                return name[:-len(suffix)]
        return name

    def outline(g):
        z = shapely.intersection(shapely.buffer(g, REACH * float(rng.uniform(0.8, 1.2)), quad_segs=4), land,
                                 grid_size=GRID)
        parts, _ = polygons_only(np.array([z], dtype=object))
        return shapely.simplify(parts[np.argmax(shapely.area(parts))], 5) if len(parts) else None

    rows, geoms = [], []
    blocks = [("", parks[0])]
    if len(parks) > 2:                         # the biggest zone: two 区块, named by where they lie
        a, b = parks[0].centroid, parks[1].centroid
        dx, dy = b.x - a.x, b.y - a.y
        first, second = (("西区", "东区") if dx > 0 else ("东区", "西区")) if abs(dx) >= abs(dy) else \
            (("南区", "北区") if dy > 0 else ("北区", "南区"))
        blocks = [(first, parks[0]), (second, parks[1])]
    for block, g in blocks:
        o = outline(g)
        if o is not None:
            geoms.append(o)
            rows.append((f"KFQ{fr.adcode}01", f"{fr.name[:2]}经济开发区", "省级", block))
    themes = ["新材料产业园", "临港产业园"]
    for k, g in enumerate(parks[2 if len(parks) > 2 else 1:4]):
        o = outline(g)
        if o is None:
            continue
        geoms.append(o)
        rows.append((f"KFQ{fr.adcode}{k + 2:02d}", f"{town_of(g)}{themes[k % len(themes)]}", "县级", ""))
    geoms = snap(np.array(geoms, dtype=object))
    df = pd.DataFrame(rows, columns=["开发区代码", "开发区名称", "开发区级别", "区块名称"]).astype(object)
    return geoms, df


def parcel_values(zd_geom, zd_df: pd.DataFrame, seed: int, crs) -> pd.DataFrame:
    """``zd_df`` with 建筑面积 (m² = 容积率 × 宗地面积), 固定资产投资 (万元, about 150–300 万元/亩
    by use) and 税收总额 (万元 = 亩均税收 × 亩) added; the existing columns are unchanged (their
    random stream is untouched: these use their own)."""
    rng = rng_for(seed, "parcel_values")
    out = zd_df.copy()
    area = ellipsoidal(zd_geom, crs)
    mu = m2_to_mu(area)
    per_mu = np.where(out["用途"].to_numpy() == "商服用地", 300.0, 180.0)
    per_mu = per_mu * np.clip(rng.lognormal(0.0, 0.45, len(out)), 0.2, 4.0)
    out["建筑面积"] = np.round(out["容积率"].to_numpy(dtype="float64") * area, 2)
    out["固定资产投资"] = np.round(per_mu * mu, 2)
    out["税收总额"] = np.round(out["亩均税收"].to_numpy(dtype="float64") * mu, 2)
    return out

"""Acceptance: the sample county's 卫片 and 永久基本农田 figures recomputed independently.

Written separately from landkit's engine: geopandas reads the files, plain shapely intersects
pair by pair, pyproj.Geod measures each piece on the GRS80 (= CGCS2000) ellipsoid. The
results must agree with `landkit run`'s summary within 0.01 亩.
"""
import json

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from conftest import SAMPLE

GEOD = pyproj.Geod(ellps="GRS80")
MU = 3.0 / 2000.0
SLIVER = 1.0
JUDGE = {"合法": "L", "用地审批(批文)": "L", "土地供应": "L", "登记发证": "L", "临时用地": "L", "违法": "I",
         "非农违法": "I", "设施农用地": "O", "农村道路": "O", "其他": "O", "伪变化": "P"}


def geod_area(g, tr):
    if g is None or g.is_empty:
        return 0.0
    polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
    total = 0.0
    for p in polys:
        ll = shapely.transform(p, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        total += abs(GEOD.geometry_area_perimeter(ll)[0])
    return total


def read(name, **kw):
    g = gpd.read_file(SAMPLE / name, encoding="GBK", **kw) if name.endswith(".shp") else gpd.read_file(SAMPLE / name, **kw)
    bad = ~g.is_valid
    g.loc[bad, "geometry"] = g.loc[bad, "geometry"].make_valid()
    return g


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    from landkit.pipeline.run import run_county
    out = tmp_path_factory.mktemp("run")
    run_county(SAMPLE, out)
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def layers():
    dl = read("DLTB.shp")
    gd = dl[dl["DLBM"].isin(["0101", "0102", "0103"])].reset_index(drop=True)
    yj = read("YJJBNTBHTB.shp")
    wp = read("卫片图斑.shp")
    tr = pyproj.Transformer.from_crs(dl.crs, 4490, always_xy=True)
    return gd, yj, wp, tr


def test_satellite_ratio_recomputed(summary, layers):
    gd, yj, wp, tr = layers
    s = summary["satellite"]
    judge_field = "判定类型" if "判定类型" in wp.columns else "核实认定意见"
    cls = [JUDGE.get(str(v).strip().replace("（", "(").replace("）", ")"),
                     "L" if str(v).startswith("合法") else None) for v in wp[judge_field]]
    assert None not in cls
    sidx = gd.sindex
    I = D = 0.0
    town = {}
    for geom, c in zip(wp.geometry, cls):
        if c not in ("L", "I"):
            continue
        for j in sidx.query(geom, predicate="intersects"):
            piece = geom.intersection(gd.geometry.iloc[j])
            a = geod_area(piece, tr)
            if a < SLIVER:
                continue
            k = gd["KCXS"].iloc[j]
            k = 0.0 if not np.isfinite(k) or k < 0 or k >= 1 else k
            net = a * (1 - k) * MU
            t = town.setdefault(gd["ZLDWDM"].iloc[j][:9], [0.0, 0.0])
            D += net
            t[1] += net
            if c == "I":
                I += net
                t[0] += net
    assert s["new_construction_farmland_mu"] == pytest.approx(D, abs=0.01)
    assert s["illegal_farmland_mu"] == pytest.approx(I, abs=0.01)
    assert s["ratio"] == pytest.approx(I / D, abs=1e-5)
    assert s["counted_patch_count"] == sum(c in ("L", "I") for c in cls)
    assert s["illegal_patch_count"] == cls.count("I")
    assert s["rectify_to_cap_mu"] == pytest.approx(max(0.0, (I - 0.05 * D) / 0.95), abs=0.01)
    got = {t["code"]: t for t in s["by_township"]}
    assert set(got) == set(town)
    for code, (ti, td) in town.items():
        assert got[code]["illegal_farmland_mu"] == pytest.approx(ti, abs=0.01)
        assert got[code]["new_construction_farmland_mu"] == pytest.approx(td, abs=0.01)
    # 永久基本农田 inside illegal patches, union semantics
    ysidx = yj.sindex
    iy = 0.0
    for geom, c in zip(wp.geometry, cls):
        if c != "I":
            continue
        hits = ysidx.query(geom, predicate="intersects")
        if len(hits):
            iy += geod_area(geom.intersection(shapely.union_all(yj.geometry.iloc[hits].values)), tr) * MU
    assert s["illegal_yjjbnt_mu"] == pytest.approx(iy, abs=0.01)


@pytest.mark.parametrize("role,fname", [("approvals", "批准用地.shp"), ("supply", "供地.shp")])
def test_farmland_overlap_recomputed(summary, layers, role, fname):
    gd, yj, wp, tr = layers
    feats = read(fname)
    s = summary["farmland_overlap"][role]
    # partition rule, independently: sorted by YJJBNTTBBH, each feature loses what earlier ones cover
    yj = yj.sort_values("YJJBNTTBBH", kind="stable").reset_index(drop=True)
    kc = yj["KCXS"].fillna(0).to_numpy() if "KCXS" in yj.columns else np.zeros(len(yj))
    own = list(yj.geometry)
    ys = yj.sindex
    for i in range(len(own)):
        earlier = [j for j in ys.query(yj.geometry.iloc[i], predicate="intersects") if j < i]
        if earlier:
            own[i] = own[i].difference(shapely.union_all([yj.geometry.iloc[j] for j in earlier]))
    gross = net = 0.0
    overlapping = 0
    for geom in feats.geometry:
        hits = ys.query(geom, predicate="intersects")
        fg = 0.0
        for j in hits:
            a = geod_area(geom.intersection(own[j]), tr)
            if a < SLIVER:
                continue
            fg += a
            net += a * (1 - kc[j])
        gross += fg
        overlapping += fg > 0
    assert s["features_checked"] == len(feats)
    assert s["features_overlapping"] == overlapping
    assert s["overlap_mu"] == pytest.approx(gross * MU, abs=0.01)
    assert s["overlap_net_mu"] == pytest.approx(net * MU, abs=0.01)

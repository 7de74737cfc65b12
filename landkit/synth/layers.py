"""Layers derived from the land-use map: 永久基本农田, 三区三线 (生态保护红线, 城镇开发边界),
卫片图斑 and 宗地."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import shapely

from . import names as N
from ._base import Frame
from ._util import (GRID, Noise, add_months, ellipsoidal, fmt_date, points_in_each, polygons_only, quad, rng_for,
                    round_mm, sample_in, snap)
from .dltb import split_in_two
from .landuse import Approvals, Supply

ILLEGAL = ("违法", "非农违法")
JUDGEMENT_SHARE = {"合法": 0.40, "违法": 0.09, "非农违法": 0.07, "设施农用地": 0.10, "农村道路": 0.07,
                   "其他": 0.12, "伪变化": 0.15}
LEGAL_SUB = {"用地审批(批文)": 0.40, "土地供应": 0.35, "登记发证": 0.15, "临时用地": 0.10}
ILLEGAL_TYPE = {"未批先建": 0.35, "非法占地": 0.30, "少批多占": 0.15, "批甲占乙": 0.10, "其他": 0.10}
RECTIFY = {"已整改": 0.4, "整改中": 0.3, "未整改": 0.3}


def _pick(rng, table: dict, size=None):
    keys = list(table)
    p = np.array([table[k] for k in keys], float)
    idx = rng.choice(len(keys), size=size, p=p / p.sum())
    return keys[idx] if size is None else [keys[i] for i in idx]


# ----------------------------------------------------------------- 三区三线
def make_czkfbj(fr: Frame, seed: int):
    rng = rng_for(seed, "czkfbj")
    land = shapely.difference(fr.boundary, shapely.union_all([fr.river_zone, fr.lake_union]), grid_size=GRID)
    near = [g for g in fr.industrial if shapely.distance(g, fr.urban) < 3000]
    towns = sorted(fr.towns.items(), key=lambda kv: -kv[1].area)[:3]
    core = shapely.union_all([shapely.buffer(fr.urban, 250)] + [shapely.buffer(g, 200) for g in near])
    core = shapely.simplify(shapely.intersection(core, land, grid_size=GRID), 5)
    geoms, codes = [core], ["0401"]
    for _, g in towns:
        geoms.append(shapely.simplify(shapely.intersection(shapely.buffer(g, 250), land, grid_size=GRID), 5))
        codes.append("0401")
    cx, cy = fr.urban_center
    ang = fr.street_angle + np.pi * 1.5 + rng.uniform(-0.5, 0.5)
    from ._util import blob
    flex = blob(rng, cx + 1.1 * fr.urban_radius * np.cos(ang), cy + 1.1 * fr.urban_radius * np.sin(ang),
                fr.urban_radius * 0.7, wobble=0.3)
    flex = shapely.difference(shapely.intersection(flex, land), shapely.union_all(geoms), grid_size=GRID)
    parts, _ = polygons_only(np.array([flex], dtype=object))
    for g in parts[shapely.area(parts) > 2e5]:
        geoms.append(shapely.simplify(g, 5))
        codes.append("0402")
    geoms = snap(np.array(geoms, dtype=object))
    names = {"0401": "城镇集中建设区", "0402": "城镇弹性发展区"}
    df = pd.DataFrame({
        "BSM": [f"{fr.adcode}{700000000000 + i + 1}" for i in range(len(geoms))],
        "XZQDM": fr.adcode, "XZQMC": fr.name,
        "GHFQDM": codes, "GHFQMC": [names[c] for c in codes],
        "MJ": np.round(ellipsoidal(geoms, fr.crs), 2),
        "BZ": "",
    })
    return geoms, df


def make_stbhhx(fr: Frame, seed: int, dltb_geom, dltb_df, meta):
    rng = rng_for(seed, "stbhhx")
    geoms, names, kinds = [], [], []
    lakes = sorted(fr.lakes, key=lambda t: -t[1].area)
    for nm, g in lakes[:3]:
        if shapely.intersects(g, shapely.buffer(fr.urban, -200)):
            continue
        z = shapely.intersection(shapely.buffer(g, float(rng.uniform(120, 300))), fr.boundary, grid_size=GRID)
        geoms.append(shapely.simplify(z, 5))
        names.append(f"{fr.name}{nm}湿地生态保护红线")
        kinds.append("生物多样性维护")
    # the hill forests with the highest relief
    forest = np.isin(dltb_df["DLBM"].to_numpy(), ["0301", "0302", "0305"])
    h = fr.hill(meta["x"], meta["y"])
    sel = forest & (h > 0.72) & shapely.is_valid(dltb_geom)
    if sel.sum() > 10:
        u = shapely.union_all(dltb_geom[sel], grid_size=GRID)
        parts = shapely.get_parts(u)
        parts = parts[np.argsort(-shapely.area(parts))][:2]
        for k, g in enumerate(parts):
            g = shapely.buffer(shapely.buffer(g, 40), -40)
            g = shapely.simplify(shapely.intersection(g, fr.boundary, grid_size=GRID), 5)
            if g.area > 5e5:
                geoms.append(g)
                names.append(f"{fr.name}{['南部', '东部', '西部'][k]}山地水土保持生态保护红线")
                kinds.append("水土保持")
    geoms = snap(np.array(geoms, dtype=object))
    df = pd.DataFrame({
        "BSM": [f"{fr.adcode}{600000000000 + i + 1}" for i in range(len(geoms))],
        "XZQDM": fr.adcode, "XZQMC": fr.name,
        "HXMC": names, "HXLX": kinds,
        "MJ": np.round(ellipsoidal(geoms, fr.crs), 2),
        "BZ": "",
    })
    return geoms, df


# ----------------------------------------------------------------- 永久基本农田
def _displace(fr: Frame, rng, geoms):
    """Shift by a smooth 0.2–1.5 m field plus a ±0.1 m vertex jitter field (250 m scale).
    Both are continuous functions of position, so neighbours that share vertices move
    together and the layer does not start overlapping itself."""
    b = fr.boundary.bounds
    nx = Noise(rng, b, 5000, octaves=2)
    ny = Noise(rng, b, 5000, octaves=2)
    jx_f = Noise(rng, b, 250, octaves=1)
    jy_f = Noise(rng, b, 250, octaves=1)

    def f(c):
        x, y = c[:, 0], c[:, 1]
        dx = 0.75 + 0.55 * nx(x, y) + 0.1 * jx_f(x, y)
        dy = -0.55 + 0.45 * ny(x, y) + 0.1 * jy_f(x, y)
        return np.column_stack([x + dx, y + dy])

    out = round_mm(shapely.transform(geoms, f))
    bad = np.flatnonzero(~shapely.is_valid(out) | (shapely.get_type_id(out) != 3))
    for i in bad:
        parts, _ = polygons_only(np.array([shapely.make_valid(out[i])], dtype=object))
        out[i] = parts[int(np.argmax(shapely.area(parts)))]
    return out


def make_yjjbnt(fr: Frame, seed: int, dltb_geom, dltb_df, meta, exclude, n_target=None):
    rng = rng_for(seed, "yjjbnt")
    dlbm = dltb_df["DLBM"].to_numpy()
    gd = np.flatnonzero(np.isin(dlbm, N.CULTIVATED))
    x, y = meta["x"][gd], meta["y"][gd]
    ex = shapely.contains_xy(exclude, x, y) if exclude is not None else np.zeros(len(gd), bool)
    b = fr.boundary.bounds
    nz = Noise(rng, b, 1800, octaves=2)
    # a few clumps of 一般耕地 besides the 城镇开发边界 / 生态保护红线 / approved land
    score = nz(x, y) + 0.25 * rng.normal(size=len(gd))
    cut = np.quantile(score, 0.03) if len(score) else 0
    sel = gd[(score > cut) & ~ex]
    geoms = dltb_geom[sel].copy()
    # bow-ties in the DLTB are repaired in YJJBNT (made from the surveyed polygons)
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = shapely.buffer(geoms[bad], 0)
    src = sel.copy()
    # merge a few adjacent pairs in the same village
    tree = shapely.STRtree(geoms)
    probe = rng.choice(len(geoms), size=min(len(geoms), max(40, len(geoms) // 10)), replace=False)
    a, bb = tree.query(geoms[probe], predicate="intersects")
    a = probe[a]
    same = (a != bb) & (meta["village"][src[a]] == meta["village"][src[bb]])
    a, bb = a[same], bb[same]
    used = np.zeros(len(geoms), bool)
    pairs = []
    for i in rng.permutation(len(a))[: max(1, len(geoms) // 30)]:  # merge ~3 % of them
        p, q = a[i], bb[i]
        if used[p] or used[q]:
            continue
        used[p] = used[q] = True
        pairs.append((p, q))
    drop = np.zeros(len(geoms), bool)
    for p, q in pairs:
        u = shapely.union(geoms[p], geoms[q], grid_size=GRID)
        if u.geom_type == "Polygon":
            geoms[p] = u
            drop[q] = True
    geoms, src = geoms[~drop], src[~drop]
    # more features than 耕地 patches asked for: split the largest in two
    if n_target is not None and n_target > len(geoms):
        k = min(n_target - len(geoms), len(geoms))
        big = np.argsort(-shapely.area(geoms))[:k]
        parts, idx = split_in_two(geoms[big], rng)
        keep = np.ones(len(geoms), bool)
        keep[big] = False
        geoms = np.concatenate([geoms[keep], parts])
        src = np.concatenate([src[keep], src[big][idx]])
    elif n_target is not None and n_target < len(geoms):
        pick = np.sort(rng.choice(len(geoms), size=n_target, replace=False))
        geoms, src = geoms[pick], src[pick]
    # densify first: the displacement field is smooth along every ≤ 25 m segment, so a
    # vertex of one polygon lying on a neighbour's edge (T-junction) stays on it to a few
    # mm and the layer does not start overlapping itself
    geoms = _displace(fr, rng, shapely.segmentize(geoms, 25.0))
    # two pairs that overlap each other (a QA finding)
    tree = shapely.STRtree(geoms)
    probe = rng.choice(len(geoms), size=min(len(geoms), 400), replace=False)
    a, bb = tree.query(geoms[probe], predicate="intersects")
    a = probe[a]
    ok = a != bb
    a, bb = a[ok], bb[ok]
    overlaps = []
    for i in rng.permutation(len(a)):
        p, q = int(a[i]), int(bb[i])
        if any(p in o or q in o for o in overlaps):
            continue
        try:
            strip = shapely.intersection(shapely.buffer(geoms[p], 6.0, join_style="mitre"), geoms[q], grid_size=GRID)
            strip, _ = polygons_only(np.array([strip], dtype=object))
            if not len(strip):
                continue
            grown = shapely.union_all(np.concatenate([[geoms[p]], strip]), grid_size=GRID)
        except shapely.errors.GEOSException:
            continue
        if grown.geom_type != "Polygon" or shapely.area(shapely.intersection(grown, geoms[q])) < 20:
            continue
        geoms[p] = grown
        overlaps.append((p, q))
        if len(overlaps) == 2:
            break
    n = len(geoms)
    s = dltb_df.iloc[src]
    vill = s["ZLDWDM"].str[6:12].to_numpy()
    seq = pd.Series(np.ones(n)).groupby(vill).cumsum().astype(int).to_numpy()
    area = np.round(ellipsoidal(geoms, fr.crs), 2)
    kcxs = s["KCXS"].to_numpy()
    kcxs = np.where(np.isin(s["DLBM"].to_numpy(), N.CULTIVATED), kcxs, 0.0)
    kcmj = np.round(area * kcxs, 2)
    df = pd.DataFrame({
        "BSM": [f"{fr.adcode}{300000000000 + i + 1}" for i in range(n)],
        "YJJBNTTBBH": [f"{fr.adcode}{v}{k:08d}" for v, k in zip(vill, seq)],
        "TBBH": s["TBBH"].to_numpy(),
        "DLBM": s["DLBM"].to_numpy(),
        "DLMC": s["DLMC"].to_numpy(),
        "KCXS": kcxs,
        "KCMJ": kcmj,
        "YJJBNTTBMJ": area,
        "YJJBNTMJ": np.round(area - kcmj, 2),
        "ZLDWDM": s["ZLDWDM"].to_numpy(),
        "ZLDWMC": s["ZLDWMC"].to_numpy(),
        "GDLX": s["GDLX"].to_numpy(),
        "GDPDJB": s["GDPDJB"].to_numpy(),
    })
    for c in df.columns:
        if df[c].dtype != "float64":
            df[c] = df[c].astype(object)
    return geoms, df, {"overlap_pairs": [(int(p), int(q)) for p, q in overlaps], "merged": len(pairs)}


# ----------------------------------------------------------------- 卫片图斑
class _Placer:
    """Keeps patches from overlapping each other (10 m apart at least)."""

    def __init__(self, cap: int = 1024):
        self.n = 0
        self.geoms = np.empty(cap, dtype=object)
        self.boxes = np.empty((cap, 4))

    def free(self, g) -> bool:
        if not self.n:
            return True
        b = shapely.bounds(g)
        bx = self.boxes[:self.n]
        hit = np.flatnonzero(~((bx[:, 0] > b[2] + 10) | (bx[:, 2] < b[0] - 10)
                               | (bx[:, 1] > b[3] + 10) | (bx[:, 3] < b[1] - 10)))
        if not len(hit):
            return True
        return not shapely.intersects(self.geoms[hit], shapely.buffer(g, 10, quad_segs=2)).any()

    def add(self, g):
        if self.n == len(self.geoms):
            self.geoms = np.concatenate([self.geoms, np.empty(len(self.geoms), dtype=object)])
            self.boxes = np.vstack([self.boxes, np.empty((len(self.boxes), 4))])
        self.geoms[self.n] = g
        self.boxes[self.n] = shapely.bounds(g)
        self.n += 1


def _area_ha(rng, median_ha, lo=0.1, hi=5.0, sigma=0.8):
    return float(np.clip(rng.lognormal(np.log(median_ha), sigma), lo, hi)) * 1e4


def make_patches(fr: Frame, n: int, seed: int, dltb_geom, dltb_df, ap: Approvals, sup: Supply):
    rng = rng_for(seed, "patches")
    Y = fr.year
    counts = {k: int(round(n * v)) for k, v in JUDGEMENT_SHARE.items()}
    counts["合法"] += n - sum(counts.values())
    pl = _Placer()
    land = shapely.difference(fr.boundary, shapely.union_all([fr.river_zone, fr.lake_union]), grid_size=GRID)
    shapely.prepare(land)
    apu = shapely.union_all(ap.geom)
    shapely.prepare(apu)
    rows: list[dict] = []

    def place(region, area, *, aspect=1.6, within=None, tries=30, angle=None):
        """A patch of about `area` m² centred in region, clipped to `within` or the land."""
        clip = land if within is None else within
        for _ in range(tries):
            p = sample_in(rng, region, 1)[0]
            g = quad(rng, p[0], p[1], area, aspect=aspect, angle=angle)
            if not pl.free(g):
                continue
            if not shapely.contains(clip, g):
                g = shapely.intersection(g, clip, grid_size=GRID)
                parts, _ = polygons_only(np.array([g], dtype=object))
                if not len(parts):
                    continue
                g = parts[int(np.argmax(shapely.area(parts)))]
            if g.area < 900:
                continue
            return g
        return None

    # ---- 合法
    subs = _pick(rng, LEGAL_SUB, counts["合法"])
    started = [j for j in range(len(sup.geom))
               if (sup.start[j] is not None and sup.start[j].year == Y)
               or (sup.status[j] in ("pending", "late_nostart") and sup.supply_date[j].year >= Y - 1)]
    old_built = [j for j in range(len(sup.geom)) if sup.start[j] is not None and sup.start[j].year < Y - 1]
    recent_ap = [i for i in range(len(ap.geom)) if ap.date[i].year >= Y - 3 and not ap.withdrawn[i]]
    road_zone = shapely.intersection(shapely.buffer(shapely.union_all(fr.highways), 120), land)
    def legal_one(sub):
        """(geometry or None, subclass, 项目名称, 用地单位) for one legal patch."""
        g, proj, who = None, "", ""
        if sub == "土地供应" and started:
            j = started.pop(int(rng.integers(len(started))))
            piece = sup.geom[j]
            g = place(piece, min(piece.area * rng.uniform(0.5, 0.95), _area_ha(rng, 1.5)), within=piece)
            proj, who = sup.df["项目名称"].iloc[j], sup.df["土地使用权"].iloc[j]
        elif sub == "登记发证" and old_built:
            j = old_built.pop(int(rng.integers(len(old_built))))
            piece = sup.geom[j]
            g = place(piece, _area_ha(rng, 0.4, hi=2.0), within=piece)
            proj, who = sup.df["项目名称"].iloc[j].replace("项目", "扩建项目"), sup.df["土地使用权"].iloc[j]
        elif sub == "临时用地":
            g = place(road_zone, _area_ha(rng, 0.5, hi=2.0))
            proj = ["公路施工临时用地", "项目施工营地", "临时取土场"][rng.integers(3)]
            who = f"{fr.city}交通建设投资有限公司"
        if g is None and recent_ap:
            sub = "用地审批(批文)"
            i = recent_ap[int(rng.integers(len(recent_ap)))]
            g = place(ap.geom[i], _area_ha(rng, 1.8), within=ap.geom[i])
            proj, who = ap.df["批次名称"].iloc[i], f"{fr.name}土地储备中心"
        return g, sub, proj, who

    for sub0 in subs:
        for attempt in range(6):
            g, sub, proj, who = legal_one(sub0 if attempt == 0 else _pick(rng, LEGAL_SUB))
            if g is not None:
                break
        if g is None:
            continue
        pl.add(g)
        rows.append({"geom": g, "判定类型": "合法", "合法子类": sub, "违法类型": "", "整改状态": "",
                     "项目名称": proj, "用地单位": who})
    # ---- 违法 / 非农违法: a pool of candidates, chosen to land in the ratio band
    fringe = shapely.difference(shapely.buffer(shapely.union_all([fr.urban] + fr.industrial), 1500),
                                shapely.buffer(fr.urban, -300), grid_size=GRID)
    fringe = shapely.difference(shapely.intersection(fringe, land), shapely.buffer(apu, 30), grid_size=GRID)
    roads = shapely.difference(shapely.intersection(shapely.buffer(shapely.union_all(fr.highways), 180), land),
                               shapely.buffer(apu, 30), grid_size=GRID)
    ham = shapely.intersection(shapely.buffer(fr.hamlet_union, 120), land)
    n_ill = counts["违法"] + counts["非农违法"]
    pool = []
    for k in range(int(n_ill * 3)):
        kind = _pick(rng, ILLEGAL_TYPE)
        r = rng.random()
        region = fringe if r < 0.5 else (roads if r < 0.8 else ham)
        area = _area_ha(rng, 0.35, hi=3.0)
        if kind == "少批多占":
            # a batch's edge: partly inside, mostly outside
            i = int(rng.integers(len(ap.geom)))
            edge = shapely.buffer(shapely.boundary(ap.geom[i]), 40)
            g = place(shapely.intersection(edge, land), area)
        elif kind == "批甲占乙":
            i = int(rng.integers(len(ap.geom)))
            ring = shapely.difference(shapely.buffer(ap.geom[i], 600), shapely.buffer(ap.geom[i], 150))
            g = place(shapely.difference(shapely.intersection(ring, land), apu), area)
        else:
            g = place(region, area)
        if g is None:
            continue
        pl.add(g)
        pool.append((g, kind))
    # ---- the others
    gd_mask = np.isin(dltb_df["DLBM"].to_numpy(), N.CULTIVATED)
    gd_geom = dltb_geom[gd_mask]
    gd_geom = np.where(shapely.is_valid(gd_geom), gd_geom, shapely.buffer(gd_geom, 0))
    gd_tree = shapely.STRtree(gd_geom)
    farm_pts_idx = rng.permutation(len(gd_geom))
    fi = 0
    other_rows = []
    vnames = dltb_df["ZLDWMC"].to_numpy()
    for jt, cnt in (("设施农用地", counts["设施农用地"]), ("农村道路", counts["农村道路"]),
                    ("其他", counts["其他"]), ("伪变化", counts["伪变化"])):
        made = 0
        guard = 0
        while made < cnt and guard < cnt * 20:
            guard += 1
            if jt in ("设施农用地", "农村道路"):
                piece = gd_geom[farm_pts_idx[fi % len(gd_geom)]]
                fi += 1
                if jt == "设施农用地":
                    g = place(piece, _area_ha(rng, 0.6, hi=2.5), aspect=2.5, tries=3)
                    proj = ["蔬菜大棚", "畜禽养殖棚舍", "粮食烘干仓储设施", "水产养殖管理用房"][rng.integers(4)]
                else:
                    g = place(piece, _area_ha(rng, 0.25, hi=0.8), aspect=float(rng.uniform(10, 18)), tries=3)
                    proj = "农村道路硬化工程"
            elif jt == "其他":
                g = place(ham, _area_ha(rng, 0.2, hi=0.8), tries=3)
                proj = ["农村宅基地建房", "边坡治理", "村庄范围内开天窗"][rng.integers(3)]
            else:
                region = land if rng.random() < 0.7 else fringe
                g = place(region, _area_ha(rng, 0.8), tries=3)
                proj = ""
            if g is None:
                continue
            pl.add(g)
            made += 1
            other_rows.append({"geom": g, "判定类型": jt, "合法子类": "", "违法类型": "", "整改状态": "",
                               "项目名称": proj, "用地单位": ""})
    # ---- tune the illegal choice: illegal 耕地 / all new-construction 耕地 in [7 %, 12 %]
    def gd_area(geoms):
        if len(geoms) == 0:
            return np.zeros(0)
        a, b = gd_tree.query(geoms, predicate="intersects")
        inter = shapely.area(shapely.intersection(geoms[a], gd_geom[b], grid_size=GRID))
        return np.bincount(a, weights=inter, minlength=len(geoms))

    legal_g = np.array([r["geom"] for r in rows], dtype=object)
    legal_gd = float(gd_area(legal_g).sum())
    pool_g = np.array([p[0] for p in pool], dtype=object)
    pgd = gd_area(pool_g)
    k = min(n_ill, len(pool))
    target_ratio = float(rng.uniform(0.085, 0.105))
    T = target_ratio / (1 - target_ratio) * legal_gd
    chosen = np.zeros(len(pool), bool)
    chosen[rng.choice(len(pool), size=k, replace=False)] = True
    for _ in range(4 * len(pool)):
        s = pgd[chosen].sum()
        if abs(s - T) < 0.01 * T:
            break
        ci = np.flatnonzero(chosen)
        ui = np.flatnonzero(~chosen)
        if not len(ui):
            break
        # best single swap
        delta = pgd[ui][None, :] - pgd[ci][:, None]
        new = np.abs(s + delta - T)
        a_, b_ = np.unravel_index(np.argmin(new), new.shape)
        if new[a_, b_] >= abs(s - T):
            break
        chosen[ci[a_]] = False
        chosen[ui[b_]] = True
    ill_rows = []
    ch = np.flatnonzero(chosen)
    kinds = ["违法"] * counts["违法"] + ["非农违法"] * counts["非农违法"]
    rng.shuffle(kinds)
    for j, i in enumerate(ch):
        g, vt = pool[i]
        who_kind = rng.random()
        if who_kind < 0.5:
            ind = N.pick_industry(rng, 1)[0]
            who = N.company(rng, fr.city[:2], ind)
            proj = ["厂房扩建", "仓储堆场", "砂石料堆场", "混凝土搅拌站", "停车场"][rng.integers(5)]
        elif who_kind < 0.8:
            who = f"{N._SURNAMES[rng.integers(len(N._SURNAMES))]}某某"
            proj = ["村民建房", "农家乐经营用房", "养殖场改建厂房"][rng.integers(3)]
        else:
            who = "村民委员会"
            proj = ["村级活动中心", "村集体仓库", "集体厂房出租"][rng.integers(3)]
        ill_rows.append({"geom": g, "判定类型": kinds[j % len(kinds)], "合法子类": "", "违法类型": vt,
                         "整改状态": _pick(rng, RECTIFY), "项目名称": proj, "用地单位": who})
    all_rows = rows + ill_rows + other_rows
    geoms = snap(np.array([r["geom"] for r in all_rows], dtype=object))
    df = pd.DataFrame([{k: v for k, v in r.items() if k != "geom"} for r in all_rows])
    # dates and numbering
    m = len(geoms)
    q = rng.integers(1, 5, m)
    after = [dt.date(Y, 3 * int(qq) - 2, 1) + dt.timedelta(days=int(rng.integers(0, 85))) for qq in q]
    before = [add_months(a, -3) - dt.timedelta(days=int(rng.integers(0, 20))) for a in after]
    c = shapely.centroid(geoms)
    order = np.lexsort((np.round(shapely.get_x(c)), -np.round(shapely.get_y(c), -2), q))
    geoms = geoms[order]
    df = df.iloc[order].reset_index(drop=True)
    q = q[order]
    after = [after[i] for i in order]
    before = [before[i] for i in order]
    area = np.round(ellipsoidal(geoms, fr.crs), 2)
    out = pd.DataFrame({
        "监测编号": [f"{fr.adcode}{Y}{i + 1:04d}" for i in range(m)],
        "前时相": [fmt_date(d) for d in before],
        "后时相": [fmt_date(d) for d in after],
        # issued a week or two after the later image (within the year): the month 月清 counts from
        "下发日期": [fmt_date(min(d + dt.timedelta(days=7 + i % 14), dt.date(Y, 12, 31))) for i, d in enumerate(after)],
        "季度": q.astype("int32"),
        "监测面积": area,
        "判定类型": df["判定类型"].to_numpy(),
        "合法子类": df["合法子类"].to_numpy(),
        "违法类型": df["违法类型"].to_numpy(),
        "整改状态": df["整改状态"].to_numpy(),
        "项目名称": df["项目名称"].to_numpy(),
        "用地单位": df["用地单位"].to_numpy(),
    })
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype).startswith("str"):
            out[col] = out[col].astype(object)
    gdv = gd_area(geoms)
    jt = out["判定类型"].to_numpy()
    ill = float(gdv[np.isin(jt, ILLEGAL)].sum())
    leg = float(gdv[jt == "合法"].sum())
    stats = {"illegal_gd_m2": ill, "legal_gd_m2": leg,
             "ratio_gross": ill / (ill + leg) if ill + leg else 0.0}
    return geoms, out, stats


# ----------------------------------------------------------------- 宗地
def make_parcels(fr: Frame, n: int, seed: int, dltb_geom, dltb_df, meta):
    rng = rng_for(seed, "parcels")
    dlbm = dltb_df["DLBM"].to_numpy()
    zone = dltb_df["CZCSXM"].to_numpy()
    ok = np.isin(dlbm, ["0601", "05H1", "0508"]) & np.isin(zone, ["201", "202", "201A", "202A"])
    src = np.flatnonzero(ok & shapely.is_valid(dltb_geom))
    pieces = dltb_geom[src]
    a = shapely.area(pieces)
    # points proportional to area
    m = int(n * 1.3) + 20
    pick = rng.choice(len(src), size=m, p=a / a.sum())
    pts = np.round(points_in_each(rng, pieces[pick]), 2)
    _, first = np.unique(pts, axis=0, return_index=True)
    keep = np.sort(first)
    pts, pick = pts[keep], pick[keep]
    vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=fr.boundary, ordered=True))
    g = shapely.intersection(vor, pieces[pick], grid_size=GRID)
    mean_cell = a.sum() / len(pts)
    inset = float(np.clip(0.05 * np.sqrt(mean_cell), 0.5, 3.5))
    g = shapely.buffer(g, -inset * float(rng.uniform(0.8, 1.2)), join_style="mitre")
    parts, idx = polygons_only(g)
    big = shapely.area(parts) > min(600.0, 0.15 * mean_cell)
    parts, idx = parts[big], idx[big]
    _, first = np.unique(idx, return_index=True)   # one part per point
    parts, idx = parts[first], idx[first]
    if len(parts) > n:
        sel = np.sort(rng.choice(len(parts), size=n, replace=False))
        parts, idx = parts[sel], idx[sel]
    parts = snap(parts)
    s = src[pick[idx]]
    k = len(parts)
    use = np.array([{"0601": "工业用地", "05H1": "商服用地", "0508": "仓储用地"}[c] for c in dlbm[s]], dtype=object)
    ind = np.array(N.pick_industry(rng, k), dtype=object)
    ind[use == "仓储用地"] = "仓储物流"
    ind[use == "商服用地"] = "批发和零售业"
    fix = (use == "工业用地") & np.isin(ind, ["仓储物流", "批发和零售业"])
    ind[fix] = "金属制品业"
    far = np.where(use == "商服用地", rng.uniform(1.2, 2.5, k), np.clip(rng.lognormal(np.log(0.9), 0.4, k), 0.3, 2.5))
    tax = np.clip(rng.lognormal(np.log(6.0), 1.0, k), 0, 150)
    tax[rng.random(k) < 0.06] = 0.0
    big_co = rng.random(k) < np.clip(0.15 + tax / 40, 0, 0.9)
    vcode = dltb_df["ZLDWDM"].to_numpy()[s]
    seq = np.arange(1, k + 1)
    zddm = [f"{v[:6]}{v[6:9]}{v[9:12]}GB{q_:05d}" for v, q_ in zip(vcode, seq)]
    owners = [N.company(rng, fr.city[:2], i) for i in ind]
    df = pd.DataFrame({
        "宗地代码": zddm,
        "权利人": owners,
        "用途": use,
        "行业": ind,
        "容积率": np.round(far, 2),
        "亩均税收": np.round(tax, 2),
        "是否规上": np.where(big_co, "是", "否"),
        "投产年份": rng.integers(2000, fr.year, k).astype("int32"),
        "宗地面积": np.round(ellipsoidal(parts, fr.crs), 2),
    })
    for c in df.columns:
        if df[c].dtype == object or str(df[c].dtype).startswith("str"):
            df[c] = df[c].astype(object)
    return parts, df

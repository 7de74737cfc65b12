"""Synthetic 批准用地 (approval batches) and 供地 (land supply) with a realistic share of
批而未供 and 闲置土地, plus what they mean for the land-use map (built or not)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from . import names as N
from ._base import Frame
from ._util import GRID, add_months, fmt_date, polygons_only, quad, rng_for, sample_in, snap

UNSUPPLIED_REASONS = {"未完成征地拆迁": 30, "预期用地项目变化": 15, "规划调整": 15, "未供即用": 15,
                      "边角地": 15, "其他": 10}
USES = {"工业用地": 52, "仓储用地": 7, "商服用地": 12, "住宅用地": 16, "公共管理与公共服务用地": 9,
        "交通运输用地": 4}
USE_DLBM = {"工业用地": "0601", "仓储用地": "0508", "商服用地": "05H1", "住宅用地": "0701",
            "公共管理与公共服务用地": "08H2", "交通运输用地": "1005"}
PROVINCE_ABBR = {"湖北省": "鄂", "湖南省": "湘", "河南省": "豫", "江西省": "赣", "安徽省": "皖", "四川省": "川",
                 "广东省": "粤", "江苏省": "苏", "浙江省": "浙", "山东省": "鲁", "河北省": "冀", "陕西省": "陕"}


@dataclass
class Approvals:
    geom: np.ndarray
    df: pd.DataFrame             # attribute columns as written
    date: list                   #批准日期 (date)
    withdrawn: np.ndarray        # bool


@dataclass
class Supply:
    geom: np.ndarray
    df: pd.DataFrame             # attribute columns as written (text dates)
    approval: np.ndarray         # index of the approval it came from, -1 outside
    status: np.ndarray           # normal / idle_nostart / late_nostart / stopped / stopped_recent / resumed / disposed / pending
    use: np.ndarray
    start: list                  # actual start date or None
    supply_date: list


def _fringe(fr: Frame) -> shapely.Geometry:
    built = shapely.union_all([fr.urban] + fr.industrial)
    ring = shapely.difference(shapely.buffer(built, 1600), shapely.buffer(fr.urban, -700), grid_size=GRID)
    towns = shapely.buffer(shapely.union_all(list(fr.towns.values()) or [shapely.Polygon()]), 500)
    region = shapely.union_all([ring, towns, shapely.buffer(shapely.union_all(fr.industrial), 300)])
    bad = shapely.union_all([fr.river_zone, fr.bank_zone, shapely.buffer(fr.lake_union, 60)]
                            + fr.mining)
    region = shapely.difference(shapely.intersection(region, shapely.buffer(fr.boundary, -50)), bad,
                                grid_size=GRID)
    return region


def make_approvals(fr: Frame, n: int, seed: int) -> Approvals:
    rng = rng_for(seed, "approvals")
    y0, y1 = 2012, fr.year
    years = np.arange(y0, y1 + 1)
    w = 1.0 + 0.08 * (years - y0)
    yrs = np.sort(rng.choice(years, size=n, p=w / w.sum()))
    region = _fringe(fr)
    shapely.prepare(region)
    placed: list[shapely.Geometry] = []
    tree_geoms: list[shapely.Geometry] = []
    keep_years = []
    cx, cy = fr.urban_center
    for y in yrs:
        for _attempt in range(200):
            area = float(np.clip(rng.lognormal(np.log(9e4), 0.7), 2.2e4, 3.9e5))
            # older batches lie nearer the city (most are built by now)
            p = sample_in(rng, region, 1)[0]
            d = np.hypot(p[0] - cx, p[1] - cy) / fr.urban_radius
            if y < fr.year - 6 and d > 1.4 and rng.random() < 0.6:
                continue
            ang = fr.street_angle + rng.choice([0, np.pi / 2]) + rng.normal(0, 0.08)
            g = quad(rng, p[0], p[1], area, aspect=rng.uniform(1.0, 2.2), angle=ang, jitter=0.08)
            if rng.random() < 0.3:
                q = quad(rng, p[0] + np.sqrt(area) * 0.45 * np.cos(ang), p[1] + np.sqrt(area) * 0.45 * np.sin(ang),
                         area * 0.4, aspect=1.2, angle=ang, jitter=0.05)
                g = shapely.union(g, q)
            g = snap(shapely.intersection(g, region, grid_size=GRID))
            parts, _ = polygons_only(np.array([g], dtype=object))
            if len(parts) == 0:
                continue
            g = parts[int(np.argmax(shapely.area(parts)))]
            if g.area < 0.8 * min(area, 2e4) or g.area < 2e4:
                continue
            if tree_geoms and shapely.intersects(np.array(tree_geoms, dtype=object), shapely.buffer(g, 30)).any():
                continue
            placed.append(shapely.simplify(g, 0.5))
            tree_geoms.append(g)
            keep_years.append(int(y))
            break
    geom = np.array(placed, dtype=object)
    yrs = np.array(keep_years)
    n = len(geom)
    dates = [dt.date(int(y), int(rng.integers(1, 13)), int(rng.integers(1, 29))) for y in yrs]
    dates = [min(d, fr.as_of - dt.timedelta(days=20)) for d in dates]
    order = np.lexsort((np.arange(n), np.array([d.toordinal() for d in dates])))
    geom = geom[order]
    dates = [dates[i] for i in order]
    yrs = np.array([d.year for d in dates])
    abbr = PROVINCE_ABBR.get(fr.province, fr.province[:1])
    town_union = shapely.union_all(list(fr.towns.values()) or [shapely.Polygon()])
    batch_no, docs = {}, set()
    names, nos = [], []
    for g, d in zip(geom, dates):
        batch_no[d.year] = batch_no.get(d.year, 0) + 1
        kind = "乡镇建设用地" if shapely.distance(g, town_union) < 300 and shapely.distance(g, fr.urban) > 1500 \
            else "城镇建设用地"
        names.append(f"{fr.city}{d.year}年度第{batch_no[d.year]}批次{kind}")
        while True:
            k = int(rng.integers(20, 620))
            if (d.year, k) not in docs:
                docs.add((d.year, k))
                break
        nos.append(f"{abbr}政土批〔{d.year}〕{k}号")
    # two old batches are withdrawn (撤回) in the last two years
    withdrawn = np.zeros(n, bool)
    old = np.flatnonzero((yrs >= 2013) & (yrs <= 2017))
    if len(old) >= 2:
        withdrawn[rng.choice(old, size=2, replace=False)] = True
    wdates = []
    for i in range(n):
        if withdrawn[i]:
            wdates.append(dt.date(fr.year - 1 - int(rng.integers(0, 2)), int(rng.integers(1, 13)), int(rng.integers(1, 29))))
        else:
            wdates.append(None)
    from ._util import ellipsoidal
    area = np.round(ellipsoidal(geom, fr.crs), 2)
    df = pd.DataFrame({
        "批次名称": names,
        "批准文号": nos,
        "批准日期": [fmt_date(d) for d in dates],
        "撤回日期": [fmt_date(d) for d in wdates],
        "批准面积": area,
        "未供原因": [""] * n,
    })
    return Approvals(geom, df, dates, withdrawn)


def _split(rng, poly, k):
    """Split a polygon into about k parts (Voronoi of k points inside it)."""
    if k <= 1:
        return np.array([poly], dtype=object)
    pts = sample_in(rng, poly, k)
    vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=poly))
    parts = shapely.intersection(vor, poly, grid_size=GRID)
    parts, _ = polygons_only(parts)
    parts = parts[shapely.area(parts) > 800]
    return parts


def _holder(rng, fr: Frame, use: str, industry: str) -> tuple[str, str]:
    """(土地使用权人, 项目名称)."""
    if use in ("工业用地", "仓储用地"):
        return N.company(rng, fr.city[:2], industry), N.project(rng, industry)
    word = N._CO_WORD[rng.integers(len(N._CO_WORD))]
    if use == "商服用地":
        return (f"{fr.city[:2]}{word}置业有限公司", f"{word}商业综合体项目")
    if use == "住宅用地":
        return (f"{fr.city[:2]}{word}房地产开发有限公司", f"{word}{['华府', '名苑', '花园', '新城', '壹号院'][rng.integers(5)]}住宅项目")
    if use == "公共管理与公共服务用地":
        who, what = [("教育局", "中学新建工程"), ("卫生健康局", "医院门诊综合楼"), ("民政局", "养老服务中心"),
                     ("文化和旅游局", "文化活动中心")][rng.integers(4)]
        return f"{fr.name}{who}", f"{fr.name}{what}项目"
    return f"{fr.city}交通运输局", f"{['客运站', '公交首末站', '物流枢纽停车场'][rng.integers(3)]}建设项目"


def make_supply(fr: Frame, ap: Approvals, n: int, seed: int) -> Supply:
    rng = rng_for(seed, "supply")
    as_of = fr.as_of
    n_out = max(2, int(round(n * 0.05)))
    target = n - n_out
    ages = np.array([fr.year - d.year for d in ap.date])
    frac = np.select([ages >= 6, ages >= 3, ages >= 1], [0.9, 0.75, 0.5], 0.25)
    frac[ap.withdrawn] = 0.0
    area = shapely.area(ap.geom)
    # pieces per batch so that the supplied ones add up to about `target`
    c = target / max(float(np.sum(area / 4e4 * frac)), 1e-9)
    k = np.maximum(1, np.round(area / 4e4 * c)).astype(int)
    k[ap.withdrawn] = 1
    geoms, src, supplied = [], [], []
    unsupplied_area = np.zeros(len(ap.geom))
    for i, g in enumerate(ap.geom):
        parts = _split(rng, g, int(k[i]))
        s = int(round(len(parts) * frac[i]))
        if frac[i] >= 0.9 and rng.random() < 0.6:
            s = len(parts)
        order = rng.permutation(len(parts))
        for j, p in enumerate(parts[order]):
            geoms.append(p)
            src.append(i)
            supplied.append(j < s)
            if j >= s:
                unsupplied_area[i] += p.area
    geoms = np.array(geoms, dtype=object)
    src = np.array(src)
    supplied = np.array(supplied)
    # 未供原因 per batch that keeps an unsupplied remainder
    reasons = list(UNSUPPLIED_REASONS)
    rw = np.array([UNSUPPLIED_REASONS[r] for r in reasons], float)
    reason = np.array([""] * len(ap.geom), dtype=object)
    for i in range(len(ap.geom)):
        if ap.withdrawn[i]:
            reason[i] = "规划调整"
        elif unsupplied_area[i] > 3000:
            reason[i] = reasons[rng.choice(len(reasons), p=rw / rw.sum())]
    ap.df["未供原因"] = reason
    # remember what the unsupplied pieces look like on the ground
    unsup = geoms[~supplied]
    unsup_src = src[~supplied]
    sg = geoms[supplied]
    ssrc = src[supplied]
    # a few supplied pieces spill over the batch edge
    spill = np.flatnonzero(rng.random(len(sg)) < 0.07)
    for j in spill:
        grown = shapely.buffer(sg[j], float(rng.uniform(15, 40)), join_style="mitre")
        others = np.delete(sg, j)
        near = others[shapely.intersects(others, grown)]
        if len(near):
            grown = shapely.difference(grown, shapely.union_all(near), grid_size=GRID)
        grown = shapely.intersection(grown, fr.boundary, grid_size=GRID)
        parts, _ = polygons_only(np.array([grown], dtype=object))
        if len(parts):
            sg[j] = parts[int(np.argmax(shapely.area(parts)))]
    # a few supplies outside any batch (存量建设用地 supply) inside the city or towns
    blocked = shapely.buffer(shapely.union_all(ap.geom), 50)
    inner = shapely.difference(shapely.union_all([shapely.buffer(fr.urban, -200)] + list(fr.towns.values())),
                               shapely.union_all([blocked, fr.lake_union]), grid_size=GRID)
    extra = []
    tries = 0
    while len(extra) < n_out and tries < 500:
        tries += 1
        p = sample_in(rng, inner, 1)[0]
        g = snap(shapely.intersection(quad(rng, p[0], p[1], float(rng.uniform(1e4, 5e4)), angle=fr.street_angle),
                                      inner, grid_size=GRID))
        parts, _ = polygons_only(np.array([g], dtype=object))
        if not len(parts):
            continue
        g = parts[int(np.argmax(shapely.area(parts)))]
        if g.area < 5000 or (extra and shapely.intersects(np.array(extra, dtype=object), g).any()):
            continue
        extra.append(g)
    sg = np.concatenate([sg, np.array(extra, dtype=object)])
    ssrc = np.concatenate([ssrc, np.full(len(extra), -1)])
    m = len(sg)
    # ---------------------------------------------------------------- attributes
    uses = list(USES)
    uw = np.array([USES[u] for u in uses], float)
    use = np.array([uses[i] for i in rng.choice(len(uses), size=m, p=uw / uw.sum())], dtype=object)
    industry = np.array(N.pick_industry(rng, m), dtype=object)
    industry[use == "仓储用地"] = "仓储物流"
    sdate = []
    for i in range(m):
        if ssrc[i] >= 0:
            d0 = ap.date[ssrc[i]]
            d = add_months(d0, int(rng.integers(2, 36)))
            if d > as_of:
                span = max((as_of - d0).days, 1)
                d = d0 + dt.timedelta(days=int(rng.integers(0, span)))
        else:
            d = dt.date(int(rng.integers(2012, fr.year + 1)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            d = min(d, as_of)
        sdate.append(d)
    order = np.argsort([d.toordinal() for d in sdate], kind="stable")
    sg, ssrc, use, industry = sg[order], ssrc[order], use[order], industry[order]
    sdate = [sdate[i] for i in order]
    agreed = [add_months(d, int(rng.choice([3, 6, 6, 6, 12]))) for d in sdate]
    finish = [add_months(d, int(rng.choice([18, 24, 24, 36]))) for d in agreed]
    one_year_ago = dt.date(as_of.year - 1, as_of.month, as_of.day)
    status = np.empty(m, dtype=object)
    for i in range(m):
        if agreed[i] > as_of:
            status[i] = "pending"
            continue
        if agreed[i] > one_year_ago:
            pool = {"normal": 70, "late_nostart": 25, "stopped_recent": 5}
        else:
            pool = {"normal": 66, "idle_nostart": 9, "stopped": 7, "stopped_recent": 2, "resumed": 6, "disposed": 10}
        keys = list(pool)
        p = np.array([pool[k_] for k_ in keys], float)
        status[i] = keys[rng.choice(len(keys), p=p / p.sum())]
    # edge cases on the one-year rule and leap days
    cand = np.flatnonzero(status == "idle_nostart")
    edge = {}
    if len(cand):
        j = int(cand[-1])
        agreed[j] = one_year_ago                       # exactly one year before as_of
        edge["exact_one_year"] = j
    cand = np.flatnonzero((status == "normal") & np.array([a.year == as_of.year - 1 for a in agreed]))
    if len(cand):
        j = int(cand[0])
        agreed[j] = dt.date(as_of.year - 1, 2, 28)
        edge["feb28"] = j
    leap = dt.date(2020, 2, 29)
    cand = np.flatnonzero(np.isin(status, ["idle_nostart", "stopped"]) & ~np.isin(np.arange(m), list(edge.values())))
    if len(cand):
        j = int(cand[np.argmin([abs((agreed[i] - leap).days) for i in cand])])
        agreed[j] = leap
        edge["leap"] = j
    for j in edge.values():
        sdate[j] = min(sdate[j], add_months(agreed[j], -6))
        finish[j] = add_months(agreed[j], 24)
    start: list = [None] * m
    stop: list = [None] * m
    resume: list = [None] * m
    dispose: list = [None] * m
    dev = np.zeros(m)
    inv = np.zeros(m)
    reason_idle = np.array([""] * m, dtype=object)
    for i in range(m):
        st = status[i]
        a = agreed[i]
        if st in ("normal", "stopped", "stopped_recent", "resumed"):
            s = a + dt.timedelta(days=int(rng.integers(-60, 240)))
            start[i] = min(s, as_of - dt.timedelta(days=5))
        if st == "normal":
            if finish[i] <= as_of:
                dev[i] = rng.uniform(0.85, 1.0) if rng.random() < 0.4 else 1.0
            else:
                span = max((finish[i] - start[i]).days, 1)
                dev[i] = float(np.clip((as_of - start[i]).days / span, 0.05, 0.95))
            inv[i] = float(np.clip(dev[i] + rng.normal(0, 0.08), 0.05, 1.0))
        elif st in ("stopped", "stopped_recent", "resumed"):
            dev[i] = rng.uniform(0.04, 0.3)
            inv[i] = rng.uniform(0.05, 0.22)
            if st == "stopped":
                lo, hi = start[i] + dt.timedelta(days=30), one_year_ago
            elif st == "stopped_recent":
                lo, hi = max(start[i] + dt.timedelta(days=30), one_year_ago + dt.timedelta(days=1)), as_of
            else:
                lo, hi = start[i] + dt.timedelta(days=30), as_of - dt.timedelta(days=60)
            if hi <= lo:
                hi = lo + dt.timedelta(days=1)
            stop[i] = lo + dt.timedelta(days=int(rng.integers(0, (hi - lo).days)))
            if st == "resumed":
                resume[i] = min(stop[i] + dt.timedelta(days=int(rng.integers(120, 500))), as_of - dt.timedelta(days=3))
                dev[i] = rng.uniform(0.3, 0.8)
                inv[i] = rng.uniform(0.3, 0.8)
        elif st == "disposed":
            # was idle (never started, or stopped), disposed during the latest year
            dispose[i] = dt.date(as_of.year, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            if rng.random() < 0.4:
                s = a + dt.timedelta(days=int(rng.integers(0, 120)))
                start[i] = s
                stop[i] = s + dt.timedelta(days=int(rng.integers(60, 300)))
                dev[i] = rng.uniform(0.03, 0.25)
                inv[i] = rng.uniform(0.03, 0.2)
        if st in ("idle_nostart", "stopped", "disposed"):
            reason_idle[i] = "政府原因" if rng.random() < 0.4 else "企业原因"
    # ----------------------------------------------------------------- numbers
    from ._util import ellipsoidal
    area = np.round(ellipsoidal(sg, fr.crs), 2)
    mu = area * 3 / 2000
    per_mu = np.where(np.isin(use, ["工业用地", "仓储用地"]), rng.uniform(120, 380, m), rng.uniform(300, 900, m))
    total = np.round(mu * per_mu, 1)
    price_mu = np.select([use == "工业用地", use == "仓储用地", use == "商服用地", use == "住宅用地"],
                         [rng.uniform(12, 25, m), rng.uniform(15, 30, m), rng.uniform(80, 250, m),
                          rng.uniform(120, 400, m)], 0.0)
    way = np.where(np.isin(use, ["公共管理与公共服务用地", "交通运输用地"]), "划拨", "出让")
    price = np.where(way == "出让", np.round(mu * price_mu, 2), 0.0)
    styles = rng.choice(["iso", "slash", "compact", "cn"], size=m, p=[0.82, 0.07, 0.06, 0.05])
    holders, projects = [], []
    for i in range(m):
        h, p = _holder(rng, fr, use[i], industry[i])
        holders.append(h)
        projects.append(p)
    seq: dict[int, int] = {}
    ids = []
    for d in sdate:
        seq[d.year] = seq.get(d.year, 0) + 1
        ids.append(f"{fr.adcode}{d.year}B{seq[d.year]:05d}")
    phone_prefix = "0711" if fr.adcode.startswith("4207") else "0000"
    phones = [f"{phone_prefix}-555{int(rng.integers(0, 10000)):04d}" for _ in range(m)]

    def col(dates):
        return [fmt_date(d, s) for d, s in zip(dates, styles)]

    df = pd.DataFrame({
        "电子监管号": ids,
        "项目名称": projects,
        "土地使用权": holders,
        "联系电话": phones,
        "供地方式": way,
        "供地日期": col(sdate),
        "约定动工日": col(agreed),
        "实际动工日": col(start),
        "约定竣工日": col(finish),
        "应开发面积": area,
        "已开发面积": np.round(area * dev, 2),
        "总投资额": total,
        "已投资额": np.round(total * inv, 1),
        "停工日期": col(stop),
        "复工日期": col(resume),
        "处置日期": col(dispose),
        "闲置原因": reason_idle,
        "出让价款": price,
        "土地用途": use,
    })
    # two data gaps, as in real ledgers
    normal = np.flatnonzero(status == "normal")
    if len(normal) >= 3:
        df.loc[int(normal[1]), "供地日期"] = ""
        df.loc[int(normal[2]), "约定动工日"] = ""
    sup = Supply(sg, df, ssrc, status, use, start, sdate)
    sup.unsupplied = (unsup, unsup_src)
    sup.edge = edge
    return sup


def landuse_overrides(fr: Frame, ap: Approvals, sup: Supply, seed: int) -> list[tuple[shapely.Geometry, str]]:
    """What the DLTB (a year before as_of) shows on approved and supplied land."""
    rng = rng_for(seed, "landuse")
    base_date = dt.date(fr.year - 1, 12, 31)
    out = []
    unsup, unsup_src = sup.unsupplied
    reason = ap.df["未供原因"].to_numpy()
    for g, i in zip(unsup, unsup_src):
        if ap.withdrawn[i]:
            continue
        r = reason[i]
        if r == "未供即用":
            out.append((g, ["1004", "0809", "0810", "08H2"][rng.integers(4)]))
        elif r in ("预期用地项目变化", "规划调整", "其他") and rng.random() < 0.5:
            out.append((g, "1201"))
    for j, g in enumerate(sup.geom):
        st = sup.status[j]
        s = sup.start[j]
        code = USE_DLBM[sup.use[j]]
        if sup.use[j] == "公共管理与公共服务用地":
            code = ["08H2", "08H2", "08H1", "0809"][rng.integers(4)]
        if s is not None and s <= base_date and st in ("normal", "resumed"):
            out.append((g, code))
        elif s is not None and s <= base_date:
            out.append((g, "1201" if rng.random() < 0.5 else code))
        elif sup.supply_date[j] <= base_date and rng.random() < 0.6:
            out.append((g, "1201"))
    return out

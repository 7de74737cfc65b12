"""Acceptance: the sample county's 存量盘点 and 处置率 figures recomputed independently.

Written separately from landkit's engine, from the rules alone (not from
``landkit/analyses/inventory.py`` or ``disposal.py``): geopandas reads the files, plain shapely
does the overlays, our own little parser reads the dates, and pyproj.Geod measures every
polygon on the GRS80 (= CGCS2000) ellipsoid. ``landkit run``'s summary.json must agree within
0.01 亩 for areas and exactly for counts.

Rules (D = as-of date, [county] as_of, default 31 Dec of [county] year; "满一年" = the same
calendar day one year later, 29 Feb → 28 Feb):

1. 批而未供: approvals with 批准日期 ≤ D, not withdrawn by D (撤回日期 empty or > D); overlaps
   between approvals belong to the earlier approval (批准日期, then 批准文号); minus the union
   of supply with 供地日期 ≤ D (empty/unparseable 供地日期 = supplied before D); remainder
   parts < 1 m² dropped.
2. 闲置: supply with 供地日期 ≤ D, not disposed (处置日期) or completed (实际竣工日期) by D:
   not started by D and D ≥ 约定动工日期 + 1 year; or started, under-developed (已开发/应开发
   < 1/3 or 已投资/总投资 < 0.25), stopped (停工日期) at least a year before D and not resumed
   (复工日期 in [停工日期, D]). No 约定动工日期 → not idle.
3. 低效: 容积率 < 1.0 or 亩均税收 < 0.4 × the 行业 mean (county mean for an empty 行业);
   exempt when 是否规上 == 是 or D.year − 投产年份 < 3.
4. 集体经营性: QSXZ 3x/4x and DLBM in {05H1, 0508, 0601, 0602}; declared TBDLMJ when TBMJ
   matches the ellipsoidal area (max(1 m², 0.1 %)) and TBDLMJ = TBMJ − KCMJ (0.015 m²), else
   ellipsoidal area × (1 − KCXS).
5. total: ellipsoidal area of the union of all category land.
6. 处置率 for year Y, base date B = 31 Dec Y−1: rule 1 at B, disposed = the part supplied in
   (B, 31 Dec Y] plus the whole base of approvals withdrawn in that window; 闲置 at B, disposed
   = started, resumed or 处置日期 in the window. target 0.25.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from conftest import SAMPLE

GEOD = pyproj.Geod(ellps="GRS80")
MU = 3.0 / 2000.0          # 亩 per m²
TOL_MU = 0.01
SLIVER_M2 = 1.0
TARGET = 0.25
COLLECTIVE_DLBM = {"05H1", "0508", "0601", "0602"}



# ----------------------------------------------------------------------------- helpers
def pdate(v) -> dt.date | None:
    """Text dates as bureaus type them: 2021-03-01, 2021/3/1, 20210301, 2021年3月1日, or empty."""
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.date()
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return None
        v = int(v)
    s = str(v).strip()
    for pat in (r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:\D.*)?",
                r"(\d{4})(\d{2})(\d{2})(?:\.0+)?",
                r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"):
        m = re.fullmatch(pat, s)
        if m:
            try:
                return dt.date(*map(int, m.groups()))
            except ValueError:
                return None
    return None


def one_year_after(d: dt.date) -> dt.date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:          # 29 Feb → 28 Feb
        return dt.date(d.year + 1, 2, 28)


def num(v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def polygons(g):
    """The polygon parts of a geometry (lines/points from make_valid dropped)."""
    if g is None or g.is_empty:
        return []
    return [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and not p.is_empty]


class Measure:
    def __init__(self, crs):
        self.tr = pyproj.Transformer.from_crs(crs, 4490, always_xy=True)

    def poly(self, p) -> float:
        ll = shapely.transform(p, lambda xy: np.column_stack(self.tr.transform(xy[:, 0], xy[:, 1])))
        return abs(GEOD.geometry_area_perimeter(ll)[0])

    def __call__(self, g) -> float:
        return sum(self.poly(p) for p in polygons(g))


def read(name, crs=None):
    path = SAMPLE / name
    g = gpd.read_file(path, encoding="GBK") if name.endswith(".shp") else gpd.read_file(path)
    if crs is not None and g.crs is not None and not g.crs.equals(crs):
        g = g.to_crs(crs)
    bad = g.geometry.notna() & ~g.is_valid
    if bad.any():
        g.loc[bad, "geometry"] = g.loc[bad, "geometry"].make_valid()
    return g.reset_index(drop=True)


def col(g, *names):
    """A column by its full name or its shapefile-cut (10-byte GBK) name."""
    for n in names:
        if n in g.columns:
            return g[n]
    for n in names:
        for c in g.columns:
            if n.startswith(c) and len(c) >= 4:
                return g[c]
    return None


def union(geoms):
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    return shapely.union_all(geoms) if geoms else shapely.Polygon()


def cohort_range(label: str):
    """(first year, last year) of a cohort label such as 2018年及以前 / 2019年及以后 / 2010-2015年;
    None for a label without years (未知)."""
    m = re.search(r"(\d{4})\s*年?\s*(?:及|以)?以?前", label)
    if m:
        return (None, int(m.group(1)))
    m = re.search(r"(\d{4})\s*年?\s*(?:及|以)?以?后", label)
    if m:
        return (int(m.group(1)), None)
    m = re.search(r"(\d{4})\s*年?\s*[-–—~至到]\s*(\d{4})", label)
    if m:
        return (int(m.group(1)), int(m.group(2)))
    return None                 # e.g. 未知 (records without a usable date)


COHORTS = [(None, 2018), (2019, None)]       # default [inventory] cohorts


def in_cohort(year, rng):
    lo, hi = rng
    return (lo is None or year >= lo) and (hi is None or year <= hi)


def close(a, b, tol=TOL_MU):
    return a is not None and b is not None and abs(a - b) <= tol


# ----------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    from landkit.pipeline.run import run_county
    out = tmp_path_factory.mktemp("run_inventory")
    run_county(SAMPLE, out)
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def county():
    cfg = {}
    if (SAMPLE / "landkit.toml").exists():
        cfg = tomllib.loads((SAMPLE / "landkit.toml").read_text(encoding="utf-8"))
    assert not cfg.get("inventory") and not cfg.get("disposal"), \
        "this test assumes the default [inventory]/[disposal] settings"
    year = int(cfg["county"]["year"])
    as_of = pdate(cfg["county"].get("as_of")) or dt.date(year, 12, 31)

    ap = read("批准用地.shp")
    crs = ap.crs
    sp = read("供地.shp", crs)
    pc = read("宗地.gpkg", crs)
    dl = read("DLTB.shp", crs)
    m = Measure(crs)

    # approvals
    ap_rows = []
    for i, r in ap.iterrows():
        ap_rows.append({"i": i, "no": str(r["批准文号"] or ""), "approved": pdate(r["批准日期"]),
                        "withdrawn": pdate(r["撤回日期"]), "geom": r.geometry})
    # supply
    fields = {k: col(sp, *names) for k, names in {
        "supplied": ("供地日期",), "agreed": ("约定动工日期", "约定动工日"),
        "started": ("实际动工日期", "实际动工日"), "completed": ("实际竣工日期", "实际竣工日"),
        "stopped": ("停工日期",), "resumed": ("复工日期",), "disposed": ("处置日期",),
        "should": ("应开发面积",), "developed": ("已开发面积",),
        "invest_total": ("总投资额",), "invested": ("已投资额",)}.items()}
    for k in ("supplied", "agreed", "started", "stopped", "resumed", "disposed",
              "should", "developed", "invest_total", "invested"):
        assert fields[k] is not None, f"供地.shp has no {k} field: {list(sp.columns)}"
    sp_rows = []
    for i in range(len(sp)):
        rec = {"i": i, "geom": sp.geometry.iloc[i], "area": m(sp.geometry.iloc[i])}
        for k in ("supplied", "agreed", "started", "completed", "stopped", "resumed", "disposed"):
            rec[k] = pdate(fields[k].iloc[i]) if fields[k] is not None else None
        for k in ("should", "developed", "invest_total", "invested"):
            rec[k] = num(fields[k].iloc[i])
        sp_rows.append(rec)
    return {"year": year, "as_of": as_of, "ap": ap_rows, "sp": sp_rows, "pc": pc, "dl": dl,
            "m": m, "xzq": read("XZQ.shp", crs)}


# ----------------------------------------------------------------------------- rules
def approved_unsupplied(c, D):
    """Rule 1 at D: {approval index: (approved date, remainder pieces, remainder m²)}."""
    m = c["m"]
    active = [a for a in c["ap"] if a["approved"] is not None and a["approved"] <= D
              and (a["withdrawn"] is None or a["withdrawn"] > D)]
    active.sort(key=lambda a: (a["approved"], a["no"]))
    supplied = union([s["geom"] for s in c["sp"] if s["supplied"] is None or s["supplied"] <= D])
    covered = shapely.Polygon()
    out = {}
    for a in active:
        own = a["geom"].difference(covered) if not covered.is_empty else a["geom"]
        covered = union([covered, a["geom"]])
        rest = own.difference(supplied) if not supplied.is_empty else own
        pieces = [p for p in polygons(rest) if m(p) >= SLIVER_M2]
        out[a["i"]] = (a, pieces, sum(m(p) for p in pieces))
    return out


def is_idle(s, D) -> bool:
    """Rule 2 at D for one supply record."""
    if s["supplied"] is not None and s["supplied"] > D:
        return False
    if s["disposed"] is not None and s["disposed"] <= D:
        return False
    if s["completed"] is not None and s["completed"] <= D:
        return False
    if s["agreed"] is None:
        return False
    if s["started"] is None or s["started"] > D:
        return D >= one_year_after(s["agreed"])
    low = False
    if s["should"] > 0 and s["developed"] / s["should"] < 1 / 3:
        low = True
    if s["invest_total"] > 0 and s["invested"] / s["invest_total"] < 0.25:
        low = True
    if not low or s["stopped"] is None or D < one_year_after(s["stopped"]):
        return False
    resumed = s["resumed"] is not None and s["stopped"] <= s["resumed"] <= D
    return not resumed


def inefficient(c, D):
    pc = c["pc"]
    far = pd.to_numeric(pc["容积率"], errors="coerce")
    tax = pd.to_numeric(pc["亩均税收"], errors="coerce")
    ind = pc["行业"].fillna("").astype(str).str.strip()
    county_mean = tax.mean()
    ind_mean = tax.groupby(ind).mean()
    ref = np.array([county_mean if k == "" else ind_mean[k] for k in ind])
    low = (far < 1.0).to_numpy() | (tax.to_numpy() < 0.4 * ref)
    big = (pc["是否规上"].fillna("").astype(str).str.strip() == "是").to_numpy()
    start = pd.to_numeric(pc["投产年份"], errors="coerce").to_numpy()
    young = (D.year - start) < 3
    return np.flatnonzero(low & ~big & ~young)


def collective(c):
    dl, m = c["dl"], c["m"]
    q = dl["QSXZ"].fillna("").astype(str).str.strip()
    sel = dl[q.str[:1].isin(["3", "4"]) & dl["DLBM"].fillna("").astype(str).str.strip().isin(COLLECTIVE_DLBM)]
    out = []
    for _, r in sel.iterrows():
        a = m(r.geometry)
        tbmj, kcmj, tbdlmj = num(r["TBMJ"]), num(r.get("KCMJ")), num(r["TBDLMJ"])
        kcxs = num(r.get("KCXS"))
        kcxs = 0.0 if not np.isfinite(kcxs) else kcxs
        kcmj_ = 0.0 if not np.isfinite(kcmj) else kcmj
        ok = (np.isfinite(tbmj) and np.isfinite(tbdlmj)
              and abs(tbmj - a) <= max(1.0, 0.001 * a)
              and abs(tbdlmj - (tbmj - kcmj_)) <= 0.015)
        out.append((r.geometry, tbdlmj if ok else a * (1 - kcxs)))
    return out


def rate_block(base, disposed):
    return {"base_mu": base * MU, "disposed_mu": disposed * MU,
            "rate": disposed / base if base > 0 else None,
            "shortfall_mu": max(0.0, TARGET * base - disposed) * MU,
            "met": (disposed / base >= TARGET) if base > 0 else None}


def check_block(mine, theirs, what):
    assert theirs["target"] == pytest.approx(TARGET), what
    for k in ("base_mu", "disposed_mu", "shortfall_mu"):
        assert close(mine[k], theirs[k]), f"{what} {k}: recomputed {mine[k]:.4f}, landkit {theirs[k]}"
    if mine["rate"] is None:
        assert theirs["rate"] is None, f"{what} rate: base 0 but landkit gives {theirs['rate']}"
    else:
        assert theirs["rate"] == pytest.approx(mine["rate"], abs=1e-4), f"{what} rate"
        assert theirs["met"] == mine["met"], f"{what} met"


# ----------------------------------------------------------------------------- tests
def test_as_of(summary, county):
    assert summary["inventory"]["as_of"] == county["as_of"].isoformat()
    assert summary["disposal"]["year"] == county["year"]


def test_approved_unsupplied(summary, county):
    inv = summary["inventory"]
    au = approved_unsupplied(county, county["as_of"])
    total = sum(v[2] for v in au.values())
    count = sum(1 for v in au.values() if v[2] > 0)
    assert close(inv["approved_unsupplied_mu"], total * MU), \
        f"批而未供: recomputed {total * MU:.4f} 亩, landkit {inv['approved_unsupplied_mu']}"
    assert inv["approved_unsupplied_count"] == count
    cohorts = {cohort_range(b["cohort"]): b for b in inv["by_cohort"]}
    assert set(COHORTS) <= set(cohorts), inv["by_cohort"]
    for rng, b in cohorts.items():       # every counted approval has a 批准日期, so 未知 stays empty
        if rng not in COHORTS:
            assert b["count"] == 0 and close(b["approved_unsupplied_mu"], 0.0), b
    for rng in COHORTS:
        sel = [v for v in au.values() if in_cohort(v[0]["approved"].year, rng)]
        mu = sum(v[2] for v in sel) * MU
        b = cohorts[rng]
        assert close(b["approved_unsupplied_mu"], mu), f"cohort {b['cohort']}: {mu:.4f} vs {b}"
        assert b["count"] == sum(1 for v in sel if v[2] > 0), b


def test_idle(summary, county):
    inv = summary["inventory"]
    idle = [s for s in county["sp"] if is_idle(s, county["as_of"])]
    mu = sum(s["area"] for s in idle) * MU
    assert inv["idle_count"] == len(idle), f"闲置 count: recomputed {len(idle)}, landkit {inv['idle_count']}"
    assert close(inv["idle_mu"], mu), f"闲置: recomputed {mu:.4f} 亩, landkit {inv['idle_mu']}"


def test_inefficient(summary, county):
    inv = summary["inventory"]
    rows = inefficient(county, county["as_of"])
    mu = sum(county["m"](county["pc"].geometry.iloc[i]) for i in rows) * MU
    assert inv["inefficient_count"] == len(rows)
    assert close(inv["inefficient_mu"], mu), f"低效: recomputed {mu:.4f} 亩, landkit {inv['inefficient_mu']}"


def test_collective(summary, county):
    inv = summary["inventory"]
    feats = collective(county)
    mu = sum(a for _, a in feats) * MU
    assert inv["collective_commercial_count"] == len(feats)
    assert close(inv["collective_commercial_mu"], mu), \
        f"集体经营性: recomputed {mu:.4f} 亩, landkit {inv['collective_commercial_mu']}"


def test_total(summary, county):
    D = county["as_of"]
    geoms = [p for v in approved_unsupplied(county, D).values() for p in v[1]]
    geoms += [s["geom"] for s in county["sp"] if is_idle(s, D)]
    geoms += [county["pc"].geometry.iloc[i] for i in inefficient(county, D)]
    geoms += [g for g, _ in collective(county)]
    mu = county["m"](union(geoms)) * MU
    assert close(summary["inventory"]["total_mu"], mu), \
        f"total: recomputed {mu:.4f} 亩, landkit {summary['inventory']['total_mu']}"


def test_by_township_adds_up(summary, county):
    """The township split rule is not part of this test's brief; the rows must add up."""
    inv = summary["inventory"]
    codes = set(county["xzq"]["XZQDM"].astype(str))
    for k in ("approved_unsupplied_mu", "idle_mu", "inefficient_mu", "collective_commercial_mu"):
        s = sum(r[k] for r in inv["by_township"])
        assert close(s, inv[k]), f"Σ by_township {k} = {s}, county {inv[k]}"
    for r in inv["by_township"]:
        assert r["code"] in codes or r["code"] in (None, "", "未能确定乡镇") or r["name"] == "未能确定乡镇", r
    d = summary["disposal"]
    for part in ("approved_unsupplied", "idle"):
        for k in ("base_mu", "disposed_mu"):
            s = sum(r[part][k] for r in d["by_township"])
            assert close(s, d[part][k]), f"disposal Σ by_township {part}.{k} = {s}, county {d[part][k]}"
            s = sum(r[part][k] for r in d["by_cohort"])
            assert close(s, d[part][k]), f"disposal Σ by_cohort {part}.{k} = {s}, county {d[part][k]}"


def test_disposal_approved_unsupplied(summary, county):
    Y = county["year"]
    B, E = dt.date(Y - 1, 12, 31), dt.date(Y, 12, 31)
    m = county["m"]
    base = approved_unsupplied(county, B)
    new_supply = union([s["geom"] for s in county["sp"] if s["supplied"] is not None and B < s["supplied"] <= E])
    per = []
    for a, pieces, area in base.values():
        if a["withdrawn"] is not None and B < a["withdrawn"] <= E:
            disp = area
        elif new_supply.is_empty or not pieces:
            disp = 0.0
        else:
            disp = m(union(pieces).intersection(new_supply))
        per.append((a, area, disp))
    d = summary["disposal"]
    check_block(rate_block(sum(p[1] for p in per), sum(p[2] for p in per)), d["approved_unsupplied"],
                "处置率 批而未供")
    cohorts = {cohort_range(b["cohort"]): b for b in d["by_cohort"]}
    assert set(COHORTS) <= set(cohorts), d["by_cohort"]
    for rng, b in cohorts.items():
        if rng not in COHORTS:
            assert close(b["approved_unsupplied"]["base_mu"], 0.0), b
    for rng in COHORTS:
        sel = [p for p in per if in_cohort(p[0]["approved"].year, rng)]
        check_block(rate_block(sum(p[1] for p in sel), sum(p[2] for p in sel)),
                    cohorts[rng]["approved_unsupplied"], f"处置率 批而未供 {cohorts[rng]['cohort']}")


def test_disposal_idle(summary, county):
    Y = county["year"]
    B, E = dt.date(Y - 1, 12, 31), dt.date(Y, 12, 31)
    base = [s for s in county["sp"] if is_idle(s, B)]
    done = [s for s in base if any(s[k] is not None and B < s[k] <= E for k in ("started", "resumed", "disposed"))]
    check_block(rate_block(sum(s["area"] for s in base), sum(s["area"] for s in done)),
                summary["disposal"]["idle"], "处置率 闲置")

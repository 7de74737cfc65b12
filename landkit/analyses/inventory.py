"""存量建设用地大盘点 (docs/rules.md §2, §3, §7; R9, R10, R12): 批而未供, 闲置土地, 城镇低效用地,
农村集体经营性建设用地 — "找到地、找到人、析原因、快处置".

Every ledger row says where the land is (geometry, township, village) and how big (m², 亩,
公顷), who holds it, why it is stuck, and leaves empty columns for what will be done
(:data:`PLAN_COLUMNS`).

Dates. The as-of date D defaults to ``county.as_of`` (31 Dec of the county's year). "满一年"
means the same calendar day one year later (:func:`landkit.dates.add_years`: 29 Feb → 28 Feb);
a rule that holds "满一年" holds *on* the anniversary, not the day before. Dates arrive in
any form bureaus use (2023-03-01, 2023/3/1, 20230301, 2023年3月1日, Excel serials, date
columns); a value that is not a date becomes a QA finding naming the row and field.

Areas. Whole DLTB features use their declared TBDLMJ where it passed QA (no
``tbmj_mismatch``/``tbdlmj_mismatch`` finding), else the computed ellipsoidal area ×
(1 − KCXS); pieces (differences, intersections) and approval/supply/parcel polygons use
the computed CGCS2000 ellipsoidal area. ``*_m2`` columns are m², ``*to_mu`` 亩 (× 3/2000),
``*_ha`` 公顷; nothing is rounded.

Settings: ``[inventory]`` in landkit.toml (:class:`landkit.settings.InventorySettings`, docs/settings.md; every rule docs/rules.md marks
UNCONFIRMED is one of them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from .approved_unsupplied import approved_unsupplied
from .collective import collective_commercial
from .idle import idle_land
from .inefficient import inefficient_land
from ..settings import settings_for
from ..standards.vocabulary import CATEGORY_NAMES
from .stock import UNKNOWN_TOWN, first_value, resolve_as_of, to_mu, town_label, union_mu



# --------------------------------------------------------------------------------------
# the inventory
# --------------------------------------------------------------------------------------


@dataclass
class InventoryResult:
    """存量建设用地大盘点: the four categories' per-row GeoDataFrames (geometry = the land;
    None where the county lacks the layers), their sub-results, the findings and the summary."""

    summary: dict
    approved_unsupplied: gpd.GeoDataFrame | None
    idle: gpd.GeoDataFrame | None
    inefficient: gpd.GeoDataFrame | None
    collective_commercial: gpd.GeoDataFrame | None
    results: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """{Chinese layer name: GeoDataFrame} of the categories present (for gpkg/maps)."""
        names = {"approved_unsupplied": "批而未供", "idle": "闲置土地", "inefficient": "城镇低效用地",
                 "collective_commercial": "农村集体经营性建设用地"}
        return {cn: getattr(self, k) for k, cn in names.items() if getattr(self, k) is not None}

    def _repr_html_(self) -> str:
        s = self.summary

        def f(x):
            return "—" if x is None else f"{x:.2f}"
        return (f"<b>存量建设用地</b>（{s['as_of']}）：批而未供 {f(s['approved_unsupplied_mu'])} 亩，"
                f"闲置 {f(s['idle_mu'])} 亩，低效 {f(s['inefficient_mu'])} 亩，"
                f"集体经营性 {f(s['collective_commercial_mu'])} 亩；合计（去重）{f(s['total_mu'])} 亩"
                + pd.DataFrame(s["by_township"]).to_html(index=False))


CATEGORIES = ("approved_unsupplied", "idle", "inefficient", "collective_commercial")


def inventory(county, as_of=None, config=None) -> InventoryResult:
    """批而未供, 闲置土地, 城镇低效用地 and 农村集体经营性建设用地 of a county at D, in one result.

    Summary keys: as_of, {category}_mu and {category}_count for approved_unsupplied, idle,
    inefficient, collective_commercial (None where the layers are missing, listed in
    ``missing`` with Chinese ``notes``), total_mu (the union of all category geometries,
    ellipsoidal: land in several categories counted once), by_township [{code, name,
    approved_unsupplied_mu, idle_mu, inefficient_mu, collective_commercial_mu, total_mu}]
    (a row belongs to the township holding most of its land), by_cohort [{cohort,
    approved_unsupplied_mu, count}].
    """
    cfg = settings_for(county, config)
    D, notes = resolve_as_of(county, as_of)
    au = approved_unsupplied(county, D, cfg)
    il = idle_land(county, D, cfg)
    ie = inefficient_land(county, cfg, as_of=D)
    cc = collective_commercial(county, cfg)
    res = {"approved_unsupplied": au, "idle": il, "inefficient": ie, "collective_commercial": cc}
    avail = {k: r.summary["available"] for k, r in res.items()}
    missing = []
    for r in res.values():
        for m in r.summary.get("missing", []):
            if m not in missing:
                missing.append(m)
        for x in r.summary.get("notes", []):
            if x not in notes:
                notes.append(x)
    frames = {k: (res[k].features if avail[k] else None) for k in CATEGORIES}
    area_col = {"approved_unsupplied": "unsupplied_m2", "idle": "area_m2", "inefficient": "area_m2",
                "collective_commercial": "area_m2"}

    def cat_mu(k, sub=None):
        if not avail[k]:
            return None
        f = frames[k] if sub is None else sub
        return to_mu(f[area_col[k]]) if len(f) else 0.0

    geoms_all = [np.asarray(frames[k].geometry.values, dtype=object) for k in CATEGORIES if frames[k] is not None]
    total = union_mu(np.concatenate(geoms_all) if geoms_all else np.empty(0, dtype=object), county.crs)
    towns: dict[str, dict] = {}
    for k in CATEGORIES:
        f = frames[k]
        if f is None:
            continue
        for code, grp in f.groupby(f["township"].fillna(UNKNOWN_TOWN), sort=True):
            t = towns.setdefault(code, {"name": None, "parts": {}, "geoms": []})
            t["name"] = t["name"] or first_value(grp["township_name"])
            t["parts"][k] = grp
            t["geoms"].append(np.asarray(grp.geometry.values, dtype=object))
    by_t = []
    for code in sorted(towns, key=lambda c: (c == UNKNOWN_TOWN, c)):
        t = towns[code]
        row = {"code": code, "name": town_label(code, t["name"])}
        for k in CATEGORIES:
            row[f"{k}_mu"] = (cat_mu(k, t["parts"][k]) if k in t["parts"] else 0.0) if avail[k] else None
        row["total_mu"] = union_mu(np.concatenate(t["geoms"]), county.crs)
        by_t.append(row)
    by_c = []
    if avail["approved_unsupplied"]:
        by_c = [{"cohort": c["cohort"], "approved_unsupplied_mu": c["unsupplied_mu"], "count": c["count"]}
                for c in au.summary["by_cohort"]]
    summary = {"as_of": D.isoformat()}
    for k in CATEGORIES:
        summary[f"{k}_mu"] = cat_mu(k)
        summary[f"{k}_count"] = int(len(frames[k])) if avail[k] else None
    if not any(avail.values()):
        total = None                       # nothing could be counted: unknown, not 0
    summary.update({"total_mu": total, "by_township": by_t, "by_cohort": by_c})
    unavailable = {}
    for k in CATEGORIES:
        if not avail[k]:
            why = res[k].summary.get("reason") or "；".join(res[k].summary.get("notes") or []) or "缺少所需图层或字段"
            unavailable[f"{k}_mu"] = unavailable[f"{k}_count"] = why
    if unavailable:
        covered = [CATEGORY_NAMES[k] for k in CATEGORIES if avail[k]]
        unavailable["total_mu"] = ("各类均无法统计" if total is None else
                                   "合计只含" + "、".join(covered) + "（其余类别未提供数据）")
        summary["total_covers"] = [k for k in CATEGORIES if avail[k]]
        summary["unavailable"] = unavailable
    if missing:
        summary["missing"] = missing
    if notes:
        summary["notes"] = notes
    findings = []
    for f in au.findings + il.findings + ie.findings + cc.findings:
        if f not in findings:           # 供地日期 findings come from two analyses
            findings.append(f)
    return InventoryResult(summary, frames["approved_unsupplied"], frames["idle"], frames["inefficient"],
                           frames["collective_commercial"], res, findings)

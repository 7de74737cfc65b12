"""闲置土地 (docs/rules.md §2.1, R9; 国土资源部令第53号): supplied land not started, or stalled, for a full year."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from ..dates import add_years
from ..findings import Finding
from ..standards.area import ellipsoidal_area
from .location import locate
from ..settings import settings_for
from .stock import IDLE_STATUS, IDLE_TYPES, PLAN_COLUMNS, UNKNOWN_TOWN, add_area_units, as_datetime64, date_field, empty_frame, first_value, full_years, geometry_values, layer_file, numeric_column, resolve_as_of, row_ids, text_column, to_mu, town_label



# --------------------------------------------------------------------------------------
# 闲置土地
# --------------------------------------------------------------------------------------


@dataclass
class IdleResult:
    """闲置土地 at ``as_of``. ``features``: the idle supply records (geometry = the parcel);
    ``records``: every supply record with its status and the reason."""

    features: gpd.GeoDataFrame
    records: gpd.GeoDataFrame
    summary: dict
    findings: list = field(default_factory=list)
    as_of: dt.date | None = None

    def _repr_html_(self) -> str:
        s = self.summary
        return (f"<b>闲置土地</b>（{s['as_of']}）：{s['count']} 宗，{s['idle_mu']:.2f} 亩"
                + self.features.drop(columns="geometry").head(20).to_html())


def classify_cause(text, s: dict) -> str | None:
    """闲置原因 text → "政府" / "企业" / "未明" (given but not recognised) / None (not given)."""
    if text is None:
        return None
    t = str(text).strip()
    if not t:
        return None
    if t.startswith("政府") or t.startswith("非企业"):
        return "政府"
    if t.startswith("企业") or t.startswith("非政府"):
        return "企业"
    gov = any(k in t for k in s.government_cause_keywords)
    ent = any(k in t for k in s.enterprise_cause_keywords)
    if gov and not ent:
        return "政府"
    if ent and not gov:
        return "企业"
    return "未明"


_DECISIVE = ("约定动工日期", "实际动工日期", "停工日期", "复工日期", "处置日期")


def idle_land(county, as_of=None, config=None) -> IdleResult:
    """闲置土地 (《闲置土地处置办法》53号令 第二条, 第十四条; R9) on the supply records at D.

    A record supplied on or before D (or without a 供地日期) is idle when

    * D ≥ 约定动工日期 + 1 year (满一年, on the anniversary) and there is no 实际动工日期
      on or before D — idle since the anniversary (``idle_not_started``); or
    * development started (实际动工日期 ≤ D) but 已开发面积 / 应开发面积 < 1/3 or
      已投资额 / 总投资额 < 25 % (both strictly), and D ≥ 停工日期 + 1 year with no
      复工日期 between 停工日期 and D — idle since the anniversary of 停工日期
      (``idle_stalled``).

    Records already disposed (处置日期 ≤ D) or completed (实际竣工日期 ≤ D) are not idle.
    A record without a usable 约定动工日期 that has not started cannot be judged; nor can
    one whose decisive date fields hold values that are not dates: both are QA findings,
    not idle. Per idle record: idle_since, idle_days, idle_years (days / 365.25),
    overdue_years (whole years since 约定动工日期 / 停工日期), the holder (土地使用权人,
    联系人, 联系电话), cause (政府 / 企业 / 未明 from 闲置原因), and where the cause is
    企业: idle_fee_wan = ``idle_fee_rate`` × 出让价款 (万元) and recover_candidate
    (无偿收回 candidate: overdue_years ≥ ``recover_years``). Area = the parcel's computed
    ellipsoidal area; the declared 供地面积 is kept.
    """
    cfg = settings_for(county, config)
    s = cfg.inventory
    D, notes = resolve_as_of(county, as_of)
    sliver = cfg.sliver_m2
    findings: list[Finding] = []
    sup = county.supply
    if sup is None:
        notes.append("没有供地图层，无法认定闲置土地")
        return IdleResult(empty_frame(county), empty_frame(county),
                          _idle_summary(None, D, ["supply"], notes), findings, D)
    # without these two fields no record can be judged: the figure is unknown, not 0
    absent = [f for f in ("约定动工日期", "实际动工日期") if f not in sup.columns]
    if absent:
        notes.append(f"供地图层缺少{'、'.join(absent)}字段，无法认定闲置土地")
        return IdleResult(empty_frame(county), empty_frame(county),
                          _idle_summary(None, D, [f"supply.{f}" for f in absent], notes), findings, D)
    lacking = [f for f in ("停工日期", "复工日期", "处置日期", "实际竣工日期") if f not in sup.columns]
    if lacking:
        what = {"停工日期": "停工", "复工日期": "复工", "处置日期": "已处置", "实际竣工日期": "已竣工"}
        notes.append(f"供地图层缺少{'、'.join(lacking)}字段：{'、'.join(what[f] for f in lacking)}的情形无法识别，"
                     "闲置土地按其余字段认定")
    n = len(sup)
    ids = row_ids(sup, "supply")
    dates, bad = {}, {}
    for name in ("供地日期",) + _DECISIVE + ("约定竣工日期", "实际竣工日期"):
        dates[name], bad[name] = date_field(county, sup, "supply", name, ids, findings)
    gd, yd, sd, tg, fg, cz, jg = (dates[k] for k in ("供地日期", "约定动工日期", "实际动工日期", "停工日期",
                                                      "复工日期", "处置日期", "实际竣工日期"))
    dev = numeric_column(sup, "已开发面积")
    dev_total = numeric_column(sup, "应开发面积")
    inv = numeric_column(sup, "已投资额")
    inv_total = numeric_column(sup, "总投资额")
    with np.errstate(invalid="ignore", divide="ignore"):
        dev_ratio = np.where(dev_total > 0, dev / np.where(dev_total > 0, dev_total, 1), np.nan)
        inv_ratio = np.where(inv_total > 0, inv / np.where(inv_total > 0, inv_total, 1), np.nan)
    low_dev = np.isfinite(dev_ratio) & (dev_ratio < s.develop_share - 1e-12)
    low_inv = np.isfinite(inv_ratio) & (inv_ratio < s.invest_share - 1e-12)
    no_ratio = ~np.isfinite(dev_ratio) & ~np.isfinite(inv_ratio)
    decisive_bad = np.zeros(n, dtype=bool)
    for k in _DECISIVE:
        decisive_bad |= bad[k]

    status = np.full(n, "not_idle", dtype=object)
    since = [None] * n
    ref = [None] * n
    why_not = [None] * n
    cannot_start, cannot_ratio = [], []
    y1 = s.idle_years
    for i in range(n):
        if gd[i] is not None and gd[i] > D:
            status[i] = "not_supplied"
            continue
        if cz[i] is not None and cz[i] <= D:
            status[i] = "disposed"
            continue
        if jg[i] is not None and jg[i] <= D:
            status[i] = "completed"
            continue
        if decisive_bad[i]:
            status[i] = "cannot_judge"
            why_not[i] = "日期字段有无法识别的值"
            continue
        started = sd[i] is not None and sd[i] <= D
        if not started:
            if yd[i] is None:
                status[i] = "cannot_judge"
                why_not[i] = "缺少约定动工日期"
                cannot_start.append(i)
                continue
            anniv = add_years(yd[i], y1)
            if D >= anniv:
                status[i], since[i], ref[i] = "idle_not_started", anniv, yd[i]
            continue
        # started: stalled for a full year without resuming?
        if tg[i] is None or tg[i] > D:
            continue
        resumed = fg[i] is not None and tg[i] <= fg[i] <= D
        anniv = add_years(tg[i], y1)
        if resumed or D < anniv:
            continue
        if no_ratio[i]:
            status[i] = "cannot_judge"
            why_not[i] = "中止开发满一年，但缺少开发面积和投资额，无法判断是否达到三分之一/25%"
            cannot_ratio.append(i)
            continue
        if low_dev[i] or low_inv[i]:
            status[i], since[i], ref[i] = "idle_stalled", anniv, tg[i]
    file = layer_file(county, "supply")
    if cannot_start:
        findings.append(Finding("warning", "idle_start_date_missing",
                                f"{len(cannot_start)} 个供地记录未动工且缺少可用的约定动工日期，无法判定是否闲置",
                                "supply", file, "约定动工日期", [ids[i] for i in cannot_start], len(cannot_start)))
    if cannot_ratio:
        findings.append(Finding("warning", "idle_ratio_missing",
                                f"{len(cannot_ratio)} 个供地记录中止开发满一年，但缺少已开发/应开发面积和已投资/总投资额，"
                                "无法判定是否闲置", "supply", file, "已开发面积",
                                [ids[i] for i in cannot_ratio], len(cannot_ratio)))

    cause_text = text_column(sup, "闲置原因")
    cause = np.array([classify_cause(t, s) for t in cause_text], dtype=object)
    price = numeric_column(sup, "出让价款")
    idle = np.array([x in IDLE_TYPES for x in status], dtype=bool)
    idle_days = np.array([(D - since[i]).days if since[i] else np.nan for i in range(n)], dtype="float64")
    overdue = np.array([full_years(ref[i], D) if ref[i] else -1 for i in range(n)], dtype=np.int64)
    ent = idle & (cause == "企业")
    fee = np.where(ent & np.isfinite(price) & (price > 0), s.idle_fee_rate * price, np.nan)
    recover = ent & (overdue >= s.recover_years)

    g = geometry_values(sup)
    area = sup["lk_area_m2"].to_numpy(dtype="float64") if "lk_area_m2" in sup.columns \
        else ellipsoidal_area(g, crs=county.crs)
    rec = gpd.GeoDataFrame({"id": ids, "lk_fid": sup["lk_fid"].to_numpy() if "lk_fid" in sup.columns
                            else np.arange(n)}, geometry=g, crs=sup.crs, index=sup.index)
    for col in ("电子监管号", "项目名称", "土地使用权人", "联系人", "联系电话", "供地方式", "土地用途"):
        rec[col] = text_column(sup, col)
    for col in ("供地日期", "约定动工日期", "实际动工日期", "停工日期", "复工日期", "处置日期", "实际竣工日期"):
        rec[col] = as_datetime64(dates[col]).to_numpy()
    for col in ("供地面积", "应开发面积", "已开发面积", "总投资额", "已投资额", "出让价款"):
        rec[col] = numeric_column(sup, col)
    rec["处置方式"] = text_column(sup, "处置方式")
    rec["闲置原因"] = cause_text
    rec["area_m2"] = area
    add_area_units(rec, "area_m2")
    rec["status"] = status
    rec["status_name"] = [IDLE_STATUS[x] for x in status]
    rec["cannot_judge_reason"] = why_not
    rec["idle_type"] = [IDLE_TYPES.get(x) for x in status]
    rec["idle_since"] = as_datetime64(since).to_numpy()
    rec["idle_days"] = idle_days
    rec["idle_years"] = idle_days / 365.25
    rec["overdue_years"] = np.where(overdue >= 0, overdue, np.nan)
    rec["develop_ratio"] = dev_ratio
    rec["invest_ratio"] = inv_ratio
    rec["cause"] = np.where(idle, cause, None)
    rec["idle_fee_wan"] = fee
    rec["recover_candidate"] = recover
    rec["supply_year"] = pd.array([d.year if d else None for d in gd], dtype="Int64")
    feats = rec[idle].copy()
    loc = locate(geometry_values(feats), county, cfg, sliver)
    for c in ("township", "township_name", "village", "village_name"):
        feats[c] = loc[c].to_numpy()
    for c in PLAN_COLUMNS:
        feats[c] = None
    summ = _idle_summary(feats, D, [], notes)
    summ["cannot_judge_count"] = int((status == "cannot_judge").sum())
    summ["disposed_count"] = int((status == "disposed").sum())
    return IdleResult(feats, rec, summ, findings, D)


def _idle_summary(feats, D, missing, notes) -> dict:
    if feats is None:
        out = {"as_of": D.isoformat(), "available": False, "reason": "；".join(notes) or None,
               "idle_mu": None, "count": None,
               "not_started_count": None, "stalled_count": None, "enterprise_count": None,
               "government_count": None, "idle_fee_wan": None, "recover_candidate_count": None,
               "recover_candidate_mu": None, "by_township": []}
    else:
        f = feats
        by_t = []
        for code, grp in f.groupby(f["township"].fillna(UNKNOWN_TOWN), sort=True):
            by_t.append({"code": code, "name": town_label(code, first_value(grp["township_name"])),
                         "idle_mu": to_mu(grp["area_m2"]),
                         "count": int(len(grp))})
        out = {"as_of": D.isoformat(), "available": True, "idle_mu": to_mu(f["area_m2"]), "count": int(len(f)),
               "not_started_count": int((f["status"] == "idle_not_started").sum()),
               "stalled_count": int((f["status"] == "idle_stalled").sum()),
               "enterprise_count": int((f["cause"] == "企业").sum()),
               "government_count": int((f["cause"] == "政府").sum()),
               "idle_fee_wan": float(np.nansum(f["idle_fee_wan"].to_numpy(dtype="float64"))),
               "recover_candidate_count": int(f["recover_candidate"].sum()),
               "recover_candidate_mu": to_mu(f.loc[f["recover_candidate"], "area_m2"]),
               "by_township": by_t}
    if missing:
        out["missing"] = list(missing)
    if notes:
        out["notes"] = list(notes)
    return out

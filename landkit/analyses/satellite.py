"""The 卫片 violation ratio (docs/rules.md §1, R7, R8).

ratio = Σ illegal patches' 耕地 ÷ Σ (legal + illegal) patches' 耕地, for the county, every
township and cumulatively by quarter; status against the local cap (default 5 %, pass when
ratio ≤ cap) and the 15号令 第三条 line (accountability when ratio ≥ 15 %).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.fields import ID_FIELDS, feature_ids
from ..overlay.engine import overlay_areas
from ..standards.codes import CULTIVATED
from ..settings import settings_for
from ..standards.units import m2_to_mu
from ..standards.vocabulary import (CLASS_NAMES, DEFAULT_JUDGEMENT, ILLEGAL, LEGAL, OTHER, PSEUDO, UNJUDGED,  # noqa: F401
                                   classify_judgements, normalise_judgement, status_of)
from .field_check import field_checks, issue_months
from .location import locate, piece_townships, township_names

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}


def _feature_names(p: pd.DataFrame, rows) -> str | None:
    """'监测编号 A、B 等（共 7 个）' for those rows of the patch layer (ids as in QA findings)."""
    if rows is None or not len(rows):
        return None
    ids = feature_ids(p, p.index.isin(rows), "patches")
    label = f"{ID_FIELDS['patches']} " if ID_FIELDS["patches"] in p.columns else ""
    return label + "、".join(ids[:5]) + (f" 等（共 {len(ids)} 个）" if len(ids) > 5 else "")


def parse_quarter(q, date=None) -> int | None:
    """1–4 from 季度 values like 1, "第一季度", "2024Q3", "Q2"; else from the 后时相 month."""
    if q is not None and not (isinstance(q, float) and np.isnan(q)):
        s = str(q).strip()
        m = re.search(r"[Qq]\s*([1-4])", s) or re.search(r"第?([一二三四1-4])季", s) or re.fullmatch(r"([1-4])(\.0)?", s)
        if m:
            g = m.group(1)
            return _CN_DIGITS.get(g) or int(g)
    if date is not None:
        from ..dates import parse_date
        d = parse_date(date)
        if d is not None:
            return (d.month - 1) // 3 + 1
    return None


@dataclass
class SatelliteResult:
    patches: gpd.GeoDataFrame     # one row per patch with its class and areas
    summary: dict

    def _repr_html_(self) -> str:
        s = self.summary
        r = "—" if s["ratio"] is None else f"{s['ratio']:.2%}"
        return (f"<b>卫片违法占用耕地比例</b> {r}（{s['status']}）：违法 {s['illegal_farmland_mu']:.2f} 亩 / "
                f"新增建设用地占用耕地 {s['new_construction_farmland_mu']:.2f} 亩"
                + pd.DataFrame(s["by_township"]).to_html(index=False))


def _ratio_block(I: float, D: float, cap: float, line: float) -> dict:
    ratio = I / D if D > 0 else None
    return {"ratio": ratio, "illegal_farmland_mu": I, "new_construction_farmland_mu": D,
            "status": status_of(ratio, cap, line)}


def base_role(county, settings) -> str:
    """The DLTB layer role the patches' 耕地 is measured on: ``dltb_previous`` when ``[satellite]
    base_dltb = "previous"`` and the county has a previous vintage, else ``dltb``."""
    if settings.base_dltb == "previous" and (getattr(county, "layers", {}) or {}).get("dltb_previous") is not None:
        return "dltb_previous"
    return "dltb"


def township_alert(ratio, cap: float, warning_share: float) -> str | None:
    """``talk`` (约谈候选) when a township's ratio is over the cap, ``warning`` (预警) when it is at
    or above ``warning_share`` × cap, else None (``[satellite] warning_share``)."""
    if ratio is None:
        return None
    if ratio > cap + 1e-12:
        return "talk"
    if ratio >= warning_share * cap - 1e-12 and ratio > 0:
        return "warning"
    return None


def rectify_to_cap(I: float, D: float, cap: float) -> float:
    """Least illegal 耕地 (亩) to restore — leaving numerator and denominator — to reach the cap."""
    return max(0.0, (I - cap * D) / (1.0 - cap))


def satellite_ratio(county, config=None, checks: dict | None = None) -> SatelliteResult:
    """The 卫片 violation ratio of a county (see the module docstring).

    Areas: each patch's 耕地 is its overlap with DLTB features of DLBM 0101/0102/0103,
    net of 田坎 (× (1 − KCXS)) by default or gross (``[satellite] farmland_mode``); its
    永久基本农田 area is its overlap with YJJBNT (union). All areas CGCS2000 ellipsoidal.
    Patches not judged yet (判定类型 blank, 未判定) stay out of the ratio and are counted.
    ``checks`` (监测编号 → the field-check columns staff typed in the returned ledger) feeds the
    field-check rate and 月清 figures (:mod:`landkit.analyses.field_check`).
    """
    cfg = settings_for(county, config)
    s = cfg.satellite
    cap, line = s.cap, s.accountability_threshold
    p = county.patches
    if p is None:
        raise InputError("该县没有卫片图斑图层，无法计算卫片违法占用耕地比例", file=county.path)
    if county.dltb is None:
        raise InputError("该县没有地类图斑图层，无法计算图斑占用耕地面积", file=county.path)
    base = base_role(county, s)
    d = county.layers[base]
    gd = d[d["DLBM"].isin(list(CULTIVATED))]
    if len(gd) == 0:
        raise InputError("地类图斑中没有耕地（DLBM 0101/0102/0103），无法计算卫片违法占用耕地比例",
                         file=county.sources[base].path if base in county.sources else county.path,
                         field="DLBM")
    src = county.sources.get("patches")
    try:
        cls = classify_judgements(p["判定类型"], s.judgement)
    except InputError as e:
        raise InputError(e.message, file=src.path if src else None, layer=src.layer if src else None,
                         field="判定类型", feature=_feature_names(p, getattr(e, "rows", None)))
    sliver = cfg.sliver_m2
    area = p["lk_area_m2"].to_numpy()
    kcxs = gd["KCXS"].to_numpy() if "KCXS" in gd.columns else None
    r_gd = overlay_areas(p.geometry, gd.geometry, b_ids=gd.index.to_numpy(), b_kcxs=kcxs, sliver_m2=sliver,
                         assume_valid=True,
                         a_area_m2=area, keep_pieces=True, union=False)
    net = s.farmland_mode == "net"
    pieces = r_gd.pieces
    pieces["used_m2"] = pieces["net_m2"] if net else pieces["area_m2"]
    # township of each 耕地 piece: its parcel's ZLDWDM, else the township layer (location's rule)
    zl = gd["ZLDWDM"].to_numpy(dtype=object)[pieces["ib"].to_numpy()] if "ZLDWDM" in gd.columns \
        else np.full(len(pieces), None, dtype=object)
    town, _ = piece_townships(zl, np.asarray(pieces.geometry.values, dtype=object), county, cfg, sliver)
    town = np.array([t if t else "未知" for t in town], dtype=object)
    pieces["township"] = town

    yj = county.yjjbnt
    if yj is not None:
        r_yj = overlay_areas(p.geometry, yj.geometry, b_kcxs=yj["KCXS"].to_numpy() if "KCXS" in yj.columns else None,
                             sliver_m2=sliver, a_area_m2=area, b_pairs=county.overlap_pairs.get("yjjbnt"),
                             assume_valid=True)
        yj_m2 = r_yj.table["overlap_m2"].to_numpy()
    else:
        yj_m2 = np.full(len(p), np.nan)

    rect_vals = {str(v).strip() for v in s.rectified_values}
    zg = p["整改状态"].astype("string").str.strip() if "整改状态" in p.columns else pd.Series(pd.NA, index=p.index)
    rectified = (cls == ILLEGAL) & zg.isin(rect_vals).fillna(False).to_numpy()
    q_raw = p["季度"] if "季度" in p.columns else pd.Series([None] * len(p), index=p.index)
    d_raw = p["后时相"] if "后时相" in p.columns else pd.Series([None] * len(p), index=p.index)
    quarter = [parse_quarter(q, dd) for q, dd in zip(q_raw.tolist(), d_raw.tolist())]

    out = gpd.GeoDataFrame({
        "监测编号": p["监测编号"].to_numpy(dtype=object) if "监测编号" in p.columns
        else ("FID " + p["lk_fid"].astype(str)).to_numpy(),
        "判定类型": p["判定类型"].to_numpy(dtype=object),
        "class": cls.to_numpy(dtype=object),
        "类别": [CLASS_NAMES[c] for c in cls],
        "违法类型": p["违法类型"].to_numpy(dtype=object) if "违法类型" in p.columns else None,
        "整改状态": zg.astype(object).to_numpy(),
        "rectified": rectified,
        "quarter": pd.array(quarter, dtype="Int64"),
        "area_m2": area,
        "farmland_m2": r_gd.table["overlap_m2"].to_numpy(),
        "farmland_net_m2": r_gd.table["overlap_net_m2"].to_numpy(),
        "yjjbnt_m2": yj_m2,
    }, geometry=p.geometry.values, crs=p.crs, index=p.index)
    out["farmland_used_m2"] = out["farmland_net_m2"] if net else out["farmland_m2"]
    for extra in ("项目名称", "用地单位", "后时相", "前时相", "图斑类型", "下发日期", "下发批次", "核查状态", "核查日期"):
        if extra in p.columns:
            out[extra] = p[extra].to_numpy(dtype=object)
    # per-patch township split (the township holding most of the patch's 耕地 for display)
    by_pt = pieces.groupby(["ia", "township"])["used_m2"].sum().reset_index()
    main = by_pt.sort_values(["ia", "used_m2"], ascending=[True, False]).drop_duplicates("ia")
    tmain = np.full(len(out), None, dtype=object)
    tmain[main["ia"].to_numpy()] = main["township"].to_numpy()
    nowhere = np.flatnonzero(tmain == None)  # noqa: E711 — patches without 耕地: where they lie
    if len(nowhere):
        loc = locate(np.asarray(p.geometry.values, dtype=object)[nowhere], county, cfg, sliver)
        tmain[nowhere] = loc["township"].to_numpy(dtype=object)
    out["township"] = tmain

    counted = out["class"].isin([LEGAL, ILLEGAL]).to_numpy()
    illegal = (out["class"] == ILLEGAL).to_numpy()
    fu = out["farmland_used_m2"].to_numpy()
    I = float(m2_to_mu(fu[illegal].sum()))
    D = float(m2_to_mu(fu[counted].sum()))
    keep = counted & ~rectified
    Id = float(m2_to_mu(fu[illegal & ~rectified].sum()))
    Dd = float(m2_to_mu(fu[keep].sum()))
    head = _ratio_block(I, D, cap, line)
    need = rectify_to_cap(I, D, cap)
    order = np.argsort(-fu * illegal, kind="stable")
    pick, acc = [], 0.0
    if need > 0:
        for i in order:
            if not illegal[i] or acc >= need - 1e-9:
                break
            pick.append(i)
            acc += float(m2_to_mu(fu[i]))
    names = township_names(county)[0]
    # by township: sums of pieces
    pc = pieces.assign(cls=out["class"].to_numpy()[pieces["ia"].to_numpy()])
    pc = pc[pc["cls"].isin([LEGAL, ILLEGAL])]     # townships with new-construction 耕地
    by_t = []
    for code in sorted(set(pc["township"])):
        sub = pc[pc["township"] == code]
        It = float(m2_to_mu(sub.loc[sub["cls"] == ILLEGAL, "used_m2"].sum()))
        Dt = float(m2_to_mu(sub.loc[sub["cls"].isin([LEGAL, ILLEGAL]), "used_m2"].sum()))
        blk = _ratio_block(It, Dt, cap, line)
        ill_patches = int(sub.loc[sub["cls"] == ILLEGAL, "ia"].nunique())
        by_t.append({"code": code, "name": names.get(code, code), **blk,
                     "illegal_patch_count": ill_patches, "rectify_to_cap_mu": rectify_to_cap(It, Dt, cap),
                     "alert": township_alert(blk["ratio"], cap, s.warning_share)})
    by_t.sort(key=lambda r: (-(r["ratio"] or 0), r["code"]))
    by_q = []
    qarr = out["quarter"].to_numpy(dtype=object)
    for q in (1, 2, 3, 4):
        inq = np.array([(x is not None and x is not pd.NA and int(x) <= q) or (q == 4) for x in qarr])
        Iq = float(m2_to_mu(fu[illegal & inq].sum()))
        Dq = float(m2_to_mu(fu[counted & inq].sum()))
        by_q.append({"quarter": q, "cumulative": True, **_ratio_block(Iq, Dq, cap, line),
                     "patch_count": int(inq.sum())})
    by_j = []
    for c in (LEGAL, ILLEGAL, OTHER, PSEUDO, UNJUDGED):
        m = (out["class"] == c).to_numpy()
        if c == UNJUDGED and not m.any():
            continue
        by_j.append({"class": c, "name": CLASS_NAMES[c], "patch_count": int(m.sum()),
                     "area_mu": float(m2_to_mu(area[m].sum())), "farmland_mu": float(m2_to_mu(fu[m].sum()))})
    by_v = []
    if "违法类型" in p.columns:
        vt = out.loc[illegal, "违法类型"].fillna("（未填）").astype(str)
        for v, idx in vt.groupby(vt).groups.items():
            pos = out.index.get_indexer(idx)
            by_v.append({"type": v, "patch_count": len(pos), "farmland_mu": float(m2_to_mu(fu[pos].sum()))})
        by_v.sort(key=lambda r: -r["farmland_mu"])
    unrect = illegal & ~rectified
    area_ratio_D = float(m2_to_mu(area[counted].sum()))
    summary = {
        "patch_count": int(len(out)),
        "counted_patch_count": int(counted.sum()),
        "illegal_patch_count": int(illegal.sum()),
        "legal_patch_count": int((out["class"] == LEGAL).sum()),
        "unjudged_patch_count": int((out["class"] == UNJUDGED).sum()),
        "new_construction_farmland_mu": D,
        "illegal_farmland_mu": I,
        "ratio": head["ratio"],
        "deducted_ratio": (Id / Dd) if Dd > 0 else None,
        "deducted_illegal_farmland_mu": Id,
        "deducted_new_construction_farmland_mu": Dd,
        "rectified_patch_count": int(rectified.sum()),
        "cap": cap,
        "accountability_threshold": line,
        "status": head["status"],
        "deducted_status": status_of((Id / Dd) if Dd > 0 else None, cap, line),
        "basis": ("违法占用耕地面积 ÷ 新增建设用地占用耕地总面积（合法+违法图斑；"
                  + ("耕地按扣除田坎后的净面积" if net else "耕地按毛面积（不扣田坎）") + "）"),
        "farmland_mode": s.farmland_mode,
        "base_dltb": base,
        "base_layer": county.sources[base].display if base in getattr(county, "sources", {}) else None,
        "illegal_yjjbnt_mu": float(m2_to_mu(np.nansum(yj_m2[illegal]))) if yj is not None else None,
        "rectify_to_cap_mu": need,
        "rectify_patches": [{"id": str(out["监测编号"].iloc[i]), "farmland_mu": float(m2_to_mu(fu[i])),
                             "township": out["township"].iloc[i], "整改状态": out["整改状态"].iloc[i]}
                            for i in pick],
        "illegal_area_ratio": (float(m2_to_mu(area[illegal].sum())) / area_ratio_D) if area_ratio_D > 0 else None,
        "unrectified_patch_count": int(unrect.sum()),
        "unrectified_farmland_mu": float(m2_to_mu(fu[unrect].sum())),
        "unrectified_share_of_illegal_farmland": (float(fu[unrect].sum() / fu[illegal].sum())
                                                  if fu[illegal].sum() > 0 else None),
        "by_judgement": by_j,
        "by_violation_type": by_v,
        "by_township": by_t,
        "warning_share": s.warning_share,
        "township_alerts": {"warning": [r["code"] for r in by_t if r["alert"] == "warning"],
                            "talk": [r["code"] for r in by_t if r["alert"] == "talk"]},
        "by_quarter": by_q,
        "unknown_quarter_patch_count": int(sum(1 for x in quarter if x is None)),
        "sliver_count": r_gd.sliver_count,
    }
    unavailable = {}
    if yj is None:
        unavailable["illegal_yjjbnt_mu"] = "没有永久基本农田图层"
    if "整改状态" not in p.columns:
        # without the field nothing is known to be rectified: the deducted figures are unknown, not "none deducted"
        why = "卫片图斑图层缺少整改状态字段，无法认定已整改图斑"
        for k in ("deducted_ratio", "deducted_illegal_farmland_mu", "deducted_new_construction_farmland_mu",
                  "rectified_patch_count", "deducted_status", "unrectified_patch_count", "unrectified_farmland_mu",
                  "unrectified_share_of_illegal_farmland"):
            summary[k] = None
            unavailable[k] = why
    for col in ("area_m2", "farmland_m2", "farmland_net_m2", "farmland_used_m2", "yjjbnt_m2"):
        out[col[:-3] + "_mu"] = m2_to_mu(out[col].to_numpy())
    issue = issue_months(out)
    out["下发月份"] = issue[0]
    fc = field_checks(out, s, county.as_of, checks, issue=issue)
    unavailable.update(fc.pop("unavailable", {}))
    summary.update(fc)
    if unavailable:
        summary["unavailable"] = unavailable
    return SatelliteResult(out, summary)

"""Result layers for results.gpkg and the ledger workbook, from analysis results."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd

from ..io.fields import ROLE_NAMES
from ..analyses.county_analysis import summary_and_results
from .ledger import Col, add_kv_sheet, add_qa_sheet, add_sheet, new_workbook
from ..standards.vocabulary import RATIO_STATUS
from .zones import zone_layer, zone_sheet

STATUS_NAMES = RATIO_STATUS


def _pct(x):
    return None if x is None else x


def satellite_frames(sat) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    s = sat.summary
    towns = pd.DataFrame(s["by_township"])
    county_row = {"code": "合计", "name": "全县", "ratio": s["ratio"], "illegal_farmland_mu": s["illegal_farmland_mu"],
                  "new_construction_farmland_mu": s["new_construction_farmland_mu"], "status": s["status"],
                  "illegal_patch_count": s["illegal_patch_count"], "rectify_to_cap_mu": s["rectify_to_cap_mu"]}
    towns = pd.concat([pd.DataFrame([county_row]), towns], ignore_index=True)
    towns["状态"] = towns["status"].map(STATUS_NAMES)
    if "alert" in towns.columns:
        towns["建议"] = towns["alert"].map({"talk": "约谈候选", "warning": "预警"})
    p = sat.patches
    patches = gpd.GeoDataFrame({
        "监测编号": p["监测编号"], "判定类型": p["判定类型"], "类别": p["类别"], "违法类型": p["违法类型"],
        "整改状态": p["整改状态"], "季度": p["quarter"], "乡镇代码": p["township"],
        "图斑面积_亩": p["area_mu"], "占用耕地_亩": p["farmland_mu"], "占用耕地净_亩": p["farmland_net_mu"],
        "计入耕地_亩": p["farmland_used_mu"], "占用永久基本农田_亩": p["yjjbnt_mu"],
    }, geometry=p.geometry, crs=p.crs)
    if "下发月份" in p.columns:
        patches.insert(7, "下发月份", p["下发月份"])
    for c in ("核查状态", "核查日期"):          # what the layer itself recorded of the field check
        if c in p.columns:
            patches[c] = p[c]
    return towns, patches


def result_layers(county, res) -> dict[str, gpd.GeoDataFrame]:
    out = {}
    _, r = summary_and_results(res)
    if "inventory" in r:
        out.update({k: v for k, v in r["inventory"].layers().items() if v is not None and len(v)})
    if "satellite" in r:
        _, patches = satellite_frames(r["satellite"])
        out["卫片图斑结果"] = patches
    out.update(zone_layer(r.get("zones")))
    for role in ("approvals", "supply", "parcels", "patches"):
        fr = r.get(f"farmland_{role}")
        if fr is None:
            continue
        f = fr.features
        cols = {"id": "编号", "area_mu": "面积_亩", "yjjbnt_mu": "压占永农_亩", "yjjbnt_net_mu": "压占永农净_亩",
                "yjjbnt_share": "压占比例", "yjjbnt_ids": "永农图斑编号", "gd_mu": "占用耕地_亩",
                "stbhhx_mu": "占用生态红线_亩", "outside_czkfbj_mu": "开发边界外_亩"}
        keep = [c for c in cols if c in f.columns]
        g = gpd.GeoDataFrame(f[keep].rename(columns=cols), geometry=f.geometry, crs=f.crs)
        for extra in ("项目名称", "批次名称", "土地使用权人", "判定类型", "权利人"):
            if extra in f.columns:
                g[extra] = f[extra].values
        out[f"永农压占_{ROLE_NAMES[role]}"] = g
    if r.get("change") is not None:
        out.update(change_layers(r["change"]))
    return out


LOC = [Col("乡镇", "township_name"), Col("村", "village_name")]
PLAN = [Col("拟处置方式", "拟处置方式", width=14), Col("责任单位", "责任单位", width=14),
        Col("责任人", "责任人", width=10), Col("完成时限", "完成时限", width=12), Col("处置进展", "处置进展", width=14),
        Col("备注", "备注", width=16)]


#: the 卫片 field-check columns staff fill in (blank in a new ledger; carried by landkit.tracking)
FIELD_CHECK = [Col("核查状态", "核查状态", width=10), Col("核查日期", "核查日期", "date", width=12),
               Col("核查人", "核查人", width=10), Col("核查结论", "核查结论", width=16),
               Col("整改措施", "整改措施", width=16), Col("整改完成日期", "整改完成日期", "date", width=12),
               Col("备注", "备注", width=16)]


def _yesno(df, col):
    if col in df.columns:
        df[col + "_文字"] = df[col].map(lambda v: "是" if v is True or v == 1 else ("否" if v is False or v == 0 else None))


def inventory_sheets(wb, title, county, inv, disp, s):
    """汇总, 批而未供, 闲置土地, 低效用地, 集体经营性建设用地, 处置率 (docs/rules.md §7.2)."""
    isum = s.get("inventory") or {}
    dsum = s.get("disposal") or {}
    rows = []

    unavailable = isum.get("unavailable") or {}

    def add(label, v, note=""):
        rows.append((label, "未提供数据" if v is None else v, note))

    def add_cat(label, key, unit):
        v = isum.get(f"{key}_mu")
        note = f"{isum.get(f'{key}_count') or 0} {unit}" if v is not None else unavailable.get(f"{key}_mu", "")
        add(label, _r2(v), note)
    add("截至日期", isum.get("as_of"))
    add_cat("批而未供（亩）", "approved_unsupplied", "个批次")
    add_cat("闲置土地（亩）", "idle", "宗")
    add_cat("城镇低效用地（亩）", "inefficient", "宗")
    add_cat("农村集体经营性建设用地（亩）", "collective_commercial", "个图斑")
    add("存量建设用地合计（亩）", _r2(isum.get("total_mu")),
        "多类重叠的土地只计一次" + (f"；{unavailable['total_mu']}" if unavailable.get("total_mu") else ""))
    for key, name in (("approved_unsupplied", "批而未供"), ("idle", "闲置土地")):
        d = dsum.get(key) or {}
        rate = d.get("rate")
        add(f"{name}处置率（{dsum.get('year', '')}年）", None if rate is None else f"{rate:.2%}",
            d.get("reason") if d and d.get("reason") else
            f"基数 {_r2(d.get('base_mu'))} 亩，已处置 {_r2(d.get('disposed_mu'))} 亩，目标 {d.get('target', 0):.0%}，"
            f"差额 {_r2(d.get('shortfall_mu'))} 亩" if d else "")
    for n in (isum.get("notes") or []) + (dsum.get("notes") or []):
        add("说明", n)
    add_kv_sheet(wb, "汇总", rows, heading=f"{title}存量建设用地大盘点汇总")
    wb.move_sheet("汇总", offset=-(len(wb.sheetnames) - 1))

    au = inv.approved_unsupplied
    if au is not None:
        au = au.copy()
        for c in ("in_use", "lapse_candidate"):
            _yesno(au, c)
        add_sheet(wb, "批而未供", au.drop(columns="geometry"), [
            Col("批次名称", "批次名称"), Col("批准文号", "批准文号"), Col("批准日期", "批准日期"),
            Col("批准年份分组", "cohort"), *LOC,
            Col("批准面积(亩)", "approved_mu", "area", True), Col("已供面积(亩)", "supplied_mu", "area", True),
            Col("未供面积(亩)", "unsupplied_mu", "area", True), Col("未供面积(公顷)", "unsupplied_ha", "area", True),
            Col("未供原因", "未供原因"), Col("未供即用", "in_use_文字"), Col("自动失效/撤回候选", "lapse_candidate_文字"),
            Col("压占永久基本农田(亩)", "yjjbnt_mu", "area", True), Col("压占生态红线(亩)", "stbhhx_mu", "area", True),
            *PLAN], heading=f"{title}批而未供土地台账", note=f"截至 {isum.get('as_of')}；面积为 CGCS2000 椭球面积")
    else:
        _missing_sheet(wb, "批而未供", isum)
    idle = inv.idle
    if idle is not None:
        idle = idle.copy()
        _yesno(idle, "recover_candidate")
        add_sheet(wb, "闲置土地", idle.drop(columns="geometry"), [
            Col("电子监管号", "电子监管号"), Col("项目名称", "项目名称"), Col("土地使用权人", "土地使用权人"),
            Col("联系人", "联系人"), Col("联系电话", "联系电话"), *LOC, Col("供地日期", "供地日期"),
            Col("约定动工日期", "约定动工日期"), Col("实际动工日期", "实际动工日期"),
            Col("面积(亩)", "area_mu", "area", True), Col("面积(公顷)", "area_ha", "area", True),
            Col("闲置类型", "idle_type"), Col("闲置起算日期", "idle_since"), Col("闲置年数", "idle_years", "float"),
            Col("闲置原因", "cause"), Col("土地闲置费(万元)", "idle_fee_wan", "area", True),
            Col("无偿收回候选", "recover_candidate_文字"), *PLAN],
            heading=f"{title}闲置土地台账", note="53号令第二条：超过约定动工日期满一年未动工，或中止开发满一年且开发/投资不足")
    else:
        _missing_sheet(wb, "闲置土地", isum)
    ineff = inv.inefficient
    if ineff is not None:
        add_sheet(wb, "低效用地", ineff.drop(columns="geometry"), [
            Col("宗地代码", "宗地代码"), Col("权利人", "权利人"), Col("联系电话", "联系电话"), *LOC, Col("用途", "用途"),
            Col("行业", "行业"), Col("面积(亩)", "area_mu", "area", True), Col("面积(公顷)", "area_ha", "area", True),
            Col("容积率", "容积率", "float"), Col("亩均税收(万元/亩)", "亩均税收", "float"),
            Col("行业亩均税收均值", "tax_average", "float"), Col("认定依据", "reasons", width=30), *PLAN],
            heading=f"{title}城镇低效用地台账")
    else:
        _missing_sheet(wb, "低效用地", isum)
    cc = inv.collective_commercial
    if cc is not None:
        add_sheet(wb, "集体经营性建设用地", cc.drop(columns="geometry"), [
            Col("标识码", "BSM"), Col("地类编码", "DLBM"), Col("地类名称", "DLMC"), Col("权属性质", "QSXZ"),
            Col("权属单位", "QSDWMC"), *LOC, Col("面积(亩)", "area_mu", "area", True),
            Col("面积(公顷)", "area_ha", "area", True), *PLAN], heading=f"{title}农村集体经营性建设用地台账")
    else:
        _missing_sheet(wb, "集体经营性建设用地", isum)
    if dsum:
        drows = []
        for key, name in (("approved_unsupplied", "批而未供"), ("idle", "闲置土地")):
            d = dsum.get(key) or {}
            drows.append({"范围": "全县", "类别": name, **d})
        for t in dsum.get("by_township") or []:
            for key, name in (("approved_unsupplied", "批而未供"), ("idle", "闲置土地")):
                d = t.get(key) or {}
                drows.append({"范围": t.get("name") or t.get("code"), "类别": name, **d})
        for t in dsum.get("by_cohort") or []:
            for key, name in (("approved_unsupplied", "批而未供"), ("idle", "闲置土地")):
                d = t.get(key) or {}
                if d:
                    drows.append({"范围": f"批次年度 {t.get('cohort')}", "类别": name, **d})
        df = pd.DataFrame(drows)
        if "met" in df.columns:
            df["达标"] = df["met"].map(lambda v: "是" if v is True else ("否" if v is False else None))
        add_sheet(wb, "处置率", df, [
            Col("范围", "范围"), Col("类别", "类别"), Col("基数(亩)", "base_mu", "area"),
            Col("已处置(亩)", "disposed_mu", "area"), Col("处置率", "rate", "pct"), Col("目标", "target", "pct"),
            Col("差额(亩)", "shortfall_mu", "area"), Col("达标", "达标")], totals=False,
            heading=f"{title}批而未供和闲置土地处置率（{dsum.get('year')}年）",
            note=f"基准日 {int(dsum.get('year') or 0) - 1}-12-31；处置率 = 考核期内处置面积 ÷ 基数面积")


def _missing_sheet(wb, name, isum):
    reason = "；".join(isum.get("notes") or []) or "该县没有提供相应图层"
    add_kv_sheet(wb, name, [("说明", f"未提供数据：{reason}", "")], heading=name)


def _r2(v):
    from ..standards.units import round_half_up
    return None if v is None else round_half_up(v, 2)


def ledger_workbook(county, res):
    wb = new_workbook()
    s, r = summary_and_results(res)
    title = f"{county.name or ''}（{county.adcode or ''}）{county.year or ''}年度"
    if "satellite" in r:
        sat = r["satellite"]
        ss = sat.summary
        towns, patches = satellite_frames(sat)
        add_sheet(wb, "卫片统计", towns, [
            Col("乡镇代码", "code"), Col("乡镇", "name"), Col("违法占用耕地比例", "ratio", "pct"),
            Col("违法占用耕地(亩)", "illegal_farmland_mu", "area"),
            Col("新增建设用地占用耕地(亩)", "new_construction_farmland_mu", "area"),
            Col("违法图斑数", "illegal_patch_count", "int"), Col("整改到控制目标需复耕(亩)", "rectify_to_cap_mu", "area"),
            Col("状态", "状态"), Col("建议", "建议")], totals=False,
            heading=f"{title}卫片执法违法占用耕地比例", note=ss["basis"] + f"；控制目标 ≤{ss['cap']:.0%}，问责线 ≥{ss['accountability_threshold']:.0%}")
        add_sheet(wb, "卫片图斑清单", patches.drop(columns="geometry"), [
            Col("监测编号", "监测编号"), Col("判定类型", "判定类型"), Col("类别", "类别"), Col("违法类型", "违法类型"),
            Col("整改状态", "整改状态"), Col("季度", "季度"), Col("下发月份", "下发月份"), Col("乡镇代码", "乡镇代码"),
            Col("图斑面积(亩)", "图斑面积_亩", "area", True), Col("占用耕地(亩)", "占用耕地_亩", "area", True),
            Col("占用耕地扣除田坎(亩)", "占用耕地净_亩", "area", True), Col("计入比例的耕地(亩)", "计入耕地_亩", "area", True),
            Col("占用永久基本农田(亩)", "占用永久基本农田_亩", "area", True), *FIELD_CHECK],
            heading=f"{title}卫片图斑清单", note="核查状态至备注各列由核查人员填写，下次运行（--previous）按监测编号带入")
        if ss.get("by_issue_month"):
            fc = ss.get("field_check") or {}
            rate = ss.get("field_check_rate")
            add_sheet(wb, "卫片月清", pd.DataFrame(ss["by_issue_month"]).assign(
                依据=lambda d: d["basis"].map(lambda b: "、".join(b)),
                到期=lambda d: d["due"].map({True: "已到期", False: "未到期"})), [
                Col("下发月份", "month"), Col("月份依据", "依据"), Col("下发图斑数", "issued", "int"),
                Col("已判定", "judged", "int"), Col("未判定", "unjudged", "int"), Col("已核查", "checked", "int"),
                Col("违法", "illegal", "int"), Col("已整改", "rectified", "int"), Col("月清期限", "deadline"),
                Col("到期", "到期"), Col("按期核查并判定", "month_clear_count", "int"), Col("月清率", "month_clear_rate", "pct")],
                totals=False, heading=f"{title}卫片图斑按下发月份：核查、判定、整改与月清",
                note=("外业核查率 " + (f"{rate:.2%}" if rate is not None else "未提供数据（"
                                      + (ss.get("unavailable") or {}).get("field_check_rate", "") + "）")
                      + f"（{fc.get('rule', '')}，目标 {fc.get('target', 1):.0%}）；月清：某月下发的图斑应在其后 "
                      f"{fc.get('month_clear_months', 1)} 个月的月底前核查并判定"))
    if "inventory" in r:
        inventory_sheets(wb, title, county, r["inventory"], r.get("disposal"), s)
    if s.get("development_zones") is not None:
        zone_sheet(wb, title, r.get("zones"), s.get("development_zones"))
    if r.get("change") is not None:
        change_sheets(wb, title, r["change"])
    rows = []
    for role in ("approvals", "supply", "parcels", "patches"):
        fr = r.get(f"farmland_{role}")
        if fr is None:
            continue
        f = fr.features
        hit = f[f["yjjbnt_m2"] > 0]
        for _, x in hit.iterrows():
            rows.append({"图层": ROLE_NAMES[role], "编号": x["id"],
                         "名称": next((x[c] for c in ("项目名称", "批次名称", "权利人", "土地使用权人") if c in f.columns
                                     and isinstance(x[c], str)), None),
                         "面积": x["area_mu"], "压占": x["yjjbnt_mu"], "压占净": x["yjjbnt_net_mu"],
                         "比例": x["yjjbnt_share"], "编号列表": x["yjjbnt_ids"]})
    df = pd.DataFrame(rows, columns=["图层", "编号", "名称", "面积", "压占", "压占净", "比例", "编号列表"])
    if len(df):
        df = df.sort_values(["图层", "压占"], ascending=[True, False])
    add_sheet(wb, "永农压占清单", df, [
        Col("图层", "图层"), Col("编号", "编号"), Col("名称", "名称"), Col("面积(亩)", "面积", "area", True),
        Col("压占永久基本农田(亩)", "压占", "area", True), Col("扣除田坎(亩)", "压占净", "area", True),
        Col("压占比例", "比例", "pct"), Col("永久基本农田图斑编号", "编号列表", width=50)],
        heading=f"{title}永久基本农田压占清单",
        note=f"重叠小于 {county.config.sliver_m2:g} m² 的碎片不计")
    add_qa_sheet(wb, county.qa.to_frame(), f"{title}数据质检")
    return wb


# ------------------------------------------------------------------ two DLTB vintages (地类变化)
def _period(cs: dict) -> str:
    y0, y1 = cs.get("previous_year"), cs.get("current_year")
    return f"{y0 or '上一期'}—{y1 or '本期'}年"


def _mode_name(cs: dict) -> str:
    return "扣除田坎" if cs.get("farmland_mode") == "net" else "毛面积"


def change_frames(ch) -> dict[str, pd.DataFrame]:
    """The tables of the 地类变化 sheets, from a ChangeResult (nothing recomputed): 一级类 and 三大类
    pivots (the summary's mode), the 二级类 cells, the 耕地 balance by township, the 耕地 pieces."""
    cs = ch.summary
    out = {}
    for key, level in (("level1", "level1"), ("class", "class")):
        piv = ch.matrix(level)
        if len(piv):
            df = piv.reset_index().rename(columns={"原地类（上一期）": "原地类"})
            df = df[df["原地类"] != "合计"].reset_index(drop=True)
            out[key] = df
    cells = pd.DataFrame(cs.get("matrix_level2") or [])
    if len(cells):
        from ..standards.codes import LEVEL1_NAMES, level1_code
        cells["changed"] = (cells["from_code"] != cells["to_code"]).map({True: "是", False: "否"})
        def l1(code):
            c = level1_code(code)
            return f"{c} {LEVEL1_NAMES[c]}" if c else "未知"
        for side in ("from", "to"):
            cells[f"{side}_l1"] = [l1(x) for x in cells[f"{side}_code"]]
        out["level2"] = cells
    rows = [{"code": "合计", "name": "全县", **{k: cs.get(k) for k in (
        "cultivated_out_mu", "cultivated_in_mu", "cultivated_kcxs_change_mu", "cultivated_net_change_mu",
        "cultivated_to_construction_mu", "cultivated_to_nonfood_mu", "cultivated_to_nongrain_mu",
        "satellite_denominator_mu", "satellite_denominator_gap_mu", "unmonitored_count", "unmonitored_mu")}}]
    out["balance"] = pd.DataFrame(rows + list(cs.get("by_township") or []))
    town_cells = [{"code": t.get("code"), "name": t.get("name"), **c} for t in cs.get("by_township") or []
                  for c in t.get("matrix_level1") or [] if c.get("from_code") != c.get("to_code")]
    out["towns"] = pd.DataFrame(town_cells)
    c = ch.cultivated
    for key, direction in (("outflow", "out"), ("inflow", "in")):
        sub = c[c["direction"] == direction].sort_values("area_m2", ascending=False, kind="stable")
        sub = sub.assign(unmonitored_text=sub["unmonitored"].map({True: "是", False: "否"}))
        out[key] = sub
    return out


def change_layers(ch) -> dict[str, gpd.GeoDataFrame]:
    """results.gpkg layers 耕地流出 and 耕地流入 (every 耕地 piece that changed class, with Chinese fields)."""
    cols = {"piece_id": "编号", "township": "乡镇代码", "township_name": "乡镇", "village": "村代码",
            "village_name": "村", "from_bsm": "原标识码", "to_bsm": "现标识码", "from_code": "原地类编码",
            "from_name": "原地类名称", "to_code": "现地类编码", "to_name": "现地类名称", "to_level1_name": "现一级类",
            "from_level1_name": "原一级类", "kind_name": "变化类型", "gross_mu": "面积_亩", "net_mu": "扣除田坎_亩",
            "patch_mu": "卫片覆盖_亩", "has_patch_name": "是否有卫片图斑", "patch_ids": "卫片监测编号",
            "unmonitored": "疑似漏监测"}
    out = {}
    c = ch.cultivated
    for name, direction in (("耕地流出", "out"), ("耕地流入", "in")):
        sub = c[c["direction"] == direction]
        if len(sub):
            keep = [k for k in cols if k in sub.columns]
            out[name] = gpd.GeoDataFrame(sub[keep].rename(columns=cols), geometry=sub.geometry, crs=sub.crs)
    return out


def change_sheets(wb, title: str, ch) -> None:
    """Sheets 地类转移矩阵 (一级类 pivot with totals), 三大类转移矩阵, 地类转移明细 (二级类), 耕地进出平衡
    (by township), 乡镇地类转移 (the changed 一级类 cells by township), 耕地流出清单 and 耕地流入清单
    (each 耕地 piece that changed class)."""
    cs = ch.summary
    fr = change_frames(ch)
    mode = _mode_name(cs)
    head = f"{title}地类转移（{_period(cs)}）"
    for key, sheet, what in (("level1", "地类转移矩阵", "一级类"), ("class", "三大类转移矩阵", "三大类")):
        df = fr.get(key)
        if df is None:
            continue
        cols = [Col("原地类（上一期）＼现地类（本期）", "原地类", width=24)] + [
            Col(c, c, "area", True) for c in df.columns if c != "原地类"]
        add_sheet(wb, sheet, df, cols, heading=f"{head}矩阵（{what}，{mode}，亩）",
                  note="行为上一期地类，列为本期地类，对角线为未变化的面积；CGCS2000 椭球面积"
                       + ("；扣除田坎口径下田坎（1203）计入其他土地" if cs.get("farmland_mode") == "net" else ""))
    lv2 = fr.get("level2")
    if lv2 is not None:
        add_sheet(wb, "地类转移明细", lv2, [
            Col("原地类编码", "from_code"), Col("原地类名称", "from_name"), Col("原一级类", "from_l1"),
            Col("现地类编码", "to_code"), Col("现地类名称", "to_name"), Col("现一级类", "to_l1"),
            Col("是否变化", "changed"), Col("面积(亩)", "gross_mu", "area", True),
            Col("扣除田坎面积(亩)", "net_mu", "area", True)],
            heading=f"{head}明细（二级类）", note="面积为毛面积；扣除田坎面积中田坎（1203）单列，两期田坎系数不同的部分计入耕地与田坎之间的转移")
    add_sheet(wb, "耕地进出平衡", fr["balance"], [
        Col("乡镇代码", "code"), Col("乡镇", "name"), Col("耕地流出(亩)", "cultivated_out_mu", "area"),
        Col("耕地流入(亩)", "cultivated_in_mu", "area"), Col("田坎系数变化(亩)", "cultivated_kcxs_change_mu", "area"),
        Col("耕地净变化(亩)", "cultivated_net_change_mu", "area"),
        Col("非农化(亩)", "cultivated_to_construction_mu", "area"), Col("非粮化(亩)", "cultivated_to_nonfood_mu", "area"),
        Col("其中改种非粮作物(亩)", "cultivated_to_nongrain_mu", "area"),
        Col("卫片新增建设用地占用耕地(亩)", "satellite_denominator_mu", "area"),
        Col("差额(亩)", "satellite_denominator_gap_mu", "area"), Col("疑似漏监测图斑数", "unmonitored_count", "int"),
        Col("疑似漏监测面积(亩)", "unmonitored_mu", "area")], totals=False,
        heading=f"{title}耕地进出平衡（{_period(cs)}，{mode}）",
        note="净变化 = 流入 − 流出 + 田坎系数变化；差额 = 耕地变为建设用地 − 卫片新增建设用地占用耕地（合法 + 违法图斑）"
             + "".join(f"；{n}" for n in cs.get("notes") or []))
    if len(fr["towns"]):
        add_sheet(wb, "乡镇地类转移", fr["towns"], [
            Col("乡镇代码", "code"), Col("乡镇", "name"), Col("原一级类", "from_name"), Col("现一级类", "to_name"),
            Col("面积(亩)", "gross_mu", "area", True), Col("扣除田坎面积(亩)", "net_mu", "area", True)],
            heading=f"{title}各乡镇地类转移（{_period(cs)}，一级类，只列变化部分）",
            note="乡镇按本期图斑的坐落单位代码，无效时用上一期的，再无则按乡镇界线图层")
    piece_cols = [Col("编号", "piece_id"), Col("乡镇", "township_name"), Col("村", "village_name"),
                  Col("原标识码", "from_bsm"), Col("原地类编码", "from_code"), Col("原地类名称", "from_name"),
                  Col("现标识码", "to_bsm"), Col("现地类编码", "to_code"), Col("现地类名称", "to_name"),
                  Col("变化类型", "kind_name", width=30), Col("面积(亩)", "gross_mu", "area", True),
                  Col("扣除田坎面积(亩)", "net_mu", "area", True)]
    out_cols = piece_cols + [Col("卫片覆盖(亩)", "patch_mu", "area", True), Col("是否有卫片图斑", "has_patch_name"),
                             Col("卫片监测编号", "patch_ids", width=24), Col("疑似漏监测", "unmonitored_text"),
                             Col("核查结论", "核查结论", width=16), Col("备注", "备注", width=16)]
    add_sheet(wb, "耕地流出清单", fr["outflow"].drop(columns="geometry"), out_cols,
              heading=f"{title}耕地流出清单（{_period(cs)}）",
              note="每块为上一期耕地图斑与本期非耕地图斑的叠加部分；疑似漏监测 = 耕地变为建设用地且没有任何卫片图斑覆盖；"
                   f"面积小于 {cs.get('tolerance_m2', 1):g} m² 的碎片不计；田坎系数变化不逐块列出（见耕地进出平衡）；"
                   "核查结论、备注由核查人员填写，下次运行（--previous）按原标识码+现标识码带入")
    add_sheet(wb, "耕地流入清单", fr["inflow"].drop(columns="geometry"), piece_cols,
              heading=f"{title}耕地流入清单（{_period(cs)}）", note="每块为上一期非耕地图斑与本期耕地图斑的叠加部分")

"""Rendering ``landkit check`` results: a Chinese console report, or a JSON dict."""
from __future__ import annotations

from collections import defaultdict

from rich.markup import escape

from .reasons import figure_reason
from ..io.fields import ROLE_NAMES
from ..findings import LEVEL_NAMES
from ..standards.vocabulary import RATIO_STATUS


def check_dict(county) -> dict:
    return {
        "county": {"name": county.name, "adcode": county.adcode, "year": county.year,
                   "as_of": county.as_of.isoformat() if county.as_of else None,
                   "crs": f"EPSG:{county.crs.to_epsg()}" if county.crs and county.crs.to_epsg() else
                   (county.crs.name if county.crs else None),
                   "path": str(county.path)},
        "layers": [r for r in county.layer_table() if r["文件"]],
        "missing_layers": [r["role"] for r in county.layer_table() if not r["文件"]],
        "imagery": str(county.imagery) if county.imagery else None,
        "imagery_pair": _pair_dict(county),
        "unrecognised": [dict(u) for u in getattr(county, "unrecognised", None) or []],
        "qa": county.qa.to_dict(),
    }


def _pair_dict(county) -> dict | None:
    """The 前时相 / 后时相 images: {before/after: {file (relative to the folder), date}} or None."""
    pair = getattr(county, "imagery_pair", None)
    if pair is None or not list(pair):
        return None
    from ..io.imagery import relative_name
    return {role: {"file": relative_name(county.path, img.path), "date": img.date.isoformat() if img.date else None}
            if img else None for role, img in (("before", pair.before), ("after", pair.after))}


def print_check(county, console) -> None:
    from rich.table import Table
    crs = county.crs
    crs_txt = (f"EPSG:{crs.to_epsg()} {crs.name}" if crs is not None and crs.to_epsg() else
               (crs.name if crs is not None else "未确定"))
    console.print(f"[bold]县数据检查：{escape(county.name or '（未命名）')}[/bold]"
                  f"  行政区代码 {county.adcode or '未知'}  年度 {county.year or '未设'}"
                  f"  截至 {county.as_of.isoformat() if county.as_of else '未设'}")
    console.print(escape(f"文件夹：{county.path}"))
    console.print(escape(f"统一坐标系：{crs_txt}"))
    t = Table(title="图层", show_lines=False)
    for col in ("图层", "文件", "要素数", "编码", "坐标系"):
        t.add_column(col)
    for r in county.layer_table():
        if not r["文件"]:
            continue
        n = f"{r['要素数']:,}" if r["要素数"] is not None else "读取失败"
        if r["原要素数"] and r["要素数"] is not None and r["原要素数"] != r["要素数"]:
            n += f"（原 {r['原要素数']:,}）"
        t.add_row(*(escape(str(v)) for v in (r["名称"], r["文件"], n, r["编码"] or "", r["坐标系"] or "")))
    console.print(t)
    missing = [r["名称"] for r in county.layer_table() if not r["文件"]]
    if missing:
        console.print(escape(f"未提供的图层：{'、'.join(missing)}"))
    if county.imagery:
        console.print(escape(f"影像：{county.imagery.name}"))
    for role, img in (_pair_dict(county) or {}).items():
        if img:
            name = {"before": "前时相", "after": "后时相"}[role]
            console.print(escape(f"{name}影像：{img['file']}（{img['date'] or '日期未知'}）"))
    unrecognised = getattr(county, "unrecognised", None) or []
    if unrecognised:          # files read as no layer: never silently left aside
        console.print(f"\n[bold yellow]未识别、未读取的文件（{len(unrecognised)} 个）[/bold yellow]")
        for u in unrecognised:
            console.print(escape(f"  {u['file']}：{u['reason']}"))

    groups = defaultdict(list)
    for f in county.qa.findings:
        groups[f.level].append(f)
    colors = {"error": "red", "warning": "yellow", "info": "cyan"}
    for level in ("error", "warning", "info"):
        items = groups.get(level, [])
        if not items:
            continue
        console.print(f"\n[bold {colors[level]}]{LEVEL_NAMES[level]}（{len(items)} 项）[/bold {colors[level]}]")
        for f in items:
            where = ROLE_NAMES.get(f.layer, f.layer or "全县")
            if f.field:
                where += f" · 字段 {f.field}"
            line = f"  [{where}] {f.message}"
            if f.file and level == "error":
                line += f"（文件：{f.file}）"
            console.print(escape(line))      # data text, not rich markup: '[satellite.judgement]' stays
            if f.features:
                more = f" 等 {f.count} 个" if f.count and f.count > len(f.features) else ""
                console.print(escape("      涉及：" + "，".join(f.features[:10]) + ("…" if len(f.features) > 10 else "") + more))
    ne, nw = len(county.qa.errors), len(county.qa.warnings)
    if county.usable:
        console.print(f"\n[bold green]结论：数据可以使用[/bold green]（{ne} 个错误，{nw} 个警告）")
    else:
        console.print(f"\n[bold red]结论：数据不能使用，请先处理上面的错误[/bold red]（{ne} 个错误，{nw} 个警告）")


STATUS_NAMES = RATIO_STATUS
NO_DATA = "未提供数据"
INVENTORY_LINES = (("approved_unsupplied", "批而未供"), ("idle", "闲置土地"), ("inefficient", "城镇低效用地"),
                   ("collective_commercial", "农村集体经营性建设用地"))
DISPOSAL_LINES = (("approved_unsupplied", "批而未供"), ("idle", "闲置土地"))


def _reason(section: dict | None, key: str, block: dict | None = None, name: str | None = None) -> str:
    """Why a figure of ``section`` is null (:func:`~landkit.render.reasons.figure_reason`; ``block``
    where the figure's block is not inside ``section``), else a note naming the category, else
    a plain "未计算"."""
    why = figure_reason(section, key)
    if not why and isinstance(block, dict) and block.get("reason"):
        why = str(block["reason"])
    if why:
        return why
    sec = section if isinstance(section, dict) else {}
    notes = [str(n) for n in (sec.get("notes") or []) if not name or name in str(n)]
    if notes:
        return "；".join(notes[:2])
    return "未计算" if section is not None else "summary.json 中没有这一部分"


def _mu(v, why: str) -> str:
    """``12.34 亩``, or 未提供数据（why） for a null figure: never 0.00 for a missing one."""
    return f"{NO_DATA}（{why}）" if v is None else f"{v:.2f} 亩"


def _rate(v) -> str:
    return "—" if v is None else f"{v:.2%}"


def _target(v) -> str:
    return "—" if v is None else f"{v:.0%}" if round(v * 100, 6) == round(v * 100) else f"{v:.2%}"


def print_run_summary(summary: dict, out_dir, console, total_seconds: float | None = None) -> None:
    """The headline of ``landkit run``: 卫片比例, 永农压占, 存量建设用地 and 处置率, every figure as
    summary.json has it (2 decimals); a null figure prints 未提供数据（reason）."""
    c = summary.get("county") or {}
    secs = total_seconds if total_seconds is not None else summary.get("run_seconds")
    took = f"，用时 {secs:.1f} 秒" if secs is not None else ""
    console.print(f"[bold]{escape(str(c.get('name') or ''))}（{escape(str(c.get('adcode') or ''))}）"
                  f"{c.get('year') or ''}年度分析完成[/bold]{took}")
    s = summary.get("satellite") or {}
    if s.get("available"):
        ratio = s.get("ratio")
        ill, new = s.get("illegal_farmland_mu"), s.get("new_construction_farmland_mu")
        if ratio is None and (ill is None or new is None or (s.get("unavailable") or {}).get("ratio")):
            r = f"{NO_DATA}（{_reason(s, 'ratio')}）"
            console.print(escape(f"卫片违法占用耕地比例：{r}"))
        else:
            st = s.get("status")
            console.print(escape(f"卫片违法占用耕地比例：{_rate(ratio)}（{STATUS_NAMES.get(st, st or '—')}；"
                                 f"违法 {_mu(ill, _reason(s, 'illegal_farmland_mu'))} / "
                                 f"新增建设占用耕地 {_mu(new, _reason(s, 'new_construction_farmland_mu'))}）"))
        rect, cap = s.get("rectify_to_cap_mu"), s.get("cap")
        cap_txt = f"降到 {_target(cap)} 以内" if cap is not None else "降到控制目标以内"
        if rect is None and ratio is not None:
            console.print(escape(f"  {cap_txt}需整改复耕：{NO_DATA}（{_reason(s, 'rectify_to_cap_mu')}）"))
        elif rect is not None and rect > 0:
            console.print(escape(f"  {cap_txt}需整改复耕 {rect:.2f} 亩"))
        alerts = s.get("township_alerts") or {}
        if alerts.get("talk") or alerts.get("warning"):
            console.print(escape(f"  乡镇：约谈候选 {len(alerts.get('talk') or [])} 个，预警 {len(alerts.get('warning') or [])} 个"))
        if s.get("unjudged_patch_count"):
            console.print(escape(f"  尚有 {s['unjudged_patch_count']} 个图斑未判定（未计入比例）"))
        if "field_check_rate" in s:
            fc = s.get("field_check") or {}
            rate = s.get("field_check_rate")
            console.print(escape("  外业核查率：" + (f"{_rate(rate)}（{fc.get('checked_count')}/{fc.get('required_count')}）"
                                                   if rate is not None else f"{NO_DATA}（{_reason(s, 'field_check_rate')}）")))
    else:
        console.print(escape(f"卫片：{s.get('reason', '未计算')}"))
    fo = summary.get("farmland_overlap", {})
    for role, v in fo.items():
        if isinstance(v, dict) and "overlap_mu" in v:
            n = f"{v.get('features_overlapping', '—')}/{v.get('features_checked', '—')} 个要素，"
            if v.get("overlap_mu") is None:
                n = ""
            console.print(escape(f"永久基本农田压占（{v.get('name') or role}）：{n}"
                                 f"{_mu(v.get('overlap_mu'), v.get('reason') or _reason(fo, role))}"))
    _print_inventory(summary.get("inventory"), console)
    _print_disposal(summary.get("disposal"), console)
    _print_zones(summary.get("development_zones"), console)
    _print_change(summary.get("change"), console)
    console.print(escape(f"结果已写入：{out_dir}"))


def _print_zones(zs, console) -> None:
    """开发区 节约集约 of all zones together (only when the county has a 开发区 layer)."""
    if not isinstance(zs, dict) or not zs.get("available") or not isinstance(zs.get("total"), dict):
        return
    t = zs["total"]
    parts = []
    for key, name, kind in (("supply_rate", "土地供应率", "pct"), ("built_rate", "土地建成率", "pct"),
                            ("fixed_asset_per_mu_wan", "投入强度", "万元/亩"), ("tax_per_mu_wan", "地均税收", "万元/亩")):
        v = t.get(key)
        shown = f"{NO_DATA}（{(t.get('unavailable') or {}).get(key) or '未计算'}）" if v is None else \
            (_rate(v) if kind == "pct" else f"{v:.2f} {kind}")
        parts.append(f"{name} {shown}")
    console.print(escape(f"开发区（{zs.get('zone_count')} 个，合计）：" + "，".join(parts)))


def _print_inventory(inv, console) -> None:
    if not isinstance(inv, dict) or inv.get("available") is False:
        console.print(escape(f"存量建设用地：{NO_DATA}（{_reason(inv, 'total_mu')}）"))
        return
    as_of = f"（截至 {inv['as_of']}）" if inv.get("as_of") else ""
    console.print(f"存量建设用地{escape(str(as_of))}：")
    for key, name in INVENTORY_LINES:
        v = inv.get(f"{key}_mu")
        console.print(escape(f"  {name}：{_mu(v, _reason(inv, f'{key}_mu', name=name))}"))
    total = inv.get("total_mu")
    part = (inv.get("unavailable") or {}).get("total_mu") if total is not None else None
    console.print(escape(f"  合计（去重）：{_mu(total, _reason(inv, 'total_mu'))}" + (f"（{part}）" if part else "")))


def _print_disposal(disp, console) -> None:
    if not isinstance(disp, dict) or disp.get("available") is False:
        console.print(escape(f"处置率：{NO_DATA}（{_reason(disp, 'rate')}）"))
        return
    year = f"（{disp['year']} 年度）" if disp.get("year") else ""
    console.print(f"处置率{escape(year)}：")
    for key, name in DISPOSAL_LINES:
        b = disp.get(key) if isinstance(disp.get(key), dict) else {}
        rate, target = b.get("rate"), b.get("target")
        if rate is None:
            why = _reason(disp, f"{key}.rate", b, name=name)
            if why == "未计算" and b.get("base_mu") == 0:
                why = "考核基数为零，处置率无法计算"
            console.print(escape(f"  {name}：{NO_DATA}（{why}）"))
            continue
        met, short = b.get("met"), b.get("shortfall_mu")
        if met is True:
            verdict = f"达到目标 {_target(target)}"
        elif met is False:
            gap = f"，尚差 {short:.2f} 亩" if short is not None else ""
            verdict = f"未达到目标 {_target(target)}{gap}"
        else:
            verdict = f"目标 {_target(target)}，是否达标{NO_DATA}"
        base = _mu(b.get("base_mu"), _reason(disp, f"{key}.base_mu", b))
        done = _mu(b.get("disposed_mu"), _reason(disp, f"{key}.disposed_mu", b))
        console.print(escape(f"  {name}：{_rate(rate)}，{verdict}（基数 {base}，已处置 {done}）"))


def _print_change(ch, console) -> None:
    """Two DLTB vintages (only when the county has them): the 耕地 balance and the 卫片 cross-check."""
    if not isinstance(ch, dict) or ch.get("available") is not True:
        return
    y0, y1 = ch.get("previous_year") or "上一期", ch.get("current_year") or "本期"
    mode = "扣除田坎" if ch.get("farmland_mode") == "net" else "毛面积"
    console.print(escape(f"耕地进出平衡（{y0}—{y1}年，{mode}）：流出 {_mu(ch.get('cultivated_out_mu'), '未计算')}，"
                         f"流入 {_mu(ch.get('cultivated_in_mu'), '未计算')}，"
                         f"净变化 {_mu(ch.get('cultivated_net_change_mu'), '未计算')}"))
    console.print(escape(f"  非农化 {_mu(ch.get('cultivated_to_construction_mu'), '未计算')}，"
                         f"非粮化 {_mu(ch.get('cultivated_to_nonfood_mu'), '未计算')}"))
    gap = ch.get("satellite_denominator_gap_mu")
    if gap is None:
        console.print(escape(f"  与卫片核对：{NO_DATA}（{_reason(ch, 'satellite_denominator_gap_mu')}）"))
    else:
        n = ch.get("unmonitored_count")
        console.print(escape(f"  新增建设占用耕地 {ch['new_construction_on_cultivated_mu']:.2f} 亩，卫片 "
                             f"{ch['satellite_denominator_mu']:.2f} 亩，差额 {gap:.2f} 亩"
                             + (f"；疑似漏监测 {n} 块 {ch.get('unmonitored_piece_mu') or 0:.2f} 亩（未被卫片图斑覆盖合计 "
                                f"{ch.get('unmonitored_mu') or 0:.2f} 亩）" if n is not None else "")))

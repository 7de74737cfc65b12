"""Rendering ``landkit check`` results: a Chinese console report, or a JSON dict."""
from __future__ import annotations

from collections import defaultdict

from rich.markup import escape

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
        "unrecognised": [dict(u) for u in getattr(county, "unrecognised", None) or []],
        "qa": county.qa.to_dict(),
    }


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


def print_run_summary(summary: dict, out_dir, console, total_seconds: float | None = None) -> None:
    c = summary["county"]
    secs = total_seconds if total_seconds is not None else summary.get("run_seconds", 0)
    console.print(f"[bold]{escape(str(c['name'] or ''))}（{c['adcode'] or ''}）{c['year'] or ''}年度分析完成[/bold]"
                  f"，用时 {secs:.1f} 秒")
    s = summary.get("satellite", {})
    if s.get("available"):
        r = "—" if s["ratio"] is None else f"{s['ratio']:.2%}"
        console.print(f"卫片违法占用耕地比例：{r}（{STATUS_NAMES.get(s['status'], s['status'])}；"
                      f"违法 {s['illegal_farmland_mu']:.2f} 亩 / 新增建设占用耕地 {s['new_construction_farmland_mu']:.2f} 亩）")
        if s["rectify_to_cap_mu"] > 0:
            console.print(f"  降到 {s['cap']:.0%} 以内需整改复耕 {s['rectify_to_cap_mu']:.2f} 亩")
    else:
        console.print(escape(f"卫片：{s.get('reason', '未计算')}"))
    fo = summary.get("farmland_overlap", {})
    for role, v in fo.items():
        if isinstance(v, dict) and "overlap_mu" in v:
            console.print(f"永久基本农田压占（{v['name']}）：{v['features_overlapping']}/{v['features_checked']} 个要素，"
                          f"{v['overlap_mu']:.2f} 亩")
    console.print(escape(f"结果已写入：{out_dir}"))

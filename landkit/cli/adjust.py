"""``landkit adjust COUNTY_DIR -o OUT``: 控制面积平差 of the county's DLTB 图斑面积."""
from __future__ import annotations

import time

import click

from ..pipeline.adjust import GPKG_NAME, XLSX_NAME, run_adjust
from .console import console


@click.command("adjust")
@click.argument("county_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出文件夹")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="附加的配置文件（TOML），覆盖文件夹中的 landkit.toml")
def adjust(county_dir, out_dir, config_file):
    """控制面积平差：各控制单元（乡镇或村）内的图斑面积按比例平差到控制面积（精确到 0.01 平方米），
    田坎面积随之重算。

    写出 OUT/平差地类图斑.gpkg、OUT/平差.xlsx 和 OUT/summary.json。
    """
    con = console()
    t0 = time.perf_counter()
    s = run_adjust(county_dir, out_dir, config=config_file, progress=lambda m: con.print(f"· {m}…"))
    a = s["adjust"]
    level = "乡镇" if a["level"] == "township" else "村级"
    con.print(f"{a['unit_count']} 个{level}控制单元，{a['units_adjusted']} 个已平差，"
              f"{a['units_over_tolerance']} 个差值超限；{a['features_adjusted']:,}/{a['feature_count']:,} 个图斑已平差",
              markup=False)
    con.print(f"控制面积合计 {a['control_m2']:,.2f} 平方米，平差前图斑面积合计 {a['before_m2']:,.2f} 平方米，"
              f"差值 {a['difference_m2']:,.2f} 平方米（{a['difference_mu']:.2f} 亩）", markup=False)
    if a["features_unassigned"]:
        con.print(f"{a['features_unassigned']:,} 个图斑不在任何控制单元内，未平差", markup=False)
    t = s["tbmj_check"]
    if t["available"]:
        con.print(f"申报面积核对：{t['over_tolerance']:,} 个图斑的 TBMJ 与平差后面积相差超过 {t['tolerance_m2']:g} 平方米",
                  markup=False)
    else:
        con.print(f"申报面积核对：未核对（{t['reason']}）", markup=False)
    con.print(f"结果已写入：{out_dir}（{GPKG_NAME}、{XLSX_NAME}、summary.json），用时 {time.perf_counter() - t0:.1f} 秒",
              markup=False)

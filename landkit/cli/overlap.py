"""``landkit overlap SITE_FILE --county DIR -o OUT``: ad-hoc 永久基本农田 check of a project site."""
from __future__ import annotations

import click

from ..pipeline.site_check import run_site_check
from .console import console


@click.command("overlap")
@click.argument("site_file", type=click.Path(path_type=str))
@click.option("--county", "county_dir", required=True, type=click.Path(file_okay=False), help="县数据文件夹")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出文件夹")
@click.option("--layer", default=None, help="GeoPackage/FileGDB 中的图层名")
@click.option("--id-field", default=None, help="标识项目/地块的字段（默认：项目名称、名称或要素序号）")
def overlap(site_file, county_dir, out_dir, layer, id_field):
    """检查项目用地（SITE_FILE）是否压占永久基本农田、耕地、生态保护红线，是否在城镇开发边界外。

    写出 OUT/压占检查.xlsx 和 OUT/压占检查.gpkg。
    """
    con = console()
    s = run_site_check(site_file, county_dir, out_dir, layer=layer, id_field=id_field)
    con.print(f"检查 {s['features_checked']} 个地块：{s['features_overlapping']} 个压占永久基本农田，"
              f"合计 {s['overlap_mu']:.2f} 亩（扣除田坎 {s['overlap_net_mu']:.2f} 亩）")
    if "cultivated_mu" in s:
        con.print(f"占用耕地 {s['cultivated_mu']:.2f} 亩")
    if "stbhhx_mu" in s:
        con.print(f"位于生态保护红线内 {s['stbhhx_mu']:.2f} 亩")
    if "outside_czkfbj_mu" in s:
        con.print(f"位于城镇开发边界外 {s['outside_czkfbj_mu']:.2f} 亩")
    for n in s.get("not_computed", []):
        con.print(f"{n['item']}：未计算（{n['reason']}）", markup=False)
    con.print(f"结果已写入：{out_dir}", markup=False)

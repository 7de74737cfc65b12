"""``landkit check COUNTY_DIR``: validate a county folder without analysing it."""
from __future__ import annotations

import json
import sys

import click

from ..county import read_county
from ..render.check import check_dict, print_check
from .console import console


@click.command("check")
@click.argument("county_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出检查结果")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="附加的配置文件（TOML），覆盖文件夹中的 landkit.toml")
def check(county_dir, as_json, config_file):
    """检查一个县的数据文件夹：图层、编码、坐标系和质检结果（不做分析）。

    数据可用（允许有警告）时退出码为 0，不可用时为 1。
    """
    county = read_county(county_dir, config_file, errors="collect")
    if as_json:
        click.echo(json.dumps(check_dict(county), ensure_ascii=False, indent=2, default=str))
    else:
        print_check(county, console())
    sys.exit(0 if county.usable else 1)

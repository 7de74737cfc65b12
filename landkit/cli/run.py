"""``landkit run COUNTY_DIR -o OUT``: every analysis of one county, outputs written atomically."""
from __future__ import annotations

import datetime as dt
import time

import click

from ..errors import LandkitError
from ..pipeline.run import run_county
from ..render.check import print_run_summary
from .console import console


@click.command("run")
@click.argument("county_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出文件夹")
@click.option("--year", type=int, default=None, help="年度（默认取 landkit.toml 中的 year）")
@click.option("--as-of", "as_of", default=None, help="截至日期 YYYY-MM-DD（默认为年度的12月31日）")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="附加的配置文件（TOML），覆盖文件夹中的 landkit.toml")
@click.option("--previous", "previous", type=click.Path(exists=False), default=None,
              help="上一次运行的输出文件夹（其 ledger.xlsx 已由各单位填写）：所填内容按记录带入本期台账")
def run(county_dir, out_dir, year, as_of, config_file, previous):
    """分析一个县：写出 summary.json、results.gpkg、ledger.xlsx（台账）、report.html 和外业核查表.html。"""
    if as_of is not None:
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            raise LandkitError(f"--as-of 应为日期 YYYY-MM-DD，得到 {as_of!r}")
    con = console()
    t0 = time.perf_counter()
    summary = run_county(county_dir, out_dir, year=year, as_of=as_of, config=config_file,
                         progress=lambda m: con.print(f"· {m}…"), previous=previous)
    print_run_summary(summary, out_dir, con, time.perf_counter() - t0)

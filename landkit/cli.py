"""The ``landkit`` command line: a thin layer over the library.

Exit codes: 0 all good; 1 bad input or failed run (a Chinese message says what and where).
"""
from __future__ import annotations

import json
import sys
import traceback

import click

from .errors import LandkitError


def _console():
    from rich.console import Console
    import shutil
    width = max(shutil.get_terminal_size((120, 40)).columns, 110)
    return Console(highlight=False, soft_wrap=True, width=width)


def _fail(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="landkit")
def cli():
    """landkit：县级自然资源局土地数据分析（读取、质检、卫片、永农、存量盘点、报告）。"""


@cli.command()
@click.argument("county_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出检查结果")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="附加的配置文件（TOML），覆盖文件夹中的 landkit.toml")
def check(county_dir, as_json, config_file):
    """检查一个县的数据文件夹：图层、编码、坐标系和质检结果（不做分析）。

    数据可用（允许有警告）时退出码为 0，不可用时为 1。
    """
    from .io.county import read_county
    from .render.check import check_dict, print_check
    county = read_county(county_dir, config_file, errors="collect")
    if as_json:
        click.echo(json.dumps(check_dict(county), ensure_ascii=False, indent=2, default=str))
    else:
        print_check(county, _console())
    sys.exit(0 if county.usable else 1)


@cli.command()
@click.argument("county_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出文件夹")
@click.option("--year", type=int, default=None, help="年度（默认取 landkit.toml 中的 year）")
@click.option("--as-of", "as_of", default=None, help="截至日期 YYYY-MM-DD（默认为年度的12月31日）")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="附加的配置文件（TOML），覆盖文件夹中的 landkit.toml")
def run(county_dir, out_dir, year, as_of, config_file):
    """分析一个县：写出 summary.json、results.gpkg、ledger.xlsx（台账）。"""
    import datetime as dt
    from .run import run_county
    if as_of is not None:
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            raise LandkitError(f"--as-of 应为日期 YYYY-MM-DD，得到 {as_of!r}")
    import time
    con = _console()
    t0 = time.perf_counter()
    summary = run_county(county_dir, out_dir, year=year, as_of=as_of, config=config_file,
                         progress=lambda m: con.print(f"· {m}…"))
    from .render.check import print_run_summary
    print_run_summary(summary, out_dir, con, time.perf_counter() - t0)


@cli.command()
@click.argument("site_file", type=click.Path(path_type=str))
@click.option("--county", "county_dir", required=True, type=click.Path(file_okay=False), help="县数据文件夹")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出文件夹")
@click.option("--layer", default=None, help="GeoPackage/FileGDB 中的图层名")
@click.option("--id-field", default=None, help="标识项目/地块的字段（默认：项目名称、名称或要素序号）")
def overlap(site_file, county_dir, out_dir, layer, id_field):
    """检查项目用地（SITE_FILE）是否压占永久基本农田、耕地、生态保护红线，是否在城镇开发边界外。

    写出 OUT/压占检查.xlsx 和 OUT/压占检查.gpkg。
    """
    from .siteoverlap import run_site_check
    con = _console()
    s = run_site_check(site_file, county_dir, out_dir, layer=layer, id_field=id_field)
    con.print(f"检查 {s['features_checked']} 个地块：{s['features_overlapping']} 个压占永久基本农田，"
              f"合计 {s['overlap_mu']:.2f} 亩（扣除田坎 {s['overlap_net_mu']:.2f} 亩）")
    if "cultivated_mu" in s:
        con.print(f"占用耕地 {s['cultivated_mu']:.2f} 亩")
    if "stbhhx_mu" in s:
        con.print(f"位于生态保护红线内 {s['stbhhx_mu']:.2f} 亩")
    if "outside_czkfbj_mu" in s:
        con.print(f"位于城镇开发边界外 {s['outside_czkfbj_mu']:.2f} 亩")
    con.print(f"结果已写入：{out_dir}", markup=False)


from .batch import batch_command  # noqa: E402

cli.add_command(batch_command, "batch")


def main(argv=None):
    """Entry point: run the CLI, turning every error into a Chinese message and exit 1."""
    import os
    import warnings
    if "LANDKIT_DEBUG" not in os.environ:
        warnings.filterwarnings("ignore")   # library warnings are noise for a bureau user
    try:
        cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("已中止。", err=True)
        sys.exit(1)
    except click.exceptions.ClickException as e:
        e.show()
        sys.exit(e.exit_code if e.exit_code else 1)
    except LandkitError as e:
        _fail(str(e))
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("已中止。", err=True)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 — never a bare traceback for a bureau user
        if "LANDKIT_DEBUG" in __import__("os").environ:
            traceback.print_exc()
        _fail(f"程序内部错误（{type(e).__name__}: {e}）。请把此信息和数据情况反馈给开发者；"
              "设置环境变量 LANDKIT_DEBUG=1 可显示详细信息")
    sys.exit(0)


if __name__ == "__main__":
    main()

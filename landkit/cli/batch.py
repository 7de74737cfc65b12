"""``landkit batch ROOT_DIR -o OUT``: every county under ROOT_DIR on dask, plus a roll-up."""
from __future__ import annotations

import datetime as dt
import sys

import click

from ..errors import InputError
from ..pipeline.batch import run_batch


@click.command("batch", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("root_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出文件夹")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="本机并行的工作进程数（默认为 CPU 核数；使用 --scheduler 时忽略）")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="已启动的 dask 调度器地址，如 tcp://10.0.0.5:8786（各工作节点须以相同路径看到数据和输出文件夹）")
@click.option("--resume", is_flag=True, help="跳过输入（按文件内容哈希）、选项与 landkit 程序均未变且结果完整的县")
@click.option("--year", type=int, default=None, help="年度（默认取各县 landkit.toml 中的 year）")
@click.option("--as-of", "as_of", default=None, help="截至日期 YYYY-MM-DD（默认为年度的12月31日）")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="附加的配置文件（TOML），覆盖各县文件夹中的 landkit.toml")
@click.option("--db", "db", default=None, metavar="DSN",
              help="同时把结果图层和台账写入 PostGIS，如 postgresql://user:pass@host/db")
@click.option("--db-schema", "db_schema", default=None, help="数据库模式名（默认 landkit_年月日_时分秒）")
@click.option("--previous", "previous", default=None, type=click.Path(file_okay=False),
              help="上一次 landkit batch 的输出文件夹：各县按同名文件夹带入其中已填写的台账（ledger.xlsx），汇总显示各县与上期相比的变化")
@click.option("-q", "--quiet", is_flag=True, help="不显示进度条和逐县日志")
def batch(root_dir, out_dir, workers, scheduler, resume, year, as_of, config_file, db, db_schema, previous, quiet):
    """批量分析 ROOT_DIR 下的每个县数据文件夹（dask 并行），并写出汇总 summary.json、汇总.xlsx、index.html。

    退出码：0 全部成功；1 输入有误或全部失败；2 部分县失败、其余成功。
    """
    if as_of is not None:
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            raise InputError(f"--as-of 应为日期 YYYY-MM-DD，得到 {as_of!r}")
    res = run_batch(root_dir, out_dir, workers=workers, scheduler=scheduler, resume=resume, year=year, db=db,
                    progress=not quiet, as_of=as_of, config=config_file, db_schema=db_schema, previous=previous)
    if quiet:
        click.echo(f"完成 {len(res.ok)}，跳过 {len(res.skipped)}，失败 {len(res.failed)}")
        for x in res.skipped_folders:      # without --quiet the batch log lists them before the run
            click.echo(f"未作为县处理：{x['folder']}：{x['reason']}")
    for c in res.failed:
        click.echo(f"失败：{c.folder}：{c.error}", err=True)
    sys.exit(res.exit_code)

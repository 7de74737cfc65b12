"""The ``landkit`` command line: a thin layer over the library, one module per command
(:mod:`landkit.cli.check`, :mod:`~landkit.cli.run`, :mod:`~landkit.cli.overlap`, :mod:`~landkit.cli.batch`,
:mod:`~landkit.cli.adjust`).

Exit codes: 0 all good; 1 bad input or failed run (a Chinese message says what and where);
``batch``: 2 when some counties failed and the others succeeded.
"""
from __future__ import annotations

import os
import sys
import traceback
import warnings

import click

from ..errors import LandkitError
from . import adjust, batch, check, overlap, run
from .console import fail


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="landkit")
def cli():
    """landkit：县级自然资源局土地数据分析（读取、质检、卫片、永农、存量盘点、报告）。"""


for module in (check, run, overlap, batch, adjust):      # each module holds one command of its name
    cli.add_command(getattr(module, module.__name__.rpartition('.')[2]))


def main(argv=None):
    """Entry point: run the CLI, turning every error into a Chinese message and exit 1."""
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
        fail(str(e))
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("已中止。", err=True)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 — never a bare traceback for a bureau user
        if "LANDKIT_DEBUG" in os.environ:
            traceback.print_exc()
        fail(f"程序内部错误（{type(e).__name__}: {e}）。请把此信息和数据情况反馈给开发者；"
              "设置环境变量 LANDKIT_DEBUG=1 可显示详细信息")
    sys.exit(0)

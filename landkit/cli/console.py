"""What the commands share: the console they print to, and the one way they fail."""
from __future__ import annotations

import shutil
import sys

import click


def console():
    """A rich console wide enough for Chinese tables."""
    from rich.console import Console
    width = max(shutil.get_terminal_size((120, 40)).columns, 110)
    return Console(highlight=False, soft_wrap=True, width=width)


def fail(message: str) -> None:
    """Print ``错误：message`` to stderr and exit 1."""
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)

"""台账 (ledger) workbooks: Chinese headers, 亩/公顷 with 2 decimals, frozen header row,
filters, a totals row, sensible widths, A4 landscape printing with the header repeated."""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from ..standards.units import round_half_up

HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


@dataclass
class Col:
    header: str               # Chinese column header
    key: str                  # column in the DataFrame
    kind: str = "text"        # text | area (2 decimals) | int | pct | date | float
    total: bool = False       # summed in the totals row
    width: float | None = None


def _cell_value(v, kind):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return v.date() if not pd.isna(v) else None
    if isinstance(v, dt.date):
        return v
    if isinstance(v, (list, tuple)):
        return "、".join(map(str, v))
    if kind == "area":
        return round_half_up(float(v), 2)
    if kind == "pct":
        return round_half_up(float(v), 4)
    if kind == "int":
        return int(v)
    if kind == "float":
        return float(v)
    if isinstance(v, (np.generic,)):
        return v.item()
    if kind == "text":
        return str(v)
    return v


FORMATS = {"area": "0.00", "pct": "0.00%", "int": "0", "date": "yyyy-mm-dd", "float": "0.00"}


def add_sheet(wb: Workbook, title: str, df: pd.DataFrame, cols: list[Col], *, heading: str | None = None,
              totals: bool = True, note: str | None = None):
    """Append a formatted sheet. ``heading`` is a title line above the table."""
    ws = wb.create_sheet(title)
    r0 = 1
    if heading:
        ws.cell(row=1, column=1, value=heading).font = Font(bold=True, size=13)
        r0 = 3 if note else 2
        if note:
            ws.cell(row=2, column=1, value=note).font = Font(italic=True, color="666666")
    for j, c in enumerate(cols, 1):
        cell = ws.cell(row=r0, column=j, value=c.header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = BORDER
    n = len(df)
    data = [df[c.key].tolist() if c.key in df.columns else [None] * n for c in cols]
    # Styling each cell through openpyxl's descriptors hashes the style objects every time
    # (30 s for 200k cells); copy a ready-made style array from a prototype cell instead.
    protos = {}

    def proto(fmt):
        if fmt not in protos:
            pc = ws.cell(row=r0 + 1, column=1)
            pc.border = BORDER
            pc.number_format = fmt
            protos[fmt] = copy.copy(pc._style)
        return protos[fmt]
    for k in range(n):
        i = r0 + 1 + k
        for j, c in enumerate(cols, 1):
            val = _cell_value(data[j - 1][k], c.kind)
            cell = ws.cell(row=i, column=j, value=val)
            fmt = FORMATS["date"] if isinstance(val, dt.date) else FORMATS.get(c.kind, "General")
            cell._style = copy.copy(proto(fmt))
    last = r0 + n
    if totals and n and any(c.total for c in cols):
        tr = last + 1
        ws.cell(row=tr, column=1, value="合计").font = Font(bold=True)
        for j, c in enumerate(cols, 1):
            cell = ws.cell(row=tr, column=j)
            if c.total:
                vals = pd.to_numeric(df[c.key], errors="coerce") if c.key in df.columns else pd.Series(dtype=float)
                s = float(vals.sum())
                cell.value = round_half_up(s, 2) if c.kind == "area" else (int(s) if c.kind == "int" else s)
                cell.number_format = FORMATS.get(c.kind, "General")
            cell.font = Font(bold=True)
            cell.fill = TOTAL_FILL
            cell.border = BORDER
    ws.freeze_panes = ws.cell(row=r0 + 1, column=1)
    if n:
        ws.auto_filter.ref = f"A{r0}:{get_column_letter(len(cols))}{last}"
    for j, c in enumerate(cols, 1):
        if c.width:
            w = c.width
        else:
            texts = [str(c.header)] + [str(_cell_value(v, c.kind)) for v in
                                       (df[c.key].head(200) if c.key in df.columns else [])]
            w = min(40, max(6, max(_display_width(t) for t in texts) + 2))
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{r0}:{r0}"
    ws.print_options.horizontalCentered = True
    return ws


def _display_width(s: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def add_kv_sheet(wb: Workbook, title: str, rows: list[tuple[str, object, str]], heading: str | None = None):
    """A two/three-column 指标 sheet: (指标, 值, 说明)."""
    df = pd.DataFrame(rows, columns=["指标", "值", "说明"])
    df["值"] = [round_half_up(v, 4) if isinstance(v, float) else v for v in df["值"]]
    return add_sheet(wb, title, df, [Col("指标", "指标", width=34), Col("值", "值", kind="raw", width=18),
                                     Col("说明", "说明", width=60)], heading=heading, totals=False)


def new_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    return wb

"""The ledger a bureau sent out and got back: what staff typed, read record by record.

The 大盘点 台账 goes out to townships and departments; they fill in the plan columns
(拟处置方式, 责任单位, 责任人, 完成时限, 处置进展, 备注) and send it back, often re-saved by Excel or
WPS. :func:`read_previous_ledger` reads such a workbook and returns, per sheet, every data row
keyed by the record's stable key; the 卫片图斑清单's field-check columns (核查状态, 核查日期,
核查人, 核查结论, 整改措施, 整改完成日期, 备注) are read the same way:

========================  ============
sheet                     key column
========================  ============
批而未供                   批准文号
闲置土地                   电子监管号
低效用地                   宗地代码
集体经营性建设用地          标识码
卫片图斑清单               监测编号
耕地流出清单               原标识码 + 现标识码 (the two 图斑 the piece lies in)
========================  ============

Nothing typed is dropped: a value that cannot be read as what its column means (完成时限
"下月底") is kept exactly as typed and listed as a finding naming the sheet, row and column.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..dates import parse_date
from ..errors import InputError
from ..findings import Finding
from ..io.fields import is_blank as _blank, key_text  # noqa: F401  (landkit.tracking.previous.key_text)

#: sheet title → the column whose value identifies a record across runs
KEY_COLUMNS = {"批而未供": "批准文号", "闲置土地": "电子监管号", "低效用地": "宗地代码",
               "集体经营性建设用地": "标识码", "卫片图斑清单": "监测编号",
               "耕地流出清单": ("原标识码", "现标识码")}
#: the columns staff fill in; landkit never computes them
PLAN_HEADERS = ("拟处置方式", "责任单位", "责任人", "完成时限", "处置进展", "备注")
#: the 卫片 field-check columns (卫片图斑清单)
CHECK_HEADERS = ("核查状态", "核查日期", "核查人", "核查结论", "整改措施", "整改完成日期", "备注")
#: typed columns per sheet
#: the columns of 耕地流出清单 staff fill in after checking a piece in the field
CHANGE_CHECK_HEADERS = ("核查结论", "备注")
TYPED_HEADERS = {title: (CHECK_HEADERS if title == "卫片图斑清单" else CHANGE_CHECK_HEADERS if title == "耕地流出清单"
                         else PLAN_HEADERS) for title in KEY_COLUMNS}


def key_headers(title: str) -> tuple:
    """The header(s) whose values make a record's key on sheet ``title``."""
    k = KEY_COLUMNS[title]
    return k if isinstance(k, tuple) else (k,)


def key_label(title: str) -> str:
    """The key's name in messages (批准文号; 原标识码+现标识码)."""
    return "+".join(key_headers(title))


def record_key(values, title: str) -> str | None:
    """A record's key from its values: ``values`` maps header → value (a dict) or is the values in
    :func:`key_headers` order. Several headers join with ``→``; None when any part is blank."""
    hs = key_headers(title)
    parts = [key_text(values.get(h)) for h in hs] if isinstance(values, dict) else [key_text(v) for v in values]
    return None if any(p is None for p in parts) else "→".join(parts)


def frame_keys(df, cols: dict, title: str) -> list:
    """The record key of every row of a new ledger sheet's frame (``cols``: header → frame column)."""
    names = [cols.get(h) for h in key_headers(title)]
    if any(n is None or n not in df.columns for n in names):
        return [None] * len(df)
    return [record_key(vals, title) for vals in zip(*(df[n].tolist() for n in names))]
DATE_HEADERS = ("完成时限", "核查日期", "整改完成日期")


@dataclass
class PreviousRow:
    """One data row of a returned ledger sheet."""
    sheet: str
    row: int                          # 1-based worksheet row, as Excel shows it
    key: str | None
    values: dict                      # header → cell value as read (every column of the row)
    typed: dict                       # plan header → value staff typed (non-empty only)


@dataclass
class PreviousLedger:
    path: Path
    rows: dict[str, list[PreviousRow]] = field(default_factory=dict)     # sheet → rows
    findings: list[Finding] = field(default_factory=list)
    summary: dict | None = None       # that run's summary.json, when it lies beside the ledger

    def by_key(self, sheet: str) -> dict[str, PreviousRow]:
        """The rows of ``sheet`` that carry a key (the last one wins for a repeated key)."""
        return {r.key: r for r in self.rows.get(sheet, []) if r.key is not None}



def read_previous_ledger(path) -> PreviousLedger:
    """Read a filled-in landkit ledger (xlsx, possibly re-saved by Excel/WPS). InputError when
    the file cannot be opened as a workbook."""
    from openpyxl import load_workbook
    p = Path(path)
    try:
        wb = load_workbook(p, data_only=True)
    except Exception as e:  # noqa: BLE001 — zip/xml errors of a damaged or non-xlsx file
        raise InputError(f"上一期台账无法打开（{type(e).__name__}：{e}），应为 landkit 生成的 ledger.xlsx", file=p)
    out = PreviousLedger(p)
    for title in KEY_COLUMNS:
        key_col = key_headers(title)[0]
        if title not in wb.sheetnames:
            continue
        ws = wb[title]
        grid = [list(r) for r in ws.iter_rows(values_only=True)]
        hdr = next((i for i, r in enumerate(grid[:10]) if key_col in [str(c).strip() if c else c for c in r]), None)
        if hdr is None:
            out.findings.append(Finding("warning", "previous_sheet_unreadable",
                                        f"上一期台账的“{title}”工作表中找不到表头“{key_col}”，该表填写的内容未能带入",
                                        file=p.name))
            continue
        headers = [str(c).strip() if c is not None else None for c in grid[hdr]]
        rows = []
        for i, r in enumerate(grid[hdr + 1:], start=hdr + 2):
            vals = {h: v for h, v in zip(headers, r) if h}
            if all(_blank(v) for v in vals.values()):
                continue
            first = r[0] if r else None
            if isinstance(first, str) and first.strip() == "合计":
                continue
            typed = {}
            for h in TYPED_HEADERS[title]:
                v = vals.get(h)
                if _blank(v):
                    continue
                if h in DATE_HEADERS:
                    d = parse_date(v)
                    if d is None:
                        out.findings.append(Finding(
                            "warning", "previous_value_unreadable",
                            f"上一期台账“{title}”第 {i} 行“{h}”的值“{v}”不是可识别的日期，已按原样保留",
                            file=p.name, field=h, features=[record_key(vals, title) or f"第 {i} 行"]))
                    else:
                        v = d                     # a date however it was typed (2025/6/30, 20250630, a date cell)
                typed[h] = v
            rows.append(PreviousRow(title, i, record_key(vals, title), vals, typed))
        out.rows[title] = rows
    return out

"""Carry what staff typed in an earlier ledger into the new one, record by record.

:func:`carry_forward` fills the plan columns of the new :class:`~landkit.render.ledger.Ledger`
from a :class:`~landkit.tracking.previous.PreviousLedger`, matching rows by the sheet's key
(:data:`~landkit.tracking.previous.KEY_COLUMNS`). Rows of the earlier ledger whose key matches no
record of the new one go, with all their columns and the reason, to a sheet ``未匹配记录``:
what was typed is never lost.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..findings import Finding
from ..render.ledger import Col, Ledger, add_sheet
from .previous import (CHANGE_CHECK_HEADERS, CHECK_HEADERS, KEY_COLUMNS, PLAN_HEADERS, PreviousLedger, frame_keys,
                       key_label)

UNMATCHED_SHEET = "未匹配记录"


@dataclass
class CarryResult:
    carried_rows: int = 0                 # new records that received typed values
    unmatched_rows: int = 0               # earlier rows kept in 未匹配记录
    by_sheet: dict = field(default_factory=dict)   # sheet → {"carried", "unmatched"}
    findings: list[Finding] = field(default_factory=list)


def carry_forward(ledger: Ledger, previous: PreviousLedger) -> CarryResult:
    """Fill the new ledger's plan columns from ``previous`` (in place) and add ``未匹配记录``."""
    res = CarryResult(findings=list(previous.findings))
    unmatched = []
    sheets = {s.title: s for s in ledger.sheets}
    for title in KEY_COLUMNS:
        old_rows = previous.rows.get(title, [])
        if not old_rows:
            continue
        key_header = key_label(title)
        sheet = sheets.get(title)
        cols = {c.header: c.key for c in sheet.cols} if sheet is not None else {}
        new_keys = {}
        if sheet is not None:
            for pos, k in enumerate(frame_keys(sheet.df, cols, title)):
                if k is not None:
                    new_keys.setdefault(k, pos)
        carried = 0
        for r in old_rows:
            pos = new_keys.get(r.key) if r.key is not None else None
            if pos is None:
                why = ("没有" + key_header + "，无法与本期记录对应" if r.key is None else
                       f"本期台账中没有{key_header}为“{r.key}”的记录（可能已处置、已供地或编号已改）"
                       if sheet is not None else f"本期没有“{title}”台账")
                unmatched.append({"工作表": title, "原行号": r.row, "记录编号": r.key, "未匹配原因": why, **r.values})
                continue
            if not r.typed:
                continue
            for h, v in r.typed.items():
                c = cols.get(h)
                if c is None:
                    continue
                if c not in sheet.df.columns:
                    sheet.df[c] = None
                sheet.df[c] = sheet.df[c].astype(object)
                sheet.df.iat[pos, sheet.df.columns.get_loc(c)] = v
            carried += 1
        n_un = sum(1 for u in unmatched if u["工作表"] == title)
        res.by_sheet[title] = {"carried": carried, "unmatched": n_un}
        res.carried_rows += carried
    res.unmatched_rows = len(unmatched)
    if unmatched:
        df = pd.DataFrame(unmatched)
        first = ["工作表", "原行号", "记录编号", "未匹配原因"]
        rest = [c for c in df.columns if c not in first]
        plan = [c for c in dict.fromkeys(PLAN_HEADERS + CHECK_HEADERS + CHANGE_CHECK_HEADERS) if c in rest]
        other = [c for c in rest if c not in plan]
        add_sheet(ledger, UNMATCHED_SHEET, df,
                  [Col(c, c, "raw" if c not in ("工作表", "记录编号", "未匹配原因") else "text",
                       width=30 if c == "未匹配原因" else None) for c in first + plan + other],
                  heading="上一期台账中未能与本期记录对应的行（所填内容原样保留）", totals=False)
        res.findings.append(Finding("warning", "previous_rows_unmatched",
                                    f"上一期台账有 {len(unmatched)} 行未能与本期记录对应，已放入“{UNMATCHED_SHEET}”工作表",
                                    count=len(unmatched)))
    return res

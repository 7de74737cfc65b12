"""What moved since the previous ledger: overdue plans, newly disposed land, new records.

Works on the new :class:`~landkit.render.ledger.Ledger` after :func:`~landkit.tracking.carry.carry_forward`
filled it, and on the :class:`~landkit.tracking.previous.PreviousLedger` it came from:

* **overdue**: a record still in the inventory whose 完成时限 (a date) is before the as-of date;
  its 完成时限 cell is marked red in the new ledger;
* **newly disposed** (批而未供, 闲置土地): records of the previous ledger whose key is no longer in
  the new one, with the area the previous ledger gave them (亩);
* **new records**: records of the new ledger whose key the previous one did not have.
"""
from __future__ import annotations

import datetime as dt

from ..render.ledger import Ledger
from .previous import KEY_COLUMNS, PreviousLedger, frame_keys, key_text

#: sheet → its area column header (亩) in the ledger
AREA_HEADERS = {"批而未供": "未供面积(亩)", "闲置土地": "面积(亩)", "低效用地": "面积(亩)",
                "集体经营性建设用地": "面积(亩)", "卫片图斑清单": "图斑面积(亩)"}
DISPOSAL_SHEETS = ("批而未供", "闲置土地")
OVERDUE_FILL = ("F8CBAD", True)


def _num(v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return 0.0
    return x if x == x else 0.0


def progress(ledger: Ledger, previous: PreviousLedger, as_of: dt.date) -> dict:
    """{overdue_count, overdue_mu, overdue: [{sheet, key, 责任单位, 乡镇, 完成时限, area_mu}],
    newly_disposed_mu, newly_disposed: {sheet: 亩}, new_records: {sheet: count}}; marks overdue cells."""
    overdue, new_records, disposed = [], {}, {}
    for sheet in ledger.sheets:
        if sheet.title not in KEY_COLUMNS:
            continue
        cols = {c.header: c.key for c in sheet.cols}
        acol = cols.get(AREA_HEADERS.get(sheet.title))
        dcol = cols.get("完成时限")
        df = sheet.df
        old = previous.by_key(sheet.title)
        keys = frame_keys(df, cols, sheet.title)
        if sheet.title in previous.rows:
            new_records[sheet.title] = sum(1 for k in keys if k is not None and k not in old)
        if dcol and dcol in df.columns:
            for pos, (k, due) in enumerate(zip(keys, df[dcol].tolist())):
                if isinstance(due, dt.datetime):
                    due = due.date()
                if isinstance(due, dt.date) and due < as_of:
                    row = df.iloc[pos]
                    overdue.append({"sheet": sheet.title, "key": k, "责任单位": key_text(row.get(cols.get("责任单位"))),
                                    "乡镇": key_text(row.get(cols.get("乡镇"))), "完成时限": due.isoformat(),
                                    "area_mu": _num(row.get(acol)) if acol else 0.0})
                    sheet.fills[(pos, dcol)] = OVERDUE_FILL
        if sheet.title in DISPOSAL_SHEETS and sheet.title in previous.rows:
            now = set(k for k in keys if k is not None)
            gone = [r for r in previous.rows[sheet.title] if r.key is not None and r.key not in now]
            disposed[sheet.title] = sum(_num(r.values.get(AREA_HEADERS[sheet.title])) for r in gone)
    return {"overdue_count": len(overdue), "overdue_mu": sum(o["area_mu"] for o in overdue), "overdue": overdue,
            "newly_disposed_mu": sum(disposed.values()), "newly_disposed": disposed, "new_records": new_records}

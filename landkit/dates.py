"""Dates in every form bureaus use: 2023-03-01, 2023/3/1, 20230301, 2023年3月1日, 2023.3.1,
Excel serial numbers, datetime columns. Unparseable values give None (callers report them)."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_YMD = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*(?:[ T].*)?$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})(?:\.0+)?\s*$")


def parse_date(v) -> dt.date | None:
    """One value → ``datetime.date`` or None (empty or unparseable)."""
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.date()
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v).date()
    if isinstance(v, (int, float, np.integer, np.floating)):
        if isinstance(v, (float, np.floating)) and not np.isfinite(v):
            return None
        n = float(v)
        if 19000101 <= n <= 21001231 and n.is_integer():
            return parse_date(str(int(n)))
        if 1 <= n < 80000:                      # Excel serial day number
            return _EXCEL_EPOCH + dt.timedelta(days=int(n))
        return None
    s = str(v).strip()
    if not s:
        return None
    for rx in (_YMD, _COMPACT):
        m = rx.match(s)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return parse_date(float(s))
    return None


def parse_dates(values) -> tuple[list, np.ndarray]:
    """Parse a column. Returns (dates or None, mask of non-empty values that did not parse)."""
    out, bad = [], []
    for v in list(values):
        d = parse_date(v)
        out.append(d)
        empty = v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)) \
            or (isinstance(v, str) and not v.strip())
        bad.append(d is None and not empty)
    return out, np.array(bad, dtype=bool)


def add_years(d: dt.date, years: int = 1) -> dt.date:
    """The same calendar day ``years`` later; 29 Feb becomes 28 Feb in a non-leap year."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)

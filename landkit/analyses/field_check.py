"""卫片 field checks and 月清 (docs/rules.md §1.4, R7a).

The ministry issues patches month by month; the county checks each in the field (外业核查),
judges it (合法性判定) and, when illegal, rectifies it. "月清": the patches issued in a month are
checked and entered by the end of the following month (``[satellite] month_clear_months``).

:func:`field_checks` takes the 卫片 result table (one row per patch, as
:func:`~landkit.analyses.satellite.satellite_ratio` makes it) and what is known of each patch's
field check — the layer's own 核查状态 / 核查日期 fields, overridden by what staff typed in the
ledger's 卫片图斑清单 and brought back with ``--previous`` — and gives:

* ``field_check_rate`` = checked ÷ patches that require a field check (all patches by default;
  with ``field_check_scope = "large"`` the 大图斑 of at least ``large_patch_mu`` 亩 and every 矿产卫片
  patch), against ``field_check_target`` (100 %);
* ``by_issue_month``: per issuance month (下发日期, else a month in 下发批次, else the 后时相 month)
  the patches issued, judged, checked, rectified and the 月清 rate = patches checked and judged
  by the deadline ÷ patches issued.

Without any check record (no field in the layer, no ledger brought back) the rates are None with
the reason, never 0. Pure: reads no files.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re

import numpy as np
import pandas as pd

from ..dates import parse_date
from ..io.fields import key_text
from ..standards.vocabulary import ILLEGAL, UNJUDGED

#: the columns of the 卫片图斑清单 (and of the layer) that record the field check
CHECK_FIELDS = ("核查状态", "核查日期", "核查人", "核查结论", "整改措施", "整改完成日期")
_MONTH = re.compile(r"(20\d{2})\s*(?:年|[-/.])?\s*(0[1-9]|1[0-2]|[1-9])(?!\d)\s*(?:月|$|[-/.期批第])")
NO_RECORD = ("没有外业核查记录：卫片图斑图层没有核查状态/核查日期字段，也未用 --previous 带入填写了核查状态的"
             "卫片图斑清单")


def _text(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    return str(v).strip()


def month_of_batch(v) -> str | None:
    """'2024-03' from a 下发批次 like 2024年3月, 2024-03, 202403, 2024年03月第2批; None otherwise."""
    s = _text(v)
    if not s:
        return None
    d = parse_date(s)
    if d is not None:
        return f"{d.year:04d}-{d.month:02d}"
    m = _MONTH.search(s)
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}" if m else None


def issue_months(patches: pd.DataFrame) -> tuple[list, list]:
    """(month label per patch, basis per patch): 下发日期, else 下发批次, else 后时相; "未知"."""
    n = len(patches)

    def col(name):
        return patches[name].tolist() if name in patches.columns else [None] * n
    months, basis = [], []
    for issued, batch, after in zip(col("下发日期"), col("下发批次"), col("后时相")):
        d = parse_date(issued)
        if d is not None:
            months.append(f"{d.year:04d}-{d.month:02d}")
            basis.append("下发日期")
            continue
        m = month_of_batch(batch)
        if m is not None:
            months.append(m)
            basis.append("下发批次")
            continue
        if _text(batch):
            months.append(_text(batch))        # a batch without a month (2024年第3批): its own group
            basis.append("下发批次")
            continue
        d = parse_date(after)
        if d is not None:
            months.append(f"{d.year:04d}-{d.month:02d}")
            basis.append("后时相")
            continue
        months.append("未知")
        basis.append("未知")
    return months, basis


def month_deadline(month: str, months_after: int) -> dt.date | None:
    """Last day of the month ``months_after`` after ``month`` ('2024-03', 1 → 2024-04-30)."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", month or "")
    if not m:
        return None
    y, mo = int(m.group(1)), int(m.group(2)) + months_after
    y, mo = y + (mo - 1) // 12, (mo - 1) % 12 + 1
    return dt.date(y, mo, calendar.monthrange(y, mo)[1])


def check_records(patches: pd.DataFrame, typed: dict | None) -> tuple[list[dict], bool]:
    """Per patch {核查状态, 核查日期, ...}: the layer's fields, then what the ledger carried
    (``typed``: 监测编号 → {header: value}). Second item: whether any record source exists."""
    n = len(patches)
    have_layer = any(c in patches.columns for c in ("核查状态", "核查日期"))
    ids = [key_text(v) for v in (patches["监测编号"].tolist() if "监测编号" in patches.columns else [None] * n)]
    cols = {c: patches[c].tolist() for c in CHECK_FIELDS if c in patches.columns}
    recs = []
    for i in range(n):
        r = {c: v[i] for c, v in cols.items() if _text(v[i])}
        if typed and ids[i] in typed:
            r.update({k: v for k, v in typed[ids[i]].items() if k in CHECK_FIELDS and _text(v)})
        recs.append(r)
    return recs, have_layer or typed is not None


def field_checks(patches: pd.DataFrame, settings, as_of: dt.date | None, typed: dict | None = None,
                 issue: tuple[list, list] | None = None) -> dict:
    """The field-check and 月清 figures of one county (see the module docstring).

    patches : the 卫片 result table (``class``, ``area_mu``, ``rectified``, ``township``, ``监测编号``
        and, when the layer has them, 图斑类型, 违法类型, 下发日期, 下发批次, 后时相, 核查状态, 核查日期)
    settings : ``[satellite]`` settings
    as_of : the as-of date (a 月清 deadline on or before it is due)
    typed : 监测编号 → the check columns staff typed in the returned ledger (None without ``--previous``)
    issue : :func:`issue_months` of ``patches`` when the caller has it already
    Areas in 亩.
    """
    s = settings
    n = len(patches)
    recs, known = check_records(patches, typed)
    checked_values = {v.strip() for v in s.checked_values}
    status = [_text(r.get("核查状态")) for r in recs]
    check_date = [parse_date(r.get("核查日期")) for r in recs]
    checked = np.array([st in checked_values or (not st and d is not None) for st, d in zip(status, check_date)],
                       dtype=bool)
    area = patches["area_mu"].to_numpy(dtype=float) if "area_mu" in patches.columns else np.zeros(n)
    words = [w for w in (x.strip() for x in s.mineral_values) if w]
    kinds = [c for c in ("图斑类型", "违法类型") if c in patches.columns]
    kind_text = (patches[kinds].astype(object).where(patches[kinds].notna(), "").astype(str).agg(" ".join, axis=1)
                 .tolist() if kinds else [""] * n)
    mineral = np.array([any(w in t for w in words) for t in kind_text], dtype=bool)
    if s.field_check_scope == "large":
        required = (area >= s.large_patch_mu) | mineral
        rule = f"面积不小于 {s.large_patch_mu:g} 亩的大图斑和矿产卫片图斑"
    else:
        required = np.ones(n, dtype=bool)
        rule = "全部图斑"
    cls = patches["class"].to_numpy(dtype=object) if "class" in patches.columns else np.full(n, None, dtype=object)
    judged = np.array([c is not None and c != UNJUDGED for c in cls], dtype=bool)
    rectified = patches["rectified"].to_numpy(dtype=bool) if "rectified" in patches.columns else np.zeros(n, bool)
    ids = patches["监测编号"].astype(str).tolist() if "监测编号" in patches.columns else [str(i) for i in range(n)]
    towns = patches["township"].tolist() if "township" in patches.columns else [None] * n
    months, basis = issue if issue is not None else issue_months(patches)
    # 月清: checked and judged, with the check dated by its month's deadline (an undated check counts)
    deadlines = {m: month_deadline(m, s.month_clear_months) for m in set(months)}
    on_time = np.array([checked[i] and judged[i] and (deadlines[m] is None or check_date[i] is None
                                                      or check_date[i] <= deadlines[m]) for i, m in enumerate(months)],
                       dtype=bool)

    unavailable = {}
    n_req = int(required.sum())
    n_chk = int((checked & required).sum())
    if not known:
        rate = None
        unavailable["field_check_rate"] = NO_RECORD
    elif n_req == 0:
        rate = None
        unavailable["field_check_rate"] = "没有需要外业核查的图斑（" + rule + "）"
    else:
        rate = n_chk / n_req
    todo = [i for i in np.flatnonzero(required & ~checked)] if known else []
    todo.sort(key=lambda i: -area[i])
    field_check = {
        "rule": rule, "scope": s.field_check_scope, "large_patch_mu": s.large_patch_mu,
        "required_count": n_req, "checked_count": n_chk if known else None,
        "unchecked_count": (n_req - n_chk) if known else None,
        "mineral_patch_count": int(mineral.sum()), "target": s.field_check_target,
        "month_clear_months": s.month_clear_months,
        "met": (rate >= s.field_check_target - 1e-12) if rate is not None else None,
        "record_source": "、".join(src for src, has in (
            ("图层字段", any(c in patches.columns for c in ("核查状态", "核查日期"))),
            ("上一期台账", typed is not None)) if has) or None,
        "unchecked": [{"id": ids[i], "township": towns[i], "area_mu": float(area[i]), "issue_month": months[i]}
                      for i in todo[:100]],
    }

    by_month = []
    for m in sorted(set(months), key=lambda x: (x == "未知", not re.fullmatch(r"\d{4}-\d{2}", x), x)):
        sel = np.array([x == m for x in months], dtype=bool)
        deadline = deadlines[m]
        clear = int((on_time & sel).sum())
        issued = int(sel.sum())
        row = {"month": m, "basis": sorted({b for b, ok in zip(basis, sel) if ok}),
               "issued": issued, "judged": int((judged & sel).sum()), "unjudged": int((~judged & sel).sum()),
               "checked": int((checked & sel).sum()) if known else None,
               "illegal": int(((cls == ILLEGAL) & sel).sum()), "rectified": int((rectified & sel).sum()),
               "deadline": deadline.isoformat() if deadline else None,
               "due": (deadline <= as_of) if (deadline is not None and as_of is not None) else None,
               "month_clear_count": clear if known else None,
               "month_clear_rate": (clear / issued) if known and issued else None}
        if not known:
            row["reason"] = NO_RECORD
        by_month.append(row)
    out = {"field_check_rate": rate, "field_check": field_check, "by_issue_month": by_month}
    if unavailable:
        out["unavailable"] = unavailable
    return out

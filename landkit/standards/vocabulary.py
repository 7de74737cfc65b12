"""The names landkit gives to classes and statuses, in one place.

Analyses store the keys (``illegal``, ``over_cap``, ``unsupplied`` ...); ledgers, maps, the report,
the console and the database show the Chinese names from here, so a status is named the same
everywhere. The judgement table is docs/rules.md §1.3 (a local setting adds values:
``[satellite.judgement]``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

# --- 卫片 judgement classes (docs/rules.md §1.3) ---------------------------------------
LEGAL, ILLEGAL, OTHER, PSEUDO = "legal", "illegal", "other", "pseudo"
#: a patch not judged yet (判定类型 blank, 未判定, 待判定): not in the ratio, counted in 月清 as not judged
UNJUDGED = "unjudged"
CLASS_NAMES = {LEGAL: "合法", ILLEGAL: "违法", OTHER: "其他", PSEUDO: "伪变化", UNJUDGED: "未判定"}

#: default judgement → class (config [satellite.judgement] adds or overrides values)
DEFAULT_JUDGEMENT = {
    "合法": LEGAL, "合法用地": LEGAL, "用地审批(批文)": LEGAL, "用地审批": LEGAL, "批文": LEGAL,
    "土地供应": LEGAL, "登记发证": LEGAL, "不动产登记": LEGAL, "临时用地": LEGAL,
    "违法": ILLEGAL, "非农违法": ILLEGAL, "违法用地": ILLEGAL,
    "设施农用地": OTHER, "农村道路": OTHER, "其他": OTHER,
    "伪变化": PSEUDO, "实地伪变化": PSEUDO,
    "": UNJUDGED, "未判定": UNJUDGED, "待判定": UNJUDGED, "尚未判定": UNJUDGED,
}

#: status of the 卫片 ratio against the local cap and the 15号令 line (docs/rules.md §1.1–1.2)
RATIO_STATUS = {"pass": "达标", "over_cap": "超过控制目标", "accountability": "达到问责线", "no_data": "无数据"}

# --- 存量建设用地 statuses (docs/rules.md §2) --------------------------------------------
APPROVAL_STATUS = {"unsupplied": "批而未供", "supplied": "已全部供地", "withdrawn": "已撤回",
                   "after_as_of": "基准日后批准", "no_date": "批准日期缺失或无法识别", "empty": "与先批批次完全重叠"}
IDLE_STATUS = {"idle_not_started": "闲置：未动工满一年", "idle_stalled": "闲置：中止开发满一年",
               "not_idle": "未闲置", "not_supplied": "基准日后供地", "disposed": "已处置",
               "completed": "已竣工", "cannot_judge": "无法判定"}
IDLE_TYPES = {"idle_not_started": "未动工开发满一年", "idle_stalled": "已动工但中止开发满一年"}

UNKNOWN_TOWN = "未知"

#: the four 存量建设用地 categories of the 大盘点 (docs/rules.md §2, §3)
CATEGORY_NAMES = {"approved_unsupplied": "批而未供", "idle": "闲置土地", "inefficient": "低效用地",
                  "collective_commercial": "集体经营性建设用地"}


def normalise_judgement(v) -> str:
    """A 判定类型 value as compared with the table: stripped, full-width brackets and spaces removed."""
    s = "" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
    return s.replace("（", "(").replace("）", ")").replace(" ", "")


def classify_judgements(values: pd.Series, extra: dict | None = None) -> pd.Series:
    """Map 判定类型/核实认定意见 values to legal/illegal/other/pseudo/unjudged.

    Raises InputError listing the values it does not know (add them in landkit.toml
    ``[satellite.judgement]``, e.g. ``"合法(补办)" = "legal"``).
    """
    table = {normalise_judgement(k): v for k, v in DEFAULT_JUDGEMENT.items()}
    for k, v in (extra or {}).items():
        if v not in CLASS_NAMES:
            raise InputError(f"[satellite.judgement] 中 {k!r} 的类别 {v!r} 无效，应为 legal/illegal/other/pseudo/unjudged")
        table[normalise_judgement(k)] = v

    def one(v):
        s = normalise_judgement(v)
        if s in table:
            return table[s]
        if s.startswith("合法"):
            return LEGAL
        if s.startswith("违法") or s.startswith("非农违法"):
            return ILLEGAL
        return None
    raw = values.tolist()
    cls = pd.Series([one(v) for v in raw], index=values.index, dtype=object)
    unknown = sorted({normalise_judgement(v) or "（空）" for v, c in zip(raw, cls) if c is None})
    if unknown:
        rows = cls.index[cls.isna()]
        err = InputError(f"卫片图斑的判定类型有无法识别的值：{'、'.join(unknown[:30])}。"
                         "请在 landkit.toml 的 [satellite.judgement] 中指定其类别（legal/illegal/other/pseudo/unjudged）",
                         field="判定类型", feature="、".join(map(str, rows[:5])) + (" 等" if len(rows) > 5 else ""))
        err.rows = rows
        raise err
    return cls


def status_of(ratio, cap: float, line: float) -> str:
    """The 卫片 ratio's status key (:data:`RATIO_STATUS`): ``accountability`` at or above the
    15号令 line, ``over_cap`` above the local cap, ``pass`` at or below it, ``no_data`` without a ratio."""
    if ratio is None:
        return "no_data"
    if ratio >= line:
        return "accountability"
    if ratio > cap:
        return "over_cap"
    return "pass"

"""Are a layer's key fields usable? (docs/rules.md R6b)

Real exports arrive with key fields that hold something else: names where codes belong
(DLBM = "水田"), village codes of 12 digits where 19-digit 坐落单位代码 belong, dates typed as
free text. Two things happen here, on a layer that has just been read and its fields mapped:

* :func:`dlbm_from_dlmc` / :func:`map_dlbm_names`: a DLTB without DLBM codes but with DLMC
  names gets its codes from the 三调 code table, and names found in the DLBM field itself are
  replaced by their codes (each with a QA warning saying how many);
* :func:`check_key_fields`: when the share of features whose key field fails its code table or
  format is above ``[qa] max_invalid_share`` (default 0.5), the layer is unusable:
  :class:`~landkit.errors.InputError` naming the file, layer, field, the share invalid, examples
  and a hint. Below the threshold the invalid values are QA warnings (listed by ``landkit.qa``).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..dates import parse_dates
from ..errors import InputError
from ..findings import Finding
from ..standards.codes import DLBM_TABLE, dlbm_from_name, is_township_code
from .fields import ROLE_NAMES, SCHEMAS, is_blank as _blank

_CJK = re.compile(r"[\u4e00-\u9fff]")



def dlbm_from_dlmc(df: pd.DataFrame, role: str, file) -> list[Finding]:
    """A layer without DLBM but with DLMC names gets DLBM from the 三调 name table, in place."""
    if role not in ("dltb", "dltb_previous", "yjjbnt") or "DLBM" in df.columns or "DLMC" not in df.columns:
        return []
    codes = [dlbm_from_name(v) for v in df["DLMC"].tolist()]
    df["DLBM"] = pd.Series(codes, index=df.index, dtype=object)
    n_bad = sum(c is None for c in codes)
    return [Finding("warning", "dlbm_from_dlmc",
                    "图层没有地类编码字段 DLBM，已按三调工作分类由地类名称 DLMC 得到编码"
                    + (f"（{n_bad} 个名称无法对应编码）" if n_bad else ""),
                    layer=role, file=str(file) if file else None, field="DLBM", count=len(df))]


def map_dlbm_names(df: pd.DataFrame, role: str, file) -> list[Finding]:
    """Land-use names typed in the DLBM field replaced by their codes, in place."""
    if role not in ("dltb", "dltb_previous", "yjjbnt") or "DLBM" not in df.columns:
        return []
    col = df["DLBM"]
    odd = (~col.astype("string").isin(list(DLBM_TABLE)) & col.notna()).to_numpy(dtype=bool)
    if not odd.any():
        return []
    mapping = {v: dlbm_from_name(v) for v in set(col[odd].tolist())}   # only the values that are not codes
    new = col[odd].map(mapping)
    hit = new.notna()
    if not hit.any():
        return []
    fixed = col.astype(object).copy()
    fixed.loc[new.index[hit]] = new[hit].to_numpy(dtype=object)
    df["DLBM"] = fixed
    n = int(hit.sum())
    example = str(col[odd][hit.to_numpy()].iloc[0])
    return [Finding("warning", "dlbm_names_mapped",
                    f"地类编码字段 DLBM 中有 {n} 个值是地类名称而不是编码（如“{example}”），已按三调工作分类换成编码",
                    layer=role, file=str(file) if file else None, field="DLBM", count=n)]


def _examples(values, mask, k=5) -> str:
    seen = []
    for v, m in zip(values, mask):
        if m:
            t = "（空）" if _blank(v) else str(v)
            if t not in seen:
                seen.append(t)
            if len(seen) >= k:
                break
    return "、".join(seen)


def _code_hint(values, mask, field: str, role: str, want: str) -> str:
    bad = [str(v) for v, m in zip(values, mask) if m and not _blank(v)]
    if not bad:
        return f"该字段几乎全为空。如{want}在别的字段中，请在 landkit.toml 的 [fields.{role}] 中写明 {field} = \"字段名\""
    if sum(bool(_CJK.search(b)) for b in bad) > len(bad) / 2:
        return (f"该字段中是名称而不是代码。请在 landkit.toml 的 [fields.{role}] 中写明 {field} 对应的代码字段"
                f"（{field} = \"字段名\"）")
    lengths = pd.Series([len(b) for b in bad]).mode()
    return (f"无效值多为 {int(lengths.iloc[0])} 位，{want}。如代码在别的字段中，请在 landkit.toml 的 "
            f"[fields.{role}] 中写明 {field} = \"字段名\"")


def _key_checks(role: str, df: pd.DataFrame):
    """(field, values, invalid mask, hint maker, mask of the features judged) for the key fields present."""
    checks = []
    everyone = np.ones(len(df), dtype=bool)
    if role in ("dltb", "dltb_previous") and "DLBM" in df.columns:
        v = df["DLBM"].tolist()
        bad = ~df["DLBM"].astype("string").isin(list(DLBM_TABLE)).fillna(False).to_numpy(dtype=bool)
        checks.append(("DLBM", v, bad, lambda v=v, bad=bad: _code_hint(v, bad, "DLBM", role, "三调地类编码应为 0101、0701 这样的编码"),
                       everyone))
    if role in ("dltb", "dltb_previous") and "ZLDWDM" in df.columns:
        v = df["ZLDWDM"].tolist()
        col = df["ZLDWDM"].astype("string")
        good_town = {t: is_township_code(t) for t in set(col.str[:9].dropna().tolist())}
        bad = ~(col.str.fullmatch(r"\d{19}").fillna(False) & col.str[:9].map(good_town).fillna(False)) \
            .to_numpy(dtype=bool)
        checks.append(("ZLDWDM", v, bad, lambda v=v, bad=bad: _code_hint(v, bad, "ZLDWDM", role, "坐落单位代码应为 19 位数字"),
                       everyone))
    if role == "townships" and "XZQDM" in df.columns:
        v = df["XZQDM"].tolist()
        bad = np.array([not (isinstance(x, str) and is_township_code(x[:9])) for x in v], dtype=bool)
        checks.append(("XZQDM", v, bad, lambda v=v, bad=bad: _code_hint(v, bad, "XZQDM", role, "乡镇代码应为 9 位（或更长的村级代码）"),
                       everyone))
    for spec in SCHEMAS.get(role, []):
        if spec.kind == "date" and spec.name in df.columns:
            v = df[spec.name].tolist()
            _, unparsed = parse_dates(v)
            filled = np.array([not _blank(x) for x in v], dtype=bool)
            # a date column is judged on its filled values: blanks are missing dates, not bad ones
            if filled.sum():
                checks.append((spec.name, v, unparsed, lambda v=v, m=unparsed, n=spec.name: (
                    "日期应为 2023-03-01、2023/3/1、20230301、2023年3月1日 或 Excel 日期。"
                    f"如日期在别的字段中，请在 landkit.toml 的 [fields.{role}] 中写明 {n} = \"字段名\""), filled))
    return checks


def check_key_fields(df: pd.DataFrame, role: str, max_share: float, *, path, layer=None) -> None:
    """InputError when a key field's invalid share is above ``max_share`` (see the module)."""
    if not len(df):
        return
    for name, values, bad, hint, base in _key_checks(role, df):
        n = int(base.sum())
        if not n:
            continue
        share = float(bad.sum()) / n
        if share > max_share:
            raise InputError(
                f"{ROLE_NAMES.get(role, role)}的字段 {name} 有 {share:.0%}（{int(bad.sum()):,}/{n:,}）的值无效"
                f"（如 {_examples(values, bad)}），超过允许的 {max_share:.0%}，该图层不能使用。{hint()}",
                file=path, layer=layer, field=name)

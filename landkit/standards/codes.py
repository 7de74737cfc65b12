"""三调工作分类 (TD/T 1055-2019) land-use codes, the 三大类, and ownership/town codes.

Sources and conflicts are in shared docs/rules.md §4. Two classifications are unsettled in
public material and are therefore switches (see :class:`landkit.settings.Settings`):
``0404`` 其他草地 (default 未利用地) and ``1107A`` 干渠 (default 农用地).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

AGRI = "农用地"
CONSTRUCTION = "建设用地"
UNUSED = "未利用地"

#: code -> (name, 一级类 name, 三大类)
DLBM_TABLE: dict[str, tuple[str, str, str]] = {}


def _add(codes_names: str, first: str, big: str) -> None:
    for item in codes_names.split(","):
        code, name = item.strip().split(" ", 1)
        DLBM_TABLE[code] = (name.strip(), first, big)


_add("0101 水田, 0102 水浇地, 0103 旱地", "耕地", AGRI)
_add("0201 果园, 0202 茶园, 0203 橡胶园, 0204 其他园地, 0201K 可调整果园, 0202K 可调整茶园, "
     "0203K 可调整橡胶园, 0204K 可调整其他园地", "种植园用地", AGRI)
_add("0301 乔木林地, 0302 竹林地, 0305 灌木林地, 0307 其他林地, 0301K 可调整乔木林地, "
     "0302K 可调整竹林地, 0307K 可调整其他林地", "林地", AGRI)
_add("0303 红树林地, 0304 森林沼泽, 0306 灌丛沼泽, 0402 沼泽草地", "湿地", AGRI)
_add("0401 天然牧草地, 0403 人工牧草地, 0403K 可调整人工牧草地", "草地", AGRI)
_add("0404 其他草地", "草地", UNUSED)
_add("05H1 商业服务业设施用地, 0508 物流仓储用地", "商业服务业用地", CONSTRUCTION)
_add("0601 工业用地, 0602 采矿用地", "工矿用地", CONSTRUCTION)
_add("0603 盐田", "湿地", CONSTRUCTION)
_add("0701 城镇住宅用地, 0702 农村宅基地", "住宅用地", CONSTRUCTION)
_add("08H1 机关团体新闻出版用地, 08H2 科教文卫用地, 08H2A 高教用地, 0809 公用设施用地, "
     "0810 公园与绿地, 0810A 广场用地", "公共管理与公共服务用地", CONSTRUCTION)
_add("09 特殊用地", "特殊用地", CONSTRUCTION)
_add("1001 铁路用地, 1002 轨道交通用地, 1003 公路用地, 1004 城镇村道路用地, 1005 交通服务场站用地, "
     "1007 机场用地, 1008 港口码头用地, 1009 管道运输用地", "交通运输用地", CONSTRUCTION)
_add("1006 农村道路", "交通运输用地", AGRI)
_add("1101 河流水面, 1102 湖泊水面, 1105 沿海滩涂, 1106 内陆滩涂, 1108 沼泽地, 1110 冰川及永久积雪",
     "水域及水利设施用地", UNUSED)
_add("1103 水库水面, 1104 坑塘水面, 1104A 养殖坑塘, 1104K 可调整养殖坑塘, 1107 沟渠, 1107A 干渠",
     "水域及水利设施用地", AGRI)
_add("1109 水工建筑用地", "水域及水利设施用地", CONSTRUCTION)
_add("1201 空闲地", "其他土地", CONSTRUCTION)
_add("1202 设施农用地, 1203 田坎", "其他土地", AGRI)
_add("1204 盐碱地, 1205 沙地, 1206 裸土地, 1207 裸岩石砾地", "其他土地", UNUSED)

#: 耕地 (cultivated land)
CULTIVATED = frozenset({"0101", "0102", "0103"})
#: Wetland 一级类 (00 湿地) members
WETLAND = frozenset({"0303", "0304", "0306", "0402", "0603", "1105", "1106", "1108"})


#: 三调工作分类 一级类 (TD/T 1055-2019): code → name; 湿地 (00) takes the codes in :data:`WETLAND`
LEVEL1_NAMES = {"00": "湿地", "01": "耕地", "02": "种植园用地", "03": "林地", "04": "草地",
                "05": "商业服务业用地", "06": "工矿用地", "07": "住宅用地", "08": "公共管理与公共服务用地",
                "09": "特殊用地", "10": "交通运输用地", "11": "水域及水利设施用地", "12": "其他土地"}


def level1_code(dlbm) -> str | None:
    """The 三调 一级类 of a DLBM code: 00 for the 湿地 codes, else its first two digits; None for a
    code outside the table (docs/rules.md §4.5)."""
    if not isinstance(dlbm, str) or dlbm not in DLBM_TABLE:
        return None
    return "00" if dlbm in WETLAND else dlbm[:2]


def big_class(dlbm: str, *, class_0404: str = UNUSED, class_1107a: str = AGRI) -> str | None:
    """三大类 of a DLBM code (农用地/建设用地/未利用地); None for an unknown code.

    ``class_0404`` and ``class_1107a`` are the configurable placements (docs/rules.md §4.5).
    """
    if dlbm == "0404":
        return class_0404
    if dlbm == "1107A":
        return class_1107a
    row = DLBM_TABLE.get(dlbm)
    return row[2] if row else None


def class_sets(*, class_0404: str = UNUSED, class_1107a: str = AGRI) -> dict[str, frozenset]:
    """The three 三大类 code sets under the given switches."""
    out: dict[str, set] = {AGRI: set(), CONSTRUCTION: set(), UNUSED: set()}
    for code in DLBM_TABLE:
        out[big_class(code, class_0404=class_0404, class_1107a=class_1107a)].add(code)
    return {k: frozenset(v) for k, v in out.items()}


def construction_codes(**switches) -> frozenset:
    """建设用地 DLBM codes (R5), honouring the 0404/1107A switches."""
    return class_sets(**switches)[CONSTRUCTION]


def dlbm_name(dlbm: str) -> str | None:
    row = DLBM_TABLE.get(dlbm)
    return row[0] if row else None


def _name_key(name) -> str:
    import unicodedata
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name)))


_NAME_TO_CODE = {_name_key(row[0]): code for code, row in DLBM_TABLE.items()}


def dlbm_from_name(value) -> str | None:
    """The 三调 DLBM code of a land-use name as bureaus write it ("水田", "城镇住宅用地",
    full-width or spaced forms, or "0101水田" / "0101 水田" where the code is valid); None
    when the value names no class in the table."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    key = _name_key(value)
    if key in _NAME_TO_CODE:
        return _NAME_TO_CODE[key]
    m = re.match(r"^([0-9]{2}[0-9A-Z]{0,3})(.+)$", key)
    if m and m.group(1) in DLBM_TABLE and _NAME_TO_CODE.get(m.group(2)) == m.group(1):
        return m.group(1)
    return None


def parent_code(dlbm: str) -> str:
    """Strip a trailing K/A (可调整 / sub-class) for parent roll-ups: 0201K → 0201, 1104A → 1104."""
    return dlbm[:-1] if len(dlbm) > 2 and dlbm[-1] in "KA" and dlbm[:-1] in DLBM_TABLE else dlbm


# ---- 权属性质 QSXZ (docs/rules.md §4.3) ----
QSXZ_NAMES = {
    "10": "国有土地所有权", "20": "国有土地使用权", "21": "国有建设用地使用权", "22": "国有农用地使用权",
    "30": "集体土地所有权", "31": "村民小组", "32": "村级集体经济组织", "33": "乡级集体经济组织",
    "34": "其他农民集体经济组织", "40": "集体土地使用权", "41": "乡(镇)集体建设用地使用权",
    "42": "村集体建设用地使用权", "43": "宅基地使用权", "44": "集体农用地使用权",
}


def ownership(qsxz: str) -> str | None:
    """国有 when QSXZ starts with 1/2, 集体 when with 3/4, else None (R6)."""
    if not qsxz:
        return None
    return {"1": "国有", "2": "国有", "3": "集体", "4": "集体"}.get(str(qsxz)[0])


# ---- 城镇村属性码 CZCSXM (§4.7) ----
CZCSXM_NAMES = {
    "201": "城市", "202": "建制镇", "203": "村庄", "204": "盐田及采矿用地", "205": "特殊用地",
    "201A": "城市独立工业用地", "202A": "建制镇独立工业用地", "203A": "村庄独立工业用地",
}


# ---- 坐落/权属单位代码 ZLDWDM / QSDWDM (§4.4) ----
_ZLDWDM_RE = re.compile(r"^\d{19}$")


@dataclass(frozen=True)
class UnitCode:
    """A parsed 19-digit 坐落/权属单位代码."""

    code: str
    county: str    # [:6]
    township: str  # [:9]
    village: str   # [:12]
    tail: str      # [12:], commonly 0000000 (meaning UNCONFIRMED)


def is_valid_unit_code(code) -> bool:
    """A 19-digit 坐落/权属单位代码 whose first 9 digits are a valid township code."""
    return isinstance(code, str) and bool(_ZLDWDM_RE.match(code)) and is_township_code(code[:9])


# GB/T 2260 province-level codes (the first two digits of every 行政区划代码)
PROVINCE_CODES = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
                            "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
                            "61", "62", "63", "64", "65", "71", "81", "82"})


def is_county_code(code) -> bool:
    """A county-level 行政区划代码 in GB/T 2260 form: 6 digits, a province code first, and not a
    province or prefecture code itself (the last two digits are not 00). 420704 yes; 420700,
    000000, 990101 no."""
    return (isinstance(code, str) and len(code) == 6 and code.isdigit() and code[:2] in PROVINCE_CODES
            and code[4:] != "00")


def is_township_code(code) -> bool:
    """A 9-digit 乡级 code: a valid county code and a township part 001–599 (001–099 街道,
    100–199 镇, 200–399 乡, 400–599 政企合一单位; docs/rules.md §4.4)."""
    return (isinstance(code, str) and len(code) == 9 and code.isdigit() and is_county_code(code[:6])
            and 1 <= int(code[6:]) <= 599)


def parse_unit_code(code: str) -> UnitCode:
    """Split a 19-digit ZLDWDM/QSDWDM into county/township/village prefixes.

    Raises ValueError for anything but 19 digits.
    """
    if not is_valid_unit_code(code):
        raise ValueError(f"单位代码应为19位数字：{code!r}")
    return UnitCode(code, code[:6], code[:9], code[:12], code[12:])


def township_kind(township_code: str) -> str | None:
    """街道/镇/乡/政企合一 from the 3-digit township segment of a 9-digit code."""
    if len(township_code) < 9 or not township_code[6:9].isdigit():
        return None
    n = int(township_code[6:9])
    if 1 <= n <= 99:
        return "街道"
    if 100 <= n <= 199:
        return "镇"
    if 200 <= n <= 399:
        return "乡"
    if 400 <= n <= 599:
        return "政企合一单位"
    return None

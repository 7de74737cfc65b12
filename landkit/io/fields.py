"""Field schemas per layer role: standard names, aliases, types, required fields.

A source field matches a standard field when its name equals the standard name or an
alias (ASCII letters case-insensitive), or equals such a name *as a shapefile cuts it*:
.dbf field names hold at most 10 bytes, i.e. 5 Chinese characters in GBK or 3 in UTF-8,
so 约定动工日期 arrives as 约定动工日 and 土地使用权人 as 土地使用权.

Roles of 三调-family layers use the national pinyin abbreviations (DLBM, ZLDWDM, ...);
roles without a national standard (卫片, 批供, 宗地) use Chinese standard names, as the
bureaus' own exports do.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FieldSpec:
    name: str                 # standard name
    aliases: tuple = ()
    kind: str = "str"         # str | code | float | date | int
    required: bool = False
    label: str = ""           # Chinese label for messages and outputs


def F(name, *aliases, kind="str", required=False, label=""):
    return FieldSpec(name, tuple(aliases), kind, required, label or name)


SCHEMAS: dict[str, list[FieldSpec]] = {
    "dltb": [
        F("BSM", "标识码", label="标识码"),
        F("YSDM", "要素代码", label="要素代码"),
        F("TBBH", "图斑编号", label="图斑编号"),
        F("DLBM", "地类编码", "DLDM", kind="code", required=True, label="地类编码"),
        F("DLMC", "地类名称", label="地类名称"),
        F("QSXZ", "权属性质", kind="code", label="权属性质"),
        F("QSDWDM", "权属单位代码", kind="code", label="权属单位代码"),
        F("QSDWMC", "权属单位名称", label="权属单位名称"),
        F("ZLDWDM", "坐落单位代码", "座落单位代码", kind="code", required=True, label="坐落单位代码"),
        F("ZLDWMC", "坐落单位名称", "座落单位名称", label="坐落单位名称"),
        F("TBMJ", "图斑面积", kind="float", label="图斑面积"),
        F("KCDLBM", "扣除地类编码", kind="code", label="扣除地类编码"),
        F("KCXS", "扣除地类系数", "TKXS", "田坎系数", kind="float", label="扣除地类系数"),
        F("KCMJ", "扣除地类面积", "TKMJ", "田坎面积", kind="float", label="扣除地类面积"),
        F("TBDLMJ", "图斑地类面积", kind="float", label="图斑地类面积"),
        F("GDLX", "耕地类型", label="耕地类型"),
        F("GDPDJB", "耕地坡度级别", "PDJB", kind="code", label="耕地坡度级别"),
        F("CZCSXM", "城镇村属性码", kind="code", label="城镇村属性码"),
        F("SJNF", "数据年份", label="数据年份"),
        F("ZZSXDM", "种植属性代码", "GDZZSXDM", "耕地种植属性代码", kind="code", label="种植属性代码"),
        F("ZZSXMC", "种植属性名称", "GDZZSXMC", label="种植属性名称"),
    ],
    "yjjbnt": [
        F("BSM", "标识码", label="标识码"),
        F("YJJBNTTBBH", "JBNTTBBH", "永久基本农田图斑编号", "基本农田图斑编号", label="永久基本农田图斑编号"),
        F("DLBM", "地类编码", kind="code", label="地类编码"),
        F("DLMC", "地类名称", label="地类名称"),
        F("KCXS", "扣除地类系数", "TKXS", kind="float", label="扣除地类系数"),
        F("KCMJ", "扣除地类面积", "TKMJ", kind="float", label="扣除地类面积"),
        F("YJJBNTTBMJ", "永久基本农田图斑面积", "TBMJ", kind="float", label="永久基本农田图斑面积"),
        F("YJJBNTMJ", "永久基本农田面积", "JBNTMJ", kind="float", label="永久基本农田面积"),
        F("ZLDWDM", "坐落单位代码", "座落单位代码", kind="code", label="坐落单位代码"),
        F("ZLDWMC", "坐落单位名称", "座落单位名称", label="坐落单位名称"),
    ],
    "patches": [
        F("监测编号", "JCBH", "线索编号", "图斑编号", "TBBH"),
        F("判定类型", "核实认定意见", "PDLX", "认定意见", "合法性判定", "判定结果", required=True),
        F("合法子类", "合法类型", "合法依据"),
        F("违法类型", "WFLX"),
        F("整改状态", "整改情况", "ZGZT", "整改进度"),
        F("季度", "JD", "所在季度"),
        F("前时相", "JCSDQ", "QSX"),
        F("后时相", "JCSDH", "HSX"),
        F("监测面积", "JCMJ", kind="float"),
        F("项目名称", "XMMC"),
        F("用地单位", "用地主体", "项目主体"),
        F("实地地类", "SDDL"),
        F("图斑类型", "TBLX", "监测类型", "变化类型"),
        F("下发日期", "下发时间", "XFRQ", kind="date"),
        F("下发批次", "原始下发所在期数", "下发期数", "下发批号", "XFPC"),
        # what the field check recorded, when the layer carries it (else the ledger's 卫片图斑清单 does)
        F("核查状态", "核查情况", "外业核查情况", "外业核查", "是否核查", "HCZT"),
        F("核查日期", "核查时间", "外业核查日期", "HCRQ"),
    ],
    "approvals": [
        F("批次名称", "PCMC", "批次", "批次号"),
        F("批准文号", "PZWH", "省批文号", "批复文号", "市批文号"),
        F("批准日期", "PZRQ", "批复日期", "批准时间", "批复时间", kind="date", required=True),
        F("撤回日期", "CHRQ", "撤销日期", kind="date"),
        F("批准面积", "PZMJ", kind="float"),
        F("未供原因", "WGYY"),
    ],
    "supply": [
        F("电子监管号", "DZJGH", "监管号", "合同编号"),
        F("项目名称", "XMMC"),
        F("土地使用权人", "用地单位", "受让人", "受让方", "TDSYQR", "权利人"),
        F("联系电话", "LXDH", "联系方式"),
        F("联系人", "LXR"),
        F("供地方式", "GDFS"),
        F("供地日期", "GDRQ", "签订日期", "合同签订日期", "划拨日期", kind="date", required=True),
        F("供地面积", "GDMJ", "出让面积", kind="float"),
        F("约定动工日期", "约定开工日期", "约定开工时间", "约定动工时间", "YDDGRQ", kind="date"),
        F("实际动工日期", "实际开工日期", "实际开工时间", "实际动工时间", "SJDGRQ", kind="date"),
        F("约定竣工日期", "约定竣工时间", kind="date"),
        F("实际竣工日期", "实际竣工时间", kind="date"),
        F("应开发面积", "应动工面积", "应动工开发面积", kind="float"),
        F("已开发面积", "已动工面积", "已动工开发面积", kind="float"),
        F("总投资额", "ZTZE", kind="float"),
        F("已投资额", "YTZE", kind="float"),
        F("停工日期", "中止日期", "停建日期", kind="date"),
        F("复工日期", kind="date"),
        F("处置日期", kind="date"),
        F("处置方式"),
        F("闲置原因", "闲置原因类型"),
        F("出让价款", "成交价款", "土地价款", "出让金", kind="float"),
        F("土地用途", "用途", "规划用途"),
    ],
    "parcels": [
        F("宗地代码", "ZDDM", "宗地号", "宗地编号"),
        F("权利人", "QLR", "土地使用权人", "企业名称"),
        F("用途", "YT", "土地用途"),
        F("行业", "HY", "所属行业", "行业类别"),
        F("容积率", "RJL", kind="float"),
        F("亩均税收", "MJSS", kind="float"),
        F("是否规上", "规上企业", "是否规上企业"),
        F("投产年份", "投产时间", "投产日期"),
        F("联系电话", "LXDH"),
        # 开发区 节约集约 indicators (docs/rules.md §3.6): totals per parcel
        F("建筑面积", "总建筑面积", "JZMJ", "ZJZMJ", kind="float", label="建筑面积（平方米）"),
        F("固定资产投资", "固定资产投资额", "累计固定资产投资", "固定资产总投资", "GDZCTZ", kind="float",
          label="固定资产投资（万元）"),
        F("税收总额", "税收", "实缴税收", "纳税总额", "SSZE", kind="float", label="税收总额（万元）"),
    ],
    "townships": [
        F("XZQDM", "行政区代码", "乡镇代码", kind="code", required=True, label="行政区代码"),
        F("XZQMC", "行政区名称", "乡镇名称", label="行政区名称"),
    ],
    "stbhhx": [F("BSM", "标识码"), F("HXMC", "红线名称", "MC")],
    "czkfbj": [F("BSM", "标识码"), F("GHFQDM", "规划分区代码"), F("GHFQMC", "规划分区名称")],
    "zones": [
        F("开发区代码", "KFQDM", "开发区编码", "园区代码", "所属开发区代码", label="开发区代码"),
        F("开发区名称", "KFQMC", "园区名称", "所属开发区名称", "开发区", "名称", "MC", label="开发区名称"),
        F("开发区级别", "KFQJB", "级别", "园区级别", label="开发区级别"),
        F("区块名称", "QKMC", "区块", "区块编号", label="区块名称"),
    ],
}

ROLE_NAMES = {
    "dltb": "地类图斑", "yjjbnt": "永久基本农田", "patches": "卫片图斑", "approvals": "批准用地",
    "supply": "供地", "parcels": "宗地", "townships": "乡镇界线", "stbhhx": "生态保护红线",
    "czkfbj": "城镇开发边界", "zones": "开发区",
}
# the previous vintage of the 地类图斑 (two 年度变更调查 results compared: analyses/change.py)
SCHEMAS["dltb_previous"] = SCHEMAS["dltb"]
ROLE_NAMES["dltb_previous"] = "上一期地类图斑"
#: roles holding a 地类图斑 layer (this year's and the previous vintage): the same fields and checks
DLTB_ROLES = ("dltb", "dltb_previous")

#: id field per role used to name features in QA and outputs
ID_FIELDS = {"dltb": "BSM", "yjjbnt": "YJJBNTTBBH", "patches": "监测编号", "approvals": "批准文号",
             "supply": "电子监管号", "parcels": "宗地代码", "townships": "XZQDM", "stbhhx": "BSM",
             "czkfbj": "BSM", "zones": "开发区代码",
             "dltb_previous": "BSM"}


def shapefile_cuts(name: str) -> set[str]:
    """The forms a field name takes after a shapefile cuts it to 10 bytes (GBK or UTF-8)."""
    out = set()
    for enc in ("gbk", "utf-8"):
        try:
            b = name.encode(enc)
        except UnicodeEncodeError:
            continue
        if len(b) > 10:
            cut = b[:10].decode(enc, errors="ignore")
            if cut:
                out.add(cut)
    return out


def _norm(s: str) -> str:
    return s.strip().upper()


def match_fields(columns, role: str, user_map: dict | None = None) -> tuple[dict, list[str]]:
    """Map source columns to standard names for ``role``.

    Returns ({source column: standard name}, notes). ``user_map`` is [fields.<role>] from
    landkit.toml: {standard: source}; it wins over aliases.
    """
    schema = SCHEMAS.get(role, [])
    cols = [c for c in columns if c != "geometry"]
    by_norm = {}
    for c in cols:
        by_norm.setdefault(_norm(c), c)
    mapping: dict[str, str] = {}
    notes: list[str] = []
    taken = set()
    for std, src in (user_map or {}).items():
        if src not in cols:
            raise KeyError(src)
        mapping[src] = std
        taken.add(std)
    for spec in schema:
        if spec.name in taken:
            continue
        names = (spec.name,) + spec.aliases
        found = None
        for n in names:                      # exact (case-insensitive) first
            c = by_norm.get(_norm(n))
            if c is not None and c not in mapping:
                found = c
                break
        if found is None:                    # then shapefile-cut forms
            for n in names:
                for cut in shapefile_cuts(n):
                    c = by_norm.get(_norm(cut))
                    if c is not None and c not in mapping:
                        found = c
                        break
                if found:
                    break
        if found is not None:
            mapping[found] = spec.name
            if _norm(found) != _norm(spec.name):
                notes.append(f"{found}→{spec.name}")
    return mapping, notes


def missing_required(mapped_std: set, role: str) -> list[FieldSpec]:
    return [s for s in SCHEMAS.get(role, []) if s.required and s.name not in mapped_std]


def feature_ids(gdf, mask, role) -> list:
    """The ids of the features where ``mask`` holds, as QA findings list them: the layer's id field
    (:data:`ID_FIELDS`, e.g. 监测编号) or ``FID n`` where it is empty."""
    idf = ID_FIELDS.get(role)
    sub = gdf.loc[np.asarray(mask)]
    if idf and idf in sub.columns:
        lab = sub[idf].astype("string")
        fid = "FID " + sub["lk_fid"].astype(str)
        return lab.where(lab.notna() & (lab.str.strip() != ""), fid).tolist()
    return ("FID " + sub["lk_fid"].astype(str)).tolist()


def is_blank(v) -> bool:
    """None, NA, NaN or text of only spaces: a value nobody filled in."""
    return v is None or v is pd.NA or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())


def key_text(v) -> str | None:
    """A record key as text, the same from a ledger cell and from a DataFrame value: stripped,
    an integral float without its '.0', None for blank or NaN."""
    if is_blank(v):
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()

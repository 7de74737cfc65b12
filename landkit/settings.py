"""landkit settings: one typed object, parsed once, before anything is read.

Where settings come from, later ones winning:

1. the defaults below (every rule docs/rules.md marks as a local choice is one of them);
2. ``landkit.toml`` in the county folder (read automatically);
3. a file given with ``--config`` (or ``config=`` in Python: a path, a dict or a :class:`Settings`);
4. command-line options (``--year``, ``--as-of``);
5. environment variables where a key says so (``TIANDITU_TOKEN`` for ``[report] tianditu_token``).

Every key, its type, unit and default is in the table in ``docs/settings.md``, which is generated
from this module (``python tools/make_settings_doc.py``; a test keeps the two the same). An unknown
or misspelt section or key, or a value of the wrong type, is a :class:`~landkit.errors.ConfigError`
naming the file, the section and the key.

Example ``landkit.toml``::

    [county]
    name = "鄂城区"
    adcode = "420704"
    year = 2024

    [layers]                 # role = path (relative to the folder), or {path, layer}
    dltb = "DLTB.shp"
    yjjbnt = { path = "永农.gdb", layer = "YJJBNTBHTB" }

    [fields.supply]          # standard name = the name in your file
    约定动工日期 = "合同开工"

    [satellite]
    cap = 0.05
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import os
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import ConfigError

#: layer roles a county folder can hold (``[layers]``, ``[fields.<role>]``)
ROLES = ("dltb", "yjjbnt", "patches", "approvals", "supply", "parcels", "townships",
         "stbhhx", "czkfbj", "zones", "dltb_previous")

JUDGEMENT_CLASSES = ("legal", "illegal", "other", "pseudo", "unjudged")
LAND_CLASSES = ("农用地", "建设用地", "未利用地")


def setting(default, doc: str, *, unit: str = "", kind: str | None = None, choices=None, env: str | None = None,
            minimum=None, maximum=None):
    """A dataclass field carrying what docs/settings.md says about the key.

    ``kind`` is how the TOML value is read: int, float, fraction (a number or "1/3"), str, bool,
    date, year, adcode, timezone, list[str], list[int], table[str], or None for a free-form value.
    """
    meta = {"doc": doc, "unit": unit, "kind": kind, "choices": choices, "env": env,
            "minimum": minimum, "maximum": maximum}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: copy.deepcopy(d), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------


@dataclass
class CountySettings:
    """``[county]``: who the county is and the period analysed."""
    name: str | None = setting(None, "县（区）名称；默认取文件夹名中代码之后的部分", kind="str")
    adcode: str | None = setting(None, "6 位县级行政区划代码（GB/T 2260）；默认取文件夹名开头的 6 位数字，"
                                 "或 DLTB 坐落单位代码前 6 位（均须为有效代码）", kind="adcode")
    year: int | None = setting(None, "分析年度；决定读取哪一期 DLTB（如 DLTB_2023 与 DLTB_2024 并存时）。命令行 --year 覆盖",
                               kind="year")
    as_of: dt.date | None = setting(None, "统计截止日期 YYYY-MM-DD；默认为年度的 12 月 31 日。命令行 --as-of 覆盖",
                                    kind="date")
    crs: str | None = setting(None, "强制使用的工作坐标系（如 EPSG:4526）；默认取 DLTB 的投影坐标系", kind="str")
    longitude: float | None = setting(None, "无 .prj 且为 6 位东坐标时，用于判断投影带的经度提示", unit="度",
                                      kind="float", minimum=73.0, maximum=136.0)


@dataclass
class ClassSettings:
    """``[classes]``: the two 三大类 assignments the 三调 standard leaves to the user (docs/rules.md §4.5)."""
    class_0404: str = setting("未利用地", "0404 其他草地 归入的三大类", kind="str", choices=LAND_CLASSES)
    class_1107a: str = setting("农用地", "1107A 干渠 归入的三大类", kind="str", choices=LAND_CLASSES)

    def as_dict(self) -> dict[str, str]:
        return {"class_0404": self.class_0404, "class_1107a": self.class_1107a}


@dataclass
class AreaSettings:
    """``[area]``: tolerances of the area checks and overlays."""
    sliver_m2: float = setting(1.0, "叠加分析中小于此面积的重叠碎片不计", unit="m²", kind="float", minimum=0.0)
    tbmj_rel_tolerance: float = setting(0.001, "图斑面积 TBMJ 与计算椭球面积的相对差超过此值（且超过绝对容差）时报告",
                                        kind="float", minimum=0.0)
    tbmj_abs_tolerance_m2: float = setting(1.0, "图斑面积 TBMJ 与计算椭球面积之差的绝对容差", unit="m²", kind="float",
                                           minimum=0.0)


@dataclass
class TownshipSettings:
    """``[township]``: how a feature is given its township (one rule for every analysis)."""
    source: str = setting("dltb", "乡镇归属的依据：dltb = 按所压 DLTB 图斑的坐落单位代码（ZLDWDM 前 9 位），"
                          "代码无效处再用乡镇界线图层；layer = 先用乡镇界线图层。两种都按面积最大者归属",
                          kind="str", choices=("dltb", "layer"))


@dataclass
class QASettings:
    """``[qa]``: when a layer's data are too broken to be used (docs/rules.md R6b)."""
    max_invalid_share: float = setting(0.5, "关键字段（地类编码、坐落单位代码、判定类型、日期等）无效值占比超过此值时，"
                                       "该图层判为不可用（错误）；不超过时只列出无效的要素（警告）",
                                       kind="float", minimum=0.0, maximum=1.0)
    repair_area_share: float = setting(0.01, "无效几何修复后面积变化超过此比例（且超过 repair_area_m2）时逐个报告",
                                       kind="float", minimum=0.0)
    repair_area_m2: float = setting(1.0, "无效几何修复后面积变化超过此值（且超过 repair_area_share）时逐个报告",
                                    unit="m²", kind="float", minimum=0.0)


@dataclass
class SatelliteSettings:
    """``[satellite]``: the 卫片 violation ratio (docs/rules.md §1)."""
    cap: float = setting(0.05, "本地违法占用耕地比例控制目标（比例 ≤ cap 为达标）", kind="float", minimum=0.0, maximum=1.0)
    accountability_threshold: float = setting(0.15, "问责线（15号令第三条：比例 ≥ 此值）", kind="float",
                                              minimum=0.0, maximum=1.0)
    farmland_mode: str = setting("net", "耕地面积口径：net = 扣除田坎，gross = 毛面积", kind="str",
                                 choices=("net", "gross"))
    base_dltb: str = setting("current", "量算图斑占用耕地用哪一期地类图斑：current = 本期（DLTB）；previous = 上一期"
                             "（文件夹中有更早年份的地类图斑或 [layers] dltb_previous 时，建设前的地类；没有上一期时仍用本期）"
                             "（UNCONFIRMED，本地规则）", kind="str", choices=("current", "previous"))
    rectified_values: list[str] = setting(["已整改"], "整改状态中表示已整改的取值（扣除已整改后的比例用）",
                                          kind="list[str]")
    judgement: dict[str, str] = setting({}, "补充或覆盖判定类型的归类：取值 = legal/illegal/other/pseudo/unjudged",
                                        kind="table[str]", choices=JUDGEMENT_CLASSES)
    warning_share: float = setting(0.8, "乡镇比例达到控制目标的此倍数（且未超过控制目标）列为预警；超过控制目标列为约谈候选"
                                   "（UNCONFIRMED，本地规则）", kind="float", minimum=0.0, maximum=1.0)
    field_check_scope: str = setting("all", "需要外业核查的图斑：all = 全部图斑；large = 面积不小于 large_patch_mu 的大图斑"
                                     "和矿产卫片图斑（UNCONFIRMED，本地规则）", kind="str", choices=("all", "large"))
    large_patch_mu: float = setting(5.0, "大图斑面积下限（field_check_scope = \"large\" 时用；UNCONFIRMED）", unit="亩",
                                    kind="float", minimum=0.0)
    mineral_values: list[str] = setting(["矿"], "图斑类型或违法类型含其中任一文字的为矿产卫片图斑，始终需要外业核查",
                                        kind="list[str]")
    checked_values: list[str] = setting(["已核查", "已完成", "已外业核查", "已举证", "是"],
                                        "核查状态中表示已完成外业核查的取值；核查状态为空而核查日期已填的也算已核查",
                                        kind="list[str]")
    field_check_target: float = setting(1.0, "外业核查率目标", kind="float", minimum=0.0, maximum=1.0)
    month_clear_months: int = setting(1, "月清期限：某月下发的图斑应在其后第几个月月底前核查并判定（月清：当月完成上月下发图斑）",
                                      unit="月", kind="int", minimum=0)


@dataclass
class InventorySettings:
    """``[inventory]``: the 存量建设用地 大盘点 rules (docs/rules.md §2, §3)."""
    cohorts: list[int] = setting([2018], "批而未供按批准年份分组的分界年份：[2018] → 2018年及以前 / 2019年及以后",
                                 kind="list[int]")
    lapse_years: int = setting(2, "批准满此年数且未供地、剩余部分多为农用地时列为自动失效/撤回候选", unit="年",
                               kind="int", minimum=0)
    lapse_agri_share: float = setting(0.5, "剩余部分中农用地占比超过此值时列为自动失效/撤回候选", kind="fraction",
                                      minimum=0.0, maximum=1.0)
    in_use_share: float = setting(0.5, "剩余部分中现状建设用地占比达到此值时标为未供即用", kind="fraction",
                                  minimum=0.0, maximum=1.0)
    idle_years: int = setting(1, "闲置认定：未动工或中止开发满此年数（53号令第二条：满一年）", unit="年", kind="int",
                              minimum=0)
    recover_years: int = setting(2, "企业原因未动工满此年数时列为无偿收回候选（53号令第十四条）", unit="年", kind="int",
                                 minimum=0)
    develop_share: float = setting("1/3", "已开发面积占应开发面积低于此值视为中止开发", kind="fraction",
                                   minimum=0.0, maximum=1.0)
    invest_share: float = setting(0.25, "已投资额占总投资额低于此值视为中止开发", kind="fraction", minimum=0.0,
                                  maximum=1.0)
    idle_fee_rate: float = setting(0.2, "土地闲置费占出让价款的比例", kind="fraction", minimum=0.0, maximum=1.0)
    government_cause_keywords: list[str] = setting(
        ["政府", "规划", "交地", "政策", "信访", "军事", "文物", "不可抗力", "拆迁", "征地"],
        "闲置原因中判为政府原因的关键词", kind="list[str]")
    enterprise_cause_keywords: list[str] = setting(
        ["企业", "自身", "资金", "用地单位", "使用权人", "受让人", "经营"], "闲置原因中判为企业原因的关键词",
        kind="list[str]")
    far_min: float = setting(1.0, "城镇低效用地：容积率低于此值", kind="fraction", minimum=0.0)
    tax_share: float = setting(0.4, "城镇低效用地：亩均税收低于行业平均的此比例", kind="fraction", minimum=0.0)
    tax_average: str = setting("mean", "行业亩均税收平均的算法：mean = 各宗地平均，weighted = 按面积加权", kind="str",
                               choices=("mean", "weighted"))
    exempt_above_scale: bool = setting(True, "规上企业不认定为低效用地", kind="bool")
    above_scale_values: list[str] = setting(["是", "Y", "YES", "TRUE", "1", "规上", "√"], "是否规上字段中表示“是”的取值",
                                            kind="list[str]")
    exempt_new_years: int = setting(3, "投产不满此年数的企业不认定为低效用地（0 = 不豁免）", unit="年", kind="int",
                                    minimum=0)
    collective_dlbm: list[str] = setting(["05H1", "0508", "0601", "0602"], "农村集体经营性建设用地计入的地类编码",
                                         kind="list[str]")


@dataclass
class DisposalSettings:
    """``[disposal]``: the annual 处置率 of 批而未供 and 闲置土地 (docs/rules.md §2.3)."""
    target: float = setting(0.25, "年度处置率目标", kind="float", minimum=0.0, maximum=1.0)
    approved_unsupplied_target: float | None = setting(None, "批而未供处置率目标（默认同 target）", kind="float",
                                                       minimum=0.0, maximum=1.0)
    idle_target: float | None = setting(None, "闲置土地处置率目标（默认同 target）", kind="float", minimum=0.0,
                                        maximum=1.0)
    approved_from: int | None = setting(None, "批而未供基数只计此年份及以后批准的（含）", kind="year")
    approved_to: int | None = setting(None, "批而未供基数只计此年份及以前批准的（含）；默认为基准日前全部", kind="year")
    supplied_from: int | None = setting(None, "闲置土地基数只计此年份及以后供地的（含）", kind="year")
    supplied_to: int | None = setting(None, "闲置土地基数只计此年份及以前供地的（含）", kind="year")

    def __post_init__(self):
        if self.approved_unsupplied_target is None:
            self.approved_unsupplied_target = self.target
        if self.idle_target is None:
            self.idle_target = self.target


#: DLTB codes counted as 已建成城镇建设用地 (docs/rules.md §3.6): 三调 建设用地 less 0603 盐田,
#: 0702 农村宅基地 (not 城镇) and 1201 空闲地 (not built)
BUILT_DLBM = ["05H1", "0508", "0601", "0602", "0701", "08H1", "08H2", "08H2A", "0809", "0810", "0810A", "09",
              "1001", "1002", "1003", "1004", "1005", "1007", "1008", "1009", "1109"]


@dataclass
class ZoneSettings:
    """``[zones]``: the 开发区 土地节约集约利用 indicators (docs/rules.md §3.6; 《开发区土地集约利用评价规程》)."""
    supply_basis: str = setting("approved_or_supplied", "土地供应率的分母“已达到供地条件的土地”取什么："
                                "approved_or_supplied = 开发区内已批准（农转用/征收）或已供应的土地（已供 + 批而未供），"
                                "approved = 开发区内已批准的土地（分子为其中已供应的部分）", kind="str",
                                choices=("approved_or_supplied", "approved"))
    built_dlbm: list[str] = setting(BUILT_DLBM, "计为已建成城镇建设用地的 DLTB 地类编码（默认为三调建设用地，"
                                    "不含 0603 盐田、0702 农村宅基地、1201 空闲地）", kind="list[str]")
    built_scope: str = setting("supplied", "土地建成率的分子“已建成城镇建设用地”统计范围：supplied = 开发区内"
                               "已供应土地上的已建成部分（建成率不超过 100%），zone = 开发区内全部已建成土地",
                               kind="str", choices=("supplied", "zone"))
    industrial_uses: list[str] = setting(["工业", "工矿", "仓储", "物流", "采矿", "0601", "0602", "0508"],
                                         "宗地用途含其中任一项（词或地类编码）时计为工矿仓储用地（工业用地）",
                                         kind="list[str]")
    inefficient_basis: str = setting("built", "城镇低效用地占比的分母：built = 开发区内已建成城镇建设用地（DLTB，"
                                     "不限于供地图层所载的土地），supplied = 开发区内已供应国有建设用地", kind="str",
                                     choices=("built", "supplied"))
    money_unit: str = setting("万元", "宗地固定资产投资、税收总额字段的单位", kind="str", choices=("万元", "元"))


#: 耕地 flowing to these classes is 非粮化 (docs/rules.md §4.9): 园地, 林地, 草地, 坑塘水面
NONFOOD_DLBM = ["0201", "0202", "0203", "0204", "0201K", "0202K", "0203K", "0204K",
                "0301", "0302", "0305", "0307", "0301K", "0302K", "0307K",
                "0401", "0403", "0403K", "0404", "1104", "1104A", "1104K"]
#: 种植属性 ZZSXDM values meaning 耕地 planted with something other than grain (docs/rules.md §4.8)
NONGRAIN_ZZSXDM = ["FLS", "YM", "LM", "LH", "MC", "GSYY", "SSLM"]


@dataclass
class ChangeSettings:
    """``[change]``: two DLTB vintages compared: 地类转移矩阵, 耕地进出平衡, 非农化 / 非粮化 (docs/rules.md §4.9)."""
    previous_year: int | None = setting(None, "上一期地类图斑的年度（文件名中没有年份时用于标注）；默认取文件名中的年份",
                                        kind="year")
    farmland_mode: str | None = setting(None, "耕地面积口径：net = 扣除田坎，gross = 毛面积；默认同 [satellite] farmland_mode"
                                        "（与卫片新增建设用地占用耕地口径一致）", kind="str", choices=("net", "gross"))
    nonfood_dlbm: list[str] = setting(NONFOOD_DLBM, "耕地变为这些地类计为非粮化（园地、林地、草地、坑塘水面）",
                                      kind="list[str]")
    nongrain_zzsxdm: list[str] = setting(NONGRAIN_ZZSXDM, "种植属性代码 ZZSXDM 中表示种植非粮作物的取值"
                                         "（耕地仍为耕地但由粮食改种这些时计为非粮化）", kind="list[str]")


@dataclass
class ReportSettings:
    """``[report]``: the leadership report and its map."""
    basemap: str | list[str] | None = setting(None, "底图：none、tianditu_vec、tianditu_img、osm、gaode_vec、gaode_img、"
                                             "imagery 之一或列表；默认不加在线底图（报告离线打开不发网络请求）")
    dltb_max_features: int = setting(50_000, "地类图斑超过此数量时报告地图不绘制全部地类图斑", kind="int", minimum=0)
    imagery: str | None = setting(None, "报告使用的影像 GeoTIFF（相对县文件夹）；默认取文件夹中的第一个 GeoTIFF",
                                  kind="str")
    tianditu_token: str | None = setting(None, "天地图密钥（使用天地图底图时必需）", kind="str", env="TIANDITU_TOKEN")
    tianditu_url: str | None = setting(None, "天地图瓦片地址模板（内网代理时设置），含 {layer} {tk} {x} {y} {z}", kind="str")
    timezone: str = setting("Asia/Shanghai", "报告、summary.json 和批量汇总中时间所用的时区：IANA 时区名（如 "
                            "Asia/Shanghai）或固定时差（如 +08:00、UTC）；默认北京时间，与运行机器的时区无关",
                            kind="timezone")

    @property
    def tzinfo(self) -> dt.tzinfo:
        """The ``timezone`` setting as a tzinfo (see :func:`timezone_of`)."""
        return timezone_of(self.timezone)

    def now(self) -> dt.datetime:
        """The current time in the ``timezone`` setting (Beijing time by default)."""
        return dt.datetime.now(self.tzinfo)


@dataclass
class AdjustSettings:
    """``[adjust]``: 控制面积平差 of DLTB 图斑面积 (``landkit adjust``; docs/rules.md R1a)."""
    level: str = setting("township", "控制单元的层级：township = 乡镇（坐落单位代码前 9 位，XZQDM 前 9 位），"
                         "village = 村级（前 12 位；乡镇界线图层须为村级调查区，XZQDM 至少 12 位）",
                         kind="str", choices=("township", "village"))
    control_fields: list[str] = setting(["控制面积", "KZMJ"], "控制单元图层中控制面积字段的名称，按顺序取第一个存在的"
                                        "（如三调 XZQ 的 DCMJ 调查面积可加在此）；没有该字段或值为空、非正数时，"
                                        "以单元界线的 CGCS2000 椭球面积为控制面积", kind="list[str]")
    control_unit: str = setting("m2", "控制面积字段的单位：m2 = 平方米，ha = 公顷，mu = 亩", kind="str",
                                choices=("m2", "ha", "mu"))
    tolerance_m2: float = setting(1.0, "控制面积与平差前图斑面积之和的差值超过此值（且超过 tolerance_rel）时，"
                                  "该单元标为超限", unit="m²", kind="float", minimum=0.0)
    tolerance_rel: float = setting(0.00001, "差值占控制面积的比例超过此值（且超过 tolerance_m2）时，该单元标为超限",
                                   kind="float", minimum=0.0, maximum=1.0)
    adjust_over_tolerance: bool = setting(True, "超限单元是否仍然平差；false 时超限单元的图斑保留计算的椭球面积，只报告差值",
                                          kind="bool")
    tbmj_tolerance_m2: float = setting(1.0, "质检：申报的图斑面积 TBMJ 与平差后面积之差超过此值时逐个报告"
                                       "（0.01 = 分位上任何不一致）", unit="m²", kind="float", minimum=0.0)


#: 卫片 patch classes a chip can be cut for (the judgement classes and patches not yet judged)
CHIP_CLASSES = JUDGEMENT_CLASSES


@dataclass
class ImagerySettings:
    """``[imagery]``: the two dates of imagery (前时相 / 后时相) and the before/after chips of 卫片 patches."""
    before: dict | None = setting(None, "前时相影像：路径（相对县文件夹），或 {path = \"…\", date = \"YYYY-MM-DD\"}；默认取文件名含"
                                  "“前时相”的 GeoTIFF，否则文件名带日期的影像中较早的一期", kind="image")
    after: dict | None = setting(None, "后时相影像：路径或 {path, date}；默认取文件名含“后时相”的 GeoTIFF，否则文件名带日期的"
                                 "影像中最晚的一期", kind="image")
    chip_count: int = setting(20, "截取前后时相影像对比图的图斑数上限（按图斑面积从大到小）；0 = 不截取", kind="int",
                              minimum=0, maximum=1000)
    classes: list[str] = setting(["illegal", "unjudged"], "截取影像的图斑类别：illegal 违法、unjudged 未判定、legal 合法、"
                                 "other 其他、pseudo 伪变化", kind="list[str]", choices=CHIP_CLASSES)
    min_area_mu: float = setting(1.0, "只截取图斑面积不小于此值的图斑（大图斑标准各地不一，属本地设定）", unit="亩",
                                 kind="float", minimum=0.0)
    chip_px: int = setting(320, "影像对比图的边长", unit="像素", kind="int", minimum=96, maximum=800)
    margin: float = setting(0.6, "图斑外接框每侧外扩的比例（相对图斑较长边）", kind="float", minimum=0.0, maximum=10.0)
    min_extent_m: float = setting(150.0, "影像对比图的最小地面范围（边长）", unit="m", kind="float", minimum=10.0)
    bands: list[int] = setting([], "显示为红、绿、蓝的波段号（如高分一号、二号多光谱为蓝绿红近红外时写 [3, 2, 1]）；"
                               "默认按影像记录的颜色解释，没有时取前三个波段（单波段为灰度）", kind="bands")

_BEIJING = dt.timezone(dt.timedelta(hours=8), "UTC+08:00")
#: zones that are a fixed +08:00 today: used when the IANA database (tzdata) is missing, as it
#: may be on Windows without the tzdata package
_FIXED_EIGHT = {"asia/shanghai", "asia/chongqing", "asia/chungking", "asia/harbin", "prc",
                "asia/hong_kong", "asia/macau", "asia/taipei"}


def timezone_of(value: str) -> dt.tzinfo:
    """A tzinfo for a ``[report] timezone`` value: an IANA name (``Asia/Shanghai``), ``UTC``, or a
    fixed offset ``+08:00`` / ``+0800`` / ``UTC+8``. ``Asia/Shanghai`` (fixed +08:00 since 1991)
    falls back to a fixed +08:00 when the IANA database is not installed. ValueError otherwise."""
    import re
    import zoneinfo
    v = str(value).strip()
    m = re.fullmatch(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", v, flags=re.I)
    if m:
        h, mi = int(m.group(2)), int(m.group(3) or 0)
        if h > 14 or mi >= 60:
            raise ValueError(v)
        off = dt.timedelta(hours=h, minutes=mi) * (-1 if m.group(1) == "-" else 1)
        return _BEIJING if off == dt.timedelta(hours=8) else dt.timezone(off)
    if v.upper() in ("UTC", "GMT", "Z"):
        return dt.timezone.utc
    if v.lower() == "北京时间":
        return _BEIJING
    if not v or v.startswith(("/", "\\")) or ".." in v:
        raise ValueError(v)
    try:
        return zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        if v.lower() in _FIXED_EIGHT:
            return _BEIJING
        raise ValueError(v)


SECTIONS: dict[str, type] = {
    "county": CountySettings, "classes": ClassSettings, "area": AreaSettings, "qa": QASettings,
    "township": TownshipSettings,
    "satellite": SatelliteSettings, "inventory": InventorySettings, "disposal": DisposalSettings,
    "report": ReportSettings,
    "adjust": AdjustSettings, "zones": ZoneSettings,
    "imagery": ImagerySettings,
    "change": ChangeSettings,
}
#: sections that are tables of the user's own keys (checked by their own rules)
TABLE_SECTIONS = {
    "layers": "图层角色 = 文件路径（相对县文件夹），或 {path = \"...\", layer = \"...\"}；false 表示不使用该图层",
    "fields": "[fields.<图层角色>] 标准字段名 = 源文件中的字段名",
    "encoding": "文件名 = 编码（如 \"DLTB.shp\" = \"GBK\"），覆盖编码自动识别",
}


# --------------------------------------------------------------------------------------
# reading values
# --------------------------------------------------------------------------------------


def _where(section: str, key: str | None = None) -> str:
    return f"[{section}] {key}" if key else f"[{section}]"


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"（是否应为 {close[0]}？）" if close else ""


def _convert(value: Any, f: dataclasses.Field, section: str, source: str | None):
    """The TOML value of one key in the type its field says, or ConfigError naming file/section/key."""
    meta = f.metadata
    kind = meta.get("kind")
    where = _where(section, f.name)

    def bad(expected: str):
        return ConfigError(f"{where} 应为{expected}，得到 {value!r}", file=source)

    if value is None or kind is None:
        return value
    if kind == "int" or kind == "year":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value.strip())
            else:
                raise bad("年份整数" if kind == "year" else "整数")
        if kind == "year" and not 1900 <= value <= 2200:
            raise bad("四位年份")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("数值")
        value = float(value)
    elif kind == "fraction":
        if isinstance(value, str):
            try:
                value = float(Fraction(value.strip()))
            except (ValueError, ZeroDivisionError):
                raise bad("数值或分数（如 \"1/3\"）")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("数值或分数（如 \"1/3\"）")
        else:
            value = float(value)
    elif kind == "str":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise bad("字符串")
        value = str(value)
    elif kind == "adcode":
        from .standards.codes import is_county_code
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not is_county_code(str(value).strip()):
            raise bad("6 位县级行政区划代码（GB/T 2260，如 \"420704\"；省级代码 11–82，末两位不为 00）")
        value = str(value).strip()
    elif kind == "timezone":
        if isinstance(value, bool) or not isinstance(value, str):
            raise bad("时区名称字符串（如 \"Asia/Shanghai\" 或 \"+08:00\"）")
        try:
            timezone_of(value)
        except ValueError:
            raise bad("时区：IANA 时区名（如 \"Asia/Shanghai\"）或固定时差（如 \"+08:00\"）")
        value = value.strip()
    elif kind == "bool":
        if not isinstance(value, bool):
            raise bad("true 或 false")
    elif kind == "date":
        if isinstance(value, dt.datetime):
            value = value.date()
        elif not isinstance(value, dt.date):
            try:
                value = dt.date.fromisoformat(str(value).strip())
            except ValueError:
                raise bad("日期 YYYY-MM-DD")
    elif kind in ("list[str]", "list[int]"):
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            raise bad("列表，如 [\"a\", \"b\"]")
        if kind == "list[int]":
            try:
                value = sorted(int(v) for v in value if not isinstance(v, bool))
            except (TypeError, ValueError):
                raise bad("整数列表，如 [2018]")
        else:
            if any(isinstance(v, (dict, list, bool)) for v in value):
                raise bad("字符串列表")
            value = [str(v) for v in value]
            if meta.get("choices"):
                wrong = [v for v in value if v not in meta["choices"]]
                if wrong:
                    raise ConfigError(f"{where} 中的 {'、'.join(map(repr, wrong))} 无效，应为 "
                                      f"{'、'.join(meta['choices'])} 中的取值", file=source)
                return value
    elif kind == "image":
        return _image_spec(value, where, source)
    elif kind == "bands":
        ok = isinstance(value, list) and len(value) in (0, 1, 3) and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
        if not ok:
            raise bad("1 个或 3 个波段号（从 1 起，依次为红、绿、蓝），如 [3, 2, 1]")
        return list(value)
    elif kind == "table[str]":
        if not isinstance(value, dict):
            raise bad("表，如 [satellite.judgement] 名称 = \"legal\"")
        out = {}
        for k, v in value.items():
            if not isinstance(v, str) or (meta.get("choices") and v not in meta["choices"]):
                raise ConfigError(f"[{section}.{f.name}] 中 {k!r} 的取值 {v!r} 无效，应为 "
                                  f"{'/'.join(meta.get('choices') or ())} 之一", file=source)
            out[str(k)] = v
        return out
    choices = meta.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{where} 应为 {'、'.join(choices)} 之一，得到 {value!r}", file=source)
    lo, hi = meta.get("minimum"), meta.get("maximum")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if lo is not None and value < lo or hi is not None and value > hi:
            rng = f"{lo if lo is not None else ''}–{hi if hi is not None else ''}"
            extra = "（比例，如 0.25 表示 25%）" if hi == 1.0 else ""
            raise ConfigError(f"{where} 应在 {rng} 之间{extra}，得到 {value!r}", file=source)
    return value


def _image_spec(value: Any, where: str, source: str | None) -> dict:
    """An ``[imagery] before/after`` value: "path" or {path, date} → {"path": str, "date": date | None}."""
    if isinstance(value, str) and value.strip():
        return {"path": value.strip(), "date": None}
    if not isinstance(value, dict) or not isinstance(value.get("path"), str) or not value["path"].strip():
        raise ConfigError(f"{where} 应为影像路径字符串，或 {{path = \"….tif\", date = \"YYYY-MM-DD\"}}，得到 {value!r}",
                          file=source)
    extra = set(value) - {"path", "date"}
    if extra:
        raise ConfigError(f"{where} 中有未知的键 {'、'.join(sorted(extra))}；可用：path、date", file=source)
    date = value.get("date")
    if date is not None:
        from .dates import parse_date
        d = parse_date(date.isoformat() if isinstance(date, dt.date) else date)
        if d is None or isinstance(date, bool):
            raise ConfigError(f"{where} 的 date 应为日期 YYYY-MM-DD，得到 {date!r}", file=source)
        date = d
    return {"path": value["path"].strip(), "date": date}

def _check_section(name: str, values: Any, source: str | None) -> None:
    """Unknown keys and wrong types in one section of one file, before merging."""
    if name not in SECTIONS and name not in TABLE_SECTIONS:
        raise ConfigError(f"配置文件中有未知的节 [{name}]{_suggest(name, [*SECTIONS, *TABLE_SECTIONS])}；"
                          f"可用的节：{', '.join([*SECTIONS, *TABLE_SECTIONS])}", file=source)
    if not isinstance(values, dict):
        raise ConfigError(f"配置项 [{name}] 应为一个表（table）", file=source)
    if name == "layers":
        for role, spec in values.items():
            if role not in ROLES:
                raise ConfigError(f"[layers] 中的图层角色 {role!r} 未知{_suggest(role, ROLES)}；可用：{', '.join(ROLES)}",
                                  file=source)
            ok = spec is False or isinstance(spec, str) or (
                isinstance(spec, dict) and isinstance(spec.get("path"), str)
                and set(spec) <= {"path", "layer"} and isinstance(spec.get("layer", ""), str))
            if not ok:
                raise ConfigError(f"[layers] {role} 应为路径字符串、{{path = \"...\", layer = \"...\"}} 或 false",
                                  file=source)
        return
    if name == "fields":
        for role, mapping in values.items():
            if role not in ROLES or not isinstance(mapping, dict):
                raise ConfigError(f"[fields.{role}] 无效：应为 [fields.<图层角色>] 标准字段名 = 源字段名"
                                  f"{_suggest(role, ROLES)}", file=source)
            for std, src in mapping.items():
                if not isinstance(src, str):
                    raise ConfigError(f"[fields.{role}] {std} 应为源文件中的字段名（字符串），得到 {src!r}", file=source)
        return
    if name == "encoding":
        for fname, enc in values.items():
            if not isinstance(enc, str):
                raise ConfigError(f"[encoding] {fname!r} 应为编码名（如 \"GBK\"），得到 {enc!r}", file=source)
        return
    fields_ = {f.name: f for f in dataclasses.fields(SECTIONS[name])}
    for key, v in values.items():
        if key not in fields_:
            raise ConfigError(f"[{name}] 中有未知配置项 {key!r}{_suggest(key, fields_)}；可用：{', '.join(fields_)}",
                              file=source)
        _convert(v, fields_[key], name, source)


def _build(raw: dict[str, dict], origin: dict[tuple[str, str], str | None]) -> dict[str, Any]:
    """The typed sections of a merged raw dict (values already checked per file)."""
    out: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        values = raw.get(name) or {}
        kwargs = {}
        for f in dataclasses.fields(cls):
            env = f.metadata.get("env")
            if f.name in values:
                kwargs[f.name] = _convert(values[f.name], f, name, origin.get((name, f.name)))
            elif env and os.environ.get(env):
                kwargs[f.name] = _convert(os.environ[env], f, name, f"环境变量 {env}")
            elif f.metadata.get("kind") == "fraction" and isinstance(f.default, str):
                kwargs[f.name] = _convert(f.default, f, name, None)      # "1/3" as written in the docs
        out[name] = cls(**kwargs)
    return out


def _merge(base: dict, other: dict) -> dict:
    new = copy.deepcopy(base)
    for sec, values in other.items():
        target = new.setdefault(sec, {})
        for k, v in values.items():
            if isinstance(v, dict) and isinstance(target.get(k), dict):
                target[k] = {**target[k], **v}
            else:
                target[k] = copy.deepcopy(v)
    return new


@dataclass
class Settings:
    """All settings of a run, typed: ``settings.satellite.cap``, ``settings.county.year`` ...

    Build it with :func:`load_settings`; :meth:`merged` gives a new one with more values on top.
    ``sources`` lists where the values came from, in order.
    """
    county: CountySettings = field(default_factory=CountySettings)
    layers: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    encoding: dict[str, str] = field(default_factory=dict)
    classes: ClassSettings = field(default_factory=ClassSettings)
    area: AreaSettings = field(default_factory=AreaSettings)
    qa: QASettings = field(default_factory=QASettings)
    township: TownshipSettings = field(default_factory=TownshipSettings)
    satellite: SatelliteSettings = field(default_factory=SatelliteSettings)
    inventory: InventorySettings = field(default_factory=InventorySettings)
    disposal: DisposalSettings = field(default_factory=DisposalSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    adjust: AdjustSettings = field(default_factory=AdjustSettings)
    zones: ZoneSettings = field(default_factory=ZoneSettings)
    imagery: ImagerySettings = field(default_factory=ImagerySettings)
    change: ChangeSettings = field(default_factory=ChangeSettings)
    sources: list[str] = field(default_factory=list)
    raw: dict[str, dict] = field(default_factory=dict, repr=False)
    origin: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_raw(cls, raw: dict, origin: dict | None = None, sources: list[str] | None = None) -> "Settings":
        origin = origin or {}
        typed = _build(raw, origin)
        return cls(**typed, layers=dict(raw.get("layers") or {}), fields=copy.deepcopy(raw.get("fields") or {}),
                   encoding=dict(raw.get("encoding") or {}), sources=list(sources or []), raw=raw, origin=origin)

    def merged(self, other: dict, source: str = "") -> "Settings":
        """A new Settings with ``other`` (a TOML-shaped dict) applied on top; checked like a file."""
        if isinstance(other, Settings):
            other = other.raw
        if not isinstance(other, dict):
            raise ConfigError("配置应为 TOML 文件路径、dict 或 Settings", file=source or None)
        for name, values in other.items():
            _check_section(name, values, source or None)
        origin = dict(self.origin)
        for name, values in other.items():
            for k in values:
                origin[(name, k)] = source or None
        raw = _merge(self.raw, other)
        if raw.get("county", {}).get("adcode") is not None:
            raw["county"]["adcode"] = str(raw["county"]["adcode"])
        return Settings.from_raw(raw, origin, self.sources + ([source] if source else []))

    def with_period(self, year: int | None = None, as_of: dt.date | None = None,
                    source: str = "命令行参数") -> "Settings":
        """Settings for the period a command line names: ``--year`` (as-of then 31 Dec of it unless
        ``--as-of`` says otherwise) and ``--as-of``. Unchanged when both are None."""
        county: dict[str, Any] = {}
        if year is not None:
            county["year"] = int(year)
            county["as_of"] = dt.date(int(year), 12, 31)
        if as_of is not None:
            county["as_of"] = as_of
            if year is None and self.county.year is None:
                county["year"] = as_of.year
        return self.merged({"county": county}, source) if county else self

    # --- what the rest of landkit asks -------------------------------------------------
    @property
    def sliver_m2(self) -> float:
        """Overlap pieces under this many m² are rounding noise ([area] sliver_m2)."""
        return self.area.sliver_m2

    def fields_for(self, role: str) -> dict[str, str]:
        """``[fields.<role>]``: standard field name → the name in the user's file."""
        return dict(self.fields.get(role) or {})

    def section_dict(self, name: str) -> dict[str, Any]:
        """One typed section as a plain dict (for summary.json and the docs)."""
        return dataclasses.asdict(getattr(self, name))


#: the name landkit used before the settings were typed
Config = Settings


def load_toml(path: Path | str) -> dict[str, Any]:
    """Parse a TOML file with a Chinese error message on failure."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError("找不到配置文件", file=path)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"配置文件格式错误：{e}", file=path)
    except UnicodeDecodeError:
        raise ConfigError("配置文件不是 UTF-8 编码", file=path)


def load_settings(folder: Path | str | None = None, config=None, *, year: int | None = None,
                  as_of: dt.date | None = None) -> Settings:
    """The effective settings: defaults ← ``folder/landkit.toml`` ← ``config`` ← ``year``/``as_of``.

    ``config`` may be a Settings, a dict (as parsed from TOML) or a path to a TOML file.
    """
    s = Settings.from_raw({})
    if folder is not None:
        toml = Path(folder) / "landkit.toml"
        if toml.is_file():
            s = s.merged(load_toml(toml), str(toml))
    if isinstance(config, Settings):
        s = s.merged(config.raw, "config") if config.raw else s
    elif isinstance(config, dict):
        s = s.merged(config, "config")
    elif config is not None:
        s = s.merged(load_toml(config), str(config))
    return s.with_period(year, as_of)


#: the name used before the settings were typed
load_config = load_settings


def settings_table() -> str:
    """The Markdown table of every key (docs/settings.md is this, with a heading)."""
    lines = []
    for name, cls in SECTIONS.items():
        lines += [f"### [{name}]", "", (cls.__doc__ or "").strip(), "",
                  "| key | type | unit | default | meaning |", "|---|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            m = f.metadata
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            d = "—" if default is None else f"`{default!r}`".replace("|", "\\|")
            kind = m.get("kind") or "any"
            if m.get("choices"):
                kind += ": " + " / ".join(f"`{c}`" for c in m["choices"])
            doc = m.get("doc", "")
            if m.get("env"):
                doc += f"（也可用环境变量 `{m['env']}`）"
            lines.append(f"| `{f.name}` | {kind} | {m.get('unit') or ''} | {d} | {doc} |")
        lines.append("")
    for name, doc in TABLE_SECTIONS.items():
        lines += [f"### [{name}]", "", doc, ""]
    return "\n".join(lines).rstrip() + "\n"


def settings_for(county, config=None) -> Settings:
    """The settings an analysis of ``county`` uses: ``county.config``, or with ``config`` (a dict
    or Settings, as the analyses' ``config=`` argument takes it) applied on top."""
    if config is None:
        return county.config
    if isinstance(config, Settings):
        return config
    if isinstance(config, dict):
        return county.config.merged(config, "config")
    raise TypeError("config 应为 Settings、dict 或 None")

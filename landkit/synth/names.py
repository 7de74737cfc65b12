"""Names and code lists for the synthetic county (all synthetic; only the style is real)."""
from __future__ import annotations

import numpy as np

# 三调工作分类 names (docs/rules.md §4.5) for the codes the generator uses.
DLMC = {
    "0101": "水田", "0102": "水浇地", "0103": "旱地",
    "0201": "果园", "0202": "茶园", "0204": "其他园地",
    "0301": "乔木林地", "0302": "竹林地", "0305": "灌木林地", "0307": "其他林地",
    "0404": "其他草地",
    "05H1": "商业服务业设施用地", "0508": "物流仓储用地",
    "0601": "工业用地", "0602": "采矿用地",
    "0701": "城镇住宅用地", "0702": "农村宅基地",
    "08H1": "机关团体新闻出版用地", "08H2": "科教文卫用地", "0809": "公用设施用地",
    "0810": "公园与绿地", "09": "特殊用地",
    "1003": "公路用地", "1004": "城镇村道路用地", "1005": "交通服务场站用地", "1006": "农村道路",
    "1008": "港口码头用地",
    "1101": "河流水面", "1102": "湖泊水面", "1104": "坑塘水面", "1106": "内陆滩涂", "1107": "沟渠",
    "1109": "水工建筑用地",
    "1201": "空闲地", "1202": "设施农用地", "1203": "田坎", "1206": "裸土地",
}
CULTIVATED = ("0101", "0102", "0103")
CONSTRUCTION = ("05H1", "0508", "0601", "0602", "0701", "0702", "08H1", "08H2", "0809", "0810",
                "09", "1003", "1004", "1005", "1008", "1109", "1201")

# 鄂城区's 14 township-level units (real names; codes and boundaries here are synthetic).
# (3-digit segment, name, seat hint lon, lat in WGS84)
EZHOU_TOWNSHIPS = [
    ("001", "古楼街道", 114.893, 30.392),
    ("002", "凤凰街道", 114.875, 30.378),
    ("003", "西山街道", 114.858, 30.396),
    ("004", "樊口街道", 114.835, 30.405),
    ("100", "新庙镇", 114.920, 30.350),
    ("101", "燕矶镇", 115.010, 30.360),
    ("102", "杨叶镇", 114.960, 30.390),
    ("103", "花湖镇", 115.040, 30.310),
    ("104", "长港镇", 114.720, 30.350),
    ("105", "杜山镇", 114.790, 30.345),
    ("106", "泽林镇", 114.820, 30.290),
    ("107", "汀祖镇", 114.990, 30.255),
    ("108", "碧石渡镇", 114.930, 30.270),
    ("200", "沙窝乡", 114.870, 30.320),
]

_PLACE1 = list("东西南北新旧长高大小上下前后中石金银白青黄红花桃柳杨松竹梅兰荷莲凤龙马牛羊鹤雁燕")
_PLACE2 = list("港湖山岭畈湾桥河岗冲坪林塘集店铺庙寺垸咀洲口")
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_VSUFFIX = ["湾", "家湾", "垸", "畈", "港", "咀", "桥", "铺", "岭", "冲", "店", "家岗", "家山", "家墩", "家庄", "塘"]
_COMMUNITY = ["和平", "民主", "新民", "光明", "幸福", "团结", "建设", "胜利", "文化", "体育", "滨湖", "滨江",
              "江南", "湖光", "澜湖", "南浦", "北门", "东港", "西湖", "新城", "寿山", "莲花", "明珠", "长江"]


def place_names(rng: np.random.Generator, k: int, taken: set[str] | None = None) -> list[str]:
    """k distinct two-character place names (新港, 白湖, …)."""
    taken = set() if taken is None else taken
    out = []
    while len(out) < k:
        n = _PLACE1[rng.integers(len(_PLACE1))] + _PLACE2[rng.integers(len(_PLACE2))]
        if n not in taken:
            taken.add(n)
            out.append(n)
    return out


def village_names(rng: np.random.Generator, k: int, taken: set[str]) -> list[str]:
    """k distinct village names without the 村 suffix (胡家湾, 程岭, …)."""
    out = []
    while len(out) < k:
        if rng.random() < 0.7:
            n = _SURNAMES[rng.integers(len(_SURNAMES))] + _VSUFFIX[rng.integers(len(_VSUFFIX))]
        else:
            n = _PLACE1[rng.integers(len(_PLACE1))] + _PLACE2[rng.integers(len(_PLACE2))]
        if n not in taken:
            taken.add(n)
            out.append(n)
    return out


def community_names(rng: np.random.Generator, k: int, taken: set[str]) -> list[str]:
    out = []
    pool = list(_COMMUNITY)
    rng.shuffle(pool)
    for n in pool:
        if len(out) == k:
            break
        if n not in taken:
            taken.add(n)
            out.append(n)
    while len(out) < k:
        n = _PLACE1[rng.integers(len(_PLACE1))] + _PLACE1[rng.integers(len(_PLACE1))]
        if n not in taken:
            taken.add(n)
            out.append(n)
    return out


# ----------------------------------------------------------------- enterprises, projects
_CO_WORD = ["华鑫", "恒达", "鑫源", "宏泰", "金盛", "永兴", "瑞丰", "中天", "正邦", "天成", "盛世", "鸿运",
            "博远", "昌达", "楚天", "荆楚", "江汉", "长江", "吴都", "凤凰", "万通", "福达", "兴业", "汇通",
            "诚信", "振华", "新星", "三江", "泰和", "鼎盛", "开元", "德胜", "远大", "聚力", "康达", "明阳"]
INDUSTRIES = {
    "金属制品业": ("金属制品", ["年产5万吨金属结构件", "精密铸件", "不锈钢制品", "钢结构加工"]),
    "非金属矿物制品业": ("新型建材", ["年产100万平方米新型墙材", "商品混凝土搅拌站", "装配式建筑构件", "石材加工"]),
    "通用设备制造业": ("机械", ["智能装备制造", "通用机械零部件", "输送设备生产线", "泵阀生产基地"]),
    "农副食品加工业": ("食品", ["武昌鱼深加工", "粮油精深加工", "农产品冷链加工", "饲料生产"]),
    "仓储物流": ("物流", ["综合物流园", "冷链仓储中心", "电商分拨中心", "港口物流仓储"]),
    "黑色金属冶炼和压延加工业": ("钢铁", ["特钢深加工", "冷轧板加工"]),
    "医药制造业": ("生物医药", ["生物医药产业园", "中药饮片生产"]),
    "电气机械和器材制造业": ("电气", ["新能源电池配套", "输变电设备"]),
    "批发和零售业": ("商贸", ["商贸综合体", "建材大市场"]),
}
INDUSTRY_WEIGHTS = {
    "金属制品业": 0.20, "非金属矿物制品业": 0.16, "通用设备制造业": 0.15, "农副食品加工业": 0.12,
    "仓储物流": 0.12, "黑色金属冶炼和压延加工业": 0.06, "医药制造业": 0.06, "电气机械和器材制造业": 0.08,
    "批发和零售业": 0.05,
}


def company(rng: np.random.Generator, city: str, industry: str) -> str:
    word = _CO_WORD[rng.integers(len(_CO_WORD))]
    kind = INDUSTRIES[industry][0]
    prefix = ["湖北", city, city, ""][rng.integers(4)]
    form = ["有限公司", "有限公司", "有限责任公司", "股份有限公司"][rng.integers(4)]
    return f"{prefix}{word}{kind}{form}"


def project(rng: np.random.Generator, industry: str) -> str:
    opts = INDUSTRIES[industry][1]
    return opts[rng.integers(len(opts))] + "项目"


def pick_industry(rng: np.random.Generator, n: int) -> list[str]:
    keys = list(INDUSTRY_WEIGHTS)
    p = np.array([INDUSTRY_WEIGHTS[k] for k in keys])
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())]

"""Write the analyst notebooks in notebooks/ (outputs cleared). Run: python tools/make_notebooks.py

The notebooks are short, in Chinese prose with code, and run against sample_data/ from the
notebooks/ folder. tests/test_notebooks.py executes every one of them.
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parents[1] / "notebooks"
SAMPLE = '"../sample_data/420704_鄂城区"'

SETUP = f"""import warnings
warnings.filterwarnings("ignore")
import pandas as pd
import landkit as lk

county = lk.read_county({SAMPLE})"""

NOTEBOOKS = {
    "01_快速开始.ipynb": [
        ("md", "# 快速开始\n\n读取示例县（鄂城区：真实行政区界线上的合成数据），查看图层、编码、坐标系和质检结果，再画第一张图。"
               "\n\n`lk.read_county` 会自动识别文件夹里的地类图斑、永久基本农田、卫片图斑、批准用地、供地等图层，"
               "判断 GBK/UTF-8 编码和坐标系，修复无效几何，并记录质检发现。"),
        ("code", SETUP + "\ncounty"),
        ("md", "## 图层与读取依据\n\n每个图层来自哪个文件、用什么编码读取、坐标系如何判定："),
        ("code", "pd.DataFrame(county.layer_table())"),
        ("md", "## 质检发现\n\n错误会使数据不可用；警告需要人工看一看；说明记录读取时做出的判断。"),
        ("code", "qa = county.qa.to_frame()\nqa.groupby(\"level\").size()"),
        ("code", "qa[qa.level == \"warning\"][[\"layer\", \"field\", \"message\", \"count\"]]"),
        ("md", "## 地类图斑\n\n字段已统一为标准名（DLBM、ZLDWDM、KCXS……），`lk_area_m2` 是按国土调查办发〔2008〕32号方法计算的 "
               "CGCS2000 椭球面积（平方米）。亩 = 平方米 × 3/2000。"),
        ("code", "from landkit.standards.units import m2_to_mu\n"
                 "d = county.dltb\n"
                 "by_class = (d.assign(亩=m2_to_mu(d[\"lk_area_m2\"])).groupby(\"DLMC\")[\"亩\"].sum()"
                 ".sort_values(ascending=False).round(2))\nby_class.head(10)"),
        ("md", "## 第一张图\n\n默认不加在线底图（单位内网也能打开）；可选 `basemap=\"tianditu_img\"`（需天地图密钥）等。"),
        ("code", "m = lk.map(county)\nm"),
    ],
    "02_卫片执法.ipynb": [
        ("md", "# 卫片执法：违法占用耕地比例\n\n比例 = 违法图斑占用耕地面积 ÷ 新增建设用地占用耕地总面积（合法 + 违法图斑）。"
               "耕地按地类图斑中 0101/0102/0103 计，默认扣除田坎。控制目标默认 5%，达到 15% 为问责线（15号令第三条）。"),
        ("code", SETUP + "\nfrom landkit.analyses.satellite import satellite_ratio\nsat = satellite_ratio(county)\nsat"),
        ("code", "s = sat.summary\nprint(f\"违法占用耕地比例 {s['ratio']:.2%}（{s['status']}），扣减已整改后 {s['deducted_ratio']:.2%}\")\n"
                 "print(f\"违法 {s['illegal_farmland_mu']:.2f} 亩 / 新增建设占用耕地 {s['new_construction_farmland_mu']:.2f} 亩\")"),
        ("md", "## 乡镇排名"),
        ("code", "towns = pd.DataFrame(s[\"by_township\"])\ntowns[[\"name\", \"ratio\", \"illegal_farmland_mu\", "
                 "\"new_construction_farmland_mu\", \"status\"]].round(4)"),
        ("md", "## 要降到控制目标，需要整改哪些图斑\n\n最少需要复耕的违法耕地面积 = (I − c·D)/(1 − c)；下面是能达到这个面积的最少的最大图斑。"),
        ("code", "print(f\"需整改复耕 {s['rectify_to_cap_mu']:.2f} 亩\")\npd.DataFrame(s[\"rectify_patches\"])"),
        ("md", "## 按季度累计（季核）"),
        ("code", "pd.DataFrame(s[\"by_quarter\"])[[\"quarter\", \"ratio\", \"illegal_farmland_mu\", \"new_construction_farmland_mu\"]]"),
        ("md", "## 每个图斑\n\n`class` 为 legal/illegal/other/pseudo/unjudged（未判定：判定类型为空或“未判定”，不计入比例）；面积单位为亩。"),
        ("code", "sat.patches.drop(columns=\"geometry\").sort_values(\"farmland_used_mu\", ascending=False).head(10)"),
        ('md', '## 月清：按下发月份的核查、判定与整改\n\n“月清”：当月完成上月下发图斑的外业核查和判定。下发月份取下发日期，没有时取下发批次中的月份，再没有时取后时相月份。\n外业核查记录来自图层的核查状态/核查日期字段，或上一期台账“卫片图斑清单”中填写的内容（`landkit run --previous`）；\n都没有时外业核查率和月清率为“未提供数据”，不是 0。'),
        ('code', 'print("外业核查率：", s["field_check_rate"], (s.get("unavailable") or {}).get("field_check_rate", ""))\nprint("约谈候选乡镇：", s["township_alerts"]["talk"], "预警乡镇：", s["township_alerts"]["warning"])\npd.DataFrame(s["by_issue_month"])[["month", "basis", "issued", "judged", "checked", "illegal", "rectified", "deadline", "month_clear_rate"]]'),
    ],
    "03_永久基本农田压占检查.ipynb": [
        ("md", "# 永久基本农田压占检查\n\n检查一个项目用地是否压占永久基本农田，以及占用耕地、生态保护红线、是否在城镇开发边界外。"
               "项目范围可以自己画（经纬度），也可以是一个文件（shapefile、GeoJSON、GeoPackage）。"),
        ("code", SETUP + "\nfrom landkit.analyses.farmland import farmland_overlap\nimport geopandas as gpd\nimport shapely"),
        ("md", "## 画一个项目范围\n\n在永久基本农田最密集的地方取一个约 300 m × 200 m 的地块，用经纬度（CGCS2000）表示，就像在地图上画出来的一样。"),
        ("code", "yj = county.yjjbnt\nc = yj.geometry.iloc[len(yj) // 2].centroid\n"
                 "site = gpd.GeoDataFrame({\"项目名称\": [\"某某产业园一期\"]}, crs=county.crs,\n"
                 "                        geometry=[shapely.box(c.x - 150, c.y - 100, c.x + 150, c.y + 100)]).to_crs(4490)\nsite"),
        ("code", "res = farmland_overlap(site, county, id_field=\"项目名称\")\nres.summary"),
        ("code", "res.features.drop(columns=\"geometry\").T"),
        ("md", "## 从文件检查\n\n把项目范围存成 GeoJSON，再用 `lk.read_layer` 读入（编码、坐标系同样自动处理）。"
               "命令行上的等价写法：`landkit overlap 项目.geojson --county 县数据 -o 结果`，会写出 xlsx 和 GeoPackage。"),
        ("code", "import tempfile, pathlib\ntmp = pathlib.Path(tempfile.mkdtemp())\nsite.to_file(tmp / \"项目红线.geojson\", driver=\"GeoJSON\")\n"
                 "site2 = lk.read_layer(tmp / \"项目红线.geojson\")\nfarmland_overlap(site2, county, id_field=\"项目名称\").summary[\"overlap_mu\"]"),
    ],
    "04_存量建设用地大盘点与处置率.ipynb": [
        ("md", "# 存量建设用地大盘点与处置率\n\n“找到地、找到人、析原因、快处置”：批而未供、闲置土地、城镇低效用地、农村集体经营性建设用地，"
               "以及批而未供和闲置土地的年度处置率（目标默认 25%）。"),
        ("code", SETUP + "\nfrom landkit.analyses.inventory import inventory\nfrom landkit.analyses.disposal import disposal_rate\n"
                 "inv = inventory(county)\n{k: v for k, v in inv.summary.items() if not isinstance(v, list)}"),
        ("md", "## 批而未供台账\n\n每行一个批次：批准、已供、未供面积，所在乡镇和村，未供即用、自动失效候选，以及留给局里填写的处置计划列。"),
        ("code", "au = inv.approved_unsupplied\nau[[\"批次名称\", \"批准日期\", \"township_name\", \"approved_mu\", \"supplied_mu\", "
                 "\"unsupplied_mu\", \"in_use\", \"lapse_candidate\"]].round(2)"),
        ("md", "## 闲置土地\n\n按53号令第二条认定；企业原因的给出土地闲置费（出让价款的20%）和满两年无偿收回候选。"),
        ("code", "inv.idle[[\"电子监管号\", \"土地使用权人\", \"联系电话\", \"idle_since\", \"idle_years\", \"cause\", "
                 "\"area_mu\", \"idle_fee_wan\"]].round(2)"),
        ("md", "## 处置率与各乡镇差额"),
        ("code", "d = disposal_rate(county)\npd.DataFrame({k: d.summary[k] for k in (\"approved_unsupplied\", \"idle\")}).T"),
        ("code", "rows = [{\"乡镇\": t[\"name\"], \"批而未供差额(亩)\": (t[\"approved_unsupplied\"] or {}).get(\"shortfall_mu\"),\n"
                 "         \"闲置差额(亩)\": (t[\"idle\"] or {}).get(\"shortfall_mu\")} for t in d.summary[\"by_township\"]]\n"
                 "pd.DataFrame(rows).round(2)"),
        ("md", "## 导出台账 xlsx\n\n`landkit run` 写出完整台账（汇总、批而未供、闲置土地、低效用地、集体经营性建设用地、处置率……），"
               "可直接打印（A4 横向，表头重复）。"),
        ("code", "import tempfile, pathlib\nfrom landkit.pipeline.run import run_county\nout = pathlib.Path(tempfile.mkdtemp()) / \"鄂城区结果\"\n"
                 "run_county(\"../sample_data/420704_鄂城区\", out)\nsorted(p.name for p in out.iterdir())"),
        ("code", "import openpyxl\nopenpyxl.load_workbook(out / \"ledger.xlsx\").sheetnames"),
    ],
    "05_地图与报告.ipynb": [
        ("md", "# 地图与领导报告\n\n报告是一个 HTML 文件：所有脚本、样式、图片都内嵌，不联网也能打开，可以直接作为邮件附件发送，也能打印成 A4。"),
        ("code", SETUP + "\nanalysis = lk.analyse(county)\nm = lk.map(county, analysis)\nm"),
        ("md", "## 生成报告"),
        ("code", "import tempfile, pathlib\npath = pathlib.Path(tempfile.mkdtemp()) / \"鄂城区报告.html\"\n"
                 "html = lk.report(county, analysis, path)\nprint(path, f\"{path.stat().st_size / 1e6:.2f} MB\")"),
        ("md", "报告里没有任何外部链接（离线可用）："),
        ("code", "import re\nprint(re.findall(r'<(?:script|link|img)[^>]+(?:src|href)=\"https?://', html))"),
        ("md", "在 Jupyter 中预览报告："),
        ("code", "from IPython.display import IFrame\nIFrame(src=str(path), width=\"100%\", height=500)"),
    ],
    "06_批量处理.ipynb": [
        ("md", "# 批量处理多个县\n\n`run_batch` 对一个文件夹下的每个县运行完整分析（与 `landkit run` 相同），"
               "在 dask.distributed 上并行，最后写出汇总（summary.json、汇总.xlsx、index.html）。"
               "命令行：`landkit batch 根目录 -o 输出 --workers 2`；省里已有 dask 集群时加 `--scheduler tcp://主机:8786`。"),
        ("code", "import warnings\nwarnings.filterwarnings(\"ignore\")\nimport tempfile, pathlib, json\nimport pandas as pd\n"
                 "from landkit.synth import make_county\nfrom landkit.pipeline.batch import run_batch\n\n"
                 "root = pathlib.Path(tempfile.mkdtemp()) / \"某市\"\n"
                 "for i, (code, name, lon) in enumerate([(\"420702\", \"甲县\", 114.7), (\"420703\", \"乙县\", 114.5), "
                 "(\"420706\", \"丙县\", 115.0)]):\n"
                 "    make_county(root / f\"{code}_{name}\", n_dltb=1500, n_patches=40, n_approvals=8, n_supply=20, n_parcels=30,\n"
                 "                seed=100 + i, boundary=None, adcode=code, name=name, center_lonlat=(lon, 30.3))\n"
                 "sorted(p.name for p in root.iterdir())"),
        ("code", "out = root.parent / \"批量结果\"\nresult = run_batch(root, out, workers=2, progress=False)\nresult"),
        ("code", "rollup = json.loads((out / \"summary.json\").read_text(encoding=\"utf-8\"))\nsorted(rollup)"),
        ("code", "sorted(p.name for p in out.iterdir())"),
    ],
    "07_两期地类变化.ipynb": [
        ('md', '# 两期地类图斑：地类转移矩阵、耕地进出平衡、非农化与非粮化\n\n示例县文件夹里除本年度的 `DLTB.shp`（2024 年度变更调查）外，还有上一期 `DLTB_2023.gpkg`。`lk.read_county`\n按文件名中的年份自动把较早的一期作为上一期（也可在 `landkit.toml` 的 `[layers]` 中写明 `dltb_previous`）。\n\n两期精确叠加（CGCS2000 椭球面积），得到各级地类之间的转移面积；面积单位为亩，默认扣除田坎（与卫片口径一致）。\n规则和依据见 `docs/rules.md` §4.9。'),
        ("code", SETUP + '\ncounty.vintages'),
        ('code', 'res = lk.analyse(county)\nch = res.change\ns = ch.summary\nprint(f"{s[\'previous_year\']}—{s[\'current_year\']}年：耕地流出 {s[\'cultivated_out_mu\']:.2f} 亩，流入 {s[\'cultivated_in_mu\']:.2f} 亩，"\n      f"净变化 {s[\'cultivated_net_change_mu\']:.2f} 亩；非农化 {s[\'cultivated_to_construction_mu\']:.2f} 亩，非粮化 {s[\'cultivated_to_nonfood_mu\']:.2f} 亩")'),
        ('md', '## 地类转移矩阵（一级类）\n\n行为上一期地类，列为本期地类，对角线为未变化的面积。`ch.matrix("level2")` 为二级类，`ch.matrix("class")` 为三大类。'),
        ('code', 'ch.matrix("level1").round(2)'),
        ('md', '## 耕地流向哪里\n\n耕地流出按本期地类（二级类）汇总，从大到小：'),
        ('code', 'pd.DataFrame(s["cultivated_out_by_destination"])[["code", "name", "level1_name", "class", "area_mu"]].head(10)'),
        ('md', '## 各乡镇耕地进出平衡'),
        ('code', 'towns = pd.DataFrame(s["by_township"])\ntowns[["name", "cultivated_out_mu", "cultivated_in_mu", "cultivated_net_change_mu",\n       "cultivated_to_construction_mu", "cultivated_to_nonfood_mu"]].sort_values("cultivated_net_change_mu").round(2)'),
        ('md', '## 与卫片核对：疑似漏监测\n\n两期比较得到的“耕地变为建设用地”应当都有卫片图斑。没有卫片图斑覆盖的地块列为疑似漏监测，供外业核实。'),
        ('code', 'print(f"新增建设占用耕地 {s[\'new_construction_on_cultivated_mu\']:.2f} 亩，卫片 {s[\'satellite_denominator_mu\']:.2f} 亩，"\n      f"差额 {s[\'satellite_denominator_gap_mu\']:.2f} 亩；疑似漏监测 {s[\'unmonitored_count\']} 块")\nout = ch.outflow\nout[out["unmonitored"]].drop(columns="geometry").sort_values("area_mu", ascending=False).head(10)'),
    ],
    "08_开发区与控制面积平差.ipynb": [
        ('md', '# 开发区节约集约利用与控制面积平差\n\n两件县局常在别的软件里做的事：\n\n1. **开发区土地节约集约利用指标**：有开发区范围图层（示例县的 `开发区.shp`）时，按开发区计算土地供应率、建成率、\n   工业用地综合容积率、固定资产投入强度、地均税收和闲置/低效占比（定义与依据见 `docs/rules.md` §3.6）。\n2. **控制面积平差**：把各乡镇地类图斑面积之和调整到控制面积（精确到 0.01 平方米），田坎面积随之重算\n   （`docs/rules.md` R1a；命令行为 `landkit adjust 县文件夹 -o 输出文件夹`）。'),
        ("code", SETUP + '\nres = lk.analyse(county)\nres.zones'),
        ('code', 'z = res.summary["development_zones"]\ncols = ["name", "area_mu", "supply_rate", "built_rate", "industrial_far", "fixed_asset_per_mu_wan", "tax_per_mu_wan",\n        "idle_share", "inefficient_share"]\npd.DataFrame(z["zones"] + [z["total"]])[cols]'),
        ('md', '指标无法计算时为 `None`，原因写在该行的 `unavailable` 中（例如宗地图层缺少税收字段），不会显示为 0。\n\n## 控制面积平差\n\n控制单元取乡镇界线图层（XZQ）：有“控制面积”字段时用它，否则用乡镇界线的椭球面积。'),
        ('code', 'from landkit.analyses.adjust import adjust_areas\nadj = adjust_areas(county)\nadj.units.head(14)'),
        ('md', '平差后每个乡镇的图斑面积之和与控制面积分毫不差（以“分”为单位的整数相加）：'),
        ('code', 'f = adj.features\ncents = (f["TBMJ"] * 100).round().astype("int64").groupby(f["控制单元"]).sum()\ncheck = adj.units.set_index("code")["control_m2"].mul(100).round().astype("int64")\npd.DataFrame({"平差后合计(分)": cents, "控制面积(分)": check}).assign(相等=lambda d: d.iloc[:, 0] == d.iloc[:, 1])'),
    ],
}


def main():
    OUT.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=[new_markdown_cell(t) if k == "md" else new_code_cell(t) for k, t in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nbformat.write(nb, OUT / name)
    print(f"{len(NOTEBOOKS)} notebooks written to {OUT}")


if __name__ == "__main__":
    main()

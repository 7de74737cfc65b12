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
        ("md", "## 每个图斑\n\n`class` 为 legal/illegal/other/pseudo；面积单位为亩。"),
        ("code", "sat.patches.drop(columns=\"geometry\").sort_values(\"farmland_used_mu\", ascending=False).head(10)"),
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

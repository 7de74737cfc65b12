"""Generate tests/data/bad/: county folders with the bad inputs bureaus really send.

    python tests/data/make_bad_corpus.py        # (re)writes tests/data/bad/

Each case is a small county folder built from one good base county and broken in one way.
CASES maps the case name to what `landkit check` and `landkit run` must do with it:
exit code, words the message must contain, QA codes that must be present. Deterministic.
"""
from __future__ import annotations

import os
import shutil
import struct
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"
X0, Y0 = 38_560_000.0, 3_365_000.0
CRS = "EPSG:4526"
XIAN80 = ('PROJCS["Xian_1980_3_Degree_GK_Zone_38",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",'
          'SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
          'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",38500000.0],PARAMETER["False_Northing",0.0],'
          'PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],'
          'UNIT["Meter",1.0]]')

CODES = ["0101", "0103", "0701", "0301", "0101", "0702", "0102", "1104", "05H1", "0601", "0101", "0201",
         "0103", "1006", "0101", "0701"]
NAMES = {"0101": "水田", "0103": "旱地", "0701": "城镇住宅用地", "0301": "乔木林地", "0702": "农村宅基地",
         "0102": "水浇地", "1104": "坑塘水面", "05H1": "商业服务业设施用地", "0601": "工业用地", "0201": "果园",
         "1006": "农村道路"}


def cells(n=16, size=200.0, x0=X0, y0=Y0):
    return [shapely.box(x0 + (i % 4) * size, y0 + (i // 4) * size, x0 + (i % 4 + 1) * size, y0 + (i // 4 + 1) * size)
            for i in range(n)]


def base_layers():
    from landkit.standards.area import ellipsoidal_area
    g = cells()
    tbmj = np.round(ellipsoidal_area(gpd.GeoSeries(g, crs=CRS)), 2)
    kc = np.array([0.08 if c in ("0101", "0102", "0103") else 0.0 for c in CODES])
    kcmj = np.round(tbmj * kc, 2)
    dltb = gpd.GeoDataFrame({
        "BSM": [f"4207042024{i:08d}" for i in range(16)], "DLBM": CODES, "DLMC": [NAMES[c] for c in CODES],
        "QSXZ": ["10" if c in ("0701", "05H1", "0601") else "30" for c in CODES],
        "ZLDWDM": ["4207041001010000000" if i < 8 else "4207041021020000000" for i in range(16)],
        "ZLDWMC": ["泽林镇泽林村" if i < 8 else "汀祖镇石山村" for i in range(16)],
        "TBMJ": tbmj, "KCDLBM": ["1203" if k else None for k in kc], "KCXS": kc, "KCMJ": kcmj,
        "TBDLMJ": np.round(tbmj - kcmj, 2)}, geometry=g, crs=CRS)
    gd = dltb[dltb["DLBM"].isin(["0101", "0102", "0103"])]
    yj = gpd.GeoDataFrame({"YJJBNTTBBH": [f"4207040000000000{i:04d}" for i in range(len(gd))],
                           "DLBM": gd["DLBM"].values, "KCXS": gd["KCXS"].values},
                          geometry=gd.geometry.translate(0.5, 0.5).values, crs=CRS)
    patches = gpd.GeoDataFrame({
        "监测编号": [f"42070420240{i:03d}" for i in range(6)],
        "判定类型": ["合法", "违法", "非农违法", "设施农用地", "伪变化", "合法"],
        "违法类型": [None, "未批先建", "非法占地", None, None, None],
        "整改状态": [None, "未整改", "已整改", None, None, None],
        "季度": ["1", "2", "3", "4", "1", "2"], "项目名称": ["某项目"] * 6},
        geometry=[shapely.box(X0 + 150 + 110 * i, Y0 + 150, X0 + 230 + 110 * i, Y0 + 230) for i in range(6)], crs=CRS)
    approvals = gpd.GeoDataFrame({
        "批次名称": ["鄂州市2019年度第3批次城镇建设用地", "鄂州市2021年度第1批次城镇建设用地"],
        "批准文号": ["鄂政土批〔2019〕123号", "鄂政土批〔2021〕45号"], "批准日期": ["2019-05-10", "2021/3/2"],
        "撤回日期": [None, None]},
        geometry=[shapely.box(X0 + 400, Y0 + 400, X0 + 700, Y0 + 700), shapely.box(X0, Y0 + 500, X0 + 300, Y0 + 800)],
        crs=CRS)
    supply = gpd.GeoDataFrame({
        "电子监管号": ["4207042019B00001", "4207042021B00002"], "项目名称": ["某机械厂", "某物流园"],
        "土地使用权": ["湖北某某机械有限公司", "鄂州某物流有限公司"], "供地日期": ["2019-09-01", "20211201"],
        "约定动工日": ["2020-03-01", "2022年6月1日"], "实际动工日": [None, "2022-07-01"],
        "出让价款": [1200.0, 800.0]},
        geometry=[shapely.box(X0 + 400, Y0 + 400, X0 + 550, Y0 + 550), shapely.box(X0, Y0 + 500, X0 + 300, Y0 + 650)],
        crs=CRS)
    return {"DLTB": dltb, "YJJBNTBHTB": yj, "卫片图斑": patches, "批准用地": approvals, "供地": supply}


def write_shp(gdf, path: Path, encoding="GBK", cpg=False, prj=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_file(path, encoding=encoding, engine="pyogrio")
    if not cpg and path.with_suffix(".cpg").exists():
        path.with_suffix(".cpg").unlink()
    with open(path.with_suffix(".dbf"), "r+b") as f:
        f.seek(29)
        f.write(b"\x00")
    if not prj:
        path.with_suffix(".prj").unlink()
    return path


def write_county(d: Path, layers: dict, **kw):
    for name, gdf in layers.items():
        write_shp(gdf, d / f"{name}.shp", **kw.get(name, {}))
    (d / "landkit.toml").write_text('[county]\nname = "测试县"\nadcode = "420704"\nyear = 2024\n', encoding="utf-8")
    return d


# ---- the cases ----------------------------------------------------------------------
# name -> (builder, check_exit, check_needles, run_exit, run_needles, qa_codes)
CASES: dict[str, tuple] = {}


#: cases whose `landkit run` must give the same headline figures as the unbroken base county
#: (the break is one a bureau's file really has, and landkit must read through it)
SAME_FIGURES: set[str] = set()


def case(check_exit, check_needles=(), run_exit=None, run_needles=None, qa=(), same_figures=False):
    def deco(fn):
        CASES[fn.__name__] = (fn, check_exit, tuple(check_needles),
                              check_exit if run_exit is None else run_exit,
                              tuple(check_needles if run_needles is None else run_needles), tuple(qa))
        if same_figures:
            SAME_FIGURES.add(fn.__name__)
        return fn
    return deco


@case(1, [".shx", "DLTB.shp"])
def missing_shx(d):
    write_county(d, base_layers())
    (d / "DLTB.shx").unlink()


@case(1, [".dbf", "DLTB.shp"])
def missing_dbf(d):
    write_county(d, base_layers())
    (d / "DLTB.dbf").unlink()


@case(0, ["坐标"], qa=["crs_guessed"])
def missing_prj_zone_eastings(d):
    write_county(d, base_layers(), DLTB={"prj": False})


@case(1, ["DLTB.shp"])
def truncated_shp(d):
    write_county(d, base_layers())
    p = d / "DLTB.shp"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


@case(1, ["DLTB.dbf", "不完整"])
def truncated_dbf(d):
    write_county(d, base_layers())
    p = d / "DLTB.dbf"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


@case(1, ["DLTB.shp"])
def zero_byte_shp(d):
    write_county(d, base_layers())
    (d / "DLTB.shp").write_bytes(b"")


@case(0, qa=["encoding"])
def cpg_that_lies(d):
    write_county(d, base_layers())
    (d / "DLTB.cpg").write_text("UTF-8")


@case(0, qa=["encoding"])
def gbk_without_cpg(d):
    write_county(d, base_layers())


@case(1, ["6 位", "longitude"])
def six_digit_eastings_no_prj(d):
    layers = base_layers()
    layers = {k: v.set_geometry(v.geometry.translate(-38_000_000, 0)).set_crs("EPSG:4547", allow_override=True)
              for k, v in layers.items()}
    write_county(d, layers, **{k: {"prj": False} for k in layers})


@case(1, ["经纬度"])
def lonlat_under_gk_prj(d):
    layers = base_layers()
    layers["DLTB"] = layers["DLTB"].to_crs(4490)
    write_county(d, layers, DLTB={"prj": False})
    (d / "DLTB.prj").write_text(XIAN80)


@case(0, qa=["reprojected"])
def layers_in_different_crs(d):
    layers = base_layers()
    layers["YJJBNTBHTB"] = layers["YJJBNTBHTB"].to_crs(4490)
    layers["卫片图斑"] = layers["卫片图斑"].to_crs("EPSG:4547")
    write_county(d, layers)


@case(0, qa=["datum_shift"])
def xian80_layer_in_cgcs2000_county(d):
    write_county(d, base_layers())
    (d / "批准用地.prj").write_text(XIAN80)


@case(1, ["面图层", "点"])
def points_where_polygons_belong(d):
    layers = base_layers()
    layers["DLTB"] = layers["DLTB"].set_geometry(layers["DLTB"].geometry.centroid)
    write_county(d, layers)


@case(1, ["面图层", "线"])
def lines_where_polygons_belong(d):
    layers = base_layers()
    layers["YJJBNTBHTB"] = layers["YJJBNTBHTB"].set_geometry(layers["YJJBNTBHTB"].geometry.boundary)
    write_county(d, layers)


@case(0, qa=["geometry_null"])
def null_geometries(d):
    layers = base_layers()
    layers["DLTB"].loc[3, "geometry"] = None
    write_county(d, layers)


@case(0, qa=["geometry_repaired"])
def bowtie_polygons(d):
    layers = base_layers()
    x, y = X0 + 600, Y0 + 600
    layers["DLTB"].loc[15, "geometry"] = shapely.Polygon([(x, y), (x + 200, y + 200), (x + 200, y), (x, y + 200)])
    write_county(d, layers)


@case(0, qa=["dlbm_unknown"])
def unknown_dlbm(d):
    layers = base_layers()
    layers["DLTB"].loc[2, "DLBM"] = "0799"
    write_county(d, layers)


@case(0, qa=["zldwdm_invalid"])
def zldwdm_18_digits(d):
    layers = base_layers()
    layers["DLTB"].loc[5, "ZLDWDM"] = "420704100101000000"
    write_county(d, layers)


@case(0, qa=["kcxs_range"])
def kcxs_one_or_more(d):
    layers = base_layers()
    layers["DLTB"].loc[0, "KCXS"] = 1.0
    write_county(d, layers)


@case(0, qa=["duplicate_id"])
def duplicate_bsm(d):
    layers = base_layers()
    layers["DLTB"].loc[1, "BSM"] = layers["DLTB"].loc[0, "BSM"]
    write_county(d, layers)


@case(1, ["地类编码", "DLBM"])
def required_field_missing(d):
    layers = base_layers()
    layers["DLTB"] = layers["DLTB"].drop(columns=["DLBM", "DLMC"])
    write_county(d, layers)


@case(1, ["待核实", "判定类型", "[satellite.judgement]", "42070420240000"])   # the value, the setting, the patch
def unknown_judgement_values(d):
    layers = base_layers()
    layers["卫片图斑"].loc[0, "判定类型"] = "待核实"
    write_county(d, layers)


@case(1, ["判定类型"])
def patches_without_judgement_field(d):
    layers = base_layers()
    layers["卫片图斑"] = layers["卫片图斑"].drop(columns=["判定类型"])
    write_county(d, layers)


@case(0, qa=["date_unparseable"])
def dates_mixed_and_broken(d):
    layers = base_layers()
    layers["供地"]["供地日期"] = ["2019年9月1日", "去年年底"]
    layers["批准用地"]["批准日期"] = ["43600", "2021.3.2"]
    write_county(d, layers)


@case(0, qa=["field_not_numeric"])
def text_in_numeric_field(d):
    layers = base_layers()
    layers["供地"]["出让价款"] = ["1200", "待定"]
    write_county(d, layers)


@case(0)
def script_and_quotes_in_text(d):
    layers = base_layers()
    layers["卫片图斑"]["项目名称"] = ['<script>window.__pwned=1</script>', '"引号" & \'单引号\'', "<b>粗体</b>",
                                   "</td></tr>", "正常", "<img src=x onerror=alert(1)>"]
    layers["供地"]["土地使用权"] = ["<script>alert('x')</script>", "某公司 & 合伙人"]
    write_county(d, layers)


@case(1, ["为空"])
def empty_layer(d):
    layers = base_layers()
    layers["DLTB"] = layers["DLTB"].iloc[:0]
    write_county(d, layers)


@case(0)
def chinese_layer_names_in_geopackage(d):
    layers = base_layers()
    d.mkdir(parents=True, exist_ok=True)
    gp = d / "县级数据库.gpkg"
    for name, role in (("DLTB", "地类图斑"), ("YJJBNTBHTB", "永久基本农田"), ("卫片图斑", "卫片图斑")):
        layers[name].to_file(gp, layer=role, driver="GPKG")
    write_county(d, {"批准用地": layers["批准用地"], "供地": layers["供地"]})


@case(0)
def path_with_spaces_and_chinese(d):
    write_county(d / "二〇二四 年度 数据" / "第 1 批", base_layers())


@case(1, ["DLTB"])
def no_dltb_layer(d):
    layers = base_layers()
    layers["某某数据"] = layers.pop("DLTB")
    write_county(d, layers)


@case(1, ["编码"])
def dbf_bytes_in_no_known_encoding(d):
    write_county(d, base_layers())
    dbf = d / "DLTB.dbf"
    raw = bytearray(dbf.read_bytes())
    hlen = struct.unpack("<H", raw[8:10])[0]
    raw[hlen + 1: hlen + 5] = b"\xff\xfe\xff\xfe"
    dbf.write_bytes(bytes(raw))


@case(1, ["配置文件"])
def broken_landkit_toml(d):
    write_county(d, base_layers())
    (d / "landkit.toml").write_text("[county\nname = 测试", encoding="utf-8")


@case(1, ["永久基本农田.gpkg"])
def corrupt_geopackage(d):
    write_county(d, base_layers())
    (d / "YJJBNTBHTB.shp").unlink()
    (d / "永久基本农田.gpkg").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)


@case(1, ["dltb.geojson"])
def invalid_geojson(d):
    layers = base_layers()
    layers.pop("DLTB")
    write_county(d, layers)
    (d / "dltb.geojson").write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")


@case(0, run_exit=1, run_needles=["没有耕地"])
def county_without_cultivated_land(d):
    layers = base_layers()
    layers["DLTB"]["DLBM"] = ["0701" if c in ("0101", "0102", "0103") else c for c in CODES]
    layers["DLTB"]["KCXS"] = 0.0
    write_county(d, layers)


@case(0, qa=["geometry_z"])
def polygons_with_z(d):
    layers = base_layers()
    layers["DLTB"] = layers["DLTB"].set_geometry(shapely.force_3d(layers["DLTB"].geometry.values, 12.5))
    write_county(d, layers)


@case(0, qa=["self_overlap"])
def yjjbnt_overlapping_itself(d):
    layers = base_layers()
    yj = layers["YJJBNTBHTB"]
    dup = yj.iloc[[0]].copy()
    dup["YJJBNTTBBH"] = "DUP"
    layers["YJJBNTBHTB"] = gpd.GeoDataFrame(pd.concat([yj, dup], ignore_index=True), crs=CRS)
    write_county(d, layers)


@case(0)
def uppercase_extensions(d):
    write_county(d, base_layers())
    for p in list(d.glob("DLTB.*")):
        p.rename(p.with_suffix(p.suffix.upper()))


# ---- real exports from other bureaus and vendors (issue 15) --------------------------

@case(0, same_figures=True)
def unbroken_base_county(d):
    """The reference: the base county as it should arrive."""
    write_county(d, base_layers())


@case(0, qa=["encoding"], same_figures=True)
def gbk_and_utf8_mixed_in_one_folder(d):
    """DLTB in GBK without .cpg, the 卫片 and 供地 files in UTF-8 with a .cpg, 批准用地 UTF-8 without one."""
    write_county(d, base_layers(), 卫片图斑={"encoding": "UTF-8", "cpg": True}, 供地={"encoding": "UTF-8", "cpg": True},
                 批准用地={"encoding": "UTF-8"})


@case(0, same_figures=True)
def cpg_naming_a_code_page_number(d):
    """.cpg files saying 936 (the GBK code page) the way ArcMap writes them."""
    write_county(d, base_layers())
    for name in ("DLTB", "卫片图斑", "供地"):
        (d / f"{name}.cpg").write_text("936")


@case(0, same_figures=True)
def esri_prj_of_cgcs2000_gk_zone(d):
    """The ESRI WKT ArcGIS writes for CGCS2000 3° GK zone 38 (no EPSG authority in it)."""
    write_county(d, base_layers())
    wkt = ('PROJCS["CGCS2000_3_Degree_GK_Zone_38",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
           'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
           'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",38500000.0],'
           'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],'
           'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')
    for p in d.glob("*.prj"):
        p.write_text(wkt)


@case(0, qa=["crs_guessed"], same_figures=True)
def six_digit_eastings_with_longitude_setting(d):
    """No .prj, eastings without the zone number, and [county] longitude saying where the county is."""
    six_digit_eastings_no_prj(d)
    (d / "landkit.toml").write_text('[county]\nname = "测试县"\nadcode = "420704"\nyear = 2024\nlongitude = 114.6\n',
                                    encoding="utf-8")


@case(0, qa=["reprojected"], same_figures=True)
def lonlat_dltb_with_projected_yjjbnt(d):
    """DLTB delivered in CGCS2000 longitude/latitude (EPSG:4490), 永农 and the rest in GK zone 38."""
    layers = base_layers()
    layers["DLTB"] = layers["DLTB"].to_crs(4490)
    write_county(d, layers)


@case(0, qa=["geometry_z"], same_figures=True)
def dltb_with_z_everywhere(d):
    """3-D polygons (a Z of 25 m on every vertex) from a CAD conversion."""
    layers = base_layers()
    layers["DLTB"] = layers["DLTB"].set_geometry(shapely.force_3d(layers["DLTB"].geometry.values, 25.0))
    write_county(d, layers)


@case(0, same_figures=True)
def dates_as_numbers_and_excel_serials(d):
    """批准日期 as 8-digit numbers (a numeric .dbf field), 供地日期 as Excel serial day numbers."""
    layers = base_layers()
    layers["批准用地"]["批准日期"] = [20190510, 20210302]
    layers["供地"]["供地日期"] = [43709.0, 44531.0]            # 2019-09-01, 2021-12-01
    layers["供地"]["约定动工日"] = [43891.0, 44713.0]          # 2020-03-01, 2022-06-01
    write_county(d, layers)


@case(0, same_figures=True)
def dates_as_text_with_times(d):
    """Dates typed with a time of day, as a database export writes them."""
    layers = base_layers()
    layers["批准用地"]["批准日期"] = ["2019-05-10 00:00:00", "2021/03/02 08:30"]
    layers["供地"]["供地日期"] = ["2019-09-01 00:00:00", "2021-12-01T00:00:00"]
    write_county(d, layers)


@case(0, same_figures=True)
def thousands_separators_in_numbers(d):
    """TBMJ, KCMJ and 出让价款 as text with thousands separators ("40,123.45")."""
    layers = base_layers()
    for c in ("TBMJ", "KCMJ", "TBDLMJ"):
        layers["DLTB"][c] = [f"{v:,.2f}" for v in layers["DLTB"][c]]
    layers["供地"]["出让价款"] = ["1,200", "800"]
    write_county(d, layers)


@case(0, same_figures=True)
def codes_with_trailing_spaces(d):
    """Codes padded with spaces (fixed-width exports): DLBM "0101  ", ZLDWDM and QSXZ likewise."""
    layers = base_layers()
    for c in ("DLBM", "ZLDWDM", "QSXZ"):
        layers["DLTB"][c] = [f" {v}  " for v in layers["DLTB"][c]]
    layers["卫片图斑"]["判定类型"] = [f"{v} " for v in layers["卫片图斑"]["判定类型"]]
    write_county(d, layers)


@case(0, same_figures=True)
def fullwidth_digits_in_codes(d):
    """Codes typed with full-width digits and letters (０１０１, ０５Ｈ１) by an input method."""
    layers = base_layers()
    full = str.maketrans("0123456789H", "０１２３４５６７８９Ｈ")
    layers["DLTB"]["DLBM"] = [v.translate(full) for v in layers["DLTB"]["DLBM"]]
    layers["DLTB"]["ZLDWDM"] = [v.translate(full) for v in layers["DLTB"]["ZLDWDM"]]
    write_county(d, layers)


@case(0, same_figures=True)
def dlbm_as_a_numeric_field(d):
    """DLBM stored in a numeric .dbf field, so 0101 arrives as 101 (the state-owned 05H1 parcel is
    0508 here, a code a number can hold; both are state 建设用地, so no figure moves)."""
    layers = base_layers()
    layers["DLTB"]["DLBM"] = layers["DLTB"]["DLBM"].replace({"05H1": "0508"}).astype(int)
    write_county(d, layers)


@case(0, qa=["dlbm_from_dlmc"], same_figures=True)
def dlmc_names_without_dlbm_codes(d):
    """A DLTB export with 地类名称 only: the codes come from the 三调 table."""
    layers = base_layers()
    layers["DLTB"] = layers["DLTB"].drop(columns=["DLBM"])
    write_county(d, layers)


@case(0, qa=["dlbm_names_mapped"], same_figures=True)
def names_typed_in_the_dlbm_field(d):
    """The DLBM field holds the names (水田, 城镇住宅用地, ...) instead of the codes."""
    layers = base_layers()
    layers["DLTB"]["DLBM"] = layers["DLTB"]["DLMC"]
    write_county(d, layers)


@case(1, ["DLBM", "无效", "DLTB.shp", "[fields.dltb]"])
def dlbm_mostly_not_codes(d):
    """A DLBM field holding another system's classes (A1, B2 ...): the layer cannot be used."""
    layers = base_layers()
    layers["DLTB"]["DLBM"] = [f"{'ABCD'[i % 4]}{i % 3}" for i in range(16)]
    layers["DLTB"]["DLMC"] = ["其他"] * 16
    write_county(d, layers)


@case(1, ["ZLDWDM", "名称而不是代码", "DLTB.shp", "[fields.dltb]"])
def zldwdm_holds_names(d):
    """The 坐落单位代码 field holds the unit names."""
    layers = base_layers()
    layers["DLTB"]["ZLDWDM"] = layers["DLTB"]["ZLDWMC"]
    write_county(d, layers)


@case(1, ["ZLDWDM", "12 位", "DLTB.shp"])
def zldwdm_village_codes_of_12_digits(d):
    """坐落单位代码 cut to the 12-digit village code."""
    layers = base_layers()
    layers["DLTB"]["ZLDWDM"] = [v[:12] for v in layers["DLTB"]["ZLDWDM"]]
    write_county(d, layers)


@case(1, ["批准日期", "无效", "批准用地.shp"])
def approval_dates_mostly_not_dates(d):
    """批准日期 filled with words ("待定", "见批文"): the approvals layer cannot be used."""
    layers = base_layers()
    layers["批准用地"]["批准日期"] = ["待定", "见批文"]
    write_county(d, layers)


@case(0, qa=["duplicate_id"])
def duplicate_patch_numbers(d):
    """Two 卫片 patches with the same 监测编号 (a patch issued twice)."""
    layers = base_layers()
    layers["卫片图斑"].loc[3, "监测编号"] = layers["卫片图斑"].loc[2, "监测编号"]
    write_county(d, layers)


@case(0, qa=["outside_county"])
def yjjbnt_far_outside_the_county(d):
    """A 永农 layer shifted 300 km (another county's delivery, or false easting twice)."""
    layers = base_layers()
    layers["YJJBNTBHTB"] = layers["YJJBNTBHTB"].set_geometry(layers["YJJBNTBHTB"].geometry.translate(300_000, 0))
    write_county(d, layers)


@case(0, qa=["adcode_invalid"])
def folder_code_that_is_no_county(d):
    """A folder named with a code that is no county (990000) and no adcode in landkit.toml: the
    code from the DLTB 坐落单位代码 is used."""
    inner = d / "990000_测试县"
    write_county(inner, base_layers())
    (inner / "landkit.toml").write_text('[county]\nyear = 2024\n', encoding="utf-8")


@case(1, ["adcode", "[county]", "landkit.toml"])
def adcode_setting_that_is_no_county(d):
    """[county] adcode = "4207" in landkit.toml."""
    write_county(d, base_layers())
    (d / "landkit.toml").write_text('[county]\nname = "测试县"\nadcode = "4207"\nyear = 2024\n', encoding="utf-8")


@case(0, same_figures=True)
def two_dltb_vintages_in_one_folder(d):
    """DLTB_2023.shp and DLTB_2024.shp side by side; year = 2024 reads DLTB_2024 (the base)."""
    layers = base_layers()
    old = layers["DLTB"].copy()
    old["DLBM"] = "0101"                   # the 2023 vintage: all 水田
    write_county(d, {**{k: v for k, v in layers.items() if k != "DLTB"}, "DLTB_2024": layers["DLTB"],
                     "DLTB_2023": old})


@case(0, same_figures=True)
def filegdb_with_two_dltb_feature_classes(d):
    """A FileGDB holding DLTB_2023 and DLTB_2024 (and the 永农), as a 变更调查 database arrives."""
    layers = base_layers()
    old = layers["DLTB"].copy()
    old["DLBM"] = "0101"
    write_county(d, {k: v for k, v in layers.items() if k not in ("DLTB", "YJJBNTBHTB")})
    gdb = d / "变更调查.gdb"
    for name, g in (("DLTB_2023", old), ("DLTB_2024", layers["DLTB"]), ("YJJBNTBHTB", layers["YJJBNTBHTB"])):
        g.to_file(gdb, layer=name, driver="OpenFileGDB", engine="pyogrio")


@case(0, same_figures=True)
def judgement_values_with_spaces_and_fullwidth_brackets(d):
    """判定类型 typed with leading/trailing spaces and a full-width space: the class must not change."""
    layers = base_layers()
    layers["卫片图斑"]["判定类型"] = ["合法\u3000", " 违法", "非农违法 ", "设施农用地", "伪变化", "合法"]
    write_county(d, layers)


@case(0, same_figures=True)
def patches_without_prj(d):
    """The 卫片 file without .prj, in 8-digit eastings with the zone number (38 500 000 …)."""
    write_county(d, base_layers(), 卫片图斑={"prj": False})


@case(0, qa=["repair_area_changed"])
def bowtie_whose_lobes_cancel(d):
    """A 地类图斑 drawn as a bow-tie with equal lobes: as drawn its area is 0, repaired it is the two lobes."""
    layers = base_layers()
    x, y = X0 + 600, Y0 + 600
    layers["DLTB"].loc[15, "geometry"] = shapely.Polygon([(x, y), (x + 200, y + 200), (x + 200, y), (x, y + 200)])
    write_county(d, layers)


@case(0, qa=["layer_empty"])
def empty_patches_layer(d):
    """A 卫片图斑 file with no features (a quarter without patches): the rest of the county runs,
    the 卫片 figures are 未提供数据."""
    layers = base_layers()
    layers["卫片图斑"] = layers["卫片图斑"].iloc[:0]
    write_county(d, layers)


def build(root: Path = BAD) -> Path:
    if root.exists():
        shutil.rmtree(root)
    for name, (fn, *_rest) in CASES.items():
        fn(root / name)
    (root / "README.md").write_text(
        "# Bad-input corpus\n\nGenerated by `python tests/data/make_bad_corpus.py`; do not edit by hand.\n"
        f"{len(CASES)} county folders, each broken in one way; `tests/test_bad_inputs.py` walks them all through "
        "`landkit check` and `landkit run`.\n", encoding="utf-8")
    return root


def county_dir(name: str, root: Path = BAD) -> Path:
    """The folder to hand to landkit for a case (some cases nest it)."""
    d = root / name
    if name == "path_with_spaces_and_chinese":
        return d / "二〇二四 年度 数据" / "第 1 批"
    if name == "folder_code_that_is_no_county":
        return d / "990000_测试县"
    return d


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    if len(sys.argv) > 1:                 # rebuild only the named cases
        for name in sys.argv[1:]:
            shutil.rmtree(BAD / name, ignore_errors=True)
            CASES[name][0](BAD / name)
        sys.exit(0)
    out = build()
    print(f"{len(CASES)} cases written to {out}")

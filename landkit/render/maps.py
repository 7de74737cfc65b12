"""Interactive county maps (folium/Leaflet), for Jupyter and for the report.

    >>> import landkit as lk
    >>> from landkit.pipeline.run import analyse
    >>> county = lk.read_county("sample_data/420704_鄂城区")
    >>> m = county_map(county, analyse(county))          # shows inline in Jupyter
    >>> m.save("map.html")                                # one self-contained, offline file

Layers (each toggleable in the layer control, styled in the colours bureaus use, with a
legend): 乡镇 卫片比例分级 (choropleth), 永久基本农田, 地类图斑 (rendered image, off by default),
生态保护红线 / 城镇开发边界, 批而未供 / 闲置 / 低效 / 集体经营性 land, overlaps with 永久基本农田,
卫片 patches by judgement (违法 on top, prominent), 乡镇界线 with names.

Display only: geometries are simplified in metres (``coverage_simplify`` for coverages), moved
to lon/lat (and into GCJ-02 for a Gaode basemap), rounded to 6 decimals and written with only the
fields shown. Dense layers (more than ``vector_limit`` features) are drawn as a rendered image.
Popups and tooltips are built in the browser with ``textContent``: no value from the data is
ever parsed as HTML. Figures are taken from the analysis results, never recomputed.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template
from markupsafe import escape

from ..standards.units import m2_to_mu, round_half_up
from . import basemaps as bm
from .offline import LEAFLET_CSS_URL, LEAFLET_JS_URL, iframe_html, render_offline
from ..io.fields import ROLE_NAMES as LAYER_NAMES
from ..analyses.county_analysis import summary_and_results
from ..standards.vocabulary import RATIO_STATUS

# ------------------------------------------------------------------ colours (bureau conventions)
STATUS_COLORS = {"pass": "#2e7d32", "over_cap": "#ef6c00", "accountability": "#c62828", "no_data": "#9e9e9e"}
STATUS_NAMES = RATIO_STATUS

PATCH_STYLES = {   # 卫片图斑 by judgement class
    "illegal": {"color": "#b71c1c", "weight": 2.5, "opacity": 1, "fillColor": "#e53935", "fillOpacity": 0.55},
    "legal": {"color": "#1565c0", "weight": 1.2, "opacity": 0.9, "fillColor": "#42a5f5", "fillOpacity": 0.3},
    "other": {"color": "#8d6e63", "weight": 1, "opacity": 0.9, "fillColor": "#bcaaa4", "fillOpacity": 0.3},
    "pseudo": {"color": "#9e9e9e", "weight": 1, "opacity": 0.8, "fillColor": "#e0e0e0", "fillOpacity": 0.15,
               "dashArray": "3 3"},
    "unjudged": {"color": "#d81b60", "weight": 1.5, "opacity": 1, "fillColor": "#f06292", "fillOpacity": 0.3},
}
PATCH_NAMES = {"illegal": "卫片图斑·违法", "legal": "卫片图斑·合法", "other": "卫片图斑·其他",
               "pseudo": "卫片图斑·伪变化", "unjudged": "卫片图斑"}
YJJBNT_STYLE = {"color": "#b8860b", "weight": 0.6, "opacity": 0.9, "fillColor": "#f4d03f", "fillOpacity": 0.45}
YJJBNT_RGBA = (244, 208, 63, 150)
OVERLAP_STYLE = {"color": "#c2185b", "weight": 2, "opacity": 1, "fillColor": "#ec407a", "fillOpacity": 0.35,
                 "dashArray": "5 3"}
INVENTORY = {   # key: (name, style)
    "approved_unsupplied": ("批而未供土地", {"color": "#e65100", "weight": 1.5, "opacity": 1, "fillColor": "#ff9800",
                                        "fillOpacity": 0.45}),
    "idle": ("闲置土地", {"color": "#4a148c", "weight": 1.5, "opacity": 1, "fillColor": "#8e24aa", "fillOpacity": 0.5}),
    "inefficient": ("低效用地", {"color": "#5d4037", "weight": 1.2, "opacity": 1, "fillColor": "#a1887f",
                             "fillOpacity": 0.5}),
    "collective_commercial": ("集体经营性建设用地", {"color": "#00695c", "weight": 1.2, "opacity": 1,
                                            "fillColor": "#26a69a", "fillOpacity": 0.45}),
}
INVENTORY_ALIASES = {
    "approved_unsupplied": "approved_unsupplied", "批而未供": "approved_unsupplied", "批而未供土地": "approved_unsupplied",
    "unsupplied": "approved_unsupplied",
    "idle": "idle", "闲置": "idle", "闲置土地": "idle",
    "inefficient": "inefficient", "低效": "inefficient", "低效用地": "inefficient", "城镇低效用地": "inefficient",
    "collective_commercial": "collective_commercial", "集体经营性": "collective_commercial",
    "集体经营性建设用地": "collective_commercial", "collective": "collective_commercial",
    "农村集体经营性建设用地": "collective_commercial",
}
CONTEXT = {   # optional 三区三线 context layers
    "stbhhx": ("生态保护红线", {"color": "#1b5e20", "weight": 1.5, "opacity": 1, "fillColor": "#66bb6a",
                           "fillOpacity": 0.15}, (102, 187, 106, 90)),
    "czkfbj": ("城镇开发边界", {"color": "#6a1b9a", "weight": 2, "opacity": 1, "fillColor": "#ce93d8",
                           "fillOpacity": 0.05, "dashArray": "6 4"}, (206, 147, 216, 70)),
}
#: township choropleth of the 卫片 ratio: (upper bound, colour, label)
RATIO_CLASSES = [(0.05, "#a5d6a7", "≤ 5%（达标）"), (0.10, "#ffe082", "5%–10%"), (0.15, "#ffab91", "10%–15%"),
                 (math.inf, "#ef5350", "≥ 15%（问责线）")]
TOWN_NODATA = "#eeeeee"
TOWN_LINE = {"color": "#37474f", "weight": 1.6, "opacity": 0.9, "fill": False, "dashArray": "8 4 2 4"}
#: DLTB context image: 一级类 (first two digits of DLBM) → RGBA (三调 palette, muted)
DLTB_COLORS = {
    "01": (250, 236, 160, 200), "02": (214, 226, 150, 200), "03": (150, 200, 140, 200), "04": (200, 225, 170, 200),
    "05": (236, 150, 150, 200), "06": (205, 140, 160, 200), "07": (240, 175, 160, 200), "08": (230, 160, 190, 200),
    "09": (200, 150, 190, 200), "10": (190, 190, 190, 200), "11": (160, 200, 235, 200), "12": (215, 210, 195, 200),
    "20": (236, 150, 150, 200),
}
DLTB_NAMES = {"01": "耕地", "02": "园地", "03": "林地", "04": "草地", "05": "商业服务业用地", "06": "工矿用地",
              "07": "住宅用地", "08": "公共管理与公共服务用地", "09": "特殊用地", "10": "交通运输用地",
              "11": "水域及水利设施用地", "12": "其他土地", "20": "城镇村及工矿用地"}

#: the layers checked against 永久基本农田, with their Chinese names
ROLE_NAMES = {k: LAYER_NAMES[k] for k in ("approvals", "supply", "parcels", "patches")}


# ------------------------------------------------------------------ formatting (for display only)
def _blank(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        return bool(pd.isna(v)) if np.ndim(v) == 0 else False
    except (TypeError, ValueError):
        return False


def fmt_mu(v) -> str:
    """An area in 亩 for display: 2 decimals, round-half-up, thousands separators."""
    if _blank(v):
        return ""
    return f"{round_half_up(float(v), 2):,.2f} 亩"


def fmt_pct(v) -> str:
    if _blank(v):
        return ""
    return f"{round_half_up(float(v) * 100, 2):.2f}%"


def fmt_text(v) -> str:
    """Any value as display text (dates ISO, floats trimmed); escaping happens where it is shown."""
    if _blank(v):
        return ""
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return v.date().isoformat() if (v.hour, v.minute, v.second) == (0, 0, 0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (bool, np.bool_)):
        return "是" if v else "否"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    if isinstance(v, (list, tuple)):
        return "、".join(fmt_text(x) for x in v)
    return str(v)


# ------------------------------------------------------------------ display layers
@dataclass
class DisplayLayer:
    """One map layer ready to draw: display geometries (lon/lat) + per-feature style key and fields."""
    key: str
    name: str
    kind: str = "vector"                       # vector | image | labels
    show: bool = True
    interactive: bool = True
    geoms: gpd.GeoSeries | None = None         # lon/lat (EPSG:4326, GCJ-02 shifted when asked)
    keys: list = field(default_factory=list)   # style key per feature
    values: list = field(default_factory=list)  # field values (strings) per feature
    fields: list = field(default_factory=list)  # field labels
    tip_fields: int = 3                        # leading fields shown in the tooltip
    styles: dict = field(default_factory=dict)  # style key -> Leaflet path options
    legend: list = field(default_factory=list)  # (label, style key) or (label, css colour)
    image: bm.ImageLayer | None = None
    labels: list = field(default_factory=list)  # (lat, lon, text)
    media: list = field(default_factory=list)   # per feature: a key of media_src, or None (popup pictures)
    media_src: dict = field(default_factory=dict)  # key -> [[caption, data URI or "" (an <img> of the page), why not]]

    @property
    def count(self) -> int:
        return 0 if self.geoms is None else len(self.geoms)


def _round6(gs: gpd.GeoSeries) -> gpd.GeoSeries:
    return gpd.GeoSeries(shapely.transform(gs.values, lambda xy: np.round(xy, 6)), index=gs.index, crs=gs.crs)


def _polygonal(geoms) -> np.ndarray:
    g = np.asarray(geoms, dtype=object)
    keep = np.array([x is not None and not x.is_empty and x.geom_type in ("Polygon", "MultiPolygon") for x in g],
                    dtype=bool)
    return keep


def _simplify(geoms: np.ndarray, tol: float, coverage: bool = False) -> np.ndarray:
    if tol <= 0 or len(geoms) == 0:
        return geoms
    if coverage:
        try:
            out = shapely.coverage_simplify(geoms, tol)
            if not np.any(shapely.is_empty(out)):
                return out
        except Exception:      # not a clean coverage: fall back to per-polygon simplification
            pass
    out = shapely.simplify(geoms, tol, preserve_topology=True)
    return np.where(shapely.is_empty(out), geoms, out)


def _display(geoms, crs, opts) -> gpd.GeoSeries:
    return _round6(bm.to_lonlat(gpd.GeoSeries(geoms, crs=crs), crs, opts.gcj02))


@dataclass
class _Opts:
    gcj02: bool = False
    simplify_m: float = 1.0
    township_simplify_m: float = 5.0
    vector_limit: int = 5000
    vertex_limit: int = 250_000
    raster_px: int = 2048
    chips: object = None          # a render.chips.ChipSet: pictures in the 卫片 patch popups
    embed_chips: bool = True      # False: the popups take the pictures from the page's <img id="lkchip-…">


def _vector_layer(key, name, gdf, crs, opts, *, keys, fields, values, styles, legend, show=True,
                  interactive=True, tip_fields=3, coverage=False, tol=None) -> DisplayLayer:
    g = gdf.geometry.to_numpy() if hasattr(gdf, "geometry") else np.asarray(gdf, dtype=object)
    keep = _polygonal(g)
    g = _simplify(g[keep], opts.simplify_m if tol is None else tol, coverage)
    keys = [k for k, ok in zip(keys, keep) if ok]
    values = [v for v, ok in zip(values, keep) if ok]
    return DisplayLayer(key, name, "vector", show, interactive, _display(g, crs, opts), keys, values, fields,
                        tip_fields, styles, legend)


def _image_layer(key, name, gdf, crs, opts, classes, colors, legend, show=True) -> DisplayLayer:
    g = gdf.geometry.to_numpy()
    keep = _polygonal(g)
    merc = bm.to_mercator(gpd.GeoSeries(g[keep], crs=crs), crs, opts.gcj02)
    img = bm.rasterize_layer(merc.values, np.asarray(classes)[keep], colors, max_px=opts.raster_px)
    return DisplayLayer(key, name, "image", show, False, legend=legend, image=img)


def _too_heavy(gdf, opts) -> bool:
    if len(gdf) > opts.vector_limit:
        return True
    return int(shapely.get_num_coordinates(gdf.geometry.to_numpy()).sum()) > opts.vertex_limit


def _col(gdf, name):
    return gdf[name].tolist() if name in gdf.columns else [None] * len(gdf)


def _area_mu_col(gdf) -> list:
    for c in ("area_mu", "面积_亩", "mj_mu"):
        if c in gdf.columns:
            return gdf[c].tolist()
    if "lk_area_m2" in gdf.columns:
        return m2_to_mu(gdf["lk_area_m2"].to_numpy()).tolist()
    if "area_m2" in gdf.columns:
        return m2_to_mu(gdf["area_m2"].to_numpy()).tolist()
    return [None] * len(gdf)


def _town_names(county, summary) -> dict:
    names = {}
    t = county.townships
    if t is not None and "XZQDM" in t.columns:
        names.update({str(k): str(v) for k, v in zip(t["XZQDM"], _col(t, "XZQMC")) if not _blank(k) and not _blank(v)})
    for sec in ("satellite", "inventory", "disposal"):
        for r in ((summary or {}).get(sec) or {}).get("by_township") or []:
            if isinstance(r, dict) and r.get("code") and r.get("name"):
                names.setdefault(str(r["code"]), str(r["name"]))
    return names


def _ratio_class(ratio) -> str:
    if _blank(ratio):
        return "nd"
    for i, (hi, _, _) in enumerate(RATIO_CLASSES):
        if ratio < hi or (i == 0 and ratio <= hi):
            return f"c{i}"
    return f"c{len(RATIO_CLASSES) - 1}"


def _township_layers(county, summary, opts) -> list[DisplayLayer]:
    t = county.townships
    if t is None or len(t) == 0:
        return []
    sat = (summary or {}).get("satellite") or {}
    rows = {str(r.get("code")): r for r in sat.get("by_township") or []} if sat.get("available", True) else {}
    codes = [fmt_text(c) for c in _col(t, "XZQDM")]
    names = [fmt_text(n) for n in _col(t, "XZQMC")]
    out = []
    if rows:
        styles = {f"c{i}": {"color": "#607d8b", "weight": 0.8, "opacity": 1, "fillColor": c, "fillOpacity": 0.45}
                  for i, (_, c, _) in enumerate(RATIO_CLASSES)}
        styles["nd"] = {"color": "#607d8b", "weight": 0.8, "opacity": 1, "fillColor": TOWN_NODATA, "fillOpacity": 0.4}
        keys, values = [], []
        for c, n in zip(codes, names):
            r = rows.get(c) or {}
            keys.append(_ratio_class(r.get("ratio")) if r else "nd")
            values.append([n or r.get("name") or c, c, fmt_pct(r.get("ratio")) if r else "无卫片图斑",
                           fmt_mu(r.get("illegal_farmland_mu")), fmt_mu(r.get("new_construction_farmland_mu")),
                           fmt_text(r.get("illegal_patch_count")), fmt_mu(r.get("rectify_to_cap_mu")),
                           STATUS_NAMES.get(r.get("status"), "") if r else ""])
        legend = [(lbl, f"c{i}") for i, (_, _, lbl) in enumerate(RATIO_CLASSES)] + [("无卫片图斑", "nd")]
        out.append(_vector_layer(
            "township_ratio", "乡镇卫片违法占用耕地比例", t, county.crs, opts, keys=keys,
            fields=["乡镇", "代码", "卫片违法占用耕地比例", "违法占用耕地", "新增建设用地占用耕地", "违法图斑数",
                    "达标需整改耕地", "状态"],
            values=values, styles=styles, legend=legend, tip_fields=3, coverage=True, tol=opts.township_simplify_m))
    line = _vector_layer("township_lines", "乡镇界线", t, county.crs, opts, keys=["line"] * len(t),
                         fields=["乡镇", "代码"], values=[[n, c] for n, c in zip(names, codes)],
                         styles={"line": TOWN_LINE}, legend=[("乡镇界线", "line")], interactive=False,
                         coverage=True, tol=opts.township_simplify_m)
    pts = bm.to_lonlat(gpd.GeoSeries(t.geometry.representative_point().values, crs=county.crs), county.crs, opts.gcj02)
    labels = [(round(p.y, 6), round(p.x, 6), n) for p, n in zip(pts.values, names) if n and p is not None]
    out.append(line)
    out.append(DisplayLayer("township_labels", "乡镇名称", "labels", True, False, labels=labels))
    return out


def _dltb_layer(county, opts) -> list[DisplayLayer]:
    d = county.dltb
    if d is None or len(d) == 0 or "DLBM" not in d.columns:
        return []
    prefix = d["DLBM"].astype("string").str[:2].fillna("")
    codes = sorted(k for k in DLTB_COLORS if (prefix == k).any())
    idx = {k: i + 1 for i, k in enumerate(codes)}
    classes = np.array([idx.get(p, 0) for p in prefix.tolist()], dtype=np.uint8)
    colors = {idx[k]: DLTB_COLORS[k] for k in codes}
    legend = [(DLTB_NAMES[k], "rgba({},{},{},{:.2f})".format(*DLTB_COLORS[k][:3], DLTB_COLORS[k][3] / 255))
              for k in codes]
    return [_image_layer("dltb", "地类图斑（三调一级类）", d, county.crs, opts, classes, colors, legend, show=False)]


def _yjjbnt_layer(county, opts) -> list[DisplayLayer]:
    y = county.yjjbnt
    if y is None or len(y) == 0:
        return []
    if _too_heavy(y, opts):
        rgba = "rgba({},{},{},{:.2f})".format(*YJJBNT_RGBA[:3], YJJBNT_RGBA[3] / 255)
        return [_image_layer("yjjbnt", "永久基本农田", y, county.crs, opts, np.ones(len(y), np.uint8),
                             {1: YJJBNT_RGBA}, [("永久基本农田", rgba)])]
    ids = _col(y, "YJJBNTTBBH") if "YJJBNTTBBH" in y.columns else _col(y, "JBNTTBBH")
    values = [[fmt_text(i), fmt_text(dl), fmt_text(dm), fmt_mu(a)]
              for i, dl, dm, a in zip(ids, _col(y, "DLBM"), _col(y, "DLMC"), _area_mu_col(y))]
    return [_vector_layer("yjjbnt", "永久基本农田", y, county.crs, opts, keys=["y"] * len(y),
                          fields=["永久基本农田图斑编号", "地类编码", "地类名称", "面积"], values=values,
                          styles={"y": YJJBNT_STYLE}, legend=[("永久基本农田", "y")], tip_fields=2)]


def _context_layers(county, opts) -> list[DisplayLayer]:
    out = []
    for role, (name, style, rgba) in CONTEXT.items():
        g = county.layers.get(role) if hasattr(county, "layers") else None
        if g is None or len(g) == 0:
            continue
        if _too_heavy(g, opts):
            out.append(_image_layer(role, name, g, county.crs, opts, np.ones(len(g), np.uint8), {1: rgba},
                                    [(name, "rgba({},{},{},{:.2f})".format(*rgba[:3], rgba[3] / 255))], show=False))
        else:
            out.append(_vector_layer(role, name, g, county.crs, opts, keys=["c"] * len(g), fields=["名称", "面积"],
                                     values=[[name, fmt_mu(a)] for a in _area_mu_col(g)], styles={"c": style},
                                     legend=[(name, "c")], show=False, tip_fields=2))
    return out


#: fields for the feature popups: (column, label, formatter); only existing columns are shown
_ID_COLS = ["id", "编号", "地块编号", "电子监管号", "批准文号", "批次名称", "宗地号", "ZDDM", "监测编号", "合同编号"]
_INFO_COLS = [("status_name", "状态"), ("批准文号", "批准文号"), ("批次名称", "批次名称"), ("项目名称", "项目名称"), ("土地使用权人", "土地使用权人"), ("用地单位", "用地单位"), ("权利人", "权利人"),
              ("holder", "土地使用权人"), ("township_name", "乡镇"), ("乡镇", "乡镇"), ("cohort", "批准年份分组"),
              ("批准日期", "批准日期"), ("供地日期", "供地日期"), ("约定动工日期", "约定动工日期"),
              ("实际动工日期", "实际动工日期"), ("idle_since", "闲置起算日期"), ("idle_years", "闲置年限"),
              ("idle_type", "闲置类型"), ("闲置原因", "闲置原因"), ("cause", "闲置原因类别"),
              ("recover_candidate", "无偿收回候选"), ("lapse_candidate", "自动失效/撤回候选"), ("in_use", "未供即用"),
              ("reasons", "低效认定依据"), ("exempt_reasons", "豁免情形"), ("行业", "行业"), ("DLMC", "地类"),
              ("QSDWMC", "权属单位"), ("reason", "原因"), ("未供原因", "未供原因"),
              ("低效类型", "低效类型"), ("criteria", "认定依据"), ("用途", "用途"), ("容积率", "容积率"),
              ("亩均税收", "亩均税收"), ("处置方式", "处置方式"), ("disposal", "处置情况"), ("disposed", "已处置"),
              ("处置状态", "处置状态"), ("status", "状态")]
_MU_LABELS = {"area_mu": "面积", "unsupplied_mu": "未供面积", "approved_mu": "批准面积", "supplied_mu": "已供面积",
              "idle_mu": "闲置面积", "yjjbnt_mu": "压占永久基本农田", "farmland_mu": "占用耕地"}


def _generic_fields(gdf, township_names) -> tuple[list, list]:
    fields, getters = [], []
    idc = next((c for c in _ID_COLS if c in gdf.columns), None)
    if idc:
        fields.append("编号")
        getters.append(lambda r, c=idc: fmt_text(r[c]))
    mu_cols = [c for c in gdf.columns if isinstance(c, str) and c.endswith("_mu")]
    mu_cols.sort(key=lambda c: (c != "area_mu", list(_MU_LABELS).index(c) if c in _MU_LABELS else 99, c))
    if not mu_cols:
        area = _area_mu_col(gdf)
        fields.append("面积")
        getters.append(lambda r, a=dict(zip(gdf.index, area)): fmt_mu(a[r.name]))
    for c in mu_cols[:4]:
        fields.append(_MU_LABELS.get(c, c[:-3]))
        getters.append(lambda r, c=c: fmt_mu(r[c]))
    if "township" in gdf.columns and "township_name" not in gdf.columns:
        fields.append("乡镇")
        getters.append(lambda r: fmt_text(township_names.get(fmt_text(r["township"]), r["township"])))
    seen = set(fields)
    for c, label in _INFO_COLS:
        if c in gdf.columns and label not in seen and len(fields) < 14:
            seen.add(label)
            fields.append(label)
            getters.append(lambda r, c=c: fmt_text(r[c]))
    return fields, getters


def inventory_frames(obj) -> dict[str, gpd.GeoDataFrame]:
    """Per-category GeoDataFrames out of ``results["inventory"]`` (a dict, an object with
    ``.layers``/category attributes, or one frame with a ``category`` column)."""
    if obj is None:
        return {}
    cand = {}
    if isinstance(obj, gpd.GeoDataFrame):
        col = next((c for c in ("category", "类别", "kind") if c in obj.columns), None)
        if col is None:
            return {}
        cand = {k: g for k, g in obj.groupby(col)}
    elif isinstance(obj, dict):
        cand = obj.get("layers") if isinstance(obj.get("layers"), dict) else obj
    else:
        layers = getattr(obj, "layers", None) or getattr(obj, "frames", None)
        if callable(layers):
            try:
                layers = layers()
            except TypeError:
                layers = None
        if isinstance(layers, dict):
            cand = layers
        else:
            cand = {k: getattr(obj, k) for k in INVENTORY if isinstance(getattr(obj, k, None), gpd.GeoDataFrame)}
    out = {}
    for k, g in cand.items():
        key = INVENTORY_ALIASES.get(str(k))
        if key and isinstance(g, gpd.GeoDataFrame) and len(g):
            out[key] = g
    return out


def _inventory_layers(county, results, names, opts) -> list[DisplayLayer]:
    out = []
    frames = inventory_frames((results or {}).get("inventory"))
    for key, (name, style) in INVENTORY.items():
        g = frames.get(key)
        if g is None:
            continue
        if g.crs is not None and county.crs is not None and not g.crs.equals(county.crs):
            g = g.to_crs(county.crs)
        if _too_heavy(g, opts):
            rgba = tuple(int(style["fillColor"][i:i + 2], 16) for i in (1, 3, 5)) + (160,)
            out.append(_image_layer(key, name, g, g.crs, opts, np.ones(len(g), np.uint8), {1: rgba},
                                    [(name, style["fillColor"])]))
            continue
        fields, getters = _generic_fields(g, names)
        values = [[f(r) for f in getters] for _, r in g.iterrows()]
        out.append(_vector_layer(key, name, g, g.crs, opts, keys=["k"] * len(g), fields=fields, values=values,
                                 styles={"k": style}, legend=[(name, "k")]))
    return out


def _overlap_layers(county, results, opts) -> list[DisplayLayer]:
    parts = []
    for role, rname in ROLE_NAMES.items():
        fr = (results or {}).get(f"farmland_{role}")
        if fr is None:
            continue
        pieces = getattr(fr, "pieces", None)
        f = fr.features
        if pieces is not None and len(pieces):
            g = pieces
            vals = [[rname, fmt_text(i), fmt_mu(a), ""] for i, a in zip(_col(g, "id"), _area_mu_col(g))]
        else:
            sel = f["yjjbnt_m2"].to_numpy() > 0 if "yjjbnt_m2" in f.columns else np.zeros(len(f), bool)
            g = f[sel]
            vals = [[rname, fmt_text(i), fmt_mu(y), fmt_pct(s), fmt_mu(a), fmt_text(ids)]
                    for i, y, s, a, ids in zip(_col(g, "id"), _col(g, "yjjbnt_mu"), _col(g, "yjjbnt_share"),
                                               _col(g, "area_mu"), _col(g, "yjjbnt_ids"))]
        if len(g):
            parts.append((g, vals))
    if not parts:
        return []
    crs = parts[0][0].crs
    g = pd.concat([p[0].geometry.to_crs(crs) for p in parts], ignore_index=True)
    vals = [v for p in parts for v in p[1]]
    vals = [v + [""] * (6 - len(v)) for v in vals]
    frame = gpd.GeoDataFrame(geometry=g, crs=crs)
    if _too_heavy(frame, opts):
        return [_image_layer("overlap", "压占永久基本农田", frame, crs, opts, np.ones(len(frame), np.uint8),
                             {1: (236, 64, 122, 170)}, [("压占永久基本农田", OVERLAP_STYLE["fillColor"])])]
    return [_vector_layer("overlap", "压占永久基本农田", frame, crs, opts, keys=["o"] * len(frame),
                          fields=["图层", "编号", "压占永久基本农田", "压占比例", "要素面积", "永久基本农田图斑"],
                          values=vals, styles={"o": OVERLAP_STYLE}, legend=[("压占永久基本农田", "o")])]


def _patch_layers(county, results, names, opts) -> list[DisplayLayer]:
    sat = (results or {}).get("satellite")
    if sat is not None:
        p = sat.patches
        cls = p["class"].astype(object).tolist()
    elif county.patches is not None:      # no analysis: the patches are drawn, not judged here
        p = county.patches
        cls = ["unjudged"] * len(p)
    else:
        return []
    if p is None or len(p) == 0:
        return []
    fields = ["监测编号", "类别", "判定类型", "违法类型", "整改状态", "乡镇", "图斑面积", "占用耕地（计入）",
              "占用永久基本农田", "季度", "项目名称", "用地单位", "后时相"]
    area = _col(p, "area_mu") if "area_mu" in p.columns else _area_mu_col(p)
    ids = _col(p, "监测编号") if "监测编号" in p.columns else [f"FID {i}" for i in _col(p, "lk_fid")]
    from ..standards.vocabulary import CLASS_NAMES
    rows = list(zip(ids, cls, _col(p, "判定类型"), _col(p, "违法类型"), _col(p, "整改状态"), _col(p, "township"),
                    area, _col(p, "farmland_used_mu"), _col(p, "yjjbnt_mu"), _col(p, "quarter"), _col(p, "项目名称"),
                    _col(p, "用地单位"), _col(p, "后时相")))
    values = [[fmt_text(r[0]), CLASS_NAMES.get(r[1], "未判定"), fmt_text(r[2]), fmt_text(r[3]), fmt_text(r[4]),
               fmt_text(names.get(fmt_text(r[5]), r[5])), fmt_mu(r[6]), fmt_mu(r[7]), fmt_mu(r[8]),
               (f"第{fmt_text(r[9])}季度" if not _blank(r[9]) else ""), fmt_text(r[10]), fmt_text(r[11]),
               fmt_text(r[12])] for r in rows]
    out = []
    cls_arr = np.array(cls, dtype=object)
    for c in ("pseudo", "other", "legal", "unjudged", "illegal"):    # illegal drawn last, on top
        m = cls_arr == c
        if not m.any():
            continue
        sub = p[m]
        out.append(_vector_layer(f"patches_{c}", PATCH_NAMES[c], sub, p.crs, opts, keys=[c] * int(m.sum()),
                                 fields=fields, values=[v for v, ok in zip(values, m) if ok],
                                 styles={c: PATCH_STYLES[c]}, legend=[(PATCH_NAMES[c], c)], tip_fields=4,
                                 show=c != "pseudo"))
        if opts.chips is not None:
            _add_chip_media(out[-1], sub, opts)
    return out


def _zone_layers(county, results, opts) -> list[DisplayLayer]:
    """开发区 outlines with their 节约集约 indicators (render/zones.py); without an analysis the
    zone layer's own names."""
    from .zones import ZONE_STYLE, map_values
    z, fields, values = map_values((results or {}).get("zones"))
    if z is None:
        z = county.layers.get("zones") if hasattr(county, "layers") else None
        if z is None or len(z) == 0:
            return []
        fields = ["开发区", "代码", "面积"]
        values = [[fmt_text(n), fmt_text(c), fmt_mu(a)]
                  for n, c, a in zip(_col(z, "开发区名称"), _col(z, "开发区代码"), _area_mu_col(z))]
    return [_vector_layer("zones", "开发区范围", z, z.crs, opts, keys=["z"] * len(z), fields=fields, values=values,
                          styles={"z": ZONE_STYLE}, legend=[("开发区范围", "z")], tip_fields=2)]


def _add_chip_media(layer: DisplayLayer, sub, opts) -> None:
    """The before/after pictures of the layer's patches that have chips (popup media)."""
    chips = opts.chips
    found = chips.by_index()
    keep = _polygonal(sub.geometry.to_numpy())
    media = []
    for idx, ok in zip(sub.index, keep):
        if not ok:
            continue
        pc = found.get(idx)
        media.append(pc.key if pc is not None else None)
        if pc is not None:
            layer.media_src[pc.key] = [
                [chips.caption(r), (pc.chips[r].uri if opts.embed_chips else "") if r in pc.chips else "",
                 pc.reasons.get(r, "") if r not in pc.chips else ""] for r in ("before", "after")]
    if layer.media_src:
        layer.media = media


#: 耕地流出 by the class it became (三调 一级类): fill colour (strong: these are the changes)
CHANGE_COLORS = {"00": "#4db6ac", "02": "#9ccc65", "03": "#2e7d32", "04": "#c0ca33", "05": "#e53935",
                 "06": "#8e24aa", "07": "#f4511e", "08": "#d81b60", "09": "#6d4c41", "10": "#757575",
                 "11": "#1e88e5", "12": "#bcaaa4", "未知": "#9e9e9e"}
UNMONITORED_STYLE = {"color": "#b71c1c", "weight": 3, "opacity": 1, "dashArray": "6 3"}


def _change_layers(county, results, names, opts) -> list[DisplayLayer]:
    """耕地流出 (two DLTB vintages): every 耕地 piece that changed class, coloured by the 一级类 it
    became; a piece that became 建设用地 with no 卫片 patch on it (疑似漏监测) has a red dashed border."""
    ch = (results or {}).get("change")
    if ch is None:
        return []
    g = ch.outflow
    if g is None or not len(g):
        return []
    from ..standards.codes import LEVEL1_NAMES
    l1 = [c if c in CHANGE_COLORS else "未知" for c in g["to_level1"]]
    unmon = g["unmonitored"].to_numpy(dtype=bool)
    present = [c for c in CHANGE_COLORS if c in set(l1)]
    name = "耕地流出（按现地类）"
    if _too_heavy(g, opts):
        idx = {c: i + 1 for i, c in enumerate(present)}
        colors = {idx[c]: tuple(int(CHANGE_COLORS[c][i:i + 2], 16) for i in (1, 3, 5)) + (200,) for c in present}
        return [_image_layer("change_out", name, g, g.crs, opts, np.array([idx[c] for c in l1], np.uint8), colors,
                             [(LEVEL1_NAMES.get(c, c), CHANGE_COLORS[c]) for c in present])]
    styles = {}
    for c in present:
        base = {"color": "#37474f", "weight": 1, "opacity": 0.9, "fillColor": CHANGE_COLORS[c], "fillOpacity": 0.7}
        styles[c] = base
        styles[c + "_u"] = {**base, **UNMONITORED_STYLE}
    keys = [c + ("_u" if u else "") for c, u in zip(l1, unmon)]
    values = [[fmt_text(r.piece_id), f"{fmt_text(r.to_code)} {fmt_text(r.to_name)}",
               f"{fmt_text(r.from_code)} {fmt_text(r.from_name)}", fmt_mu(r.area_mu), fmt_text(r.township_name),
               fmt_text(r.kind_name), fmt_text(r.has_patch_name), fmt_text(r.patch_ids),
               "是" if r.unmonitored else "否"] for r in g.itertuples()]
    legend = [(LEVEL1_NAMES.get(c, c), c) for c in present]
    if unmon.any():
        styles["unmonitored"] = {**UNMONITORED_STYLE, "fill": False}
        legend.append(("疑似漏监测（变为建设用地、无卫片图斑）", "unmonitored"))
    return [_vector_layer("change_out", name, g, g.crs, opts, keys=keys,
                          fields=["编号", "现地类", "原地类", "面积", "乡镇", "变化类型", "是否有卫片图斑", "卫片监测编号",
                                  "疑似漏监测"], values=values, styles=styles, legend=legend, tip_fields=4)]


def display_layers(county, analysis=None, *, gcj02: bool = False, simplify_m: float = 1.0,
                   township_simplify_m: float = 5.0, vector_limit: int = 5000, vertex_limit: int = 250_000,
                   raster_px: int = 2048, dltb: bool = True, chips=None, embed_chips: bool = True) -> list[DisplayLayer]:
    """Every layer of the county map, bottom to top, ready to draw (also used for the print image).
    ``chips`` (a :class:`~landkit.render.chips.ChipSet`) puts the patches' before/after pictures in their popups."""
    opts = _Opts(gcj02, simplify_m, township_simplify_m, vector_limit, vertex_limit, raster_px, chips, embed_chips)
    summary, results = summary_and_results(analysis)
    names = _town_names(county, summary)
    towns = _township_layers(county, summary, opts)
    layers = []
    if dltb:
        layers += _dltb_layer(county, opts)
    layers += [t for t in towns if t.key == "township_ratio"]
    thematic = _yjjbnt_layer(county, opts)
    layers += thematic
    layers += _context_layers(county, opts)
    layers += _zone_layers(county, results, opts)
    for more in (_inventory_layers(county, results, names, opts), _overlap_layers(county, results, opts),
                 _change_layers(county, results, names, opts), _patch_layers(county, results, names, opts)):
        thematic += more
        layers += more
    if not thematic and not any(t.key == "township_ratio" for t in towns):
        # a county with DLTB only: the land-use overview is the map, so it is shown, not hidden
        for layer in layers:
            if layer.key == "dltb":
                layer.show = True
    layers += [t for t in towns if t.key != "township_ratio"]
    return layers


# ------------------------------------------------------------------ folium elements
def _json(obj) -> str:
    """Compact JSON safe inside a <script> element."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")


class VectorLayer(folium.map.Layer):
    """A GeoJSON layer whose tooltips/popups are built with textContent (data never parsed as HTML)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function(){
            var fields = {{ this.fields_json }}, styles = {{ this.styles_json }}, tipN = {{ this.tip_fields }};
            var title = {{ this.title_json }}, media = {{ this.media_json }};
            function pics(f, d) {
                var key = f.properties.m, list = key ? media[key] : null;
                if (!list) return;
                var w = document.createElement('div'); w.className = 'lk-chips';
                list.forEach(function(c, i) {
                    var fig = document.createElement('figure'), el = document.getElementById('lkchip-' + key + '-' + i);
                    var src = c[1] || (el ? el.src : '');
                    if (src) { var im = document.createElement('img'); im.src = src; im.alt = c[0]; fig.appendChild(im); }
                    else { var s = document.createElement('div'); s.className = 'lk-nochip';
                           s.textContent = c[2] || '未提供数据'; fig.appendChild(s); }
                    var cap = document.createElement('figcaption'); cap.textContent = c[0]; fig.appendChild(cap);
                    w.appendChild(fig);
                });
                d.appendChild(w);
            }
            function box(f, n, head) {
                var d = document.createElement('div'); d.className = 'lk-info';
                if (head) { var h = document.createElement('div'); h.className = 'lk-info-title';
                            h.textContent = head; d.appendChild(h); }
                var t = document.createElement('table'), v = f.properties.v || [];
                for (var i = 0; i < Math.min(n, fields.length); i++) {
                    if (v[i] === null || v[i] === undefined || v[i] === '') continue;
                    var tr = t.insertRow(), th = document.createElement('th');
                    th.textContent = fields[i]; tr.appendChild(th); tr.insertCell().textContent = v[i];
                }
                d.appendChild(t); return d;
            }
            var layer = L.geoJSON(null, {
                style: function(f) { return styles[f.properties.k]; },
                interactive: {{ this.interactive_json }},
                onEachFeature: function(f, l) {
                    {% if this.interactive %}
                    l.bindTooltip(function() { return box(f, tipN, null); }, {sticky: true, className: 'lk-tip'});
                    l.bindPopup(function() { var d = box(f, fields.length, title); pics(f, d); return d; },
                                {maxWidth: 420});
                    {% endif %}
                }
            });
            layer.addData({{ this.data_json }});
            return layer;
        })();
        {% endmacro %}
        """)

    def __init__(self, layer: DisplayLayer):
        super().__init__(name=layer.name, overlay=True, control=True, show=layer.show)
        self._name = "LandkitVector"
        self.lk = layer
        self.interactive = layer.interactive
        self.interactive_json = "true" if layer.interactive else "false"
        self.tip_fields = int(layer.tip_fields)
        self.fields_json = _json(list(layer.fields))
        self.styles_json = _json(layer.styles)
        self.title_json = _json(layer.name)
        self.media_json = _json(layer.media_src if layer.interactive else {})
        frame = gpd.GeoDataFrame({"k": list(layer.keys), "v": list(layer.values) if layer.interactive
                                  else [[]] * len(layer.keys)}, geometry=layer.geoms.values, crs=4326)
        if layer.media and layer.interactive:
            frame.insert(2, "m", list(layer.media))
        if not layer.interactive:
            frame = frame[["k", "geometry"]]
        self.data_json = _json(frame.to_geo_dict(show_bbox=False, drop_id=True))


class LabelLayer(folium.map.Layer):
    """Permanent text labels (township names); text set with textContent."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function(){
            var g = L.layerGroup(), pts = {{ this.data_json }};
            pts.forEach(function(p) {
                var s = document.createElement('span'); s.textContent = p[2];
                g.addLayer(L.marker([p[0], p[1]], {icon: L.divIcon({className: 'lk-label', html: s,
                    iconSize: null}), interactive: false, keyboard: false}));
            });
            return g;
        })();
        {% endmacro %}
        """)

    def __init__(self, layer: DisplayLayer):
        super().__init__(name=layer.name, overlay=True, control=True, show=layer.show)
        self._name = "LandkitLabels"
        self.lk = layer
        self.data_json = _json([list(x) for x in layer.labels])


class ImageLayerElement(folium.map.Layer):
    """A rendered image (data: URI) stretched over its EPSG:3857 bounds."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.imageOverlay({{ this.uri_json }}, {{ this.bounds_json }},
            {opacity: 1, interactive: false, className: 'lk-image'});
        {% endmacro %}
        """)

    def __init__(self, layer: DisplayLayer):
        super().__init__(name=layer.name, overlay=True, control=True, show=layer.show)
        self._name = "LandkitImage"
        self.lk = layer
        self.uri_json = _json(layer.image.uri)
        self.bounds_json = _json(layer.image.bounds)


_CSS = """
.leaflet-container { background: #eef0f2; font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC",
  "WenQuanYi Micro Hei", sans-serif; }
.lk-info { font-size: 12px; max-width: 400px; }
.lk-info-title { font-weight: bold; margin-bottom: 4px; color: #263238; }
.lk-info table { border-collapse: collapse; }
.lk-info th { text-align: left; color: #546e7a; font-weight: normal; padding: 1px 8px 1px 0; white-space: nowrap;
  vertical-align: top; }
.lk-info td { padding: 1px 0; color: #212121; word-break: break-all; }
.lk-label span { display: inline-block; transform: translate(-50%, -50%); white-space: nowrap; font-size: 12px;
  font-weight: bold; color: #263238; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; pointer-events: none; }
.lk-label { background: none; border: none; }
.lk-chips { display: flex; gap: 6px; margin-top: 6px; }
.lk-chips figure { margin: 0; width: 160px; }
.lk-chips img { width: 160px; height: 160px; display: block; border: 1px solid #90a4ae; }
.lk-chips figcaption { font-size: 11px; color: #546e7a; text-align: center; }
.lk-nochip { width: 158px; height: 158px; border: 1px dashed #b0bec5; color: #78909c; font-size: 11px;
  display: flex; align-items: center; justify-content: center; text-align: center; padding: 4px; box-sizing: border-box; }
.lk-legend { background: rgba(255,255,255,.92); padding: 6px 8px; border-radius: 4px; font-size: 12px;
  line-height: 18px; box-shadow: 0 1px 4px rgba(0,0,0,.3); max-height: 60vh; overflow: auto; }
.lk-legend .lk-legend-title { font-weight: bold; margin-bottom: 2px; }
.lk-legend .lk-sw { display: inline-block; width: 16px; height: 11px; margin-right: 6px; vertical-align: -1px;
  border: 1px solid #555; box-sizing: border-box; }
.lk-legend .lk-sub { color: #607d8b; margin-top: 3px; cursor: default; }
.lk-legend .lk-off { color: #90a4ae; }
.lk-tile-banner { position: absolute; z-index: 1000; top: 10px; left: 50%; transform: translateX(-50%);
  background: #fff3cd; color: #795548; border: 1px solid #e0c36b; padding: 4px 12px; border-radius: 4px;
  font-size: 13px; pointer-events: none; }
"""


class MapStyle(MacroElement):
    _template = Template("""{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}""")

    def __init__(self):
        super().__init__()
        self._name = "LandkitStyle"
        self.css = _CSS


def swatch_css(style) -> str:
    """Inline CSS for a legend swatch from a Leaflet path style (or a CSS colour string)."""
    if isinstance(style, str):
        return f"background:{style};"
    if style.get("fill", True) is False:
        return (f"background:transparent;border:2px {'dashed' if style.get('dashArray') else 'solid'} "
                f"{style.get('color', '#333')};")
    a = style.get("fillOpacity", 0.3)
    return (f"background:{style.get('fillColor', style.get('color'))};opacity:{min(1, a + 0.35):.2f};"
            f"border:{max(1, min(3, style.get('weight', 1))):.0f}px {'dashed' if style.get('dashArray') else 'solid'} "
            f"{style.get('color', '#333')};")


def legend_items(layers: list[DisplayLayer]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(layer name, [(label, swatch css)]) for every layer with a legend."""
    out = []
    for lay in layers:
        if lay.kind == "labels" or not lay.legend:
            continue
        items = []
        for label, key in lay.legend:
            style = lay.styles.get(key, key) if isinstance(key, str) else key
            items.append((label, swatch_css(style)))
        out.append((lay.name, items))
    return out


def legend_html(layers: list[DisplayLayer]) -> str:
    """Legend HTML: layers shown at opening listed openly, hidden ones folded (<details>)."""
    parts = ['<div class="lk-legend-title">图例</div>']
    shown = {lay.name: lay.show for lay in layers}
    for name, items in legend_items(layers):
        if len(items) == 1 and items[0][0] == name:
            row = f'<div><span class="lk-sw" style="{escape(items[0][1])}"></span>{escape(name)}</div>'
            parts.append(row if shown.get(name, True) else f'<div class="lk-off">{row}</div>')
            continue
        rows = "".join(f'<div><span class="lk-sw" style="{escape(css)}"></span>{escape(lbl)}</div>' for lbl, css in items)
        if shown.get(name, True):
            parts.append(f'<div class="lk-sub">{escape(name)}</div>{rows}')
        else:
            parts.append(f'<details><summary class="lk-sub">{escape(name)}</summary>{rows}</details>')
    return "".join(parts)


class Legend(MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        (function(){
            var c = L.control({position: 'bottomright'});
            c.onAdd = function() { var d = L.DomUtil.create('div', 'lk-legend');
                d.innerHTML = {{ this.html_json }}; L.DomEvent.disableScrollPropagation(d); return d; };
            c.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """)

    def __init__(self, html: str):
        super().__init__()
        self._name = "LandkitLegend"
        self.html_json = _json(html)     # built from escaped, landkit-defined strings only


class TileErrorBanner(MacroElement):
    """Shows "底图不可用（离线）" once when any tile layer fails to load."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function(map){
            var shown = false;
            function show() { if (shown) return; shown = true;
                var d = L.DomUtil.create('div', 'lk-tile-banner', map.getContainer());
                d.textContent = '底图不可用（离线）'; }
            function watch(l) { if (l instanceof L.TileLayer) l.on('tileerror', show); }
            map.eachLayer(watch); map.on('layeradd', function(e) { watch(e.layer); });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """)

    def __init__(self):
        super().__init__()
        self._name = "LandkitTileBanner"


class LandkitMap(folium.Map):
    """A folium.Map whose assets are inlined when shown or saved: it works with no network.

    ``lk_layers`` holds the :class:`DisplayLayer` list it was drawn from (the report's print
    image is made from the same geometries); ``lk_stats`` counts what is drawn.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # instance attributes shadow folium's shared class lists (never mutate those)
        self.default_js = [("leaflet", LEAFLET_JS_URL)]
        self.default_css = [("leaflet_css", LEAFLET_CSS_URL)]
        self.lk_layers: list[DisplayLayer] = []
        self.lk_stats: dict = {}
        self.lk_height = "600px"

    def to_html(self) -> str:
        """The map as one self-contained offline HTML page."""
        return render_offline(self)

    def save(self, outfile, close_file=True, **kwargs):
        if hasattr(outfile, "write"):
            outfile.write(self.to_html().encode("utf-8"))
            if close_file:
                outfile.close()
            return
        from pathlib import Path
        Path(outfile).write_text(self.to_html(), encoding="utf-8")

    def _repr_html_(self, **kwargs) -> str:
        return iframe_html(self.to_html(), self.lk_height)


def county_map(county, analysis=None, basemap=None, *, tianditu_token: str | None = None, imagery=None,
               height="600px", width="100%", simplify_m: float = 1.0, vector_limit: int = 5000,
               vertex_limit: int = 250_000, raster_px: int = 2048, dltb: bool = True,
               prefer_canvas: bool | None = None, layer_control: bool = True,
               collapsed_control: bool = False, chips=None, embed_chips: bool = True) -> LandkitMap:
    """An interactive map of a county and its analysis results (a ``folium.Map``).

    Parameters
    ----------
    county : a :class:`landkit.County`
    analysis : the :class:`~landkit.analyses.county_analysis.CountyAnalysis` of :func:`landkit.analyse`;
        without it the county's own layers are drawn (卫片 patches by their 判定类型)
    basemap : None/"none" (default: no tiles, neutral background), "tianditu_vec", "tianditu_img",
        "osm", "gaode_vec"/"gaode_img" (data shifted into GCJ-02 for display), "imagery" (the
        county's GeoTIFF), or a list of them. 天地图 needs a key: ``tianditu_token``, config
        ``[report] tianditu_token`` or $TIANDITU_TOKEN.
    imagery : a GeoTIFF path overriding ``county.imagery`` for the "imagery" basemap
    simplify_m : display simplification tolerance in metres (topology-preserving)
    vector_limit, vertex_limit : a layer with more features/vertices is drawn as a rendered image
    raster_px : largest side of rendered images and imagery, in pixels
    dltb : add the DLTB land-class image (off by default in the layer control)
    collapsed_control : fold the layer control into an icon (the report does)
    chips : a :class:`~landkit.render.chips.ChipSet` (``landkit.render.chips.patch_chips``): the
        卫片 patch popups show the before/after pictures
    embed_chips : False when the page already holds the pictures as ``<img id="lkchip-KEY-0/1">``
        (the report): the popups then take them from there instead of a second copy
    """
    names = bm.normalise(basemap)
    gcj = bm.needs_gcj02(names)
    config = getattr(county, "config", None)
    layers = display_layers(county, analysis, gcj02=gcj, simplify_m=simplify_m, vector_limit=vector_limit,
                            vertex_limit=vertex_limit, raster_px=raster_px, dltb=dltb, chips=chips,
                            embed_chips=embed_chips)
    n_vec = sum(lay.count for lay in layers if lay.kind == "vector")
    if prefer_canvas is None:
        prefer_canvas = n_vec > 5000
    m = LandkitMap(location=None, tiles=None, width=width, height=height, prefer_canvas=bool(prefer_canvas),
                   control_scale=True, zoom_start=12)
    m.lk_height = height if isinstance(height, str) else f"{height}px"
    m.add_child(MapStyle())
    tiles = bm.tile_layers(names, config=config, token=tianditu_token)
    for t in tiles:
        folium.TileLayer(**t).add_to(m)
    if "imagery" in names:
        path = imagery or getattr(county, "imagery", None) or (config.report.imagery if config else None)
        if not path:
            from ..errors import ConfigError
            raise ConfigError("选择了影像底图，但该县没有影像（GeoTIFF）：请在 landkit.toml 的 [report] 中设置 imagery")
        img = bm.imagery_layer(path, max_px=raster_px, gcj02=gcj)
        layers.insert(0, DisplayLayer("imagery", "本县影像", "image", True, False, image=img))
    for lay in layers:
        if lay.kind == "vector":
            if lay.count:
                m.add_child(VectorLayer(lay))
        elif lay.kind == "labels":
            if lay.labels:
                m.add_child(LabelLayer(lay))
        elif lay.kind == "image":
            m.add_child(ImageLayerElement(lay))
    bounds = _bounds(layers)
    if bounds:
        m.fit_bounds(bounds)
        m.location = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    else:
        m.location, m.options["zoom"] = [35.0, 105.0], 4
    m.add_child(Legend(legend_html(layers)))
    if tiles:
        m.add_child(TileErrorBanner())
    if layer_control:
        folium.LayerControl(collapsed=collapsed_control, position="topright").add_to(m)
    m.lk_layers = layers
    m.lk_stats = {
        "vector_features_shown": sum(lay.count for lay in layers if lay.kind == "vector" and lay.show),
        "vector_features": n_vec,
        "interactive_shown": sum(lay.count for lay in layers if lay.kind == "vector" and lay.show and lay.interactive),
        "images": sum(1 for lay in layers if lay.kind == "image"),
        "image_bytes": sum(lay.image.size_bytes for lay in layers if lay.kind == "image"),
        "basemaps": names, "gcj02": gcj, "prefer_canvas": bool(prefer_canvas),
    }
    return m


def _bounds(layers) -> list | None:
    xs, ys = [], []
    for lay in layers:
        if lay.kind == "vector" and lay.count and lay.key != "township_lines":
            b = lay.geoms.total_bounds
            xs += [b[0], b[2]]
            ys += [b[1], b[3]]
        elif lay.kind == "image" and lay.key != "imagery":
            (s, w), (n, e) = lay.image.bounds
            xs += [w, e]
            ys += [s, n]
    xs = [x for x in xs if np.isfinite(x)]
    ys = [y for y in ys if np.isfinite(y)]
    if not xs or not ys:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


# ------------------------------------------------------------------ static image for printing
def print_svg(layers: list[DisplayLayer], *, width: int = 1000, max_height: int = 1300) -> str:
    """The map's shown layers as one inline SVG (for print): same display geometries, drawn
    in Web Mercator, simplified to half a pixel, coordinates in whole tenths of a pixel."""
    from pyproj import Transformer
    tr = Transformer.from_crs(4326, 3857, always_xy=True)
    shown = [lay for lay in layers if lay.show and ((lay.kind == "vector" and lay.count) or lay.kind == "image"
                                                   or (lay.kind == "labels" and lay.labels))]
    bb = _bounds(shown)
    if bb is None:
        return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 60" class="lk-print-map">'
                '<text x="10" y="35" font-size="16">无可绘制的图层</text></svg>')
    (s, w), (n, e) = bb
    x0, y0 = tr.transform(w, s)
    x1, y1 = tr.transform(e, n)
    span_x, span_y = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    scale = min(width / span_x, max_height / span_y)
    W, H = span_x * scale, span_y * scale
    pad = 8

    def px(x, y):
        return (x - x0) * scale + pad, (y1 - y) * scale + pad

    def proj(g):
        return shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="lk-print-map" viewBox="0 0 {W + 2 * pad:.0f} '
           f'{H + 2 * pad:.0f}" preserveAspectRatio="xMidYMid meet">',
           f'<rect x="0" y="0" width="{W + 2 * pad:.0f}" height="{H + 2 * pad:.0f}" fill="#f4f5f6"/>']
    for lay in shown:
        if lay.kind == "image":
            (s2, w2), (n2, e2) = lay.image.bounds
            ax, ay = px(*tr.transform(w2, n2))
            bx, by = px(*tr.transform(e2, s2))
            out.append(f'<image href="{lay.image.uri}" x="{ax:.1f}" y="{ay:.1f}" width="{bx - ax:.1f}" '
                       f'height="{by - ay:.1f}" preserveAspectRatio="none"/>')
        elif lay.kind == "vector":
            merc = proj(lay.geoms.values)
            merc = shapely.simplify(merc, 0.5 / scale, preserve_topology=True)
            by_key: dict[str, list[str]] = {}
            for g, k in zip(merc, lay.keys):
                d = _svg_path(g, px)
                if d:
                    by_key.setdefault(k, []).append(d)
            for k, ds in by_key.items():
                st = lay.styles.get(k, {})
                fill = st.get("fillColor", st.get("color", "#333")) if st.get("fill", True) is not False else "none"
                dash = f' stroke-dasharray="{escape(st["dashArray"])}"' if st.get("dashArray") else ""
                out.append(f'<path d="{"".join(ds)}" fill="{fill}" fill-opacity="{st.get("fillOpacity", 0.3)}" '
                           f'fill-rule="evenodd" stroke="{st.get("color", "#333")}" '
                           f'stroke-width="{min(st.get("weight", 1), 2.5) * 0.6:.2f}" '
                           f'stroke-opacity="{st.get("opacity", 1)}"{dash}/>')
        else:
            for lat, lon, text in lay.labels:
                x, y = px(*tr.transform(lon, lat))
                out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="13" font-weight="bold" text-anchor="middle" '
                           f'fill="#263238" stroke="#fff" stroke-width="3" paint-order="stroke">{escape(text)}</text>')
    out.append("</svg>")
    return "".join(out)


def _svg_path(g, px) -> str:
    if g is None or g.is_empty:
        return ""
    polys = g.geoms if g.geom_type == "MultiPolygon" else [g]
    parts = []
    for p in polys:
        for ring in [p.exterior, *p.interiors]:
            c = np.asarray(ring.coords)
            if len(c) < 4:
                continue
            xs, ys = px(c[:, 0], c[:, 1])
            pts = np.round(np.column_stack([xs, ys]), 1)
            keep = np.ones(len(pts), bool)
            keep[1:] = np.any(np.diff(pts, axis=0) != 0, axis=1)
            pts = pts[keep]
            if len(pts) < 3:
                continue
            parts.append("M" + "L".join(f"{x:g} {y:g}" for x, y in pts[:-1]) + "Z")
    return "".join(parts)

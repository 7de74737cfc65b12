"""Shared fixtures: small real files written the way bureaus' files arrive."""
from __future__ import annotations

import os
import struct
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

REPO = Path(__file__).resolve().parents[1]
SAMPLE = Path(os.environ.get("LANDKIT_SAMPLE", REPO / "sample_data" / "420704_鄂城区"))
REALDATA = REPO / "tests" / "data" / "realdata"

X0, Y0 = 38_560_000.0, 3_365_000.0   # near 鄂州, CGCS2000 3° zone 38 (EPSG:4526)

XIAN80_GK38_ESRI = (
    'PROJCS["Xian_1980_3_Degree_GK_Zone_38",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",'
    'SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",38500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],'
    'UNIT["Meter",1.0]]')


def grid_polygons(n=12, size=100.0, x0=X0, y0=Y0):
    cols = int(np.ceil(np.sqrt(n)))
    return [shapely.box(x0 + (i % cols) * size, y0 + (i // cols) * size,
                        x0 + (i % cols + 1) * size, y0 + (i // cols + 1) * size) for i in range(n)]


def dltb_frame(n=12, x0=X0, y0=Y0, crs="EPSG:4526"):
    """A small, consistent DLTB with Chinese text and all key fields."""
    codes = ["0101", "0103", "0701", "0301", "1101", "0702", "0102", "1104", "05H1", "0601", "1006", "0201"]
    names = {"0101": "水田", "0103": "旱地", "0701": "城镇住宅用地", "0301": "乔木林地", "1101": "河流水面",
             "0702": "农村宅基地", "0102": "水浇地", "1104": "坑塘水面", "05H1": "商业服务业设施用地",
             "0601": "工业用地", "1006": "农村道路", "0201": "果园"}
    dl = [codes[i % len(codes)] for i in range(n)]
    geoms = grid_polygons(n, x0=x0, y0=y0)
    gs = gpd.GeoSeries(geoms, crs=crs)
    from landkit.standards.area import ellipsoidal_area
    tbmj = np.round(ellipsoidal_area(gs), 2)
    kcxs = np.array([0.08 if c in ("0101", "0102", "0103") else 0.0 for c in dl])
    kcmj = np.round(tbmj * kcxs, 2)
    return gpd.GeoDataFrame({
        "BSM": [f"420704202400{i:06d}" for i in range(n)],
        "DLBM": dl, "DLMC": [names[c] for c in dl],
        "QSXZ": ["30" if c != "0701" else "10" for c in dl],
        "ZLDWDM": ["4207041001010000000" if i % 2 else "4207041021020000000" for i in range(n)],
        "ZLDWMC": ["泽林镇泽林村" if i % 2 else "汀祖镇石山村" for i in range(n)],
        "TBMJ": tbmj, "KCDLBM": ["1203" if k > 0 else None for k in kcxs], "KCXS": kcxs,
        "KCMJ": kcmj, "TBDLMJ": np.round(tbmj - kcmj, 2),
    }, geometry=geoms, crs=crs)


def write_shp(gdf, path: Path, encoding="GBK", cpg=False, prj=True):
    """Write a shapefile like ArcGIS does for bureau data: GBK text, no .cpg, LDID 0."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_file(path, encoding=encoding, engine="pyogrio")
    cpgp = path.with_suffix(".cpg")
    if not cpg and cpgp.exists():
        cpgp.unlink()
    dbf = path.with_suffix(".dbf")
    with open(dbf, "r+b") as f:   # LDID byte 29 = 0 as ArcGIS writes it
        f.seek(29)
        f.write(b"\x00")
    if not prj and path.with_suffix(".prj").exists():
        path.with_suffix(".prj").unlink()
    return path


def dbf_ldid(path: Path) -> int:
    with open(path.with_suffix(".dbf"), "rb") as f:
        f.seek(29)
        return f.read(1)[0]


@pytest.fixture
def county_dir(tmp_path):
    """A minimal county folder: GBK DLTB without .cpg, a 永久基本农田 layer, townships."""
    d = tmp_path / "420704_鄂城区"
    dl = dltb_frame(16)
    write_shp(dl, d / "DLTB.shp")
    gd = dl[dl["DLBM"].isin(["0101", "0102", "0103"])].copy()
    yj = gpd.GeoDataFrame({"YJJBNTTBBH": [f"42070400000000{i:06d}" for i in range(len(gd))],
                           "DLBM": gd["DLBM"].values, "KCXS": gd["KCXS"].values},
                          geometry=gd.geometry.translate(0.5, 0.5).values, crs=dl.crs)
    write_shp(yj, d / "永久基本农田.shp")
    return d


def geod_area_m2(geom, crs="EPSG:4526", step=1.0) -> float:
    """Independent CGCS2000 ellipsoidal area (m²) of one polygon: the projected edges densified to
    ``step`` metres, unprojected with pyproj and measured geodesically on the CGCS2000 ellipsoid
    (a = 6378137, 1/f = 298.257222101, as GRS80). Not landkit's 32号 integration."""
    import pyproj
    if geom is None or geom.is_empty:
        return 0.0
    dense = shapely.segmentize(geom, step)
    tr = pyproj.Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    ll = shapely.transform(dense, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    geod = pyproj.Geod(a=6378137.0, rf=298.257222101)
    return abs(geod.geometry_area_perimeter(ll)[0])

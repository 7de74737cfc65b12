"""Coordinate reference systems of bureau data.

* ``.prj`` is read with pyproj (ESRI WKT included). Gauss-Krüger CRSs that pyproj cannot
  match to an EPSG code (ESRI names such as ``Xian_1980_3_Degree_GK_Zone_38``, custom
  names) are matched by their parameters: datum (CGCS2000 / 西安80 / 北京54, from the
  ellipsoid), central meridian, false easting and scale factor.
* Without ``.prj`` the coordinates decide (docs/rules.md §6.3): 8-digit eastings carry the zone
  number; lon/lat ranges mean EPSG:4490; 6-digit eastings need a central meridian from
  elsewhere (another layer of the county or ``[county] longitude``), or the read stops.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np
from pyproj import CRS
from pyproj.database import query_crs_info

CGCS2000 = "CGCS2000"
XIAN80 = "西安80"
BEIJING54 = "北京54"
WGS84 = "WGS84"

_DATUM_PREFIX = {"CGCS2000": CGCS2000, "Xian 1980": XIAN80, "Beijing 1954": BEIJING54}
_ELLIPSOIDS = {  # (a, 1/f) -> datum family
    (6378137.0, 298.257222101): CGCS2000,
    (6378140.0, 298.257): XIAN80,
    (6378245.0, 298.3): BEIJING54,
    (6378137.0, 298.257223563): WGS84,
}


@dataclass(frozen=True)
class CRSDecision:
    crs: CRS
    source: str     # "prj", "prj-params", "coords", "layer", "config", "longitude"
    detail: str     # Chinese explanation for QA
    warn: bool = False

    @property
    def label(self) -> str:
        code = self.crs.to_epsg()
        return f"EPSG:{code} {self.crs.name}" if code else self.crs.name


@functools.lru_cache(maxsize=1)
def _gk_table() -> dict[tuple[str, float, float], int]:
    """(datum family, central meridian, false easting) -> EPSG code of the GK CRSs."""
    pats = [
        (re.compile(r"^(.+) / 3-degree Gauss-Kruger zone (\d+)$"), lambda n: (3 * n, n * 1e6 + 5e5), 0),
        (re.compile(r"^(.+) / 3-degree Gauss-Kruger CM (\d+)E$"), lambda cm: (cm, 5e5), 0),
        (re.compile(r"^(.+) / Gauss-Kruger zone (\d+)$"), lambda n: (6 * n - 3, n * 1e6 + 5e5), 1),
        (re.compile(r"^(.+) / Gauss-Kruger CM (\d+)E$"), lambda cm: (cm, 5e5), 1),
        (re.compile(r"^(.+) / Gauss-Kruger (\d+)N$"), lambda n: (6 * n - 3, 5e5), 1),
    ]
    table: dict[tuple[str, float, float], tuple[int, int]] = {}
    for info in query_crs_info(auth_name="EPSG", pj_types="PROJECTED_CRS"):
        for pat, fn, pref in pats:
            m = pat.match(info.name)
            if m and m.group(1) in _DATUM_PREFIX:
                cm, fe = fn(int(m.group(2)))
                key = (_DATUM_PREFIX[m.group(1)], float(cm), float(fe))
                cand = (pref, int(info.code))
                if key not in table or cand < table[key]:   # prefer 3-degree names
                    table[key] = cand
                break
    return {k: v[1] for k, v in table.items()}


def datum_family(crs: CRS) -> str | None:
    """CGCS2000 / 西安80 / 北京54 / WGS84 from the CRS's ellipsoid, None if other."""
    ell = crs.ellipsoid
    if ell is None:
        return None
    a, rf = ell.semi_major_metre, ell.inverse_flattening
    for (ea, erf), fam in _ELLIPSOIDS.items():
        if abs(a - ea) < 0.5 and abs(rf - erf) < 1e-6 * erf:
            return fam
    return None


def tm_params(crs: CRS) -> dict | None:
    """Transverse Mercator parameters {cm, fe, fn, k0, lat0} of a projected CRS, else None."""
    if not crs.is_projected:
        return None
    conv = crs.to_json_dict().get("conversion") or {}
    method = (conv.get("method") or {}).get("name", "")
    if "Transverse Mercator" not in method and "Gauss" not in method:
        return None
    p = {q["name"]: q["value"] for q in conv.get("parameters", [])}
    return {
        "cm": float(p.get("Longitude of natural origin", 0.0)),
        "fe": float(p.get("False easting", 0.0)),
        "fn": float(p.get("False northing", 0.0)),
        "k0": float(p.get("Scale factor at natural origin", 1.0)),
        "lat0": float(p.get("Latitude of natural origin", 0.0)),
    }


def match_gk(crs: CRS) -> int | None:
    """The EPSG code of a Gauss-Krüger CRS on CGCS2000/西安80/北京54 matched by parameters."""
    fam = datum_family(crs)
    tm = tm_params(crs)
    if fam not in (CGCS2000, XIAN80, BEIJING54) or tm is None:
        return None
    if abs(tm["k0"] - 1.0) > 1e-9 or abs(tm["fn"]) > 1e-6 or abs(tm["lat0"]) > 1e-9:
        return None
    return _gk_table().get((fam, round(tm["cm"], 6), round(tm["fe"], 3)))


def crs_from_prj_text(text: str) -> CRSDecision:
    """Parse .prj WKT (OGC or ESRI); normalise GK CRSs to their EPSG code."""
    return CRSDecision(*_parse_prj(text.strip()))


@functools.lru_cache(maxsize=64)
def _parse_prj(text: str) -> tuple[CRS, str, str]:
    """(CRS, source, detail) of a .prj text; cached: a county's layers share one .prj text,
    and the EPSG look-up costs ~30 ms each time."""
    crs = CRS.from_user_input(text)
    code = crs.to_epsg(min_confidence=90)
    if code:
        return CRS.from_epsg(code), "prj", f".prj 声明 EPSG:{code}"
    gk = match_gk(crs)
    if gk:
        return (CRS.from_epsg(gk), "prj-params",
                f".prj（{crs.name}）按参数匹配为 EPSG:{gk} {CRS.from_epsg(gk).name}")
    return crs, "prj", f".prj 声明 {crs.name}（无对应 EPSG 代码，按原参数使用）"


# ---- detection from coordinates -------------------------------------------------

def looks_geographic(bounds) -> bool:
    minx, miny, maxx, maxy = bounds
    return -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90


def _plausible_northing(miny, maxy) -> bool:
    return 0.1e6 <= miny and maxy <= 6.2e6


def gk_zone_crs(lon: float, zone_width: int = 3, prefixed: bool = True) -> CRS:
    """The CGCS2000 GK CRS for longitude ``lon`` (3° or 6° zones, zone-prefixed or CM form)."""
    if zone_width == 3:
        n = int(round(lon / 3.0))
        return CRS.from_epsg((4513 if prefixed else 4534) + n - 25)
    n = int(math.floor(lon / 6.0)) + 1
    return CRS.from_epsg((4491 if prefixed else 4502) + n - 13)


def crs_from_coordinates(bounds, *, longitude: float | None = None, zone_width: int = 3) -> CRSDecision | None:
    """Guess the CRS of a layer without .prj from its bounds (minx, miny, maxx, maxy).

    Returns None when it cannot be decided (6-digit eastings without a longitude hint).
    Raises ValueError for coordinates that fit no Chinese CRS.
    """
    minx, miny, maxx, maxy = map(float, bounds)
    if looks_geographic(bounds):
        if 70 <= minx and maxx <= 140 and 0 <= miny and maxy <= 56:
            return CRSDecision(CRS.from_epsg(4490), "coords",
                               "无 .prj，坐标为经纬度，按 CGCS2000 地理坐标（EPSG:4490）读取", warn=True)
        raise ValueError("坐标像经纬度但不在中国范围内")
    if minx >= 1e6:
        zone_lo, zone_hi = int(minx // 1e6), int(maxx // 1e6)
        if zone_lo != zone_hi:
            raise ValueError(f"东坐标跨越两个带号（{zone_lo} 与 {zone_hi}）")
        if not _plausible_northing(miny, maxy):
            raise ValueError(f"北坐标 {miny:.0f}–{maxy:.0f} 不在中国范围内")
        z = zone_lo
        if 25 <= z <= 45:
            code = 4513 + z - 25
            kind = "3°"
        elif 13 <= z <= 23:
            code = 4491 + z - 13
            kind = "6°"
        else:
            raise ValueError(f"东坐标的带号 {z} 不是 3° 带（25–45）或 6° 带（13–23）")
        return CRSDecision(CRS.from_epsg(code), "coords",
                           f"无 .prj，东坐标带号 {z}，按 CGCS2000 {kind}带 EPSG:{code} 读取（请核对是否为 CGCS2000）",
                           warn=True)
    if 1e5 <= minx and maxx <= 9e5 and _plausible_northing(miny, maxy):
        if longitude is None:
            return None
        crs = gk_zone_crs(longitude, zone_width, prefixed=False)
        return CRSDecision(crs, "longitude",
                           f"无 .prj，东坐标无带号，按配置的经度 {longitude} 取 CGCS2000 {zone_width}° 带 "
                           f"EPSG:{crs.to_epsg()}", warn=True)
    raise ValueError(f"坐标范围 x {minx:.0f}–{maxx:.0f}, y {miny:.0f}–{maxy:.0f} 不像任何中国常用坐标系")


def check_coordinates_fit(crs: CRS, bounds) -> str | None:
    """A Chinese message when the coordinates contradict the declared CRS, else None."""
    minx, miny, maxx, maxy = map(float, bounds)
    if not all(np.isfinite([minx, miny, maxx, maxy])):
        return None
    if crs.is_geographic:
        if not looks_geographic(bounds):
            return f"坐标范围（x {minx:.0f}–{maxx:.0f}）不是经纬度，但 .prj 声明为地理坐标系 {crs.name}"
        return None
    if looks_geographic(bounds) and maxx - minx < 20 and maxy - miny < 20:
        return f"坐标像经纬度（x {minx:.4f}–{maxx:.4f}），但 .prj 声明为投影坐标系 {crs.name}"
    tm = tm_params(crs)
    if tm is not None and tm["fe"] >= 1e6:
        z = int(tm["fe"] // 1e6)
        if int(minx // 1e6) != z or int(maxx // 1e6) != z:
            return f"东坐标（{minx:.0f}–{maxx:.0f}）与 .prj 的带号 {z} 不符"
    elif tm is not None and tm["fe"] < 1e6 and minx >= 1e7:
        return f"东坐标带有带号（{minx:.0f}），但 .prj 声明为无带号的 {crs.name}"
    return None


def working_crs_for(lon: float) -> CRS:
    """The projected working CRS for data given only in lon/lat: CGCS2000 3° zone (prefixed)."""
    return gk_zone_crs(lon, 3, prefixed=True)

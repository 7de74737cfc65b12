"""Every analysis of one county, as one typed result: :class:`CountyAnalysis`.

:func:`analyse` runs the analyses (卫片 ratio, 永久基本农田 overlap per layer, 存量 inventory,
处置率) on a :class:`~landkit.county.County` and gathers their results. Everything downstream —
summary.json, the ledger, results.gpkg, PostGIS, maps and the report — renders this object and
never recomputes or re-classifies: areas are in the result tables (``*_m2`` m², ``*_mu`` 亩 =
m² × 3/2000, ``*_ha`` 公顷, unrounded), classes and statuses are keys named in
:mod:`landkit.standards.vocabulary`. Pure: reads no files and writes none.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from ..io.fields import ROLE_NAMES
from ..settings import timezone_of
from ..version import __version__
from .change import ChangeResult, land_change
from .disposal import DisposalResult, disposal_rate
from .farmland import FarmlandResult, farmland_overlap
from .inventory import InventoryResult, inventory
from .satellite import SatelliteResult, satellite_ratio
from .zones import ZonesResult, development_zones

SCHEMA_VERSION = "1.0"
OVERLAP_ROLES = ("approvals", "supply", "parcels", "patches")


@dataclass
class CountyAnalysis:
    """The analyses of one county.

    summary : what summary.json holds (docs/summary-schema.md): figures in 亩 and ratios, a
        figure that cannot be computed is None with the reason beside it
    satellite : the 卫片 ratio and its per-patch table, or None without a 卫片 layer
    farmland : {layer role: 永久基本农田 overlap of that layer} (approvals, supply, parcels, patches)
    inventory : the 存量建设用地 大盘点 (four categories, per-row tables)
    disposal : the 处置率 of 批而未供 and 闲置土地
    zones : the 开发区 节约集约 indicators (``summary["development_zones"]``); without a zone
        layer a result whose summary says so
    change : the two DLTB vintages compared (地类转移矩阵, 耕地进出平衡), or None with one vintage
    """
    summary: dict
    inventory: InventoryResult
    disposal: DisposalResult
    satellite: SatelliteResult | None = None
    farmland: dict[str, FarmlandResult] = field(default_factory=dict)
    zones: ZonesResult | None = None
    change: ChangeResult | None = None

    @property
    def results(self) -> dict:
        """The results by name (``satellite``, ``inventory``, ``disposal``, ``farmland_<role>``)."""
        out = {"inventory": self.inventory, "disposal": self.disposal}
        if self.satellite is not None:
            out["satellite"] = self.satellite
        out.update({f"farmland_{role}": r for role, r in self.farmland.items()})
        if self.zones is not None and self.zones.zones is not None:
            out["zones"] = self.zones
        if self.change is not None:
            out["change"] = self.change
        return out

    def __getitem__(self, key: str):
        """``analysis["summary"]`` and ``analysis["results"]``, as notebooks written for the dict form use."""
        if key in ("summary", "results"):
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default=None):
        return self[key] if key in ("summary", "results") else default


def analyse(county, checks: dict | None = None) -> CountyAnalysis:
    """Run every analysis on a county (see :class:`CountyAnalysis`). ``checks``: 监测编号 → the
    卫片 field-check columns staff typed in the returned ledger (``--previous``)."""
    sat, farmland = None, {}
    summary = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at(county.config),
        "landkit_version": __version__,
        "county": {"name": county.name, "adcode": county.adcode, "year": county.year,
                   "as_of": county.as_of, "crs": f"EPSG:{county.crs.to_epsg()}" if county.crs else None,
                   "layers": {r: len(g) for r, g in county.layers.items()}},
    }
    if county.patches is not None:
        sat = satellite_ratio(county, checks=checks)
        summary["satellite"] = {"available": True, **sat.summary}
    else:
        summary["satellite"] = {"available": False, "reason": "该县没有卫片图斑图层"}
    inv = inventory(county)
    summary["inventory"] = inv.summary
    disp = disposal_rate(county)
    summary["disposal"] = disp.summary
    seen = set()
    for f in list(inv.findings) + list(disp.findings):
        key = (f.code, f.layer, f.field, f.message)
        if key not in seen:
            seen.add(key)
            county.qa.add(f)
    fo = {"tolerance_m2": county.config.sliver_m2}
    if county.yjjbnt is None:
        fo.update({"available": False, "reason": "该县没有永久基本农田图层"})
    else:
        fo["available"] = True
        for role in OVERLAP_ROLES:
            layer = county.layers.get(role)
            if layer is None:
                continue
            r = farmland_overlap(layer, county, role=role)
            farmland[role] = r
            fo[role] = {"name": ROLE_NAMES[role], **r.summary}
    summary["farmland_overlap"] = fo
    zones = development_zones(county, inv)
    summary["development_zones"] = zones.summary
    for f in zones.findings:
        county.qa.add(f)
    ch = None
    if county.layers.get("dltb_previous") is not None and county.dltb is not None:
        ch = land_change(county, satellite=summary.get("satellite"))
        summary["change"] = {"available": True, **ch.summary}
    else:
        summary["change"] = {"available": False, "reason": no_change_reason(county)}
    summary["qa"] = {**county.qa.to_dict()}
    # file paths relative to the county folder: summary.json and the report show no machine path
    summary = portable_paths(summary, {county.path: ""}) if getattr(county, "path", None) else summary
    return CountyAnalysis(summary, inv, disp, sat, farmland, zones=zones, change=ch)


def no_change_reason(county) -> str:
    """Why the two-vintage comparison is not made (Chinese)."""
    if county.dltb is None:
        return "该县没有地类图斑图层"
    if (getattr(county, "config", None) is not None and county.config.layers.get("dltb_previous") in (False, "")):
        return "landkit.toml 的 [layers] 中 dltb_previous 设为不使用，未做两期地类比较"
    return ("只有一期地类图斑：文件夹中没有名称含更早年份的地类图斑（如 DLTB_2023），也未在 landkit.toml 的 [layers] "
            "中写明 dltb_previous，无法做两期地类比较")


def generated_at(config=None) -> str:
    """The time now as summary.json and the report state it: ISO with the offset of ``[report]
    timezone`` (Beijing time, ``+08:00``, by default), whatever the machine's time zone."""
    report = getattr(config, "report", None)
    tz = report.tzinfo if report is not None else timezone_of("Asia/Shanghai")
    return dt.datetime.now(tz).isoformat(timespec="seconds")


def _forms(base) -> list[str]:
    """The ways a folder's path may be written in messages: as given, absolute, resolved; native
    and with forward slashes."""
    out = []
    p = Path(base)
    for q in (p, p.absolute(), p.resolve()):
        for t in (str(q), q.as_posix()):
            t = t.rstrip("/\\")
            if t and t != "." and t not in out:
                out.append(t)
    return out


#: what may follow a folder's path in a message (not a longer name)
_END = r"(?=$|[\s：:，,。；;）)、'\"」])"
_ABS = re.compile(r"^(?:/|\\\\|[A-Za-z]:[\\/])")
_NAMED_FILE = re.compile(r"(文件：)((?:/|\\\\|[A-Za-z]:[\\/])[^；;）)\n]+)")


def _name(path: str) -> str:
    return (PureWindowsPath(path) if "\\" in path else PurePosixPath(path)).name or path


def portable_paths(obj, bases: dict):
    """``obj`` (a summary: dicts, lists, strings) with the paths of this machine taken out.

    ``bases`` maps a folder to the label that replaces it ("" = relative to it): a path under a
    folder becomes relative (``DLTB.shp``, ``三调/DLTB.shp``, forward slashes), the folder itself
    its label or its name; the same in free text (``…（文件：/data/县/DLTB.dbf）`` → ``…（文件：DLTB.dbf）``).
    Any other absolute path that is a whole value keeps only its file name. Other values unchanged.
    """
    pairs = []
    for base, label in bases.items():
        if base is None:
            continue
        name = label.rstrip("/") or Path(base).resolve().name or str(base)
        for form in _forms(base):
            pairs.append((form, label, name))
    pairs.sort(key=lambda x: -len(x[0]))          # the innermost folder first

    def fix(text: str) -> str:
        for form, label, name in pairs:
            if form not in text:
                continue
            if text == form:
                return name
            for sep in ("/", "\\"):
                text = text.replace(form + sep, label.rstrip("/") + "/" if label else "")
            if form in text:                       # the folder itself, inside a message
                text = re.sub(re.escape(form) + _END, lambda m: name, text)
        # a path elsewhere named in an error message (LandkitError: …（文件：/abs/x.shp）)
        text = _NAMED_FILE.sub(lambda m: m.group(1) + _name(m.group(2)), text)
        if _ABS.match(text) and "\n" not in text and " " not in text.strip() and "（" not in text:
            return _name(text)
        return text

    def walk(v):
        if isinstance(v, str):
            return fix(v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, tuple):
            return tuple(walk(x) for x in v)
        if isinstance(v, PurePath):
            return fix(str(v))
        return v
    return walk(obj)


def summary_and_results(analysis) -> tuple[dict, dict]:
    """(summary, results) of a CountyAnalysis, or of the ``{"summary", "results"}`` mapping
    hand-made analyses and older notebooks pass; ({}, {}) for None."""
    if analysis is None:
        return {}, {}
    if isinstance(analysis, CountyAnalysis):
        return analysis.summary, analysis.results
    return analysis.get("summary") or {}, analysis.get("results") or {}

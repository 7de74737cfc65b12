"""A county: its standardised layers, metadata and QA findings, read from one folder."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import CRS

from .settings import ROLES, Settings, load_settings
from .errors import EmptyLayerError, InputError
from .standards.codes import is_county_code
from .findings import Finding, QAReport
from .qa import check_dates, check_dltb, check_duplicate_ids, check_judgements, check_self_overlap
from .io.crs import datum_family, working_crs_for
from .io.geometry import valid_polygons
from .io.discover import (Candidate, assign_roles, missing_role_message, previous_vintage, scan_folder,
                          unrecognised_files, vintage_year)
from .io.fields import ID_FIELDS, ROLE_NAMES
from .io.read import LayerSource, load_layer
from .io.imagery import ImageryPair, find_imagery_pair

AREA_COL = "lk_area_m2"    # computed CGCS2000 ellipsoidal area of each feature, m²


@dataclass
class County:
    """A county's data, standardised. Layers are GeoDataFrames in one projected CRS, or None.

    Every layer has ``lk_fid`` (the feature's number in its source file) and
    ``lk_area_m2`` (its computed CGCS2000 ellipsoidal area, m²).
    """

    path: Path
    name: str | None
    adcode: str | None
    year: int | None
    as_of: dt.date | None
    crs: CRS | None
    config: Settings
    qa: QAReport
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    sources: dict[str, LayerSource] = field(default_factory=dict)
    imagery: Path | None = None
    #: overlapping feature pairs (positions) per role, computed once when reading (see overlay.overlapping_pairs)
    overlap_pairs: dict = field(default_factory=dict)
    #: files in the folder read as no layer: [{"file": relative path, "reason": Chinese}] (io.discover.unrecognised_files)
    unrecognised: list = field(default_factory=list)
    #: the 前时相 / 后时相 images of the folder (io.imagery.find_imagery_pair), for the patch chips
    imagery_pair: ImageryPair | None = None
    #: survey year of each 地类图斑 vintage read: {"dltb": 2024, "dltb_previous": 2023} (None where unknown)
    vintages: dict = field(default_factory=dict)

    def __getattr__(self, name):
        if name in ROLES:
            return self.layers.get(name)
        raise AttributeError(name)

    @property
    def usable(self) -> bool:
        return self.qa.usable

    def layer_table(self) -> list[dict]:
        """One row per role: file, layer, features, encoding, CRS decision (for display)."""
        rows = []
        for role in ROLES:
            src = self.sources.get(role)
            rows.append({
                "role": role, "名称": ROLE_NAMES[role],
                "文件": src.display if src else None,
                "要素数": len(self.layers[role]) if role in self.layers else None,
                "原要素数": src.feature_count if src else None,
                "编码": src.encoding.short if src and src.encoding else None,
                "坐标系": _crs_label(src.crs.crs) if src and src.crs else None,
                "坐标系依据": src.crs.detail if src and src.crs else None,
            })
        return rows

    def _repr_html_(self) -> str:
        """A readable card in Jupyter: metadata, layers, QA counts and the first findings."""
        from html import escape as e
        from .findings import LEVEL_NAMES
        crs = _crs_label(self.crs) if self.crs is not None else "未确定"
        rows = []
        for r in self.layer_table():
            n = r["要素数"]
            rows.append(f"<tr><td>{e(r['名称'])}</td><td>{e(r['文件'] or '—')}</td>"
                        f"<td style='text-align:right'>{'' if n is None else f'{n:,}'}</td>"
                        f"<td>{e(r['编码'] or '')}</td><td>{e(r['坐标系'] or '')}</td></tr>")
        rows = "".join(rows)
        items = [f for f in self.qa.findings if f.level != "info"][:12]
        qa = "".join(f"<li><b>{e(LEVEL_NAMES[f.level])}</b> {e(ROLE_NAMES.get(f.layer, f.layer or '全县'))}："
                     f"{e(f.message)}</li>" for f in items)
        colour = "#1a7f37" if self.usable else "#cf222e"
        verdict = "可以使用" if self.usable else "不能使用"
        return (f"<div style='font-family:sans-serif'><h4 style='margin:4px 0'>{e(self.name or '')}"
                f"（{e(self.adcode or '')}） {e(str(self.year or ''))}年度 · 截至 "
                f"{e(self.as_of.isoformat() if self.as_of else '未设')} · {e(crs)}</h4>"
                f"<table><tr><th>图层</th><th>文件</th><th>要素数</th><th>编码</th><th>坐标系</th></tr>{rows}</table>"
                f"<p style='color:{colour}'><b>数据{verdict}</b>：{len(self.qa.errors)} 个错误，"
                f"{len(self.qa.warnings)} 个警告</p><ul>{qa}</ul></div>")

    def __repr__(self) -> str:
        have = ", ".join(f"{r}={len(g)}" for r, g in self.layers.items())
        return (f"County({self.name or '?'} {self.adcode or ''}, year={self.year}, "
                f"crs=EPSG:{self.crs.to_epsg() if self.crs else None}, {have}; "
                f"QA: {len(self.qa.errors)} errors, {len(self.qa.warnings)} warnings)")


def _meta_from_folder(folder: Path) -> tuple[str | None, str | None]:
    m = re.match(r"^(\d{6})[_\-\s]*(.*)$", folder.name)
    if m:
        return (m.group(2) or None), m.group(1)
    return folder.name, None


def configured_candidates(folder: Path, cfg: Settings) -> dict[str, Candidate | None]:
    out = {}
    for role, spec in cfg.layers.items():
        if spec is False or spec == "":
            out[role] = None
            continue
        if isinstance(spec, str):
            p, layer = spec, None
        elif isinstance(spec, dict) and "path" in spec:
            p, layer = spec["path"], spec.get("layer")
        else:
            raise InputError(f"landkit.toml [layers] {role} 应为路径字符串或 {{path=..., layer=...}}",
                             file=folder / "landkit.toml")
        path = Path(p) if Path(p).is_absolute() else folder / p
        if not path.exists():
            raise InputError(f"landkit.toml 中为 {role} 指定的文件不存在", file=path)
        out[role] = Candidate(path, layer, layer or path.stem, None)
    return out


def _still_valid(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A reprojected layer kept valid (reprojection can fold a thin sliver onto itself), so
    every layer of a County is valid and the analyses need not check again."""
    g = np.asarray(gdf.geometry.values, dtype=object)
    fixed = valid_polygons(g)
    if fixed is not g:
        gdf = gdf.set_geometry(gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs))
    return gdf


def read_county(path, config=None, *, errors: str = "raise", require=("dltb",), roles=None) -> County:
    """Read a county folder into a :class:`County`.

    Parameters
    ----------
    path : the county folder (shapefiles, GeoPackages, FileGDBs, GeoJSON; optional landkit.toml)
    config : extra configuration applied on top of the folder's landkit.toml
        (a Settings, a dict or a TOML path)
    errors : "raise" stops at the first unusable layer with :class:`landkit.errors.InputError`;
        "collect" records it as an error finding and goes on (what ``landkit check`` uses).
    require : the roles the folder must have; a missing one is an error (raised or collected).
        Default: the DLTB, which the county analyses need. ``landkit overlap`` requires only
        ``("yjjbnt",)``; the other roles are read when present.
    roles : read only these roles (default: every role); the others are not opened at all.
    """
    folder = Path(path)
    cfg = load_settings(folder if folder.is_dir() else None, config)
    qa = QAReport()
    cands, rasters, problems = scan_folder(folder)
    for p, msg in problems:
        _fail(qa, errors, InputError(msg, file=p))
    chosen, notes = assign_roles(cands, year=cfg.county.year, folder=folder)
    configured = configured_candidates(folder, cfg)
    chosen.update(configured)
    if "dltb" in configured and "dltb_previous" not in configured:
        # the previous vintage is the one before the DLTB the user named
        chosen["dltb_previous"] = previous_vintage(cands, configured["dltb"], cfg.county.year, folder)
    prev = chosen.get("dltb_previous")
    if prev is not None and chosen.get("dltb") is not None and prev.path.resolve() == chosen["dltb"].path.resolve() \
            and prev.layer == chosen["dltb"].layer:
        qa.add(Finding("warning", "previous_vintage_same", "上一期地类图斑与本期是同一个图层，不做两期比较",
                       "dltb_previous", str(prev.path)))
        chosen["dltb_previous"] = prev = None
    unrecognised = unrecognised_files(folder, cands, {**configured, "dltb_previous": prev} if prev is not None
                                      else configured, problems)
    wanted = set(ROLES if roles is None else roles) | set(require)
    chosen = {r: c for r, c in chosen.items() if c is not None and r in wanted}
    for role, n in notes.items():      # a choice between layers changes every figure: say it loudly
        if role not in configured and role in wanted:
            qa.add(Finding("warning", "layer_choice", n, role))
    vintages = {}
    if "dltb" in chosen:
        vintages["dltb"] = vintage_year(chosen["dltb"], cfg.county.year, folder)
    if "dltb_previous" in chosen:
        py = vintage_year(chosen["dltb_previous"], cfg.change.previous_year, folder)
        vintages["dltb_previous"] = py
        if "dltb_previous" not in configured and "dltb" in chosen:
            qa.add(Finding("info", "previous_vintage",
                           f"上一期地类图斑：{chosen['dltb_previous'].display}（{_year_text(py)}），与本期 "
                           f"{chosen['dltb'].display}（{_year_text(vintages['dltb'])}）比较地类变化；如需改用其他图层"
                           "或不做比较，请在 landkit.toml 的 [layers] 中写明 dltb_previous = \"文件名\" 或 false",
                           "dltb_previous", str(chosen["dltb_previous"].path)))

    layers: dict[str, gpd.GeoDataFrame] = {}
    sources: dict[str, LayerSource] = {}
    hint_crs = CRS.from_user_input(cfg.county.crs) if cfg.county.crs else None
    enc_cfg = cfg.encoding
    for role in sorted(chosen, key=lambda r: (r != "dltb", ROLES.index(r))):
        c = chosen[role]
        try:
            gdf, src, findings = load_layer(c.path, c.layer, role, config=cfg, hint_crs=hint_crs,
                                            encoding_override=enc_cfg.get(c.path.name))
        except EmptyLayerError as e:
            if role in require:
                _fail(qa, errors, e, role)
            else:
                # an optional layer with no features (a quarter without 卫片 patches, an unfilled
                # template) is a layer not provided: its figures are 未提供数据, the rest runs
                qa.add(Finding("warning", "layer_empty", f"{e.message}，按未提供该图层处理", role,
                               str(e.file) if e.file else None))
            continue
        except InputError as e:
            _fail(qa, errors, e, role)
            continue
        layers[role], sources[role] = gdf, src
        qa.add(findings)
        if hint_crs is None and src.crs.crs.is_projected:
            hint_crs = src.crs.crs

    for role in require:
        if role not in layers and not any(f.layer == role and f.level == "error" for f in qa.findings):
            _fail(qa, errors, InputError(missing_role_message(role), file=folder), role)

    # one projected working CRS
    work = _working_crs(cfg, layers)
    for role, gdf in list(layers.items()):
        if work is not None and not gdf.crs.equals(work):
            fam_from, fam_to = datum_family(gdf.crs), datum_family(work)
            layers[role] = _still_valid(gdf.to_crs(work))
            qa.add(Finding("info", "reprojected", f"{ROLE_NAMES[role]}由 {_crs_label(gdf.crs)} 转换到 {_crs_label(work)}",
                           role, str(sources[role].path)))
            if fam_from != fam_to and {fam_from, fam_to} - {"CGCS2000", "WGS84"}:
                qa.add(Finding("warning", "datum_shift",
                               f"{ROLE_NAMES[role]}为 {fam_from} 坐标系，与 {fam_to} 之间没有转换参数，按经纬度直接对应转换，"
                               "位置误差可达数十米；请用本地转换参数转换后再分析", role, str(sources[role].path)))

    # areas and QA
    from .standards.area import ellipsoidal_area
    for role, gdf in layers.items():
        gdf[AREA_COL] = ellipsoidal_area(gdf.geometry)
    name, adcode = _meta_from_folder(folder)
    cc = cfg.county
    if adcode is not None and not cc.adcode and not is_county_code(adcode):
        qa.add(Finding("warning", "adcode_invalid",
                       f"文件夹名开头的 {adcode} 不是有效的县级行政区划代码（GB/T 2260：6 位，省级代码 11–82，"
                       "末两位不为 00），不作为本县代码使用", file=folder.name))
        adcode = None
    adcode = cc.adcode or adcode
    if "dltb" in layers:
        d = layers["dltb"]
        if adcode is None and "ZLDWDM" in d.columns:
            # the county code most 坐落单位代码 start with; only valid codes count
            pref = d["ZLDWDM"].dropna().astype(str).str[:6]
            valid = pref[pref.map(is_county_code).astype(bool)]
            if len(valid):
                adcode = str(valid.mode().iloc[0])
            elif len(pref):
                qa.add(Finding("warning", "adcode_invalid",
                               f"坐落单位代码前 6 位（如 {pref.iloc[0]}）不是有效的县级行政区划代码，未用作本县代码；"
                               "报告标题只用县名。请在 landkit.toml 的 [county] 中写明 adcode",
                               "dltb", str(sources["dltb"].path), "ZLDWDM"))
        qa.add(check_dltb(d, d[AREA_COL].to_numpy(), cfg, adcode=adcode, file=sources["dltb"].path))
    if "dltb_previous" in layers:
        d = layers["dltb_previous"]
        qa.add(check_dltb(d, d[AREA_COL].to_numpy(), cfg, adcode=adcode, file=sources["dltb_previous"].path,
                          role="dltb_previous"))
    overlap_pairs = {}
    if "yjjbnt" in layers:
        from .overlay.engine import overlapping_pairs
        overlap_pairs["yjjbnt"] = overlapping_pairs(np.asarray(layers["yjjbnt"].geometry.values, dtype=object))
        qa.add(check_self_overlap(layers["yjjbnt"], "yjjbnt", cfg.sliver_m2, str(sources["yjjbnt"].path), "永久基本农田",
                                  pairs=overlap_pairs["yjjbnt"]))
    for role in ("patches", "approvals", "supply", "parcels", "townships"):
        if role in layers:
            qa.add(check_duplicate_ids(layers[role], ID_FIELDS[role], role, str(sources[role].path)))
            qa.add(check_dates(layers[role], role, str(sources[role].path)))
    if "patches" in layers:
        qa.add(check_judgements(layers["patches"], cfg, str(sources["patches"].path)))
    _check_extent(layers, sources, qa)

    year = cc.year
    as_of = cc.as_of
    if year is None and as_of is not None:
        year = as_of.year
    if as_of is None and year is not None:
        as_of = dt.date(int(year), 12, 31)
    pair = find_imagery_pair(folder, rasters, cfg)
    for note in pair.notes:
        qa.add(Finding("info", "imagery_choice", note))
    imagery = None
    if cfg.report.imagery:
        imagery = folder / cfg.report.imagery
    elif rasters:
        # the report's basemap image: a raster that is not one of the two dates, else the later date
        others = [r for r in rasters if r not in pair.paths]
        imagery = others[0] if others else (pair.after or pair.before).path
    vintages = {r: y for r, y in vintages.items() if r in layers}
    return County(folder, cc.name or name, adcode, year, as_of, work, cfg, qa, layers, sources, imagery,
                  overlap_pairs, unrecognised, imagery_pair=pair, vintages=vintages)


def _year_text(y) -> str:
    return f"{y}年" if y else "年度未知"


def _fail(qa: QAReport, errors: str, e: InputError, role: str | None = None) -> None:
    if errors == "raise":
        raise e
    qa.add(Finding("error", "unreadable", e.message, role, e.file, e.field,
                   [e.feature] if e.feature is not None else []))


def _crs_label(crs: CRS) -> str:
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.name


def _working_crs(cfg: Settings, layers) -> CRS | None:
    if cfg.county.crs:
        return CRS.from_user_input(cfg.county.crs)
    order = ["dltb"] + [r for r in ROLES if r != "dltb"]
    for role in order:
        if role in layers and layers[role].crs.is_projected and datum_family(layers[role].crs) == "CGCS2000":
            return layers[role].crs
    for role in order:
        if role in layers and layers[role].crs.is_projected:
            return layers[role].crs
    for role in order:
        if role in layers:
            lon = float(np.mean(layers[role].total_bounds[[0, 2]]))
            return working_crs_for(lon)
    return None


def _check_extent(layers, sources, qa: QAReport) -> None:
    """Warn about layers that lie entirely outside the DLTB's extent (wrong county or CRS)."""
    if "dltb" not in layers:
        return
    import shapely
    ref = shapely.box(*layers["dltb"].total_bounds).buffer(1000)
    for role, gdf in layers.items():
        if role == "dltb":
            continue
        if not shapely.intersects(ref, shapely.box(*gdf.total_bounds)):
            qa.add(Finding("warning", "outside_county",
                           f"{ROLE_NAMES[role]}完全位于地类图斑范围之外，可能是其他县的数据或坐标系有误",
                           role, str(sources[role].path)))

